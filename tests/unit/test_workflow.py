from grants.applications import workflow
from grants.applications.workflow import Action, State


def test_municipality_submits_a_draft():
    assert workflow.target(Action.submit, State.draft, workflow.MUNICIPAL) == State.submitted


def test_caseworker_cannot_submit_for_the_municipality_but_can_register_a_received_application():
    assert workflow.target(Action.submit, State.draft, workflow.CASEWORKER) is None
    assert workflow.target(Action.register_received, State.draft, workflow.CASEWORKER) == State.submitted


def test_withdrawal_only_before_a_decision():
    assert workflow.target(Action.withdraw, State.submitted, workflow.MUNICIPAL) == State.withdrawn
    assert workflow.target(Action.withdraw, State.in_review, workflow.MUNICIPAL) == State.withdrawn
    for decided in (State.granted, State.rejected, State.dismissed, State.draft):
        assert workflow.target(Action.withdraw, decided, workflow.MUNICIPAL) is None


def test_dismissed_is_not_rejected():
    assert workflow.target(Action.dismiss, State.submitted, workflow.APPROVER) == State.dismissed
    assert workflow.target(Action.reject, State.in_review, workflow.APPROVER) == State.rejected
    assert State.dismissed != State.rejected


def test_received_states_exclude_drafts_and_withdrawn():
    assert State.draft not in workflow.RECEIVED_STATES
    assert State.withdrawn not in workflow.RECEIVED_STATES
    assert {State.granted, State.rejected, State.dismissed} <= workflow.RECEIVED_STATES


def test_every_state_is_reachable_or_initial():
    targets = {t.target for t in workflow.TRANSITIONS}
    assert set(State) - targets == {State.draft}
