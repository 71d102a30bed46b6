"""The fixed cost of one request, in process: what a logged-in page costs before it does any work of its own, and
where that time goes, layer by layer.

    .venv/bin/python bench/request_cost.py [--repeat 1000] [--database sqlite|postgresql]

The real app runs in this process with the production settings (plain http, so the test client's cookies work)
on a SQLite file (default) or a scratch PostgreSQL database (DATABASE_URL), with the demo data and bench/pages.py's
two kommune users (one whose kommune has 200 applications, one with 12). Each page is fetched --repeat times
through Flask's test client after a warm-up; the median is printed beside the same test client's median for the
minimal Flask app (bench/minimal_app.py), measured in the same run.

Pages:
  minimal          /                 bench/minimal_app.py, the yardstick
  floor, anonymous /tilgjengelighet  the layout and a static text, nobody logged in
  floor            /tilgjengelighet  the same, logged in: the least any logged-in page costs (aim: 1.5 ms)
  dashboard        /soknader/        the kommune with 12 applications (aim: 3 ms), and the one with 200 (25 a page)
  application      /soknader/<id>    bench/pages.py's application page: a draft with its sections filled in

Then each page once more under cProfile, its own time (tottime) summed by the layer its code belongs to, scaled to
the page's median without the profiler. The layers:
  wsgi + flask     werkzeug, flask, whitenoise, the test client: routing, request and response objects, hooks
  session cookie   flask.sessions, itsdangerous, hashlib/hmac/zlib/json: reading and signing the cookie
  login            flask_login and grants.accounts: finding the user of the session (SQL apart)
  sql              sqlalchemy, the database driver
  templates        jinja2, markupsafe, the templates themselves, the translations (babel, gettext)
  forms + csrf     flask_wtf, wtforms
  app              the rest of grants.*
  other            everything else (the standard library's own helpers)
It ends with one line of name=value figures. Tests assert behaviour, never time: this is the only place the time of
a request is written down.
"""

import argparse
import cProfile
import os
import pstats
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _support as s  # noqa: E402
import pages  # noqa: E402

AIMS = {"floor": 1.5, "dashboard": 3.0}

# (layer, a test on the code's file name), first match wins.
LAYERS = (
    ("session cookie", ("flask/sessions.py", "itsdangerous", "/hashlib", "/hmac", "/zlib", "json/",
                        "{built-in method _hashlib", "{built-in method zlib", "{method 'digest'",
                        "{built-in method _json")),
    ("login", ("flask_login", "grants/accounts/")),
    ("sql", ("sqlalchemy", "sqlite3", "psycopg", "{method 'execute' of 'sqlite3", "{method 'fetch",
             "{method 'commit' of 'sqlite3", "{method 'rollback' of 'sqlite3")),
    ("templates", ("jinja2", "markupsafe", "/templates/", "babel", "gettext", "grants/i18n.py",
                   "grants/templating.py", "grants/core/wording.py", "flask/templating.py", "flask_static_digest")),
    ("forms + csrf", ("flask_wtf", "wtforms")),
    ("wsgi + flask", ("werkzeug", "flask/", "whitenoise", "blinker")),
    ("app", ("grants/",)),
)
LAYER_NAMES = [name for name, _tests in LAYERS] + ["other"]


def layer_of(code_name):
    for name, tests in LAYERS:
        if any(test in code_name for test in tests):
            return name
    return "other"


def timed(client, path, repeat, expect=200):
    """Median milliseconds of ``repeat`` GETs of ``path`` after 50 warm-up requests."""
    for _ in range(50):
        response = client.get(path)
    assert response.status_code == expect, (path, response.status_code)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def by_layer(client, path, repeat, median_ms):
    """Milliseconds per layer of one request of ``path``: cProfile's own time per function summed by layer,
    scaled so that the layers add up to the unprofiled median."""
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(repeat):
        client.get(path)
    profile.disable()
    totals = dict.fromkeys(LAYER_NAMES, 0.0)
    for (filename, _line, function), (_cc, _nc, tottime, _ct, _callers) in pstats.Stats(profile).stats.items():
        name = f"{filename}:{function}" if filename != "~" else function
        totals[layer_of(name)] += tottime
    whole = sum(totals.values()) or 1.0
    return {name: median_ms * value / whole for name, value in totals.items()}


def login(app, email):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = pages.USER_AGENT
    form = client.get("/konto/logg-inn").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    response = client.post("/konto/logg-inn", data={"email": email, "password": pages.PASSWORD,
                                                     "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=1000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()

    from contextlib import nullcontext

    import minimal_app

    with tempfile.TemporaryDirectory(prefix="grants-bench-cost-") as instance, \
            (s.scratch_database() if args.database == "postgresql" else nullcontext()) as pg:
        url = pg if pg else f"sqlite:///{instance}/bench.sqlite"
        settings = dict(SESSION_COOKIE_SECURE=False, SESSION_COOKIE_NAME="grants_session",
                        PREFERRED_URL_SCHEME="http", SECRET_KEY=os.urandom(32).hex())
        data = pages.prepare(s.bench_app(s.pg_url(url), instance, config="production", **settings))
        app = s.bench_app(s.pg_url(url), instance, config="production", **settings)
        small, big, anonymous = login(app, data["small"]), login(app, data["big"]), app.test_client()
        minimal = minimal_app.app.test_client()
        cases = [
            ("minimal", minimal, "/"),
            ("floor, anonymous", anonymous, "/tilgjengelighet"),
            ("floor", small, "/tilgjengelighet"),
            ("dashboard", small, "/soknader/"),
            ("dashboard, 200 applications", big, "/soknader/"),
            ("application", big, f"/soknader/{data['application']}"),
        ]
        medians = {name: timed(client, path, args.repeat) for name, client, path in cases}
        medians["minimal"] = (medians["minimal"] + timed(minimal, "/", args.repeat)) / 2  # before and after
        layers = {name: by_layer(client, path, max(200, args.repeat // 2), medians[name])
                  for name, client, path in cases}

    print(f"\nIn process, {args.database}, Flask test client, median of {args.repeat} requests (ms)")
    print(f"{'page':<30}{'ms':>8}{'x minimal':>11}{'aim':>7}")
    for name, _client, _path in cases:
        aim = AIMS.get(name)
        print(f"{name:<30}{medians[name]:>8.3f}{medians[name] / medians['minimal']:>11.1f}"
              f"{'' if aim is None else f'{aim:.1f}':>7}")
    print("\nWhere the time of one request goes (ms, cProfile's own time by layer, scaled to the median)")
    print(f"{'page':<30}" + "".join(f"{name:>15}" for name in LAYER_NAMES))
    for name, _client, _path in cases:
        print(f"{name:<30}" + "".join(f"{layers[name][layer]:>15.3f}" for layer in LAYER_NAMES))
    figures = {f"{key}_ms": medians[name] for key, name in (
        ("minimal", "minimal"), ("floor_anonymous", "floor, anonymous"), ("floor", "floor"),
        ("dashboard", "dashboard"), ("dashboard_200", "dashboard, 200 applications"),
        ("application", "application"))}
    figures.update({f"floor_{layer.replace(' + ', '_').replace(' ', '_')}_ms": layers["floor"][layer]
                    for layer in LAYER_NAMES})
    print("\n" + " ".join(f"{key}={value:.3f}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
