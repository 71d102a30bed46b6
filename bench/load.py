"""Load: the deadline rush and a mixed crowd through gunicorn, on PostgreSQL, Redis and a Celery worker.

    .venv/bin/python bench/load.py [--duration 300 | --quick] [--users 200] [--kommuner 357] [--window 60]

DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test) names the server: the bench creates a database
of its own there (migrations, the municipality register, the demo data for a published summary, one active user
per kommune) and drops it at the end. REDIS_URL (default redis://127.0.0.1:6379/15) is the broker and the
login limiter's store, used under a key prefix of this run's own. The app runs under
``gunicorn -w 2 -k gthread --threads 8`` with production settings on plain HTTP; a Celery worker (two prefork
processes) and beat deliver the outbox to an SMTP sink in this process (aiosmtpd).

Scenario A, the deadline rush: every kommune starts within ``--window`` seconds (evenly spread), logs in, starts
an application, fills the eight sections (each page fetched for its CSRF token, then posted; redirects followed
as a browser does), opens the check page, submits and reads its receipt. Afterwards: as many submitted
applications as kommuner, each reference once, and every receipt notice sent (state "sent" and received by the
SMTP sink, no Message-ID twice) within ``--receipt-wait`` seconds.

Scenario B: ``--users`` concurrent users (logged in, each with a draft of its own) for ``--duration`` seconds,
no think time, mixing public pages, the published summary, the dashboard, section saves, attachment uploads
(and removals, to stay under the limit of ten) and the check page. Then a minimal Flask app ("Hello") under the
same gunicorn settings and the same generator (``--minimal-duration``, default min(duration, 60) s).

The generator is asyncio in this process: one keep-alive connection per user. It shares the two cores with
gunicorn, PostgreSQL and the worker, so the figures are lower bounds and best read as the ratio to the minimal
app. It ends with one line of name=value figures; the exit status is 1 if a check failed.
"""

import argparse
import asyncio
import os
import random
import re
import shutil
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults import (  # noqa: E402
    Browser,
    Gunicorn,
    Journey,
    NoAnswer,
    Stats,
    StepFailed,
    app_env,
    build_database,
    celery_beat,
    hidden,
    warm_up,
)


def minimal_app():
    """The yardstick: ``gunicorn 'load:minimal_app()'`` (run from bench/)."""
    from flask import Flask

    app = Flask("minimal")

    @app.route("/")
    def hello():
        return "Hello, World!"

    return app


# --- scenario A -------------------------------------------------------------------------------------------------

async def rush(port, info, stats, window, sections):
    kommuner = info["kommuner"]
    started = time.monotonic()
    spacing = window / max(len(kommuner), 1)

    async def one(index, kommune):
        await asyncio.sleep(index * spacing)
        browser = Browser(port, stats)
        try:
            await Journey(browser, kommune, info["round_id"], info["year"]).apply(sections)
        except (StepFailed, NoAnswer) as exc:
            kommune.failures.append(("gave up", str(exc)))
        finally:
            await browser.close()

    await asyncio.gather(*(one(i, k) for i, k in enumerate(kommuner)))
    return started, time.monotonic()


# --- scenario B -------------------------------------------------------------------------------------------------

ACTIONS = (("public", 20), ("summary", 15), ("dashboard", 15), ("section", 25), ("upload", 10), ("check", 15))
_DELETE = re.compile(r'action="(/soknader/\d+/vedlegg/\d+/slett)"')


