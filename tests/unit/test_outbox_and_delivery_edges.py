"""The outbox and delivery at their edges, on the real database: what a queued row holds, the hand-over to the
broker, the claim at the exact moment a row falls due or its lease runs out, the fence that marks only the
claimed row, what a failure records, and which SMTP replies are final."""

import smtplib
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from grants.core.timeutil import at_moment, now_utc
from grants.extensions import db
from grants.notify import delivery, outbox
from grants.notify.delivery import claim, deliver, is_permanent
from grants.notify.mailer import close_connection
from grants.notify.messages import InvalidAddress
from grants.notify.models import Notice, NoticeState
from grants.notify.outbox import notice_exists, queue_notice
from tests.factories import UserFactory
from tests.notify_support import SMTPServer, drain_mail_queue

CONTEXT = {"municipality_name": "Oslo"}


@pytest.fixture
def smtp(app):
    with SMTPServer() as server:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_TIMEOUT=10,
                          OUTBOX_MAX_ATTEMPTS=4, OUTBOX_BACKOFF_SECONDS=10)
        yield server
        close_connection(polite=False)


def _row(notice_id):
    db.session.expire_all()
    notice = db.session.get(Notice, notice_id)
    db.session.expunge(notice)
    db.session.commit()
    return notice


def _queue(key, **values):
    notice_id = queue_notice("user_approved", to=values.pop("to", f"{key}@kommune.example"), key=key,
                             context=CONTEXT, **values)
    db.session.commit()
    return notice_id


# --- queueing ---------------------------------------------------------------------------------------------------

def test_a_queued_notice_holds_a_clean_address_and_name_and_the_users_id(app):
    user = UserFactory(name="Kari\r\nNordmann")
    notice_id = _queue("a", to=" kari@\r\nkommune.example\n ", user=user, language="en")
    notice = _row(notice_id)
    assert notice.recipient_email == "kari@kommune.example"
    assert notice.recipient_name == "Kari  Nordmann"
    assert notice.user_id == user.id and notice.language == "en"
    assert notice.state == NoticeState.pending and notice.attempts == 0 and notice.key == "a"


def test_a_name_given_wins_over_the_users_and_no_name_is_stored_as_none(app):
    user = UserFactory(name="Kari")
    assert _row(_queue("a", user=user, name="Ola\nH.")).recipient_name == "Ola H."
    nameless = _row(_queue("b"))
    assert nameless.recipient_name is None and nameless.user_id is None


@pytest.mark.parametrize("language, stored", [("nb", "nb"), ("nn", "nn"), ("en", "en"), ("de", "nb"), (None, "nb")])
def test_only_the_three_languages_are_kept_anything_else_is_bokmaal(app, language, stored):
    assert _row(_queue("x", language=language)).language == stored


def test_a_notice_without_a_usable_address_is_not_queued(app):
    for to in (None, "", " \r\n "):
        assert queue_notice("user_approved", to=to, key=f"none-{to!r}", context=CONTEXT) is None
    db.session.commit()
    assert db.session.scalars(select(Notice.id)).all() == []


def test_notice_exists_by_its_natural_key(app):
    _queue("round-1:0301:reminder-7d")
    assert notice_exists("round-1:0301:reminder-7d")
    assert not notice_exists("round-1:0301:reminder-30d")


# --- the hand-over to the broker ---------------------------------------------------------------------------------

_drain = drain_mail_queue


def test_nothing_to_hand_over_hands_over_nothing(app):
    assert outbox.dispatch([]) == 0
    assert outbox.dispatch(iter(())) == 0


def test_without_a_batch_size_each_id_is_a_task_of_its_own(app):
    ids = [_queue(f"n{n}") for n in range(3)]
    _drain(app)
    app.config["OUTBOX_TASK_BATCH"] = 0
    assert outbox.dispatch(ids) == 3
    assert _drain(app) == [[i] for i in ids]


def test_the_backlog_is_the_number_of_tasks_waiting_in_the_mail_queue(app):
    ids = [_queue(f"n{n}") for n in range(5)]
    _drain(app)
    assert outbox.broker_backlog() == 0
    app.config["OUTBOX_TASK_BATCH"] = 2
    outbox.dispatch(ids)
    assert outbox.broker_backlog() == 3
    _drain(app)
    assert outbox.broker_backlog() == 0


def test_a_broker_that_cannot_be_reached_hands_over_nothing_and_reports_no_backlog(app):
    celery = app.extensions["celery"]
    old = celery.conf.broker_url
    celery.conf.broker_url = "redis://127.0.0.1:1/0"
    celery.conf.broker_connection_retry = False
    celery.conf.broker_connection_max_retries = 0
    try:
        celery.pool.force_close_all()
        assert outbox.broker_backlog() is None
        assert outbox.dispatch([1, 2]) == 0
    finally:
        celery.conf.broker_url = old
        celery.pool.force_close_all()


# --- the claim ---------------------------------------------------------------------------------------------------

def test_a_notice_due_this_very_moment_is_claimed_and_comes_back_sending_under_its_lease(app):
    app.config["OUTBOX_LEASE_SECONDS"] = 120
    notice_id = _queue("a")
    moment = now_utc() + timedelta(minutes=5)
    db.session.execute(update(Notice).where(Notice.id == notice_id).values(next_attempt_at=moment))
    db.session.commit()
    with at_moment(moment):
        claimed = claim(notice_id)
    assert claimed.state == NoticeState.sending and claimed.attempts == 1
    assert claimed.lease_until == moment + timedelta(seconds=120)
    row = _row(notice_id)
    assert row.state == NoticeState.sending and row.attempts == 1


