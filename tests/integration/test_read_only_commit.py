"""On PostgreSQL, a transaction whose every statement was a SELECT ends in COMMIT, so that psycopg keeps its
prepared statements, and every transaction that sent anything else still rolls back; a pooled connection that
the server has ended is replaced at checkout without a ping (grants.db.configure_postgresql).

PostgreSQL only: the whole point is psycopg's prepared statements, and SQLite's transactions are left alone."""

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import ProgrammingError

from grants.accounts.models import Role, User, UserStatus
from grants.errors import database_unavailable
from grants.extensions import db
from tests.factories import UserFactory

QUERY = sa.text("SELECT count(*) FROM users WHERE role = :role")


@pytest.fixture
def engine(app, backend):
    if backend != "postgresql":
        pytest.skip("psycopg's prepared statements are PostgreSQL's")
    return db.engine


def _prepared(connection):
    return connection.exec_driver_sql(
        "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'SELECT count(*) FROM users%%'").scalar()


def _prepare(connection):
    """Six requests that only read, each ending as a request ends: psycopg prepares the statement at its fifth
    run, and the rollbacks in between (committed, since nothing was written) do not make it forget."""
    for _ in range(6):
        connection.execute(QUERY, {"role": "caseworker"}).scalar()
        connection.rollback()
    assert _prepared(connection) == 1


def test_reading_transactions_keep_the_prepared_statements(engine):
    with engine.connect() as connection:
        _prepare(connection)
        connection.rollback()
        assert _prepared(connection) == 1


def test_a_transaction_that_wrote_rolls_back(engine):
    user = UserFactory(role=Role.caseworker)
    db.session.commit()
    with engine.connect() as connection:
        connection.execute(sa.text("UPDATE users SET name = 'Changed' WHERE id = :id"), {"id": user.id})
        connection.rollback()
        assert connection.execute(sa.text("SELECT name FROM users WHERE id = :id"), {"id": user.id}).scalar() \
            == user.name
        connection.rollback()


def test_a_view_that_flushed_but_did_not_commit_loses_its_change(engine):
    # The session of a request whose view forgot to commit: the flush wrote the row in the transaction, and the
    # end of the request rolls it back, as it must (the suite's FreshRequestClient relies on it).
    db.session.add(User(email="flushed@example.no", name="Flushed", role=Role.caseworker,
                        status=UserStatus.active, language="nb", password_hash="-"))
    db.session.flush()
    db.session.remove()
    assert db.session.scalar(sa.select(User).where(User.email == "flushed@example.no")) is None


def test_a_row_lock_alone_ends_in_commit_and_is_released(engine):
    # SELECT ... FOR UPDATE writes no data: its row locks end at COMMIT as they would at ROLLBACK, and the
    # connection keeps its prepared statements.
    user = UserFactory(role=Role.caseworker)
    db.session.commit()
    with engine.connect() as connection:
        _prepare(connection)
        connection.execute(sa.text("SELECT id FROM users WHERE id = :id FOR UPDATE"), {"id": user.id})
        connection.rollback()
        assert _prepared(connection) == 1
        connection.rollback()
    with engine.connect() as other:
        assert other.execute(sa.text("SELECT id FROM users WHERE id = :id FOR UPDATE NOWAIT"),
                             {"id": user.id}).scalar() == user.id
        other.rollback()


@pytest.mark.parametrize("statement, setting, value", [
    # SET (not SET LOCAL) would outlive a COMMIT: any statement that is not a SELECT sends a real ROLLBACK.
    ("SET statement_timeout = 12345", "statement_timeout", "12345ms"),
    # set_config(..., false) changes the setting for the session: a SELECT that does it counts as a write.
    ("SELECT set_config('application_name', 'changed-by-select', false)", "application_name", "changed-by-select"),
])
def test_a_transaction_that_changed_a_session_setting_rolls_back(engine, statement, setting, value):
    with engine.connect() as connection:
        _prepare(connection)
        connection.execute(sa.text(statement))
        connection.rollback()
        assert _prepared(connection) == 0
        assert connection.execute(sa.text(f"SHOW {setting}")).scalar() != value
        connection.rollback()


def test_a_failed_transaction_rolls_back_and_the_connection_goes_on(engine):
    with engine.connect() as connection:
        _prepare(connection)
        with pytest.raises(ProgrammingError):
            connection.execute(sa.text("SELECT no_such_column FROM users"))
        connection.rollback()
        assert _prepared(connection) == 0
        assert connection.execute(QUERY, {"role": "caseworker"}).scalar() == 0
        connection.rollback()


def test_a_connection_cut_in_the_middle_is_reported_as_the_database_gone(engine, postgres_url):
    # The server ends the request's connection before the request ends: the check fails, the ROLLBACK after it
    # raises SQLAlchemy's error for a lost connection, which the end of a request knows (grants.errors).
    pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    other = sa.create_engine(db.engine.url)
    try:
        with other.connect() as killer:
            killer.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        other.dispose()
    with pytest.raises(Exception) as raised:
        db.session.remove()
    assert database_unavailable(raised.value), repr(raised.value)
    assert db.session.execute(sa.text("SELECT 1")).scalar() == 1  # the pool gives a new connection


def _backend_pid():
    pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    db.session.remove()
    return pid


def _readable(pool):
    """Whether a connection idle in the pool has something to read (the server's goodbye)."""
    import select

    for record in list(pool._pool.queue):
        connection = record.dbapi_connection
        if connection is not None and select.select([connection.pgconn.socket], [], [], 0)[0]:
            return True
    return False


def test_a_pooled_connection_the_server_ended_is_replaced_at_checkout(engine):
    # No ping at checkout: the connection's socket, readable while idle, tells that the server ended it.
    import time

    first = _backend_pid()
    assert _backend_pid() == first  # a live connection is taken again, not replaced
    other = sa.create_engine(db.engine.url)
    try:
        with other.connect() as killer:
            assert killer.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar()
    finally:
        other.dispose()
    deadline = time.monotonic() + 10  # until the server's FATAL message and the end of the stream reach the socket
    while time.monotonic() < deadline and not _readable(db.engine.pool):
        time.sleep(0.02)
    second = _backend_pid()  # no error: the dead connection was discarded and a new one made
    assert second != first
    assert _backend_pid() == second
