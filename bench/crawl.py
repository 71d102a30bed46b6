"""A browser crawl of every kind of page, as each role, with the time to the load event of each page.

    .venv/bin/python bench/crawl.py [--per-kind 2] [--max-pages 80] [--minimal 20]

The real app runs under gunicorn (``-w 2 -k gthread --threads 4``, production settings over plain http) on a scratch
PostgreSQL database (DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test) with the demo data, and
Redis (REDIS_URL's host, database 12) for its caches and throttles, whose keys it deletes at the end. Debian's
chromium, driven by Playwright, logs in as each role of tests/e2e/test_reflow.py (anyone, a kommune's user, a
caseworker, a reviewer, the administrator; IMDi's staff with the demo's app code) and follows the links of every
page it reaches, at most --per-kind pages of each kind (pages that differ only by numbers in their address are one
kind), as that test does.

For each page it prints the time from the start of the navigation to the first byte of the answer and to the end
of the load event (the browser's Navigation Timing), in milliseconds. The first page of each role is printed but
left out of the percentiles: it is the one that fills the browser's cache with the stylesheets, fonts and script
(aim: the load event's p95 after the first page at most 150 ms). The yardstick, in the same browser and run: the
minimal Flask app (bench/minimal_app.py) under the same gunicorn settings, loaded --minimal times.
It ends with one line of name=value figures.
"""

import argparse
import os
import secrets
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _support as s  # noqa: E402
from pages import redis_base  # noqa: E402

TIMING_JS = """() => {
    const n = performance.getEntriesByType('navigation')[0];
    return n && n.loadEventEnd > 0 ? {ttfb: n.responseStart - n.startTime, load: n.loadEventEnd - n.startTime}
                                   : null;
}"""


