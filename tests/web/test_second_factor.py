"""The second factor of IMDi's staff through the real pages: the code after the password (and nothing before it),
wrong, used and out-of-time codes, recovery codes, enrolment with its QR code, the security page, a staff user
without a second factor kept on the enrolment page, an administrator's reset, and the check asked again before
approving and publishing."""

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from grants.accounts import mfa
from grants.accounts import second_factor as rules
from grants.accounts.models import RecoveryCode, Role, TotpCredential, UserSession
from grants.core.audit import AuditEntry
from grants.decisions import operations as decision_ops
from grants.decisions.models import Decision, DecisionState, Outcome
from grants.extensions import db
from tests.conftest import login
from tests.factories import PASSWORD, UserFactory, municipal_user
from tests.second_factor import app_code, give_second_factor
from tests.web.test_review import in_review

CODE_PAGE = "/konto/kode"
STAFF_PAGE = "/admin/utlysninger/"


def page(response):
    return response.get_data(as_text=True)


def password(client, user, **query):
    url = "/konto/logg-inn" + (f"?next={query['next']}" if "next" in query else "")
    data = {"email": user.email, "password": PASSWORD}
    if "next" in query:
        data["next"] = query["next"]
    return client.post(url, data=data)


def secret(user):
    return mfa.secret_of(user)


def code_at(user, offset_steps=0):
    return pyotp.TOTP(secret(user)).at(time.time() + offset_steps * 30)


def actions(user, action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "users",
                                                       AuditEntry.object_id == user.id,
                                                       AuditEntry.action == action)).all()


def errors_shown(html):
    """The messages beside the code field and in the error summary."""
    beside = re.findall(r'class="ds-validation-message"[^>]*>([^<]+)<', html)
    summary = re.findall(r'id="error-summary".*?</div>', html, re.S)
    return beside, summary[0] if summary else ""


@pytest.fixture
def admin(app):
    user = UserFactory(role=Role.admin, name="Ada Admin")
    db.session.commit()
    return user


# --- logging in -----------------------------------------------------------------------------------------------

def test_after_the_password_nothing_is_reachable_until_the_code_is_typed(client, admin):
    response = password(client, admin, next="/admin/utlysninger/")
    assert response.status_code == 302 and response.headers["Location"].endswith(CODE_PAGE)
    assert "Kode fra appen" in page(client.get(CODE_PAGE))
    for path in (STAFF_PAGE, "/konto/profil", "/konto/tofaktor"):
        answer = client.get(path)
        assert answer.status_code == 302 and "/konto/logg-inn" in answer.headers["Location"], path
    assert db.session.scalar(select(UserSession).where(UserSession.user_id == admin.id)) is None
    response = client.post(CODE_PAGE, data={"code": app_code(admin)})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/utlysninger/"
    assert client.get(STAFF_PAGE).status_code == 200


def test_a_wrong_code_is_refused_beside_the_field_and_in_the_summary(client, admin):
    password(client, admin)
    right = code_at(admin)
    wrong = f"{(int(right) + 500_000) % 1_000_000:06d}"
    response = client.post(CODE_PAGE, data={"code": wrong})
    beside, summary = errors_shown(page(response))
    assert response.status_code == 422
    assert beside == ["Koden er feil. Skriv de seks sifrene appen viser nå, eller en av gjenopprettingskodene dine."]
    assert beside[0] in summary and 'href="#code"' in summary
    assert client.get(STAFF_PAGE).status_code == 302  # still nobody logged in
    assert client.post(CODE_PAGE, data={"code": ""}).status_code == 422


def test_a_code_cannot_be_used_twice(app, admin):
    first, second = app.test_client(), app.test_client()
    password(first, admin)
    password(second, admin)
    code = code_at(admin)
    assert first.post(CODE_PAGE, data={"code": code}).status_code == 302
    response = second.post(CODE_PAGE, data={"code": code})
    assert response.status_code == 422
    assert "Denne koden er brukt allerede. Vent til appen viser en ny kode" in page(response)
    assert second.get(STAFF_PAGE).status_code == 302


