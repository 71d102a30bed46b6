"""IMDi's side of access, on real rows: roles, assignments in each state, declared conflicts (which close every
door, and only for the application and the person they name), four eyes, and the three weeks for an appeal."""

from datetime import timedelta

import pytest
from flask_login import AnonymousUserMixin

from grants.accounts.models import Role
from grants.applications.workflow import State
from grants.core.timeutil import now_utc
from grants.decisions import permissions as decision_permissions
from grants.decisions.models import Appeal, Decision, DecisionState, Declaration, Outcome
from grants.decisions.operations import APPEAL_WINDOW
from grants.extensions import db
from grants.review import permissions
from grants.review.models import Assignment, AssignmentState
from tests.factories import ApplicationFactory, RoundFactory, UserFactory, municipal_user, submitted_application


@pytest.fixture
def people(app):
    return {
        "caseworker": UserFactory(role=Role.caseworker),
        "approver": UserFactory(role=Role.approver),
        "approver2": UserFactory(role=Role.approver),
        "admin": UserFactory(role=Role.admin),
        "reviewer": UserFactory(role=Role.reviewer),
        "kommune": municipal_user("0301"),
        "anonymous": AnonymousUserMixin(),
    }


@pytest.fixture
def round_(app):
    return RoundFactory(appeals_allowed=True)


def declare_conflict(application, user):
    db.session.add(Declaration(application_id=application.id, user_id=user.id, conflict=True, reason="Nabo"))
    db.session.flush()


def assign(application, user, state):
    db.session.add(Assignment(application_id=application.id, reviewer_id=user.id, state=state))
    db.session.flush()


def decision(application, proposer, state=DecisionState.proposed, approver=None, released_at=None):
    d = Decision(application_id=application.id, round_id=application.round_id, outcome=Outcome.granted,
                 amount=100_000, state=state, proposed_by_id=proposer.id,
                 approved_by_id=getattr(approver, "id", None), approved_at=now_utc() if approver else None,
                 released_at=released_at)
    db.session.add(d)
    db.session.flush()
    return d


def test_roles_of_imdi(people):
    assert {n for n, u in people.items() if permissions.is_caseworker(u)} == {"caseworker", "admin"}
    assert {n for n, u in people.items() if permissions.is_approver(u)} == {"approver", "approver2", "admin"}
    assert {n for n, u in people.items() if permissions.can_register_received(u)} == {"caseworker", "admin"}
    assert {n for n, u in people.items() if decision_permissions.can_release(u)} == {"approver", "approver2", "admin"}
    assert {n for n, u in people.items() if permissions.can_work_on_round(u)} == {
        "caseworker", "approver", "approver2", "admin"}


def test_a_conflict_is_about_one_application_and_one_person(round_, people):
    first, second = submitted_application(round_), submitted_application(round_)
    declare_conflict(first, people["caseworker"])
    db.session.add(Declaration(application_id=second.id, user_id=people["approver"].id, conflict=False))
    db.session.flush()
    assert decision_permissions.has_declared_conflict(first, people["caseworker"])
    assert not decision_permissions.has_declared_conflict(second, people["caseworker"])
    assert not decision_permissions.has_declared_conflict(first, people["approver"])
    assert not decision_permissions.has_declared_conflict(second, people["approver"])  # declared free of conflict


def test_conflicted_applications_among_many_in_one_go(round_, people):
    apps = [submitted_application(round_) for _ in range(4)]
    declare_conflict(apps[0], people["approver"])
    declare_conflict(apps[2], people["approver"])
    declare_conflict(apps[1], people["caseworker"])
    db.session.add(Declaration(application_id=apps[3].id, user_id=people["approver"].id, conflict=False))
    db.session.flush()
    ids = {a.id for a in apps}
    assert decision_permissions.conflicted_applications(people["approver"], ids) == {apps[0].id, apps[2].id}
    assert decision_permissions.conflicted_applications(people["approver"], {apps[1].id, apps[3].id}) == set()
    assert decision_permissions.conflicted_applications(people["caseworker"], ids) == {apps[1].id}
    assert decision_permissions.conflicted_applications(people["approver"], set()) == set()


def test_approvable_is_what_can_approve_says_one_by_one(round_, people):
    apps = [submitted_application(round_) for _ in range(4)]
    by_caseworker = decision(apps[0], people["caseworker"])
    by_approver = decision(apps[1], people["approver"])
    conflicted = decision(apps[2], people["caseworker"])
    declare_conflict(apps[2], people["approver"])
    approved = decision(apps[3], people["caseworker"], DecisionState.approved, approver=people["approver2"])
    decisions = [by_caseworker, by_approver, conflicted, approved]
    for name in ("approver", "approver2", "caseworker", "admin"):
        user = people[name]
        one_by_one = {d.id for d in decisions if decision_permissions.can_approve(d, user)}
        assert decision_permissions.approvable(decisions, user) == one_by_one, name
    assert decision_permissions.approvable(decisions, people["approver"]) == {by_caseworker.id}
    assert decision_permissions.approvable(decisions, people["approver2"]) == {by_caseworker.id, by_approver.id,
                                                                      conflicted.id}
    assert decision_permissions.approvable(decisions, people["caseworker"]) == set()


def test_who_sees_a_case(round_, people):
    application = submitted_application(round_)
    seen = {n for n, u in people.items() if permissions.can_view_case(application, u)}
    assert seen == {"caseworker", "approver", "approver2", "admin"}
    draft = ApplicationFactory(round=round_)
    assert not any(permissions.can_view_case(draft, u) for u in people.values())


