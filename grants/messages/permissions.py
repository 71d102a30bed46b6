"""Who may read and write the messages of a case."""

from grants.accounts.models import Role
from grants.applications.permissions import is_lead_staff, is_partner_staff

IMDI_WRITERS = (Role.caseworker, Role.approver, Role.admin)


def _received(application):
    return application.state.is_received or application.reference is not None


def can_read(application, user):
    """The lead and partner kommuner's staff (not IMDi's internal notes) and IMDi's caseworkers, approvers and
    administrators, once the application is received."""
    if not user.is_authenticated or not _received(application):
        return False
    return user.role in IMDI_WRITERS or is_lead_staff(application, user) or is_partner_staff(application, user)


def sees_internal(user):
    return user.is_authenticated and user.role in IMDI_WRITERS


def can_write(application, user):
    """The lead kommune's active staff and IMDi's caseworkers, approvers and administrators; partners read."""
    return can_read(application, user) and (user.role in IMDI_WRITERS or is_lead_staff(application, user))


def can_ask(user):
    """Asking the kommune for more information by a date: IMDi's caseworkers (an administrator has the role)."""
    return user.is_authenticated and user.has_role(Role.caseworker)
