"""Repayment claims (krav om tilbakebetaling) on a grant: the rules of the operations on a real database (never
more than was paid less the other claims, four eyes also in the database, partial repayments that add up and never
pass the claim, withdrawal), the pages and every POST per role, the reminders, and no 500 on bad input."""

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from grants.accounts.models import Role
from grants.core.audit import AuditEntry
from grants.core.timeutil import now_utc, oslo_date
from grants.decisions.models import Declaration
from grants.errors import InvalidTransition, NotPermitted, ValidationFailed
from grants.extensions import db
from grants.followup import operations as pay_ops
from grants.followup import repayments as ops
from grants.followup import reports
from grants.followup.models import ClaimState, RepaymentClaim
from grants.notify.attachments import load_attachments
from grants.notify.models import Notice
from grants.reminders import SCHEDULES, repayment_reminders
from tests.factories import UserFactory
from tests.web.test_grants import VALID, datetime_on, grant_of, released

PAID = 200_000


def today():
    return oslo_date(now_utc())


def in_days(days):
    return today() + timedelta(days=days)


def paid_grant(people, round_):
    """A grant of 300 000 kr, accepted by Oslo, of which 200 000 kr is paid (committed)."""
    application, _decision = released(round_, people, amount=300_000)
    grant = grant_of(application)
    pay_ops.accept_grant(grant, people["staff"], account=VALID, confirms_conditions=True)
    payment = pay_ops.propose_payment(grant, people["caseworker"], PAID)
    pay_ops.approve_payment(payment, people["approver"])
    pay_ops.mark_paid(payment, people["caseworker"], today())
    db.session.commit()
    return grant


@pytest.fixture
def grant(people, round_):
    return paid_grant(people, round_)


def propose(grant, people, amount=50_000, reason="Midler som ikke er brukt", due_on=None, **kwargs):
    return ops.propose_claim(grant, people["caseworker"], amount=amount, reason=reason,
                             due_on=due_on or in_days(30), **kwargs)


def approved(grant, people, amount=50_000, **kwargs):
    claim = propose(grant, people, amount, **kwargs)
    ops.approve_claim(claim, people["approver"])
    db.session.commit()
    return claim


def conflicted(grant, role=Role.caseworker):
    user = UserFactory(role=role, name="Inga Inhabil")
    db.session.add(Declaration(application_id=grant.application_id, user_id=user.id, conflict=True,
                               reason="Gift med prosjektlederen"))
    db.session.commit()
    return user


def refused(error_class, call):
    with pytest.raises(error_class) as caught:
        call()
    db.session.rollback()
    return caught.value


# --- the rules ---------------------------------------------------------------------------------------------------

def test_a_claim_is_never_more_than_what_was_paid_less_the_other_claims(people, grant):
    assert ops.claimable(grant) == PAID
    report = reports.draft_for(grant, people["staff"])  # the report whose assessment makes the claim
    first = propose(grant, people, 150_000, report_id=report.id)
    assert (first.state, first.amount, first.report_id, first.proposed_by_id) == (
        ClaimState.proposed, 150_000, report.id, people["caseworker"].id)
    db.session.commit()
    error = refused(ValidationFailed, lambda: propose(grant, people, 50_001))
    assert (error.message, error.detail) == ("claim_above_paid", {"field": "amount", "claimable": 50_000})
    first = db.session.get(RepaymentClaim, first.id)
    assert propose(grant, people, 50_000).amount == 50_000 and ops.claimable(grant) == 0
    db.session.commit()
    # A withdrawn claim no longer counts; an approved or repaid one does.
    ops.withdraw_claim(first, people["caseworker"])
    assert ops.claimable(grant) == 150_000


def test_a_payment_not_yet_paid_cannot_be_claimed_back(people, grant):
    promised = pay_ops.propose_payment(grant, people["caseworker"], 100_000)
    pay_ops.approve_payment(promised, people["approver"])
    db.session.commit()
    assert ops.claimable(grant) == PAID
    assert refused(ValidationFailed, lambda: propose(grant, people, PAID + 1)).message == "claim_above_paid"


