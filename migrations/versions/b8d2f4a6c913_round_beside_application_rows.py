"""the round beside an application's assignments, reviews and activities: each keeps its application's round_id,
held right by a composite foreign key, so that a round's tallies count them by their own index

Revision ID: b8d2f4a6c913
Revises: a7c4e2d91f36
Create Date: 2026-11-30 23:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b8d2f4a6c913'
down_revision = 'a7c4e2d91f36'
branch_labels = None
depends_on = None

# table: (the index on the round, its columns)
TABLES = {
    'application_activities': ('ix_application_activities_round_activity', ['round_id', 'activity']),
    'assignments': ('ix_assignments_round_state', ['round_id', 'state']),
    'reviews': ('ix_reviews_round_submitted', ['round_id', 'submitted_at']),
}


def upgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_applications_id_round', ['id', 'round_id'])
    for table, (index, columns) in TABLES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('round_id', sa.Integer(), nullable=True))
        op.execute(f'UPDATE {table} SET round_id = (SELECT applications.round_id FROM applications '
                   f'WHERE applications.id = {table}.application_id)')
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('round_id', existing_type=sa.Integer(), nullable=False)
            batch_op.drop_constraint(f'fk_{table}_application_id_applications', type_='foreignkey')
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_application_id_applications'), 'applications',
                                        ['application_id', 'round_id'], ['id', 'round_id'], ondelete='CASCADE')
            batch_op.create_index(index, columns, unique=False)


def downgrade():
    for table, (index, _columns) in TABLES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(index)
            batch_op.drop_constraint(f'fk_{table}_application_id_applications', type_='foreignkey')
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_application_id_applications'), 'applications',
                                        ['application_id'], ['id'], ondelete='CASCADE')
            batch_op.drop_column('round_id')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_constraint('uq_applications_id_round', type_='unique')