def test_a_code_from_a_clock_more_than_a_step_off_says_to_check_the_phones_clock(client, admin):
    password(client, admin)
    response = client.post(CODE_PAGE, data={"code": code_at(admin, 3)})
    assert response.status_code == 422
    assert "klokka på telefonen din er trolig feil" in page(response)
    assert client.post(CODE_PAGE, data={"code": code_at(admin, -4)}).status_code == 422
    # one step off is the phone a little behind or ahead: accepted
    assert client.post(CODE_PAGE, data={"code": code_at(admin, 1)}).status_code == 302


def test_the_step_between_password_and_code_runs_out(app, client, admin):
    password(client, admin)
    with client.session_transaction() as session:
        session["mfa_pending"]["at"] -= app.config["MFA_LOGIN_MINUTES"] * 60 + 1
    response = client.post(CODE_PAGE, data={"code": code_at(admin)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/konto/logg-inn")
    assert client.get(STAFF_PAGE).status_code == 302


def test_the_code_page_without_a_password_first_sends_to_login(client):
    response = client.get(CODE_PAGE)
    assert response.status_code == 302 and response.headers["Location"].endswith("/konto/logg-inn")


def test_kommune_staff_are_not_asked_for_a_code(client):
    staff = municipal_user("0301")
    db.session.commit()
    response = password(client, staff)
    assert response.status_code == 302 and not response.headers["Location"].endswith(CODE_PAGE)
    assert client.get("/soknader/").status_code == 200


def test_roles_outside_the_setting_are_not_asked(app, client):
    app.config["MFA_REQUIRED_ROLES"] = "admin,approver"
    reviewer = UserFactory(role=Role.reviewer, second_factor=False)
    db.session.commit()
    response = password(client, reviewer)
    assert response.status_code == 302 and "/konto/tofaktor" not in response.headers["Location"]
    assert client.get("/konto/profil").status_code == 200


# --- recovery codes ---------------------------------------------------------------------------------------------

def test_a_recovery_code_logs_in_once_and_is_then_refused_with_its_own_message(app, client, admin):
    codes = mfa.regenerate_recovery_codes(admin)
    db.session.commit()
    password(client, admin)
    response = client.post(CODE_PAGE, data={"code": codes[0].upper().replace("-", " ")})
    assert response.status_code == 302
    assert "Du brukte en gjenopprettingskode. Du har 9 igjen." in page(client.get(response.headers["Location"],
                                                                                follow_redirects=True))
    assert [e.detail for e in actions(admin, "use_recovery_code")] == [{"remaining": 9}]
    other = app.test_client()
    password(other, admin)
    response = other.post(CODE_PAGE, data={"code": codes[0]})
    assert response.status_code == 422
    assert "Denne gjenopprettingskoden er brukt allerede" in page(response)
    assert other.post(CODE_PAGE, data={"code": "aaaaa-bbbbb"}).status_code == 422
    assert other.post(CODE_PAGE, data={"code": codes[1]}).status_code == 302


def test_recovery_codes_are_kept_only_as_hashes(admin):
    codes = mfa.regenerate_recovery_codes(admin)
    db.session.commit()
    stored = db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == admin.id)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)
    assert sorted(stored) == sorted(rules.hash_recovery_code(c) for c in codes)


def test_the_secret_is_stored_encrypted(admin):
    row = db.session.get(TotpCredential, admin.id)
    assert secret(admin) not in row.secret_encrypted and len(secret(admin)) == 32


# --- enrolment --------------------------------------------------------------------------------------------------

