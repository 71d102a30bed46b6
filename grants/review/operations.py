"""Use cases of IMDi's side: they take the acting user, check the rules, flush and never commit."""

from datetime import timedelta

from sqlalchemy import func, select

from grants.accounts.models import Role, User
from grants.applications import workflow
from grants.applications.models import Application
from grants.applications.operations import next_reference
from grants.applications.workflow import Action, State
from grants.core import audit
from grants.core.timeutil import now_utc, within_deadline
from grants.errors import BudgetExceeded, DomainError, InvalidTransition, NotPermitted, ValidationFailed
from grants.extensions import db
from grants.notify.outbox import queue_notice
from grants.review import allocation, permissions, scoring
from grants.review.models import (
    Allocation,
    Appeal,
    AppealState,
    Assignment,
    AssignmentState,
    Decision,
    DecisionState,
    Declaration,
    DismissalReason,
    FormalCheck,
    Outcome,
    Review,
    RoundReviewer,
    Score,
)
from grants.rounds.models import Round

APPEAL_WINDOW = timedelta(weeks=3)
COMMITTED_STATES = (DecisionState.proposed, DecisionState.approved, DecisionState.released)


def _require(allowed, key="not_permitted"):
    if not allowed:
        raise NotPermitted(key)


# --- receiving ---------------------------------------------------------------------------------------------

def register_received(round_, actor, *, municipality, title, amount_applied, channel, received_at, note=""):
    """An application that came by e-mail or post, registered on the kommune's behalf with its real time."""
    _require(permissions.can_register_received(actor))
    if channel not in ("email", "post"):
        raise ValidationFailed("channel", field="channel")
    application = Application(
        round_id=round_.id, round=round_, municipality_id=municipality.id, created_by_id=actor.id,
        last_changed_by_id=actor.id, state=State.draft, answers={"_registered": {"note": note}}, title=title,
        amount_applied=amount_applied, channel=channel,
    )
    db.session.add(application)
    db.session.flush()
    application.reference = next_reference(round_)
    application.received_at = received_at
    application.snapshot = {"registered": True, "channel": channel, "note": note, "title": title,
                            "amount_applied": amount_applied}
    workflow.apply(application, Action.register_received, actor, workflow.CASEWORKER, channel=channel,
                   received_at=received_at.isoformat(), late=not within_deadline(received_at, round_.deadline_date))
    db.session.flush()
    return application


# --- formal check ------------------------------------------------------------------------------------------

def suggested_check(application):
    """What the system can tell by itself about the formal conditions."""
    return {
        "eligible_applicant": application.municipality is not None,
        "in_time": application.received_at is not None
        and within_deadline(application.received_at, application.round.deadline_date),
        "complete": application.snapshot is not None and not application.snapshot.get("registered", False),
        "within_scheme": application.confirms_no_running_costs,
        "conditions_met": (application.participants or 0) >= application.round.min_participants
        and (not application.round.own_contribution_required or bool(application.own_contribution)),
    }


def formal_check(application, actor, *, checks, accept, reason_code=None, reason_text="", letter_language="nb"):
    """Record the formal check. Accepted: the application goes to review. Not accepted: a dismissal is proposed
    (it takes effect, like every decision, when an approver has approved and released it)."""
    _require(permissions.can_formal_check(application, actor))
    if not accept and reason_code is None:
        raise ValidationFailed("reason_required", field="reason_code")
    # A check may be done again (the approver sent a proposed dismissal back): one row per application.
    check = db.session.scalar(select(FormalCheck).where(FormalCheck.application_id == application.id))
    if check is None:
        check = FormalCheck(application_id=application.id)
        db.session.add(check)
    check.checked_by_id, check.checked_at, check.accepted = actor.id, now_utc(), accept
    check.reason_code = None if accept else DismissalReason(reason_code)
    check.reason_text = (reason_text or "").strip() or None
    for name, value in checks.items():
        setattr(check, name, bool(value))
    if accept:
        for proposal in db.session.scalars(select(Decision).where(
                Decision.application_id == application.id,
                Decision.state.in_((DecisionState.proposed, DecisionState.approved)))):
            proposal.state = DecisionState.withdrawn  # a dismissal proposed (or approved) after an earlier check
        workflow.apply(application, Action.accept_for_review, actor, workflow.CASEWORKER, **checks)
    else:
        audit.record(actor, application, "formal_check_failed", from_state=application.state,
                     reason=reason_text, reason_code=reason_code, **checks)
        _propose(application, actor, outcome=Outcome.dismissed, letter_language=letter_language,
                 reasons=dismissal_reasons(reason_code, reason_text))
    db.session.flush()
    return check


