"""The schema comes from the migrations alone: upgrade, downgrade to nothing, upgrade again, and no drift."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from grants.extensions import db
from tests.conftest import fresh_postgres_database, make_app


def _roundtrip(url, instance_dir):
    app = make_app(url, instance_dir)
    with app.app_context():
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"municipalities", "users", "rounds", "applications", "notices"} <= tables
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == [], diff
        db.session.remove()
        db.engine.dispose()


def test_migrations_roundtrip_on_sqlite(tmp_path):
    _roundtrip(f"sqlite:///{tmp_path / 'm.sqlite'}", tmp_path)


def test_migrations_roundtrip_on_postgresql(tmp_path, postgres_url):
    with fresh_postgres_database(postgres_url) as url:
        _roundtrip(url, tmp_path)
