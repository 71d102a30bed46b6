"""The repayment claim's own life (CLAIM_LIFE): proposed -> approved -> repaid, or proposed -> withdrawn, and no
other step; and the states and their titles for people."""

from types import SimpleNamespace

import pytest

from grants.errors import InvalidTransition
from grants.followup.models import CLAIM_LIFE, ClaimState

SOURCES = {"approve": {ClaimState.proposed}, "repay": {ClaimState.approved}, "withdraw": {ClaimState.proposed}}
TARGETS = {"approve": ClaimState.approved, "repay": ClaimState.repaid, "withdraw": ClaimState.withdrawn}


def test_the_life_has_exactly_these_steps():
    assert set(CLAIM_LIFE.steps) == set(SOURCES)
    for action, step in CLAIM_LIFE.steps.items():
        assert (step.sources, step.target) == (SOURCES[action], TARGETS[action]) and step.title


@pytest.mark.parametrize("state", list(ClaimState))
@pytest.mark.parametrize("action", list(SOURCES))
def test_a_claim_moves_only_along_its_steps(state, action):
    claim = SimpleNamespace(state=state)
    if state in SOURCES[action]:
        assert CLAIM_LIFE.move(claim, action).target == TARGETS[action] and claim.state == TARGETS[action]
    else:
        with pytest.raises(InvalidTransition) as refused:
            CLAIM_LIFE.move(claim, action)
        assert refused.value.message == "not_allowed" and claim.state == state
        assert refused.value.detail == {"record": "repayment_claim", "action": action, "state": str(state)}


def test_repaid_and_withdrawn_are_the_end():
    for state in (ClaimState.repaid, ClaimState.withdrawn):
        assert not any(CLAIM_LIFE.can(SimpleNamespace(state=state), action) for action in SOURCES)


def test_an_approved_claim_cannot_be_withdrawn_it_was_sent():
    assert not CLAIM_LIFE.can(SimpleNamespace(state=ClaimState.approved), "withdraw")