DISMISSAL_RULES = {
    "late": "Søknader som kommer inn etter søknadsfristen, blir avvist.",
    "ineligible": "Bare kommuner kan søke om dette tilskuddet.",
    "outside_scheme": "Tilskuddet dekker ikke ordinær drift eller tiltak utenfor ordningens formål.",
    "incomplete": "Søknader som mangler opplysninger som er nødvendige for å vurdere dem, blir avvist.",
}


def dismissal_reasons(reason_code, reason_text):
    return {"rules": DISMISSAL_RULES.get(reason_code, ""), "facts": (reason_text or "").strip(),
            "considerations": "", "code": reason_code}


# --- reviewers, assignment and impartiality ----------------------------------------------------------------

def add_round_reviewer(round_, user, actor):
    _require(permissions.is_caseworker(actor))
    if user.role not in (Role.reviewer, Role.caseworker, Role.approver, Role.admin):
        raise ValidationFailed("not_imdi", field="user")
    existing = db.session.scalar(select(RoundReviewer).where(RoundReviewer.round_id == round_.id,
                                                             RoundReviewer.user_id == user.id))
    if existing is None:
        existing = RoundReviewer(round_id=round_.id, user_id=user.id)
        db.session.add(existing)
        db.session.flush()
    return existing


def assign(application, reviewer, actor):
    """Assign a reviewer by hand. Someone who declared a conflict on this application can never be assigned."""
    _require(permissions.can_assign(application, actor))
    if permissions.has_declared_conflict(application, reviewer):
        raise NotPermitted("conflict_declared")
    assignment = permissions.assignment_of(application, reviewer)
    if assignment is not None:
        if assignment.state == AssignmentState.removed:
            assignment.state = AssignmentState.assigned
        return assignment
    assignment = Assignment(application_id=application.id, reviewer_id=reviewer.id, assigned_by_id=actor.id)
    db.session.add(assignment)
    db.session.flush()
    audit.record(actor, application, "assign", reviewer_id=reviewer.id, reviewer=reviewer.name)
    return assignment


def remove_assignment(assignment, actor):
    """A caseworker takes a reviewer off an application. Declarations and reviews already made are kept."""
    application = db.session.get(Application, assignment.application_id)
    _require(permissions.can_assign(application, actor))
    if assignment.state != AssignmentState.removed:
        assignment.state = AssignmentState.removed
        db.session.flush()
        audit.record(actor, application, "unassign", reviewer_id=assignment.reviewer_id,
                     reviewer=assignment.reviewer.name)
    return assignment


def _load(round_id):
    """Open assignments per reviewer in a round, for balancing."""
    rows = db.session.execute(
        select(Assignment.reviewer_id, func.count())
        .join(Application, Application.id == Assignment.application_id)
        .where(Application.round_id == round_id, Assignment.state != AssignmentState.removed)
        .group_by(Assignment.reviewer_id)
    ).all()
    return dict(rows)


def pick_reviewer(application, pool, load, exclude):
    """The reviewer in the pool with the least work who is free of this application; ties by id."""
    candidates = [u for u in pool if u.id not in exclude and not permissions.has_declared_conflict(application, u)]
    if not candidates:
        return None
    return min(candidates, key=lambda u: (load.get(u.id, 0), u.id))


def auto_assign(round_, actor, per_application=2):
    """Give every application in review ``per_application`` reviewers, spreading the work evenly."""
    _require(permissions.is_caseworker(actor))
    pool = [rr.user for rr in db.session.scalars(select(RoundReviewer).where(RoundReviewer.round_id == round_.id))]
    if not pool:
        raise ValidationFailed("no_reviewers", field="reviewers")
    load = _load(round_.id)
    applications = db.session.scalars(
        select(Application).where(Application.round_id == round_.id, Application.state == State.in_review)
        .order_by(Application.reference)
    ).all()
    made = 0
    for application in applications:
        current = {a.reviewer_id for a in db.session.scalars(
            select(Assignment).where(Assignment.application_id == application.id))}
        active = {a.reviewer_id for a in db.session.scalars(
            select(Assignment).where(Assignment.application_id == application.id,
                                     Assignment.state != AssignmentState.removed))}
        while len(active) < per_application:
            reviewer = pick_reviewer(application, pool, load, exclude=current)
            if reviewer is None:
                break
            assign(application, reviewer, actor)
            current.add(reviewer.id)
            active.add(reviewer.id)
            load[reviewer.id] = load.get(reviewer.id, 0) + 1
            made += 1
    return made


