"""The database ties each state to the columns it needs, both ways, with CHECK constraints (SQLite always,
PostgreSQL when DATABASE_URL is set).

For applications, decisions and appeals: the row of every state, with the columns the operations give it there, is
accepted; each such column put where its state does not have it, or taken from where it does, is refused by the
constraint that says so. The migration repairs a database's earlier rows before it adds the constraints, and the
constraints the migrations make are the models' own."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy.exc import IntegrityError

from grants.accounts.models import Role
from grants.applications.models import Application
from grants.applications.workflow import DECIDED_STATES, State
from grants.core.timeutil import now_utc
from grants.decisions.models import Appeal, AppealState, Decision, DecisionState, Outcome
from grants.extensions import db
from grants.review import operations as ops
from tests.conftest import fresh_postgres_database, make_app
from tests.factories import ApplicationFactory, RoundFactory, UserFactory, municipal_user, submitted_application

GRANT_STATES = frozenset({State.granted, State.reported, State.closed, State.declined})
NOW = now_utc()
# Placeholders in the tables below for ids known only once the test's rows exist.
KOMMUNE, APPROVER, CASEWORKER, NEW_DECISION = "<kommune>", "<approver>", "<caseworker>", "<new decision>"


@pytest.fixture
def people(app):
    return {"kommune": municipal_user("0301"), "caseworker": UserFactory(role=Role.caseworker),
            "approver": UserFactory(role=Role.approver)}


@pytest.fixture
def round_(app):
    return RoundFactory(appeals_allowed=True)


class _Accepted(Exception):
    pass


def refusal(table, row_id, values, people, new_decision_id=None):
    """Update the row ``row_id`` of ``table`` with ``values`` in a savepoint, and undo it. Returns the name of the
    CHECK constraint the database refused it with, or None if it accepted the update."""
    ids = {KOMMUNE: people["kommune"].id, APPROVER: people["approver"].id, CASEWORKER: people["caseworker"].id,
           NEW_DECISION: new_decision_id}
    values = {column: ids.get(value, value) if isinstance(value, str) else value for column, value in values.items()}
    try:
        with db.session.begin_nested():
            db.session.execute(table.update().where(table.c.id == row_id).values(**values))
            raise _Accepted
    except _Accepted:
        return None
    except IntegrityError as error:
        found = re.search(r'check constraint(?: failed:)? "?(\w+)', str(error.orig), re.IGNORECASE)
        return found.group(1) if found else str(error.orig)


# --- applications --------------------------------------------------------------------------------------------

def application_in(state, round_, people):
    """An application in ``state`` as the operations leave it there."""
    if state == State.draft:
        return ApplicationFactory(round=round_)
    return submitted_application(round_, state=state, submitted_by_id=people["kommune"].id,
                                 amount_granted=300_000 if state in GRANT_STATES else None)


def application_breaches():
    """(state, values, constraint): each state column set where the state does not have it, or left out where it
    does, and the constraint that refuses it."""
    for state in State:
        if state == State.draft:
            for column, value in (("reference", "X-0001"), ("received_at", NOW), ("submitted_by_id", KOMMUNE)):
                yield state, {column: value}, "draft_not_received"
        else:
            for column in ("reference", "received_at"):
                yield state, {column: None}, "received_has_reference_and_time"
        if state == State.withdrawn:
            yield state, {"withdrawn_at": None}, "withdrawn_has_time"
            yield state, {"withdraw_reason": None}, "withdrawn_has_reason"
        else:
            yield state, {"withdrawn_at": NOW}, "only_withdrawn_has_withdrawal"
            yield state, {"withdraw_reason": "Trukket"}, "only_withdrawn_has_withdrawal"
        if state in GRANT_STATES:
            yield state, {"amount_granted": None}, "granted_has_amount"
        else:
            yield state, {"amount_granted": 100_000}, "only_grants_have_amount"
        if state in DECIDED_STATES:
            yield state, {"decided_at": None}, "decided_has_time"
        else:
            yield state, {"decided_at": NOW}, "only_decided_has_time"


def _id(case):
    state, values, _constraint = case
    return f"{state}-{'+'.join(values)}"


@pytest.mark.parametrize("state", list(State))
def test_an_application_in_each_state_with_its_columns_is_accepted(round_, people, state):
    application = application_in(state, round_, people)
    db.session.commit()
    assert db.session.get(Application, application.id).state == state
    if state != State.draft:  # one registered by a caseworker has no submitter
        assert refusal(Application.__table__, application.id, {"submitted_by_id": None}, people) is None


@pytest.mark.parametrize(("state", "values", "constraint"), list(application_breaches()),
                         ids=[_id(case) for case in application_breaches()])
def test_an_application_column_out_of_its_state_is_refused(round_, people, state, values, constraint):
    application = application_in(state, round_, people)
    db.session.flush()
    assert refusal(Application.__table__, application.id, values, people) == f"ck_applications_{constraint}"


def test_a_state_and_its_columns_change_together_in_one_update(round_, people):
    """The operations set a state's columns and the state before one flush: one UPDATE, checked as a whole."""
    draft = application_in(State.draft, round_, people)
    in_review = application_in(State.in_review, round_, people)
    db.session.flush()
    table = Application.__table__
    assert refusal(table, draft.id, {"state": "submitted"}, people) == "ck_applications_received_has_reference_and_time"
    assert refusal(table, draft.id, {"state": "submitted", "reference": "X-0002", "received_at": NOW}, people) is None
    assert refusal(table, in_review.id, {"state": "rejected", "decided_at": NOW}, people) is None
    assert refusal(table, in_review.id, {"state": "granted", "decided_at": NOW, "amount_granted": 1}, people) is None
    assert refusal(table, in_review.id, {"state": "withdrawn", "withdrawn_at": NOW, "withdraw_reason": "Trukket"},
                   people) is None


