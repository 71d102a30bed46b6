"""Delivery's fences and caps, on the real database: a worker that lost its notice (given up, or claimed again)
can neither mark it sent nor record a failure over it; what is stored is cut to its limit; and the read that an
attachment loader opens on the ORM session is ended there, while a transaction the caller has open is left alone."""

import smtplib
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from grants.core.timeutil import now_utc
from grants.extensions import db
from grants.notify import delivery
from grants.notify.attachments import LOADERS
from grants.notify.delivery import LeaseLost, claim, deliver, give_up_on_lost_workers
from grants.notify.mailer import close_connection, send_message
from grants.notify.messages import build_message, build_wire
from grants.notify.models import Notice, NoticeState
from grants.notify.outbox import queue_notice
from tests.notify_support import SMTPServer

CONTEXT = {"municipality_name": "Oslo"}


@pytest.fixture
def smtp(app):
    with SMTPServer() as server:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_TIMEOUT=10)
        yield server
        close_connection(polite=False)


@pytest.fixture
def eml(app, tmp_path):
    """No mail server: a sent message is kept as an .eml file."""
    app.config.update(MAIL_SERVER=None, MAIL_DIR=str(tmp_path / "mail"))


def _queue(key, kind="user_approved", context=CONTEXT, **values):
    notice_id = queue_notice(kind, to=f"{key}@kommune.example", key=key, context=context, **values)
    db.session.commit()
    return notice_id


def _row(notice_id):
    db.session.expire_all()
    notice = db.session.get(Notice, notice_id)
    db.session.expunge(notice)
    db.session.commit()
    return notice


def _lease_runs_out(notice_id):
    db.session.execute(update(Notice).where(Notice.id == notice_id)
                       .values(lease_until=now_utc() - timedelta(seconds=1)))
    db.session.commit()


def _given_up_while_sending(app):
    """A worker claims the notice on its last attempt and is so slow that its lease runs out and the sweeper
    gives the notice up. Returns the notice's id and the worker's claimed copy."""
    app.config["OUTBOX_MAX_ATTEMPTS"] = 1
    notice_id = _queue("a")
    slow = claim(notice_id)
    _lease_runs_out(notice_id)
    assert give_up_on_lost_workers() == 1
    db.session.commit()
    return notice_id, slow


# --- a worker that lost its notice -------------------------------------------------------------------------------

def test_a_worker_whose_notice_was_given_up_meanwhile_abandons_its_copy(app, smtp):
    notice_id, slow = _given_up_while_sending(app)
    message = build_wire(slow)
    with pytest.raises(LeaseLost), db.engine.connect() as conn:
        send_message(message, before_end=lambda: delivery._mark_sent(conn, notice_id, slow.attempts, message))
    assert smtp.recorder.count == 0
    notice = _row(notice_id)
    assert notice.state == NoticeState.failed and notice.sent_at is None and notice.message_id is None


def test_a_worker_whose_notice_was_given_up_meanwhile_does_not_record_its_failure_over_it(app):
    notice_id, slow = _given_up_while_sending(app)
    with db.engine.connect() as conn:
        delivery._record_failure(conn, notice_id, slow.attempts, smtplib.SMTPResponseException(451, b"later"),
                                 NoticeState.sending)
    notice = _row(notice_id)
    assert notice.state == NoticeState.failed
    assert notice.last_error == "The worker stopped while sending, 1 times; not tried again."


def test_the_failure_of_an_earlier_claim_leaves_the_new_claim_alone(app):
    notice_id = _queue("a")
    first = claim(notice_id)
    _lease_runs_out(notice_id)
    second = claim(notice_id)
    assert (first.attempts, second.attempts) == (1, 2)
    with db.engine.connect() as conn:
        delivery._record_failure(conn, notice_id, first.attempts, smtplib.SMTPResponseException(451, b"later"),
                                 NoticeState.sending)
    notice = _row(notice_id)
    assert notice.state == NoticeState.sending and notice.attempts == 2
    assert notice.lease_until == second.lease_until and notice.last_error is None


# --- what is stored is cut to its limit --------------------------------------------------------------------------

def test_a_subject_longer_than_its_column_is_stored_cut_to_300_characters(app, eml):
    title = "Utlysning" * 50  # no space anywhere near the cut
    notice_id = _queue("a", kind="round_opened",
                       context={"round_id": 1, "round_title": title, "deadline_at": now_utc().isoformat()})
    assert deliver(notice_id) == NoticeState.sent
    subject = _row(notice_id).subject
    assert len(subject) == 300 and subject.endswith("…")
    assert subject[:-1] in build_message(_row(notice_id))["Subject"]


def test_an_error_text_is_stored_cut_to_2000_characters(app, eml, monkeypatch):
    def broken(ref):
        raise RuntimeError("x" * 3000)

    monkeypatch.setitem(LOADERS, "broken", broken)
    notice_id = _queue("a", attachments=[{"type": "broken"}])
    assert deliver(notice_id) == NoticeState.pending
    assert _row(notice_id).last_error == "RuntimeError: " + "x" * 1986


# --- an attachment read through the ORM session ------------------------------------------------------------------

@pytest.fixture
def reading_loader(monkeypatch):
    """An attachment loader that reads through the ORM session, as the decision letter's does."""
    def load(ref):
        count = db.session.scalar(select(func.count()).select_from(Notice))
        return f"notices-{count}.txt", "text/plain", b"x"

    monkeypatch.setitem(LOADERS, "reading", load)


def test_the_read_an_attachment_loader_opens_on_the_session_is_ended_there(app, reading_loader):
    notice = _row(_queue("a", attachments=[{"type": "reading"}]))
    assert not db.session().in_transaction()
    assert delivery._load_attachments(notice) == [("notices-1.txt", "text/plain", b"x")]
    # Left open, on SQLite it would hold the write lock against the mark on delivery's own connection.
    assert not db.session().in_transaction()


def test_a_transaction_the_caller_has_open_is_left_to_the_caller(app, reading_loader):
    notice = _row(_queue("a", attachments=[{"type": "reading"}]))
    queue_notice("user_approved", to="b@kommune.example", key="b", context=CONTEXT)  # not committed yet
    assert delivery._load_attachments(notice) == [("notices-2.txt", "text/plain", b"x")]
    assert db.session().in_transaction()
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 2
    db.session.rollback()