def declare(application, user, *, conflict, reason=""):
    """The reviewer's impartiality declaration for this application. A conflict removes the assignment and
    puts another reviewer from the round's pool in their place, if there is one."""
    _require(permissions.can_declare(application, user))
    reason = (reason or "").strip()
    if conflict and not reason:
        raise ValidationFailed("reason_required", field="reason")
    declaration = Declaration(application_id=application.id, user_id=user.id, conflict=conflict,
                              reason=reason or None)
    db.session.add(declaration)
    assignment = permissions.assignment_of(application, user)
    assignment.state = AssignmentState.removed if conflict else AssignmentState.active
    db.session.flush()
    audit.record(user, application, "declare", conflict=conflict, reason=reason or None)
    replacement = None
    if conflict:
        pool = [rr.user for rr in db.session.scalars(
            select(RoundReviewer).where(RoundReviewer.round_id == application.round_id))]
        taken = {a.reviewer_id for a in db.session.scalars(
            select(Assignment).where(Assignment.application_id == application.id))}
        replacement = pick_reviewer(application, pool, _load(application.round_id), exclude=taken)
        if replacement is not None:
            db.session.add(Assignment(application_id=application.id, reviewer_id=replacement.id,
                                      assigned_by_id=None))
            audit.record(None, application, "assign", reviewer_id=replacement.id, reviewer=replacement.name,
                         replaces=user.id)
    db.session.flush()
    return declaration, replacement


# --- reviews and scores ------------------------------------------------------------------------------------

def _specs(round_):
    return [scoring.CriterionSpec(c.id, c.weight, c.scale_min, c.scale_max) for c in round_.criteria]


def save_review(application, user, *, values, comments, recommendation=None, suggested_amount=None,
                comment="", submit=False):
    """Save the reviewer's scores (a draft may be incomplete); ``submit`` requires them complete."""
    _require(permissions.can_score(application, user))
    review = db.session.scalar(select(Review).where(Review.application_id == application.id,
                                                    Review.reviewer_id == user.id))
    if review is not None and review.is_submitted:
        raise InvalidTransition("review_submitted")
    if review is None:
        review = Review(application_id=application.id, reviewer_id=user.id)
        db.session.add(review)
    specs = _specs(application.round)
    by_criterion = {s.criterion_id: s for s in review.scores}
    for spec in specs:
        score = by_criterion.get(spec.id) or Score(criterion_id=spec.id)
        score.value = values.get(spec.id)
        score.comment = (comments.get(spec.id) or "").strip() or None
        if score not in review.scores:
            review.scores.append(score)
    review.recommendation = recommendation or None
    if suggested_amount is not None and not 0 <= suggested_amount <= (application.amount_applied or 0):
        raise ValidationFailed("suggested_amount", field="suggested_amount")
    review.suggested_amount = suggested_amount
    review.comment = (comment or "").strip() or None
    review.saved_at = now_utc()
    if submit:
        problems = scoring.score_problems(specs, values, comments)
        if problems or recommendation is None:
            raise ValidationFailed("review_incomplete", problems=problems,
                                   recommendation_missing=recommendation is None)
        review.weighted_score = scoring.weighted_score(specs, values)
        review.submitted_at = now_utc()
        audit.record(user, application, "submit_review", score=review.weighted_score,
                     recommendation=str(recommendation))
    db.session.flush()
    return review


def can_see_other_reviews(application, user):
    """Caseworkers and approvers always; a reviewer only after submitting their own review."""
    if user.role in (Role.caseworker, Role.approver, Role.admin):
        return True
    own = db.session.scalar(select(Review).where(Review.application_id == application.id,
                                                 Review.reviewer_id == user.id))
    return own is not None and own.is_submitted


# --- allocation and budget ---------------------------------------------------------------------------------

def lock_round(round_id):
    """Lock the round's row until commit, so budget checks in parallel transactions queue up."""
    db.session.execute(select(Round.id).where(Round.id == round_id).with_for_update())
    return db.session.get(Round, round_id, populate_existing=True)


