"""Load and fault machinery shared by tests/faults and bench/{load,faults}.py.

* ``Browser``: one virtual user on asyncio: one keep-alive HTTP/1.1 connection to 127.0.0.1, a cookie jar,
  redirects followed as a browser does, every request timed into a ``Stats``. No dependency beyond the standard
  library, so the same generator drives the app and the minimal Flask app of bench/load.py.
* The kommune's path through the real pages: log in, start a draft, the eight sections of tests.applying
  (each page fetched for its CSRF token and version, then posted), the check page, submit, the receipt.
  With ``retry`` a step that failed (an error page, a dropped connection) is tried again the way a person
  would: fetch the page again and press the button again, a bounded number of times.
* The stack: a scratch PostgreSQL database built by the migrations, gunicorn (``-w 2 -k gthread --threads 8``)
  on it, a Celery worker and beat in subprocesses, configured only through the environment.
* Faults: restart the local PostgreSQL, stop and start the local Redis. Whatever happens, ``ensure_services``
  leaves both running (CI needs them).
* The two fault scenarios themselves (``postgres_restart_scenario`` and ``redis_outage_scenario``), returning a
  report that tests/faults asserts on and bench/faults.py prints.
"""

import asyncio
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASSWORD = "correct horse battery"  # noqa: S105 - tests.factories.PASSWORD
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
PG_RESTART = "pg_ctlcluster --skip-systemctl-redirect {version} main {action}"
REDIS_START = ("redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no "
               "--dir /var/lib/redis --logfile /var/log/redis/ci.log")


def run_async(coroutine):
    """asyncio.run in a thread of its own: in the same pytest process, Playwright's sync API (tests/e2e) keeps an
    event loop running in the main thread, where asyncio.run refuses to start another."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- statistics ---------------------------------------------------------------------------------------------------

@dataclass
class Sample:
    label: str
    status: int | None  # None: no answer (connection error, timeout)
    started: float  # time.monotonic()
    elapsed: float  # seconds
    error: str | None  # None, "5xx", "unexpected <status>", or the exception's name
    body: bytes = b""  # kept for error answers only


def percentile(sorted_values, p):
    """Nearest-rank percentile of an already sorted list (0 if empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(p / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


class Stats:
    def __init__(self):
        self.samples = []

    def add(self, sample):
        self.samples.append(sample)

    def between(self, start=None, end=None):
        return [s for s in self.samples if (start is None or s.started >= start) and (end is None or s.started < end)]

    @staticmethod
    def summary(samples, seconds=None):
        """count, errors, error_rate, rps, p50/p95/p99 (ms) of ``samples``; ``seconds`` is the window for rps."""
        latencies = sorted(s.elapsed for s in samples)
        errors = sum(1 for s in samples if s.error)
        if seconds is None and samples:
            seconds = max(s.started + s.elapsed for s in samples) - min(s.started for s in samples)
        return {
            "count": len(samples),
            "errors": errors,
            "error_rate": errors / len(samples) if samples else 0.0,
            "rps": len(samples) / seconds if seconds else 0.0,
            "p50_ms": percentile(latencies, 50) * 1000,
            "p95_ms": percentile(latencies, 95) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000,
            "max_ms": (latencies[-1] * 1000) if latencies else 0.0,
        }

    @staticmethod
    def by_label(samples):
        groups = {}
        for s in samples:
            groups.setdefault(s.label, []).append(s)
        return groups

    @staticmethod
    def error_kinds(samples):
        return Counter(s.error for s in samples if s.error)


# --- the HTTP client ----------------------------------------------------------------------------------------------

class NoAnswer(Exception):
    """The server did not answer (refused, reset, closed, timed out)."""


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes
    path: str  # the path that gave this answer (after redirects)

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    @property
    def location(self):
        value = self.headers.get("location", "")
        parts = urlsplit(value)
        return parts.path + (f"?{parts.query}" if parts.query else "") if parts.scheme else value


_ID = re.compile(r"/\d+")


def label_of(method, path):
    """A request's label for the statistics: digits in the path become :id, the query string goes."""
    return f"{method} {_ID.sub('/:id', path.split('?', 1)[0])}"


class Browser:
    """One virtual user: one connection (keep-alive), cookies, redirects. Not shared between tasks."""

    def __init__(self, port, stats, host="127.0.0.1", timeout=30.0, language="nb"):
        self.host, self.port, self.stats, self.timeout = host, port, stats, timeout
        self.language = language
        self.cookies = {}
        self._reader = self._writer = None
        self._uses = 0

    async def close(self):
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except (OSError, ConnectionError):
                pass
        self._reader = self._writer = None

    async def get(self, path, **kwargs):
        return await self.request("GET", path, **kwargs)

    async def post(self, path, data=None, files=None, **kwargs):
        if files:
            body, content_type = multipart(data or {}, files)
        else:
            body, content_type = urlencode(data or {}, doseq=True).encode(), "application/x-www-form-urlencoded"
        return await self.request("POST", path, body=body, content_type=content_type, **kwargs)

    async def request(self, method, path, body=None, content_type=None, follow=True, expect=(200, 302, 303),
                      label=None):
        """Send one request (and, with ``follow``, GET each redirect). Every hop is a sample in the stats.

        Raises NoAnswer if a hop got no answer; returns the last response otherwise, whatever its status.
        """
        hops = 0
        while True:
            response = await self._timed(method, path, body, content_type, expect, label)
            if follow and response.status in (301, 302, 303) and hops < 5 and response.location.startswith("/"):
                method, path, body, content_type, label = "GET", response.location, None, None, None
                expect = (200, 302, 303)
                hops += 1
                continue
            return response

    async def _timed(self, method, path, body, content_type, expect, label):
        label = label or label_of(method, path)
        started = time.monotonic()
        try:
            status, headers, data = await asyncio.wait_for(self._exchange(method, path, body, content_type),
                                                           self.timeout)
        except TimeoutError as exc:
            await self.close()
            self.stats.add(Sample(label, None, started, time.monotonic() - started, "timeout"))
            raise NoAnswer("timeout") from exc
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
            await self.close()
            self.stats.add(Sample(label, None, started, time.monotonic() - started, type(exc).__name__))
            raise NoAnswer(type(exc).__name__) from exc
        elapsed = time.monotonic() - started
        error = None
        if status >= 500:
            error = "5xx"
        elif status not in expect:
            error = f"unexpected {status}"
        self.stats.add(Sample(label, status, started, elapsed, error, data if error else b""))
        return Response(status, headers, data, path)

    async def _exchange(self, method, path, body, content_type):
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "User-Agent: grants-bench/1",
                 "Accept: text/html", f"Accept-Language: {self.language}"]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if body is not None:
            lines.append(f"Content-Type: {content_type}")
            lines.append(f"Content-Length: {len(body)}")
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
        for attempt in (0, 1):
            reused = self._writer is not None and self._uses > 0
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port, limit=2 ** 20)
                self._uses = 0
            self._got_bytes = False
            try:
                self._writer.write(payload)
                await self._writer.drain()
                status, headers, data, keep = await self._read(method)
            except (OSError, ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                # A kept-alive connection the server closed meanwhile: send again on a new one, as browsers do.
                if reused and attempt == 0 and not self._got_bytes:
                    continue
                raise
            self._uses += 1
            if not keep:
                await self.close()
            return status, headers, data
        raise ConnectionError("unreachable")  # pragma: no cover

    async def _read(self, method):
        reader = self._reader
        head = await reader.readuntil(b"\r\n\r\n")
        self._got_bytes = True
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                self._cookie(value)
            headers[name] = value
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            data = b""
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass
                    break
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            data = b"".join(chunks)
        elif "content-length" in headers:
            data = await reader.readexactly(int(headers["content-length"]))
        else:
            data = await reader.read()
            return status, headers, data, False
        keep = headers.get("connection", "").lower() != "close"
        return status, headers, data, keep

    def _cookie(self, value):
        pair, *attributes = [p.strip() for p in value.split(";")]
        name, _, cookie = pair.partition("=")
        expired = any(a.lower() in ("max-age=0",) or (a.lower().startswith("expires=") and "1970" in a)
                      for a in attributes)
        if expired or cookie == "":
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = cookie


def multipart(fields, files):
    """A multipart/form-data body: ``files`` maps a field to (filename, bytes, content type)."""
    boundary = "----grants" + secrets.token_hex(12)
    parts = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{item}\r\n'
                         .encode())
    for name, (filename, content, ctype) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: {ctype}\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# --- reading pages ------------------------------------------------------------------------------------------------

