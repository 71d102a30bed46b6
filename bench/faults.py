"""Faults with figures: PostgreSQL restarted, then Redis stopped and started, while kommuner submit.

    .venv/bin/python bench/faults.py [--kommuner 40] [--only postgres|redis]

The same scenarios as tests/faults (tests.faults.postgres_restart_scenario and redis_outage_scenario): a
scratch database on DATABASE_URL's server (default postgresql://postgres@127.0.0.1:5432/test), gunicorn
(-w 2 -k gthread --threads 8) with production settings, Redis at REDIS_URL (default redis://127.0.0.1:6379/15)
as broker and login-limiter store, a Celery worker and beat delivering to an SMTP sink in this process.

It RESTARTS the local PostgreSQL and STOPS the local Redis (pg_ctlcluster, redis-cli shutdown nosave, then
redis-server as CI starts it; GRANTS_PG_RESTART_COMMAND, GRANTS_REDIS_STOP_COMMAND and GRANTS_REDIS_START_COMMAND
override the commands). Everything else using them on this machine sees the fault too. Both are running again
when it ends, whatever happens.

Printed: how long each service was away, how long the app took to answer again once it was back, how many
requests failed meanwhile and how (PostgreSQL: the app's 503 page), submissions lost or half-saved, receipts
delivered and duplicated; then one line of name=value figures. Exit status 1 if a check failed.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults import (  # noqa: E402
    ensure_services,
    postgres_control,
    postgres_restart_scenario,
    redis_control,
    redis_outage_scenario,
)


def show(title, report, keys):
    print(f"\n{title}")
    for key in keys:
        print(f"  {key:<34} {report.get(key)!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kommuner", type=int, default=40)
    parser.add_argument("--only", choices=("postgres", "redis"))
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    figures, failures = {}, []
    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="grants-faults-"))
    try:
        if args.only in (None, "postgres"):
            reason = postgres_control(server_url)
            if reason:
                print(f"PostgreSQL restart skipped: {reason}")
            else:
                started = time.monotonic()
                r = postgres_restart_scenario(server_url, redis_url, workdir / "pg", kommuner=args.kommuner)
                show(f"PostgreSQL restarted while {args.kommuner} kommuner submit ({time.monotonic() - started:.0f} s)",
                     r, ("done_before_fault", "outage_s", "recovery_s", "requests", "requests_during_fault",
                         "errors", "statuses", "no_answer", "unclean_error_pages", "errors_after_recovery",
                         "retries", "gunicorn_alive", "submitted", "unique_references", "references_gap_free",
                         "half_saved", "receipt_pages", "lost", "gave_up"))
                figures.update(pg_outage_s=round(r["outage_s"], 2),
                               pg_recovery_s=round(r["recovery_s"], 2) if r["recovery_s"] is not None else "none",
                               pg_failed_requests=r["errors"], pg_503=r["statuses"].get(503, 0),
                               pg_other_errors=r["errors"] - r["statuses"].get(503, 0),
                               pg_submitted=r["submitted"], pg_lost=len(r["lost"]), pg_half_saved=r["half_saved"])
                if (r["gave_up"] or r["lost"] or r["half_saved"] or r["no_answer"] or r["unclean_error_pages"]
                        or set(r["statuses"]) - {503} or not r["references_gap_free"]
                        or r["submitted"] != args.kommuner):
                    failures.append("PostgreSQL restart: see above")
        if args.only in (None, "redis"):
            reason = redis_control(redis_url)
            if reason:
                print(f"Redis outage skipped: {reason}")
            else:
                started = time.monotonic()
                r = redis_outage_scenario(server_url, redis_url, workdir / "redis", kommuner=args.kommuner)
                show(f"Redis stopped and started while {args.kommuner} kommuner submit "
                     f"({time.monotonic() - started:.0f} s)",
                     r, ("outage_s", "requests_during_outage", "errors_during_outage", "submits_during_outage",
                         "submit_p50_ms_during_outage", "submit_max_ms_during_outage", "submit_p50_ms_otherwise",
                         "receipts_seen_during_outage", "errors", "submitted", "half_saved", "lost", "receipts",
                         "receipts_sent", "receipts_at_sink", "duplicates", "delivered_s_after_redis_back",
                         "worker_alive", "beat_alive"))
                figures.update(redis_outage_s=round(r["outage_s"] or 0, 2),
                               redis_errors=r["errors"], redis_submits_during_outage=r["submits_during_outage"],
                               redis_submit_max_ms=round(r["submit_max_ms_during_outage"]),
                               receipts=r["receipts"], receipts_delivered=r["receipts_at_sink"],
                               delivered_s=round(r["delivered_s_after_redis_back"] or 0, 1),
                               redis_lost=len(r["lost"]) + r["receipts"] - r["receipts_at_sink"],
                               duplicates=r["duplicates"])
                if (r["errors"] or r["lost"] or r["receipts"] != 2 * args.kommuner
                        or r["receipts_at_sink"] != r["receipts"] or r["duplicates"]
                        or not (r["worker_alive"] and r["beat_alive"])):
                    failures.append("Redis outage: see above")
    finally:
        problems = ensure_services(server_url, redis_url)
        if problems:
            print("WARNING: " + "; ".join(problems))
        shutil.rmtree(workdir, ignore_errors=True)
    load_after = os.getloadavg()
    print(f"\nload average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f} on {os.cpu_count()} cores")
    if "pg_lost" in figures or "redis_lost" in figures:
        figures["lost"] = figures.get("pg_lost", 0) + figures.get("redis_lost", 0)
    for failure in failures:
        print(f"FAILED: {failure}")
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