APPROVED_STATES = (DecisionState.approved, DecisionState.released)


def committed_amount(round_id, exclude_application_id=None, states=COMMITTED_STATES):
    """Kroner of grant decisions in ``states`` in a round: by default proposed, approved and released."""
    query = select(func.coalesce(func.sum(Decision.amount), 0)).where(
        Decision.round_id == round_id, Decision.outcome == Outcome.granted, Decision.state.in_(states))
    if exclude_application_id is not None:
        query = query.where(Decision.application_id != exclude_application_id)
    return int(db.session.scalar(query))


def set_allocation(application, actor, amount):
    _require(permissions.is_caseworker(actor))
    if amount < 0 or amount > (application.amount_applied or 0):
        raise ValidationFailed("above_applied", field="amount")
    row = db.session.get(Allocation, application.id) or Allocation(application_id=application.id)
    row.amount, row.set_by_id, row.set_at = amount, actor.id, now_utc()
    db.session.add(row)
    db.session.flush()
    return row


def fill_allocations(round_, actor, ranked):
    """Set amounts by rank until the budget is used: ``ranked`` is the read side's ranked list."""
    _require(permissions.is_caseworker(actor))
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
        Decision.state.in_((DecisionState.proposed, DecisionState.approved)))).all()
    for old in earlier:
        old.state = DecisionState.withdrawn
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
    decision.state = DecisionState.approved
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
    from grants.review import letters

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
            decision.supersedes.state = DecisionState.superseded
        application.amount_granted = decision.amount if decision.outcome == Outcome.granted else None
        application.decided_at = now
        decision.state = DecisionState.released
        decision.released_at = now
        workflow.apply(application, _ACTION[decision.outcome], actor, workflow.APPROVER, record_as="release",
                       decision_id=decision.id)
        _queue_decision_notices(decision)
        released.append(decision)
    db.session.flush()
    # The letters (HTML and PDF) are made after the commit, off the request; each decision notice waits for its own.
    letters.make_after_commit([d.id for d in released])
    return released, held


def cancel_open_decisions(application, actor, reason):
    """The application was withdrawn: every decision on it that is proposed or approved, and not yet released,
    is cancelled (its amount no longer counts against the round's budget), recorded in the audit log, and the
    people who proposed and approved it are told by e-mail. Returns the cancelled decisions."""
    decisions = db.session.scalars(select(Decision).where(
        Decision.application_id == application.id,
        Decision.state.in_((DecisionState.proposed, DecisionState.approved))).order_by(Decision.id)).all()
    for decision in decisions:
        was = decision.state
        decision.state = DecisionState.cancelled
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
                     "amount": decision.amount, "application_id": application.id},
            attachments=[{"type": "decision_letter", "decision_id": decision.id}], held=True,
        )


# --- appeals -----------------------------------------------------------------------------------------------

def appeal_deadline(decision):
    return decision.released_at + APPEAL_WINDOW if decision.released_at else None


def lodge_appeal(decision, user, text, at=None):
    """The kommune appeals within three weeks of the notice, where the round allows appeals."""
    from grants.applications.permissions import is_lead_staff

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
    if appeal.state != AppealState.lodged:
        raise InvalidTransition("appeal_handled")
    appeal.state, appeal.handled_by_id, appeal.handled_at = AppealState.upheld, actor.id, now_utc()
    appeal.note = (note or "").strip() or None
    db.session.flush()
    audit.record(actor, application, "uphold_appeal", appeal_id=appeal.id, note=appeal.note)
    return appeal


def reverse_appeal(appeal, actor, note, **decision_values):
    """IMDi reverses: a new decision (budget checked) that replaces the old one when it is approved and
    released."""
    application = db.session.get(Application, appeal.application_id)
    _require(permissions.can_handle_appeal(application, actor))
    if appeal.state != AppealState.lodged:
        raise InvalidTransition("appeal_handled")
    new = _propose(application, actor, supersedes=appeal.decision, **decision_values)
    appeal.state, appeal.handled_by_id, appeal.handled_at = AppealState.reversed, actor.id, now_utc()
    appeal.note = (note or "").strip() or None
    appeal.new_decision_id = new.id
    db.session.flush()
    audit.record(actor, application, "reverse_appeal", appeal_id=appeal.id, decision_id=new.id)
    return new
