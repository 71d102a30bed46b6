"""Writing notices into the outbox, and handing their ids to Celery once the transaction commits."""

import logging
import uuid

from flask import current_app
from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session

from grants.core.timeutil import now_utc
from grants.extensions import db
from grants.notify.models import Notice

log = logging.getLogger(__name__)
_PENDING_KEY = "outbox_dispatch"


def _insert_ignoring_duplicates(values):
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - only PostgreSQL and SQLite are supported
        dialect_insert = insert
    statement = dialect_insert(Notice).values(**values).on_conflict_do_nothing(index_elements=["key"])
    return db.session.execute(statement.returning(Notice.id)).scalar()


def queue_notice(kind, *, to, language="nb", context=None, key=None, user=None, name=None, attachments=None,
                 held=False):
    """Add a notice to the outbox in the current transaction. Returns its id, or None if the key exists.

    ``held``: the notice waits, neither dispatched nor swept, until ``release_held`` is called for its key (for
    example a decision notice until its letter is made)."""
    address = (to or "").replace("\r", "").replace("\n", "").strip()
    if not address:
        return None
    db.session.flush()
    values = {
        "key": key or f"{kind}:{uuid.uuid4()}",
        "kind": kind,
        "recipient_email": address,
        "recipient_name": (name or getattr(user, "name", None) or "").replace("\r", " ").replace("\n", " ") or None,
        "user_id": getattr(user, "id", None),
        "language": language if language in ("nb", "nn", "en") else "nb",
        "context": context or {},
        "attachments": attachments,
        "state": "pending",
        "attempts": 0,
        "created_at": now_utc(),
        "next_attempt_at": None if held else now_utc(),
        # Handed to the broker when this transaction commits; if that fails, the sweeper finds the row once
        # OUTBOX_STALE_SECONDS have passed. Without after-commit dispatch the next sweep takes it at once.
        "dispatched_at": now_utc() if current_app.config.get("OUTBOX_DISPATCH_AFTER_COMMIT") and not held else None,
    }
    notice_id = _insert_ignoring_duplicates(values)
    if notice_id is not None and not held:
        db.session.info.setdefault(_PENDING_KEY, []).append(notice_id)
    return notice_id


def release_held(key_prefix):
    """Let the held notices whose key starts with ``key_prefix`` (str) go: due now, and handed to Celery once the
    current transaction commits. Returns how many were released (0 if none was held)."""
    now = now_utc()
    dispatched = now if current_app.config.get("OUTBOX_DISPATCH_AFTER_COMMIT") else None
    ids = db.session.scalars(
        update(Notice)
        .where(Notice.key.startswith(key_prefix, autoescape=True), Notice.state == "pending",
               Notice.next_attempt_at.is_(None))
        .values(next_attempt_at=now, dispatched_at=dispatched)
        .returning(Notice.id)
        .execution_options(synchronize_session=False)
    ).all()
    if ids:
        db.session.info.setdefault(_PENDING_KEY, []).extend(ids)
    return len(ids)


def notice_exists(key):
    return db.session.scalar(select(Notice.id).where(Notice.key == key)) is not None


def dispatch(notice_ids):
    """Hand notice ids to this app's Celery broker, over one connection, OUTBOX_TASK_BATCH ids to a task.
    Returns how many ids were handed over (a batch counts once it is in the broker).

    A batch is delivered one notice after the other by one worker process on one database and one SMTP
    connection; what a task costs the broker and the worker is paid once per batch instead of once per notice.
    A small batch (the two receipts of a submission) is one task.

    A broker that is down loses nothing: the first failure stops the hand-over and the sweeper sends the rest
    later. Never called inside a transaction that has not committed (the worker would not find the rows).
    """
    notice_ids = list(notice_ids)
    if not notice_ids:
        return 0
    from grants.notify import tasks as _registers_the_tasks  # noqa: F401

    celery = current_app.extensions["celery"]
    task = celery.tasks["grants.notify.tasks.send_notice"]
    size = max(int(current_app.config.get("OUTBOX_TASK_BATCH") or 1), 1)
    sent = 0
    try:
        with celery.producer_or_acquire() as producer:
            for start in range(0, len(notice_ids), size):
                batch = notice_ids[start:start + size]
                task.apply_async((batch,), retry=False, producer=producer)
                sent += len(batch)
    except Exception as exc:  # broker unreachable: leave it to the sweeper
        log.warning("could not hand notices to the broker (%s of %s handed over): %s", sent, len(notice_ids), exc)
    return sent


def broker_backlog():
    """How many messages wait in the queue that notices go to (0 if it doesn't exist, None if unknown)."""
    from grants.notify import tasks as _registers_the_tasks  # noqa: F401

    celery = current_app.extensions["celery"]
    queue = celery.amqp.router.route({}, "grants.notify.tasks.send_notice")["queue"].name
    try:
        with celery.connection_for_read() as connection:
            # Not passive: kombu's Redis transport can't tell that a queue exists under a global key prefix. The
            # workers declare the same queue anyway.
            return connection.default_channel.queue_declare(queue=queue, durable=True, auto_delete=False).message_count
    except Exception as exc:  # the broker is down: the dispatch will find out too
        log.warning("could not ask the broker about its queue %s: %s", queue, exc)
        return None


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session):
    ids = session.info.pop(_PENDING_KEY, None)
    if not ids:
        return
    try:
        app = current_app._get_current_object()
    except RuntimeError:
        return
    if app.config.get("OUTBOX_DISPATCH_AFTER_COMMIT"):
        dispatch(ids)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session):
    session.info.pop(_PENDING_KEY, None)
