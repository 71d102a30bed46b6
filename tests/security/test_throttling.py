"""Throttles that protect without locking out (ASVS 4.0.3 2.2.1; issue #17 item 4), through the real views.

Per account (the typed address, known or not): free failures, then waits, then a pause that the owner lifts through
a single-use link by e-mail. Per client address (proxy-aware): a limit a whole kommune fits under. Registration and
password reset: per typed address and per client address, the form kept, nothing sent. Also with the counts in
Redis, as in production, where every gunicorn worker shares them."""

import re
import secrets
import time
import uuid

import pytest
from sqlalchemy import select

from grants.accounts.models import User
from grants.extensions import db
from grants.notify.models import Notice
from tests.conftest import FreshRequestClient, _clean, make_app
from tests.factories import PASSWORD
from tests.security.support import user

WRONG = "wrong password!!"


def limited(database_url, instance_dir, **settings):
    settings.setdefault("RATELIMIT_KEY_PREFIX", f"grants-test-{uuid.uuid4().hex}:")
    app = make_app(database_url, instance_dir, RATELIMIT_ENABLED=True, **settings)
    app.test_client_class = FreshRequestClient
    return app


@pytest.fixture
def make_limited(database_url, instance_dir, _migrated):
    """Makes an app with the throttles on (memory storage unless told), with ``settings`` on top."""
    made = []

    def make(**settings):
        settings.setdefault("RATELIMIT_STORAGE_URI", "memory://")
        app = limited(database_url, instance_dir, **settings)
        if not made:
            _clean(app)
        made.append(app.app_context())
        made[-1].push()
        return app

    yield make
    for context in reversed(made):
        db.session.remove()
        context.pop()


def attempt(client, email, password=WRONG, address="192.0.2.10", **headers):
    return client.post("/konto/logg-inn", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address}, headers=headers)


def page(response):
    return response.get_data(as_text=True)


def without_tokens(text):
    """A page with its CSRF token and any nonce blanked: what is left must not depend on who asked."""
    text = re.sub(r'(name="csrf_token"[^>]*value=")[^"]*', r"\1", text)
    return re.sub(r'nonce="[^"]*"', 'nonce=""', text)


def assert_refused(response, *words):
    assert response.status_code == 429
    text = page(response)
    assert 'id="error-summary"' in text and 'name="email"' in text  # the form is there again, with the reason
    for word in words:
        assert word in text, (word, re.findall(r"<li>.*?</li>", text, re.S)[:3])
    assert response.headers["Content-Type"].startswith("text/html")
    assert int(response.headers["Retry-After"]) > 0  # RFC 6585: how long to wait


def notices(kind):
    return db.session.scalars(select(Notice).where(Notice.kind == kind).order_by(Notice.id)).all()


# --- per account -------------------------------------------------------------------------------------------------

def test_after_the_free_failures_each_attempt_waits_the_same_for_known_and_unknown_addresses(make_limited):
    app = make_limited(LOGIN_FREE_FAILURES=2)
    kari = user()
    db.session.commit()
    client = app.test_client()
    answers = {}
    for email in (kari.email, "nobody@bergen.kommune.no"):
        assert attempt(client, email).status_code == 200
        second = attempt(client, email)  # the second failure: the next attempt must wait a second
        assert second.status_code == 200
        assert "E-postadressen eller passordet er feil" in page(second) and "Vent 1 sekund" in page(second)
        refused = attempt(client, email, password=PASSWORD)  # the right password is not even checked now
        assert_refused(refused, "For mange mislykkede forsøk med denne e-postadressen", "Vent 1 sekund")
        assert refused.headers["Retry-After"] == "1"
        answers[email] = (second.status_code, without_tokens(page(second)).replace(email, "@"),
                          refused.status_code, without_tokens(page(refused)).replace(email, "@"))
    # the answers tell nothing about which address has an account
    assert answers[kari.email] == answers["nobody@bergen.kommune.no"]
    time.sleep(1.05)
    assert attempt(client, kari.email, password=PASSWORD).status_code == 302


