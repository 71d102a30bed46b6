"""Who may read and write the messages of a case."""

from grants.accounts.models import Role
from grants.applications.permissions import is_lead_staff, is_partner_staff
from grants.decisions.permissions import has_declared_conflict
from grants.messages import queries

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
    """The lead kommune's active staff, and IMDi's caseworkers, approvers and administrators who have not declared
    a conflict in the case (forvaltningsloven § 6: a declared conflict closes every door); partners read."""
    if not can_read(application, user):
        return False
    if user.role in IMDI_WRITERS:
        return not has_declared_conflict(application, user)
    return is_lead_staff(application, user)


def can_ask(application, user):
    """Asking the kommune for more information by a date: IMDi's caseworkers (an administrator has the role) who
    may write on the case."""
    return user.is_authenticated and user.has_role(Role.caseworker) and can_write(application, user)


def can_download(message, user):
    """A document attached to ``message``: whoever may read the message. The lead and partner kommuner's staff
    (never of an internal note) and IMDi's caseworkers, approvers and administrators."""
    if not can_read(message.application, user):
        return False
    return not message.internal or sees_internal(user)


def can_supplement(application, user):
    """Who may send documents afterwards to a submitted application (ettersending): the lead kommune's active
    staff who may write on the case. When they may is ``can_add_supplement``."""
    return is_lead_staff(application, user) and can_write(application, user)


def can_add_supplement(application, user):
    """``can_supplement``, while IMDi's request for information waits for the kommune's answer (queries.open_request:
    the kommune's next message answers it and closes the door)."""
    return can_supplement(application, user) and queries.open_request(application) is not None
