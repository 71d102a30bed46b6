"""Signing in with ID-porten and Ansattporten against a real OpenID provider running here (oidc-provider-mock over
HTTP in a thread, tests/oidc_support.py): the whole authorization code flow with PKCE, state and nonce, the ID token
verified by Authlib against the provider's JWKS; invitations, the first Ansattporten sign-in, single logout, and
every failure the issue lists, each ending on a page that says what happened, with nothing half made."""

import re
from html import unescape
from urllib.parse import urlsplit

import pytest
import requests
from flask import url_for
from sqlalchemy import func, select
from stdnum.no import orgnr

from grants.accounts.models import Role, User, UserSession, UserStatus
from grants.accounts.oidc_models import ExternalIdentity, Invitation
from grants.core.audit import AuditEntry
from grants.extensions import db
from grants.notify.models import Notice
from tests.factories import UserFactory, municipal_user, municipality
from tests.oidc_support import (
    CLIENT_ID,
    EXPIRED,
    ansattporten_claims,
    authorize,
    configure,
    free_port,
    other_key,
    query_of,
    resign,
    running_provider,
    sign_in,
    start,
)
from tests.second_factor import pass_second_factor

PID = "24079412345"  # an identity number's shape: it must never be stored


def organisation_number(first_eight):
    """A valid organisation number (MOD11) made by the test itself: never a real kommune's number in data files."""
    return next(first_eight + d for d in "0123456789" if orgnr.is_valid(first_eight + d))


OSLO_ORG = organisation_number("90000001")
BERGEN_ORG = organisation_number("90000004")
NOT_A_KOMMUNE = organisation_number("90000005")


@pytest.fixture(scope="module")
def provider():
    with running_provider() as running:
        yield running


@pytest.fixture(scope="module")
def expiring_provider():
    """A second real provider, set to issue ID tokens that have expired when they are issued."""
    with running_provider(access_token_max_age=EXPIRED) as running:
        yield running


@pytest.fixture
def idp(app, provider):
    provider.reset()
    configure(app, provider)
    return provider


def counts():
    return (db.session.scalar(select(func.count(User.id))), db.session.scalar(select(func.count(ExternalIdentity.id))),
            db.session.scalar(select(func.count(UserSession.id))))


def text(response):
    return unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def invitation_token(email):
    notice = db.session.scalar(select(Notice).where(Notice.kind == "invitation", Notice.recipient_email == email))
    return notice.context["token"]


@pytest.fixture
def kommune_admin(app):
    admin = municipal_user("0301", name="Anne Admin", email="anne@oslo.kommune.no", is_municipality_admin=True)
    db.session.commit()
    return admin


def invite(app, admin, email="kari@oslo.kommune.no", name="Kari Nordmann"):
    client = app.test_client()
    client.post("/konto/logg-inn", data={"email": admin.email, "password": "correct horse battery"})
    response = client.post("/konto/invitasjoner", data={"name": name, "email": email, "language": "nn"})
    assert response.status_code == 302, text(response)[:800]
    return invitation_token(email)


def linked_user(app, idp, client, sub="person-linked"):
    """An active kommune user linked to ``sub`` at ID-porten (through an invitation); the client is logged out."""
    admin = municipal_user("0301", name="Anne Admin", email="anne@oslo.kommune.no", is_municipality_admin=True)
    db.session.commit()
    token = invite(app, admin)
    idp.set_user(sub, pid=PID)
    client.get(f"/konto/invitasjon/{token}")
    assert sign_in(client, sub).status_code == 302
    client.post("/konto/logg-ut")
    return db.session.scalar(select(User).where(User.email == "kari@oslo.kommune.no"))


# --- signing in -------------------------------------------------------------------------------------------------

