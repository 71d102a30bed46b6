"""Who may see and change an application. Every view asks these before it does anything."""

from grants.accounts.models import Role
from grants.applications import workflow
from grants.applications.workflow import State

IMDI_READERS = (Role.caseworker, Role.approver, Role.admin)


def is_lead_staff(application, user):
    return (
        user.is_authenticated
        and user.role == Role.municipal
        and user.is_active
        and user.municipality_id == application.municipality_id
    )


def is_partner_staff(application, user):
    return (
        user.is_authenticated
        and user.role == Role.municipal
        and any(p.municipality_id == user.municipality_id for p in application.partners)
    )


def can_view(application, user):
    """Lead kommune staff, partner kommune staff (read-only), and IMDi's caseworkers, approvers, admins."""
    if not user.is_authenticated:
        return False
    if user.role in IMDI_READERS:
        return application.state != State.draft or user.role == Role.admin
    if user.role == Role.reviewer:
        return False  # reviewers read applications only through their assignments
    return is_lead_staff(application, user) or is_partner_staff(application, user)


def can_edit(application, user):
    """Only the lead kommune's staff, only a draft, only while the round takes applications."""
    return is_lead_staff(application, user) and application.state == State.draft and application.round.is_open()


def can_submit(application, user):
    """The workflow's word: the lead kommune's staff, from a draft, while the round takes applications."""
    return workflow.may(application, user, workflow.Action.submit)


def can_withdraw(application, user):
    """The workflow's word: the lead kommune's staff, while the application is received and not yet decided."""
    return workflow.may(application, user, workflow.Action.withdraw)


def can_download_attachment(application, user):
    return can_view(application, user)


def can_start_application(round_, user):
    return (
        user.is_authenticated and user.role == Role.municipal and user.is_active and round_.is_open()
    )
