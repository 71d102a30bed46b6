"""Who may propose, approve, release and appeal decisions. Impartiality is checked everywhere: a declared conflict
closes every door (forvaltningsloven § 6)."""

from sqlalchemy import select

from grants.accounts.permissions import is_approver, is_caseworker
from grants.applications.permissions import is_lead_staff
from grants.applications.workflow import State
from grants.core.timeutil import now_utc
from grants.decisions.models import Appeal, DecisionState, Declaration
from grants.extensions import db


def has_declared_conflict(application, user):
    """True if ``user`` (a User) has declared a conflict of interest on ``application``: one statement."""
    return db.session.scalar(
        select(Declaration.id).where(Declaration.application_id == application.id, Declaration.user_id == user.id,
                                     Declaration.conflict.is_(True)).limit(1)
    ) is not None


def conflicted_applications(user, application_ids):
    """Of these applications, the ids of those where the user has declared a conflict: one statement."""
    if not application_ids:
        return set()
    return set(db.session.scalars(
        select(Declaration.application_id).where(Declaration.application_id.in_(application_ids),
                                                 Declaration.user_id == user.id, Declaration.conflict.is_(True))
    ))


def can_propose(application, user):
    """A caseworker free of conflict proposes a grant or a rejection once the application has passed the formal
    check (in review). A dismissal before that comes from the formal check itself."""
    return (is_caseworker(user) and application.state == State.in_review
            and not has_declared_conflict(application, user))


def can_approve(decision, user):
    """Four eyes: an approver other than the proposer, free of conflict, approves a proposed decision."""
    return (
        is_approver(user)
        and decision.state == DecisionState.proposed
        and decision.proposed_by_id != user.id
        and not has_declared_conflict(decision.application, user)
    )


def approvable(decisions, user):
    """The ids of the decisions this user may approve, as can_approve decides one by one: one statement."""
    if not is_approver(user):
        return set()
    candidates = [d for d in decisions if d.state == DecisionState.proposed and d.proposed_by_id != user.id]
    conflicts = conflicted_applications(user, {d.application_id for d in candidates})
    return {d.id for d in candidates if d.application_id not in conflicts}


def can_release(user):
    return is_approver(user)


def can_handle_appeal(application, user):
    return is_caseworker(user) and not has_declared_conflict(application, user)


def can_appeal(decision, user, at=None):
    """The lead kommune's staff, within three weeks of a released decision, where the round allows appeals, and
    only once per decision."""
    from grants.decisions.operations import appeal_deadline

    application = decision.application
    return (
        is_lead_staff(application, user)
        and application.round.appeals_allowed
        and decision.state == DecisionState.released
        and (at or now_utc()) <= appeal_deadline(decision)
        and db.session.scalar(select(Appeal.id).where(Appeal.decision_id == decision.id).limit(1)) is None
    )
