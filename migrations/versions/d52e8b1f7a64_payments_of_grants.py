"""payments of grants: proposed, approved by a second person, paid; and the share of a grant a round holds back

Revision ID: d52e8b1f7a64
Revises: c41d7a2e9f30
Create Date: 2026-11-30 14:30:00

"""
import sqlalchemy as sa
from alembic import op

import grants.db


revision = 'd52e8b1f7a64'
down_revision = 'c41d7a2e9f30'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_back_percent', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_check_constraint(op.f('ck_rounds_held_back_percent_range'),
                                         'held_back_percent BETWEEN 0 AND 100')
    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('account_number', sa.String(length=11), nullable=False),
    sa.Column('state', sa.Enum('proposed', 'approved', 'paid', 'withdrawn', name='payment_state', native_enum=False,
                               length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('proposed_by_id', sa.Integer(), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', grants.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('withdrawn_at', grants.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', grants.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', grants.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payments_amount_positive')),
    sa.CheckConstraint('approved_by_id IS NULL OR approved_by_id != proposed_by_id',
                       name=op.f('ck_payments_four_eyes')),
    sa.CheckConstraint("state NOT IN ('approved', 'paid') OR approved_by_id IS NOT NULL",
                       name=op.f('ck_payments_approved_has_approver')),
    sa.CheckConstraint("state != 'proposed' OR approved_by_id IS NULL", name=op.f('ck_payments_proposed_not_approved')),
    sa.CheckConstraint('(approved_by_id IS NULL) = (approved_at IS NULL)', name=op.f('ck_payments_approver_with_time')),
    sa.CheckConstraint("(state = 'paid') = (paid_on IS NOT NULL)", name=op.f('ck_payments_paid_has_date')),
    sa.CheckConstraint("(state = 'withdrawn') = (withdrawn_at IS NOT NULL)",
                       name=op.f('ck_payments_withdrawn_has_time')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_payments_approved_by_id_users')),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], name=op.f('fk_payments_grant_id_grants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'], name=op.f('fk_payments_proposed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_grant_id'), ['grant_id'], unique=False)


def downgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_grant_id'))
    op.drop_table('payments')
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_rounds_held_back_percent_range'), type_='check')
        batch_op.drop_column('held_back_percent')
