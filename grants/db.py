"""Declarative base with a constraint naming convention, and shared column helpers."""

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
