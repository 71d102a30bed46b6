"""references unique across rounds: each round has its own reference prefix

Revision ID: 3e1f0a9c2b7d
Revises: 7c3d63f4189f
Create Date: 2026-11-30 11:10:00

Two rounds of one year used to number their applications alike (2025-0001 in both), so two kommuner could get
letters with one reference. Each round now has a prefix of its own: the year for the year's first round, the year
and a count for later ones (2025-2). Every application's reference is given its round's prefix, and the
database keeps every reference unique.
"""
from alembic import op
import sqlalchemy as sa


revision = '3e1f0a9c2b7d'
down_revision = '7c3d63f4189f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference_prefix', sa.String(length=12), nullable=True))

    connection = op.get_bind()
    rounds = connection.execute(sa.text("SELECT id, year FROM rounds ORDER BY year, id")).all()
    seen = {}
    for round_id, year in rounds:
        seen[year] = seen.get(year, 0) + 1
        prefix = str(year) if seen[year] == 1 else f"{year}-{seen[year]}"
        connection.execute(sa.text("UPDATE rounds SET reference_prefix = :p WHERE id = :i"),
                           {"p": prefix, "i": round_id})
        # Every reference becomes its round's prefix and its own number: "2025-0007" in a year's second round
        # becomes "2025-2-0007", and one whose round later changed its year takes the round's year.
        applications = connection.execute(sa.text(
            "SELECT id, reference FROM applications WHERE round_id = :i AND reference IS NOT NULL"),
            {"i": round_id}).all()
        for application_id, reference in applications:
            renamed = f"{prefix}-{reference.rsplit('-', 1)[-1]}"
            if renamed != reference:
                connection.execute(sa.text("UPDATE applications SET reference = :r WHERE id = :i"),
                                   {"r": renamed, "i": application_id})

    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.alter_column('reference_prefix', existing_type=sa.String(length=12), nullable=False)
        batch_op.create_unique_constraint('uq_rounds_reference_prefix', ['reference_prefix'])

    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_constraint('uq_applications_round_reference', type_='unique')
        batch_op.create_unique_constraint('uq_applications_reference', ['reference'])


def downgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_constraint('uq_applications_reference', type_='unique')
        batch_op.create_unique_constraint('uq_applications_round_reference', ['round_id', 'reference'])

    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_constraint('uq_rounds_reference_prefix', type_='unique')
        batch_op.drop_column('reference_prefix')
