"""Who may see, edit, submit, withdraw and start an application: every kind of user against every state, on real
rows (the lead kommune, a partner kommune, a stranger kommune, a colleague not yet approved, and IMDi's roles)."""

import pytest
from flask_login import AnonymousUserMixin

from grants.accounts.models import Role
from grants.applications import permissions
from grants.applications.models import ApplicationPartner
from grants.applications.workflow import State
from grants.core.timeutil import now_utc
from grants.extensions import db
from tests.factories import (
    ApplicationFactory,
    RoundFactory,
    UserFactory,
    municipal_user,
    municipality,
    submitted_application,
)


@pytest.fixture
def people(app):
    return {
        "lead": municipal_user("0301"),
        "lead_pending": municipal_user("0301", status="pending"),
        "partner": municipal_user("4601"),
        "stranger": municipal_user("5001"),
        "caseworker": UserFactory(role=Role.caseworker),
        "approver": UserFactory(role=Role.approver),
        "admin": UserFactory(role=Role.admin),
        "reviewer": UserFactory(role=Role.reviewer),
        "anonymous": AnonymousUserMixin(),
    }


def application_in(state, round_=None):
    """An application of the lead kommune (0301) in ``state``, with 4601 as its partner."""
    round_ = round_ or RoundFactory()
    if state == State.draft:
        application = ApplicationFactory(round=round_, state=state)
    else:
        application = submitted_application(
            round_, state=state, amount_granted=100_000 if state == State.granted else None,
            withdrawn_at=now_utc() if state == State.withdrawn else None)
    application.partners.append(ApplicationPartner(municipality_id=municipality("4601").id))
    db.session.flush()
    return application


VIEWERS = {
    State.draft: {"lead", "partner", "admin"},
    State.submitted: {"lead", "partner", "caseworker", "approver", "admin"},
    State.granted: {"lead", "partner", "caseworker", "approver", "admin"},
}


@pytest.mark.parametrize("state", list(VIEWERS))
def test_who_sees_an_application_and_its_attachments(people, state):
    application = application_in(state)
    seen = {name for name, user in people.items() if permissions.can_view(application, user)}
    downloads = {name for name, user in people.items() if permissions.can_download_attachment(application, user)}
    assert seen == VIEWERS[state]
    assert downloads == VIEWERS[state]


def test_a_colleague_not_yet_approved_sees_nothing_but_partner_staff_need_no_approval_to_read(people):
    application = application_in(State.submitted)
    assert not permissions.is_lead_staff(application, people["lead_pending"])
    assert permissions.is_lead_staff(application, people["lead"])
    assert permissions.is_partner_staff(application, people["partner"])
    for name in ("lead", "stranger", "caseworker", "reviewer", "anonymous"):
        assert not permissions.is_partner_staff(application, people[name]), name


def test_without_partners_only_the_lead_kommune_sees_a_draft(people):
    application = ApplicationFactory(round=RoundFactory(), state=State.draft)
    assert {n for n, u in people.items() if permissions.can_view(application, u)} == {"lead", "admin"}


def test_only_the_lead_kommunes_active_staff_edit_and_submit_a_draft_while_the_round_is_open(people):
    draft = application_in(State.draft)
    editors = {n for n, u in people.items() if permissions.can_edit(draft, u)}
    submitters = {n for n, u in people.items() if permissions.can_submit(draft, u)}
    assert editors == submitters == {"lead"}
    submitted = application_in(State.submitted)
    assert not permissions.can_edit(submitted, people["lead"]) and not permissions.can_submit(submitted, people["lead"])
    closed = application_in(State.draft, RoundFactory(closed=True))
    assert not permissions.can_edit(closed, people["lead"]) and not permissions.can_submit(closed, people["lead"])


@pytest.mark.parametrize("state, allowed", [
    (State.draft, False), (State.submitted, True), (State.in_review, True), (State.granted, False),
    (State.withdrawn, False), (State.dismissed, False),
])
def test_the_lead_kommune_withdraws_only_before_a_decision(people, state, allowed):
    application = application_in(state)
    assert permissions.can_withdraw(application, people["lead"]) is allowed
    for name in ("lead_pending", "partner", "stranger", "caseworker", "admin"):
        assert not permissions.can_withdraw(application, people[name])


def test_only_active_kommune_staff_start_an_application_and_only_in_an_open_round(people):
    open_round, closed_round = RoundFactory(), RoundFactory(closed=True)
    starters = {n for n, u in people.items() if permissions.can_start_application(open_round, u)}
    assert starters == {"lead", "partner", "stranger"}
    assert not any(permissions.can_start_application(closed_round, u) for u in people.values())
