"""Declarative base with a constraint naming convention, and shared column helpers."""

import re
from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, String, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow():
    """The current time, timezone-aware in UTC (the application's clock, see core.timeutil.now_utc)."""
    from grants.core.timeutil import now_utc

    return now_utc()


def round_of_application(context):
    """Column default of a ``round_id`` kept beside an ``application_id`` (assignments, reviews, an application's
    activities): the round of that application, read in the INSERT's own transaction. Takes SQLAlchemy's
    execution context, gives the round's id (int). An application never changes round, and the composite foreign
    key (application_id, round_id) -> applications (id, round_id) refuses any other value, so the copy cannot go
    wrong; it lets a round's tallies count these rows by their own index instead of joining every application
    (bench/tallies.py). Rows made through the relationship get the round from the application already."""
    from sqlalchemy import text

    application_id = context.get_current_parameters()["application_id"]
    return context.connection.scalar(text("SELECT round_id FROM applications WHERE id = :id"), {"id": application_id})


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a timezone")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, nullable=False)


class StoredFileMixin:
    """An uploaded document whose bytes are stored outside the static files (UPLOAD_DIR, under ``stored_name``):
    the name it came with (cleaned), its type (read from the content), size in bytes and SHA-256, and when it came.
    Each table keeps its own CHECK that the size is positive."""

    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


def configure_sqlite(engine):
    """SQLite as the embedded default: WAL so the worker can read while the web writes, a busy timeout, and
    every transaction begun IMMEDIATE so two writers queue instead of deadlocking on a lock upgrade."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below be the only one
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def configure_postgresql(engine):
    """PostgreSQL: a transaction that only read ends in COMMIT instead of ROLLBACK, so that the connection keeps
    the statements psycopg has prepared on it; and a pooled connection is tested for life without a round trip.

    Takes the SQLAlchemy ``engine`` (made without ``pool_pre_ping``: create_app leaves it out for psycopg)
    and adds three listeners to it. Nothing is returned or raised here.

    Prepared statements. psycopg prepares a statement on the server once a connection has run it five times
    (``prepare_threshold``), after which PostgreSQL neither parses nor plans it again; but it forgets every prepared
    statement at a ROLLBACK. Every request that only reads ends its transaction by rolling back (the session's end),
    so no statement ever reached five and each was planned anew: 0.6 to 1.0 ms a statement, a quarter to a half of
    that prepared (timed at SQLAlchemy's cursor events). So the ``rollback`` event, which fires just before the
    ROLLBACK of a connection's outermost transaction, commits instead when the transaction is open and well (not
    failed) and every statement it sent began with SELECT (seen at ``before_cursor_execute`` and forgotten at
    ``begin``; a SELECT ... INTO, set_config or pg_notify counts as a write): such a transaction has written nothing
    (the application defines no function that writes, and the row locks of SELECT ... FOR UPDATE end at COMMIT as at
    ROLLBACK), so COMMIT does exactly what ROLLBACK would, and the ROLLBACK that follows finds nothing to do. Any
    other statement (INSERT, UPDATE, DELETE, WITH, SET, DDL) makes the transaction roll back as before: flushed but
    uncommitted changes, a view that forgot to commit, a failed statement. Reading the statement's text costs no
    round trip; asking the server (``pg_current_xact_id_if_assigned()``, as this did before) cost one on every
    request.

    Life of a pooled connection. Instead of ``pool_pre_ping`` (a round trip at every checkout), the ``checkout``
    event looks at the connection's socket without waiting: an idle connection has nothing to read, so a socket
    that is readable, hung up or in error belongs to a connection the server has ended (a restart or
    ``pg_terminate_backend`` sends its FATAL message and closes) or the network has reset. Then it raises
    DisconnectionError, on which SQLAlchemy's pool discards that connection and takes another (documented at
    PoolEvents.checkout). A restarted server is noticed on the first checkout of each old connection, as the ping
    noticed it; a server out of reach fails at connect as before (grants.errors answers 503).

    If the COMMIT fails (the connection lost), the ROLLBACK goes ahead and reports that fault the usual way
    (grants.errors). The COMMIT is sent on the driver's connection, so SQLAlchemy's statement events and echo do
    not show it, as they do not show BEGIN. A statement prepared before a migration changed the columns it reads
    fails once on that connection ("cached plan must not change result type") and is prepared again: restart
    the web processes and workers after migrating, as a new version is started anyway (README, "Running it in
    production")."""
    if engine.dialect.driver != "psycopg":
        return  # the listeners below read psycopg 3's connection; any other driver keeps SQLAlchemy's defaults

    import select

    import psycopg
    from psycopg.pq import TransactionStatus
    from sqlalchemy import event, exc

    @event.listens_for(engine, "checkout")
    def _alive(dbapi_connection, _record, _proxy):
        if dbapi_connection.closed:
            raise exc.DisconnectionError("the connection was closed")
        poll = select.poll()
        try:
            poll.register(dbapi_connection.pgconn.socket, select.POLLIN | select.POLLPRI)
        except (psycopg.Error, ValueError, OSError) as error:
            raise exc.DisconnectionError(f"the connection has no socket: {error}") from error
        if poll.poll(0):
            raise exc.DisconnectionError("the server ended the connection (its socket is readable while idle)")

    @event.listens_for(engine, "begin")
    def _forget_statements(connection):
        connection.info[_WROTE] = False

    @event.listens_for(engine, "before_cursor_execute")
    def _note_statement(connection, _cursor, statement, _parameters, _context, _executemany):
        if statement.lstrip()[:6].upper() != "SELECT" or _SELECT_THAT_KEEPS.search(statement):
            connection.info[_WROTE] = True

    @event.listens_for(engine, "rollback")
    def _commit_what_only_read(connection):
        if connection.invalidated or connection.info.get(_WROTE, True):
            return
        driver = connection.connection.driver_connection
        if driver is None or driver.info.transaction_status != TransactionStatus.INTRANS:
            return
        try:
            driver.commit()
        except psycopg.Error:
            return  # the ROLLBACK that follows meets the same fault and raises it as SQLAlchemy's error


_WROTE = "grants_transaction_wrote"  # connection.info: a statement other than SELECT in this transaction

# A SELECT that leaves something a COMMIT would keep and a ROLLBACK undo: SELECT ... INTO (a new table), a setting
# changed for the session (set_config), a notification (pg_notify). Treated as a write, so it rolls back as before.
_SELECT_THAT_KEEPS = re.compile(r"\binto\b|\bset_config\s*\(|\bpg_notify\s*\(", re.IGNORECASE)


def ensure_sqlite_folder(url):
    """The embedded default keeps its SQLite files in instance/: make the folder if it is not there."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    if "sqlite" not in url.split(":", 1)[0]:
        return
    database = make_url(url.replace("sqla+", "", 1)).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def lock_row(record):
    """Lock ``record``'s row until the transaction ends and read it again as it is now (PostgreSQL: SELECT ... FOR
    UPDATE, so that two people acting on it at once queue up; SQLite writes one transaction at a time anyway).
    Returns the record, refreshed. ``record`` is a mapped object with an ``id`` primary key."""
    from sqlalchemy import select

    from grants.extensions import db

    model = type(record)
    db.session.execute(select(model.id).where(model.id == record.id).with_for_update())
    return db.session.get(model, record.id, populate_existing=True)
