"""Repayment claims on a grant (krav om tilbakebetaling) and the repayments received on them (innbetalinger).

A claim is proposed by one of IMDi's caseworkers and approved by another person with the approver role (four eyes,
also a CHECK in the database); on approval the claim letter goes to the kommune (grants.followup.letters) with a
notice through the outbox. IMDi records the repayments received; partial repayments add up, and the claim is repaid
when they reach its amount. A proposal can be withdrawn. Amounts are whole kroner, dates Oslo dates.

Who may: the predicates ``can_*`` below. A caseworker or approver who declared a conflict of interest in the
application (grants.decisions.permissions.has_declared_conflict) may do nothing here (forvaltningsloven § 6).
The operations take the acting user, check the rules, flush and never commit."""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from grants.accounts.models import User, UserStatus
from grants.accounts.permissions import is_approver, is_caseworker
from grants.applications.models import Application
from grants.core import audit
from grants.core.timeutil import now_utc, oslo_date
from grants.db import lock_row
from grants.decisions.letters import letter_language_for
from grants.decisions.permissions import has_declared_conflict
from grants.errors import InvalidTransition, NotPermitted, ValidationFailed
from grants.extensions import db
from grants.followup import letters
from grants.followup.models import (
    CLAIM_LIFE,
    ClaimState,
    Grant,
    GrantState,
    Repayment,
    RepaymentClaim,
)
from grants.followup.operations import paid_on_grant
from grants.notify.outbox import queue_notice

MAX_REASON_CHARS = 3_000


# --- who may -----------------------------------------------------------------------------------------------------

def _free_of_conflict(grant, user):
    return not has_declared_conflict(grant.application, user)


@dataclass(frozen=True)
class ClaimRights:
    """What one user may do with one grant's claims: ``propose`` (bool), ``handle`` (withdraw a proposal, record
    repayments: bool) and ``approver_id`` (the user's id when an approver free of conflict, else None)."""

    propose: bool
    handle: bool
    approver_id: int | None

    def may_approve(self, claim):
        """Four eyes: an approver free of conflict who did not propose ``claim``."""
        return self.approver_id is not None and claim.proposed_by_id != self.approver_id


def rights_on(grant, user):
    """The ClaimRights of ``user`` on ``grant``'s claims, asking about conflicts once (one statement): a caseworker
    free of conflict proposes on a grant the kommune accepted; caseworkers and approvers free of conflict withdraw
    proposals and record repayments; approvers free of conflict approve what others proposed."""
    free = _free_of_conflict(grant, user)
    return ClaimRights(propose=free and is_caseworker(user) and grant.state == GrantState.accepted,
                       handle=free and (is_caseworker(user) or is_approver(user)),
                       approver_id=user.id if free and is_approver(user) else None)


def can_propose_claim(grant, user):
    """A caseworker free of conflict, for a grant the kommune accepted."""
    return rights_on(grant, user).propose


def can_approve_claim(claim, user):
    """Four eyes: an approver who did not propose the claim, free of conflict. Whether the claim still waits for
    approval is the operation's question: a second approver at the same moment is told it is handled."""
    return rights_on(claim.grant, user).may_approve(claim)


def can_handle_claim(grant, user):
    """Caseworkers and approvers free of conflict withdraw a proposal and record repayments received."""
    return rights_on(grant, user).handle


# --- the figures ---------------------------------------------------------------------------------------------------

def claimed_on_grant(grant):
    """Kroner of ``grant``'s repayment claims that are not withdrawn (proposed, approved or repaid)."""
    return int(db.session.scalar(select(func.coalesce(func.sum(RepaymentClaim.amount), 0)).where(
        RepaymentClaim.grant_id == grant.id, RepaymentClaim.state != ClaimState.withdrawn)))


def claimable(grant):
    """What can still be claimed back (whole kroner, never below 0): what was paid on the grant less its other
    claims not withdrawn. A claim can only ask back money the kommune has received."""
    return max(0, paid_on_grant(grant) - claimed_on_grant(grant))