_INPUT = re.compile(r"<input\b[^>]*>", re.I)


def hidden(html, name):
    """The value of the first <input name=NAME> on the page, or None."""
    for tag in _INPUT.findall(html):
        if re.search(rf'\bname="{re.escape(name)}"', tag):
            match = re.search(r'\bvalue="([^"]*)"', tag)
            return match.group(1) if match else ""
    return None


def application_id_of(path):
    match = re.match(r"/soknader/(\d+)", path or "")
    return int(match.group(1)) if match else None


def is_error_page(response):
    """An error answer the app itself rendered: HTML, no traceback, no driver or SQL text."""
    text = response.text
    return ("<html" in text.lower() and "Traceback" not in text and "psycopg" not in text
            and "sqlalchemy" not in text.lower())


# --- the kommune's path through the pages -------------------------------------------------------------------------

class StepFailed(Exception):
    pass


@dataclass
class Kommune:
    email: str
    number: str
    application_id: int | None = None
    reference: str | None = None  # as read on the receipt page
    failures: list = field(default_factory=list)
    retries: int = 0
    done_at: float | None = None


class Journey:
    """What one kommune does, step by step. ``retry`` = how often one step may be tried again (0: never), with
    ``pause`` seconds in between; ``deadline`` (monotonic) bounds it all."""

    def __init__(self, browser, kommune, round_id, year, *, retry=0, pause=0.5, deadline=None):
        self.b, self.k, self.round_id, self.year = browser, kommune, round_id, year
        self.retry, self.pause, self.deadline = retry, pause, deadline

    async def _step(self, name, action):
        attempt = 0
        while True:
            try:
                return await action()
            except (NoAnswer, StepFailed) as exc:
                self.k.failures.append((name, str(exc)))
                attempt += 1
                if attempt > self.retry or (self.deadline and time.monotonic() > self.deadline):
                    raise StepFailed(f"{name}: {exc}") from exc
                self.k.retries += 1
                await asyncio.sleep(self.pause)

    async def log_in(self):
        async def action():
            page = await self.b.get("/konto/logg-inn")
            token = hidden(page.text, "csrf_token")
            if page.status != 200 or not token:
                raise StepFailed(f"login page {page.status}")
            landed = await self.b.post("/konto/logg-inn", {"csrf_token": token, "email": self.k.email,
                                                           "password": PASSWORD, "next": ""})
            if landed.status != 200 or not landed.path.startswith("/soknader"):
                raise StepFailed(f"login {landed.status} at {landed.path}")
            return landed

        return await self._step("login", action)

    async def start(self):
        async def action():
            page = await self.b.get("/soknader/")
            if page.status != 200:
                raise StepFailed(f"dashboard {page.status}")
            if self.retry:  # a draft made by an attempt whose answer was lost: take that one
                existing = re.search(r'href="/soknader/(\d+)"', page.text)
                if existing:
                    return int(existing.group(1))
            started = await self.b.post("/soknader/ny", {"csrf_token": hidden(page.text, "csrf_token"),
                                                         "round_id": str(self.round_id)}, follow=False,
                                        expect=(302,))
            application_id = application_id_of(started.location) if started.status == 302 else None
            if application_id is None:
                raise StepFailed(f"start {started.status}")
            return application_id

        self.k.application_id = await self._step("start", action)
        await self._step("overview", lambda: self._page(f"/soknader/{self.k.application_id}"))
        return self.k.application_id

    async def _page(self, path):
        page = await self.b.get(path)
        if page.status != 200:
            raise StepFailed(f"{path} {page.status}")
        return page

    async def save_section(self, section, data):
        path = f"/soknader/{self.k.application_id}/del/{section}"

        async def action():
            page = await self._page(path)
            payload = dict(data, csrf_token=hidden(page.text, "csrf_token"), version=hidden(page.text, "version"))
            saved = await self.b.post(path, payload)
            if saved.status != 200 or saved.path != f"/soknader/{self.k.application_id}":
                raise StepFailed(f"save {section} {saved.status} at {saved.path}")
            return saved

        return await self._step(f"section {section}", action)

    async def submit(self):
        base = f"/soknader/{self.k.application_id}"

        async def action():
            page = await self.b.get(f"{base}/kontroll")  # a submitted application redirects to its receipt
            if page.status == 200 and page.path == f"{base}/kontroll":
                key = hidden(page.text, "submission_key")
                if not key:
                    raise StepFailed("no submit button on the check page")
                page = await self.b.post(f"{base}/send", {"csrf_token": hidden(page.text, "csrf_token"),
                                                          "submission_key": key})
            if page.status != 200 or page.path != f"{base}/kvittering":
                raise StepFailed(f"submit {page.status} at {page.path}")
            match = re.search(rf"<title>[^<]*\b({self.year}-\d{{4}})\b", page.text)
            if not match:
                raise StepFailed("no reference on the receipt")
            return match.group(1)

        self.k.reference = await self._step("submit", action)
        self.k.done_at = time.monotonic()
        return self.k.reference

    async def apply(self, sections):
        """Log in, start, fill every section, submit. Returns the reference from the receipt page."""
        await self.log_in()
        await self.start()
        for section, data in sections.items():
            await self.save_section(section, data)
        return await self.submit()