@pytest.mark.parametrize(("fields", "key", "field"), [
    ({"amount": None}, "claim_amount_required", "amount"),
    ({"amount": 0}, "claim_amount_required", "amount"),
    ({"amount": -5}, "claim_amount_required", "amount"),
    ({"reason": "   "}, "reason_required", "reason"),
    ({"reason": None}, "reason_required", "reason"),
    ({"reason": "x" * 3001}, "reason_too_long", "reason"),
    ({"due_on": None}, "due_on_required", "due_on"),
    ({"due_on": -1}, "due_on_past", "due_on"),
])
def test_what_was_typed_is_checked_beside_its_field_before_anything_changes(people, grant, fields, key, field):
    values = {"amount": 10_000, "reason": "Ikke brukt", "due_on": in_days(14)} | fields
    if isinstance(values["due_on"], int):
        values["due_on"] = in_days(values["due_on"])
    error = refused(ValidationFailed, lambda: ops.propose_claim(grant, people["caseworker"], **values))
    assert (error.message, error.detail["field"]) == (key, field)
    assert db.session.scalars(select(RepaymentClaim)).all() == []


def test_the_edges_of_the_reason_and_the_due_date_are_allowed(people, grant):
    claim = ops.propose_claim(grant, people["caseworker"], amount=1, reason="x" * 3000, due_on=today())
    assert (len(claim.reason), claim.due_on) == (3000, today())


def test_only_a_caseworker_free_of_conflict_proposes_on_an_accepted_grant(people, round_, grant):
    for who in (people["approver"], people["staff"], people["r1"], conflicted(grant)):
        assert refused(NotPermitted, lambda who=who: ops.propose_claim(
            grant, who, amount=1, reason="x", due_on=today())).message == "not_permitted"
    application, _decision = released(round_, people, number="4601")
    offered = grant_of(application)
    assert refused(InvalidTransition, lambda: ops.propose_claim(
        offered, people["caseworker"], amount=1, reason="x", due_on=today())).message == "claim_grant_not_accepted"


def test_four_eyes_hold_in_the_operation_and_in_the_database(people, grant):
    both = UserFactory(role=Role.admin)  # has every IMDi role
    own = ops.propose_claim(grant, both, amount=10_000, reason="x", due_on=in_days(10))
    claim = propose(grant, people)
    db.session.commit()
    for who in (both, people["caseworker"], conflicted(grant, Role.approver), people["staff"]):
        subject = own if who is both else claim
        assert refused(NotPermitted, lambda who=who, subject=subject: ops.approve_claim(
            db.session.get(RepaymentClaim, subject.id), who)).message == "claim_four_eyes"
    ops.approve_claim(db.session.get(RepaymentClaim, claim.id), people["approver"])
    db.session.commit()
    claim = db.session.get(RepaymentClaim, claim.id)
    assert (claim.state, claim.approved_by_id, claim.letter_language, claim.account_number) == (
        ClaimState.approved, people["approver"].id, "nb", "76940512057")
    # A second approver finds it handled.
    assert refused(InvalidTransition, lambda: ops.approve_claim(
        db.session.get(RepaymentClaim, claim.id), UserFactory(role=Role.approver))).message == "claim_handled"
    # The database refuses the proposer as approver, whatever the code does.
    with pytest.raises(IntegrityError):
        db.session.execute(RepaymentClaim.__table__.update().where(RepaymentClaim.id == own.id).values(
            state="approved", approved_by_id=both.id, approved_at=now_utc(), letter_language="nb",
            account_number="76940512057"))
        db.session.flush()
    db.session.rollback()


COLUMNS_OF = {  # what the operations give a claim in each state
    ClaimState.proposed: set(),
    ClaimState.approved: {"approved_by_id", "approved_at", "letter_language", "account_number"},
    ClaimState.repaid: {"approved_by_id", "approved_at", "letter_language", "account_number", "repaid_on"},
    ClaimState.withdrawn: {"withdrawn_at"},
}