# --- proposing, approving, withdrawing ------------------------------------------------------------------------

def _checked_reason(reason):
    reason = (reason or "").replace("\r\n", "\n").strip()
    if not reason:
        raise ValidationFailed("reason_required", field="reason")
    if len(reason) > MAX_REASON_CHARS:
        raise ValidationFailed("reason_too_long", field="reason", limit=MAX_REASON_CHARS)
    return reason


def propose_claim(grant, actor, *, amount, reason, due_on, report_id=None):
    """A caseworker (``actor``, a User) free of conflict proposes that the kommune repay ``amount`` (whole kroner,
    int) of ``grant`` for ``reason`` (str, required, at most 3,000 characters) by ``due_on`` (an Oslo date, today
    or later). ``report_id`` (int or None) names the report whose approval made the claim. Another person with the
    approver role must approve it before the kommune hears of it.

    The rule (økonomiregelverket 6.3.8, and the grant letter): what is claimed back was paid, so the amount is at
    most what was paid on the grant less its other claims not withdrawn; checked under a lock on the grant's row,
    so two proposals at once never claim more than was paid. Returns the RepaymentClaim (flushed, not committed).

    Raises NotPermitted("not_permitted") for anyone but a caseworker free of conflict,
    InvalidTransition("claim_grant_not_accepted") for a grant the kommune has not accepted, and ValidationFailed:
    "claim_amount_required" or "claim_above_paid" (field "amount", with "claimable" in whole kroner),
    "reason_required" or "reason_too_long" (field "reason"), "due_on_required" or "due_on_past" (field "due_on").
    Every check is made before anything changes."""
    if not is_caseworker(actor) or not _free_of_conflict(grant, actor):
        raise NotPermitted("not_permitted")
    grant = lock_row(grant)
    if grant.state != GrantState.accepted:
        raise InvalidTransition("claim_grant_not_accepted")
    if amount is None or isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationFailed("claim_amount_required", field="amount")
    limit = claimable(grant)
    if amount > limit:
        raise ValidationFailed("claim_above_paid", field="amount", claimable=limit)
    reason = _checked_reason(reason)
    if due_on is None:
        raise ValidationFailed("due_on_required", field="due_on")
    if due_on < oslo_date(now_utc()):
        raise ValidationFailed("due_on_past", field="due_on")
    claim = RepaymentClaim(grant_id=grant.id, amount=amount, reason=reason, due_on=due_on, report_id=report_id,
                           proposed_by_id=actor.id, state=ClaimState.proposed)
    db.session.add(claim)
    db.session.flush()
    audit.record(actor, grant.application, "propose_claim", claim_id=claim.id, amount=amount,
                 due_on=due_on.isoformat(), report_id=report_id)
    return claim


def kommune_recipient(grant):
    """Who in the kommune hears of a claim: the person who accepted the grant while still its active staff, else
    the kommune's administrator, else its first active user; None when nobody is left. One statement."""
    application = grant.application
    people = db.session.scalars(
        select(User).where(User.municipality_id == application.municipality_id, User.status == UserStatus.active)
        .order_by((User.id == (grant.answered_by_id or 0)).desc(), User.is_municipality_admin.desc(), User.id)
        .limit(1)).all()
    return people[0] if people else None


def notice_context(claim):
    """What the claim's e-mails say (JSON: ISO dates, whole kroner)."""
    application = claim.grant.application
    return {"reference": application.reference, "title": application.title, "amount": claim.amount,
            "outstanding": claim.outstanding, "due": claim.due_on.isoformat(), "claim_id": claim.id,
            "application_id": application.id, "municipality_name": application.municipality.name,
            "account_number": claim.account_number, "payment_reference": letters.payment_reference(claim)}


