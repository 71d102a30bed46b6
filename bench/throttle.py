"""The throttles' figures for the README (issue #17, item 4): what one account, one address and a kommune behind
one address can do under the settings of config.py (or the environment).

    .venv/bin/python bench/throttle.py

Part 1 runs the rules of grants/accounts/throttle.py on a simulated clock (a day in well under a second): a guesser
on one account who always waits exactly as long as told, and an owner who mistypes. Part 2 goes through the real
login, registration and reset views of the app (SQLite in a temporary folder, counts in memory, throttles on,
CSRF off): a kommune whose staff share one outgoing address log in within one window, some after a typo, then one
attempt more; registrations and reset requests until refused. It ends with one line of name=value figures.
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _support as s  # noqa: E402

from config import Config  # noqa: E402
from grants.accounts.throttle import ClockedCounters, LoginThrottle, RateLimit  # noqa: E402
from grants.accounts.throttling import login_policy  # noqa: E402

DAY = 24 * 3600


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def guesser(policy, seconds=DAY):
    """Guesses one account gets in ``seconds`` by always waiting exactly as long as told, and pauses it causes."""
    clock = Clock()
    throttle = LoginThrottle(ClockedCounters(clock), policy, clock=clock, secret="bench")
    guesses = pauses = 0
    first_pause_at = None
    while clock.now < seconds:
        verdict = throttle.begin("kari@bergen.kommune.no")
        if not verdict.allowed:
            clock.now += verdict.seconds
            continue
        guesses += 1
        after = throttle.failed("kari@bergen.kommune.no")
        if after.newly_locked:
            pauses += 1
            first_pause_at = first_pause_at if first_pause_at is not None else clock.now
    return guesses, pauses, first_pause_at


def address_capacity(setting):
    """Attempts one client address may make per window, and the window in seconds (the first limit of ``setting``)."""
    clock = Clock()
    limit = RateLimit(ClockedCounters(clock), setting, "bench", clock=clock)
    item = limit.items[0]
    allowed = 0
    while limit.hit("192.0.2.1").allowed:
        allowed += 1
    return allowed, item.get_expiry()


def through_the_app(people, typo_every):
    """The real views: ``people`` staff behind one address log in (every ``typo_every``-th mistypes first), then one
    attempt more from the same address; registrations and reset requests until refused. Gives a dict of figures."""
    from flask_migrate import upgrade

    from grants.accounts.models import Role, User, UserStatus
    from grants.accounts.register import import_municipalities
    from grants.extensions import db

    figures = {}
    with tempfile.TemporaryDirectory() as instance:
        app = s.bench_app(f"sqlite:///{instance}/bench.sqlite", instance, config="development",
                          WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=True, SECRET_KEY="bench-" + "x" * 40)
        with app.app_context():
            upgrade()
            import_municipalities()
            from werkzeug.security import generate_password_hash

            cheap = generate_password_hash("en lang og god setning", "pbkdf2:sha256:1")
            municipality_id = db.session.scalar(db.text("SELECT id FROM municipalities WHERE number = '4601'"))
            for n in range(people):
                db.session.add(User(email=f"ansatt{n}@bergen.kommune.no", name=f"Ansatt {n}", role=Role.municipal,
                                    municipality_id=municipality_id, status=UserStatus.active, language="nb",
                                    password_hash=cheap))
            db.session.commit()

        kommune = {"REMOTE_ADDR": "198.51.100.7"}
        attempts = logged_in = refused = 0
        timings = []
        for n in range(people):
            client = app.test_client()
            email = f"ansatt{n}@bergen.kommune.no"
            tries = (["feil passord!"] if n % typo_every == 0 else []) + ["en lang og god setning"]
            for password in tries:
                started = time.perf_counter()
                response = client.post("/konto/logg-inn", data={"email": email, "password": password},
                                       environ_base=kommune)
                timings.append((time.perf_counter() - started) * 1000)
                attempts += 1
                refused += response.status_code == 429
                logged_in += response.status_code == 302
        figures.update(kommune_people=people, kommune_attempts=attempts, kommune_logged_in=logged_in,
                       kommune_refused=refused, login_ms_median=round(statistics.median(timings), 1))
        extra = app.test_client().post("/konto/logg-inn", data={"email": "ansatt0@bergen.kommune.no",
                                                                "password": "en lang og god setning"},
                                       environ_base=kommune)
        figures.update(next_attempt_status=extra.status_code, next_attempt_retry_after=extra.headers.get("Retry-After"))
        other = app.test_client().post("/konto/logg-inn", data={"email": "ansatt1@bergen.kommune.no",
                                                                "password": "en lang og god setning"},
                                       environ_base={"REMOTE_ADDR": "203.0.113.9"})
        figures["other_address_status"] = other.status_code

        def until_refused(path, data_for, address):
            client = app.test_client()
            for n in range(1000):
                response = client.post(path, data=data_for(n), environ_base={"REMOTE_ADDR": address})
                if response.status_code == 429:
                    return n, int(response.headers["Retry-After"])
            return None, None

        form = {"name": "Kari", "municipality": "4601", "language": "nb", "password": "en lang og god setning",
                "confirm": "en lang og god setning"}
        figures["registrations_per_address"], _ = until_refused(
            "/konto/registrer", lambda n: form | {"email": f"ny{n}@bergen.kommune.no"}, "192.0.2.20")
        figures["registrations_per_email"], _ = until_refused(
            "/konto/registrer", lambda n: form | {"email": "samme@bergen.kommune.no"}, "192.0.2.21")
        figures["resets_per_email"], figures["reset_retry_after"] = until_refused(
            "/konto/glemt-passord", lambda n: {"email": "ansatt3@bergen.kommune.no"}, "192.0.2.22")
    return figures


def main():
    policy = login_policy({k: getattr(Config, k) for k in dir(Config) if k.isupper()})
    print(f"policy: {policy}")
    print(f"LOGIN_LIMIT={Config.LOGIN_LIMIT!r} ACCOUNT_MAIL_LIMIT_PER_EMAIL={Config.ACCOUNT_MAIL_LIMIT_PER_EMAIL!r} "
          f"ACCOUNT_MAIL_LIMIT_PER_CLIENT={Config.ACCOUNT_MAIL_LIMIT_PER_CLIENT!r}")
    guesses, pauses, first_pause = guesser(policy)
    per_window, window = address_capacity(Config.LOGIN_LIMIT)
    figures = {
        "free_failures": policy.free_failures,
        "waits_s": "/".join(str(policy.delay_after(n)) for n in range(policy.free_failures, policy.lock_after)),
        "seconds_to_pause": policy.seconds_to_lock(),
        "pause_minutes": policy.lock_seconds // 60,
        "guesses_per_account_per_day": guesses,
        "pauses_per_day": pauses,
        "first_pause_after_s": first_pause,
        "attempts_per_address_window": per_window,
        "address_window_s": window,
        "attempts_per_address_hour": per_window * 3600 // window,
    }
    people = max(1, per_window * 2 // 3)  # every other person mistypes once: 1.5 attempts each fill the window
    started = time.perf_counter()
    figures |= through_the_app(people, typo_every=2)
    figures["app_run_s"] = round(time.perf_counter() - started, 1)
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
