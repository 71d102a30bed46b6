"""The tallies of grants.outcomes.tallies on a large PostgreSQL database: one round of 100,000 applications and
1,000,000 over all rounds.

    .venv/bin/python bench/tallies.py [--per-round 100000] [--rounds 10] [--repeat 5]

DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test) names the server: the bench creates a database
``grants_bench_<random>`` there, runs the migrations, imports the municipality register, and writes the synthetic
data in bulk inside PostgreSQL (INSERT ... SELECT over generate_series; nothing goes through the ORM row by row):
``--rounds`` rounds of ``--per-round`` applications in mixed states (draft, submitted, in_review, granted, reported,
closed, rejected, dismissed, withdrawn), spread over every kommune of the register, with one or two activity rows
each, continuations of the round before, and reviewer assignments and reviews. Then VACUUM ANALYZE, as autovacuum
would leave a table that has settled.

Inside an app context it times tallies.for_round(<the first round>) and tallies.for_all_rounds() (one warm-up call,
then --repeat calls; the median is reported), counts the SQL statements of one call of each, checks every figure
against the numbers the generator used, and prints the plan of each statement with --explain. Then, in a second
scratch database, the round's figures page as a caseworker sees it, on a round of 1,000 applications, through the
Flask test client beside the minimal Flask app (bench/minimal_app.py). It ends with one line of name=value figures.
The databases are dropped at the end.
"""

import argparse
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _support as s  # noqa: E402
import sqlalchemy as sa  # noqa: E402

# The state of application n of a round is STATES[n % 20]: the mix of a round some time after its decisions.
STATES = (["draft"] * 2 + ["submitted"] * 2 + ["in_review"] * 2 + ["granted"] * 5 + ["reported", "closed"]
          + ["rejected"] * 4 + ["dismissed"] * 2 + ["withdrawn"])
GRANTED = {"granted", "reported", "closed"}
RECEIVED = GRANTED | {"rejected", "dismissed", "submitted", "in_review"}
OPEN = {"submitted", "in_review"}
REVIEWED = GRANTED | {"rejected", "in_review"}  # these have reviewer assignments
ACTIVITIES = ["mapping", "action_plan", "indicators", "religious_plan", "recruitment", "guide", "sector_measure",
              "other"]
CONTINUES_EVERY = 10  # application n with n % 10 == 3 continues application n of the round before


def applied(n):
    return 50_000 * (n % 10 + 1)


def granted_amount(n):
    return 45_000 * (n % 10 + 1)


# --- data ----------------------------------------------------------------------------------------------------------

INSERT_APPLICATIONS = sa.text("""
INSERT INTO applications (round_id, municipality_id, state, reference, channel, answers, version, title,
                          amount_applied, own_contribution, other_funding, total_cost, participants,
                          continues_application_id, received_at, withdrawn_at, withdraw_reason, amount_granted,
                          decided_at, created_at, updated_at)
SELECT :round_id, g.municipality_id, g.state,
       CASE WHEN g.state <> 'draft' THEN 'R' || CAST(:round_id AS text) || '-' || g.n END, 'portal', '{}', 1,
       'Søknad ' || g.n,
       50000 * (g.n % 10 + 1), 12500 * (g.n % 10 + 1), 0, 62500 * (g.n % 10 + 1), 10 + g.n % 40,
       CASE WHEN CAST(:previous AS integer) IS NOT NULL AND g.n % 10 = 3 THEN CAST(:previous AS integer) + g.n - 1 END,
       CASE WHEN g.state <> 'draft' THEN CAST(:opens AS timestamptz) + g.n * interval '1 second' END,
       CASE WHEN g.state = 'withdrawn' THEN CAST(:opens AS timestamptz) + interval '30 days' END,
       CASE WHEN g.state = 'withdrawn' THEN 'Trukket.' END,
       CASE WHEN g.state IN ('granted', 'reported', 'closed') THEN 45000 * (g.n % 10 + 1) END,
       CASE WHEN g.state IN ('granted', 'reported', 'closed', 'rejected', 'dismissed')
            THEN CAST(:opens AS timestamptz) + interval '60 days' END,
       CAST(:opens AS timestamptz), CAST(:opens AS timestamptz) + interval '60 days'
FROM (SELECT n, (CAST(:states AS text[]))[n % 20 + 1] AS state,
             (CAST(:municipalities AS integer[]))[n % CAST(:m AS integer) + 1] AS municipality_id
      FROM generate_series(1, CAST(:count AS integer)) AS n) AS g
ORDER BY g.n
""")