# --- the stack ----------------------------------------------------------------------------------------------------

def pg_url(url):
    for old in ("postgres://", "postgresql://"):
        if url.startswith(old):
            return "postgresql+psycopg://" + url[len(old):]
    return url


def build_database(database_url, *, kommuner, instance, redis_url, demo=False):
    """Migrations, the municipality register, an open round (the demo's when ``demo``) and one active user for
    each of the first ``kommuner`` kommuner (created directly, password tests.factories.PASSWORD).

    Returns {"round_id", "year", "summary_round_id", "kommuner": [Kommune]}. The outbox is emptied of the
    notices the set-up wrote, so that everything the SMTP sink later receives comes from the run.
    """
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from grants import create_app
    from grants.extensions import db

    app = create_app("development", SQLALCHEMY_DATABASE_URI=database_url, CELERY_BROKER_URL=redis_url,
                     OUTBOX_DISPATCH_AFTER_COMMIT=False, MAIL_DIR=str(Path(instance) / "mail"),
                     UPLOAD_DIR=str(Path(instance) / "uploads"), RATELIMIT_STORAGE_URI="memory://")
    with app.app_context():
        upgrade()
        from grants.accounts.models import Municipality, Role, UserStatus
        from grants.accounts.register import import_municipalities
        from grants.core.timeutil import now_utc, oslo_date
        from grants.rounds import operations as rounds
        from grants.rounds.models import Round
        from tests.factories import UserFactory

        import_municipalities()
        db.session.commit()
        summary_round_id = None
        if demo:
            from grants.demo import seed_demo

            seed_demo()
            db.session.commit()
            open_round = db.session.scalar(sa.select(Round).where(Round.slug.like("%-open")))
            summary_round_id = db.session.scalar(sa.text(
                "SELECT round_id FROM allocation_summaries WHERE unpublished_at IS NULL ORDER BY round_id DESC"))
        else:
            from datetime import timedelta

            today = oslo_date(now_utc())
            scheme = rounds.get_or_create_scheme("fault-scheme", title_nb="Tilskudd", title_nn="Tilskot",
                                                 title_en="Grant")
            open_round = rounds.create_round(
                scheme, None, slug="faults-open", year=(today + timedelta(days=21)).year, area_number=5,
                budget=10_000_000,
                opens_at=now_utc() - timedelta(days=3), deadline_date=today + timedelta(days=21),
                title_nb="Åpen runde", title_nn="Open runde", title_en="Open round", text_nb="Tekst",
                text_nn="Tekst", text_en="Text", min_participants=10, own_contribution_required=True)
        municipalities = db.session.scalars(sa.select(Municipality).order_by(Municipality.number)
                                            .limit(kommuner)).all()
        people = []
        for m in municipalities:
            email = f"kommune-{m.number}@bench.example"
            UserFactory(email=email, name=f"Saksbehandler {m.number}", role=Role.municipal,
                        municipality_id=m.id, status=UserStatus.active, language="nb")
            people.append(Kommune(email=email, number=m.number))
        db.session.execute(sa.text("DELETE FROM notices"))
        db.session.commit()
        info = {"round_id": open_round.id, "year": open_round.year, "summary_round_id": summary_round_id,
                "kommuner": people}
        db.session.remove()
        db.engine.dispose()
    return info


