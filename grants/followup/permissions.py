"""Who may see and answer a grant."""

from grants.accounts.permissions import can_work_on_round
from grants.applications.permissions import can_view, is_lead_staff
from grants.followup.models import GRANT_LIFE


def can_see_grant(grant, user):
    """Whoever may see the application: the lead and partner kommuner's staff, IMDi's caseworkers, approvers and
    administrators."""
    return can_view(grant.application, user)


def can_answer(grant, user):
    """The lead kommune's active staff, while the grant is offered."""
    return is_lead_staff(grant.application, user) and GRANT_LIFE.can(grant, "accept")


def can_follow_up(user):
    """IMDi's staff who run a round's casework see its grants."""
    return can_work_on_round(user)
