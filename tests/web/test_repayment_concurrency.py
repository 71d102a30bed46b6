"""Repayment claims at the same moment, on a real database: two approvers approving one claim approve it once (the
second is told it is handled), caseworkers proposing at once never claim more than was paid (the grant's row is
locked), and repayments recorded at once never add up to more than the claim (the claim's row is locked)."""

import pytest
from sqlalchemy import func, select

from grants.accounts.models import Role, User
from grants.extensions import db
from grants.followup import repayments as ops
from grants.followup.models import ClaimState, Grant, Repayment, RepaymentClaim
from grants.notify.models import Notice
from tests.concurrency import at_once
from tests.factories import UserFactory
from tests.web.test_repayment_claims import PAID, in_days, paid_grant, today


@pytest.fixture
def grant_id(app, people, round_):
    return paid_grant(people, round_).id


def test_two_approvers_at_once_approve_a_claim_once(app, people, grant_id, backend):
    claim_id = ops.propose_claim(db.session.get(Grant, grant_id), people["caseworker"], amount=50_000,
                                 reason="Ikke brukt", due_on=in_days(20)).id
    approver_ids = [UserFactory(role=Role.approver).id for _ in range(2)]

    def approve(user_id):
        return lambda: str(ops.approve_claim(db.session.get(RepaymentClaim, claim_id),
                                             db.session.get(User, user_id)).state)

    results = at_once(app, [approve(i) for i in approver_ids])
    assert sorted(results) == ["InvalidTransition", "approved"], results
    db.session.expire_all()
    assert db.session.get(RepaymentClaim, claim_id).state == ClaimState.approved
    assert db.session.scalar(select(func.count()).select_from(Notice).where(Notice.kind == "repayment_claim")) == 1


def test_proposals_at_once_never_claim_more_than_was_paid(app, people, grant_id, backend):
    caseworker_ids = [UserFactory(role=Role.caseworker).id for _ in range(6)]

    def propose(user_id):
        return lambda: ops.propose_claim(db.session.get(Grant, grant_id), db.session.get(User, user_id),
                                         amount=50_000, reason="Ikke brukt", due_on=in_days(20)).amount

    results = at_once(app, [propose(i) for i in caseworker_ids])
    assert results.count("ValidationFailed") == 2 and results.count(50_000) == 4, results
    db.session.expire_all()
    assert db.session.scalar(select(func.sum(RepaymentClaim.amount))) == PAID


def test_repayments_at_once_never_pass_the_claim(app, people, grant_id, backend):
    claim = ops.propose_claim(db.session.get(Grant, grant_id), people["caseworker"], amount=30_000,
                              reason="Ikke brukt", due_on=in_days(20))
    ops.approve_claim(claim, people["approver"])
    db.session.commit()
    claim_id, worker_id = claim.id, people["caseworker"].id

    def record():
        return lambda: ops.record_repayment(db.session.get(RepaymentClaim, claim_id), db.session.get(User, worker_id),
                                            amount=20_000, received_on=today()).amount

    results = at_once(app, [record() for _ in range(3)])
    assert sorted(map(str, results)) == ["20000", "ValidationFailed", "ValidationFailed"], results
    db.session.expire_all()
    assert db.session.scalar(select(func.sum(Repayment.amount))) == 20_000