def test_an_application_registered_by_a_caseworker_keeps_the_rules(round_, people):
    """A paper application is inserted as a draft, then given its reference, time of receipt and state at once."""
    application = ops.register_received(round_, people["caseworker"], municipality=people["kommune"].municipality,
                                        title="På papir", amount_applied=100_000, channel="post",
                                        received_at=NOW - timedelta(hours=1))
    db.session.commit()
    assert (application.state, application.submitted_by_id) == (State.submitted, None)
    assert application.reference and application.received_at


# --- decisions -----------------------------------------------------------------------------------------------

# Each state, and whether it was approved there: a proposal withdrawn or cancelled may have been approved first.
DECISION_ROWS = [(DecisionState.proposed, False), (DecisionState.approved, True), (DecisionState.released, True),
                 (DecisionState.superseded, True), (DecisionState.withdrawn, False),
                 (DecisionState.withdrawn, True), (DecisionState.cancelled, False), (DecisionState.cancelled, True)]
RELEASED = {DecisionState.released, DecisionState.superseded}


def decision_in(state, approved, round_, people):
    """A grant decision in ``state`` as the operations leave it there."""
    application = submitted_application(round_, state=State.in_review)
    decision = Decision(application_id=application.id, round_id=round_.id, outcome=Outcome.granted, amount=100_000,
                        state=state, proposed_by_id=people["caseworker"].id, proposed_at=NOW - timedelta(days=2),
                        approved_by_id=people["approver"].id if approved else None,
                        approved_at=NOW - timedelta(days=1) if approved else None,
                        released_at=NOW if state in RELEASED else None)
    db.session.add(decision)
    db.session.flush()
    return decision