@pytest.mark.parametrize("state", list(ClaimState))
def test_the_database_holds_each_state_with_its_columns_both_ways(people, grant, state):
    values = {"approved_by_id": people["approver"].id, "approved_at": now_utc(), "letter_language": "nb",
              "account_number": "76940512057", "repaid_on": today(), "withdrawn_at": now_utc()}
    row = {"grant_id": grant.id, "amount": 1_000, "reason": "Ikke brukt", "due_on": today(), "state": str(state),
           "proposed_by_id": people["caseworker"].id, "created_at": now_utc(), "updated_at": now_utc()}
    table = RepaymentClaim.__table__
    db.session.execute(table.insert().values(row | {c: values[c] for c in COLUMNS_OF[state]}))
    db.session.commit()  # the row the operations make is accepted
    for column in values:  # each column put where the state has none, or taken from where it has one, is refused
        wrong = row | {c: values[c] for c in COLUMNS_OF[state] ^ {column}}
        with pytest.raises(IntegrityError):
            db.session.execute(table.insert().values(wrong))
            db.session.flush()
        db.session.rollback()
    for column, value in (("amount", 0), ("reason", ""), ("letter_language", "de"), ("account_number", "123")):
        with pytest.raises(IntegrityError):
            db.session.execute(table.insert().values(row | {c: values[c] for c in COLUMNS_OF[state]}
                                                     | {column: value}))
            db.session.flush()
        db.session.rollback()


def test_an_approval_after_the_due_date_is_refused(people, grant):
    claim = propose(grant, people, due_on=today())
    db.session.commit()
    db.session.execute(RepaymentClaim.__table__.update().where(RepaymentClaim.id == claim.id).values(
        due_on=in_days(-1)))
    db.session.commit()
    assert refused(InvalidTransition, lambda: ops.approve_claim(
        db.session.get(RepaymentClaim, claim.id), people["approver"])).message == "claim_due_passed"


def test_partial_repayments_add_up_to_repaid_and_never_pass_the_claim(people, grant):
    claim = approved(grant, people, 120_000)
    first = ops.record_repayment(claim, people["caseworker"], amount=50_000, received_on=today())
    assert (first.amount, claim.state, claim.received, claim.outstanding) == (50_000, ClaimState.approved,
                                                                             50_000, 70_000)
    db.session.commit()
    error = refused(ValidationFailed, lambda: ops.record_repayment(
        db.session.get(RepaymentClaim, claim.id), people["approver"], amount=70_001, received_on=today()))
    assert (error.message, error.detail) == ("repayment_above_claim", {"field": "amount", "outstanding": 70_000})
    claim = db.session.get(RepaymentClaim, claim.id)
    ops.record_repayment(claim, people["approver"], amount=70_000, received_on=today())
    assert (claim.state, claim.repaid_on, claim.received, claim.outstanding) == (
        ClaimState.repaid, today(), 120_000, 0)
    db.session.commit()
    assert refused(InvalidTransition, lambda: ops.record_repayment(
        db.session.get(RepaymentClaim, claim.id), people["caseworker"], amount=1,
        received_on=today())).message == "claim_not_collecting"
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("%claim%")
                                                                 | (AuditEntry.action == "record_repayment"))).all()
    assert sorted(actions) == ["approve_claim", "propose_claim", "record_repayment", "record_repayment"]


def test_a_repayment_has_a_date_neither_in_the_future_nor_before_the_claim(people, grant):
    claim = approved(grant, people)
    for day, key in ((None, "received_on_required"), (in_days(1), "received_on_future"),
                     (in_days(-1), "received_on_before_claim")):
        error = refused(ValidationFailed, lambda day=day: ops.record_repayment(
            db.session.get(RepaymentClaim, claim.id), people["caseworker"], amount=1, received_on=day))
        assert (error.message, error.detail["field"]) == (key, "received_on")
    for amount in (None, 0):
        assert refused(ValidationFailed, lambda amount=amount: ops.record_repayment(
            db.session.get(RepaymentClaim, claim.id), people["caseworker"], amount=amount,
            received_on=today())).message == "claim_amount_required"


def test_no_repayment_on_a_proposal_and_no_hands_but_imdis_free_of_conflict(people, grant):
    proposal = propose(grant, people)
    db.session.commit()
    assert refused(InvalidTransition, lambda: ops.record_repayment(
        proposal, people["caseworker"], amount=1, received_on=today())).message == "claim_not_collecting"
    claim = approved(grant, people, 10_000)
    for who in (people["staff"], people["r1"], conflicted(grant)):
        assert refused(NotPermitted, lambda who=who: ops.record_repayment(
            db.session.get(RepaymentClaim, claim.id), who, amount=1, received_on=today())).message == "not_permitted"