def test_a_login_forgets_the_failures(make_limited):
    app = make_limited(LOGIN_FREE_FAILURES=3)
    kari = user()
    db.session.commit()
    client = app.test_client()
    for _ in range(2):
        assert attempt(client, kari.email).status_code == 200
    assert attempt(client, kari.email, password=PASSWORD).status_code == 302
    other = app.test_client()
    for _ in range(2):  # two more are free again; without the reset the second would have started a wait
        assert "Vent" not in page(attempt(other, kari.email))


def test_many_failures_pause_the_account_until_its_owner_lifts_the_pause_by_e_mail(make_limited):
    app = make_limited(LOGIN_FREE_FAILURES=50, LOGIN_LOCK_AFTER=3, LOGIN_LOCK_MINUTES=30)
    kari = user(language="nn")
    db.session.commit()
    client = app.test_client()
    for n in range(3):  # from three addresses: a botnet gets no further than one client
        response = attempt(client, kari.email, address=f"198.51.100.{n + 1}")
        assert response.status_code == 200
    assert "er innlogging med denne e-postadressen satt på pause til" in page(response)
    # the right password does not get through the pause, from anywhere
    assert_refused(attempt(client, kari.email, password=PASSWORD, address="203.0.113.7"), "satt på pause")
    [mail] = notices("account_locked")
    assert (mail.recipient_email, mail.language, mail.user_id) == (kari.email, "nn", kari.id)
    assert mail.context["lock_minutes"] == 30 and mail.context["valid_minutes"] == 60
    link = f"/konto/las-opp/{mail.context['token']}"
    # opening the link only shows the button (a mail scanner that follows links lifts nothing)
    shown = client.get(link)
    assert shown.status_code == 200 and "Opphev pausen" in page(shown)
    assert_refused(attempt(client, kari.email, password=PASSWORD), "satt på pause")
    lifted = client.post(link)
    assert lifted.status_code == 302 and lifted.headers["Location"].endswith("/konto/logg-inn")
    assert attempt(client, kari.email, password=PASSWORD).status_code == 302
    # single use: the same link again is refused, and lifts nothing
    again = app.test_client()
    assert again.post(link).headers["Location"].endswith("/konto/logg-inn")
    assert "ugyldig eller har utløpt" in page(again.get("/konto/logg-inn"))
    assert again.get(link).status_code == 302
    # a forged link is refused too
    assert again.post("/konto/las-opp/" + mail.context["token"][:-2] + "xx").status_code == 302


def test_an_unknown_address_is_paused_the_same_and_no_mail_goes_anywhere(make_limited):
    app = make_limited(LOGIN_FREE_FAILURES=50, LOGIN_LOCK_AFTER=2)
    kari = user()
    db.session.commit()
    client = app.test_client()
    answers = []
    for email in (kari.email, "nobody@bergen.kommune.no"):
        attempt(client, email)
        locked = attempt(client, email)
        refused = attempt(client, email)
        answers.append([(r.status_code, without_tokens(page(r)).replace(email, "@")) for r in (locked, refused)])
    assert answers[0] == answers[1]
    assert [n.recipient_email for n in notices("account_locked")] == [kari.email]


def test_a_password_reset_lifts_the_pause(make_limited):
    app = make_limited(LOGIN_FREE_FAILURES=50, LOGIN_LOCK_AFTER=2)
    kari = user()
    db.session.commit()
    client = app.test_client()
    attempt(client, kari.email)
    attempt(client, kari.email)
    assert attempt(client, kari.email, password=PASSWORD).status_code == 429
    assert client.post("/konto/glemt-passord", data={"email": kari.email}).status_code == 200
    token = notices("password_reset")[-1].context["token"]
    new = "en ny og lang setning"
    assert client.post(f"/konto/nytt-passord/{token}", data={"password": new, "confirm": new}).status_code == 302
    assert attempt(client, kari.email, password=new).status_code == 302


# --- per client address ------------------------------------------------------------------------------------------

