"""Notices end to end: the database (SQLite file or PostgreSQL), Redis, a real Celery worker in a subprocess and
an SMTP server in this process. The worker is configured only through the environment, as in production."""

import time
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from grants.accounts.models import Role
from grants.applications.operations import submit_application
from grants.core.timeutil import now_utc, oslo_date, start_of_day_utc
from grants.extensions import db
from grants.notify.delivery import sweep
from grants.notify.messages import render_notice
from grants.notify.models import Notice, NoticeState
from grants.notify.outbox import queue_notice
from grants.reminders import schedule_due_notices
from tests.conftest import make_app
from tests.factories import ApplicationFactory, RoundFactory, UserFactory, municipal_user
from tests.notify_support import (
    SMTPServer,
    Worker,
    delete_redis_keys,
    free_port,
    wait_until,
    worker_env,
)

pytestmark = [pytest.mark.worker, pytest.mark.redis]

# Small numbers so that recovery is quick: a lease of 3 s, re-dispatch after 2 s, backoff from 1 s.
OUTBOX = {"OUTBOX_LEASE_SECONDS": 3, "OUTBOX_STALE_SECONDS": 2, "OUTBOX_BACKOFF_SECONDS": 1,
          "OUTBOX_MAX_ATTEMPTS": 3}


@pytest.fixture
def broker(redis_url):
    """Redis, under a key prefix of this test's own (the database may be shared with other runs)."""
    prefix = f"grants-test-{uuid.uuid4().hex[:10]}:"
    yield redis_url, prefix
    delete_redis_keys(redis_url, prefix)


@pytest.fixture
def smtp():
    with SMTPServer() as server:
        yield server


@pytest.fixture
def workers(database_url, tmp_path):
    """Start workers with ``workers.start(broker, smtp)``; every one is stopped at the end."""
    started = []

    class Workers:
        def new(self, broker, smtp_port, **settings):
            redis_url, prefix = broker
            env = worker_env(database_url, redis_url, smtp_port, tmp_path / "instance", prefix=prefix,
                             **(OUTBOX | settings))
            worker = Worker(env, tmp_path / f"worker-{len(started)}.log")
            started.append(worker)
            return worker

        def start(self, broker, smtp_port, **settings):
            return self.new(broker, smtp_port, **settings).start()

    yield Workers()
    for worker in started:  # no need for a graceful stop: the broker keys go with the test
        if worker.process.poll() is None:
            worker.kill()


@pytest.fixture
def switch_app(app, database_url, instance_dir):
    """Push an app on the test database whose broker is ``broker_url``; popped at the end."""
    contexts = []

    def push(broker_url, prefix=None, **overrides):
        settings = dict(CELERY_BROKER_URL=broker_url, CELERY_KEY_PREFIX=prefix,
                        OUTBOX_DISPATCH_AFTER_COMMIT=True) | OUTBOX | overrides
        other = make_app(database_url, instance_dir, **settings)
        context = other.app_context()
        context.push()
        contexts.append(context)
        return other

    yield push
    for context in reversed(contexts):
        db.session.remove()
        context.pop()


def _states():
    db.session.expire_all()
    rows = db.session.execute(select(Notice.state, func.count()).group_by(Notice.state)).all()
    db.session.commit()
    return {state: count for state, count in rows}


def _sweep_until(predicate, timeout=60, every=0.5, message="the notices"):
    """Run the sweeper (in this process, as beat would in the worker) until ``predicate`` holds."""

    def check():
        sweep()
        return predicate()

    return wait_until(check, timeout=timeout, interval=every, message=message)


def _submitted(user, title="Prosjekt mot diskriminering"):
    application = ApplicationFactory(round=RoundFactory(), municipality_id=user.municipality_id,
                                     created_by_id=user.id, title=title)
    db.session.commit()
    submit_application(application, user, submission_key=uuid.uuid4().hex, snapshot={"title": title}, problems=[])
    db.session.commit()
    return application


def test_receipt_reaches_the_smtp_server_in_the_submitters_language(switch_app, broker, smtp, workers):
    switch_app(*broker)
    workers.start(broker, smtp.port)
    user = municipal_user(language="nn", name="Kari Nordmann")
    db.session.commit()

    application = _submitted(user)  # commits; the receipt is handed to the broker after the commit

    wait_until(lambda: smtp.recorder.count == 1, message="the receipt at the SMTP server")
    message = smtp.recorder.messages[0]
    assert message["To"].addresses[0].addr_spec == user.email
    assert application.reference in message["Subject"]
    assert message["Content-Language"] == "nn"
    body = message.get_body(("plain",)).get_content()
    assert application.reference in body
    assert "Mangfald og mot rasisme 2025" in body  # the round's nynorsk title
    assert 'lang="nn"' in message.get_body(("html",)).get_content()
    wait_until(lambda: _states() == {NoticeState.sent: 1}, message="the notice marked sent")
    notice = db.session.scalars(select(Notice)).one()
    assert notice.message_id == message["Message-ID"]
    assert notice.attempts == 1


