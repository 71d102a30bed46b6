"""Requests per second of three real pages under gunicorn, beside a minimal Flask app under the same settings,
and the SQL statements each page runs at two data sizes.

    .venv/bin/python bench/pages.py [--seconds 10] [--threads 2] [--connections 32]

DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test) names the PostgreSQL server: the bench creates a
database ``grants_bench_<random>`` there, runs the migrations, loads the demo data (grants.demo.seed_demo, which
publishes the 2025 summary) and adds two kommune users, one with 200 applications and one with 10, then drops the
database at the end. Redis (the host of REDIS_URL, default 127.0.0.1:6379) is used in database number --redis-db
(default 13, not the tests' 15) for the summary cache and the login throttle; the bench holds a lock key there while
it runs and deletes the keys it made at the end.

Both apps run under ``gunicorn -w 2 -k gthread --threads 4`` on 127.0.0.1; the load generator is wrk when it is
installed (``apt-get install wrk``), else threads with keep-alive http.client connections. The real app runs with
GRANTS_CONFIG=production (SESSION_COOKIE_SECURE=false so the session cookie works over plain http).

Pages measured (the same duration, threads and connections for each):
  dashboard    /soknader/              a kommune user whose kommune has 200 applications (190 led, 10 as partner)
  application  /soknader/<id>          a draft in the open round as the demo data fills it in, with 2 partners
  summary      /tildelinger/<2025 id>  the public allocation summary, anonymous (the whole page is cached)
  floor        /tilgjengelighet        logged in as the same user: the layout and a static text, the least any
                                       logged-in page costs
  minimal      /                       bench/minimal_app.py, measured before the first page and after each page;
                                       each page's ratio is to the mean of the minimal runs just before and after it

It prints a table and ends with one line of name=value figures.
"""

import argparse
import itertools
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _support as s  # noqa: E402

PASSWORD = "bench-pages-" + secrets.token_urlsafe(12)
USER_AGENT = "grants-bench/1.0"  # the login and the load carry the same one ("strong" session protection)
BIG, SMALL = ("1806", 200), ("1813", 10)  # Narvik and Brønnøy: kommuner with no demo applications
PARTNER_LEADS = ("4601", "5001", "0301")  # demo kommuner whose applications name the big kommune as a partner
AIMS = {"dashboard": 0.10, "application": 0.08, "summary": 0.5, "floor": 0.15}  # the issue's, as ratios to minimal
MAIN = ("dashboard", "application", "summary")


# --- data --------------------------------------------------------------------------------------------------------

def _rounds():
    from sqlalchemy import select

    from grants.extensions import db
    from grants.rounds.models import Round

    rounds = {r.slug: r for r in db.session.scalars(select(Round))}
    return rounds["2024"], rounds["2025"], next(r for slug, r in rounds.items() if slug.endswith("-open"))


def _template_application(round_2025):
    """Oslo's 2025 application as the demo data filled it in, section by section."""
    from sqlalchemy import select

    from grants.accounts.models import Municipality
    from grants.applications.models import Application
    from grants.extensions import db

    return db.session.scalar(select(Application).join(Municipality, Municipality.id == Application.municipality_id)
                             .where(Application.round_id == round_2025.id, Municipality.number == "0301"))


def _municipality(number):
    from sqlalchemy import select

    from grants.accounts.models import Municipality
    from grants.extensions import db

    return db.session.scalar(select(Municipality).where(Municipality.number == number))


def add_user(number):
    from grants.accounts.models import Role, User, UserStatus
    from grants.core.timeutil import now_utc
    from grants.extensions import db

    municipality = _municipality(number)
    user = User(email=f"bench-{number}@kommune.example", name=f"Benk {municipality.name}", role=Role.municipal,
                status=UserStatus.active, municipality_id=municipality.id, language="nb", is_municipality_admin=True,
                email_confirmed_at=now_utc(), approved_at=now_utc())
    user.set_password(PASSWORD)
    db.session.add(user)
    db.session.flush()
    return user


# The mix of states over the rounds: (state, round) for i % 10.
_serial = itertools.count()  # reference numbers, unique over every call

PLAN = (("draft", "open"), ("draft", "open"), ("draft", "open"), ("submitted", "open"), ("in_review", "open"),
        ("granted", "2025"), ("rejected", "2025"), ("dismissed", "2024"), ("withdrawn", "2025"), ("granted", "2024"))