def test_a_lease_that_ends_this_very_moment_still_holds(app):
    notice_id = _queue("a")
    assert claim(notice_id) is not None
    lease = _row(notice_id).lease_until
    with at_moment(lease):
        assert claim(notice_id) is None
    with at_moment(lease + timedelta(seconds=1)):
        assert claim(notice_id).attempts == 2


# --- marking and failing: only the claimed row, with what it needs -----------------------------------------------

def test_sending_one_notice_marks_that_row_only_and_clears_its_lease(app, smtp):
    first, second = _queue("a"), _queue("b")
    assert claim(second) is not None  # another worker holds the second one, on the same attempt number
    assert deliver(first) == NoticeState.sent
    sent, held = _row(first), _row(second)
    assert sent.state == NoticeState.sent and sent.lease_until is None and sent.last_error is None
    message = smtp.recorder.messages[0]
    assert sent.message_id == message["Message-ID"] and sent.subject == str(message["Subject"])
    assert held.state == NoticeState.sending and held.lease_until is not None and held.sent_at is None


def test_a_failure_is_recorded_on_that_row_only_and_leaves_it_to_the_sweeper(app, smtp):
    app.config.update(OUTBOX_DISPATCH_AFTER_COMMIT=True)
    first, second = _queue("a"), _queue("b")
    app.config.update(OUTBOX_DISPATCH_AFTER_COMMIT=False)
    assert claim(second) is not None
    smtp.recorder.refuse = (451, "4.3.0 try again later")
    before = now_utc()
    assert deliver(first) == NoticeState.pending
    failed, held = _row(first), _row(second)
    assert failed.last_error.startswith("SMTP") and "try again later" in failed.last_error
    assert failed.lease_until is None and failed.dispatched_at is None and failed.sent_at is None
    assert failed.next_attempt_at >= before + timedelta(seconds=10)  # OUTBOX_BACKOFF_SECONDS after the first
    assert held.state == NoticeState.sending and held.last_error is None


@pytest.mark.parametrize("exc, final", [
    (smtplib.SMTPResponseException(500, b"syntax"), True),
    (smtplib.SMTPResponseException(550, b"no such user"), True),
    (smtplib.SMTPResponseException(599, b"odd"), True),
    (smtplib.SMTPResponseException(499, b"odd"), False),
    (smtplib.SMTPResponseException(451, b"later"), False),
    (smtplib.SMTPResponseException(600, b"odd"), False),
    (smtplib.SMTPRecipientsRefused({"a@x.no": (550, b"no"), "b@x.no": (500, b"no")}), True),
    (smtplib.SMTPRecipientsRefused({"a@x.no": (599, b"no")}), True),
    (smtplib.SMTPRecipientsRefused({"a@x.no": (550, b"no"), "b@x.no": (451, b"later")}), False),
    (smtplib.SMTPRecipientsRefused({"a@x.no": (600, b"odd")}), False),
    (smtplib.SMTPRecipientsRefused({}), True),
    (InvalidAddress("kari@"), True),
    (ConnectionRefusedError(), False),
    (TimeoutError(), False),
])
def test_which_refusals_are_final(exc, final):
    assert is_permanent(exc) is final


def test_resend_puts_a_failed_notice_back_records_it_and_hands_it_over_after_commit(app, monkeypatch):
    from grants.accounts.models import Role
    from grants.core.audit import AuditEntry

    handed = []
    monkeypatch.setattr(outbox, "dispatch", lambda ids: handed.append(list(ids)) or len(ids))
    admin = UserFactory(role=Role.admin)
    notice_id = _queue("a")
    db.session.execute(update(Notice).where(Notice.id == notice_id).values(
        state=NoticeState.failed, attempts=4, last_error="550", lease_until=None))
    db.session.commit()
    app.config["OUTBOX_DISPATCH_AFTER_COMMIT"] = True
    delivery.resend(db.session.get(Notice, notice_id), admin)
    db.session.commit()
    assert handed == [[notice_id]]
    notice = _row(notice_id)
    assert notice.state == NoticeState.pending and notice.attempts == 0 and notice.dispatched_at is not None
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "resend")).one()
    assert entry.actor_id == admin.id
    assert (entry.from_state, entry.to_state) == ("failed", "pending")


def test_a_message_that_cannot_be_built_is_a_failed_attempt_of_that_notice(app, smtp):
    broken, fine = _queue("a", attachments=[{"type": "no-such-document"}]), _queue("b")
    assert claim(fine) is not None  # held by another worker on the same attempt number
    assert deliver(broken) == NoticeState.pending
    row, held = _row(broken), _row(fine)
    assert row.attempts == 1 and row.lease_until is None
    assert row.last_error == "LookupError: unknown attachment type 'no-such-document'"
    assert held.state == NoticeState.sending and held.last_error is None
    assert smtp.recorder.count == 0


def test_an_address_that_cannot_be_written_fails_for_good_at_once(app, smtp):
    notice_id = _queue("a", to="kari@")
    assert deliver(notice_id) == NoticeState.failed
    assert _row(notice_id).last_error.startswith("InvalidAddress")


def test_a_notice_sent_after_a_refusal_keeps_no_error(app, smtp):
    notice_id = _queue("a")
    smtp.recorder.refuse = (451, "4.3.0 try again later")
    assert deliver(notice_id) == NoticeState.pending
    assert "try again later" in _row(notice_id).last_error
    smtp.recorder.refuse = None
    db.session.execute(update(Notice).where(Notice.id == notice_id).values(next_attempt_at=now_utc()))
    db.session.commit()
    assert deliver(notice_id) == NoticeState.sent
    notice = _row(notice_id)
    assert notice.last_error is None and notice.attempts == 2
