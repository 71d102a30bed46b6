"""Delivery on the real database (SQLite and PostgreSQL) to an SMTP server in this process, without a worker:
the claim, the lease, the fence, retries and backoff, the sweeper, .eml files, the schedules and the admin page."""

import threading
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from grants.accounts.models import Role
from grants.applications.workflow import State
from grants.core.timeutil import now_utc, oslo_date, start_of_day_utc
from grants.core.wording import day_in
from grants.extensions import db
from grants.notify import delivery, outbox
from grants.notify.delivery import LeaseLost, claim, deliver, due_for_dispatch, give_up_on_lost_workers
from grants.notify.mailer import close_connection, send_message
from grants.notify.messages import build_message, build_wire, message_id_for
from grants.notify.models import Notice, NoticeState
from grants.notify.outbox import queue_notice
from grants.reminders import schedule_due_notices
from tests.factories import ApplicationFactory, RoundFactory, UserFactory, municipal_user
from tests.notify_support import SMTPServer, drain_mail_queue


@pytest.fixture
def smtp(app):
    with SMTPServer() as server:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_TIMEOUT=10,
                          OUTBOX_MAX_ATTEMPTS=4, OUTBOX_BACKOFF_SECONDS=10)
        yield server
        close_connection(polite=False)


def _queue(n=0, **values):
    notice_id = queue_notice("user_approved", to=values.pop("to", f"person{n}@kommune.example"),
                             name=f"Person {n}", key=f"test:{n}", context={"municipality_name": "Oslo"}, **values)
    db.session.commit()
    return notice_id


def _row(notice_id):
    """The row as it is now, detached: reading it later opens no transaction (on SQLite, BEGIN IMMEDIATE would
    hold the write lock against delivery, which runs on a connection of its own)."""
    db.session.expire_all()
    notice = db.session.get(Notice, notice_id)
    db.session.expunge(notice)
    db.session.commit()
    return notice


def _due(**kwargs):
    ids = due_for_dispatch(**kwargs)
    db.session.commit()  # end the read: see _row
    return ids


def _make_due(notice_id):
    db.session.execute(update(Notice).where(Notice.id == notice_id).values(next_attempt_at=now_utc()))
    db.session.commit()


def test_a_notice_is_delivered_once_and_recorded(app, smtp):
    notice_id = _queue()
    assert deliver(notice_id) == NoticeState.sent
    assert deliver(notice_id) is None  # a second message for the same id finds nothing to do
    notice = _row(notice_id)
    assert notice.state == NoticeState.sent and notice.attempts == 1 and notice.sent_at is not None
    assert smtp.recorder.count == 1
    message = smtp.recorder.messages[0]
    assert message["Message-ID"] == notice.message_id == message_id_for(notice)
    assert str(message["Subject"]) == notice.subject
    assert notice.body_text and "Oslo" in notice.body_text


def test_the_claim_is_exclusive_among_concurrent_workers(app):
    notice_id = _queue()
    winners, barrier = [], threading.Barrier(6)

    def worker():
        with app.app_context():
            barrier.wait()
            claimed = claim(notice_id)
            if claimed is not None:
                winners.append(claimed.attempts)
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert winners == [1]
    notice = _row(notice_id)
    assert notice.state == NoticeState.sending and notice.lease_until > now_utc() and notice.attempts == 1
    assert claim(notice_id) is None  # the lease holds


def test_an_expired_lease_is_reclaimed_and_the_first_worker_can_no_longer_mark_it_sent(app, smtp):
    notice_id = _queue()
    first = claim(notice_id)
    assert notice_id not in _due()  # in a live worker's hands
    db.session.execute(update(Notice).where(Notice.id == notice_id)
                       .values(lease_until=now_utc() - timedelta(seconds=1)))
    db.session.commit()
    assert notice_id in _due()  # the worker died: the sweeper hands it over again

    second = claim(notice_id)
    assert second is not None and second.attempts == 2
    with db.engine.connect() as conn, pytest.raises(LeaseLost):
        delivery._mark_sent(conn, notice_id, first.attempts, build_wire(first))  # fenced out
    # The first worker, slow rather than dead, finds out before its final "." and abandons its copy.
    with pytest.raises(LeaseLost), db.engine.connect() as conn:
        send_message(build_wire(first),
                     before_end=lambda: delivery._mark_sent(conn, notice_id, first.attempts, build_wire(first)))
    assert smtp.recorder.count == 0
    assert _row(notice_id).state == NoticeState.sending