@pytest.mark.parametrize("assignment_state, sees", [
    (None, False), (AssignmentState.assigned, False), (AssignmentState.active, True), (AssignmentState.removed, False),
])
def test_a_reviewer_sees_a_case_once_free_of_conflict(round_, people, assignment_state, sees):
    application = submitted_application(round_, state=State.in_review)
    other = submitted_application(round_, state=State.in_review)
    assign(other, people["reviewer"], AssignmentState.active)
    if assignment_state:
        assign(application, people["reviewer"], assignment_state)
    assert permissions.can_view_case(application, people["reviewer"]) is sees
    assert permissions.can_declare(application, people["reviewer"]) is (assignment_state == AssignmentState.assigned)


def test_formal_check_assignment_and_proposals_by_state(round_, people):
    submitted = submitted_application(round_)
    in_review = submitted_application(round_, state=State.in_review)
    rejected = submitted_application(round_, state=State.rejected)
    caseworker = people["caseworker"]
    assert permissions.can_formal_check(submitted, caseworker)
    assert not permissions.can_formal_check(in_review, caseworker)
    assert not permissions.can_assign(submitted, caseworker) and permissions.can_assign(in_review, caseworker)
    # A proposal (grant or rejection) comes after the formal check; a dismissal before it comes from the check.
    assert decision_permissions.can_propose(in_review, caseworker)
    assert not decision_permissions.can_propose(submitted, caseworker)
    assert not decision_permissions.can_propose(rejected, caseworker)
    for name in ("approver", "reviewer", "kommune", "anonymous"):
        user = people[name]
        assert not permissions.can_formal_check(submitted, user), name
        assert not permissions.can_assign(in_review, user), name
        assert not decision_permissions.can_propose(in_review, user), name
        assert not decision_permissions.can_handle_appeal(submitted, user), name


def test_a_declared_conflict_closes_the_caseworkers_doors_on_that_application_only(round_, people):
    submitted, other = submitted_application(round_), submitted_application(round_)
    caseworker = people["caseworker"]
    declare_conflict(submitted, caseworker)
    assert not permissions.can_formal_check(submitted, caseworker)
    assert not decision_permissions.can_handle_appeal(submitted, caseworker)
    assert permissions.can_formal_check(other, caseworker) and decision_permissions.can_handle_appeal(other, caseworker)
    in_review = submitted_application(round_, state=State.in_review)
    declare_conflict(in_review, caseworker)
    assert not decision_permissions.can_propose(in_review, caseworker)


def test_only_an_active_assignment_without_conflict_scores_an_application_in_review(round_, people):
    reviewer = people["reviewer"]
    in_review = submitted_application(round_, state=State.in_review)
    assign(in_review, reviewer, AssignmentState.active)
    assert permissions.can_score(in_review, reviewer)
    declare_conflict(in_review, reviewer)
    assert not permissions.can_score(in_review, reviewer)
    waiting = submitted_application(round_, state=State.in_review)
    assign(waiting, reviewer, AssignmentState.assigned)
    assert not permissions.can_score(waiting, reviewer)
    decided = submitted_application(round_, state=State.rejected)
    assign(decided, reviewer, AssignmentState.active)
    assert not permissions.can_score(decided, reviewer)
    assert not permissions.can_score(submitted_application(round_, state=State.in_review), reviewer)


def released(application, people, at):
    return decision(application, people["caseworker"], DecisionState.released, approver=people["approver"],
                    released_at=at)


def test_an_appeal_within_three_weeks_of_release_by_the_lead_kommune_once(round_, people):
    released_at = now_utc() - timedelta(days=1)
    d = released(submitted_application(round_, state=State.granted, amount_granted=100_000), people, released_at)
    kommune = people["kommune"]
    assert decision_permissions.can_appeal(d, kommune)
    assert decision_permissions.can_appeal(d, kommune, at=released_at + APPEAL_WINDOW)
    assert not decision_permissions.can_appeal(d, kommune, at=released_at + APPEAL_WINDOW + timedelta(seconds=1))
    for name in ("caseworker", "approver", "admin"):
        assert not decision_permissions.can_appeal(d, people[name]), name
    assert not decision_permissions.can_appeal(d, municipal_user("4601"))
    # An appeal of another decision does not use up this one's.
    other = released(submitted_application(round_, state=State.granted, amount_granted=100_000), people, released_at)
    db.session.add(Appeal(decision_id=other.id, application_id=other.application_id, lodged_by_id=kommune.id,
                          text="Klage"))
    db.session.flush()
    assert decision_permissions.can_appeal(d, kommune)
    assert not decision_permissions.can_appeal(other, kommune)


def test_the_moment_given_decides_not_the_clock(round_, people):
    released_at = now_utc()
    d = released(submitted_application(round_, state=State.granted, amount_granted=100_000), people, released_at)
    assert not decision_permissions.can_appeal(d, people["kommune"], at=released_at + APPEAL_WINDOW + timedelta(days=7))


def test_no_appeal_where_the_round_allows_none_or_before_release(people):
    closed_to_appeals = RoundFactory(appeals_allowed=False)
    d = released(submitted_application(closed_to_appeals, state=State.granted, amount_granted=100_000), people,
                 now_utc())
    assert not decision_permissions.can_appeal(d, people["kommune"])
    proposed = decision(submitted_application(RoundFactory(appeals_allowed=True), state=State.in_review),
                        people["caseworker"], DecisionState.approved, approver=people["approver"])
    assert not decision_permissions.can_appeal(proposed, people["kommune"], at=now_utc())
