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