def test_an_invited_person_signs_in_with_idporten_and_becomes_an_active_user_of_the_kommune(app, idp, client,
                                                                                           kommune_admin):
    token = invite(app, kommune_admin)
    idp.set_user("idporten-sub-1", pid=PID, acr="idporten-loa-high")
    page = client.get(f"/konto/invitasjon/{token}")
    assert page.status_code == 200 and "Kari Nordmann" in text(page) and "Oslo" in text(page)

    authorization_url = start(client)
    sent = query_of(authorization_url)
    assert sent["code_challenge_method"] == "S256" and sent["code_challenge"] and sent["nonce"] and sent["state"]
    assert sent["client_id"] == CLIENT_ID
    response = client.get(authorize(authorization_url, "idporten-sub-1"))

    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path != "/konto/logg-inn"
    user = db.session.scalar(select(User).where(User.email == "kari@oslo.kommune.no"))
    assert user.status == UserStatus.active and user.role == Role.municipal
    assert user.municipality_id == municipality("0301").id and user.language == "nn"
    assert user.approved_by_id == kommune_admin.id and not user.check_password("")
    identity = db.session.scalar(select(ExternalIdentity).where(ExternalIdentity.user_id == user.id))
    assert identity.provider == "idporten" and re.fullmatch(r"[0-9a-f]{64}", identity.subject)
    invitation = db.session.scalar(select(Invitation))
    assert invitation.used_at is not None and invitation.user_id == user.id
    assert client.get("/konto/profil").status_code == 200  # logged in
    actions = {e.action for e in db.session.scalars(select(AuditEntry))}
    assert {"invite", "accept_invitation"} <= actions

    # The identity number is nowhere in the database, nor anything that contains it.
    for table in ("users", "external_identities", "invitations", "audit_entries", "user_sessions"):
        rows = db.session.execute(db.text(f"SELECT * FROM {table}")).all()  # noqa: S608 - fixed table names
        assert PID not in repr(rows) and "idporten-sub-1" not in repr(rows)

    # The next sign-in, in another browser, finds the same user; the invitation is spent.
    other = app.test_client()
    assert sign_in(other, "idporten-sub-1").status_code == 302
    assert other.get("/konto/profil").status_code == 200
    assert counts()[:2] == (2, 1)
    assert app.test_client().get(f"/konto/invitasjon/{token}").status_code == 404


def test_a_linked_person_has_no_password_to_change_nor_a_link_to_make_and_is_told_of_a_second_invitation(
        app, idp, client):
    user = linked_user(app, idp, client, "twice-invited")
    assert sign_in(client, "twice-invited").status_code == 302
    profile = text(client.get("/konto/profil"))
    assert "/konto/passord" not in profile and "ID-porten" in profile  # "you log in with ID-porten ... no password"
    assert "/oidc/idporten/logg-inn?koble=1" not in profile  # linked to ID-porten already: nothing to link there
    client.post("/konto/logg-ut")

    bergen_admin = municipal_user("4601", name="Berit Admin", email="berit@bergen.kommune.no",
                                  is_municipality_admin=True)
    db.session.commit()
    token = invite(app, bergen_admin, email="kari.igjen@bergen.kommune.no")
    client.get(f"/konto/invitasjon/{token}")
    landing = client.get(sign_in(client, "twice-invited").headers["Location"], follow_redirects=True)
    assert "Bergen" in text(landing) and "Oslo" in text(landing)  # why the invitation was not used
    assert client.get("/konto/profil").status_code == 200
    assert db.session.scalar(select(Invitation).where(Invitation.email == "kari.igjen@bergen.kommune.no")).used_at \
        is None
    assert db.session.scalar(select(func.count(User.id)).where(User.email.like("kari%"))) == 1 and user.id


def test_a_person_with_no_kommune_gets_a_clear_page_and_nothing_is_created(app, idp, client):
    idp.set_user("stranger", pid="01010112345")
    before = counts()
    response = sign_in(client, "stranger")
    assert response.status_code == 403
    assert "invitasjon" in text(response) and "administratoren" in text(response)  # bokmål, the default
    assert counts() == before
    assert client.get("/konto/profil").status_code == 302  # not logged in