def _budget_answers(amount, own, lines):
    total = amount + own
    each = total // lines
    answers = {"amount_applied": str(amount), "own_contribution": str(own), "other_funding": "0",
               "no_running_costs": "y"}
    for n in range(lines):
        answers[f"cost_lines-{n}-category"] = "salary" if n == 0 else "external"
        answers[f"cost_lines-{n}-description"] = f"Kostnad {n + 1}"
        answers[f"cost_lines-{n}-amount"] = str(each if n < lines - 1 else total - each * (lines - 1))
    lines_ = [(n, answers[f"cost_lines-{n}-category"], answers[f"cost_lines-{n}-description"],
               int(answers[f"cost_lines-{n}-amount"])) for n in range(lines)]
    return {k: [v] for k, v in answers.items()}, lines_  # answers keep every field as a list, as a POST has it


def add_applications(user, count, *, partner_count=0, lines=2, activities=2, partners=(), attachments=0,
                     first_state=None):
    """``count`` applications of ``user``'s kommune (the last ``partner_count`` led by others with it as a partner),
    written in bulk with every child row. Returns the ids in insertion order."""
    import copy

    from sqlalchemy import insert

    from grants.applications.models import (
        ActivityType,
        Application,
        ApplicationActivity,
        ApplicationPartner,
        Attachment,
        CostLine,
    )
    from grants.core.timeutil import now_utc
    from grants.extensions import db

    round_2024, round_2025, round_open = _rounds()
    by_name = {"2024": round_2024, "2025": round_2025, "open": round_open}
    template = _template_application(round_2025)
    partner_munis = [_municipality(n) for n in partners]
    leads = [_municipality(n) for n in PARTNER_LEADS]
    now = now_utc()
    rows, children = [], []
    for i in range(count):
        state, round_key = PLAN[i % len(PLAN)]
        if i == 0 and first_state:
            state, round_key = first_state
        round_ = by_name[round_key]
        lead = user.municipality if i < count - partner_count else leads[i % len(leads)]
        amount = 400_000 + (i % 7) * 50_000
        own = amount // 4
        answers = copy.deepcopy(template.answers)
        budget, cost_lines = _budget_answers(amount, own, lines)
        answers["budget"] = budget
        title = f"{lead.name}: tiltak {i + 1} mot rasisme og diskriminering"
        answers["project"]["title"] = [title]
        if partner_munis:
            answers["applicant"]["partners"] = [", ".join(m.name for m in partner_munis)]
        answers["history"] = {"earlier_projects": [""], "continues": [""]}
        received = state != "draft"
        rows.append(dict(
            round_id=round_.id, municipality_id=lead.id, created_by_id=user.id if lead is user.municipality else None,
            state=state, reference=f"B{user.id}-{next(_serial):05d}" if received else None, channel="portal",
            answers=answers, version=1, title=title, amount_applied=amount, own_contribution=own,
            other_funding=0, total_cost=amount + own, participants=20 + i % 30,
            received_at=round_.opens_at + timedelta(days=1 + i % 10) if received else None,
            submitted_by_id=user.id if received and lead is user.municipality else None,
            snapshot={"answers": answers} if received else None,
            withdrawn_at=round_.deadline_at if state == "withdrawn" else None,
            withdraw_reason="Trukket (benk)." if state == "withdrawn" else None,
            amount_granted=amount if state == "granted" else None,
            decided_at=(round_.deadline_at + timedelta(days=30)
                        if state in ("granted", "rejected", "dismissed") else None),
            created_at=now - timedelta(days=1, minutes=i), updated_at=now - timedelta(minutes=i),
        ))
        children.append((cost_lines, lead))
    ids = db.session.scalars(insert(Application).returning(Application.id, sort_by_parameter_order=True),
                             rows).all()
    kinds = list(ActivityType)
    line_rows, activity_rows, partner_rows, attachment_rows = [], [], [], []
    for app_id, (cost_lines, lead) in zip(ids, children, strict=True):
        line_rows += [dict(application_id=app_id, position=p, category=c, description=d, amount=a)
                      for p, c, d, a in cost_lines]
        activity_rows += [dict(application_id=app_id, activity=kinds[(app_id + k) % len(kinds)])
                          for k in range(activities)]
        members = [m for m in partner_munis if m.id != lead.id]
        if lead is not user.municipality:
            members.append(user.municipality)
        partner_rows += [dict(application_id=app_id, municipality_id=m.id) for m in members]
        attachment_rows += [dict(application_id=app_id, purpose="general", original_name=f"vedlegg-{k + 1}.pdf",
                                 stored_name=f"bench-{app_id}-{k}-{secrets.token_hex(8)}",
                                 content_type="application/pdf", size=12_345, sha256="0" * 64,
                                 uploaded_by_id=user.id, uploaded_at=now)
                            for k in range(attachments)]
    for model, batch in ((CostLine, line_rows), (ApplicationActivity, activity_rows),
                         (ApplicationPartner, partner_rows), (Attachment, attachment_rows)):
        if batch:
            db.session.execute(insert(model), batch)
    return ids


