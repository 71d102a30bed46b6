"""The rules of signing in with ID-porten and Ansattporten (grants.accounts.oidc): which providers are offered, the
keyed digest that is stored instead of the person's identifier, Ansattporten's organisation numbers, and the roles
that may still use a password."""

import hashlib
import hmac

import pytest
from stdnum.no import orgnr

from grants.accounts import oidc


def valid_number(first_eight):
    return next(first_eight + d for d in "0123456789" if orgnr.is_valid(first_eight + d))


ORG_A, ORG_B = valid_number("90000001"), valid_number("90000004")


def reportees(*ids):
    return [{"type": "ansattporten:altinn:resource", "resource": "urn:altinn:resource:x",
             "reportees": [{"Rights": ["read"], "Authority": "iso6523-actorid-upis", "ID": i, "Name": "X"}
                           for i in ids]}]


def test_a_provider_is_offered_only_with_a_client_id_and_a_metadata_url():
    config = {"OIDC_IDPORTEN_CLIENT_ID": "abc", "OIDC_IDPORTEN_METADATA_URL": "https://idp/.well-known/x",
              "OIDC_IDPORTEN_SCOPES": "openid profile", "OIDC_ANSATTPORTEN_CLIENT_ID": "",
              "OIDC_ANSATTPORTEN_METADATA_URL": "https://ap/.well-known/x"}
    offered = oidc.offered_providers(config)
    assert [p.name for p in offered] == ["idporten"] and offered[0].title == "ID-porten"
    assert offered[0].scopes == "openid profile" and offered[0].client_secret is None
    assert oidc.provider_settings(config, "ansattporten") is None
    assert oidc.provider_settings(config, "facebook") is None
    assert oidc.provider_settings({**config, "OIDC_IDPORTEN_METADATA_URL": " "}, "idporten") is None


def test_the_stored_subject_is_a_keyed_hmac_that_differs_by_key_and_provider():
    digest = oidc.subject_digest(b"key-one", "idporten", "24079412345")
    assert len(digest) == 64 and "24079412345" not in digest
    assert digest == hmac.new(b"key-one", b"idporten\x0024079412345", hashlib.sha256).hexdigest()
    assert digest != oidc.subject_digest(b"key-two", "idporten", "24079412345")
    assert digest != oidc.subject_digest(b"key-one", "ansattporten", "24079412345")
    assert digest != hashlib.sha256(b"24079412345").hexdigest()  # not a plain hash anyone could recompute


def test_the_subject_key_is_the_configured_one_or_derived_from_the_secret_key():
    assert oidc.subject_key({"OIDC_SUBJECT_KEY": "k" * 40, "SECRET_KEY": "s"}) == b"k" * 40
    derived = oidc.subject_key({"OIDC_SUBJECT_KEY": None, "SECRET_KEY": "s"})
    assert derived != b"s" and derived == oidc.subject_key({"SECRET_KEY": "s"})
    assert derived != oidc.subject_key({"SECRET_KEY": "t"})


def test_the_person_is_pid_when_given_else_sub():
    assert oidc.subject_of({"pid": "24079412345", "sub": "pairwise"}) == "24079412345"
    assert oidc.subject_of({"sub": "pairwise", "pid": ""}) == "pairwise"
    assert oidc.subject_of({"sub": " pairwise "}) == "pairwise"
    for claims in ({}, {"pid": 123}, {"sub": ""}, {"sub": None}):
        with pytest.raises(oidc.NoSubject):
            oidc.subject_of(claims)


def test_ansattporten_organisation_numbers_come_from_the_reportees():
    assert oidc.organisation_numbers({"authorization_details": reportees(f"0192:{ORG_A}")}) == [ORG_A]
    assert oidc.organisation_numbers({"authorization_details": reportees(
        f"0192:{ORG_B}", f"0192:{ORG_A}", f"0192:{ORG_B}")}) == [ORG_B, ORG_A]
    # A single object instead of a list is read too.
    assert oidc.organisation_numbers({"authorization_details": reportees(f"0192:{ORG_A}")[0]}) == [ORG_A]


@pytest.mark.parametrize("details", [
    None, "0192:" + ORG_A, 42, [], [{}], [{"reportees": "x"}], [{"reportees": [None, 1, {}]}],
    reportees("9908:" + ORG_A),                          # another identifier scheme, with a valid number
    reportees("0192:" + ORG_A[:8] + str((int(ORG_A[8]) + 1) % 10)),  # the check digit is wrong
    reportees("0192:" + ORG_A[:8]), reportees("0192:"), reportees(ORG_A),
])
def test_anything_else_in_the_claim_gives_no_organisation(details):
    claims = {} if details is None else {"authorization_details": details}
    assert oidc.organisation_numbers(claims) == []