def test_an_expired_invitation_makes_nothing(app, idp, client, kommune_admin):
    token = invite(app, kommune_admin)
    invitation = db.session.scalar(select(Invitation))
    invitation.expires_at = invitation.created_at
    db.session.commit()
    assert client.get(f"/konto/invitasjon/{token}").status_code == 404
    idp.set_user("late", pid=PID)
    before = counts()
    with client.session_transaction() as browser_session:
        browser_session["oidc_invitation"] = token  # as if the page had been opened before it expired
    response = sign_in(client, "late")
    assert response.status_code == 403 and counts() == before


def test_the_first_ansattporten_sign_in_makes_a_pending_user_the_kommune_admin_approves(app, idp, client,
                                                                                       kommune_admin):
    municipality("0301").organisation_number = OSLO_ORG
    db.session.commit()
    app.config["OIDC_ANSATTPORTEN_SCOPES"] = "openid profile email"  # so the mock puts the address in the token
    idp.set_user("ansatt-1", pid=PID, name="Per Ansatt", email="per@oslo.kommune.no",
                 authorization_details=ansattporten_claims(OSLO_ORG))
    response = sign_in(client, "ansatt-1", "ansattporten")
    assert response.status_code == 302 and response.headers["Location"].endswith("/konto/oidc/fullfor")
    assert counts()[:2] == (1, 0)  # nothing yet: only the admin exists
    form = client.get("/konto/oidc/fullfor")
    assert form.status_code == 200 and "Per Ansatt" in text(form) and "per@oslo.kommune.no" in text(form)
    done = client.post("/konto/oidc/fullfor", data={"name": "Per Ansatt", "email": "per@oslo.kommune.no",
                                                    "language": "nb"})
    assert done.status_code == 200
    user = db.session.scalar(select(User).where(User.email == "per@oslo.kommune.no"))
    assert user.status == UserStatus.pending and user.municipality_id == municipality("0301").id
    assert db.session.scalar(select(Notice).where(Notice.kind == "user_pending",
                                                  Notice.recipient_email == kommune_admin.email)) is not None

    waiting = sign_in(app.test_client(), "ansatt-1", "ansattporten")
    assert waiting.status_code == 200 and "venter på godkjenning" in text(waiting)

    admin_client = app.test_client()
    admin_client.post("/konto/logg-inn", data={"email": kommune_admin.email, "password": "correct horse battery"})
    assert admin_client.post(f"/konto/brukere/{user.id}/godkjenn", data={}).status_code == 302
    again = app.test_client()
    assert sign_in(again, "ansatt-1", "ansattporten").status_code == 302
    assert again.get("/konto/profil").status_code == 200

    # Acting for another organisation the next time is refused.
    idp.set_user("ansatt-1", pid=PID, authorization_details=ansattporten_claims(BERGEN_ORG))
    assert sign_in(app.test_client(), "ansatt-1", "ansattporten").status_code == 403


def test_an_ansattporten_token_without_the_organisation_claim_makes_nothing(app, idp, client):
    idp.set_user("ansatt-2", pid=PID, name="Uten Organisasjon")
    before = counts()
    response = sign_in(client, "ansatt-2", "ansattporten")
    assert response.status_code == 403 and "hvilken organisasjon" in text(response)
    assert counts() == before
    assert client.get("/konto/oidc/fullfor").status_code == 302  # no half-finished registration waits either


def test_an_organisation_that_is_not_a_kommune_makes_nothing(app, idp, client):
    municipality("4601").organisation_number = BERGEN_ORG
    db.session.commit()
    idp.set_user("ansatt-3", pid=PID, authorization_details=ansattporten_claims(NOT_A_KOMMUNE))
    before = counts()
    response = sign_in(client, "ansatt-3", "ansattporten")
    assert response.status_code == 403 and counts() == before