async def mixed_user(index, kommune, info, port, stats, setup_stats, start_at, end_at, sections, pdf):
    rng = random.Random(index)
    names, weights = zip(*ACTIONS, strict=True)
    browser = Browser(port, setup_stats)
    journey = Journey(browser, kommune, info["round_id"], info["year"])
    try:
        await journey.log_in()
        await journey.start()
    except (StepFailed, NoAnswer) as exc:
        kommune.failures.append(("setup", str(exc)))
        await browser.close()
        return
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    browser.stats = stats
    base = f"/soknader/{kommune.application_id}"
    publics = ["/", f"/utlysninger/{info['round_id']}", "/tilgjengelighet"]
    try:
        while time.monotonic() < end_at:
            action = rng.choices(names, weights)[0]
            try:
                if action == "public":
                    await browser.get(rng.choice(publics))
                elif action == "summary":
                    await browser.get(f"/tildelinger/{info['summary_round_id']}")
                elif action == "dashboard":
                    await browser.get("/soknader/")
                elif action == "section":
                    section = rng.choice(list(sections))
                    page = await browser.get(f"{base}/del/{section}")
                    await browser.post(f"{base}/del/{section}", dict(
                        sections[section], csrf_token=hidden(page.text, "csrf_token"),
                        version=hidden(page.text, "version")))
                elif action == "upload":
                    page = await browser.get(f"{base}/vedlegg")
                    page = await browser.post(f"{base}/vedlegg", {"csrf_token": hidden(page.text, "csrf_token"),
                                                                  "purpose": "general"},
                                              files={"file": (f"vedlegg-{index}.pdf", pdf, "application/pdf")})
                    removable = _DELETE.findall(page.text)
                    if len(removable) >= 4:
                        await browser.post(removable[0], {"csrf_token": hidden(page.text, "csrf_token")})
                elif action == "check":
                    await browser.get(f"{base}/kontroll")
            except NoAnswer:
                await asyncio.sleep(0.05)  # counted in the stats; don't spin on a dead server
    finally:
        await browser.close()


async def mixed(port, info, stats, users, duration, sections, pdf):
    setup_stats = Stats()
    kommuner = info["kommuner"][:users]
    # Log in and start the drafts first (not timed), a few at a time; then everyone starts at once.
    start_at = time.monotonic() + max(20.0, users * 0.15)
    end_at = start_at + duration
    tasks = [mixed_user(i, k, info, port, stats, setup_stats, start_at, end_at, sections, pdf)
             for i, k in enumerate(kommuner)]
    await asyncio.gather(*tasks)
    ready = sum(1 for k in kommuner if k.application_id and not any(f[0] == "setup" for f in k.failures))
    return start_at, end_at, ready


async def hammer(port, stats, users, duration):
    end_at = time.monotonic() + duration

    async def one():
        browser = Browser(port, stats)
        try:
            while time.monotonic() < end_at:
                try:
                    await browser.get("/")
                except NoAnswer:
                    await asyncio.sleep(0.05)
        finally:
            await browser.close()

    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(users)))
    return started, time.monotonic()


# --- checks -----------------------------------------------------------------------------------------------------