def test_staff_without_a_second_factor_enrol_before_anything_else(client):
    newcomer = UserFactory(role=Role.caseworker, second_factor=False)
    db.session.commit()
    response = password(client, newcomer, next="/saksbehandling/")
    assert response.status_code == 302 and "/konto/tofaktor/ny" in response.headers["Location"]
    for path in ("/saksbehandling/", "/konto/profil", "/"):
        answer = client.get(path)
        assert answer.status_code == 302 and "/konto/tofaktor/ny" in answer.headers["Location"], path
    assert client.post("/konto/profil", data={"name": "X"}).status_code == 302  # a POST too
    html = page(client.get("/konto/tofaktor/ny"))
    svg = re.search(r"<svg[^>]*>.*?</svg>", html, re.S).group(0)
    assert 'role="img"' in svg and "<title>" in svg and "style" not in svg and "<script" not in svg
    shown = re.search(r'class="secret-key"[^>]*><code>([A-Z2-7 ]+)</code>', html).group(1)
    assert len(shown.split()) == 8  # grouped by four
    key = shown.replace(" ", "")
    wrong = client.post("/konto/tofaktor/ny", data={"code": "000000" if pyotp.TOTP(key).now() != "000000"
                                                    else "111111"})
    assert wrong.status_code == 422 and "Koden er feil" in page(wrong)
    assert key in page(wrong).replace(" ", "")  # the same key until it is confirmed
    response = client.post("/konto/tofaktor/ny", data={"code": pyotp.TOTP(key).now()})
    html = page(response)
    assert response.status_code == 200 and "Gjenopprettingskodene dine" in html
    shown_codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", html)
    assert len(shown_codes) == 10
    assert "data:text/plain" in html and 'href="/saksbehandling/"' in html
    assert mfa.secret_of(newcomer) == key
    assert len(actions(newcomer, "enrol_second_factor")) == 1
    assert client.get("/saksbehandling/").status_code == 200
    # the codes are not shown again, and the key is not either
    assert client.get("/konto/tofaktor/ny").status_code == 302
    assert key not in page(client.get("/konto/tofaktor")).replace(" ", "")


def test_a_session_without_a_check_is_asked_for_a_code(client, admin):
    login(client, admin)
    with client.session_transaction() as session:
        del session["mfa_at"]
    response = client.get(STAFF_PAGE)
    assert response.status_code == 302 and "/konto/bekreft-kode" in response.headers["Location"]
    response = client.post(response.headers["Location"], data={"code": app_code(admin)})
    assert response.status_code == 302 and response.headers["Location"] == STAFF_PAGE
    assert client.get(STAFF_PAGE).status_code == 200


