"""Delivering one notice exactly once.

1. Claim: a conditional UPDATE moves a due row to "sending", counts the attempt and sets a lease. Of any number of
   workers holding the same id, one wins. The attempt number is the claim's fencing token.
2. Render and hand the message to the SMTP server, all but the final ".".
3. Mark it sent (a conditional UPDATE on "sending" and this attempt number) and commit; only then the final ".".
   A worker whose lease ran out and whose row was claimed again fails this UPDATE and abandons its message.
4. A refusal after the mark puts the row back (pending with a backoff, or failed).

A retry is never a task in the future: a failure sets ``next_attempt_at`` and the beat sweeper hands the row to
the broker again when it is due. The sweeper also re-dispatches rows whose after-commit hand-over was lost (a
broker that was down) and rows whose lease ran out (a worker that died), and gives up on a row whose workers
died too often (a poison message).
"""

import logging
import smtplib
from contextlib import contextmanager, nullcontext
from datetime import timedelta

from flask import current_app, has_request_context
from sqlalchemy import bindparam, or_, select, update

from grants.core.text import shorten
from grants.core.timeutil import now_utc
from grants.extensions import db
from grants.notify.mailer import send_message
from grants.notify.messages import InvalidAddress, build_wire
from grants.notify.models import Notice, NoticeState

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another worker claimed the notice again after this worker's lease ran out."""


# Delivery runs on Core (one connection per batch of notices, two short transactions per notice) and no ORM: at
# hundreds of notices a second the ORM's bookkeeping cost more than the database itself.
_TABLE = Notice.__table__
_CLAIMED_COLUMNS = [_TABLE.c[name] for name in (
    "id", "key", "kind", "recipient_email", "recipient_name", "user_id", "language", "context", "attachments",
    "attempts", "created_at")]


@contextmanager
def _transaction(conn):
    """One transaction on ``conn`` around a single statement. On PostgreSQL the connection is in autocommit mode
    (see _connection), so the statement is its own transaction: one round trip instead of BEGIN, statement,
    COMMIT (and durable, like any commit)."""
    if conn.dialect.name == "postgresql":
        yield
    else:
        with conn.begin():
            yield


@contextmanager
def _connection(conn=None):
    """A connection for delivery: autocommit on PostgreSQL (each statement commits, durably)."""
    if conn is not None:
        yield conn
        return
    with db.engine.connect() as own:
        if own.dialect.name == "postgresql":
            own = own.execution_options(isolation_level="AUTOCOMMIT")
        yield own


# The two statements every notice runs, built once: SQLAlchemy then only binds their values, instead of building
# and keying a new statement for each notice (a third of the claim's own time, measured in bench/notify.py's
# worker by cProfile).
_CLAIM = (
    update(_TABLE)
    .where(
        _TABLE.c.id == bindparam("notice_id"),
        or_(
            (_TABLE.c.state == NoticeState.pending) & (_TABLE.c.next_attempt_at <= bindparam("now")),
            # A worker died holding it: take it over, unless workers died on it too often.
            (_TABLE.c.state == NoticeState.sending) & (_TABLE.c.lease_until < bindparam("now"))
            & (_TABLE.c.attempts < bindparam("max_attempts")),
        ),
    )
    .values(state=NoticeState.sending, lease_until=bindparam("lease"), attempts=_TABLE.c.attempts + 1)
    .returning(*_CLAIMED_COLUMNS)
)
_MARK_SENT = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("notice_id"), _TABLE.c.state == NoticeState.sending,
           _TABLE.c.attempts == bindparam("attempt"))
    .values(state=NoticeState.sent, sent_at=bindparam("sent_at"), lease_until=None, last_error=None,
            message_id=bindparam("message_id_value"), subject=bindparam("subject_value"),
            body_text=bindparam("body_text_value"))
)


def claim(notice_id, conn=None):
    """Move a due notice to "sending" with a lease. Returns the claimed Notice (transient, not in a session)
    for the one caller that wins, else None. Its ``attempts`` is this claim's fencing token."""
    config = current_app.config
    now = now_utc()
    lease = now + timedelta(seconds=config["OUTBOX_LEASE_SECONDS"])
    values = {"notice_id": notice_id, "now": now, "lease": lease, "max_attempts": config["OUTBOX_MAX_ATTEMPTS"]}
    with _connection(conn) as conn, _transaction(conn):
        row = conn.execute(_CLAIM, values).mappings().one_or_none()
    if row is None:
        return None
    return Notice(**row, state=NoticeState.sending, lease_until=lease)


