"""Use cases of the decisions (vedtak): the allocation of the round's budget, proposals, approval by a second
pair of eyes, release (case by case), the cancellation of what a withdrawal leaves behind, and appeals (klager).
They take the acting user, check the rules, flush and never commit."""

from datetime import timedelta

from sqlalchemy import func, select

from grants.accounts.models import User
from grants.accounts.permissions import is_caseworker
from grants.applications import workflow
from grants.applications.models import Application
from grants.applications.permissions import is_lead_staff
from grants.applications.workflow import Action, State
from grants.core import audit
from grants.core.timeutil import now_utc
from grants.decisions import allocation, permissions
from grants.decisions.models import (
    APPEAL_LIFE,
    DECISION_LIFE,
    Allocation,
    Appeal,
    Decision,
    DecisionState,
    Outcome,
)
from grants.errors import BudgetExceeded, DomainError, InvalidTransition, NotPermitted, ValidationFailed
from grants.extensions import db
from grants.notify.outbox import queue_notice
from grants.rounds.models import Round

APPEAL_WINDOW = timedelta(weeks=3)
COMMITTED_STATES = (DecisionState.proposed, DecisionState.approved, DecisionState.released)
OPEN_PROPOSAL_STATES = (DecisionState.proposed, DecisionState.approved)


def _require(allowed, key="not_permitted"):
    if not allowed:
        raise NotPermitted(key)


# --- allocation and budget ---------------------------------------------------------------------------------

def lock_round(round_id):
    """Lock the round's row until commit, so budget checks in parallel transactions queue up."""
    db.session.execute(select(Round.id).where(Round.id == round_id).with_for_update())
    return db.session.get(Round, round_id, populate_existing=True)


APPROVED_STATES = (DecisionState.approved, DecisionState.released)


def committed_amount(round_id, exclude_application_id=None, states=COMMITTED_STATES):
    """Kroner of grant decisions in ``states`` in a round: by default proposed, approved and released. A grant the
    kommune declined (its application declined) no longer counts: the money is back in the budget."""
    declined = select(Application.id).where(Application.round_id == round_id, Application.state == State.declined)
    query = select(func.coalesce(func.sum(Decision.amount), 0)).where(
        Decision.round_id == round_id, Decision.outcome == Outcome.granted, Decision.state.in_(states),
        Decision.application_id.not_in(declined))
    if exclude_application_id is not None:
        query = query.where(Decision.application_id != exclude_application_id)
    return int(db.session.scalar(query))


def set_allocation(application, actor, amount):
    _require(is_caseworker(actor))
    if amount < 0 or amount > (application.amount_applied or 0):
        raise ValidationFailed("above_applied", field="amount")
    row = db.session.get(Allocation, application.id) or Allocation(application_id=application.id)
    row.amount, row.set_by_id, row.set_at = amount, actor.id, now_utc()
    db.session.add(row)
    db.session.flush()
    return row


def fill_allocations(round_, actor, ranked):
    """Set amounts by rank until the budget is used: ``ranked`` is the read side's ranked list."""
    _require(is_caseworker(actor))
    lines = [allocation.Line(r.application_id, r.amount_applied, r.suggested) for r in ranked]
    amounts = allocation.fill_by_rank(lines, round_.budget)
    for application_id, amount in amounts.items():
        row = db.session.get(Allocation, application_id) or Allocation(application_id=application_id)
        row.amount, row.set_by_id, row.set_at = amount, actor.id, now_utc()
        db.session.add(row)
    db.session.flush()
    audit.record(actor, round_, "fill_allocations", total=sum(amounts.values()))
    return amounts


# --- decisions ---------------------------------------------------------------------------------------------

def current_decision(application):
    return db.session.scalar(
        select(Decision).where(Decision.application_id == application.id,
                               Decision.state.in_(COMMITTED_STATES))
        .order_by(Decision.id.desc()).limit(1)
    )