def app_env(database_url, redis_url, prefix, instance, **settings):
    """The environment of gunicorn serving the app: production settings on plain HTTP on 127.0.0.1."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OUTBOX_", "MAIL_", "CELERY_", "RATELIMIT_", "SESSION_", "GRANTS_"))}
    env.update({
        "GRANTS_CONFIG": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_KEY_PREFIX": prefix,
        "RATELIMIT_STORAGE_URI": redis_url,
        # Every virtual user comes from 127.0.0.1: the per-address login limit would stop the rush at ten.
        "LOGIN_LIMIT": "100000 per minute",
        "SESSION_COOKIE_SECURE": "false",
        "SESSION_COOKIE_NAME": "grants_session",
        "GRANTS_INSTANCE_DIR": str(instance),
        "UPLOAD_DIR": str(Path(instance) / "uploads"),
        "MAIL_DIR": str(Path(instance) / "mail"),
        "PYTHONPATH": str(ROOT),
    })
    env.update({k: str(v) for k, v in settings.items()})
    return env


class Process:
    """A subprocess in its own process group, its output in a log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, command, env, log_path, cwd=ROOT):
        self.command, self.env, self.log_path, self.cwd = command, env, Path(log_path), cwd
        self.process = None

    def start(self):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(self.command, cwd=self.cwd, env=self.env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def log(self):
        try:
            return self.log_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def stop(self, grace=15):
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
        log = getattr(self, "_log", None)
        if log is not None and not log.closed:
            log.close()


class Gunicorn(Process):
    """gunicorn -w 2 -k gthread --threads 8 on 127.0.0.1 and a free port."""

    def __init__(self, app_spec, env, log_path, workers=2, threads=8, chdir=ROOT, ready_path="/"):
        self.port = free_port()
        self.ready_path = ready_path
        command = [str(BIN / "gunicorn"), "-w", str(workers), "-k", "gthread", "--threads", str(threads),
                   "-b", f"127.0.0.1:{self.port}", "--chdir", str(chdir), "--graceful-timeout", "5",
                   "--log-level", "warning", app_spec]
        super().__init__(command, env, log_path)

    def start(self, timeout=60):
        """Start (unless started) and wait until it answers."""
        if self.process is None:
            super().start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"gunicorn exited:\n{self.log()[-4000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(f"GET {self.ready_path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
                    if sock.recv(64).startswith(b"HTTP/"):
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer in {timeout} s:\n{self.log()[-4000:]}")


def celery_beat(env, instance):
    """celery beat (the outbox sweeper's clock) as a Process."""
    schedule = Path(instance) / f"beat-{uuid.uuid4().hex[:6]}"
    return Process([str(BIN / "celery"), "-A", "make_celery", "beat", "-s", str(schedule), "--loglevel", "INFO"],
                   env, Path(instance) / "beat.log")


def warm_up(port, paths=("/",), times=4):
    """A few requests so that both gunicorn workers have imported and connected before anything is timed."""
    for _ in range(times):
        for path in paths:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                    sock.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
                    while sock.recv(65536):
                        pass
            except OSError:
                pass


# --- faults: PostgreSQL and Redis on this machine ---------------------------------------------------------------

def _local(url):
    return (urlsplit(url).hostname or "127.0.0.1") in LOCAL_HOSTS


def _pg_version():
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    return versions[-1] if len(versions) == 1 else None


def postgres_control(url):
    """Why PostgreSQL at ``url`` cannot be restarted from here, or None if it can."""
    if os.environ.get("GRANTS_PG_RESTART_COMMAND"):
        return None
    if not _local(url):
        return f"PostgreSQL at {urlsplit(url).hostname} is not on this machine"
    if shutil.which("pg_ctlcluster") is None or _pg_version() is None:
        return "pg_ctlcluster and one cluster in /etc/postgresql are needed to restart PostgreSQL"
    if os.geteuid() != 0:
        return "restarting PostgreSQL needs root"
    return None


def redis_control(url):
    """Why Redis at ``url`` cannot be stopped and started from here, or None if it can."""
    if os.environ.get("GRANTS_REDIS_STOP_COMMAND") and os.environ.get("GRANTS_REDIS_START_COMMAND"):
        return None
    if not _local(url):
        return f"Redis at {urlsplit(url).hostname} is not on this machine"
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        return "redis-server and redis-cli are needed to stop and start Redis"
    if (urlsplit(url).port or 6379) != 6379:
        return "only the Redis on port 6379 is stopped and started"
    return None


def _pg_command(action):
    custom = os.environ.get("GRANTS_PG_RESTART_COMMAND")
    if custom and action == "restart":
        return custom
    return PG_RESTART.format(version=_pg_version(), action=action)


def _reachable(port, host="127.0.0.1"):
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def postgres_ready(url):
    import psycopg

    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://"))
    try:
        with psycopg.connect(host=parts.hostname or "127.0.0.1", port=parts.port or 5432,
                             user=parts.username or "postgres", password=parts.password, dbname="postgres",
                             connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - starting up, shutting down, refused: not ready
        return False


def _redis_address(url=None):
    parts = urlsplit(url or "redis://127.0.0.1:6379")
    return parts.hostname or "127.0.0.1", parts.port or 6379


def redis_ready(url=None):
    host, port = _redis_address(url)
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def restart_postgres(url, timeout=60):
    """Restart the local PostgreSQL (all sessions are ended) and wait until it takes connections again."""
    subprocess.run(_pg_command("restart"), shell=True, check=True, timeout=timeout, capture_output=True)  # noqa: S602
    deadline = time.monotonic() + timeout
    while not postgres_ready(url):
        if time.monotonic() > deadline:
            raise RuntimeError("PostgreSQL did not come back")
        time.sleep(0.1)


def stop_redis(url=None):
    """Stop the local Redis without saving (its queue is lost, as in a crash of a Redis without persistence)."""
    host, port = _redis_address(url)
    command = os.environ.get("GRANTS_REDIS_STOP_COMMAND", f"redis-cli -h {host} -p {port} shutdown nosave")
    subprocess.run(command, shell=True, timeout=30, capture_output=True)  # noqa: S602
    deadline = time.monotonic() + 20
    while _reachable(port, host) and time.monotonic() < deadline:
        time.sleep(0.05)


def start_redis(url=None, timeout=30):
    command = os.environ.get("GRANTS_REDIS_START_COMMAND", REDIS_START)
    if not redis_ready(url):
        subprocess.run(command, shell=True, timeout=timeout, capture_output=True)  # noqa: S602
    deadline = time.monotonic() + timeout
    while not redis_ready(url):
        if time.monotonic() > deadline:
            raise RuntimeError("Redis did not come back")
        time.sleep(0.05)


def ensure_services(database_url=None, redis_url=None):
    """Leave PostgreSQL and Redis running, whatever happened (CI and the other engineers need them)."""
    problems = []
    if database_url and _local(database_url) and postgres_control(database_url) is None:
        if not postgres_ready(database_url):
            subprocess.run(_pg_command("start"), shell=True, timeout=60, capture_output=True)  # noqa: S602
            deadline = time.monotonic() + 60
            while not postgres_ready(database_url) and time.monotonic() < deadline:
                time.sleep(0.2)
            if not postgres_ready(database_url):
                problems.append("PostgreSQL is not running")
    if redis_url and _local(redis_url) and redis_control(redis_url) is None:
        try:
            start_redis(redis_url)
        except RuntimeError as exc:
            problems.append(str(exc))
    return problems


# --- set-up helpers -----------------------------------------------------------------------------------------------

class scratch_database:  # noqa: N801 - used as a context manager like tests.conftest.fresh_postgres_database
    """A new PostgreSQL database, dropped at the end. Unlike the conftest helper it keeps no pooled connection
    between the two ends (NullPool), so that it survives a restart of the server in between."""

    def __init__(self, server_url, prefix="grants_faults"):
        import sqlalchemy as sa

        self.url = sa.make_url(pg_url(server_url))
        self.name = f"{prefix}_{uuid.uuid4().hex[:10]}"

    def _admin(self):
        import sqlalchemy as sa
        from sqlalchemy.pool import NullPool

        return sa.create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)

    def __enter__(self):
        import sqlalchemy as sa

        admin = self._admin()
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        admin.dispose()
        return self.url.set(database=self.name).render_as_string(hide_password=False)

    def __exit__(self, *exc):
        import sqlalchemy as sa

        deadline = time.monotonic() + 60
        while not postgres_ready(self.url.render_as_string(hide_password=False)) and time.monotonic() < deadline:
            time.sleep(0.2)
        admin = self._admin()
        try:
            with admin.connect() as conn:
                conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": self.name})
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}"'))
        finally:
            admin.dispose()


def prefill(database_url, info, sections, instance, redis_url):
    """A draft for each kommune with every section but the last saved, through the same operations as the
    section page (build the form, validate it, save). The last section, check and submit go through HTTP."""
    from werkzeug.datastructures import MultiDict

    from grants import create_app
    from grants.accounts.models import User
    from grants.applications import operations as ops
    from grants.applications import sections as forms
    from grants.extensions import db
    from grants.rounds.models import Round

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url, CELERY_BROKER_URL=redis_url,
                     OUTBOX_DISPATCH_AFTER_COMMIT=False, MAIL_DIR=str(Path(instance) / "mail"),
                     UPLOAD_DIR=str(Path(instance) / "uploads"))
    names = list(sections)[:-1]
    with app.test_request_context():
        round_ = db.session.get(Round, info["round_id"])
        for kommune in info["kommuner"]:
            user = db.session.scalar(db.select(User).where(User.email == kommune.email))
            application = ops.start_application(round_, user)
            for section in names:
                data = MultiDict([(k, v) for k, values in sections[section].items()
                                  for v in (values if isinstance(values, list) else [values])])
                form = forms.build_form(application, section, data, csrf=False)
                forms.validate_section(application, section, form)
                ops.save_section(application, user, section, data, base_version=None, form=form)
            db.session.commit()
            kommune.application_id = application.id
        db.session.remove()
        db.engine.dispose()
    return {section: sections[section] for section in list(sections)[-1:]}