def backoff(attempts):
    """Seconds to wait before the next attempt: doubling from OUTBOX_BACKOFF_SECONDS."""
    return current_app.config["OUTBOX_BACKOFF_SECONDS"] * 2 ** max(attempts - 1, 0)


def is_permanent(exc):
    """A refusal that another attempt cannot change: an SMTP 5xx reply, or an address that can't be written."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _reply in exc.recipients.values()]
        return not codes or all(500 <= code < 600 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600
    return isinstance(exc, InvalidAddress)


def _mark_sent(conn, notice_id, attempt, message):
    """Record the notice as sent, if this worker's claim still holds. Durable before the server may accept it.
    ``message`` is the Outgoing (grants.notify.messages.build_wire) about to be accepted."""
    with _transaction(conn):
        result = conn.execute(_MARK_SENT, {
            "notice_id": notice_id, "attempt": attempt, "sent_at": now_utc(), "message_id_value": message.message_id,
            "subject_value": shorten(message.subject, 300), "body_text_value": message.text,
        })
    if result.rowcount != 1:
        raise LeaseLost(notice_id)


def _record_failure(conn, notice_id, attempt, exc, from_state):
    """Count a failed attempt: pending again after a backoff, or failed for good. Fenced like the mark."""
    if conn.in_transaction() and conn.dialect.name != "postgresql":
        conn.rollback()
    final = is_permanent(exc) or attempt >= current_app.config["OUTBOX_MAX_ATTEMPTS"]
    state = NoticeState.failed if final else NoticeState.pending
    with _transaction(conn):
        conn.execute(
            update(_TABLE)
            .where(_TABLE.c.id == notice_id, _TABLE.c.state == from_state, _TABLE.c.attempts == attempt)
            .values(state=state, last_error=f"{type(exc).__name__}: {exc}"[:2000], lease_until=None,
                    sent_at=None, next_attempt_at=now_utc() + timedelta(seconds=backoff(attempt)),
                    dispatched_at=None)
        )
    log.warning("notice %s attempt %s failed (%s): %s", notice_id, attempt, state, exc)
    return state


def _load_attachments(notice):
    """The notice's files. A loader may read through the ORM session (the decision letter does); the transaction
    that read opened is ended here. On SQLite every transaction is BEGIN IMMEDIATE and holds the write lock, so
    left open it would block the mark below, on this very thread, until the busy timeout."""
    from grants.notify.attachments import load_attachments

    session = db.session()
    opened_here = not session.in_transaction()
    try:
        return load_attachments(notice)
    finally:
        if opened_here and session.in_transaction():
            session.rollback()  # only read: nothing to keep


def deliver_many(notice_ids):
    """Send each of the notices that is due, one after the other, on one database connection and (outside a
    request) one request context for the links. Each is claimed, sent and marked on its own, exactly as
    ``deliver`` does it: a worker that dies in the middle leaves the rest pending for the sweeper. Returns the
    state each ended in (None for one another worker has, or that could not be tried)."""
    outside = nullcontext() if has_request_context() else current_app.test_request_context(
        base_url=current_app.config["PUBLIC_BASE_URL"])
    states = []
    with outside, _connection() as conn:
        for notice_id in notice_ids:
            try:
                states.append(deliver(notice_id, conn))
            except Exception:
                # The database refused the claim or the record of a failure (locked, restarting). The notice is
                # still pending or held under its lease, and the sweeper hands it over again; the rest of the
                # batch goes on rather than waiting with it.
                log.exception("notice %s could not be delivered in its batch; left to the sweeper", notice_id)
                if conn.in_transaction():
                    try:
                        conn.rollback()
                    except Exception:  # noqa: S110 - a connection that is gone; the pool replaces it
                        pass
                states.append(None)
    return states


def deliver(notice_id, conn=None):
    """Send one notice if it is due. Returns the state it ends in, or None if another worker has it."""
    with _connection(conn) as conn:
        notice = claim(notice_id, conn)
        if notice is None:
            return None
        attempt = notice.attempts
        try:
            message = build_wire(notice, _load_attachments(notice))
        except Exception as exc:
            return _record_failure(conn, notice_id, attempt, exc, NoticeState.sending)

        marked = False

        def mark():
            nonlocal marked
            _mark_sent(conn, notice_id, attempt, message)
            marked = True

        try:
            send_message(message, before_end=mark)
        except LeaseLost:
            log.warning("notice %s: lease lost to another worker; this copy was abandoned", notice_id)
            return None
        except Exception as exc:
            return _record_failure(conn, notice_id, attempt, exc,
                                   NoticeState.sent if marked else NoticeState.sending)
        return NoticeState.sent


def _stale():
    return now_utc() - timedelta(seconds=current_app.config["OUTBOX_STALE_SECONDS"])


def due_for_dispatch(limit=500, backlog=0):
    """Ids of notices that should be (re)handed to a worker: pending and due, or with an expired lease.

    A pending row that was handed over already is handed over again only when that is OUTBOX_STALE_SECONDS
    ago and the broker's queue is empty (``backlog`` 0): while messages wait in the queue, its message is most
    likely among them, and a copy would only lengthen the queue. After ten times that, it goes anyway (its
    message may have been lost while the queue never emptied).
    """
    now = now_utc()
    stale_seconds = current_app.config["OUTBOX_STALE_SECONDS"]
    stale = now - timedelta(seconds=stale_seconds)
    handed_before = now - timedelta(seconds=stale_seconds * 10) if backlog else stale
    return db.session.scalars(
        select(Notice.id)
        .where(
            or_(
                # Due, and either never handed over (a retry, a resend, no after-commit dispatch) or handed
                # over so long ago that the hand-over failed or the message was lost with the broker.
                (Notice.state == NoticeState.pending)
                & (Notice.next_attempt_at <= now)
                & or_(Notice.dispatched_at.is_(None), Notice.dispatched_at < handed_before),
                # Claimed by a worker that is gone: hand it over once per expired lease.
                (Notice.state == NoticeState.sending)
                & (Notice.lease_until < now)
                & (Notice.attempts < current_app.config["OUTBOX_MAX_ATTEMPTS"])
                & or_(Notice.dispatched_at.is_(None), Notice.dispatched_at < Notice.lease_until,
                      Notice.dispatched_at < stale),
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


def give_up_on_lost_workers():
    """Rows whose workers died on every attempt (a message that kills its worker) fail instead of looping."""
    max_attempts = current_app.config["OUTBOX_MAX_ATTEMPTS"]
    result = db.session.execute(
        update(Notice)
        .where(Notice.state == NoticeState.sending, Notice.lease_until < now_utc(),
               Notice.attempts >= max_attempts)
        .values(state=NoticeState.failed, lease_until=None,
                last_error=f"The worker stopped while sending, {max_attempts} times; not tried again.")
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def sweep(batch=500, most=20_000):
    """Hand every notice that is due and not in a worker's hands to the broker again. Commits per batch;
    stops at a broker failure (the next sweep goes on). Returns how many ids were handed over."""
    from grants.notify.outbox import broker_backlog, dispatch

    give_up_on_lost_workers()
    db.session.commit()
    backlog = broker_backlog()
    handed_total = 0
    while handed_total < most:
        ids = due_for_dispatch(limit=batch, backlog=backlog)
        handed = dispatch(ids)
        mark_dispatched(ids[:handed])
        db.session.commit()
        handed_total += handed
        if handed < len(ids) or len(ids) < batch:
            break
    return handed_total


def resend(notice, actor):
    """An administrator sends a failed notice again."""
    from grants.core import audit

    notice.state = NoticeState.pending
    notice.attempts = 0
    notice.next_attempt_at = now_utc()
    notice.dispatched_at = now_utc() if current_app.config.get("OUTBOX_DISPATCH_AFTER_COMMIT") else None
    notice.lease_until = None
    notice.sent_at = None
    audit.record(actor, notice, "resend", from_state="failed", to_state="pending")
    db.session.info.setdefault("outbox_dispatch", []).append(notice.id)

