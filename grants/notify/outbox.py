"""Writing notices into the outbox, and handing their ids to Celery once the transaction commits."""

import logging
import uuid

from flask import current_app
from sqlalchemy import event, insert, select
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


def queue_notice(kind, *, to, language="nb", context=None, key=None, user=None, name=None, attachments=None):
    """Add a notice to the outbox in the current transaction. Returns its id, or None if the key exists."""
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
        "next_attempt_at": now_utc(),
    }
    notice_id = _insert_ignoring_duplicates(values)
    if notice_id is not None:
        db.session.info.setdefault(_PENDING_KEY, []).append(notice_id)
    return notice_id


def notice_exists(key):
    return db.session.scalar(select(Notice.id).where(Notice.key == key)) is not None


def dispatch(notice_ids):
    """Hand notice ids to Celery. A broker that is down loses nothing: the sweeper sends them later."""
    from grants.notify.tasks import send_notice

    sent = 0
    for notice_id in notice_ids:
        try:
            send_notice.apply_async((notice_id,), retry=False)
            sent += 1
        except Exception as exc:  # broker unreachable: leave it to the sweeper
            log.warning("could not hand notice %s to the broker: %s", notice_id, exc)
            break
    return sent


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