INSERT_ACTIVITIES = sa.text("""
INSERT INTO application_activities (application_id, round_id, activity)
SELECT id, round_id, (CAST(:kinds AS text[]))[id % 8 + 1] FROM applications WHERE round_id = :round_id
UNION ALL
SELECT id, round_id, (CAST(:kinds AS text[]))[(id + 3) % 8 + 1] FROM applications
WHERE round_id = :round_id AND id % 3 = 0
""")

INSERT_ASSIGNMENTS = sa.text("""
INSERT INTO assignments (application_id, round_id, reviewer_id, assigned_at, state)
SELECT a.id, a.round_id, r.reviewer, CAST(:at AS timestamptz), CASE WHEN r.k = 3 THEN 'removed' ELSE 'active' END
FROM applications a CROSS JOIN (VALUES (1, CAST(:r1 AS integer)), (2, CAST(:r2 AS integer)),
                                       (3, CAST(:r3 AS integer))) AS r(k, reviewer)
WHERE a.round_id = :round_id AND a.state IN ('in_review', 'granted', 'reported', 'closed', 'rejected')
  AND (r.k < 3 OR a.id % 10 = 0)
""")

INSERT_REVIEWS = sa.text("""
INSERT INTO reviews (application_id, round_id, reviewer_id, recommendation, weighted_score, saved_at,
                     submitted_at)
SELECT a.id, a.round_id, r.reviewer, CASE WHEN a.state = 'rejected' THEN 'reject' ELSE 'grant' END, 4.5,
       CAST(:at AS timestamptz), CASE WHEN a.state <> 'in_review' THEN CAST(:at AS timestamptz) END
FROM applications a CROSS JOIN (VALUES (1, CAST(:r1 AS integer)), (2, CAST(:r2 AS integer))) AS r(k, reviewer)
WHERE a.round_id = :round_id AND a.state IN ('in_review', 'granted', 'reported', 'closed', 'rejected')
  AND (a.state <> 'in_review' OR r.k = 1)
""")