def test_broker_down_submission_commits_and_the_sweeper_delivers_when_it_is_back(
    switch_app, broker, smtp, workers
):
    closed = free_port()
    switch_app(f"redis://127.0.0.1:{closed}/0", OUTBOX_STALE_SECONDS=1)
    users = [municipal_user(language=lang) for lang in ("nb", "nn", "en")]
    db.session.commit()

    started = time.monotonic()
    references = [_submitted(user).reference for user in users]
    assert time.monotonic() - started < 5  # the hand-over fails fast; the request does not hang
    assert all(references)
    assert _states() == {NoticeState.pending: 3}
    assert sweep() == 0  # the broker is still down: nothing handed over, nothing lost
    assert _states() == {NoticeState.pending: 3}

    switch_app(*broker, OUTBOX_STALE_SECONDS=1)  # the broker is back
    workers.start(broker, smtp.port)
    _sweep_until(lambda: _states() == {NoticeState.sent: 3}, message="three receipts sent")
    assert smtp.recorder.count == 3
    received = sorted(next(r for r in references if r in str(m["Subject"])) for m in smtp.recorder.messages)
    assert received == sorted(references)
    assert sorted(str(m["Content-Language"]) for m in smtp.recorder.messages) == ["en", "nb", "nn"]
    assert not smtp.recorder.duplicates()


def test_worker_killed_in_the_middle_of_a_thousand_notices_loses_none_and_sends_none_twice(
    switch_app, broker, smtp, workers
):
    total = 1000
    switch_app(*broker)
    ids = [
        queue_notice("user_approved", to=f"person{n}@kommune.example", name=f"Person {n}", language="nb",
                     key=f"bulk:{n}", context={"municipality_name": "Oslo"})
        for n in range(total)
    ]
    db.session.commit()  # the thousand ids go to the broker after the commit
    assert len(set(ids)) == total

    # Once 300 are in, the server keeps accepting but holds back its "250": both worker children end up
    # waiting for it, messages handed over and marked sent. Then the worker is SIGKILLed, children and all.
    smtp.recorder.parse = False  # only Message-IDs are counted here
    smtp.recorder.hold_after(300)
    worker = workers.start(broker, smtp.port)
    wait_until(lambda: smtp.recorder.held >= 2, timeout=90, message="both children waiting on the server")
    worker.kill()
    smtp.recorder.release()
    before_restart = _states()
    assert before_restart.get(NoticeState.sent, 0) >= 300, before_restart
    assert before_restart.get(NoticeState.pending, 0) > 0, before_restart

    workers.start(broker, smtp.port)
    _sweep_until(lambda: _states() == {NoticeState.sent: total}, timeout=120, every=1.0,
                 message="all notices sent after the restart")
    assert smtp.recorder.duplicates() == {}
    assert len(smtp.recorder.message_ids) == total
    sent_ids = set(db.session.scalars(select(Notice.message_id)).all())
    assert sent_ids == set(smtp.recorder.message_ids)


def test_reminder_job_run_twice_sends_one_reminder_per_kommune(switch_app, broker, smtp, workers):
    switch_app(*broker, OUTBOX_DISPATCH_AFTER_COMMIT=False, OUTBOX_STALE_SECONDS=0)
    workers.start(broker, smtp.port)
    today = oslo_date(now_utc())
    round_ = RoundFactory(deadline_date=today + timedelta(days=7), reminder_days="14,7,1")
    oslo_admin = municipal_user("0301", is_municipality_admin=True)
    oslo_colleague = municipal_user("0301")
    bergen = municipal_user("4601")
    trondheim = municipal_user("5001")
    municipal_user("1103")  # Stavanger: no draft, no reminder
    for author in (oslo_colleague, oslo_admin, bergen, trondheim):  # Oslo has two drafts
        ApplicationFactory(round=round_, municipality_id=author.municipality_id, created_by_id=author.id)
    db.session.commit()

    at = start_of_day_utc(today) + timedelta(hours=9)
    first = schedule_due_notices(at)
    db.session.commit()
    assert schedule_due_notices(at) == 0  # the same moment again: every natural key exists already
    db.session.commit()

    reminders = db.session.scalars(select(Notice).where(Notice.kind == "deadline_reminder")).all()
    assert {n.key for n in reminders} == {
        f"deadline_reminder:round={round_.id}:municipality={u.municipality_id}:days=7"
        for u in (oslo_colleague, bergen, trondheim)
    }
    assert first == len(reminders) + 5  # and the round's announcement to each of the five active users
    _sweep_until(lambda: _states() == {NoticeState.sent: first}, message="every notice sent")
    time.sleep(1.0)  # nothing more trickles in
    assert smtp.recorder.duplicates() == {}
    mailed = [m for m in smtp.recorder.messages if str(m["X-Grants-Notice"]).startswith("deadline_reminder:")]
    # One per kommune with a draft; Oslo's goes to whoever started its first draft.
    assert sorted(m["To"].addresses[0].addr_spec for m in mailed) == sorted(
        u.email for u in (oslo_colleague, bergen, trondheim))
    for notice in reminders:
        db.session.refresh(notice)
        message = next(m for m in mailed if m["Message-ID"] == notice.message_id)
        assert str(message["Subject"]) == notice.subject == render_notice(notice)[0]
        assert "7" in notice.subject and round_.title_nb in notice.subject