def test_only_a_proposal_is_withdrawn(people, grant):
    proposal = propose(grant, people)
    sent = approved(grant, people, 10_000)
    db.session.commit()
    assert refused(NotPermitted, lambda: ops.withdraw_claim(
        db.session.get(RepaymentClaim, proposal.id), conflicted(grant, Role.approver))).message == "not_permitted"
    withdrawn = ops.withdraw_claim(db.session.get(RepaymentClaim, proposal.id), people["approver"])
    assert withdrawn.state == ClaimState.withdrawn and withdrawn.withdrawn_at is not None
    db.session.commit()
    for claim in (withdrawn, sent):
        assert refused(InvalidTransition, lambda claim=claim: ops.withdraw_claim(
            db.session.get(RepaymentClaim, claim.id), people["caseworker"])).message == "claim_handled"


def test_the_approval_sends_the_kommune_a_notice_with_the_letter(people, grant):
    claim = approved(grant, people, 42_000)
    notice = db.session.scalar(select(Notice).where(Notice.kind == "repayment_claim"))
    assert (notice.key, notice.recipient_email, notice.language) == (
        f"repayment_claim:{claim.id}", people["staff"].email, "nb")
    assert notice.context["amount"] == 42_000 and notice.context["due"] == in_days(30).isoformat()
    [(name, mime, pdf)] = load_attachments(notice)
    assert mime == "application/pdf" and pdf.startswith(b"%PDF") and name.endswith(f"-T{claim.id}.pdf")


# --- the reminders ------------------------------------------------------------------------------------------------

def test_reminders_seven_days_before_and_the_day_after_the_due_date_once_each(people, grant):
    due = in_days(20)
    claim = approved(grant, people, 30_000, due_on=due)
    assert repayment_reminders in SCHEDULES
    before, after = datetime_on(due - timedelta(days=7)), datetime_on(due + timedelta(days=1))
    assert repayment_reminders(datetime_on(due - timedelta(days=8))) == 0
    assert repayment_reminders(before) == 1
    assert repayment_reminders(before) == 0   # the natural key: a second run adds nothing
    ops.record_repayment(db.session.get(RepaymentClaim, claim.id), people["caseworker"], amount=10_000,
                         received_on=today())
    assert repayment_reminders(after) == 1
    assert repayment_reminders(after) == 0
    keys = db.session.scalars(select(Notice.key).where(Notice.kind.like("repayment_%")).order_by(Notice.id)).all()
    assert keys == [f"repayment_claim:{claim.id}", f"repayment_reminder:claim={claim.id}",
                    f"repayment_overdue:claim={claim.id}"]
    overdue = db.session.scalar(select(Notice).where(Notice.kind == "repayment_overdue"))
    assert overdue.context["outstanding"] == 20_000 and overdue.recipient_email == people["staff"].email


def test_no_reminder_for_a_claim_repaid_in_full_or_not_approved(people, grant):
    due = in_days(10)
    repaid = approved(grant, people, 30_000, due_on=due)
    ops.record_repayment(db.session.get(RepaymentClaim, repaid.id), people["caseworker"], amount=30_000,
                         received_on=today())
    propose(grant, people, 1_000, due_on=due)
    db.session.commit()
    assert repayment_reminders(datetime_on(due - timedelta(days=7))) == 0
    assert repayment_reminders(datetime_on(due + timedelta(days=1))) == 0


def test_what_was_repaid_per_grant_counts_partial_repayments(people, round_, grant):
    claim = approved(grant, people, 30_000)
    ops.record_repayment(db.session.get(RepaymentClaim, claim.id), people["caseworker"], amount=12_000,
                         received_on=today())
    other = approved(grant, people, 5_000)
    ops.record_repayment(db.session.get(RepaymentClaim, other.id), people["caseworker"], amount=5_000,
                         received_on=today())
    propose(grant, people, 1_000)
    db.session.commit()
    assert ops.repaid_by_grant([grant.id, grant.id + 1]) == {grant.id: 17_000}
    assert ops.repaid_by_grant([]) == {}
