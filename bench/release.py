"""Releasing a round's decisions: how long the approver waits for "Send ut vedtak" with 100 approved decisions.

    .venv/bin/python bench/release.py [--decisions 100] [--repeat 5] [--sqlite]

On PostgreSQL (DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test; a scratch database is made and
dropped) or, with --sqlite, on a SQLite file. The app runs in this process with the development settings: the
letters are handed to Celery (kombu's SQLAlchemy transport on a local file, no worker) after the commit, as in
production. For each repetition a round with --decisions approved decisions is released through the real POST
(the approver logged in, CSRF off), timed from the request to its answer. Beside it, in the same run: the same
test client's GET of a minimal Flask app ("Hello"), the yardstick; and the time the worker needs afterwards to make
those letters (grants.decisions.letters.make_letters, in this process), which the release no longer waits for.
Ends with one line of name=value figures.
"""

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _support as s  # noqa: E402

PASSWORD = "benk-passord-som-er-langt-nok"  # noqa: S105
SECRET = "BENKTOFAKTORNOKKELBENKTOFAKTORNO"  # the bench staff's authenticator key (base32)
CHECKS = dict(eligible_applicant=True, in_time=True, complete=True, within_scheme=True, conditions_met=True)


def people():
    from grants.accounts import mfa, second_factor
    from grants.accounts.models import Role, User, UserStatus
    from grants.extensions import db

    made = {}
    for role in (Role.caseworker, Role.approver):
        user = User(email=f"{role}@bench.example", name=f"Benk {role}", role=role, status=UserStatus.active,
                    language="nb")
        user.set_password(PASSWORD)
        db.session.add(user)
        made[role] = user
    db.session.flush()
    for user in made.values():  # IMDi staff have a second factor: an authenticator app with a key of the bench's
        mfa.enrol(user, SECRET, second_factor.code_for_step(SECRET, second_factor.step_at(time.time()) - 1),
                  time.time())
    return made[Role.caseworker], made[Role.approver]


def round_with_approved_decisions(k, count, caseworker, approver):
    """A closed round with ``count`` applications in review, each with an approved grant."""
    from sqlalchemy import select

    from grants.accounts.models import Municipality
    from grants.applications.models import Application
    from grants.applications.operations import next_reference
    from grants.core.timeutil import now_utc, oslo_date
    from grants.decisions import operations as decision_ops
    from grants.decisions.models import Outcome
    from grants.extensions import db
    from grants.review import operations as review
    from grants.rounds import operations as rounds

    scheme = rounds.get_or_create_scheme("benk", title_nb="Benk", title_nn="Benk", title_en="Bench")
    deadline = oslo_date(now_utc()) - timedelta(days=30)
    round_ = rounds.create_round(
        scheme, None, slug=f"benk-{k}", year=deadline.year, area_number=5, budget=300_000 * count,
        title_nb=f"Benk {k}", title_nn=f"Benk {k}", title_en=f"Bench {k}", text_nb="T", text_nn="T", text_en="T",
        opens_at=now_utc() - timedelta(days=60), deadline_date=deadline, min_participants=10,
        own_contribution_required=True)
    kommuner = db.session.scalars(select(Municipality).order_by(Municipality.number).limit(count)).all()
    for municipality in kommuner:
        application = Application(round_id=round_.id, round=round_, municipality_id=municipality.id,
                                  state="submitted", reference=next_reference(round_), answers={},
                                  title=f"Tiltak i {municipality.name}",
                                  amount_applied=400_000, own_contribution=100_000, participants=20,
                                  received_at=now_utc() - timedelta(days=40), snapshot={"answers": {}})
        db.session.add(application)
        db.session.flush()
        review.formal_check(application, caseworker, checks=CHECKS, accept=True)
        decision = decision_ops.propose_decision(
            application, caseworker, outcome=Outcome.granted, amount=300_000, purpose="Tiltak mot diskriminering",
            conditions="Rapport innen fristen.")
        decision_ops.approve_decision(decision, approver)
    db.session.commit()
    return round_.id


def minimal_app():
    from flask import Flask

    app = Flask("minimal")

    @app.get("/")
    def hello():
        return "Hello"

    return app


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from grants.accounts.register import import_municipalities
    from grants.decisions import letters
    from grants.decisions.models import Decision
    from grants.extensions import db

    with tempfile.TemporaryDirectory() as instance:
        database = nullcontext(f"sqlite:///{instance}/bench.sqlite") if args.sqlite else s.scratch_database()
        with database as url:
            app = s.bench_app(url, instance, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
            with app.app_context():
                upgrade()
                import_municipalities()
                caseworker, approver = people()
                db.session.commit()
                rounds = [round_with_approved_decisions(k, args.decisions, caseworker, approver)
                          for k in range(args.repeat + 1)]
                approver_email = approver.email
                db.session.remove()

            client = app.test_client()
            from grants.accounts import second_factor

            assert client.post("/konto/logg-inn", data={"email": approver_email, "password": PASSWORD}
                               ).headers["Location"].endswith("/konto/kode")
            code = second_factor.code_for_step(SECRET, second_factor.step_at(time.time()))
            assert client.post("/konto/kode", data={"code": code}).status_code == 302
            hello = minimal_app().test_client()
            release_ms, hello_ms = [], []
            for k, round_id in enumerate(rounds):
                started = time.perf_counter()
                response = client.post(f"/saksbehandling/runder/{round_id}/send-ut")
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 302, response.status_code
                started = time.perf_counter()
                for _ in range(100):
                    hello.get("/")
                hello_each = (time.perf_counter() - started) * 1000 / 100
                if k:  # the first is a warm-up
                    release_ms.append(elapsed)
                    hello_ms.append(hello_each)

            with app.app_context():
                released = db.session.query(Decision).filter(Decision.state == "released").count()
                assert released == args.decisions * len(rounds), released
                waiting = letters.decisions_without_letters(limit=args.decisions)
                started = time.perf_counter()
                made = letters.make_letters(waiting)
                db.session.commit()
                letters_s = time.perf_counter() - started
                db.session.remove()

    backend = "sqlite" if args.sqlite else "postgresql"
    median = statistics.median(release_ms)
    print(f"release of {args.decisions} approved decisions ({backend}), {args.repeat} rounds after a warm-up:")
    print(f"  the POST answered in {', '.join(f'{t:.0f}' for t in release_ms)} ms; median {median:.0f} ms "
          f"(aim 300 ms)")
    print(f"  the minimal Flask app through the same test client: {statistics.median(hello_ms):.2f} ms a request")
    print(f"  the {made} letters of one round, made afterwards as the worker does: {letters_s:.1f} s "
          f"({letters_s / max(made, 1) * 1000:.0f} ms a letter), no longer in the request")
    print(f"release_ms={median:.0f} minimal_ms={statistics.median(hello_ms):.2f} letters_s={letters_s:.1f} "
          f"decisions={args.decisions} backend={backend} load={s.loadavg()}")


if __name__ == "__main__":
    main()