def test_a_new_phone_replaces_the_old_one_after_a_code(client, admin):
    login(client, admin)
    old = secret(admin)
    response = client.post("/konto/tofaktor", data={"code": "", "action": "renew"})
    assert response.status_code == 422 and "Skriv koden fra appen" in page(response)
    assert client.get("/konto/tofaktor/ny").status_code == 302  # not without a code
    response = client.post("/konto/tofaktor", data={"code": app_code(admin), "action": "renew"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/konto/tofaktor/ny")
    html = page(client.get("/konto/tofaktor/ny"))
    key = re.search(r'class="secret-key"[^>]*><code>([A-Z2-7 ]+)</code>', html).group(1).replace(" ", "")
    assert key != old
    response = client.post("/konto/tofaktor/ny", data={"code": pyotp.TOTP(key).now()})
    assert response.status_code == 302 and response.headers["Location"].endswith("/konto/tofaktor")
    assert secret(admin) == key and len(actions(admin, "replace_second_factor")) == 1
    assert not actions(admin, "enrol_second_factor")


def test_new_recovery_codes_replace_the_old_ones_after_a_code(client, admin):
    old = mfa.regenerate_recovery_codes(admin)
    db.session.commit()
    login(client, admin)
    response = client.post("/konto/tofaktor", data={"code": old[0], "action": "codes"})
    new = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", page(response))
    assert response.status_code == 200 and len(new) == 10 and not set(new) & set(old)
    assert mfa.remaining_recovery_codes(admin) == 10
    assert len(actions(admin, "regenerate_recovery_codes")) == 2


def test_kommune_staff_have_no_second_factor_pages(client, login_as):
    staff = municipal_user("0301")
    db.session.commit()
    login_as(staff)
    assert client.get("/konto/tofaktor").status_code == 404
    assert client.get("/konto/tofaktor/ny").status_code == 404
    assert "/konto/tofaktor" not in page(client.get("/konto/profil"))


def test_an_administrator_resets_a_colleagues_second_factor(app, client, admin):
    colleague = UserFactory(role=Role.caseworker, name="Kari Saksbehandler")
    db.session.commit()
    theirs = app.test_client()
    login(theirs, colleague)
    login(client, admin)
    assert "Nullstill tofaktoren til Kari Saksbehandler" in page(client.get("/konto/brukere"))
    response = client.post(f"/konto/brukere/{colleague.id}/tofaktor/nullstill")
    assert response.status_code == 302
    assert mfa.credential_of(colleague) is None
    assert theirs.get("/saksbehandling/").status_code == 302  # their sessions ended
    [entry] = actions(colleague, "reset_second_factor")
    assert entry.actor_id == admin.id
    response = password(theirs, colleague)
    assert "/konto/tofaktor/ny" in response.headers["Location"]


def test_only_an_administrator_resets_and_not_their_own(client, login_as, admin):
    caseworker = UserFactory(role=Role.caseworker)
    db.session.commit()
    login_as(caseworker)
    assert client.post(f"/konto/brukere/{admin.id}/tofaktor/nullstill").status_code == 403
    login_as(admin)
    assert client.post(f"/konto/brukere/{admin.id}/tofaktor/nullstill").status_code == 403
    assert mfa.credential_of(admin) is not None


# --- a fresh check before approving and publishing --------------------------------------------------------------

GUARDED = {
    "decisions.approve": "/saksbehandling/vedtak/{id}/godkjenn",
    "decisions.approve_all": "/saksbehandling/runder/{id}/godkjenning/alle",
    "decisions.release": "/saksbehandling/runder/{id}/send-ut",
    "followup.approve_payment": "/saksbehandling/utbetalinger/{id}/godkjenn",
    "followup.mark_paid": "/saksbehandling/utbetalinger/{id}/betalt",
    "followup.approve_claim": "/saksbehandling/tilbakebetalingskrav/{id}/godkjenn",
    "followup.approve_report": "/saksbehandling/rapporter/{id}/godkjenn",
    "followup.approve_report_with_claim": "/saksbehandling/rapporter/{id}/godkjenn-med-krav",
    "outcomes.publish": "/saksbehandling/runder/{id}/publiser",
    "outcomes.unpublish": "/saksbehandling/sammendrag/{id}/avpubliser",
    "accounts.reset_second_factor": "/konto/brukere/{id}/tofaktor/nullstill",
}


def make_stale(app, client):
    with client.session_transaction() as session:
        session["mfa_at"] -= app.config["MFA_REAUTH_MINUTES"] * 60 + 1


def test_the_guarded_routes_are_the_approvals_and_publications(app):
    for endpoint, path in GUARDED.items():
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        assert re.sub(r"<[^>]+>", "{id}", rule.rule) == path, endpoint


@pytest.mark.parametrize("endpoint", sorted(GUARDED))
def test_each_guarded_route_asks_for_a_fresh_code_and_then_goes_on(app, client, admin, endpoint):
    """An old check: the POST answers with the code page, carrying what was typed; with the code the same POST goes
    on to the view (here to its 404: there is no object 9999)."""
    login(client, admin)
    make_stale(app, client)
    url = GUARDED[endpoint].format(id=9999)
    response = client.post(url, data={"note": "Skrevet før koden", "amount": "1 000"})
    html = page(response)
    assert response.status_code == 200 and 'name="mfa_code"' in html, endpoint
    assert f'action="{url}"' in html
    assert '<input type="hidden" name="note" value="Skrevet før koden">' in html
    assert '<input type="hidden" name="amount" value="1 000">' in html
    wrong = client.post(url, data={"note": "Skrevet før koden", "mfa_code": "12345x"})
    assert wrong.status_code == 422 and "Koden er feil" in page(wrong)
    assert 'value="Skrevet før koden"' in page(wrong)
    response = client.post(url, data={"note": "Skrevet før koden", "mfa_code": app_code(admin)})
    assert response.status_code == 404, endpoint  # the view ran
    # fresh now: the next one goes straight through
    assert client.post(url, data={}).status_code == 404


def test_a_fresh_check_is_not_asked_again(client, admin):
    login(client, admin)
    assert client.post(GUARDED["outcomes.publish"].format(id=9999)).status_code == 404


def test_an_approval_with_an_old_check_happens_after_the_code(app, client, login_as):
    people = {"caseworker": UserFactory(role=Role.caseworker), "approver": UserFactory(role=Role.approver),
              "staff": municipal_user("0301")}
    from tests.factories import RoundFactory

    round_ = RoundFactory(budget=1_000_000)
    db.session.flush()
    application = in_review(round_, people)
    decision = decision_ops.propose_decision(application, people["caseworker"], outcome=Outcome.granted,
                                             amount=100_000)
    db.session.commit()
    login(client, people["approver"])
    make_stale(app, client)
    url = f"/saksbehandling/vedtak/{decision.id}/godkjenn"
    response = client.post(url, data={"back": "case"})
    assert response.status_code == 200 and 'name="back" value="case"' in page(response)
    assert db.session.get(Decision, decision.id).state == DecisionState.proposed
    response = client.post(url, data={"back": "case", "mfa_code": app_code(people["approver"])})
    assert response.status_code == 302 and f"/saksbehandling/soknader/{application.id}" in response.headers["Location"]
    assert db.session.get(Decision, decision.id).state == DecisionState.approved


def test_cancel_on_the_confirm_page_leads_back_to_the_form_even_after_a_wrong_code(app, client, admin):
    login(client, admin)
    make_stale(app, client)
    url = GUARDED["outcomes.publish"].format(id=9999)
    came_from = "/saksbehandling/runder/9999/tall"
    first = page(client.post(url, data={"note": "x"}, headers={"Referer": f"http://localhost{came_from}"}))
    assert f'href="{came_from}"' in first and f'name="mfa_back" value="{came_from}"' in first
    # The wrong code's page is asked for from the guarded address itself (its referrer): Cancel still goes back.
    wrong = page(client.post(url, data={"note": "x", "mfa_code": "000000", "mfa_back": came_from},
                             headers={"Referer": f"http://localhost{url}"}))
    assert f'href="{came_from}"' in wrong and f'href="{url}"' not in wrong
    assert '<input type="hidden" name="mfa_back"' in wrong and 'name="note" value="x"' in wrong
    # Nothing else than a path of this service is taken from the form.
    elsewhere = page(client.post(url, data={"mfa_code": "000000", "mfa_back": "https://evil.example/"}))
    assert "evil.example" not in elsewhere


def test_step_up_with_a_recovery_code(app, client, admin):
    codes = mfa.regenerate_recovery_codes(admin)
    db.session.commit()
    login(client, admin)
    make_stale(app, client)
    url = GUARDED["outcomes.unpublish"].format(id=9999)
    assert client.post(url, data={"mfa_code": codes[3]}).status_code == 404
    assert mfa.remaining_recovery_codes(admin) == 9


def test_give_second_factor_helper_sets_up_a_working_app(client):
    user = UserFactory(role=Role.reviewer, second_factor=False)
    key = give_second_factor(user)
    db.session.commit()
    assert secret(user) == key
    assert login(client, user).status_code == 302


# --- the demo ----------------------------------------------------------------------------------------------------

def test_demo_staff_log_in_with_the_printed_demo_code(client):
    from grants.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, STAFF, demo_code, demo_totp_uri, ensure_staff

    ensure_staff()
    db.session.commit()
    email = STAFF[3][0]  # the approver
    assert f"secret={DEMO_TOTP_SECRET}" in demo_totp_uri()
    response = client.post("/konto/logg-inn", data={"email": email, "password": DEMO_PASSWORD})
    assert response.headers["Location"].endswith(CODE_PAGE)
    code, left = demo_code()
    assert 1 <= left <= 30
    assert client.post(CODE_PAGE, data={"code": code}).status_code == 302
    assert ensure_staff() == []  # again: nothing new, the enrolment kept


# --- the language on the way in and out -------------------------------------------------------------------------

@pytest.mark.parametrize(("lang", "code_heading", "logged_out"), [
    ("en", 'lang="en"', "You are logged out."), ("nn", 'lang="nn"', "Du er logga ut.")])
def test_the_code_page_and_the_pages_after_logging_out_keep_the_language(client, lang, code_heading, logged_out):
    user = UserFactory(role=Role.caseworker, language=lang)
    db.session.commit()
    client.post("/sprak", data={"lang": lang})  # chosen on the login page, before the password
    response = client.post("/konto/logg-inn", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"].endswith(CODE_PAGE)
    assert code_heading in page(client.get(CODE_PAGE))
    assert client.post(CODE_PAGE, data={"code": app_code(user)}).status_code == 302
    front = client.post("/konto/logg-ut", follow_redirects=True)
    assert logged_out in page(front) and code_heading in page(front)