def test_a_logged_in_user_links_idporten_and_then_logs_in_with_it_when_passwords_are_off(app, idp, client):
    caseworker = UserFactory(role=Role.caseworker, email="kari.saksbehandler@imdi.no")
    db.session.commit()
    pass_second_factor(client, caseworker, client.post("/konto/logg-inn", data={
        "email": caseworker.email, "password": "correct horse battery"}))
    idp.set_user("staff-1", pid="11111111111")
    response = sign_in(client, "staff-1", koble=1)
    assert response.status_code == 302 and response.headers["Location"].endswith("/konto/profil")
    assert db.session.scalar(select(ExternalIdentity.user_id)) == caseworker.id

    app.config["PASSWORD_LOGIN_ROLES"] = "municipal"
    refused = app.test_client().post("/konto/logg-inn", data={"email": caseworker.email,
                                                              "password": "correct horse battery"})
    assert refused.status_code == 403 and "ID-porten" in text(refused)
    other = app.test_client()
    signed_in = sign_in(other, "staff-1")
    # IMDi staff type the code of their second factor after ID-porten too: nobody is logged in before it.
    assert signed_in.status_code == 302 and signed_in.headers["Location"].endswith("/konto/kode")
    assert other.get("/konto/profil").status_code == 302
    pass_second_factor(other, caseworker, signed_in)
    assert other.get("/konto/profil").status_code == 200
    with other.session_transaction() as state:  # single logout still knows the provider and its token
        assert state["oidc"]["provider"] == "idporten" and state["oidc"]["id_token"]


def test_the_login_page_offers_only_configured_providers(app, client):
    page = text(client.get("/konto/logg-inn"))
    assert "ID-porten" not in page and "Ansattporten" not in page
    assert client.get("/konto/oidc/idporten/logg-inn").status_code == 404
    app.config["OIDC_IDPORTEN_CLIENT_ID"] = "configured"
    page = text(client.get("/konto/logg-inn"))
    assert "ID-porten" in page and "Ansattporten" not in page


# --- signing out ------------------------------------------------------------------------------------------------

def test_logging_out_ends_the_provider_session_too(app, idp, client):
    user = linked_user(app, idp, client, "leaver")
    assert sign_in(client, "leaver").status_code == 302
    issued = idp.tampering.issued[-1]
    response = client.post("/konto/logg-ut")
    assert response.status_code == 200
    assert db.session.scalar(select(func.count(UserSession.id)).where(UserSession.user_id == user.id)) == 0
    end_session = unescape(re.search(r'http-equiv="refresh" content="0; url=([^"]+)"',
                                     response.get_data(as_text=True)).group(1))
    assert end_session.startswith(idp.metadata()["end_session_endpoint"])
    sent = query_of(end_session)
    assert sent["id_token_hint"] == issued
    with app.test_request_context():
        assert sent["post_logout_redirect_uri"] == url_for("accounts.oidc_logged_out", provider="idporten",
                                                           _external=True)
    # At the provider: its page asks to confirm, then sends the browser back with the state.
    confirm = requests.post(f"{idp.url}/oauth2/end_session/confirm",
                            data={"redirect_uri": f"{sent['post_logout_redirect_uri']}?state={sent['state']}"},
                            allow_redirects=False, timeout=10)
    back = urlsplit(confirm.headers["Location"])
    landing = client.get(f"{back.path}?{back.query}")
    assert landing.status_code == 302
    # in the language of the one who left: the invited user chose nynorsk
    assert "logga ut av ID-porten" in text(client.get(landing.headers["Location"]))
    assert client.get("/konto/profil").status_code == 302