def decision_breaches():
    for state, approved in DECISION_ROWS:
        if approved:
            yield state, approved, {"approved_at": None}, "approver_and_time_together"
            if state in (DecisionState.approved, DecisionState.released):
                yield state, approved, {"approved_by_id": None, "approved_at": None}, "approved_has_approver"
        else:
            yield state, approved, {"approved_at": NOW}, "approver_and_time_together"
            if state == DecisionState.proposed:
                yield state, approved, {"approved_by_id": APPROVER, "approved_at": NOW}, "proposed_not_approved"
            else:
                yield state, approved, {"approved_by_id": APPROVER}, "approver_and_time_together"
        if state in RELEASED:
            yield state, approved, {"released_at": None}, "released_has_time"
        else:
            yield state, approved, {"released_at": NOW}, "only_released_has_time"


@pytest.mark.parametrize(("state", "approved"), DECISION_ROWS)
def test_a_decision_in_each_state_with_its_columns_is_accepted(round_, people, state, approved):
    decision = decision_in(state, approved, round_, people)
    db.session.commit()
    assert db.session.get(Decision, decision.id).state == state


@pytest.mark.parametrize(("state", "approved", "values", "constraint"), list(decision_breaches()),
                         ids=[f"{s}-{'approved' if a else 'not_approved'}-{'+'.join(v)}"
                              for s, a, v, _c in decision_breaches()])
def test_a_decision_column_out_of_its_state_is_refused(round_, people, state, approved, values, constraint):
    decision = decision_in(state, approved, round_, people)
    assert refusal(Decision.__table__, decision.id, values, people) == f"ck_decisions_{constraint}"


# --- appeals -------------------------------------------------------------------------------------------------

def appeal_in(state, round_, people):
    """An appeal in ``state`` as the operations leave it there, and the decision a reversal would make."""
    appealed = decision_in(DecisionState.released, True, round_, people)
    new = Decision(application_id=appealed.application_id, round_id=round_.id, outcome=Outcome.granted,
                   amount=150_000, proposed_by_id=people["caseworker"].id, supersedes_id=appealed.id)
    db.session.add(new)
    db.session.flush()
    handled = state != AppealState.lodged
    appeal = Appeal(decision_id=appealed.id, application_id=appealed.application_id,
                    lodged_by_id=people["kommune"].id, text="Vi klager", state=state,
                    handled_by_id=people["caseworker"].id if handled else None, handled_at=NOW if handled else None,
                    new_decision_id=new.id if state == AppealState.reversed else None)
    db.session.add(appeal)
    db.session.flush()
    return appeal, new


def appeal_breaches():
    for state in AppealState:
        if state == AppealState.lodged:
            yield state, {"handled_at": NOW, "handled_by_id": CASEWORKER}, "lodged_not_handled"
            yield state, {"handled_by_id": CASEWORKER}, "handler_and_time_together"
        else:
            yield state, {"handled_by_id": None}, "handler_and_time_together"
            yield state, {"handled_at": None, "handled_by_id": None}, "handled_has_time"
        if state == AppealState.reversed:
            yield state, {"new_decision_id": None}, "reversed_has_new_decision"
        else:
            yield state, {"new_decision_id": NEW_DECISION}, "only_reversed_has_new_decision"


@pytest.mark.parametrize("state", list(AppealState))
def test_an_appeal_in_each_state_with_its_columns_is_accepted(round_, people, state):
    appeal, _new = appeal_in(state, round_, people)
    db.session.commit()
    assert db.session.get(Appeal, appeal.id).state == state


@pytest.mark.parametrize(("state", "values", "constraint"), list(appeal_breaches()),
                         ids=[_id(case) for case in appeal_breaches()])
def test_an_appeal_column_out_of_its_state_is_refused(round_, people, state, values, constraint):
    appeal, new = appeal_in(state, round_, people)
    assert refusal(Appeal.__table__, appeal.id, values, people, new_decision_id=new.id) == f"ck_appeals_{constraint}"


# --- the migrations ------------------------------------------------------------------------------------------

