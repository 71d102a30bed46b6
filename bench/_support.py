"""Helpers shared by the benchmarks: a scratch PostgreSQL database, an SQL statement counter, gunicorn processes,
and a load generator (wrk when installed, else threads with keep-alive http.client connections).

Everything here talks to 127.0.0.1 only and cleans up what it started.
"""

import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/test"


# --- databases -------------------------------------------------------------------------------------------------

def pg_url(url):
    """The SQLAlchemy URL for psycopg 3, from a postgres:// or postgresql:// URL."""
    for old in ("postgres://", "postgresql://"):
        if url.startswith(old):
            return "postgresql+psycopg://" + url[len(old):]
    return url


def server_url():
    return os.environ.get("DATABASE_URL", DEFAULT_SERVER_URL)


@contextmanager
def scratch_database(url=None, prefix="grants_bench"):
    """A new PostgreSQL database ``<prefix>_<random>`` on the server of ``url``, dropped at the end."""
    admin_url = sa.make_url(pg_url(url or server_url()))
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def bench_app(database_url, instance, config="development", **overrides):
    """The real app on ``database_url`` with its files under ``instance``; no Redis unless asked for."""
    from grants import create_app

    settings = dict(
        SQLALCHEMY_DATABASE_URI=database_url,
        REDIS_URL=None,
        RATELIMIT_STORAGE_URI="memory://",
        CELERY_BROKER_URL=f"sqla+sqlite:///{Path(instance) / 'broker.sqlite'}",
        OUTBOX_DISPATCH_AFTER_COMMIT=False,  # no broker in the benches: notices stay in the outbox
        UPLOAD_DIR=str(Path(instance) / "uploads"),
        MAIL_DIR=str(Path(instance) / "mail"),
    )
    settings.update(overrides)
    return create_app(config, **settings)


# --- counting SQL statements ------------------------------------------------------------------------------------

class SQLCounter:
    """A ``before_cursor_execute`` listener that keeps every statement (as tests/conftest.py's count_queries)."""

    def __init__(self):
        self.statements = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    @property
    def count(self):
        return len(self.statements)


@contextmanager
def count_statements(engine):
    counter = SQLCounter()
    sa.event.listen(engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        sa.event.remove(engine, "before_cursor_execute", counter)


def median_ms(fn, repeat):
    """(median of ``repeat`` timed calls in milliseconds, every time, the last result)."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), times, result


# --- processes --------------------------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before it listened on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {timeout} s")


class Gunicorn:
    """``gunicorn -w W -k gthread --threads T -b 127.0.0.1:PORT module:app`` in its own process group."""

    def __init__(self, target, env, log_path, workers=2, threads=4, cwd=None, ready_path="/"):
        self.target, self.env, self.log_path, self.ready_path = target, env, Path(log_path), ready_path
        self.workers, self.threads, self.cwd = workers, threads, cwd or ROOT
        self.port = free_port()
        self.proc = None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def command(self):
        return [str(BIN / "gunicorn"), "-w", str(self.workers), "-k", "gthread", "--threads", str(self.threads),
                "-b", f"127.0.0.1:{self.port}", "--log-level", "warning", self.target]

    def __enter__(self):
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in __exit__
        self.proc = subprocess.Popen(self.command(), cwd=self.cwd, env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_port(self.port, self.proc)
            self.wait_ready()
        except Exception:
            self.__exit__(None, None, None)
            print(self.log_path.read_text()[-3000:], file=sys.stderr)
            raise
        return self

    def wait_ready(self, timeout=180):
        """The master listens before its workers have imported the app: wait until every worker answers."""
        deadline = time.monotonic() + timeout
        answered = 0
        while answered < self.workers * 2:  # a few answers in a row, likely from both workers
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.ready_path} did not answer 200 within {timeout} s")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.request("GET", self.ready_path)
                status = conn.getresponse().status
                conn.close()
            except (OSError, http.client.HTTPException):
                status = None
            if status == 200:
                answered += 1
            else:
                answered = 0
                time.sleep(0.2)

    def worker_pids(self):
        """The worker processes (children of the gunicorn master), for py-spy."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # our own process group only: the master and its workers
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        return False


# --- load generation -------------------------------------------------------------------------------------------

def have_wrk():
    return shutil.which("wrk") is not None


def _wrk_number(text):
    m = re.match(r"([\d.]+)([kmgKMG]?)", text)
    value = float(m.group(1))
    return value * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[m.group(2).lower()]


def run_wrk(url, seconds, threads, connections, headers=()):
    """Requests per second from wrk, with its error counts; non-2xx answers count as errors."""
    # A long timeout: with 32 connections on 8 server threads a slow page waits in the queue, and wrk's default
    # (2 s) would count those as errors, drop the connection and discard work the server still does.
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "60s", "--latency"]
    for h in headers:
        cmd += ["-H", h]
    done = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=seconds + 120)
    out = done.stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if found is None:
        raise RuntimeError(f"wrk gave no figure for {url} (exit {done.returncode}):\n{out}\n{done.stderr}")
    rps = float(found.group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    latency = {}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        if m:
            latency[pct] = m.group(1)
    return {"rps": rps, "requests": total, "errors": (int(non2xx.group(1)) if non2xx else 0)
            + (sum(int(x) for x in socket_errors.groups()) if socket_errors else 0), "latency": latency, "raw": out}


def run_python_load(url, seconds, threads, connections, headers=()):
    """A fallback for machines without wrk: ``connections`` threads, each with one keep-alive connection.

    Python threads share the GIL, so this generator saturates sooner than wrk; figures from it are lower bounds
    and comparable only with each other (the ratio to the minimal app is what counts)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    extra = dict(h.split(": ", 1) for h in headers)
    deadline = time.monotonic() + seconds
    counts = [0] * connections
    errors = [0] * connections

    def worker(i):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        while time.monotonic() < deadline:
            try:
                conn.request("GET", path, headers=extra)
                response = conn.getresponse()
                response.read()
                if 200 <= response.status < 400:
                    counts[i] += 1
                else:
                    errors[i] += 1
                if response.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        conn.close()

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - started
    return {"rps": sum(counts) / elapsed, "requests": sum(counts), "errors": sum(errors), "latency": {}, "raw": ""}


def load(url, seconds, threads, connections, headers=()):
    if have_wrk():
        return run_wrk(url, seconds, threads, connections, headers)
    return run_python_load(url, seconds, threads, connections, headers)


def load_generator_name():
    return "wrk" if have_wrk() else "python threads + http.client keep-alive (wrk not found)"


def loadavg():
    return os.getloadavg()
