"""Sessions (ASVS 7.2.4, 7.3.1/7.3.2, 7.4.1, 7.4.3; cookies 3.3.1-3.3.4) and the production settings.

What tests/web/test_foundation.py already covers is not repeated here: replay after logout, password change
ending other sessions, the cookie value changing at login."""

import time
from datetime import UTC, datetime, timedelta

import itsdangerous.timed
import pytest
from werkzeug.security import generate_password_hash

import grants.accounts.models as account_models
from grants import create_app
from grants.accounts import operations as accounts
from grants.accounts.models import Role, UserSession
from grants.extensions import db
from tests.factories import PASSWORD, UserFactory
from tests.second_factor import pass_second_factor

COOKIE = "grants_session"
PROTECTED = "/admin/utlysninger/"
CHEAP = "pbkdf2:sha256:1"


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch):
    monkeypatch.setattr(account_models, "generate_password_hash",
                        lambda password, method=None: generate_password_hash(password, CHEAP))


def admin():
    user = UserFactory(role=Role.admin, password_hash=generate_password_hash(PASSWORD, CHEAP))
    db.session.commit()
    return user


def log_in(client, user, password=PASSWORD):
    """The password, then the code of the administrator's app (tests/second_factor.py)."""
    response = client.post("/konto/logg-inn", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    pass_second_factor(client, user, response)


def is_logged_in(client):
    response = client.get(PROTECTED)
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and "/konto/logg-inn" in response.headers["Location"]
    return False


def with_cookie(app, value):
    other = app.test_client()
    other.set_cookie(COOKIE, value)
    return other


# --- renewal at login ---------------------------------------------------------------------------------------

def test_a_cookie_from_before_login_does_not_become_authenticated(app, client):
    user = admin()
    client.post("/sprak", data={"lang": "nn", "next": "/"})  # an anonymous session with something in it
    before = client.get_cookie(COOKIE).value
    log_in(client, user)
    after = client.get_cookie(COOKIE).value
    assert after != before
    assert is_logged_in(client)
    assert not is_logged_in(with_cookie(app, before))  # the fixated / pre-login cookie stays anonymous


def test_login_starts_a_fresh_session_without_earlier_keys(app, client):
    user = admin()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["_fresh"] = True
    log_in(client, user)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("login_at")


def test_each_login_gets_its_own_server_side_session(app, client):
    user = admin()
    other = app.test_client()
    log_in(client, user)
    log_in(other, user)
    assert db.session.query(UserSession).filter_by(user_id=user.id).count() == 2
    assert client.get_cookie(COOKIE).value != other.get_cookie(COOKIE).value


def test_a_forged_session_naming_a_user_id_is_not_accepted(app, client):
    """The cookie carries a random server-side session id, not the user's primary key."""
    user = admin()
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["login_at"] = datetime.now(UTC).timestamp()
    assert not is_logged_in(client)


# --- ending sessions ----------------------------------------------------------------------------------------

def test_password_reset_by_token_ends_every_session(app, client):
    user = admin()
    log_in(client, user)
    stolen = client.get_cookie(COOKIE).value
    token = accounts.reset_token(user)
    db.session.commit()
    stranger = app.test_client()
    response = stranger.post(f"/konto/nytt-passord/{token}",
                             data={"password": "a brand new long sentence", "confirm": "a brand new long sentence"})
    assert response.status_code == 302
    assert not is_logged_in(client)
    assert not is_logged_in(with_cookie(app, stolen))
    assert db.session.query(UserSession).filter_by(user_id=user.id).count() == 0
    # the token is spent with the old password
    again = stranger.post(f"/konto/nytt-passord/{token}",
                          data={"password": "yet another long sentence", "confirm": "yet another long sentence"})
    assert again.status_code == 302 and "/konto/glemt-passord" in again.headers["Location"]
    log_in(app.test_client(), user, "a brand new long sentence")


def test_disabling_an_account_ends_its_sessions(app, client):
    user = admin()
    log_in(client, user)
    user.status = account_models.UserStatus.disabled
    db.session.commit()
    assert not is_logged_in(client)


# --- idle timeout and absolute lifetime -----------------------------------------------------------------------

def _signed_at(app, data, moment, monkeypatch):
    """The session cookie Flask would have written with ``data`` at ``moment`` (a POSIX time)."""
    serializer = app.session_interface.get_signing_serializer(app)
    with monkeypatch.context() as patch:
        patch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: int(moment))
        return serializer.dumps(data)


