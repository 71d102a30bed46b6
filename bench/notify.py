"""Notices through Redis and a real Celery worker (four prefork processes) to a local SMTP sink, on PostgreSQL.

    .venv/bin/python bench/notify.py [--notices 10000] [--noop 10000] [--concurrency 4]

--concurrency is the worker's number of processes, for the no-op tasks and the notices alike; the default is the
README's production command (``--concurrency 4``). A notice waits on the SMTP server and the database for about
half its time (the worker's processes used under half the two cores at two processes, measured with /proc while
this ran), so more processes overlap those waits; the no-op tasks use the cores whole at either setting.

DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test) names the server: the bench creates a database
of its own there and drops it at the end. REDIS_URL (default redis://127.0.0.1:6379/15) is the broker, used under
a key prefix of this run's own. The SMTP sink is aiosmtpd in this process; it counts messages by Message-ID.

It prints the notices per second, the same for a no-op task through the same queue and worker, their ratio, and
how many notices were lost or arrived twice, then one line of name=value figures.
"""

import argparse
import os
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from tests.notify_support import Recorder, SMTPServer, Worker, delete_redis_keys, wait_until, worker_env  # noqa: E402

QUEUE = "mail"


def _pg_url(url):
    for old in ("postgres://", "postgresql://"):
        if url.startswith(old):
            return "postgresql+psycopg://" + url[len(old):]
    return url


@contextmanager
def scratch_database(server_url):
    """A new PostgreSQL database for this run, dropped at the end."""
    url = sa.make_url(_pg_url(server_url))
    name = f"grants_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def notice_id(message_id):
    """The notice id in a Message-ID of the form <notice-ID-DIGEST@domain>."""
    try:
        return int(message_id.strip("<>").split("-")[1])
    except (AttributeError, IndexError, ValueError):
        return None


def queue_depth(client, prefix):
    """Messages still waiting in the queue plus those taken but not yet acknowledged."""
    return client.llen(f"{prefix}{QUEUE}") + client.hlen(f"{prefix}unacked")


def run_noop(app, client, prefix, count, worker):
    import grants.notify.tasks  # noqa: F401 - registers the tasks

    celery = app.extensions["celery"]
    task = celery.tasks["grants.notify.tasks.noop"]
    started = time.perf_counter()
    with celery.producer_or_acquire() as producer:
        for n in range(count):
            task.apply_async((n,), queue=QUEUE, producer=producer)
    enqueued = time.perf_counter() - started
    wait_until(lambda: worker.alive() and queue_depth(client, prefix) == 0, timeout=600, interval=0.02,
               message="the no-op tasks")
    return count / (time.perf_counter() - started), enqueued


def insert_notices(app, count, run_id):
    from grants.extensions import db
    from grants.notify.models import Notice

    now = datetime.now(UTC)
    rows = [
        {"key": f"bench:{run_id}:{n}", "kind": "user_approved", "recipient_email": f"person{n}@kommune.example",
         "recipient_name": f"Person {n}", "language": ("nb", "nn", "en")[n % 3],
         "context": {"municipality_name": "Oslo", "municipality_admin": n % 2 == 0},
         "state": "pending", "attempts": 0, "created_at": now, "next_attempt_at": now, "dispatched_at": now}
        for n in range(count)
    ]
    with app.app_context():
        db.session.execute(sa.insert(Notice), rows)
        db.session.commit()
        return db.session.scalars(sa.select(Notice.id).where(Notice.key.like(f"bench:{run_id}:%"))
                                  .order_by(Notice.id)).all()


def count_states(app):
    from grants.extensions import db
    from grants.notify.models import Notice

    with app.app_context():
        rows = db.session.execute(sa.select(Notice.state, sa.func.count()).group_by(Notice.state)).all()
        db.session.remove()
    return {str(state): n for state, n in rows}