def test_the_migrations_make_the_models_check_constraints(app, backend):
    """Autogenerate compares no CHECK constraints (tests/integration/test_migrations.py): here every table has the
    models' CHECK constraints by name, and on SQLite, which keeps them as written, by text too."""
    inspector = sa.inspect(db.engine)
    for table in db.metadata.sorted_tables:
        wanted = {c.name: " ".join(str(c.sqltext).split())
                  for c in table.constraints if isinstance(c, sa.CheckConstraint)}
        made = {c["name"]: " ".join(c["sqltext"].split()) for c in inspector.get_check_constraints(table.name)}
        assert set(made) == set(wanted), table.name
        if backend == "sqlite":
            assert made == wanted, table.name


BEFORE = "5a7d2e8c9b14"  # the revision before the constraints
T = datetime(2025, 3, 1, 12, tzinfo=UTC)


def _fill_before_state_checks(conn):
    """Rows a database at BEFORE may hold that break the new rules (and keep the rules it had)."""
    tables = {}

    def insert(table, **values):
        if table not in tables:
            tables[table] = sa.Table(table, sa.MetaData(), autoload_with=conn)
        conn.execute(sa.insert(tables[table]).values(**values))

    municipality = conn.execute(sa.text("SELECT id FROM municipalities ORDER BY id LIMIT 1")).scalar()
    for user_id, role in ((1, "caseworker"), (2, "approver"), (3, "caseworker")):
        insert("users", id=user_id, email=f"u{user_id}@imdi.example", name=f"U{user_id}", password_hash="x",
               language="nb", role=role, status="active", is_municipality_admin=False, created_at=T, updated_at=T)
    insert("schemes", id=1, slug="s", title_nb="S", title_nn="S", title_en="S", description_nb="",
           description_nn="", description_en="", created_at=T, updated_at=T)
    insert("rounds", id=1, scheme_id=1, slug="r", year=2025, title_nb="R", title_nn="R", title_en="R", text_nb="",
           text_nn="", text_en="", budget=5_000_000, opens_at=T - timedelta(days=60), deadline_date=T.date(),
           deadline_at=T, eligible_applicants="municipality", appeals_allowed=True, min_participants=10,
           own_contribution_required=True, reminder_days="14,7,1", score_spread_threshold=1.5, last_reference=9,
           reference_prefix="2025", created_at=T, updated_at=T)

    def application(app_id, state, **values):
        received = {} if state == "draft" else {"reference": f"2025-{app_id:04d}", "received_at": T}
        insert("applications", **{"id": app_id, "round_id": 1, "municipality_id": municipality, "state": state,
                                  "channel": "portal", "answers": {}, "version": 1, "title": f"Søknad {app_id}",
                                  "created_at": T, "updated_at": T + timedelta(days=app_id), **received, **values})

    def decision(decision_id, app_id, outcome, state, **values):
        grant = {"amount": 300_000} if outcome == "granted" else {"reasons": {"rules": "R"}}
        insert("decisions", **{"id": decision_id, "application_id": app_id, "round_id": 1, "outcome": outcome,
                               "state": state, "letter_language": "nb", "proposed_by_id": 1, "proposed_at": T,
                               **grant, **values})

    application(1, "draft", reference="2025-0001", received_at=T, submitted_by_id=1)  # received while a draft
    application(2, "withdrawn", withdrawn_at=T)                                         # no reason
    application(3, "submitted", withdrawn_at=T, withdraw_reason="Trukket")              # not withdrawn
    application(4, "in_review", amount_granted=100_000, decided_at=T)                   # not decided
    application(5, "reported")                                                          # no amount, no time
    decision(51, 5, "granted", "released", approved_by_id=2, released_at=T + timedelta(days=5))  # no approval time
    application(6, "closed")                                     # no amount, no time, and no decision to take them
    application(7, "rejected")                                                          # no time
    decision(71, 7, "dismissed", "superseded", approved_by_id=2, approved_at=T + timedelta(days=1))  # no release
    decision(72, 7, "rejected", "released", proposed_by_id=3, approved_by_id=2, approved_at=T + timedelta(days=8),
             released_at=T + timedelta(days=9), supersedes_id=71)
    application(8, "in_review")
    decision(81, 8, "granted", "proposed", approved_by_id=2, approved_at=T)             # approved while proposed
    decision(82, 8, "granted", "cancelled", approved_at=T, released_at=T)              # time, no approver; released
    application(9, "granted", amount_granted=300_000, decided_at=T)
    decision(91, 9, "granted", "released", approved_by_id=2, approved_at=T, released_at=T)

    def appeal(appeal_id, decision_id, app_id, state, **values):
        insert("appeals", **{"id": appeal_id, "decision_id": decision_id, "application_id": app_id,
                             "lodged_by_id": 1, "lodged_at": T, "text": "Klage", "state": state, **values})

    appeal(1, 71, 7, "reversed", handled_at=T)                        # no handler, no new decision
    appeal(2, 91, 9, "lodged", handled_at=T, handled_by_id=1)          # handled while lodged
    appeal(3, 91, 9, "upheld", handled_at=T, new_decision_id=81)       # no handler; a new decision, not reversed
    insert("audit_entries", at=T, actor_id=3, object_type="applications", object_id=9, action="uphold_appeal")


