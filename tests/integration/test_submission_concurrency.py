"""Submissions at the same moment, on a real database: unique reference numbers, a double click submits once."""

import pytest
from sqlalchemy import func, select

from grants.accounts.models import User
from grants.applications import operations
from grants.applications.models import Application
from grants.applications.workflow import State
from grants.extensions import db
from grants.notify.models import Notice
from tests.concurrency import at_once
from tests.factories import ApplicationFactory, RoundFactory, municipal_user


def _run(app, jobs):
    """Submit each (application id, user id, submission key) at once; the reference given, or the error's name."""

    def submit(application_id, user_id, key):
        def work():
            application = db.session.get(Application, application_id)
            operations.submit_application(application, db.session.get(User, user_id), submission_key=key,
                                          snapshot={}, problems=[])
            return application.reference
        return work

    return at_once(app, [submit(*job) for job in jobs])


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
