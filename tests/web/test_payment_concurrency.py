"""Payments at the same moment, on a real database: two approvers approving one payment approve it once, and
caseworkers proposing at once never promise more than the grant (the grant's and the payment's rows are locked)."""

import threading

import pytest
from sqlalchemy import func, select

from grants.accounts.models import Role, User
from grants.extensions import db
from grants.followup import operations as ops
from grants.followup.models import Grant, Payment, PaymentState
from tests.factories import UserFactory
from tests.web.test_grants import VALID, grant_of, released


def _in_thread(app, work, results, barrier):
    with app.app_context():
        db.session.commit()  # hold no transaction while waiting for the others
        barrier.wait()
        try:
            work()
            db.session.commit()
            results.append("ok")
        except Exception as exc:  # noqa: BLE001 - the test counts outcomes
            db.session.rollback()
            results.append(type(exc).__name__)
        finally:
            db.session.remove()


def _run(app, works):
    db.session.commit()  # the test's own session must not hold a lock while the threads run
    results, barrier = [], threading.Barrier(len(works))
    threads = [threading.Thread(target=_in_thread, args=(app, work, results, barrier)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def grant_id(app, people, round_):
    application, _decision = released(round_, people, amount=300_000)
    grant = grant_of(application)
    ops.accept_grant(grant, people["staff"], account=VALID, confirms_conditions=True)
    db.session.commit()
    return grant.id


def test_two_approvers_at_once_approve_a_payment_once(app, people, grant_id, backend):
    payment_id = ops.propose_payment(db.session.get(Grant, grant_id), people["caseworker"], 100_000).id
    approver_ids = [UserFactory(role=Role.approver).id for _ in range(2)]

    def approve(user_id):
        return lambda: ops.approve_payment(db.session.get(Payment, payment_id), db.session.get(User, user_id))

    results = _run(app, [approve(i) for i in approver_ids])
    assert sorted(results) == ["InvalidTransition", "ok"], results
    db.session.expire_all()
    assert db.session.get(Payment, payment_id).state == PaymentState.approved


def test_proposals_at_once_never_promise_more_than_the_grant(app, people, grant_id, backend):
    caseworker_ids = [UserFactory(role=Role.caseworker).id for _ in range(8)]

    def propose(user_id):
        return lambda: ops.propose_payment(db.session.get(Grant, grant_id), db.session.get(User, user_id), 50_000)

    results = _run(app, [propose(i) for i in caseworker_ids])
    assert results.count("ok") == 6 and results.count("ValidationFailed") == 2, results
    db.session.expire_all()
    assert db.session.scalar(select(func.sum(Payment.amount)).where(Payment.grant_id == grant_id)) == 300_000
