"""Submissions at the same moment, on a real database: unique reference numbers, a double click submits once."""

import threading

import pytest
from sqlalchemy import func, select

from grants.accounts.models import User
from grants.applications import operations
from grants.applications.models import Application
from grants.applications.workflow import State
from grants.extensions import db
from grants.notify.models import Notice
from tests.factories import ApplicationFactory, RoundFactory, municipal_user


def _submit_in_thread(app, application_id, user_id, key, results, barrier):
    with app.app_context():
        application = db.session.get(Application, application_id)
        user = db.session.get(User, user_id)
        db.session.commit()  # hold no transaction while waiting for the others
        barrier.wait()
        try:
            operations.submit_application(application, user, submission_key=key, snapshot={}, problems=[])
            db.session.commit()
            results.append(application.reference)
        except Exception as exc:  # noqa: BLE001 - the test counts outcomes
            db.session.rollback()
            results.append(type(exc).__name__)
        finally:
            db.session.remove()


def _run(app, jobs):
    db.session.commit()  # the test's own session must not hold a lock while the threads run
    results, barrier = [], threading.Barrier(len(jobs))
    threads = [threading.Thread(target=_submit_in_thread, args=(app, *job, results, barrier)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def round_and_staff(app):
    round_ = RoundFactory(year=2025)
    user = municipal_user("0301")
    db.session.commit()
    return round_, user


def test_twenty_concurrent_submissions_get_twenty_different_references(app, round_and_staff, backend):
    round_, user = round_and_staff
    ids = [ApplicationFactory(round=round_, municipality_id=user.municipality_id).id for _ in range(20)]
    db.session.commit()
    results = _run(app, [(i, user.id, f"key-{i}") for i in ids])
    assert sorted(results) == [f"2025-{n:04d}" for n in range(1, 21)], results
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).where(Application.state == State.submitted)) == 20


def test_a_double_click_sent_twice_at_once_submits_once(app, round_and_staff, backend):
    round_, user = round_and_staff
    application = ApplicationFactory(round=round_, municipality_id=user.municipality_id)
    db.session.commit()
    results = _run(app, [(application.id, user.id, "same-key")] * 4)
    assert results == ["2025-0001"] * 4, results
    assert db.session.scalar(select(func.count()).select_from(Notice).where(Notice.kind == "receipt")) == 1