def test_a_message_abandoned_before_its_final_dot_is_not_accepted(app, smtp):
    notice_id = _queue()
    message = build_wire(claim(notice_id))

    def dies():
        raise KeyboardInterrupt("the worker is stopped here")

    with pytest.raises(KeyboardInterrupt):
        send_message(message, before_end=dies)
    assert smtp.recorder.count == 0  # the server had it all but the "." and threw it away
    send_message(message)
    assert smtp.recorder.count == 1


def test_refusals_retry_with_doubling_backoff_under_one_message_id_then_fail(app, smtp):
    smtp.recorder.refuse = (451, "4.3.0 Try again later")
    notice_id = _queue()
    for attempt, wait in ((1, 10), (2, 20), (3, 40)):
        before = now_utc()
        assert deliver(notice_id) == NoticeState.pending
        after = now_utc()
        notice = _row(notice_id)
        assert notice.attempts == attempt and notice.dispatched_at is None and notice.sent_at is None
        assert "451" in notice.last_error
        assert before + timedelta(seconds=wait) <= notice.next_attempt_at <= after + timedelta(seconds=wait)
        assert deliver(notice_id) is None  # not due yet: a retry is never early
        _make_due(notice_id)
    assert notice_id in _due()  # the sweeper, not a broker countdown, brings it back
    assert deliver(notice_id) == NoticeState.failed
    notice = _row(notice_id)
    assert notice.attempts == 4 and "Try again later" in notice.last_error
    ids = {message_id for _at, message_id, _accepted in smtp.recorder.attempts}
    assert len(smtp.recorder.attempts) == 4 and ids == {message_id_for(notice)}
    assert notice_id not in _due()


def test_a_permanent_refusal_fails_at_once(app, smtp):
    smtp.recorder.refuse = (550, "5.1.1 No such user")
    notice_id = _queue()
    assert deliver(notice_id) == NoticeState.failed
    assert _row(notice_id).attempts == 1


def test_an_unreachable_server_counts_as_an_attempt(app, smtp):
    notice_id = _queue()
    app.config["MAIL_PORT"] = smtp.port + 1 if smtp.port < 65535 else smtp.port - 1
    close_connection(polite=False)
    assert deliver(notice_id) == NoticeState.pending
    assert "Connection" in _row(notice_id).last_error or "refused" in _row(notice_id).last_error.lower()


def test_a_kept_connection_that_went_stale_is_replaced_without_losing_the_message(app):
    with SMTPServer() as first:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=first.port)
        assert deliver(_queue(1)) == NoticeState.sent
        first.controller.stop()  # the server drops every client, and comes back on the same port
        again = Controller(first.recorder, hostname="127.0.0.1", port=first.port)
        again.start()
        try:
            assert deliver(_queue(2)) == NoticeState.sent
        finally:
            again.stop()
        assert first.recorder.count == 2
    close_connection(polite=False)


def test_without_a_mail_server_the_message_is_kept_as_an_eml_file(app, tmp_path):
    app.config.update(MAIL_SERVER=None, MAIL_DIR=str(tmp_path / "mail"))
    notice_id = _queue(to="kari@bergen.kommune.example", language="nn")
    assert deliver(notice_id) == NoticeState.sent
    notice = _row(notice_id)
    files = list(Path(tmp_path / "mail").glob("*.eml"))
    assert len(files) == 1 and files[0].name.startswith("notice-")
    message = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["Message-ID"] == notice.message_id
    assert message["To"].addresses[0].addr_spec == "kari@bergen.kommune.example"
    assert message["Content-Language"] == "nn"


