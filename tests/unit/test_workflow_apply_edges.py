"""workflow.apply at its edges: the audit entry names who took the action and keeps the facts given with it, and
a refusal carries the error key the pages translate ("not_allowed") with the action and the state it refused."""

import pytest

from grants.accounts.models import Role
from grants.applications import workflow
from grants.applications.workflow import Action, State
from grants.core.audit import AuditEntry
from grants.errors import InvalidTransition
from grants.extensions import db
from tests.factories import RoundFactory, UserFactory, submitted_application


def test_the_audit_entry_names_the_actor_and_keeps_the_facts(app):
    caseworker = UserFactory(role=Role.caseworker)
    application = submitted_application(RoundFactory())
    workflow.apply(application, Action.accept_for_review, caseworker, workflow.CASEWORKER, complete=True,
                   checks={"signed": True})
    db.session.flush()
    entry = db.session.query(AuditEntry).filter_by(action="accept_for_review").one()
    assert entry.actor_id == caseworker.id
    assert entry.detail == {"complete": True, "checks": {"signed": True}}
    assert (entry.object_type, entry.object_id) == ("applications", application.id)


def test_a_refusal_says_not_allowed_with_the_action_and_the_state_it_refused(app):
    application = submitted_application(RoundFactory())
    with pytest.raises(InvalidTransition) as refused:
        workflow.apply(application, Action.submit, None, workflow.MUNICIPAL)
    assert refused.value.message == "not_allowed"
    assert refused.value.detail == {"action": "submit", "state": "submitted"}
    assert application.state == State.submitted


def test_what_hangs_on_the_case_follows_inside_apply(app):
    """The decisions register a follower of the withdrawal when the app is built (no import upwards); a follower
    runs inside apply, after the state changed, with the actor and the facts; registering it twice keeps one."""
    assert workflow.followers(Action.withdraw), "grants.decisions registers the cancellation of open decisions"
    seen = []

    def follower(case, actor, facts):
        seen.append((case.state, actor, facts))

    workflow.follow(Action.accept_for_review, follower)
    workflow.follow(Action.accept_for_review, follower)
    try:
        application = submitted_application(RoundFactory())
        caseworker = UserFactory(role=Role.caseworker)
        workflow.apply(application, Action.accept_for_review, caseworker, workflow.CASEWORKER, complete=True)
        assert seen == [(State.in_review, caseworker, {"complete": True})]
    finally:
        workflow._FOLLOWERS[Action.accept_for_review].remove(follower)