def approve_claim(claim, actor):
    """The second pair of eyes: an approver (``actor``) who did not propose ``claim``, free of conflict, approves
    it. The claim letter's language is fixed (the kommune's written standard, grants.decisions.letters
    .letter_language_for, with the grant decision's choice for a neutral kommune) with IMDi's account to pay to,
    and the kommune is told through the outbox with the letter attached (key "repayment_claim:<id>"). Returns the
    claim (flushed).

    Raises NotPermitted("claim_four_eyes") for the proposer, anyone not an approver or one with a conflict;
    InvalidTransition("claim_handled") when it is no longer a proposal (two approving at once: the second finds it
    handled, the row is locked), InvalidTransition("claim_due_passed") when its due date has passed meanwhile."""
    claim = lock_row(claim)  # approvals and repayments at the same moment queue up
    grant = claim.grant
    if not is_approver(actor) or actor.id == claim.proposed_by_id or not _free_of_conflict(grant, actor):
        raise NotPermitted("claim_four_eyes")
    if not CLAIM_LIFE.can(claim, "approve"):
        raise InvalidTransition("claim_handled")
    if claim.due_on < oslo_date(now_utc()):
        raise InvalidTransition("claim_due_passed")
    application = grant.application
    lang = letter_language_for(application.municipality, chosen=grant.decision.letter_language)
    account = letters.repayment_account()
    CLAIM_LIFE.move(claim, "approve")
    claim.approved_by_id, claim.approved_at = actor.id, now_utc()
    claim.letter_language, claim.account_number = lang, account
    db.session.flush()
    audit.record(actor, application, "approve_claim", claim_id=claim.id, amount=claim.amount)
    person = kommune_recipient(grant)
    if person is not None:
        queue_notice("repayment_claim", to=person.email, user=person, language=claim.letter_language,
                     key=f"repayment_claim:{claim.id}", context=notice_context(claim),
                     attachments=[{"type": "repayment_claim_letter", "claim_id": claim.id}])
    return claim


def withdraw_claim(claim, actor):
    """A caseworker or approver free of conflict withdraws a proposed claim (an approved one was sent to the
    kommune and stays). A case whose report was approved with this claim is then closed, if no other claim is open
    (grants.followup.reports.settle). Returns the claim (flushed). Raises NotPermitted("not_permitted"),
    InvalidTransition("claim_handled") when it is not a proposal any more."""
    claim = lock_row(claim)  # approvals and repayments at the same moment queue up
    if not can_handle_claim(claim.grant, actor):
        raise NotPermitted("not_permitted")
    if not CLAIM_LIFE.can(claim, "withdraw"):
        raise InvalidTransition("claim_handled")
    CLAIM_LIFE.move(claim, "withdraw")
    claim.withdrawn_at = now_utc()
    db.session.flush()
    audit.record(actor, claim.grant.application, "withdraw_claim", claim_id=claim.id, amount=claim.amount)
    _settle(claim.grant, actor)
    return claim


# --- repayments received ---------------------------------------------------------------------------------------

