"""Use cases of reviewing a case: registering a received application, the formal check, the round's reviewers,
assignment, impartiality declarations and reviews. They take the acting user, check the rules, flush and never
commit. The decisions' use cases are in grants.decisions.operations."""

from sqlalchemy import func, select

from grants.accounts.models import Role
from grants.accounts.permissions import is_caseworker
from grants.applications import workflow
from grants.applications.models import Application
from grants.applications.operations import next_reference
from grants.applications.workflow import Action, State
from grants.core import audit
from grants.core.timeutil import now_utc, within_deadline
from grants.decisions import operations as decisions
from grants.decisions.letters import dismissal_rules
from grants.decisions.models import Declaration
from grants.decisions.permissions import has_declared_conflict
from grants.errors import InvalidTransition, NotPermitted, ValidationFailed
from grants.extensions import db
from grants.review import permissions, scoring
from grants.review.models import (
    ASSIGNMENT_LIFE,
    Assignment,
    AssignmentState,
    DismissalReason,
    FormalCheck,
    Review,
    RoundReviewer,
    Score,
)


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
        decisions.withdraw_open_proposals(application)  # a dismissal proposed (or approved) after an earlier check
        workflow.apply(application, Action.accept_for_review, actor, workflow.CASEWORKER, **checks)
    else:
        audit.record(actor, application, "formal_check_failed", from_state=application.state,
                     reason=reason_text, reason_code=reason_code, **checks)
        decisions.propose_dismissal(application, actor, letter_language=letter_language,
                                    reasons=dismissal_reasons(reason_code, reason_text, letter_language))
    db.session.flush()
    return check


def dismissal_reasons(reason_code, reason_text, lang="nb"):
    """The reasons of a dismissal proposed by the formal check: the standard paragraph on the rules for
    ``reason_code`` in the letter's language ``lang`` (grants.decisions.letters.dismissal_rules), the facts as the
    caseworker wrote them, and the code."""
    return {"rules": dismissal_rules(reason_code, lang), "facts": (reason_text or "").strip(),
            "considerations": "", "code": reason_code}


# --- reviewers, assignment and impartiality ----------------------------------------------------------------

def add_round_reviewer(round_, user, actor):
    _require(is_caseworker(actor))
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
    if has_declared_conflict(application, reviewer):
        raise NotPermitted("conflict_declared")
    assignment = permissions.assignment_of(application, reviewer)
    if assignment is not None:
        if ASSIGNMENT_LIFE.can(assignment, "reassign"):
            ASSIGNMENT_LIFE.move(assignment, "reassign")
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
    if ASSIGNMENT_LIFE.can(assignment, "remove"):
        ASSIGNMENT_LIFE.move(assignment, "remove")
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
    candidates = [u for u in pool if u.id not in exclude and not has_declared_conflict(application, u)]
    if not candidates:
        return None
    return min(candidates, key=lambda u: (load.get(u.id, 0), u.id))


def auto_assign(round_, actor, per_application=2):
    """Give every application in review ``per_application`` reviewers, spreading the work evenly."""
    _require(is_caseworker(actor))
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
    ASSIGNMENT_LIFE.move(assignment, "declare_conflict" if conflict else "declare_free")
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


