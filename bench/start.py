"""How long a new process takes to be useful: seed-demo on a fresh database, and a web process's start and its first
request, beside a minimal Flask app's in the same run.

    .venv/bin/python bench/start.py [--repeat 3]

Each figure comes from fresh Python processes (a warm import cache on disk, as after any first run), on a SQLite
file in a scratch folder:

  seed-demo     `flask db upgrade` then `flask grants seed-demo` (timed alone), as `make run` does
  web start     importing wsgi.py (the app, and its warm-up: grants.warmup) until it could take a request
  first request the first GET / of that process, through the test client
  no warm-up    the same with the warm-up skipped (as a `flask` command imports wsgi.py)
  cold cache    the same with Jinja's bytecode cache emptied first (the first start after a deploy)
  minimal       bench/minimal_app.py's app: import, then its first GET /

Ends with one line of name=value figures (milliseconds; seed-demo in seconds).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

PROBE = r"""
import json, os, sys, time
sys.path.insert(0, os.environ["ROOT"])
started = time.perf_counter()
if os.environ.get("MINIMAL"):
    sys.path.insert(0, os.path.join(os.environ["ROOT"], "bench"))
    from minimal_app import app
else:
    import wsgi
    app = wsgi.app
ready = time.perf_counter()
client = app.test_client()
status = client.get("/").status_code
first = time.perf_counter()
client.get("/")
second = time.perf_counter()
print(json.dumps({"start": (ready - started) * 1000, "first": (first - ready) * 1000,
                  "second": (second - first) * 1000, "status": status}))
"""


def probe(env):
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        instance = Path(scratch) / "instance"
        env = dict(os.environ, ROOT=str(ROOT), FLASK_APP="wsgi", GRANTS_INSTANCE_DIR=str(instance),
                   DATABASE_URL=f"sqlite:///{scratch}/demo.sqlite", GRANTS_CONFIG="development")
        env.pop("FLASK_RUN_FROM_CLI", None)
        subprocess.run([str(BIN / "flask"), "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
        started = time.perf_counter()
        subprocess.run([str(BIN / "flask"), "grants", "seed-demo"], env=env, cwd=ROOT, check=True,
                       capture_output=True)
        seed_s = time.perf_counter() - started

        runs = {"warm": [], "no_warm_up": [], "cold_cache": [], "minimal": []}
        for _ in range(args.repeat):
            runs["warm"].append(probe(env))
            runs["no_warm_up"].append(probe(dict(env, FLASK_RUN_FROM_CLI="true")))
            shutil.rmtree(instance / "jinja", ignore_errors=True)
            runs["cold_cache"].append(probe(env))
            runs["minimal"].append(probe(dict(env, MINIMAL="1")))

    def med(name, key):
        return statistics.median(r[key] for r in runs[name])

    print(f"seed-demo on a fresh SQLite file: {seed_s:.1f} s (aim 5 s)")
    print(f"{'':28}{'start':>10}{'first GET /':>14}{'second':>10}")
    for name, label in (("warm", "web process (warm-up)"), ("no_warm_up", "without the warm-up"),
                        ("cold_cache", "warm-up, empty template cache"), ("minimal", "minimal Flask app")):
        print(f"{label:28}{med(name, 'start'):>8.0f} ms{med(name, 'first'):>11.1f} ms{med(name, 'second'):>7.1f} ms")
    assert all(r["status"] == 200 for rs in runs.values() for r in rs)
    print(f"seed_demo_s={seed_s:.1f} start_ms={med('warm', 'start'):.0f} first_ms={med('warm', 'first'):.1f} "
          f"first_no_warm_up_ms={med('no_warm_up', 'first'):.1f} first_cold_cache_ms={med('cold_cache', 'first'):.1f} "
          f"start_cold_cache_ms={med('cold_cache', 'start'):.0f} minimal_first_ms={med('minimal', 'first'):.1f} "
          f"load={os.getloadavg()}")


if __name__ == "__main__":
    main()