def check_submissions(database_url, info):
    """(submitted, unique references, references as seen on receipts that the database does not confirm)."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT id, reference FROM applications WHERE round_id = :r AND state = 'submitted'"),
                {"r": info["round_id"]}).all()
    finally:
        engine.dispose()
    stored = {row.id: row.reference for row in rows}
    seen = {k.application_id: k.reference for k in info["kommuner"] if k.reference}
    unconfirmed = [ref for app_id, ref in seen.items() if stored.get(app_id) != ref]
    return len(rows), len(set(stored.values())), unconfirmed


def receipt_states(database_url):
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, state FROM notices WHERE kind = 'receipt'")).all()
    finally:
        engine.dispose()
    return {row.id: str(row.state) for row in rows}


def notice_id(message_id):
    try:
        return int(message_id.strip("<>").split("-")[1])
    except (AttributeError, IndexError, ValueError):
        return None


def wait_for_receipts(database_url, smtp, timeout):
    """Wait until every receipt notice is sent and at the sink. Returns (sent, at sink, total, duplicates, s)."""
    started = time.monotonic()
    while True:
        states = receipt_states(database_url)
        ids = set(states)
        received = smtp.recorder.message_ids
        with smtp.recorder.lock:
            at_sink = {notice_id(mid) for mid in received} & ids
            duplicates = sum(n - 1 for mid, n in received.items() if n > 1 and notice_id(mid) in ids)
        sent = sum(1 for s in states.values() if s.endswith("sent"))
        if (ids and sent == len(ids) and len(at_sink) == len(ids)) or time.monotonic() - started > timeout:
            return sent, len(at_sink), len(ids), duplicates, time.monotonic() - started
        time.sleep(0.5)


# --- reporting --------------------------------------------------------------------------------------------------

def table(title, samples, seconds):
    print(f"\n{title}")
    print(f"  {'request':<44} {'n':>6} {'err':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for label, group in sorted(Stats.by_label(samples).items(), key=lambda kv: -len(kv[1])):
        s = Stats.summary(group, seconds)
        print(f"  {label:<44} {s['count']:>6} {s['errors']:>5} {s['p50_ms']:>8.1f} {s['p95_ms']:>8.1f} "
              f"{s['p99_ms']:>8.1f}")
    total = Stats.summary(samples, seconds)
    print(f"  {'all':<44} {total['count']:>6} {total['errors']:>5} {total['p50_ms']:>8.1f} {total['p95_ms']:>8.1f} "
          f"{total['p99_ms']:>8.1f}   {total['rps']:.1f} req/s")
    kinds = Stats.error_kinds(samples)
    if kinds:
        print(f"  errors: {dict(kinds)}")
        first = next(s for s in samples if s.error)
        print(f"  first error: {first.label} {first.status} {first.body[:300]!r}")
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=300.0, help="scenario B, seconds (default 300)")
    parser.add_argument("--quick", action="store_true", help="scenario B for 30 s (for development)")
    parser.add_argument("--users", type=int, default=200, help="scenario B's concurrent users")
    parser.add_argument("--kommuner", type=int, default=357, help="scenario A's kommuner (at most 357)")
    parser.add_argument("--window", type=float, default=60.0, help="scenario A: everyone starts within this")
    parser.add_argument("--receipt-wait", type=float, default=180.0, help="bound on waiting for the receipts")
    parser.add_argument("--minimal-duration", type=float, default=None)
    parser.add_argument("--skip-rush", action="store_true")
    parser.add_argument("--skip-mixed", action="store_true")
    parser.add_argument("--keep-logs", action="store_true", help="keep the logs and say where")
    args = parser.parse_args()
    duration = 30.0 if args.quick else args.duration
    minimal_duration = args.minimal_duration or min(duration, 60.0)
    kommuner = max(args.users, args.kommuner)

    from tests.applying import VALID_SECTIONS, pdf_bytes
    from tests.conftest import fresh_postgres_database
    from tests.faults import ensure_services
    from tests.notify_support import Recorder, SMTPServer, Worker, delete_redis_keys, worker_env

    server_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    run_id = uuid.uuid4().hex[:8]
    prefix = f"grants-load-{run_id}:"
    instance = Path(os.environ.get("TMPDIR", "/tmp")) / f"grants-load-{run_id}"
    instance.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    figures, failures = {}, []
    processes = []
    try:
        with fresh_postgres_database(server_url) as database_url, SMTPServer(Recorder(parse=False)) as smtp:
            t = time.monotonic()
            info = build_database(database_url, kommuner=kommuner, instance=instance, redis_url=redis_url,
                                  demo=True)
            print(f"set-up: {len(info['kommuner'])} kommune users, open round {info['round_id']}, "
                  f"published summary of round {info['summary_round_id']} ({time.monotonic() - t:.1f} s)")
            wenv = worker_env(database_url, redis_url, smtp.port, instance, prefix=prefix,
                              OUTBOX_SWEEP_SECONDS=5, OUTBOX_STALE_SECONDS=30)
            worker = Worker(wenv, instance / "worker.log", concurrency=2, loglevel="WARNING")
            processes.append(worker)
            worker.start(wait=False)
            beat = celery_beat(wenv, instance)
            processes.append(beat)
            beat.start()
            server = Gunicorn("wsgi:app", app_env(database_url, redis_url, prefix, instance),
                              instance / "gunicorn.log", ready_path="/helse")
            processes.append(server)
            server.start()
            warm_up(server.port, ("/", "/helse", "/konto/logg-inn"))

            if not args.skip_rush:
                rush_kommuner = dict(info, kommuner=info["kommuner"][:args.kommuner])
                stats = Stats()
                begin, end = asyncio.run(rush(server.port, rush_kommuner, stats, args.window, VALID_SECTIONS))
                total = table(f"Scenario A: {args.kommuner} kommuner within {args.window:.0f} s "
                              f"(all done in {end - begin:.1f} s)", stats.samples, end - begin)
                gave_up = [k for k in rush_kommuner["kommuner"] if not k.reference]
                submitted, unique, unconfirmed = check_submissions(database_url, rush_kommuner)
                sent, at_sink, receipts, duplicates, waited = wait_for_receipts(database_url, smtp,
                                                                               args.receipt_wait)
                print(f"  submitted in the database: {submitted}, unique references: {unique}, "
                      f"receipt pages seen: {args.kommuner - len(gave_up)}, not confirmed by the database: "
                      f"{len(unconfirmed)}")
                if gave_up:
                    print(f"  gave up: {len(gave_up)}, e.g. {gave_up[0].email}: {gave_up[0].failures[-1:]}")
                print(f"  receipt notices: {receipts}, sent {sent}, at the SMTP sink {at_sink}, duplicates "
                      f"{duplicates}; all sent {waited:.1f} s after the rush ended")
                figures.update(rush_kommuner=args.kommuner, rush_submissions=submitted, rush_unique_refs=unique,
                               rush_errors=total["errors"], rush_requests=total["count"],
                               rush_p50_ms=round(total["p50_ms"]), rush_p95_ms=round(total["p95_ms"]),
                               rush_p99_ms=round(total["p99_ms"]), rush_span_s=round(end - begin, 1),
                               receipts=receipts, receipts_sent=sent, receipts_at_sink=at_sink,
                               receipt_duplicates=duplicates, receipt_wait_s=round(waited, 1))
                if not (submitted == unique == args.kommuner and not unconfirmed):
                    failures.append("not every kommune's application is submitted with a reference of its own")
                if not (receipts == sent == at_sink and receipts >= args.kommuner and duplicates == 0):
                    failures.append("not every receipt was sent exactly once within the wait")

            if not args.skip_mixed:
                stats = Stats()
                start_at, end_at, ready = asyncio.run(mixed(server.port, info, stats, args.users, duration,
                                                            VALID_SECTIONS, pdf_bytes()))
                window = stats.between(start_at, end_at)
                total = table(f"Scenario B: {args.users} users ({ready} ready), mixed, {duration:.0f} s",
                              window, end_at - start_at)
                figures.update(mixed_users=args.users, mixed_s=round(duration), mixed_rps=round(total["rps"], 1),
                               mixed_error_rate=round(total["error_rate"], 4), mixed_p50_ms=round(total["p50_ms"]),
                               mixed_p95_ms=round(total["p95_ms"]), mixed_p99_ms=round(total["p99_ms"]))
                if ready < args.users:
                    failures.append(f"only {ready} of {args.users} users could log in and start")

            server.stop()
            worker.stop()
            beat.stop()
            minimal = Gunicorn("load:minimal_app()", dict(os.environ, PYTHONPATH=str(ROOT)),
                               instance / "minimal.log", chdir=ROOT / "bench")
            processes.append(minimal)
            minimal.start()
            warm_up(minimal.port)
            stats = Stats()
            begin, end = asyncio.run(hammer(minimal.port, stats, args.users, minimal_duration))
            minimal.stop()
            total = table(f"Minimal Flask app, same gunicorn settings, {args.users} users, {minimal_duration:.0f} s",
                          stats.samples, end - begin)
            figures["minimal_rps"] = round(total["rps"], 1)
            if "mixed_rps" in figures and figures["minimal_rps"]:
                figures["ratio"] = round(figures["mixed_rps"] / figures["minimal_rps"], 4)
    finally:
        for process in reversed(processes):
            process.stop()
        try:
            delete_redis_keys(redis_url, prefix)
        except Exception as exc:  # noqa: BLE001 - reported, the run's result stands
            print(f"note: could not remove this run's Redis keys: {exc}")
        problems = ensure_services(server_url, redis_url)
        if problems:
            print("WARNING: " + "; ".join(problems))
        if args.keep_logs:
            print(f"logs: {instance}")
        else:
            shutil.rmtree(instance, ignore_errors=True)
    load_after = os.getloadavg()
    print(f"\nload average (1/5/15 min) before {load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f}, "
          f"after {load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f} on {os.cpu_count()} cores")
    for failure in failures:
        print(f"FAILED: {failure}")
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
