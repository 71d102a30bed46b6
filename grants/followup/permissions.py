"""Who may see and answer a grant."""

from grants.accounts.permissions import can_work_on_round, is_approver, is_caseworker
from grants.applications.permissions import can_view, is_lead_staff
from grants.decisions.permissions import has_declared_conflict
from grants.followup.models import GRANT_LIFE, PAYMENT_LIFE, GrantState


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


def can_propose_payment(grant, user):
    """A caseworker free of conflict, for an accepted grant."""
    return (is_caseworker(user) and grant.state == GrantState.accepted
            and not has_declared_conflict(grant.application, user))


def can_approve_payment(payment, user):
    """Four eyes: an approver who did not propose the payment, free of conflict, while it is proposed."""
    return (is_approver(user) and payment.proposed_by_id != user.id and PAYMENT_LIFE.can(payment, "approve")
            and not has_declared_conflict(payment.grant.application, user))


def can_handle_payment(grant, user):
    """Caseworkers and approvers free of conflict record a payment as paid, or withdraw one not yet paid."""
    return (is_caseworker(user) or is_approver(user)) and not has_declared_conflict(grant.application, user)