def test_logging_out_when_the_provider_is_gone_still_logs_out(app, idp, client):
    linked_user(app, idp, client, "leaver-2")
    assert sign_in(client, "leaver-2").status_code == 302
    configure(app, f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration")
    app.extensions.pop("grants_oidc", None)  # as a restarted app would: nothing of the provider is held
    response = client.post("/konto/logg-ut")
    assert response.status_code == 302 and client.get("/konto/profil").status_code == 302


# --- what must fail ---------------------------------------------------------------------------------------------

def test_a_wrong_state_is_refused(app, idp, client):
    linked_user(app, idp, client, "victim")
    callback = authorize(start(client), "victim")
    forged = re.sub(r"state=[^&]+", "state=forged", callback)
    before = counts()
    response = client.get(forged)
    # in nynorsk: the browser's last user (linked_user) chose it, and logging out keeps the language
    assert response.status_code == 400 and "Start innlogginga på nytt" in text(response)
    assert counts() == before and client.get("/konto/profil").status_code == 302


def test_a_replayed_callback_is_refused(app, idp, client):
    linked_user(app, idp, client, "replayer")
    callback = authorize(start(client), "replayer")
    assert client.get(callback).status_code == 302
    client.post("/konto/logg-ut")
    before = counts()
    assert client.get(callback).status_code == 400  # the state is spent
    thief = app.test_client()
    assert thief.get(callback).status_code == 400  # and another browser never had it
    assert counts() == before and thief.get("/konto/profil").status_code == 302


def test_a_replayed_id_token_with_an_old_nonce_is_refused(app, idp, client, caplog):
    linked_user(app, idp, client, "nonce-person")
    assert sign_in(client, "nonce-person").status_code == 302
    old = idp.tampering.issued[-1]
    client.post("/konto/logg-ut")
    idp.tampering.id_token = lambda new: old  # validly signed, right audience, not expired: only the nonce is old
    response = sign_in(client, "nonce-person")
    assert response.status_code == 400 and client.get("/konto/profil").status_code == 302
    assert "Invalid claim: 'nonce'" in caplog.text
    # The same with the old nonce alone: the provider's own key signs this session's token with it.
    old_nonce = query_of(f"?{authorize_nonce(old)}")["nonce"]
    key = idp.signing_key()
    idp.tampering.id_token = lambda new: resign(new, key, nonce=old_nonce)
    assert sign_in(client, "nonce-person").status_code == 400
    idp.tampering.id_token = lambda new: resign(new, key)  # the control: re-signed unchanged, accepted
    assert sign_in(client, "nonce-person").status_code == 302


def authorize_nonce(id_token):
    """``nonce=<the ID token's nonce>`` (the token read without checking: the test made it)."""
    import base64
    import json

    payload = id_token.split(".")[1]
    return "nonce=" + json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["nonce"]


def test_an_expired_id_token_is_refused(app, expiring_provider, client, caplog):
    configure(app, expiring_provider)
    expiring_provider.set_user("expired", pid=PID)
    response = sign_in(client, "expired")
    assert response.status_code == 400 and "kunne ikke bekreftes" in text(response)
    assert "ExpiredTokenError" in caplog.text and counts()[1] == 0


def test_an_id_token_signed_with_another_key_is_refused(app, idp, client, caplog):
    linked_user(app, idp, client, "forged")
    stranger = other_key()
    idp.tampering.id_token = lambda token: resign(token, stranger)  # the provider's key id, another key
    assert sign_in(client, "forged").status_code == 400
    assert "BadSignatureError" in caplog.text
    idp.tampering.id_token = lambda token: resign(token, stranger, kid="unknown-key")  # a key the JWKS lacks
    assert sign_in(client, "forged").status_code == 400
    assert client.get("/konto/profil").status_code == 302
    idp.tampering.id_token = None
    assert sign_in(client, "forged").status_code == 302  # the control: the same person, untouched, gets in


@pytest.mark.parametrize("change", [{"iss": "https://impostor.example"}, {"aud": "another-client"}])
def test_a_token_for_another_issuer_or_audience_is_refused_though_signed_by_the_provider(app, idp, client, change,
                                                                                         caplog):
    linked_user(app, idp, client, "misdirected")
    key = idp.signing_key()
    idp.tampering.id_token = lambda token: resign(token, key, **change)
    assert sign_in(client, "misdirected").status_code == 400
    assert f"Invalid claim: '{next(iter(change))}'" in caplog.text
    idp.tampering.id_token = lambda token: resign(token, key)  # the control: re-signed as it was, accepted
    assert sign_in(client, "misdirected").status_code == 302


def test_a_provider_that_is_down_gives_a_clear_page_with_the_way_back_to_the_password(app, client):
    configure(app, f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration")
    response = client.get("/konto/oidc/idporten/logg-inn")
    assert response.status_code == 502
    assert "får ikke kontakt med ID-porten" in text(response)
    assert "Logg inn med e-postadresse og passord" in text(response)
    app.config["PASSWORD_LOGIN_ROLES"] = ""
    assert "Logg inn med e-postadresse og passord" not in text(client.get("/konto/oidc/idporten/logg-inn"))


@pytest.mark.parametrize("nonsense", [lambda d: b"<html>Vedlikehold</html>", lambda d: {"issuer": d["issuer"]},
                                      lambda d: [d]])
def test_nonsense_metadata_gives_a_clear_page_and_is_not_kept(app, idp, client, nonsense):
    idp.tampering.metadata = nonsense
    response = client.get("/konto/oidc/idporten/logg-inn")
    assert response.status_code == 502 and "ikke kunne bruke" in text(response)
    idp.tampering.metadata = None
    assert client.get("/konto/oidc/idporten/logg-inn").status_code == 302  # fetched again, now usable


def test_a_token_endpoint_that_is_down_makes_nothing(app, idp, client, kommune_admin):
    token = invite(app, kommune_admin)
    client.get(f"/konto/invitasjon/{token}")
    idp.set_user("unlucky", pid=PID)
    idp.tampering.metadata = lambda d: {**d, "token_endpoint": f"http://127.0.0.1:{free_port()}/token"}
    before = counts()
    response = sign_in(client, "unlucky")
    assert response.status_code == 502 and counts() == before
    assert db.session.scalar(select(Invitation.used_at)) is None


def test_an_error_sent_back_by_the_provider_gives_a_clear_page(app, idp, client):
    state = query_of(start(client))["state"]
    response = client.get(f"/konto/oidc/idporten/svar?error=access_denied&state={state}")
    assert response.status_code == 400 and "avbrutt" in text(response)


# --- invitations and organisation numbers -----------------------------------------------------------------------

def test_only_a_kommune_admin_invites_and_not_an_address_that_has_a_user(app, client, kommune_admin, login_as):
    colleague = municipal_user("0301", email="ola@oslo.kommune.no")
    db.session.commit()
    login_as(colleague)
    assert client.get("/konto/invitasjoner").status_code == 403
    client.post("/konto/logg-ut")
    login_as(kommune_admin)
    response = client.post("/konto/invitasjoner", data={"name": "Ola", "email": "OLA@oslo.kommune.no",
                                                        "language": "nb"})
    assert response.status_code == 422 and "finnes allerede" in text(response)
    assert db.session.scalar(select(func.count(Invitation.id))) == 0


def test_imdi_admin_records_a_kommune_organisation_number(app, client, login_as):
    admin = UserFactory(role=Role.admin)
    db.session.commit()
    login_as(admin)
    assert client.get("/konto/organisasjonsnummer").status_code == 200
    wrong = client.post("/konto/organisasjonsnummer", data={"municipality": "0301",
                                                            "organisation_number": OSLO_ORG[:8] + "0"
                                                            if OSLO_ORG[8] != "0" else OSLO_ORG[:8] + "1"})
    assert wrong.status_code == 422 and "9 sifre" in text(wrong)
    assert client.post("/konto/organisasjonsnummer", data={"municipality": "0301",
                                                           "organisation_number": OSLO_ORG}).status_code == 302
    assert municipality("0301").organisation_number == OSLO_ORG
    taken = client.post("/konto/organisasjonsnummer", data={"municipality": "4601", "organisation_number": OSLO_ORG})
    assert taken.status_code == 422 and "Oslo" in text(taken)
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.object_type == "municipalities")) == \
        "set_organisation_number"


def test_sign_ins_count_against_the_login_limit_of_the_network(app, idp, client):
    app.config.update(RATELIMIT_ENABLED=True, LOGIN_LIMIT="2 per 10 minutes")
    idp.set_user("counted", pid=PID)
    assert sign_in(client, "counted").status_code == 403  # no kommune: counted all the same
    assert sign_in(client, "counted").status_code == 403
    refused = sign_in(client, "counted")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
