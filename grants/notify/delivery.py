"""Delivering one notice exactly once: claim with a conditional update, send, then mark it sent."""

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from grants.core.timeutil import now_utc
from grants.extensions import db
from grants.notify.mailer import send_message
from grants.notify.messages import build_message, message_id_for
from grants.notify.models import Notice, NoticeState

log = logging.getLogger(__name__)


def claim(notice_id):
    """Move a due notice to "sending" with a lease. True only for the one caller that wins."""
    now = now_utc()
    lease = now + timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    result = db.session.execute(
        update(Notice)
        .where(
            Notice.id == notice_id,
            or_(
                (Notice.state == NoticeState.pending) & (Notice.next_attempt_at <= now),
                (Notice.state == NoticeState.sending) & (Notice.lease_until < now),
            ),
        )
        .values(state=NoticeState.sending, lease_until=lease, attempts=Notice.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def backoff(attempts):
    """Seconds to wait before the next attempt: doubling from OUTBOX_BACKOFF_SECONDS."""
    return current_app.config["OUTBOX_BACKOFF_SECONDS"] * 2 ** max(attempts - 1, 0)


def deliver(notice_id):
    """Send one notice if it is due. Returns the state it ends in, or None if another worker has it."""
    if not claim(notice_id):
        return None
    notice = db.session.get(Notice, notice_id)
    try:
        from grants.notify.attachments import load_attachments

        message = build_message(notice, load_attachments(notice))
        send_message(message)
    except Exception as exc:  # any failure counts as an attempt
        db.session.rollback()
        notice = db.session.get(Notice, notice_id)
        final = notice.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]
        notice.state = NoticeState.failed if final else NoticeState.pending
        notice.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        notice.lease_until = None
        notice.next_attempt_at = now_utc() + timedelta(seconds=backoff(notice.attempts))
        notice.dispatched_at = None
        db.session.commit()
        log.warning("notice %s attempt %s failed: %s", notice_id, notice.attempts, exc)
        return notice.state
    notice.state = NoticeState.sent
    notice.sent_at = now_utc()
    notice.lease_until = None
    notice.message_id = message_id_for(notice)
    notice.subject = str(message["Subject"])
    notice.body_text = message.get_body(("plain",)).get_content()
    notice.last_error = None
    db.session.commit()
    return notice.state


def due_for_dispatch(limit=500):
    """Ids of notices that should be (re)handed to a worker: pending and due, or with an expired lease."""
    now = now_utc()
    stale = now - timedelta(seconds=current_app.config["OUTBOX_STALE_SECONDS"])
    return db.session.scalars(
        select(Notice.id)
        .where(
            or_(
                # Due, and either never handed over (a retry, or a row whose after-commit hand-over was
                # lost) or handed over so long ago that the message must have been lost with the broker.
                (Notice.state == NoticeState.pending)
                & (Notice.next_attempt_at <= now)
                & or_(
                    Notice.dispatched_at.is_(None) & ((Notice.attempts > 0) | (Notice.created_at < stale)),
                    Notice.dispatched_at < stale,
                ),
                (Notice.state == NoticeState.sending) & (Notice.lease_until < now),
            )
        )
        .order_by(Notice.id)
        .limit(limit)
    ).all()


def mark_dispatched(ids):
    if ids:
        db.session.execute(
            update(Notice).where(Notice.id.in_(ids)).values(dispatched_at=now_utc())
            .execution_options(synchronize_session=False)
        )


def resend(notice, actor):
    """An administrator sends a failed notice again."""
    from grants.core import audit

    notice.state = NoticeState.pending
    notice.attempts = 0
    notice.next_attempt_at = now_utc()
    notice.dispatched_at = None
    notice.lease_until = None
    audit.record(actor, notice, "resend", from_state="failed", to_state="pending")
    db.session.info.setdefault("outbox_dispatch", []).append(notice.id)
