"""the second factor of IMDi's staff: each user's TOTP secret (encrypted), when it was enrolled and the last time
step accepted; and their one-time recovery codes, kept as hashes

Revision ID: b8d2f4a61c07
Revises: 79cc59b104e0
Create Date: 2026-12-10 10:00:00

"""
import sqlalchemy as sa
from alembic import op

import grants.db


revision = 'b8d2f4a61c07'
down_revision = '79cc59b104e0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('totp_credentials',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('secret_encrypted', sa.String(length=400), nullable=False),
    sa.Column('enrolled_at', grants.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_step', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_totp_credentials_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_totp_credentials'))
    )
    op.create_table('recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', grants.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', grants.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
    sa.UniqueConstraint('user_id', 'code_hash', name=op.f('uq_recovery_codes_user_id'))
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_codes_user_id'))
    op.drop_table('recovery_codes')
    op.drop_table('totp_credentials')