def propose_decision(application, actor, **values):
    """A caseworker proposes a decision on an application that passed the formal check (in review): ``values``
    as for ``_propose``. Raises NotPermitted for anyone else or any other state; see ``_propose`` for the rest."""
    _require(permissions.can_propose(application, actor))
    return _propose(application, actor, **values)


def propose_dismissal(application, actor, *, reasons, letter_language="nb"):
    """The formal check found the application outside the conditions: a dismissal (avvisning) is proposed with
    ``reasons`` (dict: rules, facts, considerations, code). Like every decision it takes effect when an approver
    has approved and released it. The caller (grants.review's formal check) has checked who may."""
    return _propose(application, actor, outcome=Outcome.dismissed, reasons=reasons, letter_language=letter_language)


def withdraw_open_proposals(application):
    """A later formal check accepted the application: a dismissal proposed (or approved) after an earlier check is
    withdrawn (DecisionState.withdrawn). Returns the decisions withdrawn."""
    proposals = db.session.scalars(select(Decision).where(
        Decision.application_id == application.id, Decision.state.in_(OPEN_PROPOSAL_STATES))).all()
    for proposal in proposals:
        DECISION_LIFE.move(proposal, "withdraw")
    return proposals


def _propose(application, actor, *, outcome, amount=None, purpose=None, conditions=None,
             special_conditions=None, reporting_deadline=None, reasons=None, letter_language="nb",
             supersedes=None):
    """A new proposed decision, replacing an earlier proposal. The caller has checked who may: the decision form
    (propose_decision), the formal check (a dismissal) or an appeal (a reversal). A grant (amount in whole kroner)
    must fit in what remains of the round's budget: BudgetExceeded; ValidationFailed for a missing amount or
    missing reasons."""
    outcome = Outcome(outcome)
    if outcome == Outcome.granted:
        if not amount or amount <= 0:
            raise ValidationFailed("amount_required", field="amount")
        if amount > (application.amount_applied or 0):
            raise ValidationFailed("above_applied", field="amount")
        reasons = reasons or None
    else:
        amount = None
        if not reasons or not any((reasons.get(k) or "").strip() for k in ("rules", "facts", "considerations")):
            raise ValidationFailed("reasons_required", field="reasons")
    round_ = lock_round(application.round_id)
    if outcome == Outcome.granted:
        committed = committed_amount(round_.id, exclude_application_id=application.id)
        if not allocation.check_within_budget(round_.budget, committed, amount):
            raise BudgetExceeded("over_budget", remaining=round_.budget - committed)
    earlier = db.session.scalars(select(Decision).where(   # a new proposal needs approving afresh
        Decision.application_id == application.id,
        Decision.state.in_(OPEN_PROPOSAL_STATES))).all()
    for old in earlier:
        DECISION_LIFE.move(old, "withdraw")
    decision = Decision(
        application_id=application.id, round_id=application.round_id, outcome=outcome, amount=amount,
        purpose=purpose, conditions=conditions, special_conditions=special_conditions,
        reporting_deadline=reporting_deadline or (round_.reporting_deadline if outcome == Outcome.granted else None),
        reasons=reasons, letter_language=letter_language, proposed_by_id=actor.id,
        supersedes_id=getattr(supersedes, "id", None),
    )
    db.session.add(decision)
    db.session.flush()
    audit.record(actor, application, "propose", outcome=str(outcome), amount=amount, decision_id=decision.id)
    return decision


def approve_decision(decision, actor):
    """The second pair of eyes: someone other than the proposer, free of conflict, approves."""
    _require(permissions.can_approve(decision, actor), "four_eyes")
    round_ = lock_round(decision.round_id)
    if decision.outcome == Outcome.granted:
        # What is granted (approved or released) is what must fit; other proposals may still change.
        committed = committed_amount(round_.id, exclude_application_id=decision.application_id,
                                     states=APPROVED_STATES)
        if not allocation.check_within_budget(round_.budget, committed, decision.amount):
            raise BudgetExceeded("over_budget", remaining=round_.budget - committed)
    DECISION_LIFE.move(decision, "approve")
    decision.approved_by_id = actor.id
    decision.approved_at = now_utc()
    db.session.flush()
    audit.record(actor, decision.application, "approve", decision_id=decision.id, outcome=str(decision.outcome))
    return decision


