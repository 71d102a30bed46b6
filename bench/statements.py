"""SQL statements per page, on the demo data: what each of the main pages of the case's life costs the database,
for the people who use them.

    .venv/bin/python bench/statements.py [--sqlite]

On PostgreSQL (DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test; a scratch database is made and
dropped) or, with --sqlite, on a SQLite file. The app runs in this process with the development settings and the
demo data (grants.demo.seed_demo: the 2024 and 2025 rounds with their decisions, and an open round). Each page is
fetched twice by a logged-in user through the test client and the second fetch is counted (the first warms the
caches that a running server has warm); every statement is counted, the session and login ones included. Beside
each, the same page's count on a second application or round of another size where the page has one. Ends with one
line of name=value figures. The counts are exact: no yardstick is needed, and the numbers do not depend on the
machine.
"""

import argparse
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _support as s  # noqa: E402


def _pick(app):
    """Ids of the demo objects the pages are about: a small and a large case of each kind."""
    from sqlalchemy import func, select

    from grants.applications.models import Application, ApplicationPartner
    from grants.applications.workflow import State
    from grants.decisions.models import Decision, DecisionState
    from grants.extensions import db
    from grants.outcomes.models import AllocationSummary
    from grants.rounds.models import Round

    with app.app_context():
        rounds = db.session.scalars(select(Round).order_by(Round.deadline_date)).all()
        sizes = dict(db.session.execute(select(Application.round_id, func.count())
                                        .group_by(Application.round_id)).all())
        decided = db.session.scalars(select(Application).where(Application.state == State.granted)
                                     .order_by(Application.id)).all()
        partners = dict(db.session.execute(select(ApplicationPartner.application_id, func.count())
                                           .group_by(ApplicationPartner.application_id)).all())
        by_partners = sorted(decided, key=lambda a: (partners.get(a.id, 0), a.id))
        released = {d.application_id for d in db.session.scalars(
            select(Decision).where(Decision.state == DecisionState.released))}
        oslo = [a for a in by_partners if a.municipality.number == "0301" and a.id in released]
        summary = db.session.scalar(select(AllocationSummary.round_id).order_by(AllocationSummary.id.desc()))
        big_round = max(rounds, key=lambda r: sizes.get(r.id, 0))
        small_round = min((r for r in rounds if sizes.get(r.id)), key=lambda r: sizes.get(r.id, 0))
        return {
            "rounds": (small_round.id, sizes[small_round.id], big_round.id, sizes[big_round.id]),
            "cases": (by_partners[0].id, by_partners[-1].id),
            "oslo": oslo[0].id if oslo else None,
            "summary": summary,
        }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from grants.demo import DEMO_PASSWORD, seed_demo
    from grants.extensions import db

    with tempfile.TemporaryDirectory() as instance:
        database = nullcontext(f"sqlite:///{instance}/bench.sqlite") if args.sqlite else s.scratch_database()
        with database as url:
            app = s.bench_app(url, instance, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False,
                              LETTERS_MADE_AT_COMMIT=True)
            with app.app_context():
                upgrade()
                seed_demo()
                db.session.commit()
                db.session.remove()
            ids = _pick(app)
            small_round, small_n, big_round, big_n = ids["rounds"]
            few, many = ids["cases"]
            pages = [
                ("kommune dashboard", "oslo@kommune.example", "/soknader/", None),
                ("kommune application", "oslo@kommune.example", f"/soknader/{ids['oslo']}", None),
                ("kommune decision", "oslo@kommune.example", f"/soknader/{ids['oslo']}/vedtak", None),
                ("kommune grant", "oslo@kommune.example", f"/soknader/{ids['oslo']}/tilsagn", None),
                ("imdi rounds", "saksbehandler1@imdi.example", "/saksbehandling/", None),
                ("inbox", "saksbehandler1@imdi.example", f"/saksbehandling/runder/{small_round}",
                 f"/saksbehandling/runder/{big_round}"),
                ("case page", "saksbehandler1@imdi.example", f"/saksbehandling/soknader/{few}",
                 f"/saksbehandling/soknader/{many}"),
                ("ranking", "saksbehandler1@imdi.example", f"/saksbehandling/runder/{small_round}/rangering",
                 f"/saksbehandling/runder/{big_round}/rangering"),
                ("approvals", "godkjenner@imdi.example", f"/saksbehandling/runder/{small_round}/godkjenning",
                 f"/saksbehandling/runder/{big_round}/godkjenning"),
                ("release", "godkjenner@imdi.example", f"/saksbehandling/runder/{small_round}/send-ut",
                 f"/saksbehandling/runder/{big_round}/send-ut"),
                ("round grants", "saksbehandler1@imdi.example", f"/saksbehandling/runder/{small_round}/tilsagn",
                 f"/saksbehandling/runder/{big_round}/tilsagn"),
                ("public summary", None, f"/tildelinger/{ids['summary']}", None),
            ]
            print(f"database: {'SQLite' if args.sqlite else 'PostgreSQL'}; rounds of {small_n} and {big_n} "
                  "applications; cases with the fewest and the most partners")
            print(f"{'page':22} {'statements':>10} {'other size':>10}  path")
            figures = []
            for name, email, path, other in pages:
                client = app.test_client()
                if email:
                    answer = client.post("/konto/logg-inn", data={"email": email, "password": DEMO_PASSWORD})
                    assert answer.status_code == 302, (email, answer.status_code)
                counts = []
                for url in (path, other):
                    if url is None:
                        counts.append(None)
                        continue
                    assert client.get(url).status_code == 200, url
                    with app.app_context(), s.count_statements(db.engine) as counter:
                        response = client.get(url)
                    assert response.status_code == 200, (url, response.status_code)
                    counts.append(counter.count)
                print(f"{name:22} {counts[0]:>10} {counts[1] if counts[1] is not None else '':>10}  {path}")
                figures.append(f"{name.replace(' ', '_')}={counts[0]}"
                               + (f"/{counts[1]}" if counts[1] is not None else ""))
            print(" ".join(figures))


if __name__ == "__main__":
    main()