def prepare(app):
    """The demo data plus the bench's users and applications. Returns what the measurements need."""
    from flask_migrate import upgrade

    from grants.demo import seed_demo
    from grants.extensions import db

    with app.app_context():
        upgrade()
        started = time.perf_counter()
        report = seed_demo()
        db.session.commit()
        print(f"seed_demo: {report} ({time.perf_counter() - started:.0f} s)", flush=True)
        round_2024, round_2025, _open = _rounds()
        big = add_user(BIG[0])
        small = add_user(SMALL[0])
        # The application page's draft (first of the big kommune's), filled in as the demo data fills one in.
        big_ids = add_applications(big, BIG[1] - 10, lines=2, activities=2, partners=("4601", "5001"),
                                   attachments=2, first_state=("draft", "open"))
        big_ids += add_applications(big, 10, partner_count=10)
        small_ids = add_applications(small, SMALL[1])
        # Two data sizes for the application page: one cost line and nothing else; 30 lines, every activity,
        # five partners and ten attachments.
        tiny = add_applications(small, 1, lines=1, activities=1, first_state=("draft", "open"))[0]
        large = add_applications(small, 1, lines=30, activities=8, attachments=10,
                                 partners=("4601", "5001", "0301", "1103", "4204"),
                                 first_state=("draft", "open"))[0]
        db.session.commit()
        return {
            "big": big.email, "small": small.email, "application": big_ids[0], "tiny": tiny, "large": large,
            "summary": round_2025.id, "summary_2024": round_2024.id,
            "big_count": len(big_ids), "big_reference": f"B{big.id}-", "small_count": len(small_ids) + 2,
        }


# --- SQL statements per request ------------------------------------------------------------------------------------

def count_queries(database_url, instance, data):
    """SQL statements of one request per page, in process with the Flask test client, at two data sizes."""
    from grants.extensions import db
    from grants.outcomes import cache

    app = s.bench_app(database_url, instance, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    with app.app_context():
        engine = db.engine

    def measure(client, path, expect=200):
        client.get(path)  # first request: templates compiled, caches filled
        with s.count_statements(engine) as counter:
            response = client.get(path)
        assert response.status_code == expect, (path, response.status_code)
        return counter.count

    def logged_in(email):
        client = app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
        response = client.post("/konto/logg-inn", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
        return client

    small, big = logged_in(data["small"]), logged_in(data["big"])
    anonymous = app.test_client()
    rows = [
        ("dashboard", f"{data['small_count']} applications", measure(small, "/soknader/"),
         f"{data['big_count']} applications", measure(big, "/soknader/")),
        ("application", "1 cost line, 1 activity", measure(small, f"/soknader/{data['tiny']}"),
         "30 lines, 8 activities, 5 partners, 10 files", measure(small, f"/soknader/{data['large']}")),
        ("summary (cached)", "2024: 12 applications", measure(anonymous, f"/tildelinger/{data['summary_2024']}"),
         "2025: 19 applications", measure(anonymous, f"/tildelinger/{data['summary']}")),
    ]

    def cold(round_id):
        with app.app_context():
            cache.invalidate_round(round_id)
        with s.count_statements(engine) as counter:
            response = anonymous.get(f"/tildelinger/{round_id}")
        assert response.status_code == 200
        return counter.count

    rows.append(("summary (cache miss)", "2024: 12 applications", cold(data["summary_2024"]),
                 "2025: 19 applications", cold(data["summary"])))
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return rows


# --- HTTP ----------------------------------------------------------------------------------------------------------

def login_cookie(base_url, email):
    """Log in as a browser would (the form's CSRF token, then the POST) and return the Cookie header."""
    import requests

    with requests.Session() as http:
        http.headers["User-Agent"] = USER_AGENT
        form = http.get(f"{base_url}/konto/logg-inn", timeout=10)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text).group(1)
        response = http.post(f"{base_url}/konto/logg-inn", data={"email": email, "password": PASSWORD,
                                                                 "csrf_token": token},
                             allow_redirects=False, timeout=30)
        assert response.status_code == 302, f"login failed: {response.status_code} {response.text[:300]}"
        return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


def check_page(url, headers, marker):
    """The page answers 200 with its content (wrk counts a redirect to the login page as a success)."""
    import requests

    response = requests.get(url, headers=dict(h.split(": ", 1) for h in headers), allow_redirects=False, timeout=30)
    if response.status_code != 200 or marker not in response.text:
        raise SystemExit(f"{url} answered {response.status_code} without {marker!r}: {response.text[:300]}")


def redis_base(db_number):
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db_number}", parts.query, parts.fragment))


