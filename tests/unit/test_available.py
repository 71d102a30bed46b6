"""workflow.available(case, user): what each kind of visitor may do to an application now, as the pages offer it.
Every transition is allowed for each role that may take it, refused for each that may not, and refused when its
guard does not hold; the smaller lives (decision, appeal, assignment) move only along their steps."""

from types import SimpleNamespace

import pytest
from flask_login import AnonymousUserMixin

from grants.accounts.models import Role
from grants.applications import workflow
from grants.applications.models import ApplicationPartner
from grants.applications.workflow import Action, State
from grants.core.lifecycle import Lifecycle
from grants.decisions.models import APPEAL_LIFE, DECISION_LIFE, AppealState, DecisionState
from grants.errors import InvalidTransition
from grants.extensions import db
from grants.review.models import ASSIGNMENT_LIFE, AssignmentState
from tests.factories import ApplicationFactory, RoundFactory, UserFactory, municipal_user, submitted_application


@pytest.fixture
def people(app):
    return {
        "anonymous": AnonymousUserMixin(),
        "lead": municipal_user("0301"),
        "partner": municipal_user("1103"),
        "other": municipal_user("4601"),
        "caseworker": UserFactory(role=Role.caseworker),
        "approver": UserFactory(role=Role.approver),
        "admin": UserFactory(role=Role.admin),
        "reviewer": UserFactory(role=Role.reviewer),
    }


def offered(case, user):
    return [t.action for t in workflow.available(case, user)]


# What each visitor is offered, state by state (the application belongs to kommune 0301, with 1103 as partner).
EXPECTED = {
    State.draft: {"lead": [Action.submit], "caseworker": [Action.register_received],
                  "admin": [Action.register_received]},
    State.submitted: {"lead": [Action.withdraw], "caseworker": [Action.accept_for_review],
                      "approver": [Action.dismiss], "admin": [Action.dismiss, Action.accept_for_review]},
    State.in_review: {"lead": [Action.withdraw], "approver": [Action.dismiss, Action.grant, Action.reject],
                      "admin": [Action.dismiss, Action.grant, Action.reject]},
    State.granted: {"lead": [Action.report, Action.decline]},
    State.reported: {"caseworker": [Action.approve_report, Action.return_report, Action.settle],
                     "approver": [Action.settle],
                     "admin": [Action.approve_report, Action.return_report, Action.settle]},
    State.withdrawn: {},
}


@pytest.mark.parametrize("state", list(EXPECTED))
def test_each_visitor_is_offered_what_the_table_gives_their_kind(people, state):
    round_ = RoundFactory()
    if state == State.draft:
        case = ApplicationFactory(round=round_, municipality_id=people["lead"].municipality_id)
    else:
        case = submitted_application(round_, state=state,
                                     amount_granted=100 if state in (State.granted, State.reported) else None)
    db.session.add(ApplicationPartner(application=case, municipality_id=people["partner"].municipality_id))
    db.session.flush()
    for name, user in people.items():
        assert offered(case, user) == EXPECTED[state].get(name, []), (state, name)


def test_the_submit_guard_refuses_once_the_deadline_day_is_over(people):
    case = ApplicationFactory(round=RoundFactory(closed=True), municipality_id=people["lead"].municipality_id)
    assert offered(case, people["lead"]) == []
    assert offered(case, people["caseworker"]) == [Action.register_received]  # a paper application, late
    with pytest.raises(InvalidTransition) as refused:
        workflow.apply(case, Action.submit, people["lead"], workflow.MUNICIPAL)
    assert refused.value.message == "deadline_passed" and case.state == State.draft
    open_case = ApplicationFactory(round=RoundFactory(), municipality_id=people["lead"].municipality_id)
    assert offered(open_case, people["lead"]) == [Action.submit]


def test_an_inactive_kommune_user_is_offered_nothing(people):
    case = submitted_application(RoundFactory())
    people["lead"].status = "pending"
    assert offered(case, people["lead"]) == []


def test_every_transition_has_a_title_and_may_answers_as_available(people):
    assert all(t.title for t in workflow.TRANSITIONS)
    case = submitted_application(RoundFactory())
    assert workflow.may(case, people["lead"], Action.withdraw)
    assert not workflow.may(case, people["partner"], Action.withdraw)
    assert not workflow.may(case, people["lead"], Action.submit)


LIVES = {
    "decision": (DECISION_LIFE, DecisionState, {
        "approve": {DecisionState.proposed}, "release": {DecisionState.approved},
        "withdraw": {DecisionState.proposed, DecisionState.approved},
        "cancel": {DecisionState.proposed, DecisionState.approved}, "supersede": {DecisionState.released}}),
    "appeal": (APPEAL_LIFE, AppealState, {"uphold": {AppealState.lodged}, "reverse": {AppealState.lodged}}),
    "assignment": (ASSIGNMENT_LIFE, AssignmentState, {
        "declare_free": {AssignmentState.assigned}, "declare_conflict": {AssignmentState.assigned},
        "remove": {AssignmentState.assigned, AssignmentState.active}, "reassign": {AssignmentState.removed}}),
}


@pytest.mark.parametrize("name", list(LIVES))
def test_a_record_moves_only_along_its_steps(name):
    life, states, sources = LIVES[name]
    assert set(life.steps) == set(sources)
    for action, allowed in sources.items():
        for state in states:
            record = SimpleNamespace(state=state)
            if state in allowed:
                step = life.move(record, action)
                assert record.state == step.target and step.title
            else:
                with pytest.raises(InvalidTransition) as refused:
                    life.move(record, action)
                assert refused.value.message == "not_allowed" and record.state == state
                assert refused.value.detail == {"record": name, "action": action, "state": str(state)}


def test_an_unknown_step_is_refused():
    life = Lifecycle("thing", ())
    assert not life.can(SimpleNamespace(state="a"), "go")
    with pytest.raises(InvalidTransition):
        life.move(SimpleNamespace(state="a"), "go")
