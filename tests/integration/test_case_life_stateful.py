"""Random sequences of what kommuner, caseworkers and approvers do in a round (hypothesis' stateful testing),
against the rules that must hold whatever the order: no live decision on a withdrawn application, never more
granted than the budget, a release that never jams (every decision it leaves behind has a reason), and no two
applications with one reference."""

import uuid

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select

from grants.accounts.models import Role
from grants.applications import operations as applying
from grants.applications.models import Application
from grants.applications.workflow import State
from grants.decisions import operations as decision_ops
from grants.decisions.models import Decision, DecisionState, Outcome
from grants.errors import DomainError
from grants.extensions import db
from grants.review import operations as review
from tests.conftest import _clean, examples
from tests.factories import ApplicationFactory, RoundFactory, UserFactory, municipal_user

BUDGET = 1_000_000
KOMMUNER = ("0301", "4601", "5001", "1103", "3201")
CHECKS = dict(eligible_applicant=True, in_time=True, complete=True, within_scheme=True, conditions_met=True)
REASONS = {"rules": "Utlysningen", "facts": "Svak forankring", "considerations": "Andre var sterkere"}
LIVE = (DecisionState.proposed, DecisionState.approved, DecisionState.released)


class RoundLife(RuleBasedStateMachine):
    app = None  # set by the test

    @initialize()
    def a_round_and_its_people(self):
        _clean(self.app)
        self.round = RoundFactory(budget=BUDGET)
        self.staff = {number: municipal_user(number) for number in KOMMUNER}
        self.caseworker = UserFactory(role=Role.caseworker)
        self.approvers = [UserFactory(role=Role.approver), UserFactory(role=Role.approver)]
        self.applications = []
        self.held = []
        db.session.commit()

    def _pick(self, data, states):
        candidates = [a for a in self.applications if a.state in states]
        return data.draw(st.sampled_from(candidates)) if candidates else None

    def _attempt(self, action, *args, **kwargs):
        """A user's action: either it is done (and committed) or refused with nothing changed."""
        try:
            result = action(*args, **kwargs)
        except DomainError:
            db.session.rollback()
            return None
        db.session.commit()
        return result

    @rule(number=st.sampled_from(KOMMUNER))
    def a_kommune_submits(self, number):
        staff = self.staff[number]
        draft = ApplicationFactory(round=self.round, municipality_id=staff.municipality_id, state=State.draft,
                                   amount_applied=400_000)
        db.session.commit()
        self._attempt(applying.submit_application, draft, staff, submission_key=uuid.uuid4().hex, snapshot={},
                      problems=[])
        self.applications.append(draft)

    def _any(self, *states):
        return any(a.state in states for a in getattr(self, "applications", []))

    @precondition(lambda self: self._any(State.submitted))
    @rule(data=st.data(), accept=st.booleans())
    def the_caseworker_checks(self, data, accept):
        application = self._pick(data, {State.submitted})
        if application is not None:
            self._attempt(review.formal_check, application, self.caseworker, checks=CHECKS, accept=accept,
                          reason_code=None if accept else "ineligible", reason_text="Ikke en kommune")

    @precondition(lambda self: self._any(State.submitted, State.in_review, State.withdrawn))
    @rule(data=st.data(), amount=st.integers(1, 400_000), grant=st.booleans())
    def the_caseworker_proposes(self, data, amount, grant):
        application = self._pick(data, {State.submitted, State.in_review, State.withdrawn})
        if application is not None:
            values = {"outcome": Outcome.granted, "amount": amount} if grant else \
                {"outcome": Outcome.rejected, "reasons": REASONS}
            self._attempt(decision_ops.propose_decision, application, self.caseworker, **values)

    @rule(data=st.data())
    def an_approver_approves_one(self, data):
        proposals = db.session.scalars(select(Decision).where(Decision.state == DecisionState.proposed)).all()
        if proposals:
            self._attempt(decision_ops.approve_decision, data.draw(st.sampled_from(proposals)),
                          data.draw(st.sampled_from(self.approvers)))

    @rule(which=st.integers(0, 1))
    def an_approver_approves_all(self, which):
        self._attempt(decision_ops.approve_all, self.round, self.approvers[which])

    @precondition(lambda self: self._any(State.submitted, State.in_review))
    @rule(data=st.data())
    def a_kommune_withdraws(self, data):
        application = self._pick(data, {State.submitted, State.in_review})
        if application is not None:
            number = next(n for n in KOMMUNER if self.staff[n].municipality_id == application.municipality_id)
            self._attempt(applying.withdraw_application, application, self.staff[number], "Vi trekker søknaden")

    @rule()
    def the_approver_releases(self):
        outcome = self._attempt(decision_ops.release_round, self.round, self.approvers[0])
        assert outcome is not None, "a release refused the whole round"
        _released, self.held = outcome
        for decision, reason in self.held:
            assert decision.state == DecisionState.approved and reason

    @invariant()
    def no_live_decision_on_a_withdrawn_application(self):
        if not hasattr(self, "round"):
            return
        live = db.session.scalar(select(func.count()).select_from(Decision).join(Application).where(
            Application.state == State.withdrawn, Decision.state.in_(LIVE)))
        assert live == 0

    @invariant()
    def never_more_granted_than_the_budget(self):
        if not hasattr(self, "round"):
            return
        committed = decision_ops.committed_amount(self.round.id,
                                                  states=(DecisionState.approved, DecisionState.released))
        assert committed <= BUDGET
        granted = db.session.scalar(select(func.coalesce(func.sum(Application.amount_granted), 0))
                                    .where(Application.round_id == self.round.id))
        assert granted <= BUDGET

    @invariant()
    def a_grant_or_rejection_only_after_the_formal_check(self):
        if not hasattr(self, "round"):
            return
        early = db.session.scalar(select(func.count()).select_from(Decision).join(Application).where(
            Application.state == State.submitted, Decision.state.in_(LIVE),
            Decision.outcome != Outcome.dismissed))
        assert early == 0

    @invariant()
    def references_are_unique(self):
        references = db.session.scalars(select(Application.reference).where(Application.reference.is_not(None))).all()
        assert len(references) == len(set(references))
        db.session.commit()


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_no_order_of_actions_breaks_the_rules_of_a_round(app):
    RoundLife.app = app
    RoundLife.TestCase.settings = settings(max_examples=examples(20), stateful_step_count=30, deadline=None,
                                           suppress_health_check=list(HealthCheck))
    RoundLife.TestCase().runTest()
