"""Who may do what with users."""

from grants.accounts.models import Role, UserStatus


def can_approve_user(candidate, user):
    """IMDi's administrators approve a kommune's first user; the kommune's own administrators the rest."""
    if candidate.status != UserStatus.pending or candidate.id == user.id:
        return False
    if user.role == Role.admin:
        return True
    return (
        user.role == Role.municipal
        and user.is_municipality_admin
        and candidate.role == Role.municipal
        and candidate.municipality_id == user.municipality_id
    )


def can_manage_rounds(user):
    return user.is_authenticated and user.role == Role.admin


def can_view_outbox(user):
    return user.is_authenticated and user.role == Role.admin


def is_caseworker(user):
    """IMDi's caseworkers (saksbehandlere); an administrator has every IMDi role (User.has_role)."""
    return user.is_authenticated and user.has_role(Role.caseworker)


def is_approver(user):
    """Those who approve and release decisions (the second pair of eyes)."""
    return user.is_authenticated and user.has_role(Role.approver)


def can_work_on_round(user):
    """IMDi's staff who run a round's casework: caseworkers, approvers and administrators (not reviewers)."""
    return user.is_authenticated and user.role in (Role.caseworker, Role.approver, Role.admin)
