"""Helpers for the notice tests and the benchmark: an SMTP server that records (or refuses, or holds back its
answer), a real Celery worker in a subprocess configured only through the environment, and wait_until."""

import asyncio
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
CELERY = ROOT / ".venv" / "bin" / "celery"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout=30.0, interval=0.05, message="condition"):
    """Poll ``predicate`` until it returns something true; return that, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class Recorder:
    """An aiosmtpd handler. It accepts and records every message, or refuses with ``refuse`` = (code, text) at the
    end of DATA (after the client has handed over the whole message), and records each attempt either way.

    ``hold_after(n)``: from the n-th accepted message on, the message is accepted (recorded) at once but the
    "250" answer waits until ``release()`` - a server that takes its time, which is where a sender spends most
    of its life. A client that dies meanwhile has had its message accepted, as with any real MTA.
    """

    def __init__(self, parse=True):
        self.parse = parse
        self.lock = threading.Lock()
        self.messages = []  # parsed messages (or raw bytes when parse=False), accepted
        self.message_ids = Counter()
        self.attempts = []  # (monotonic time, Message-ID, accepted?)
        self.refuse = None
        self._hold_from = None
        self._released = threading.Event()
        self.held = 0

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        message_id = _header(content, b"message-id")
        now = time.monotonic()
        with self.lock:
            refuse = self.refuse
            self.attempts.append((now, message_id, refuse is None))
            if refuse is None:
                self.message_ids[message_id] += 1
                self.messages.append(message_from_bytes(content, policy=policy.default) if self.parse else content)
                hold = self._hold_from is not None and len(self.messages) > self._hold_from
                if hold:
                    self.held += 1
            else:
                hold = False
        if refuse is not None:
            return f"{refuse[0]} {refuse[1]}"
        if hold:
            while not self._released.is_set():
                await asyncio.sleep(0.02)
        return "250 Message accepted for delivery"

    def hold_after(self, count):
        self._released.clear()
        self._hold_from = count

    def release(self):
        self._hold_from = None
        self._released.set()

    @property
    def count(self):
        with self.lock:
            return len(self.messages)

    def duplicates(self):
        with self.lock:
            return {mid: n for mid, n in self.message_ids.items() if n > 1}


def _header(content, name):
    """One header's value from raw message bytes, without parsing the whole message (fast for the bench)."""
    head = content.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    for line in head.split(b"\n"):
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip().decode("ascii", "replace")
    return None


class SMTPServer:
    """A Recorder behind aiosmtpd on 127.0.0.1 and a free port, in this process (its own thread)."""

    def __init__(self, recorder=None):
        self.recorder = recorder or Recorder()
        self.port = free_port()
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port,
                                     data_size_limit=10 * 1024 * 1024)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.recorder.release()
        try:
            self.controller.stop()
        except AssertionError:  # stopped already (a test that takes the server down on purpose)
            pass


def worker_env(database_url, broker_url, smtp_port, instance_dir, *, prefix=None, **settings):
    """The environment of a worker process: everything through the variables config.py reads."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTBOX_", "MAIL_", "CELERY_"))}
    env.update({
        "GRANTS_CONFIG": "development",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "MAIL_TIMEOUT": "10",
        "SECRET_KEY": uuid.uuid4().hex * 2,
        "GRANTS_INSTANCE_DIR": str(instance_dir),
        "PYTHONPATH": str(ROOT),
        "RATELIMIT_STORAGE_URI": "memory://",
        "OUTBOX_DISPATCH_AFTER_COMMIT": "false",
    })
    if prefix:
        env["CELERY_KEY_PREFIX"] = prefix
    env.update({k: str(v) for k, v in settings.items()})
    return env


class Worker:
    """``celery -A make_celery worker`` as a subprocess in its own process group (so SIGKILL takes it all)."""

    def __init__(self, env, log_path, concurrency=2, queues="default,mail,heavy", loglevel="INFO"):
        self.env = env
        self.loglevel = loglevel
        self.log_path = Path(log_path)
        self.concurrency = concurrency
        self.queues = queues
        self.process = None

    def start(self, wait=True):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._offset = self.log_path.stat().st_size
        command = [
            str(CELERY), "-A", "make_celery", "worker", "-Q", self.queues,
            "--concurrency", str(self.concurrency), "--pool", "prefork", "--loglevel", self.loglevel,
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-n", f"notify-{uuid.uuid4().hex[:8]}@%h",
        ]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        if wait:
            self.wait_ready()
        return self

    def log(self):
        return self.log_path.read_bytes()[self._offset:].decode("utf-8", "replace")

    def alive(self):
        if self.process.poll() is not None:
            raise AssertionError(f"the worker exited with {self.process.returncode}:\n{self.log()[-4000:]}")
        return True

    def wait_ready(self, timeout=60):
        """Until the worker logs that it is ready (needs loglevel INFO)."""

        def ready():
            return self.alive() and " ready." in self.log()

        wait_until(ready, timeout=timeout, interval=0.1, message="the Celery worker to be ready")

    def kill(self):
        """SIGKILL the whole process group: the main process and every pool child, with no chance to clean up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        """Warm shutdown (SIGTERM to the main process, which stops its children), SIGKILL if it takes long."""
        if self.process is None or self.process.poll() is not None:
            self._close_log()
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._close_log()

    def _close_log(self):
        log = getattr(self, "_log", None)
        if log is not None and not log.closed:
            log.close()


def delete_redis_keys(redis_url, prefix):
    """Remove every key of one test's broker prefix (the database may be shared with other runs)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start:start + 500])
    finally:
        client.close()


def drain_mail_queue(app):
    """Take every message out of the mail queue of ``app``'s broker; the notice-id lists they carried."""
    celery = app.extensions["celery"]
    found = []
    with celery.connection_for_read() as connection:
        queue = connection.SimpleQueue("mail")
        try:
            while True:
                try:
                    message = queue.get(timeout=0.5)
                except queue.Empty:
                    break
                found.append(message.decode()[0][0])
                message.ack()
        finally:
            queue.close()
    return found
