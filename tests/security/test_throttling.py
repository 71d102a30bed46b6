"""Login throttling (ASVS 6.3.1 / 4.0.3 2.2.1): at most ten login attempts a minute per address and per account;
the eleventh gets 429 and a page that says what happened. Also with the limiter's state in Redis, as in
production, where every gunicorn worker shares one count."""

import uuid

import pytest

from grants.extensions import db, limiter
from tests.conftest import FreshRequestClient, _clean, make_app
from tests.factories import PASSWORD
from tests.security.support import user

LIMIT = 10  # LOGIN_LIMIT is "10 per minute;50 per hour"






@pytest.fixture
def limited_app(database_url, instance_dir, _migrated, request):
    """An app with the limiter on; memory storage unless a test asks for another via indirect parametrisation."""
    storage = getattr(request, "param", "memory://")
    app = make_app(database_url, instance_dir, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=storage,
                   RATELIMIT_KEY_PREFIX=f"grants-test-{uuid.uuid4().hex}")
    app.test_client_class = FreshRequestClient
    _clean(app)
    with app.app_context():
        yield app
        db.session.remove()
    limiter.enabled = False  # the limiter is one object for every app; leave it off for the next tests


def attempt(client, email, password="wrong password!!", address="192.0.2.10", **headers):
    return client.post("/konto/logg-inn", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address}, headers=headers)


def assert_clear_429(response):
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "For mange forsøk" in page and "Vent noen minutter" in page  # "Too many attempts", "wait a few minutes"
    assert response.headers["Content-Type"].startswith("text/html")
    assert int(response.headers["Retry-After"]) > 0  # RFC 6585: how long to wait


def test_eleventh_attempt_from_one_address_is_refused(limited_app):
    client = limited_app.test_client()
    for n in range(LIMIT):  # different accounts: only the address is common
        assert attempt(client, f"nobody{n}@example.no").status_code == 200
    assert_clear_429(attempt(client, "nobody-else@example.no"))
    # another address is not affected by this one's count
    assert attempt(client, "nobody-else@example.no", address="192.0.2.99").status_code == 200


def test_eleventh_attempt_on_one_account_is_refused_from_any_address(limited_app):
    user_ = user()
    db.session.commit()
    client = limited_app.test_client()
    for n in range(LIMIT):  # a botnet: each address tries once
        assert attempt(client, user_.email, address=f"198.51.100.{n + 1}").status_code == 200
    # the same account, written differently, from an address never seen: still the same count
    assert_clear_429(attempt(client, f"  {user_.email.upper()} ", address="203.0.113.7"))
    # even the right password is refused while the account is throttled (no oracle for the attacker)
    assert attempt(client, user_.email, password=PASSWORD, address="203.0.113.8").status_code == 429
    # other accounts can still log in from elsewhere
    other = user()
    db.session.commit()
    assert attempt(limited_app.test_client(), other.email, password=PASSWORD, address="203.0.113.9"
                   ).status_code == 302


def test_forged_forwarded_for_does_not_reset_the_count(limited_app):
    """Without a trusted proxy configured (PROXY_FIX=0) X-Forwarded-For is the client's word and is ignored."""
    client = limited_app.test_client()
    for n in range(LIMIT):
        assert attempt(client, f"x{n}@example.no", **{"X-Forwarded-For": f"10.9.8.{n}"}).status_code == 200
    assert attempt(client, "y@example.no", **{"X-Forwarded-For": "10.9.9.9"}).status_code == 429


def test_password_reset_requests_are_throttled_too(limited_app):
    client = limited_app.test_client()
    for n in range(LIMIT):
        response = client.post("/konto/glemt-passord", data={"email": f"someone{n}@example.no"},
                               environ_base={"REMOTE_ADDR": "192.0.2.44"})
        assert response.status_code == 200 and "Sjekk e-posten" in response.get_data(as_text=True)
    response = client.post("/konto/glemt-passord", data={"email": "someone@example.no"},
                           environ_base={"REMOTE_ADDR": "192.0.2.44"})
    assert_clear_429(response)


@pytest.mark.redis
def test_throttling_works_with_redis_storage(redis_url, database_url, instance_dir, _migrated):
    """Production keeps the counts in Redis; two app instances (two workers) share them."""
    prefix = f"grants-test-{uuid.uuid4().hex}"
    workers = [make_app(database_url, instance_dir, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=redis_url,
                        RATELIMIT_KEY_PREFIX=prefix) for _ in range(2)]
    try:
        with workers[0].app_context():
            _clean(workers[0])
            email = user().email
            db.session.commit()
        assert "redis" in type(limiter._storage).__name__.lower()
        for n in range(LIMIT):  # alternate between the two "workers"
            app = workers[n % 2]
            with app.app_context():
                assert attempt(app.test_client(), email, address=f"198.51.100.{n + 1}").status_code == 200
        with workers[0].app_context():
            assert_clear_429(attempt(workers[0].test_client(), email, address="203.0.113.50"))
    finally:
        limiter.reset()  # drops this test's keys from Redis
        limiter.enabled = False