def approve_all(round_, actor):
    """Approve, one by one, every proposal in the round that this approver may approve (not their own, no
    conflict). Returns (approved, refused): the decisions approved, and (decision, DomainError) for each one that
    could not be (for example a grant that no longer fits the budget). One refusal never stops the others."""
    proposals = db.session.scalars(select(Decision).where(Decision.round_id == round_.id,
                                                          Decision.state == DecisionState.proposed)
                                   .order_by(Decision.id)).all()
    approved, refused = [], []
    for decision in proposals:
        if not permissions.can_approve(decision, actor):
            continue
        try:
            approved.append(approve_decision(decision, actor))
        except DomainError as error:  # raised before the decision changed: nothing to undo
            refused.append((decision, error))
    return approved, refused


_ACTION = {Outcome.granted: Action.grant, Outcome.rejected: Action.reject, Outcome.dismissed: Action.dismiss}


def release_blocker(decision):
    """Why this approved decision cannot be released now (an error key), or None if it can."""
    application = decision.application
    if workflow.target(_ACTION[decision.outcome], application.state, workflow.APPROVER) is not None:
        return None
    if application.state == State.submitted:
        return "formal_check_missing"
    return "not_allowed"


def release_round(round_, actor):
    """Release the round's approved decisions, case by case: each application changes state and its decision
    notices go to the outbox, held until the Celery worker has made the decision's letter (HTML and PDF, on the
    heavy queue, after the commit: letters.make_after_commit) and attached. Returns (released, held): the
    decisions released, and (decision, error key) for each one whose application cannot take its decision now
    (release_blocker); those stay approved and are listed for the approver, and never stop the others."""
    _require(permissions.can_release(actor))
    from grants.decisions import letters

    decisions = db.session.scalars(select(Decision).where(Decision.round_id == round_.id,
                                                          Decision.state == DecisionState.approved)
                                   .order_by(Decision.id)).all()
    now = now_utc()
    released, held = [], []
    for decision in decisions:
        application = decision.application
        blocker = release_blocker(decision)
        if blocker is not None:
            held.append((decision, blocker))
            continue
        if decision.supersedes is not None:
            DECISION_LIFE.move(decision.supersedes, "supersede")
        application.amount_granted = decision.amount if decision.outcome == Outcome.granted else None
        application.decided_at = now
        DECISION_LIFE.move(decision, "release")
        decision.released_at = now
        workflow.apply(application, _ACTION[decision.outcome], actor, workflow.APPROVER, record_as="release",
                       decision_id=decision.id)
        released.append(decision)
    # Every change written in one flush, then the notices: the outbox flushes before each insert, and with
    # nothing left to write that flush costs nothing, where one per decision re-sorted the whole unit of work.
    db.session.flush()
    for decision in released:
        _queue_decision_notices(decision)
    # The letters (HTML and PDF) are made after the commit, off the request; each decision notice waits for its own.
    letters.make_after_commit([d.id for d in released])
    return released, held


def cancel_open_decisions(application, actor, reason):
    """The application was withdrawn: every decision on it that is proposed or approved, and not yet released,
    is cancelled (its amount no longer counts against the round's budget), recorded in the audit log, and the
    people who proposed and approved it are told by e-mail. Returns the cancelled decisions."""
    decisions = db.session.scalars(select(Decision).where(
        Decision.application_id == application.id,
        Decision.state.in_(OPEN_PROPOSAL_STATES)).order_by(Decision.id)).all()
    for decision in decisions:
        was = decision.state
        DECISION_LIFE.move(decision, "cancel")
        audit.record(actor, application, "cancel_decision", decision_id=decision.id, was=str(was),
                     outcome=str(decision.outcome), amount=decision.amount, reason=reason)
        for person in (decision.proposed_by, decision.approved_by):
            if person is None:
                continue
            queue_notice("decision_cancelled", to=person.email, user=person, language=person.language,
                         key=f"decision_cancelled:{decision.id}:{person.id}",
                         context={"reference": application.reference, "title": application.title,
                                  "municipality_name": application.municipality.name,
                                  "outcome": str(decision.outcome), "amount": decision.amount,
                                  "reason": reason, "application_id": application.id})
    db.session.flush()
    return decisions