def test_idle_timeout(app, client, monkeypatch):
    user = admin()
    log_in(client, user)
    with client.session_transaction() as session:
        data = dict(session)
    idle = app.config["PERMANENT_SESSION_LIFETIME"]
    assert idle <= timedelta(minutes=30)
    recently = _signed_at(app, data, time.time() - idle.total_seconds() + 60, monkeypatch)
    assert is_logged_in(with_cookie(app, recently))
    # the browser keeps a cookie longer than it should (or it was copied): the server still refuses it
    too_old = _signed_at(app, data, time.time() - idle.total_seconds() - 60, monkeypatch)
    assert not is_logged_in(with_cookie(app, too_old))
    # the cookie itself expires with the idle time
    assert client.get_cookie(COOKIE).expires is not None


def test_activity_keeps_the_session_alive(app, client):
    user = admin()
    log_in(client, user)
    first = client.get_cookie(COOKIE).value
    time.sleep(1.1)  # itsdangerous timestamps are whole seconds
    client.get(PROTECTED)
    assert client.get_cookie(COOKIE).value != first  # re-signed: the idle clock starts again


def test_absolute_lifetime(app, client):
    user = admin()
    log_in(client, user)
    hours = app.config["SESSION_ABSOLUTE_HOURS"]
    assert hours <= 12
    with client.session_transaction() as session:
        session["login_at"] = (datetime.now(UTC) - timedelta(hours=hours, minutes=-5)).timestamp()
    assert is_logged_in(client)  # still inside the limit, and active all the while
    with client.session_transaction() as session:
        session["login_at"] = (datetime.now(UTC) - timedelta(hours=hours, minutes=1)).timestamp()
    assert not is_logged_in(client)
    with client.session_transaction() as session:  # and it does not come back
        assert "_user_id" not in session


def test_session_without_a_login_time_is_not_trusted(app, client):
    user = admin()
    log_in(client, user)
    with client.session_transaction() as session:
        session.pop("login_at")
    assert not is_logged_in(client)


# --- cookie flags and production settings -------------------------------------------------------------------

def production_app(tmp_path, **overrides):
    settings = dict(SECRET_KEY="x" * 48, SQLALCHEMY_DATABASE_URI="sqlite://",
                    CELERY_BROKER_URL=f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
                    UPLOAD_DIR=str(tmp_path / "uploads"), MAIL_DIR=str(tmp_path / "mail"),
                    RATELIMIT_STORAGE_URI="memory://", RATELIMIT_ENABLED=False)
    settings.update(overrides)
    return create_app("production", **settings)


def test_production_cookies_are_secure_host_only_httponly_samesite(tmp_path):
    app = production_app(tmp_path)
    config = app.config
    assert config["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert config["SESSION_COOKIE_SECURE"] and config["SESSION_COOKIE_HTTPONLY"]
    assert config["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert not config.get("SESSION_COOKIE_DOMAIN")
    assert config["REMEMBER_COOKIE_SECURE"] and config["REMEMBER_COOKIE_HTTPONLY"]
    assert config["REMEMBER_COOKIE_DURATION"] <= timedelta(hours=config["SESSION_ABSOLUTE_HOURS"])
    assert config["PERMANENT_SESSION_LIFETIME"] <= timedelta(minutes=30)
    assert config["SESSION_ABSOLUTE_HOURS"] <= 12
    assert not app.debug and not config["TESTING"]
    assert config["MAX_CONTENT_LENGTH"]
    # what the browser actually receives
    client = app.test_client()
    response = client.post("/sprak", data={"lang": "en", "next": "/"}, base_url="https://tilskudd.example")
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("__Host-"))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite", "path"} <= attributes
    assert "domain" not in attributes and "Path=/" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "includeSubDomains" in response.headers["Strict-Transport-Security"]


@pytest.mark.parametrize("secret", [None, "dev-only-not-secret", "testing-secret", "", "short-but-not-empty"])
def test_production_refuses_a_default_or_short_secret_key(tmp_path, secret):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        production_app(tmp_path, SECRET_KEY=secret)


def test_development_defaults_do_not_send_hsts(client):
    """HSTS only where the site is served over HTTPS (the secure-cookie setting says so)."""
    assert "Strict-Transport-Security" not in client.get("/").headers