def inspect_submissions(database_url, info):
    """What the database holds after a run: every submission whole, every draft untouched by a submission."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    engine = sa.create_engine(pg_url(database_url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT a.id, a.state, a.reference, a.received_at, a.snapshot IS NOT NULL AS has_snapshot, "
                "a.submission_key, "
                "(SELECT count(*) FROM notices n WHERE n.kind = 'receipt' AND n.key LIKE 'receipt:' || a.id || ':%') "
                "AS receipts, "
                "(SELECT count(*) FROM audit_entries e WHERE e.object_type = 'applications' AND e.object_id = a.id "
                "AND e.action = 'submit') AS audits "
                "FROM applications a WHERE a.round_id = :r ORDER BY a.id"), {"r": info["round_id"]}).mappings().all()
            last_reference = conn.execute(sa.text("SELECT last_reference FROM rounds WHERE id = :r"),
                                          {"r": info["round_id"]}).scalar()
    finally:
        engine.dispose()
    submitted = [r for r in rows if str(r["state"]).endswith("submitted")]
    drafts = [r for r in rows if str(r["state"]).endswith("draft")]
    whole = [r for r in submitted if r["reference"] and r["received_at"] and r["has_snapshot"]
             and r["receipts"] == 2 and r["audits"] == 1]
    untouched = [r for r in drafts if not r["reference"] and not r["received_at"] and r["receipts"] == 0
                 and r["audits"] == 0 and not r["submission_key"]]
    references = [r["reference"] for r in submitted]
    numbers = sorted(int(ref.split("-")[1]) for ref in references if ref)
    stored = {r["id"]: r["reference"] for r in submitted}
    seen = {k.application_id: k.reference for k in info["kommuner"] if k.reference}
    return {
        "applications": len(rows),
        "submitted": len(submitted),
        "drafts": len(drafts),
        "unique_references": len(set(references)),
        "references_gap_free": numbers == list(range(1, len(numbers) + 1)) and last_reference == len(numbers),
        "half_saved": (len(submitted) - len(whole)) + (len(drafts) - len(untouched))
        + (len(rows) - len(submitted) - len(drafts)),
        "receipt_pages": len(seen),
        "lost": sorted(ref for app_id, ref in seen.items() if stored.get(app_id) != ref),
    }


def receipt_delivery(database_url, recorder):
    """(receipt notices, of them sent, distinct receipt Message-IDs at the sink, duplicate deliveries)."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    engine = sa.create_engine(pg_url(database_url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            states = dict(conn.execute(sa.text("SELECT id, state FROM notices WHERE kind = 'receipt'")).all())
    finally:
        engine.dispose()

    def notice_id(message_id):
        try:
            return int(message_id.strip("<>").split("-")[1])
        except (AttributeError, IndexError, ValueError):
            return None

    with recorder.lock:
        received = dict(recorder.message_ids)
    at_sink = {notice_id(mid) for mid in received} & set(states)
    duplicates = sum(n - 1 for mid, n in received.items() if n > 1 and notice_id(mid) in states)
    sent = sum(1 for s in states.values() if str(s).endswith("sent"))
    return len(states), sent, len(at_sink), duplicates


