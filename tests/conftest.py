"""Fixtures: an app per database backend (SQLite always, PostgreSQL when DATABASE_URL is set), built by the
migrations; a client with a login helper; a counter of SQL statements; factories."""

import os
import secrets
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_migrate import upgrade
from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

from grants import create_app
from grants.extensions import db
from grants.outcomes import cache as summary_cache
from tests.second_factor import pass_second_factor

# Property tests remember the failing examples they found (a folder in the project's cache, ignored by git) and
# replay them first on the next run. The "ci" profile, which .ci/run selects, runs three times the examples.
HYPOTHESIS_DIR = Path(__file__).resolve().parent.parent / ".cache" / "hypothesis"
settings.register_profile("dev", database=DirectoryBasedExampleDatabase(HYPOTHESIS_DIR), deadline=None)
settings.register_profile("ci", parent=settings.get_profile("dev"), max_examples=300)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def examples(count):
    """``count`` examples under the default profile, scaled by the loaded profile (three times as many in CI)."""
    return max(1, count * settings.default.max_examples // 100)


KEEP_TABLES = {"alembic_version", "counties", "municipalities"}
POSTGRES_URL = os.environ.get("DATABASE_URL")


BACKENDS = ("sqlite", "postgresql")  # every database test runs on both; without PostgreSQL its half is skipped


def _pg_url(url):
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


@contextmanager
def fresh_postgres_database(base_url):
    """A new, empty PostgreSQL database for this test session, dropped at the end."""
    url = sa.make_url(_pg_url(base_url))
    name = f"grants_test_{uuid.uuid4().hex[:10]}"
    # pool_pre_ping: tests/faults restarts the server in between; the DROP at the end needs a live connection.
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
            ), {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


# .ci/run sets this whenever CI is set at all (CI=true, CI=1, ...): there, a missing service fails the run.
REQUIRE_SERVICES = bool(os.environ.get("GRANTS_REQUIRE_SERVICES"))


def need_service(name):
    """Skip a test whose service is missing on a developer's machine; fail in CI, where it must be there."""
    message = f"{name} is not configured (set DATABASE_URL / REDIS_URL)"
    if REQUIRE_SERVICES:
        pytest.fail("CI requires " + message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url():
    if not POSTGRES_URL:
        need_service("PostgreSQL")
    return POSTGRES_URL


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("REDIS_URL")
    if not url:
        need_service("Redis")
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    else:
        if not POSTGRES_URL:
            need_service("PostgreSQL")
        with fresh_postgres_database(POSTGRES_URL) as url:
            yield url


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("instance")


def make_app(database_url, instance_dir, **overrides):
    settings = dict(
        SQLALCHEMY_DATABASE_URI=database_url,
        UPLOAD_DIR=str(Path(instance_dir) / "uploads"),
        MAIL_DIR=str(Path(instance_dir) / "mail"),
        CELERY_BROKER_URL=f"sqla+sqlite:///{Path(instance_dir) / 'broker.sqlite'}",
        SECRET_KEY=secrets.token_urlsafe(32),
    )
    if database_url.startswith("sqlite"):
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}
    settings.update(overrides)
    return create_app("testing", **settings)


@pytest.fixture(scope="session")
def _migrated(database_url, instance_dir):
    app = make_app(database_url, instance_dir)
    with app.app_context():
        upgrade()
        from grants.accounts.register import import_municipalities, import_organisation_numbers

        import_municipalities()
        import_organisation_numbers()
        db.session.commit()
    return True


def _clean(app):
    with app.app_context():
        tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in KEEP_TABLES]
        if db.engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                db.session.execute(table.delete())
        # The register is kept between tests; a test that recorded an organisation number gets the file's back.
        from grants.accounts.register import import_organisation_numbers

        import_organisation_numbers(reset=True)
        db.session.commit()
        db.session.remove()
        summary_cache.clear_all()  # round ids start again from 1: no page cached for an earlier test's round


class FreshRequestClient(FlaskClient):
    """Each request runs as it would under gunicorn: in an application context, a database session and a
    transaction of its own, which end with the request. What a view does not commit is rolled back.

    Before the request, what the test itself set up is committed (as an earlier request would have); after it,
    the test's session forgets what it had loaded, so the test reads what the request committed, and only that.
    """

    def open(self, *args, **kwargs):
        db.session.commit()
        context = self.application.app_context()
        context.push()
        try:
            return super().open(*args, **kwargs)
        finally:
            context.pop()
            db.session.expire_all()


@pytest.fixture(autouse=True)
def _forget_section_verdicts():
    """Each test starts with no verdict of the application overview remembered (sections.section_states): ids
    start again from 1 in every test, and a test of its own inputs should see them worked out."""
    from grants.applications import sections

    sections.forget_verdicts()


@pytest.fixture
def app(database_url, instance_dir, _migrated):
    app = make_app(database_url, instance_dir)
    app.test_client_class = FreshRequestClient
    _clean(app)
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def backend(app):
    return db.engine.dialect.name


@pytest.fixture
def client(app):
    return app.test_client()


class SQLCounter:
    def __init__(self):
        self.statements = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    @property
    def count(self):
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """Use as ``with count_queries() as counter: ...``; counter.count is the number of SQL statements."""

    @contextmanager
    def counting():
        counter = SQLCounter()
        sa.event.listen(db.engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", counter)

    return counting


def login(client, user, password="correct horse battery"):
    """Log ``user`` in through the real form; IMDi staff then type their app's code (tests/second_factor.py)."""
    response = client.post("/konto/logg-inn", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return pass_second_factor(client, user, response)


@pytest.fixture
def login_as(client):
    def _login(user, password="correct horse battery"):
        return login(client, user, password)

    return _login


def pytest_terminal_summary(terminalreporter):
    """One line per reason for the skipped tests (pytest's -ra would print a line for every test)."""
    reasons = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reasons[reason.removeprefix("Skipped: ")] = reasons.get(reason.removeprefix("Skipped: "), 0) + 1
    if reasons:
        terminalreporter.section("skipped, by reason")
        for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
            terminalreporter.write_line(f"{count:5d} skipped: {reason}")