def record_repayment(claim, actor, *, amount, received_on):
    """A caseworker or approver free of conflict records that ``amount`` (whole kroner) of an approved ``claim``
    came in on ``received_on`` (an Oslo date, not in the future nor before the approval). Partial repayments add
    up; when they reach the claim's amount the claim is repaid (on the latest day received), and a case whose
    report was approved with the claim is closed if no other claim is open (grants.followup.reports.settle). Never
    more than is still owed (checked under a lock on the claim's row). Returns the Repayment (flushed).

    Raises NotPermitted("not_permitted"), InvalidTransition("claim_not_collecting") for a claim not approved or
    already repaid, ValidationFailed "claim_amount_required" or "repayment_above_claim" (field "amount", with
    "outstanding" in whole kroner), "received_on_required", "received_on_future" or "received_on_before_claim"
    (field "received_on")."""
    claim = lock_row(claim)  # approvals and repayments at the same moment queue up
    if not can_handle_claim(claim.grant, actor):
        raise NotPermitted("not_permitted")
    if not CLAIM_LIFE.can(claim, "repay"):
        raise InvalidTransition("claim_not_collecting")
    if amount is None or isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationFailed("claim_amount_required", field="amount")
    received, last_day = db.session.execute(
        select(func.coalesce(func.sum(Repayment.amount), 0), func.max(Repayment.received_on))
        .where(Repayment.claim_id == claim.id)).one()
    outstanding = claim.amount - int(received)
    if amount > outstanding:
        raise ValidationFailed("repayment_above_claim", field="amount", outstanding=outstanding)
    if received_on is None:
        raise ValidationFailed("received_on_required", field="received_on")
    if received_on > oslo_date(now_utc()):
        raise ValidationFailed("received_on_future", field="received_on")
    if received_on < oslo_date(claim.approved_at):
        raise ValidationFailed("received_on_before_claim", field="received_on", approved=claim.approved_at)
    repayment = Repayment(claim_id=claim.id, amount=amount, received_on=received_on, recorded_by_id=actor.id)
    db.session.add(repayment)
    if amount == outstanding:
        CLAIM_LIFE.move(claim, "repay")
        claim.repaid_on = max(received_on, last_day or received_on)
    db.session.flush()
    db.session.expire(claim, ["repayments"])
    audit.record(actor, claim.grant.application, "record_repayment", claim_id=claim.id, amount=amount,
                 received_on=received_on.isoformat(), repaid=claim.is_repaid)
    if claim.is_repaid:
        _settle(claim.grant, actor)
    return repayment


def _settle(grant, actor):
    """A report approved with this claim closes its case once no claim is open (grants.followup.reports.settle)."""
    from grants.applications import workflow
    from grants.followup import reports

    reports.settle(grant, actor, workflow.CASEWORKER if is_caseworker(actor) else workflow.APPROVER)


# --- the read side -----------------------------------------------------------------------------------------------

def claims_of(grant):
    """``grant``'s claims, newest first, with their repayments and the people who proposed and approved them: four
    statements whatever their number."""
    return db.session.scalars(
        select(RepaymentClaim).where(RepaymentClaim.grant_id == grant.id)
        .options(selectinload(RepaymentClaim.repayments), selectinload(RepaymentClaim.proposed_by),
                 selectinload(RepaymentClaim.approved_by))
        .order_by(RepaymentClaim.id.desc())).all()


def repaid_by_grant(grant_ids):
    """Kroner repaid per grant (the repayments received on its claims, partial ones included): {grant id: kroner}
    for those of ``grant_ids`` with any. One statement whatever their number."""
    if not grant_ids:
        return {}
    return {grant_id: int(kroner) for grant_id, kroner in db.session.execute(
        select(RepaymentClaim.grant_id, func.sum(Repayment.amount))
        .join(Repayment, Repayment.claim_id == RepaymentClaim.id)
        .where(RepaymentClaim.grant_id.in_(set(grant_ids))).group_by(RepaymentClaim.grant_id)).all()}


def overdue_claims(today=None, round_id=None):
    """Approved claims whose due date (an Oslo date) is before ``today`` (default: today in Oslo) and that are not
    wholly repaid, of one round (``round_id``) or all, the oldest due first, as (claim, kroner received) pairs. Two
    statements whatever their number: the claims with what was received, then their grants with application and
    kommune."""
    today = today or oslo_date(now_utc())
    received = (select(Repayment.claim_id, func.sum(Repayment.amount).label("received"))
                .group_by(Repayment.claim_id).subquery())
    query = (select(RepaymentClaim, func.coalesce(received.c.received, 0))
             .outerjoin(received, received.c.claim_id == RepaymentClaim.id)
             .where(RepaymentClaim.state == ClaimState.approved, RepaymentClaim.due_on < today))
    if round_id is not None:
        query = query.join(Grant, Grant.id == RepaymentClaim.grant_id).where(Grant.round_id == round_id)
    rows = db.session.execute(
        query
        .options(selectinload(RepaymentClaim.grant).joinedload(Grant.application).joinedload(Application.municipality))
        .order_by(RepaymentClaim.due_on, RepaymentClaim.id)).all()
    return [(claim, int(got)) for claim, got in rows]