# --- the two fault scenarios --------------------------------------------------------------------------------------

async def _submit_through_fault(port, info, sections, stats, fault, *, trigger, stagger, budget, retry, pause,
                                late=8, late_spacing=0.25):
    """Every kommune logs in, opens its draft, saves the remaining section(s), checks and submits, retrying a
    failed step as a person would. ``fault`` (blocking, run in a thread) starts once ``trigger`` kommuner have
    their receipt; the last ``late`` kommuner start only then (``late_spacing`` s apart), so that logins too
    meet the fault. Returns the fault's timings."""
    kommuner = info["kommuner"]
    deadline = time.monotonic() + budget
    timings = {"start": time.monotonic()}
    fault_started = asyncio.Event()
    early = len(kommuner) - late

    async def one(index, kommune):
        if index < early:
            await asyncio.sleep(index * stagger / max(early, 1))
        else:
            await fault_started.wait()
            await asyncio.sleep((index - early) * late_spacing)
        browser = Browser(port, stats, timeout=20)
        journey = Journey(browser, kommune, info["round_id"], info["year"], retry=retry, pause=pause,
                          deadline=deadline)
        try:
            await journey.log_in()
            await journey._step("overview", lambda: journey._page(f"/soknader/{kommune.application_id}"))
            for section, data in sections.items():
                await journey.save_section(section, data)
            await journey.submit()
        except (StepFailed, NoAnswer) as exc:
            kommune.failures.append(("gave up", str(exc)))
        finally:
            await browser.close()

    async def inject():
        while sum(1 for k in kommuner if k.reference) < trigger and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        timings["fault_start"] = time.monotonic()
        timings["done_before_fault"] = sum(1 for k in kommuner if k.reference)
        fault_started.set()
        await asyncio.to_thread(fault, timings, lambda: sum(1 for k in kommuner if k.reference))
        timings["fault_end"] = time.monotonic()

    await asyncio.gather(inject(), *(one(i, k) for i, k in enumerate(kommuner)))
    timings["end"] = time.monotonic()
    return timings


