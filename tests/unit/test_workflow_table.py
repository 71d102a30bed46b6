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
    (State.granted, MUNICIPAL): [Action.report, Action.decline],
    (State.reported, CASEWORKER): [Action.approve_report, Action.return_report, Action.settle],
    (State.reported, APPROVER): [Action.settle],
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


def test_apply_moves_the_state_records_it_and_refuses_what_the_table_has_not(app):
    import pytest

    from grants.applications import workflow
    from grants.applications.workflow import Action, State
    from grants.core.audit import AuditEntry
    from grants.errors import InvalidTransition
    from grants.extensions import db
    from tests.factories import RoundFactory, submitted_application

    application = submitted_application(RoundFactory())
    taken = workflow.apply(application, Action.accept_for_review, None, workflow.CASEWORKER, complete=True)
    assert taken.target == State.in_review and application.state == State.in_review
    db.session.flush()
    entry = db.session.query(AuditEntry).filter_by(action="accept_for_review").one()
    assert (entry.from_state, entry.to_state) == ("submitted", "in_review")
    for action, kind in ((Action.submit, workflow.MUNICIPAL), (Action.withdraw, workflow.CASEWORKER),
                         (Action.accept_for_review, workflow.CASEWORKER)):
        with pytest.raises(InvalidTransition):
            workflow.apply(application, action, None, kind)
        assert application.state == State.in_review  # nothing changed


def _state_assignments(root):
    """(path:line, assigned name) of every assignment to some ``x.state`` in grants/, tuple targets included."""
    import ast

    found = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            else:
                continue
            flat = []
            for target in targets:
                flat.extend(target.elts if isinstance(target, ast.Tuple) else [target])
            for target in flat:
                if isinstance(target, ast.Attribute) and target.attr == "state":
                    found.append((f"{path.relative_to(root)}:{node.lineno}", ast.unparse(target.value)))
    return found


def test_no_code_but_the_tables_sets_a_state():
    """DESIGN.md rule 3: workflow.apply is the only code that changes an application's state, and Lifecycle.move
    the only code that changes a decision's, an appeal's or an assignment's. The outbox's notices keep their own
    delivery states (grants.notify, infrastructure)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "grants"
    allowed = {"applications/workflow.py", "core/lifecycle.py"}
    offenders = [(where, name) for where, name in _state_assignments(root)
                 if where.split(":")[0] not in allowed and not where.startswith("notify/")]
    assert offenders == []
    # The scan sees what it must: the two places that do set states.
    places = {where.split(":")[0] for where, _name in _state_assignments(root)}
    assert allowed <= places


def test_pages_ask_the_states_and_never_compare_them_with_strings():
    """Templates and code ask a state its groups (is_decided, is_in_review...) or a record its life's next steps
    (awaits_approval, is_current...), so a renamed or added state cannot silently fall through a string test. The
    outbox's delivery states (grants.notify and its pages) are infrastructure and left out."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(r"""\.state\s*(==|!=|in)\s*[\(\[]?\s*['"]""")
    offenders = []
    for path in [*(root / "templates").rglob("*.html"), *(root / "templates").rglob("*.txt"),
                 *(root / "grants").rglob("*.py")]:
        relative = path.relative_to(root).as_posix()
        if relative.startswith(("templates/notify/", "grants/notify/")):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []
    assert pattern.search("{% if appeal.state == 'lodged' %}") and pattern.search('x.state in ("a", "b")')