def test_one_address_is_limited_per_window_and_the_limit_fits_a_kommune(make_limited):
    app = make_limited(LOGIN_LIMIT="5 per 10 minutes")
    client = app.test_client()
    for n in range(5):  # different accounts: only the address is common
        assert attempt(client, f"nobody{n}@example.no").status_code == 200
    assert_refused(attempt(client, "nobody-else@example.no"), "For mange innloggingsforsøk fra nettverket ditt",
                   "Vent 10 minutter")
    assert attempt(client, "nobody-else@example.no", address="192.0.2.99").status_code == 200
    # the default is far above what a kommune's staff do: 300 attempts in ten minutes from one address
    default = make_limited()
    assert default.config["LOGIN_LIMIT"] == "300 per 10 minutes"


def test_behind_a_trusted_proxy_forwarded_clients_are_counted_apart(make_limited):
    app = make_limited(LOGIN_LIMIT="3 per 10 minutes", PROXY_FIX=1)
    client = app.test_client()
    for n in range(3):  # all through the same proxy (REMOTE_ADDR), from one client
        assert attempt(client, f"x{n}@example.no", **{"X-Forwarded-For": "203.0.113.1"}).status_code == 200
    assert attempt(client, "y@example.no", **{"X-Forwarded-For": "203.0.113.1"}).status_code == 429
    # another client behind the same proxy has its own count
    assert attempt(client, "y@example.no", **{"X-Forwarded-For": "203.0.113.2"}).status_code == 200


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(make_limited):
    """Without PROXY_FIX, X-Forwarded-For is the client's own word: a new value each time resets nothing."""
    app = make_limited(LOGIN_LIMIT="3 per 10 minutes")
    client = app.test_client()
    for n in range(3):
        assert attempt(client, f"x{n}@example.no", **{"X-Forwarded-For": f"10.9.8.{n}"}).status_code == 200
    assert attempt(client, "y@example.no", **{"X-Forwarded-For": "10.9.9.9"}).status_code == 429


# --- registration and password reset -----------------------------------------------------------------------------

def registration(email, **extra):
    return {"name": "Kari Nordmann", "email": email, "municipality": "4601", "language": "nb",
            "password": "en lang og god setning", "confirm": "en lang og god setning"} | extra


def test_registration_is_limited_per_typed_address_with_the_form_kept_and_nothing_sent(make_limited):
    app = make_limited(ACCOUNT_MAIL_LIMIT_PER_EMAIL="2 per hour")
    client = app.test_client()
    for _ in range(2):  # the second time the address has a user: the same answer, the mail says so
        assert client.post("/konto/registrer", data=registration("kari@bergen.kommune.no")).status_code == 200
    sent = db.session.scalar(select(db.func.count(Notice.id)))
    refused = client.post("/konto/registrer", data=registration("kari@bergen.kommune.no", name="Kari Tredje"),
                          environ_base={"REMOTE_ADDR": "192.0.2.77"})
    assert_refused(refused, "For mange forespørsler", "ingenting ble sendt", 'value="Kari Tredje"')
    assert db.session.scalar(select(db.func.count(Notice.id))) == sent
    assert client.post("/konto/registrer", data=registration("ola@bergen.kommune.no")).status_code == 200


def test_registration_is_limited_per_client_address(make_limited):
    app = make_limited(ACCOUNT_MAIL_LIMIT_PER_CLIENT="3 per hour")
    client = app.test_client()
    for n in range(3):
        assert client.post("/konto/registrer", data=registration(f"person{n}@bergen.kommune.no")).status_code == 200
    assert_refused(client.post("/konto/registrer", data=registration("person9@bergen.kommune.no")), "Vent 60 minutter")
    assert db.session.scalar(select(User).where(User.email == "person9@bergen.kommune.no")) is None
    assert client.post("/konto/registrer", data=registration("person9@bergen.kommune.no"),
                       environ_base={"REMOTE_ADDR": "192.0.2.200"}).status_code == 200


