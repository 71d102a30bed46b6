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


def _fill_before_reference_prefixes(conn):
    """What a database at 7c3d63f4189f may hold: two rounds of one year, each with criteria and an application
    numbered 2025-0001 (the duplicate references this revision's successor ends)."""
    from datetime import UTC, date, datetime

    now = datetime(2025, 3, 1, tzinfo=UTC)
    table = lambda name: sa.Table(name, sa.MetaData(), autoload_with=conn)  # noqa: E731
    conn.execute(sa.insert(table("schemes")).values(id=1, slug="s", title_nb="S", title_nn="S", title_en="S",
                                                    description_nb="", description_nn="", description_en="",
                                                    created_at=now, updated_at=now))
    municipality = conn.execute(sa.text("SELECT id FROM municipalities ORDER BY id LIMIT 1")).scalar()
    for round_id in (1, 2):
        conn.execute(sa.insert(table("rounds")).values(
            id=round_id, scheme_id=1, slug=f"r{round_id}", year=2025, title_nb="R", title_nn="R", title_en="R",
            text_nb="", text_nn="", text_en="", budget=1_000_000, opens_at=datetime(2025, 1, 24, tzinfo=UTC),
            deadline_date=date(2025, 2, 19), deadline_at=datetime(2025, 2, 19, 22, 59, 59, tzinfo=UTC),
            eligible_applicants="municipality", appeals_allowed=False, min_participants=10,
            own_contribution_required=True, reminder_days="14,7,1", score_spread_threshold=1.5, last_reference=1,
            created_at=now, updated_at=now))
        for position in range(2):
            conn.execute(sa.insert(table("criteria")).values(
                round_id=round_id, code=f"c{position}", position=position, title_nb="K", title_nn="K", title_en="K",
                description_nb="", description_nn="", description_en="", weight=1, scale_min=1, scale_max=6))
        conn.execute(sa.insert(table("applications")).values(
            id=round_id, round_id=round_id, municipality_id=municipality, state="submitted", reference="2025-0001",
            channel="portal", answers={}, version=1, title="Søknad", received_at=datetime(2025, 2, 1, tzinfo=UTC),
            created_at=now, updated_at=now))


def _upgrade_with_data(url, instance_dir):
    app = make_app(url, instance_dir)
    with app.app_context():
        upgrade(revision="7c3d63f4189f")
        from grants.accounts.register import import_municipalities

        import_municipalities()
        db.session.commit()
        with db.engine.begin() as conn:
            _fill_before_reference_prefixes(conn)
        upgrade()
        with db.engine.connect() as conn:
            criteria = conn.execute(sa.text("SELECT round_id, count(*) FROM criteria GROUP BY round_id "
                                            "ORDER BY round_id")).all()
            prefixes = conn.execute(sa.text("SELECT id, reference_prefix FROM rounds ORDER BY id")).all()
            references = conn.execute(sa.text("SELECT round_id, reference FROM applications ORDER BY id")).all()
        db.session.remove()
        db.engine.dispose()
    assert [tuple(row) for row in criteria] == [(1, 2), (2, 2)]  # nothing cascaded away with the copied tables
    assert [tuple(row) for row in prefixes] == [(1, "2025"), (2, "2025-2")]
    assert [tuple(row) for row in references] == [(1, "2025-0001"), (2, "2025-2-0001")]


def test_upgrading_a_database_with_data_keeps_it_on_sqlite(tmp_path):
    _upgrade_with_data(f"sqlite:///{tmp_path / 'd.sqlite'}", tmp_path)


def test_upgrading_a_database_with_data_keeps_it_on_postgresql(tmp_path, postgres_url):
    with fresh_postgres_database(postgres_url) as url:
        _upgrade_with_data(url, tmp_path)
