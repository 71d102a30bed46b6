"""held notices: next_attempt_at may be NULL (a decision notice waits for its letter)

Revision ID: 5a7d2e8c9b14
Revises: 3e1f0a9c2b7d
Create Date: 2026-11-30 11:30:00

"""
from alembic import op

import grants.db


revision = '5a7d2e8c9b14'
down_revision = '3e1f0a9c2b7d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.alter_column('next_attempt_at', existing_type=grants.db.UTCDateTime(timezone=True), nullable=True)


def downgrade():
    op.execute("UPDATE notices SET next_attempt_at = created_at WHERE next_attempt_at IS NULL")
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.alter_column('next_attempt_at', existing_type=grants.db.UTCDateTime(timezone=True), nullable=False)