def _classify(stats, timings, service_back):
    """Figures about the requests around the fault."""
    samples = stats.samples
    errors = [s for s in samples if s.error]
    no_answer = [s for s in errors if s.status is None]
    server_errors = [s for s in errors if s.status is not None and s.status >= 500]
    other = [s for s in errors if s.status is not None and s.status < 500]
    unclean = [s for s in server_errors
               if s.status not in (500, 503) or not is_error_page(Response(s.status, {}, s.body, ""))]
    after = [s for s in samples if s.started >= service_back and s.status is not None and not s.error]
    first_ok = min((s.started + s.elapsed for s in after), default=None)
    return {
        "requests": len(samples),
        "errors": len(errors),
        "no_answer": len(no_answer),
        "server_errors": len(server_errors),
        "statuses": dict(Counter(s.status for s in server_errors)),
        "no_answer_kinds": dict(Counter(s.error for s in no_answer)),
        "unclean_error_pages": len(unclean),
        "client_errors": len(other),
        "client_error_kinds": dict(Counter(f"{s.label} {s.status}" for s in other)),
        "recovery_s": (first_ok - service_back) if first_ok else None,
        "errors_after_recovery": sum(1 for s in errors if first_ok and s.started > first_ok + 1.0),
    }


def postgres_restart_scenario(server_url, redis_url, workdir, *, kommuner=40, trigger=8, stagger=3.0,
                              budget=60.0, retry=60, pause=0.25):
    """``kommuner`` kommuner submit through gunicorn; PostgreSQL is restarted once ``trigger`` have their
    receipt. Returns a report (see the keys); PostgreSQL is running again whatever happens."""
    from tests.applying import VALID_SECTIONS

    workdir = Path(workdir)
    prefix = f"grants-faults-{uuid.uuid4().hex[:10]}:"
    report = {"kommuner": kommuner}
    server = None
    try:
        with scratch_database(server_url) as database_url:
            began = time.monotonic()
            info = build_database(database_url, kommuner=kommuner, instance=workdir, redis_url=redis_url)
            report["build_s"] = time.monotonic() - began
            server = Gunicorn("wsgi:app", app_env(database_url, redis_url, prefix, workdir), workdir / "gunicorn.log",
                              ready_path="/helse")
            Process.start(server)  # boots while the drafts are filled in
            remaining = prefill(database_url, info, VALID_SECTIONS, workdir, redis_url)
            report["prefill_s"] = time.monotonic() - began - report["build_s"]
            server.start()
            warm_up(server.port, ("/helse", "/konto/logg-inn"))
            stats = Stats()
            report["stack_s"] = time.monotonic() - began - report["build_s"] - report["prefill_s"]

            def fault(timings, _progress):
                restart_postgres(server_url)
                timings["service_back"] = time.monotonic()

            timings = run_async(_submit_through_fault(server.port, info, remaining, stats, fault, trigger=trigger,
                                                        stagger=stagger, budget=budget, retry=retry, pause=pause))
            report["run_s"] = timings["end"] - timings["start"]
            report.update(_classify(stats, timings, timings.get("service_back", timings["end"])))
            report["outage_s"] = timings.get("service_back", timings["end"]) - timings["fault_start"]
            report["done_before_fault"] = timings.get("done_before_fault")
            back = timings.get("service_back", timings["end"])
            report["requests_during_fault"] = sum(1 for s in stats.samples if s.started < back
                                                  and s.started + s.elapsed > timings["fault_start"])
            report["gunicorn_alive"] = server.alive()  # the same master, never restarted
            report["gave_up"] = [(k.email, k.failures[-1]) for k in info["kommuner"] if not k.reference]
            report["retries"] = sum(k.retries for k in info["kommuner"])
            server.stop()
            report.update(inspect_submissions(database_url, info))
            report["sample_error"] = next((s.body[:400] for s in stats.samples if s.status and s.status >= 500), b"")
            report["log"] = server.log()[-3000:]
    finally:
        if server is not None:
            server.stop()
        ensure_services(server_url, redis_url)
        _forget_keys(redis_url, prefix)
    return report