def test_refusing_server_retries_with_backoff_then_fails_then_the_admin_resends(
    switch_app, broker, smtp, workers, client, login_as
):
    switch_app(*broker, OUTBOX_DISPATCH_AFTER_COMMIT=True, OUTBOX_STALE_SECONDS=0)
    smtp.recorder.refuse = (451, "4.3.0 Mailbox temporarily unavailable")
    workers.start(broker, smtp.port)
    admin = UserFactory(role=Role.admin)
    # Logging in must not hold the database from this session (the code step reads the admin's second factor by
    # id, and leaves no transaction open: tests/second_factor.py).
    admin = SimpleNamespace(email=admin.email, id=admin.id)
    db.session.commit()
    notice_id = queue_notice("user_approved", to="kari@bergen.kommune.example", name="Kari",
                             key="user_approved:test", context={"municipality_name": "Bergen"})
    db.session.commit()

    _sweep_until(lambda: _states() == {NoticeState.failed: 1}, every=0.2, message="the notice to fail")
    notice = db.session.get(Notice, notice_id)
    assert notice.attempts == OUTBOX["OUTBOX_MAX_ATTEMPTS"] == 3
    assert "451" in notice.last_error and "temporarily unavailable" in notice.last_error
    assert notice.sent_at is None
    db.session.commit()  # hold no transaction (and no SQLite lock) while the web client and the worker work
    times = [at for at, _mid, _accepted in smtp.recorder.attempts]
    assert len(times) == 3
    first_wait, second_wait = times[1] - times[0], times[2] - times[1]
    assert first_wait >= 0.9 and second_wait >= 1.9  # 1 s, then 2 s: doubling
    assert len({mid for _at, mid, _accepted in smtp.recorder.attempts}) == 1  # one Message-ID throughout

    login_as(admin)
    page = client.get("/admin/utsendinger/?state=failed").get_data(as_text=True)
    assert "kari@bergen.kommune.example" in page
    assert "451" in page and "temporarily unavailable" in page[page.index("kari@bergen"):]

    smtp.recorder.refuse = None  # the server works again
    response = client.post(f"/admin/utsendinger/{notice_id}/send-igjen")
    assert response.status_code == 302
    _sweep_until(lambda: _states() == {NoticeState.sent: 1}, message="the resent notice delivered")
    assert smtp.recorder.count == 1
    notice = db.session.get(Notice, notice_id)
    assert notice.state == NoticeState.sent and notice.last_error is None and notice.attempts == 1
    assert smtp.recorder.messages[0]["Message-ID"] == notice.message_id == smtp.recorder.attempts[0][1]


def test_released_decisions_get_their_letters_from_the_worker_and_then_their_e_mails(
    switch_app, broker, smtp, workers
):
    """The release answers without making any letter: the worker makes them on the heavy queue, and each decision
    e-mail waits for its own letter and carries it."""
    from grants.decisions import operations as decision_ops
    from grants.decisions.models import Decision, Outcome
    from grants.review import operations as review
    from tests.factories import submitted_application

    switch_app(*broker, LETTERS_MADE_AT_COMMIT=False)
    caseworker, approver = UserFactory(role=Role.caseworker), UserFactory(role=Role.approver)
    round_ = RoundFactory(budget=1_000_000)
    checks = dict(eligible_applicant=True, in_time=True, complete=True, within_scheme=True, conditions_met=True)
    for number in ("0301", "4601", "5001"):
        staff = municipal_user(number, language="nn" if number == "4601" else "nb")
        application = submitted_application(round_, number=number, submitted_by_id=staff.id)
        review.formal_check(application, caseworker, checks=checks, accept=True)
        decision = decision_ops.propose_decision(application, caseworker, outcome=Outcome.granted, amount=200_000)
        decision_ops.approve_decision(decision, approver)
    db.session.commit()

    released, held = decision_ops.release_round(round_, approver)
    db.session.commit()
    assert len(released) == 3 and held == []
    assert _states() == {NoticeState.pending: 3}
    assert sweep() == 0  # held: nothing goes before its letter

    workers.start(broker, smtp.port)

    def letters_made():
        db.session.expire_all()
        made = db.session.scalars(select(Decision.letter_pdf)).all()
        db.session.commit()
        return all(made)

    wait_until(letters_made, timeout=90, message="the letters made by the worker")
    _sweep_until(lambda: _states() == {NoticeState.sent: 3}, message="three decision e-mails sent")
    letters = {d.application.reference: d.letter_pdf for d in db.session.scalars(select(Decision))}
    for message in smtp.recorder.messages:
        (attachment,) = [part for part in message.iter_attachments()]
        reference = attachment.get_filename().removeprefix("vedtak-").removesuffix(".pdf")
        assert attachment.get_content() == letters[reference]
    assert not smtp.recorder.duplicates()
