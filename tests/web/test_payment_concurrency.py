"""Payments at the same moment, on a real database: two approvers approving one payment approve it once, and
caseworkers proposing at once never promise more than the grant (the grant's and the payment's rows are locked)."""

import pytest
from sqlalchemy import func, select

from grants.accounts.models import Role, User
from grants.extensions import db
from grants.followup import operations as ops
from grants.followup.models import Grant, Payment, PaymentState
from tests.concurrency import at_once
from tests.factories import UserFactory
from tests.web.test_grants import VALID, grant_of, released


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
        return lambda: ops.approve_payment(db.session.get(Payment, payment_id), db.session.get(User, user_id)).state

    results = at_once(app, [approve(i) for i in approver_ids])
    assert sorted(map(str, results)) == ["InvalidTransition", "approved"], results
    db.session.expire_all()
    assert db.session.get(Payment, payment_id).state == PaymentState.approved


def test_proposals_at_once_never_promise_more_than_the_grant(app, people, grant_id, backend):
    caseworker_ids = [UserFactory(role=Role.caseworker).id for _ in range(8)]

    def propose(user_id):
        return lambda: ops.propose_payment(db.session.get(Grant, grant_id), db.session.get(User, user_id), 50_000)

    results = at_once(app, [propose(i) for i in caseworker_ids])
    assert results.count("ValidationFailed") == 2 and len(results) == 8, results
    db.session.expire_all()
    assert db.session.scalar(select(func.sum(Payment.amount)).where(Payment.grant_id == grant_id)) == 300_000
