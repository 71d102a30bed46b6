"""The transition table, read the way pages read it: which actions each kind of actor is offered in each state."""

import pytest

from grants.applications import workflow
from grants.applications.workflow import APPROVER, CASEWORKER, MUNICIPAL, Action, State

# What DESIGN.md's life of an application gives each actor, state by state. Anything not listed is offered nothing.
OFFERED = {
    (State.draft, MUNICIPAL): [Action.submit],
    (State.draft, CASEWORKER): [Action.register_received],
    (State.submitted, MUNICIPAL): [Action.withdraw],
    (State.submitted, CASEWORKER): [Action.accept_for_review],
    (State.submitted, APPROVER): [Action.dismiss],
    (State.in_review, MUNICIPAL): [Action.withdraw],
    (State.in_review, APPROVER): [Action.dismiss, Action.grant, Action.reject],
    (State.rejected, APPROVER): [Action.grant],
    (State.dismissed, APPROVER): [Action.grant, Action.reject],
    (State.granted, MUNICIPAL): [Action.report],
    (State.reported, CASEWORKER): [Action.approve_report],
}


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("actor", [MUNICIPAL, CASEWORKER, APPROVER])
def test_each_actor_is_offered_exactly_the_actions_of_the_table(state, actor):
    assert workflow.allowed_actions(state, actor) == OFFERED.get((state, actor), [])


def test_allowed_actions_accepts_the_stored_string_of_a_state():
    assert workflow.allowed_actions("in_review", APPROVER) == [Action.dismiss, Action.grant, Action.reject]


def test_closed_withdrawn_and_an_unknown_actor_are_offered_nothing():
    for actor in (MUNICIPAL, CASEWORKER, APPROVER, "reviewer"):
        assert workflow.allowed_actions(State.closed, actor) == []
        assert workflow.allowed_actions(State.withdrawn, actor) == []
    assert workflow.allowed_actions(State.draft, "reviewer") == []


def test_every_offered_action_leads_where_the_table_says():
    for (state, actor), actions in OFFERED.items():
        for action in actions:
            found = workflow.transition(action, state)
            assert found.source == state and found.action == action and actor in found.actors
            assert workflow.target(action, state, actor) == found.target


def test_transition_takes_strings_and_knows_nothing_outside_the_table():
    assert workflow.transition("grant", "rejected").target == State.granted
    assert workflow.transition(Action.report, State.in_review) is None
    with pytest.raises(ValueError):
        workflow.transition("approve", "draft")


def test_every_state_has_a_title_and_its_groups():
    from grants.applications.workflow import DECIDED_STATES, OPEN_STATES, RECEIVED_STATES, TITLES, State

    assert set(TITLES) == set(State)
    assert State.in_review.title == "Under consideration" and State.draft.title == "Draft"
    assert {s for s in State if s.is_decided} == DECIDED_STATES
    assert {s for s in State if s.is_open} == OPEN_STATES == {State.submitted, State.in_review}
    assert {s for s in State if s.is_received} == RECEIVED_STATES
    assert not State.withdrawn.is_received and not State.draft.is_open and State.closed.is_decided