def test_an_organisation_number_is_nine_digits_with_a_mod11_check_digit():
    assert oidc.valid_organisation_number(ORG_A) == ORG_A
    assert oidc.valid_organisation_number(f"{ORG_A[:3]} {ORG_A[3:6]} {ORG_A[6:]}") == ORG_A
    wrong = ORG_A[:8] + str((int(ORG_A[8]) + 1) % 10)
    assert oidc.valid_organisation_number(wrong) is None
    for value in ("", "12345678", "1234567890", "abcdefghi", None, int(ORG_A)):
        assert oidc.valid_organisation_number(value) is None


def test_ansattporten_is_asked_for_the_configured_resource_only():
    assert oidc.authorization_details_request(None) is None
    assert oidc.authorization_details_request("") is None
    assert oidc.authorization_details_request("urn:altinn:resource:imdi") == [
        {"type": "ansattporten:altinn:resource", "resource": "urn:altinn:resource:imdi"}]


def test_password_login_follows_password_login_roles():
    assert oidc.password_login_allowed({}, "caseworker")  # not set: every role
    config = {"PASSWORD_LOGIN_ROLES": "municipal, reviewer"}
    assert oidc.password_login_allowed(config, "municipal") and oidc.password_login_allowed(config, "reviewer")
    assert not oidc.password_login_allowed(config, "admin")
    assert oidc.password_roles({"PASSWORD_LOGIN_ROLES": ""}) == set()
    assert oidc.password_roles({"PASSWORD_LOGIN_ROLES": ["admin"]}) == {"admin"}


def test_a_usable_discovery_document_names_every_endpoint_the_flow_needs():
    good = {"issuer": "https://idporten.no", "authorization_endpoint": "https://login.idporten.no/authorize",
            "token_endpoint": "https://idporten.no/token", "jwks_uri": "https://idporten.no/jwks.json"}
    assert oidc.metadata_problem(good) is None
    assert oidc.metadata_problem([good]) == "the discovery document is not a JSON object"
    for name in oidc.REQUIRED_METADATA:
        assert name in oidc.metadata_problem({k: v for k, v in good.items() if k != name})
    assert "not a URL" in oidc.metadata_problem({**good, "jwks_uri": "javascript:alert(1)"})


def test_production_refuses_a_configured_provider_without_a_subject_key():
    from config import ProductionConfig

    base = {"SECRET_KEY": "x" * 40}
    ProductionConfig.check(base)  # no provider: no key needed
    with pytest.raises(RuntimeError, match="OIDC_SUBJECT_KEY"):
        ProductionConfig.check({**base, "OIDC_IDPORTEN_CLIENT_ID": "client"})
    with pytest.raises(RuntimeError, match="OIDC_SUBJECT_KEY"):
        ProductionConfig.check({**base, "OIDC_ANSATTPORTEN_CLIENT_ID": "client", "OIDC_SUBJECT_KEY": "short"})
    ProductionConfig.check({**base, "OIDC_IDPORTEN_CLIENT_ID": "client", "OIDC_SUBJECT_KEY": "k" * 32})


@pytest.mark.parametrize(("language", "words"), [
    ("nb", ("har invitert deg til å arbeide for Oslo", "Invitasjon til Oslo i IMDis tilskuddsportal")),
    ("nn", ("har invitert deg til å arbeide for Oslo", "Invitasjon til Oslo i tilskotsportalen til IMDi")),
    ("en", ("has invited you to work for Oslo", "Invitation to Oslo in IMDi's grant portal")),
])
def test_the_invitation_email_reads_in_its_language_with_the_link(language, words):
    from grants import create_app
    from grants.notify.messages import build_message
    from grants.notify.models import Notice

    app = create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://", PUBLIC_BASE_URL="https://tilskudd.example")
    with app.app_context():
        message = build_message(Notice(
            id=3, key="invitation:3", kind="invitation", language=language, recipient_email="kari@oslo.kommune.no",
            recipient_name="Kari Nordmann", attachments=None,
            context={"token": "tok-en", "municipality_name": "Oslo", "inviter_name": "Anne Admin", "valid_days": 14}))
    text, html = message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()
    assert str(message["Subject"]) == words[1]
    for body in (text, html):
        assert words[0] in body and "Anne Admin" in body and "/konto/invitasjon/tok-en" in body and "14" in body
    assert f'lang="{language}"' in html