def percentile(values, share):
    """The nearest-rank percentile ``share`` (0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def timing(page):
    page.wait_for_function("() => { const n = performance.getEntriesByType('navigation')[0];"
                           " return n && n.loadEventEnd > 0; }")
    return page.evaluate(TIMING_JS)


def crawl(page, base, start, per_kind_limit, max_pages):
    """[(path, status, ttfb ms, load ms)] of the pages reached from ``start``, in the order visited (the walk of
    tests/e2e/test_reflow.py)."""
    from tests.e2e.test_reflow import walk

    def visit(path, response):
        measured = timing(page)
        return path, response.status, measured["ttfb"], measured["load"]

    return walk(page, base, start, visit, per_kind=per_kind_limit, max_pages=max_pages)


def prepare(database_url, instance, mfa_key):
    from flask_migrate import upgrade

    from grants.demo import seed_demo
    from grants.extensions import db

    # The server reads the demo staff's app keys with the same key as they were stored with (MFA_ENCRYPTION_KEY).
    app = s.bench_app(database_url, instance, MFA_ENCRYPTION_KEY=mfa_key)
    with app.app_context():
        upgrade()
        seed_demo()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-kind", type=int, default=2)
    parser.add_argument("--max-pages", type=int, default=80)
    parser.add_argument("--minimal", type=int, default=20, help="loads of the minimal app's page")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from grants.demo import DEMO_PASSWORD, demo_code
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.e2e.support import CODE_PAGE, fill_section, save
    from tests.e2e.support import path as path_of
    from tests.e2e.test_reflow import ROLES

    def log_in(page, email):
        """The password; for IMDi's staff then the demo's app code of this moment (grants.demo.demo_code: the
        demo staff share one app key, and each of them uses the code once)."""
        fill_section(page, {"email": email, "password": DEMO_PASSWORD})
        save(page)
        if path_of(page) == CODE_PAGE:
            fill_section(page, {"code": demo_code()[0]})
            save(page)

    import redis

    redis_url = redis_base(12)
    rclient = redis.Redis.from_url(redis_url)
    keys_before = set(rclient.scan_iter())
    instance = Path(tempfile.mkdtemp(prefix="grants-bench-crawl-"))
    results, minimal = {}, []
    mfa_key = secrets.token_urlsafe(32)
    with s.scratch_database() as database_url:
        prepare(database_url, instance, mfa_key)
        env = dict(os.environ, MFA_ENCRYPTION_KEY=mfa_key, DATABASE_URL=database_url, REDIS_URL=redis_url,
                   CELERY_BROKER_URL=redis_url,
                   SECRET_KEY=secrets.token_urlsafe(48), GRANTS_CONFIG="production", SESSION_COOKIE_SECURE="false",
                   SESSION_COOKIE_NAME="grants_session", GRANTS_INSTANCE_DIR=str(instance),
                   RATELIMIT_STORAGE_URI=redis_url, PUBLIC_BASE_URL="http://127.0.0.1")
        env.pop("FLASK_DEBUG", None)
        minimal_app = s.Gunicorn("minimal_app:app", dict(os.environ), instance / "minimal.log", cwd=ROOT / "bench")
        with s.Gunicorn("wsgi:app", env, instance / "grants.log", ready_path="/helse") as real, minimal_app as small, \
                sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for role, email in ROLES.items():
                    context = browser.new_context(base_url=real.base_url)
                    page = context.new_page()
                    start = ["/"]
                    if email:
                        page.goto("/konto/logg-inn")
                        log_in(page, email)
                        start = [page.url.removeprefix(real.base_url) or "/", "/"]
                    results[role] = crawl(page, real.base_url, start, args.per_kind, args.max_pages)
                    context.close()
                context = browser.new_context()
                page = context.new_page()
                for _ in range(args.minimal + 1):
                    page.goto(small.base_url + "/")
                    minimal.append(timing(page))
                context.close()
            finally:
                browser.close()
                made = [k for k in rclient.scan_iter() if k not in keys_before]  # the caches and the throttles'
                if made:
                    rclient.delete(*made)
                rclient.close()

    after_first = []
    print(f"\n{'role':<11}{'page':<62}{'status':>7}{'first byte':>12}{'load':>9}  (ms)")
    for role, visited in results.items():
        for number, (path, status, ttfb, load) in enumerate(visited):
            mark = " (first: fills the cache)" if number == 0 else ""
            print(f"{role:<11}{path[:61]:<62}{status:>7}{ttfb:>12.1f}{load:>9.1f}{mark}")
            if number:
                after_first.append((load, ttfb))
    loads = [load for load, _ttfb in after_first]
    firsts = [ttfb for _load, ttfb in after_first]
    minimal_loads = [m["load"] for m in minimal[1:]]  # the first fills the connection
    pages = sum(len(v) for v in results.values())
    print(f"\n{pages} pages over {len(results)} roles; after each role's first page ({len(loads)} pages): load event "
          f"p50 {statistics.median(loads):.1f} ms, p95 {percentile(loads, 0.95):.1f} ms (aim 150), max "
          f"{max(loads):.1f} ms; first byte p50 {statistics.median(firsts):.1f} ms, p95 "
          f"{percentile(firsts, 0.95):.1f} ms")
    print(f"the minimal Flask app in the same browser: load event p50 {statistics.median(minimal_loads):.1f} ms, "
          f"p95 {percentile(minimal_loads, 0.95):.1f} ms ({len(minimal_loads)} loads)")
    print(f"  load average now: {' '.join(f'{x:.2f}' for x in s.loadavg())}")
    print(f"pages={pages} load_p50_ms={statistics.median(loads):.1f} load_p95_ms={percentile(loads, 0.95):.1f} "
          f"ttfb_p95_ms={percentile(firsts, 0.95):.1f} minimal_load_p50_ms={statistics.median(minimal_loads):.1f} "
          f"minimal_load_p95_ms={percentile(minimal_loads, 0.95):.1f}")


if __name__ == "__main__":
    main()