def _upgrade_repairs(url, instance_dir):
    app = make_app(url, instance_dir)
    with app.app_context():
        upgrade(revision=BEFORE)
        from grants.accounts.register import import_municipalities

        import_municipalities()
        db.session.commit()
        with db.engine.begin() as conn:
            _fill_before_state_checks(conn)
        upgrade()
        try:
            a = {i: db.session.get(Application, i) for i in range(1, 10)}
            assert (a[1].reference, a[1].received_at, a[1].submitted_by_id) == (None, None, None)
            assert (a[2].withdrawn_at, a[2].withdraw_reason) == (T, "Ikke registrert.")
            assert (a[3].withdrawn_at, a[3].withdraw_reason) == (None, None)
            assert (a[4].amount_granted, a[4].decided_at) == (None, None)
            assert (a[5].amount_granted, a[5].decided_at) == (300_000, T + timedelta(days=5))  # its released grant
            assert (a[6].amount_granted, a[6].decided_at) == (0, a[6].updated_at)  # nothing better recorded
            assert a[7].decided_at == T + timedelta(days=9)
            assert (a[9].amount_granted, a[9].decided_at) == (300_000, T)  # kept as it was
            d = {i: db.session.get(Decision, i) for i in (51, 71, 72, 81, 82, 91)}
            assert d[51].approved_at == T + timedelta(days=5)  # approved no later than released
            assert d[71].released_at == T + timedelta(days=1)  # released no earlier than approved
            assert (d[81].approved_by_id, d[81].approved_at) == (None, None)
            assert (d[82].approved_at, d[82].released_at) == (None, None)
            assert d[72].approved_at == T + timedelta(days=8) and d[91].released_at == T
            p = {i: db.session.get(Appeal, i) for i in (1, 2, 3)}
            assert (p[1].new_decision_id, p[1].handled_by_id) == (72, 3)  # the decision that supersedes; its proposer
            assert (p[2].handled_at, p[2].handled_by_id) == (None, None)
            assert (p[3].new_decision_id, p[3].handled_by_id) == (None, 3)  # the audit log's handler
            db.session.remove()
            downgrade(revision=BEFORE)  # the rules before were weaker: the repaired rows keep them
            upgrade()
        finally:
            db.session.remove()
            db.engine.dispose()


def test_the_upgrade_repairs_rows_that_break_the_state_checks_on_sqlite(tmp_path):
    _upgrade_repairs(f"sqlite:///{tmp_path / 's.sqlite'}", tmp_path)


def test_the_upgrade_repairs_rows_that_break_the_state_checks_on_postgresql(tmp_path, postgres_url):
    with fresh_postgres_database(postgres_url) as url:
        _upgrade_repairs(url, tmp_path)
