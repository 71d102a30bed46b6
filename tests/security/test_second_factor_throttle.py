"""Wrong second-factor codes are counted per account by the same throttle as wrong passwords (grants/accounts/
throttle.py), on a count of their own: a wrong, used or out-of-time code and a used recovery code each count; after
the free failures the next code waits, then codes are refused for a while; a right password does not wipe the
count, a right code does."""

import time

import pyotp
import pytest

from grants.accounts import mfa, throttling
from grants.accounts.models import Role
from grants.extensions import db
from tests.factories import PASSWORD
from tests.second_factor import app_code
from tests.security.support import user
from tests.security.test_throttling import make_limited  # noqa: F401 - the fixture

CODE_PAGE = "/konto/kode"


def password(client, someone):
    response = client.post("/konto/logg-inn", data={"email": someone.email, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith(CODE_PAGE)


def wrong_code(someone):
    right = pyotp.TOTP(mfa.secret_of(someone)).now()
    return f"{(int(right) + 500_000) % 1_000_000:06d}"


def failures(someone):
    return throttling.code_throttle().failures(str(someone.id))


@pytest.fixture
def staff_member(make_limited):  # noqa: F811 - the imported fixture
    def make(**settings):
        app = make_limited(**settings)
        someone = user(role=Role.approver)
        db.session.commit()
        return app, someone

    return make


def test_every_kind_of_refused_code_is_counted_for_the_account(staff_member):
    app, someone = staff_member(LOGIN_FREE_FAILURES=50, LOGIN_LOCK_AFTER=60)
    codes = mfa.regenerate_recovery_codes(someone)
    db.session.commit()
    client = app.test_client()
    password(client, someone)
    assert client.post(CODE_PAGE, data={"code": wrong_code(someone)}).status_code == 422
    assert failures(someone) == 1
    skewed = pyotp.TOTP(mfa.secret_of(someone)).at(time.time() + 120)
    assert client.post(CODE_PAGE, data={"code": skewed}).status_code == 422
    assert failures(someone) == 2
    assert client.post(CODE_PAGE, data={"code": codes[0]}).status_code == 302  # a right code forgets them
    assert failures(someone) == 0
    other = app.test_client()
    password(other, someone)
    assert other.post(CODE_PAGE, data={"code": codes[0]}).status_code == 422  # used recovery code
    assert failures(someone) == 1
    used = app_code(someone)
    assert other.post(CODE_PAGE, data={"code": used}).status_code == 302
    third = app.test_client()
    password(third, someone)
    assert third.post(CODE_PAGE, data={"code": used}).status_code == 422  # the same code again
    assert failures(someone) == 1


def test_after_the_free_failures_the_next_code_waits_and_a_right_password_does_not_help(staff_member):
    app, someone = staff_member(LOGIN_FREE_FAILURES=2, LOGIN_LOCK_AFTER=10)
    client = app.test_client()
    password(client, someone)
    first = client.post(CODE_PAGE, data={"code": wrong_code(someone)})
    assert first.status_code == 422 and "Vent" not in first.get_data(as_text=True)
    second = client.post(CODE_PAGE, data={"code": wrong_code(someone)})
    assert second.status_code == 422 and "Vent 1 sekund før du prøver igjen." in second.get_data(as_text=True)
    response = client.post(CODE_PAGE, data={"code": app_code(someone)})  # the right code, too soon
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert "For mange feil koder." in response.get_data(as_text=True)
    password(client, someone)  # the password again: the wait stays
    assert client.post(CODE_PAGE, data={"code": app_code(someone)}).status_code == 429
    assert client.get("/admin/utlysninger/").status_code == 302  # nobody logged in


def test_many_wrong_codes_pause_codes_for_the_account(staff_member):
    app, someone = staff_member(LOGIN_FREE_FAILURES=50, LOGIN_LOCK_AFTER=3, LOGIN_LOCK_MINUTES=30)
    client = app.test_client()
    password(client, someone)
    for _ in range(2):
        assert client.post(CODE_PAGE, data={"code": wrong_code(someone)}).status_code == 422
    page = client.post(CODE_PAGE, data={"code": wrong_code(someone)}).get_data(as_text=True)
    assert "Etter mange feil koder blir koder for kontoen din avvist fram til kl." in page
    response = client.post(CODE_PAGE, data={"code": app_code(someone)})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 25 * 60
    # another account is not touched
    colleague = user(role=Role.caseworker)
    db.session.commit()
    other = app.test_client()
    password(other, colleague)
    assert other.post(CODE_PAGE, data={"code": app_code(colleague)}).status_code == 302


def test_the_step_up_page_counts_wrong_codes_too(staff_member):
    app, someone = staff_member(LOGIN_FREE_FAILURES=50, LOGIN_LOCK_AFTER=60)
    client = app.test_client()
    password(client, someone)
    assert client.post(CODE_PAGE, data={"code": app_code(someone)}).status_code == 302
    with client.session_transaction() as session:
        session["mfa_at"] -= app.config["MFA_REAUTH_MINUTES"] * 60 + 1
    response = client.post("/saksbehandling/vedtak/9999/godkjenn", data={"mfa_code": wrong_code(someone)})
    assert response.status_code == 422 and failures(someone) == 1