def test_password_reset_is_limited_per_typed_address_and_per_client(make_limited):
    app = make_limited(ACCOUNT_MAIL_LIMIT_PER_EMAIL="2 per hour", ACCOUNT_MAIL_LIMIT_PER_CLIENT="4 per hour")
    kari = user()
    db.session.commit()
    client = app.test_client()
    for _ in range(2):
        response = client.post("/konto/glemt-passord", data={"email": kari.email})
        assert response.status_code == 200 and "Sjekk e-posten" in page(response)
    assert_refused(client.post("/konto/glemt-passord", data={"email": kari.email}), "ingenting ble sendt")
    assert len(notices("password_reset")) == 2
    assert client.post("/konto/glemt-passord", data={"email": "ola@example.no"}).status_code == 200
    assert_refused(client.post("/konto/glemt-passord", data={"email": "per@example.no"}))  # the client's fifth


def test_the_refusal_is_in_the_users_language(make_limited):
    app = make_limited(ACCOUNT_MAIL_LIMIT_PER_EMAIL="1 per hour")
    client = app.test_client()
    client.post("/sprak", data={"lang": "en"})
    client.post("/konto/glemt-passord", data={"email": "kari@example.no"})
    refused = client.post("/konto/glemt-passord", data={"email": "kari@example.no"})
    assert_refused(refused, "Too many requests", "nothing was sent")
    assert "For mange" not in page(refused)


# --- the counts in Redis ------------------------------------------------------------------------------------------

@pytest.mark.redis
def test_workers_share_the_counts_in_redis(redis_url, make_limited):
    """Production keeps the counts in Redis; two app instances (two workers) share them: the pause made through
    one holds in the other, and the link used in the other lifts it for both."""
    prefix = f"grants-test-{uuid.uuid4().hex}:"
    settings = dict(RATELIMIT_STORAGE_URI=redis_url, RATELIMIT_KEY_PREFIX=prefix, LOGIN_FREE_FAILURES=2,
                    LOGIN_LOCK_AFTER=4, RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=False,
                    SECRET_KEY=secrets.token_urlsafe(32))  # one deployment: every worker has the same key
    workers = [make_limited(**settings), make_limited(**settings)]
    from grants.accounts import throttling

    with workers[0].app_context():
        assert "redis" in type(throttling.counters().storage).__name__.lower()
        kari = user()
        db.session.commit()
        email = kari.email
    for n in range(2):
        with workers[n].app_context():
            assert attempt(workers[n].test_client(), email).status_code == 200
    with workers[0].app_context():  # the second failure, made in worker 1, makes worker 0 wait
        assert_refused(attempt(workers[0].test_client(), email, password=PASSWORD), "Vent 1 sekund")
    for n in range(2):
        time.sleep(2.1)
        with workers[n].app_context():
            assert attempt(workers[n].test_client(), email).status_code == 200
    with workers[0].app_context():
        assert_refused(attempt(workers[0].test_client(), email, password=PASSWORD), "satt på pause")
        token = notices("account_locked")[-1].context["token"]
    with workers[1].app_context():
        assert workers[1].test_client().post(f"/konto/las-opp/{token}").status_code == 302
    with workers[0].app_context():
        assert attempt(workers[0].test_client(), email, password=PASSWORD).status_code == 302
        assert workers[0].test_client().post(f"/konto/las-opp/{token}").status_code == 302
        assert not throttling.unlock_token_valid(token)  # used up, in Redis, for every worker


def test_a_store_that_cannot_be_reached_counts_in_memory_instead_of_failing_the_login(make_limited):
    """Redis down (here: nothing listens on the port): every throttle still answers, from the process's memory."""
    app = make_limited(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0", LOGIN_FREE_FAILURES=1,
                       ACCOUNT_MAIL_LIMIT_PER_EMAIL="1 per hour")
    kari = user()
    db.session.commit()
    client = app.test_client()
    assert "Vent 1 sekund" in page(attempt(client, kari.email))
    assert_refused(attempt(client, kari.email, password=PASSWORD), "Vent 1 sekund")
    time.sleep(1.05)
    assert attempt(client, kari.email, password=PASSWORD).status_code == 302
    assert client.post("/konto/glemt-passord", data={"email": kari.email}).status_code == 200
    assert client.post("/konto/glemt-passord", data={"email": kari.email}).status_code == 429