def redis_outage_scenario(server_url, redis_url, workdir, *, kommuner=40, trigger=8, stagger=3.0, outage=5.0,
                          max_outage=20.0, submits_while_down=8, budget=60.0, delivery_wait=45.0, retry=0,
                          pause=0.25):
    """``kommuner`` kommuner submit through gunicorn while Redis is stopped for ``outage`` seconds (once
    ``trigger`` have their receipt) and started again; a Celery worker and beat deliver the receipts to an SMTP
    sink in this process. Returns a report; Redis is running again whatever happens."""
    from tests.applying import VALID_SECTIONS
    from tests.notify_support import Recorder, SMTPServer, Worker, worker_env

    workdir = Path(workdir)
    prefix = f"grants-faults-{uuid.uuid4().hex[:10]}:"
    report = {"kommuner": kommuner}
    processes = []
    try:
        with scratch_database(server_url) as database_url, SMTPServer(Recorder(parse=False)) as smtp:
            began = time.monotonic()
            info = build_database(database_url, kommuner=kommuner, instance=workdir, redis_url=redis_url)
            report["build_s"] = time.monotonic() - began
            server = Gunicorn("wsgi:app", app_env(database_url, redis_url, prefix, workdir), workdir / "gunicorn.log",
                              ready_path="/helse")
            processes.append(server)
            Process.start(server)  # boots while the drafts are filled in
            remaining = prefill(database_url, info, VALID_SECTIONS, workdir, redis_url)
            report["prefill_s"] = time.monotonic() - began - report["build_s"]
            wenv = worker_env(database_url, redis_url, smtp.port, workdir, prefix=prefix, OUTBOX_SWEEP_SECONDS=1,
                              OUTBOX_STALE_SECONDS=3, OUTBOX_LEASE_SECONDS=10, OUTBOX_BACKOFF_SECONDS=1)
            worker = Worker(wenv, workdir / "worker.log", concurrency=2)
            processes.append(worker)
            beat = celery_beat(wenv, workdir)
            processes.append(beat)
            worker.start(wait=False)
            beat.start()
            server.start()
            warm_up(server.port, ("/helse", "/konto/logg-inn"))
            worker.wait_ready()
            stats = Stats()
            report["stack_s"] = time.monotonic() - began - report["build_s"] - report["prefill_s"]

            def fault(timings, progress):
                stop_redis(redis_url)
                timings["service_down"] = down = time.monotonic()
                before = progress()
                # Down for ``outage`` seconds, and longer (up to ``max_outage``) until ``submits_while_down``
                # kommuner have had their receipt meanwhile: the outage must meet submissions, however slow
                # the machine is today.
                while time.monotonic() - down < max_outage and (
                        time.monotonic() - down < outage or progress() - before < submits_while_down):
                    time.sleep(0.05)
                timings["submitted_while_down"] = progress() - before
                start_redis(redis_url)
                timings["service_back"] = time.monotonic()

            timings = run_async(_submit_through_fault(server.port, info, remaining, stats, fault, trigger=trigger,
                                                        stagger=stagger, budget=budget, retry=retry, pause=pause))
            report["run_s"] = timings["end"] - timings["start"]
            report.update(_classify(stats, timings, timings.get("service_back", timings["end"])))
            down, back = timings.get("service_down", 0), timings.get("service_back", 0)
            during = [s for s in stats.samples if s.started < back and s.started + s.elapsed > down]
            submits = [s for s in during if s.label == "POST /soknader/:id/send"]
            report["requests_during_outage"] = len(during)
            report["errors_during_outage"] = sum(1 for s in during if s.error)
            report["submits_during_outage"] = len(submits)
            report["submit_max_ms_during_outage"] = max((s.elapsed for s in submits), default=0) * 1000
            report["submit_p50_ms_during_outage"] = percentile(sorted(s.elapsed for s in submits), 50) * 1000
            others = sorted(s.elapsed for s in stats.samples
                            if s.label == "POST /soknader/:id/send" and s not in submits)
            report["submit_p50_ms_otherwise"] = percentile(others, 50) * 1000
            report["submit_max_ms_otherwise"] = (others[-1] if others else 0) * 1000
            # The same for every other request: tells the hand-over's cost from a busy machine's.
            rest = [s for s in stats.samples if s.label != "POST /soknader/:id/send"]
            report["other_p50_ms_during_outage"] = percentile(sorted(s.elapsed for s in rest if s in during), 50) * 1000
            report["other_p50_ms_otherwise"] = percentile(sorted(s.elapsed for s in rest if s not in during), 50) * 1000
            report["outage_s"] = back - down if back else None
            report["receipts_seen_during_outage"] = timings.get("submitted_while_down")
            report["gave_up"] = [(k.email, k.failures[-1]) for k in info["kommuner"] if not k.reference]
            report.update(inspect_submissions(database_url, info))
            started = time.monotonic()
            while True:
                total, sent, at_sink, duplicates = receipt_delivery(database_url, smtp.recorder)
                if (total and sent == total and at_sink == total) or time.monotonic() - started > delivery_wait:
                    break
                if not worker.process or worker.process.poll() is not None or not beat.alive():
                    break
                time.sleep(0.25)
            time.sleep(1.0)  # anything that would arrive twice has had time to
            total, sent, at_sink, duplicates = receipt_delivery(database_url, smtp.recorder)
            report.update(receipts=total, receipts_sent=sent, receipts_at_sink=at_sink, duplicates=duplicates,
                          delivered_s_after_redis_back=(time.monotonic() - back) if back else None,
                          worker_alive=worker.process is not None and worker.process.poll() is None,
                          beat_alive=beat.alive())
            report["log"] = worker.log()[-2000:] + "\n--- beat\n" + beat.log()[-1500:] + "\n--- gunicorn\n" + \
                server.log()[-1500:]
            for process in reversed(processes):
                process.stop()
    finally:
        for process in reversed(processes):
            process.stop()
        ensure_services(server_url, redis_url)
        _forget_keys(redis_url, prefix)
    return report


def _forget_keys(redis_url, prefix):
    try:
        from tests.notify_support import delete_redis_keys

        delete_redis_keys(redis_url, prefix)
    except Exception:  # noqa: BLE001, S110 - Redis was wiped by its restart anyway
        pass