def test_dispatch_happens_after_commit_and_never_after_rollback(app, monkeypatch):
    handed = []
    monkeypatch.setattr(outbox, "dispatch", lambda ids: handed.append(list(ids)) or len(ids))
    app.config["OUTBOX_DISPATCH_AFTER_COMMIT"] = True
    queue_notice("user_approved", to="a@kommune.example", key="a", context={"municipality_name": "Oslo"})
    assert handed == []  # not inside the transaction
    db.session.rollback()
    assert handed == []
    notice_id = queue_notice("user_approved", to="b@kommune.example", key="b", context={"municipality_name": "Oslo"})
    assert queue_notice("user_approved", to="b@kommune.example", key="b") is None  # the natural key holds
    db.session.commit()
    assert handed == [[notice_id]]
    assert db.session.scalars(select(Notice.key)).all() == ["b"]


def test_the_sweeper_leaves_alone_what_waits_in_the_broker_queue(app):
    app.config.update(OUTBOX_DISPATCH_AFTER_COMMIT=True, OUTBOX_STALE_SECONDS=60)
    fresh = _queue(1)  # handed over at its commit
    app.config["OUTBOX_DISPATCH_AFTER_COMMIT"] = False
    never = _queue(2)  # never handed over
    assert _due() == [never]
    db.session.execute(update(Notice).where(Notice.id == fresh)
                       .values(dispatched_at=now_utc() - timedelta(seconds=120)))
    db.session.commit()
    assert _due(backlog=0) == [fresh, never]  # its message must have been lost
    assert _due(backlog=50) == [never]  # its message is probably still in the queue
    db.session.execute(update(Notice).where(Notice.id == fresh)
                       .values(dispatched_at=now_utc() - timedelta(seconds=601)))
    db.session.commit()
    assert _due(backlog=50) == [fresh, never]  # not for ever


def test_a_notice_whose_workers_keep_dying_is_given_up(app):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 2
    notice_id = _queue()
    for _ in range(2):
        assert claim(notice_id) is not None
        db.session.execute(update(Notice).where(Notice.id == notice_id)
                           .values(lease_until=now_utc() - timedelta(seconds=1)))
        db.session.commit()
    assert claim(notice_id) is None and notice_id not in _due()
    assert give_up_on_lost_workers() == 1
    db.session.commit()
    notice = _row(notice_id)
    assert notice.state == NoticeState.failed and "stopped while sending" in notice.last_error


def test_failed_notice_is_shown_on_the_admin_page_and_can_be_resent(app, smtp, client, login_as):
    admin = UserFactory(role=Role.admin)
    db.session.commit()
    smtp.recorder.refuse = (554, "5.7.1 Rejected by policy")
    notice_id = _queue(to="kari@bergen.kommune.example")
    assert deliver(notice_id) == NoticeState.failed

    login_as(admin)
    page = client.get("/admin/utsendinger/").get_data(as_text=True)
    assert "kari@bergen.kommune.example" in page and "Rejected by policy" in page
    detail = client.get(f"/admin/utsendinger/{notice_id}")
    assert detail.status_code == 200

    smtp.recorder.refuse = None
    assert client.post(f"/admin/utsendinger/{notice_id}/send-igjen").status_code == 302
    notice = _row(notice_id)
    assert notice.state == NoticeState.pending and notice.attempts == 0
    assert notice_id in _due()
    assert deliver(notice_id) == NoticeState.sent
    assert smtp.recorder.count == 1 and smtp.recorder.messages[0]["Message-ID"] == _row(notice_id).message_id


def test_only_an_administrator_sees_the_outbox(app, client, login_as):
    login_as(UserFactory(role=Role.caseworker))
    assert client.get("/admin/utsendinger/").status_code == 403


def _granted(user, round_, n):
    return ApplicationFactory(
        round=round_, municipality_id=user.municipality_id, created_by_id=user.id, submitted_by_id=user.id,
        state=State.granted, reference=f"2025-{n:04d}", received_at=now_utc() - timedelta(days=200),
        amount_granted=100_000, decided_at=now_utc() - timedelta(days=150), title=f"Prosjekt {n}",
    )