def load_data(app, rounds, per_round):
    """Rounds, reviewers and every application row, written in bulk. Returns (round ids, ids of the first round's
    first application per round, {municipality id: (county number, county name)})."""
    from grants.accounts.models import County, Municipality, Role, User, UserStatus
    from grants.accounts.register import import_municipalities
    from grants.extensions import db
    from grants.rounds.models import Round, Scheme

    with app.app_context():
        import_municipalities()
        scheme_id = db.session.execute(sa.insert(Scheme).values(
            slug="bench", title_nb="Benk", title_nn="Benk", title_en="Bench").returning(Scheme.id)).scalar_one()
        reviewers = db.session.execute(sa.insert(User).returning(User.id, sort_by_parameter_order=True), [
            dict(email=f"reviewer{k}@bench.example", name=f"Reviewer {k}", password_hash="x", role=Role.reviewer,
                 status=UserStatus.active, language="nb") for k in (1, 2, 3)]).scalars().all()
        municipalities = db.session.execute(
            sa.select(Municipality.id, County.number, County.name).join(County).order_by(Municipality.id)).all()
        where = {mid: (number, name) for mid, number, name in municipalities}
        round_ids, bases = [], []
        for k in range(rounds):
            year = 2000 + k
            opens = datetime(year, 1, 10, 8, tzinfo=UTC)
            round_id = db.session.execute(sa.insert(Round).values(
                scheme_id=scheme_id, slug=f"bench-{year}", year=year, title_nb=f"Runde {year}",
                title_nn=f"Runde {year}", title_en=f"Round {year}", budget=100_000_000 + k, opens_at=opens,
                deadline_date=date(year, 2, 20), deadline_at=opens + timedelta(days=41), reference_prefix=f"B{year}",
            ).returning(Round.id)).scalar_one()
            started = time.perf_counter()
            db.session.execute(INSERT_APPLICATIONS, dict(
                round_id=round_id, previous=bases[-1] if bases else None, opens=opens, states=STATES,
                municipalities=[m[0] for m in municipalities], m=len(municipalities), count=per_round))
            base = db.session.scalar(sa.text("SELECT min(id) FROM applications WHERE round_id = :r"),
                                     {"r": round_id})
            db.session.execute(INSERT_ACTIVITIES, dict(round_id=round_id, kinds=ACTIVITIES))
            at = opens + timedelta(days=45)
            db.session.execute(INSERT_ASSIGNMENTS, dict(round_id=round_id, at=at, r1=reviewers[0],
                                                        r2=reviewers[1], r3=reviewers[2]))
            db.session.execute(INSERT_REVIEWS, dict(round_id=round_id, at=at, r1=reviewers[0], r2=reviewers[1]))
            db.session.commit()
            round_ids.append(round_id)
            bases.append(base)
            print(f"  round {k + 1}/{rounds}: {per_round} applications with their rows in "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
        municipality_ids = [m[0] for m in municipalities]
    return round_ids, bases, municipality_ids, where


def vacuum_analyze(database_url):
    engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()


# --- what the tallies must say ---------------------------------------------------------------------------------------

def expected_round(per_round, base, municipality_ids, where, *, continuing, budget):
    """Every figure of a round, from the generator's formulas (no SQL)."""
    states = Counter()
    e = dict(budget=budget, amount_applied=0, amount_granted=0, continuation=0)
    county = defaultdict(lambda: [0, 0, 0])
    activity = defaultdict(lambda: [0, 0])
    assigned = submitted = 0
    m = len(municipality_ids)
    for n in range(1, per_round + 1):
        state = STATES[n % 20]
        states[state] += 1
        app_id = base + n - 1
        kinds = [ACTIVITIES[app_id % 8]] + ([ACTIVITIES[(app_id + 3) % 8]] if app_id % 3 == 0 else [])
        received, granted = state in RECEIVED, state in GRANTED
        number, _name = where[municipality_ids[n % m]]
        if received:
            e["amount_applied"] += applied(n)
            county[number][0] += 1
            if continuing and n % CONTINUES_EVERY == 3:
                e["continuation"] += 1
        if granted:
            e["amount_granted"] += granted_amount(n)
            county[number][1] += 1
            county[number][2] += granted_amount(n)
        for kind in kinds:
            activity[kind][0] += received
            activity[kind][1] += granted
        if state in REVIEWED:
            assigned += 2  # the third assignment (every tenth id) is removed and not counted
            submitted += 2 if state != "in_review" else 0
    e.update(
        received=sum(states[x] for x in RECEIVED), granted=sum(states[x] for x in GRANTED),
        rejected=states["rejected"], dismissed=states["dismissed"], withdrawn=states["withdrawn"],
        open=sum(states[x] for x in OPEN), drafts=states["draft"],
        reviews_assigned=assigned, reviews_submitted=submitted,
    )
    e["new"] = e["received"] - e["continuation"]
    e["by_county"] = [(number, *county[number]) for number in sorted(county) if any(county[number])]
    e["by_activity"] = [(kind, *activity[kind]) for kind in sorted(activity)]
    return e


HEADLINE = ("budget", "received", "granted", "rejected", "dismissed", "withdrawn", "open", "drafts",
            "amount_applied", "amount_granted", "continuation", "new")


def compare(tally, expected, *, full):
    wrong = []
    for name in HEADLINE + (("reviews_assigned", "reviews_submitted") if full else ()):
        if getattr(tally, name) != expected[name]:
            wrong.append(f"{name}: {getattr(tally, name)} != {expected[name]}")
    if full:
        by_county = [(c["county"], c["received"], c["granted"], c["amount"]) for c in tally.by_county]
        expected_county = [c for c in expected["by_county"] if c[1] or c[2]]
        if by_county != expected_county:
            wrong.append(f"by_county differs ({len(by_county)} rows, {len(expected_county)} expected)")
        by_activity = [(a["activity"], a["received"], a["granted"]) for a in tally.by_activity]
        if by_activity != expected["by_activity"]:
            wrong.append(f"by_activity {by_activity} != {expected['by_activity']}")
    return wrong


# --- measuring -------------------------------------------------------------------------------------------------------

def measure(app, round_id, repeat):
    from grants.extensions import db
    from grants.outcomes import tallies

    def fresh(fn):
        def call():
            db.session.remove()  # each call as a new request would make it: nothing in the identity map
            return fn()
        return call

    with app.app_context():
        engine = db.engine
        one_round = fresh(lambda: tallies.for_round(round_id))
        every_round = fresh(tallies.for_all_rounds)
        one_round(), every_round()  # warm-up: connections, caches, compiled statements
        with s.count_statements(engine) as counter:
            one_round()
        round_statements = counter.count
        with s.count_statements(engine) as counter:
            every_round()
        all_statements = counter.count
        round_ms, round_times, tally = s.median_ms(one_round, repeat)
        all_ms, all_times, all_tallies = s.median_ms(every_round, repeat)
        db.session.remove()
    return dict(round_ms=round_ms, round_times=round_times, round_statements=round_statements, tally=tally,
                all_ms=all_ms, all_times=all_times, all_statements=all_statements, all_tallies=all_tallies)


SECRET = "BENKTOFAKTORNOKKELBENKTOFAKTORNO"  # the bench caseworker's authenticator key (base32)


def figures_page(instance, repeat, applications=1000):
    """The round's figures page (/saksbehandling/runder/<id>/tall) for a logged-in caseworker, on a round of
    ``applications``, through the Flask test client in this process, beside the minimal Flask app through the same
    client. Its own scratch database. Returns (page median ms, minimal median ms, SQL statements of one page)."""
    import re
    import statistics

    import minimal_app
    from flask_migrate import upgrade

    from grants.accounts import mfa, second_factor
    from grants.accounts.models import Role, User, UserStatus
    from grants.core.timeutil import now_utc
    from grants.extensions import db

    password = "bench-figures-page-1"  # noqa: S105 - a scratch database, dropped at the end
    with s.scratch_database() as database_url:
        app = s.bench_app(database_url, instance)
        with app.app_context():
            upgrade()
        (round_id,), *_rest = load_data(app, 1, applications)
        with app.app_context():
            user = User(email="caseworker@bench.example", name="Saksbehandler", role=Role.caseworker,
                        status=UserStatus.active, language="nb", email_confirmed_at=now_utc())
            user.set_password(password)
            db.session.add(user)
            db.session.flush()
            # IMDi staff have a second factor: the bench caseworker's app has the key SECRET.
            mfa.enrol(user, SECRET, second_factor.code_for_step(SECRET, second_factor.step_at(time.time()) - 1),
                      time.time())
            db.session.commit()
        vacuum_analyze(database_url)
        client = app.test_client()
        form = client.get("/konto/logg-inn").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
        response = client.post("/konto/logg-inn", data={"email": "caseworker@bench.example", "password": password,
                                                         "csrf_token": token})
        assert response.headers["Location"].endswith("/konto/kode"), response.status_code
        code = second_factor.code_for_step(SECRET, second_factor.step_at(time.time()))
        form = client.get("/konto/kode").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
        assert client.post("/konto/kode", data={"code": code, "csrf_token": token}).status_code == 302
        path = f"/saksbehandling/runder/{round_id}/tall"

        def timed(http, url):
            for _ in range(10):
                answer = http.get(url)
            assert answer.status_code == 200, (url, answer.status_code)
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                http.get(url)
                times.append((time.perf_counter() - started) * 1000)
            return statistics.median(times)

        with app.app_context():
            engine = db.engine
        with s.count_statements(engine) as counter:
            client.get(path)
        minimal = minimal_app.app.test_client()
        page_ms, minimal_ms = timed(client, path), timed(minimal, "/")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return page_ms, minimal_ms, counter.count


def explain(app, round_id):
    """EXPLAIN (ANALYZE, BUFFERS) of each statement the two tallies run."""
    from grants.extensions import db
    from grants.outcomes import tallies

    with app.app_context():
        counter = s.SQLCounter()
        params = []

        def keep(conn, cursor, statement, parameters, context, executemany):
            counter(conn, cursor, statement, parameters, context, executemany)
            params.append(parameters)

        sa.event.listen(db.engine, "before_cursor_execute", keep)
        try:
            db.session.remove()
            tallies.for_round(round_id)
            tallies.for_all_rounds()
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", keep)
        with db.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            for statement, parameters in zip(counter.statements, params, strict=True):
                cur = raw.cursor()
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                plan = "\n".join(row[0] for row in cur.fetchall())
                print(statement.split("\n")[0][:100], "...")
                print("    " + plan.replace("\n", "\n    "))
                print()
            raw.rollback()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-round", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--explain", action="store_true", help="print the plan of every statement")
    args = parser.parse_args()

    import tempfile

    from flask_migrate import upgrade

    total = args.per_round * args.rounds
    print(f"PostgreSQL: {args.rounds} rounds of {args.per_round} applications ({total} in all)", flush=True)
    instance = tempfile.mkdtemp(prefix="grants-bench-tallies-")
    with s.scratch_database() as database_url:
        app = s.bench_app(database_url, instance)
        with app.app_context():
            upgrade()
        started = time.perf_counter()
        round_ids, bases, municipality_ids, where = load_data(app, args.rounds, args.per_round)
        vacuum_analyze(database_url)
        print(f"loaded and vacuumed in {time.perf_counter() - started:.0f} s", flush=True)
        if args.explain:
            explain(app, round_ids[0])
        result = measure(app, round_ids[0], args.repeat)
        with app.app_context():
            from grants.extensions import db

            db.session.remove()
            db.engine.dispose()

    wrong = compare(result["tally"], expected_round(args.per_round, bases[0], municipality_ids, where,
                                                    continuing=False, budget=100_000_000), full=True)
    by_round = {t.round_id: t for t in result["all_tallies"]}
    for k, round_id in enumerate(round_ids):
        expected = expected_round(args.per_round, bases[k], municipality_ids, where, continuing=k > 0,
                                  budget=100_000_000 + k)
        wrong += [f"round {k + 1}: {w}" for w in compare(by_round[round_id], expected, full=False)]

    t = result["tally"]
    print(f"tallies.for_round (round of {args.per_round}): received {t.received}, granted {t.granted}, "
          f"rejected {t.rejected}, dismissed {t.dismissed}, withdrawn {t.withdrawn}, open {t.open}, "
          f"drafts {t.drafts}; {len(t.by_county)} counties, {len(t.by_activity)} activities")
    print(f"  {result['round_statements']} statements; median {result['round_ms']:.1f} ms of "
          f"{', '.join(f'{x:.0f}' for x in result['round_times'])} ms")
    print(f"tallies.for_all_rounds ({len(round_ids)} rounds, {total} applications):")
    print(f"  {result['all_statements']} statements; median {result['all_ms']:.1f} ms of "
          f"{', '.join(f'{x:.0f}' for x in result['all_times'])} ms")
    print("check against the generated numbers: " + ("every figure right" if not wrong else "WRONG"))
    for w in wrong:
        print("  " + w)
    page_ms, minimal_ms, page_statements = figures_page(instance, max(50, args.repeat * 10))
    print(f"the round's figures page at 1,000 applications, logged in as a caseworker (test client): median "
          f"{page_ms:.1f} ms, {page_statements} SQL statements; the minimal Flask app {minimal_ms:.2f} ms")
    print(f"  load average now: {' '.join(f'{x:.2f}' for x in s.loadavg())}")
    print(f"round_100k_ms={result['round_ms']:.1f} round_100k_statements={result['round_statements']} "
          f"all_1m_ms={result['all_ms']:.1f} all_1m_statements={result['all_statements']} "
          f"figures_page_1k_ms={page_ms:.1f} figures_page_statements={page_statements} "
          f"minimal_ms={minimal_ms:.2f}")
    return 0 if not wrong else 1


if __name__ == "__main__":
    sys.exit(main())