def _queue_decision_notices(decision):
    application = decision.application
    recipients = {}
    if application.submitted_by is not None:
        recipients[application.submitted_by.email] = application.submitted_by
    if application.contact_email:
        recipients.setdefault(application.contact_email, None)
    if not recipients:
        for user in db.session.scalars(select(User).where(User.municipality_id == application.municipality_id)):
            recipients[user.email] = user
    for email, user in recipients.items():
        queue_notice(
            "decision", to=email, user=user, language=decision.letter_language,
            key=f"decision:{decision.id}:{email}",
            context={"reference": application.reference, "title": application.title,
                     "municipality_name": application.municipality.name, "outcome": str(decision.outcome),
                     "amount": decision.amount, "application_id": application.id,
                     # The e-mail says what the letter says: how to appeal, or that the decision is final.
                     "appeals_allowed": bool(application.round.appeals_allowed)},
            attachments=[{"type": "decision_letter", "decision_id": decision.id}], held=True,
        )


# --- appeals -----------------------------------------------------------------------------------------------

def appeal_deadline(decision):
    return decision.released_at + APPEAL_WINDOW if decision.released_at else None


def lodge_appeal(decision, user, text, at=None):
    """The kommune appeals within three weeks of the notice, where the round allows appeals."""
    at = at or now_utc()
    application = decision.application
    _require(is_lead_staff(application, user))
    if not application.round.appeals_allowed:
        raise NotPermitted("appeals_not_allowed")
    if decision.state != DecisionState.released:
        raise InvalidTransition("not_released")
    if at > appeal_deadline(decision):
        raise InvalidTransition("appeal_too_late")
    if not (text or "").strip():
        raise ValidationFailed("text_required", field="text")
    appeal = Appeal(decision_id=decision.id, application_id=application.id, lodged_by_id=user.id,
                    text=text.strip(), lodged_at=at)
    db.session.add(appeal)
    db.session.flush()
    audit.record(user, application, "appeal", decision_id=decision.id)
    return appeal


def uphold_appeal(appeal, actor, note):
    """IMDi keeps its decision; the appeal goes on to the ministry."""
    application = db.session.get(Application, appeal.application_id)
    _require(permissions.can_handle_appeal(application, actor))
    if not APPEAL_LIFE.can(appeal, "uphold"):
        raise InvalidTransition("appeal_handled")
    APPEAL_LIFE.move(appeal, "uphold")
    appeal.handled_by_id, appeal.handled_at = actor.id, now_utc()
    appeal.note = (note or "").strip() or None
    db.session.flush()
    audit.record(actor, application, "uphold_appeal", appeal_id=appeal.id, note=appeal.note)
    return appeal


def reverse_appeal(appeal, actor, note, **decision_values):
    """IMDi reverses: a new decision (budget checked) that replaces the old one when it is approved and
    released."""
    application = db.session.get(Application, appeal.application_id)
    _require(permissions.can_handle_appeal(application, actor))
    if not APPEAL_LIFE.can(appeal, "reverse"):
        raise InvalidTransition("appeal_handled")
    new = _propose(application, actor, supersedes=appeal.decision, **decision_values)
    APPEAL_LIFE.move(appeal, "reverse")
    appeal.handled_by_id, appeal.handled_at = actor.id, now_utc()
    appeal.note = (note or "").strip() or None
    appeal.new_decision_id = new.id
    db.session.flush()
    audit.record(actor, application, "reverse_appeal", appeal_id=appeal.id, decision_id=new.id)
    return new


# What hangs on the case follows its withdrawal (grants.applications.workflow.follow): the decisions not yet
# released are cancelled.
workflow.follow(Action.withdraw, lambda case, actor, facts: cancel_open_decisions(case, actor, facts["reason"]))