def run_notices(app, smtp, ids):
    from grants.notify.outbox import dispatch

    started = time.perf_counter()
    with app.app_context():
        handed = dispatch(ids)
    enqueued = time.perf_counter() - started
    assert handed == len(ids), f"only {handed} of {len(ids)} handed to the broker"
    wait_until(lambda: smtp.recorder.count >= len(ids) and count_states(app).get("sent") == len(ids),
               timeout=900, interval=0.05, message="every notice sent")
    return len(ids) / (time.perf_counter() - started), enqueued


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notices", type=int, default=10_000)
    parser.add_argument("--noop", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--loglevel", default="WARNING", help="the worker's log level")
    parser.add_argument("--keep-log", action="store_true", help="print where the worker's log is")
    args = parser.parse_args()

    server_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    prefix = f"grants-bench-{uuid.uuid4().hex[:10]}:"
    run_id = uuid.uuid4().hex[:8]
    instance = Path(os.environ.get("TMPDIR", "/tmp")) / f"grants-bench-{run_id}"
    instance.mkdir(parents=True, exist_ok=True)

    from flask_migrate import upgrade

    from grants import create_app

    client = redis.Redis.from_url(redis_url)
    with scratch_database(server_url) as database_url, SMTPServer(Recorder(parse=False)) as smtp:
        app = create_app("development", SQLALCHEMY_DATABASE_URI=database_url, CELERY_BROKER_URL=redis_url,
                         CELERY_KEY_PREFIX=prefix, OUTBOX_DISPATCH_AFTER_COMMIT=False,
                         MAIL_DIR=str(instance / "mail"), RATELIMIT_STORAGE_URI="memory://")
        with app.app_context():
            upgrade()
        env = worker_env(database_url, redis_url, smtp.port, instance, prefix=prefix)
        worker = Worker(env, instance / "worker.log", concurrency=args.concurrency, queues=QUEUE,
                        loglevel=args.loglevel)
        try:
            worker.start(wait=False)
            run_noop(app, client, prefix, 200, worker)  # warm-up: the worker is up, every child has connected
            noop_rps, noop_enqueue = run_noop(app, client, prefix, args.noop, worker)
            ids = insert_notices(app, args.notices, run_id)
            notice_rps, notice_enqueue = run_notices(app, smtp, ids)
            time.sleep(1.0)  # anything that would arrive twice has had time to
        finally:
            worker.stop()
            delete_redis_keys(redis_url, prefix)
            client.close()
        states = count_states(app)
        received = smtp.recorder.message_ids
        lost = len(set(ids) - {notice_id(mid) for mid in received})
        duplicates = sum(n - 1 for n in received.values() if n > 1)
        with app.app_context():
            from grants.extensions import db

            db.session.remove()
            db.engine.dispose()

    ratio = notice_rps / noop_rps
    print(f"PostgreSQL + Redis, {args.concurrency} worker processes, SMTP sink in process")
    print(f"no-op tasks : {args.noop:6d} in {args.noop / noop_rps:6.2f} s = {noop_rps:8.1f}/s "
          f"(enqueued in {noop_enqueue:.2f} s)")
    print(f"notices     : {args.notices:6d} in {args.notices / notice_rps:6.2f} s = {notice_rps:8.1f}/s "
          f"(enqueued in {notice_enqueue:.2f} s)")
    print(f"ratio       : {ratio:.3f} of the no-op rate")
    print(f"outbox      : {states}")
    print(f"SMTP sink   : {sum(received.values())} messages, {len(received)} Message-IDs, lost {lost}, "
          f"duplicates {duplicates}")
    if args.keep_log:
        print(f"worker log  : {instance / 'worker.log'}")
    print(f"notices={args.notices} notice_rps={notice_rps:.1f} noop_rps={noop_rps:.1f} ratio={ratio:.3f} "
          f"lost={lost} duplicates={duplicates}")
    return 0 if lost == 0 and duplicates == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