def test_reporting_reminders_30_and_7_days_before_and_overdue_the_day_after(app):
    today = oslo_date(now_utc())
    due = today + timedelta(days=40)
    round_ = RoundFactory(closed=True, reporting_deadline=due)
    kari = municipal_user("4601", language="nn")
    granted = _granted(kari, round_, 1)
    submitted = _granted(municipal_user("5001"), round_, 2)
    submitted.state, submitted.amount_granted, submitted.decided_at = State.submitted, None, None  # no reminders
    db.session.commit()

    def run(day):
        at = start_of_day_utc(day) + timedelta(hours=7)
        created = schedule_due_notices(at)
        db.session.commit()
        again = schedule_due_notices(at)
        db.session.commit()
        assert again == 0
        return created

    assert run(due - timedelta(days=31)) == 0
    assert run(due - timedelta(days=30)) == 1
    assert run(due - timedelta(days=29)) == 0
    assert run(due - timedelta(days=7)) == 1
    assert run(due) == 0
    assert run(due + timedelta(days=1)) == 1
    assert run(due + timedelta(days=2)) == 0
    notices = db.session.scalars(select(Notice).order_by(Notice.id)).all()
    assert [n.key for n in notices] == [
        f"report_reminder:application={granted.id}:due={due}:days=30",
        f"report_reminder:application={granted.id}:due={due}:days=7",
        f"report_overdue:application={granted.id}:due={due}",
    ]
    assert {n.recipient_email for n in notices} == {kari.email} and {n.language for n in notices} == {"nn"}
    reminder = notices[0]
    assert reminder.context["due"] == due.isoformat() and reminder.context["days"] == 30
    assert day_in(due, "nn") in str(build_message(reminder)["Subject"])  # "9. januar 2027"
    build_message(notices[2])  # the overdue notice renders too


def test_dispatch_hands_the_ids_over_in_batches_of_outbox_task_batch(app):
    app.config["OUTBOX_TASK_BATCH"] = 20
    ids = [_queue(n) for n in range(45)]
    drain_mail_queue(app)  # whatever an earlier test left
    assert outbox.dispatch(ids) == 45
    assert drain_mail_queue(app) == [ids[:20], ids[20:40], ids[40:]]
    app.config["OUTBOX_TASK_BATCH"] = 1
    assert outbox.dispatch(ids[:2]) == 2
    assert drain_mail_queue(app) == [[ids[0]], [ids[1]]]


def test_a_batch_delivers_each_due_notice_once_and_skips_the_rest(app, smtp):
    ids = [_queue(n) for n in range(5)]
    db.session.execute(update(Notice).where(Notice.id == ids[2])
                       .values(next_attempt_at=now_utc() + timedelta(hours=1)))  # not due yet
    db.session.commit()
    assert delivery.deliver_many(ids) == [NoticeState.sent, NoticeState.sent, None, NoticeState.sent,
                                          NoticeState.sent]
    assert delivery.deliver_many(ids) == [None] * 5  # the same batch again (a redelivered message) sends nothing
    assert sorted(smtp.recorder.message_ids.values()) == [1, 1, 1, 1]
    assert _row(ids[2]).state == NoticeState.pending
    # The login link points at the public address, as when each notice is rendered alone.
    login = app.config["PUBLIC_BASE_URL"].rstrip("/") + "/konto/logg-inn"
    for message in smtp.recorder.messages:
        assert login in message.get_body(("plain",)).get_content()


def test_a_notice_the_database_refuses_does_not_stop_the_rest_of_its_batch(app, smtp, monkeypatch):
    from sqlalchemy.exc import OperationalError

    ids = [_queue(n) for n in range(4)]
    real_claim = delivery.claim

    def claim(notice_id, conn=None):
        if notice_id == ids[1]:
            raise OperationalError("UPDATE notices ...", {}, Exception("database is locked"))
        return real_claim(notice_id, conn)

    monkeypatch.setattr(delivery, "claim", claim)
    assert delivery.deliver_many(ids) == [NoticeState.sent, None, NoticeState.sent, NoticeState.sent]
    assert [_row(i).state for i in ids] == [NoticeState.sent, NoticeState.pending, NoticeState.sent,
                                            NoticeState.sent]
    assert smtp.recorder.count == 3
    monkeypatch.setattr(delivery, "claim", real_claim)
    assert delivery.deliver_many([ids[1]]) == [NoticeState.sent]  # the next hand-over sends it
