"""Who may do what in reviewing a case: registering, the formal check, assigning, declaring and scoring.
Impartiality is checked everywhere: a declared conflict closes every door. The decisions' own rules (propose,
approve, release, appeal) are in grants.decisions.permissions."""

from sqlalchemy import select

from grants.accounts.models import Role
from grants.accounts.permissions import can_work_on_round, is_approver, is_caseworker  # noqa: F401 - the roles
from grants.applications import workflow
from grants.applications.workflow import State
from grants.decisions.permissions import has_declared_conflict
from grants.extensions import db
from grants.review.models import Assignment, AssignmentState


def assignment_of(application, user):
    return db.session.scalar(
        select(Assignment).where(Assignment.application_id == application.id, Assignment.reviewer_id == user.id)
    )


def can_view_case(application, user):
    if not user.is_authenticated or application.state == State.draft:
        return False
    if user.role in (Role.caseworker, Role.approver, Role.admin):
        return True
    if user.role == Role.reviewer:
        # Only after declaring themselves free of conflict: before that, the declaration page shows what is needed
        # to judge impartiality (reference, title, kommuner), and nothing more.
        assignment = assignment_of(application, user)
        return assignment is not None and assignment.state == AssignmentState.active
    return False


def can_register_received(user):
    return is_caseworker(user)


def can_formal_check(application, user):
    """The workflow offers the caseworker to accept the application for review (its formal check), and the
    caseworker has declared no conflict in it."""
    return (workflow.may(application, user, workflow.Action.accept_for_review)
            and not has_declared_conflict(application, user))


def can_assign(application, user):
    return is_caseworker(user) and application.state == State.in_review


def can_declare(application, user):
    assignment = assignment_of(application, user)
    return assignment is not None and assignment.state == AssignmentState.assigned


def can_score(application, user):
    assignment = assignment_of(application, user)
    return (
        assignment is not None
        and assignment.state == AssignmentState.active
        and application.state == State.in_review
        and not has_declared_conflict(application, user)
    )