def profile(server, url, headers, seconds, out_dir):
    """py-spy records every gunicorn worker while the load runs (when py-spy is installed, or PY_SPY names it),
    then prints the functions that took the most samples, inclusive and on their own."""
    import subprocess
    from collections import Counter

    spy = shutil.which("py-spy") or os.environ.get("PY_SPY")
    if not spy:
        print("py-spy not found (pip install py-spy, or set PY_SPY): no profile")
        return
    outputs = [Path(out_dir) / f"profile-{pid}.txt" for pid in server.worker_pids()]
    procs = [subprocess.Popen([spy, "record", "-p", out.stem.split("-")[1], "-d", str(seconds), "-f", "raw",
                               "-o", str(out), "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for out in outputs]
    s.load(url, seconds, 2, 32, headers)
    for p in procs:
        p.wait(timeout=seconds + 60)
    inclusive, own, total = Counter(), Counter(), 0
    for out in outputs:
        if not out.exists():
            print(f"py-spy wrote nothing to {out} (is ptrace allowed?)")
            continue
        for line in out.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = [f.split(" (")[0] + " " + f.split("(")[-1].split(":")[0].replace(str(ROOT) + "/", "")
                      for f in stack.split(";") if f]
            n = int(count)
            total += n
            for frame in set(frames):
                inclusive[frame] += n
            if frames:
                own[frames[-1]] += n
    if not total:
        return
    print(f"py-spy: {total} samples of the workers under {url}; raw stacks in {out_dir}")
    for title, counter in (("inclusive", inclusive), ("own", own)):
        print(f"  top functions ({title}):")
        for frame, n in counter.most_common(25):
            print(f"    {n / total:6.1%}  {frame[:130]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2, help="seconds of load before each measured run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--pages", nargs="+", default=[*MAIN, "floor"], choices=(*MAIN, "floor"),
                        help="which pages to measure (floor: a logged-in page with nothing on it but the layout)")
    parser.add_argument("--profile", choices=(*MAIN, "floor"),
                        help="record the gunicorn workers with py-spy under this page's load")
    args = parser.parse_args()

    import redis

    redis_url = redis_base(args.redis_db)
    rclient = redis.Redis.from_url(redis_url)
    lock = "grants-bench-pages:lock"
    keys_before = set(rclient.scan_iter())
    if not rclient.set(lock, os.getpid(), nx=True, ex=900):
        raise SystemExit(f"another bench/pages.py holds {lock} in {redis_url}; wait for it to finish")
    instance = Path(tempfile.mkdtemp(prefix="grants-bench-pages-"))
    results, minimal_runs = {}, []
    try:
        with s.scratch_database() as database_url:
            app = s.bench_app(database_url, instance)
            data = prepare(app)
            with app.app_context():
                from grants.extensions import db

                db.session.remove()
                db.engine.dispose()
            query_rows = count_queries(database_url, instance, data)
            print_queries(query_rows)

            env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, CELERY_BROKER_URL=redis_url,
                       SECRET_KEY=secrets.token_urlsafe(48), GRANTS_CONFIG="production",
                       SESSION_COOKIE_SECURE="false", SESSION_COOKIE_NAME="grants_session",
                       GRANTS_INSTANCE_DIR=str(instance), RATELIMIT_STORAGE_URI=redis_url,
                       PUBLIC_BASE_URL="http://127.0.0.1")
            env.pop("FLASK_DEBUG", None)
            with s.Gunicorn("wsgi:app", env, instance / "grants.log", ready_path="/helse") as real, \
                    s.Gunicorn("minimal_app:app", dict(os.environ), instance / "minimal.log",
                               cwd=ROOT / "bench") as minimal:
                cookie = [f"Cookie: {login_cookie(real.base_url, data['big'])}", f"User-Agent: {USER_AGENT}"]
                anonymous = [f"User-Agent: {USER_AGENT}"]
                pages = {
                    "dashboard": (f"{real.base_url}/soknader/", cookie, data["big_reference"]),
                    "application": (f"{real.base_url}/soknader/{data['application']}", cookie, "Narvik"),
                    "summary": (f"{real.base_url}/tildelinger/{data['summary']}", anonymous,
                                "2025 (satsingsområde 5)"),
                    "floor": (f"{real.base_url}/tilgjengelighet", cookie, "Benk Narvik"),
                    "minimal": (f"{minimal.base_url}/", anonymous, "Hei!"),
                }
                for url, headers, marker in pages.values():
                    check_page(url, headers, marker)
                if args.profile:
                    url, headers, _marker = pages[args.profile]
                    profile(real, url, headers, args.seconds, tempfile.mkdtemp(prefix="grants-bench-profile-"))

                def measure(name):
                    url, headers, marker = pages[name]
                    if args.warmup:
                        s.load(url, args.warmup, args.threads, args.connections, headers)
                        time.sleep(1)  # the requests still in the server when the warm-up stopped
                    before = s.loadavg()[0]
                    result = s.load(url, args.seconds, args.threads, args.connections, headers)
                    result["load_before"] = before
                    check_page(url, headers, marker)  # still logged in, still the page
                    print(f"  {name:12s} {result['rps']:9.1f} req/s  ({result['requests']} requests, "
                          f"{result['errors']} errors, load average before {before:.2f})", flush=True)
                    return result

                print(f"load: {load_generator()} for {args.seconds} s, {args.threads} threads, "
                      f"{args.connections} connections; the minimal app before and after each page", flush=True)
                minimal_runs.append(measure("minimal"))
                for name in args.pages:
                    results[name] = measure(name)
                    minimal_runs.append(measure("minimal"))
                    # Against the minimal runs just before and after: the machine's load drifts between pages.
                    results[name]["minimal"] = (minimal_runs[-2]["rps"] + minimal_runs[-1]["rps"]) / 2
    finally:
        made = [k for k in rclient.scan_iter() if k not in keys_before]  # the cache, the throttle, the lock
        if made:
            rclient.delete(*made)
        shutil.rmtree(instance, ignore_errors=True)
        rclient.close()

    minimal_rps = sum(r["rps"] for r in minimal_runs) / len(minimal_runs)
    print()
    print(f"Requests per second: gunicorn -w 2 -k gthread --threads 4; {load_generator()}, {args.seconds} s, "
          f"{args.threads} threads, {args.connections} connections; {os.cpu_count()} CPUs")
    print(f"  {'page':12s} {'req/s':>9s} {'minimal':>9s} {'ratio':>7s} {'aim':>6s} {'p50':>9s} {'p99':>9s} "
          f"{'errors':>7s}")
    ratios = {}
    for name in args.pages:
        r = results[name]
        ratios[name] = r["rps"] / r["minimal"]
        aim = AIMS.get(name)
        flag = "" if aim is None else "ok" if ratios[name] >= aim else "MISSED"
        print(f"  {name:12s} {r['rps']:9.1f} {r['minimal']:9.1f} {ratios[name]:7.3f} "
              f"{aim if aim is not None else '-':>6} {r['latency'].get('50', '-'):>9s} "
              f"{r['latency'].get('99', '-'):>9s} {r['errors']:7d} {flag}")
    runs = [r["rps"] for r in minimal_runs]
    print(f"  minimal runs: {', '.join(f'{x:.0f}' for x in runs)} req/s (mean {minimal_rps:.0f})")
    spread = (max(runs) - min(runs)) / minimal_rps
    if spread > 0.15:
        print(f"note: the minimal runs spread over {spread:.0%} of their mean: the machine is busy and the "
              "figures are noisy")
    print(f"  load average now: {' '.join(f'{x:.2f}' for x in s.loadavg())}")
    print(" ".join([f"{name}_rps={results[name]['rps']:.1f}" for name in (*MAIN, "floor") if name in results]
                   + [f"minimal_rps={minimal_rps:.1f}"]
                   + [f"{name}_ratio={ratios[name]:.3f}" for name in (*MAIN, "floor") if name in results]))
    errors = sum(r["errors"] for r in [*results.values(), *minimal_runs])
    return 0 if errors == 0 else 1


def print_queries(rows):
    print("SQL statements per request (in process, Flask test client, a second request of each):")
    print(f"  {'page':22s} {'smaller':38s} {'n':>3s}   {'larger':46s} {'n':>3s}")
    for page, small_label, small_n, big_label, big_n in rows:
        print(f"  {page:22s} {small_label:38s} {small_n:3d}   {big_label:46s} {big_n:3d}")
    print(flush=True)


def load_generator():
    return s.load_generator_name()


if __name__ == "__main__":
    sys.exit(main())
