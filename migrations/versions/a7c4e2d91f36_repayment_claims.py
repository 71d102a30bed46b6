"""repayment claims on a grant: proposed, approved by a second person (the claim letter), repaid; and the
repayments received on them

Revision ID: a7c4e2d91f36
Revises: f74a1b3c5d20
Create Date: 2026-11-30 17:00:00

"""
import sqlalchemy as sa
from alembic import op

import grants.db


revision = 'a7c4e2d91f36'
down_revision = 'f74a1b3c5d20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('repayment_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('state', sa.Enum('proposed', 'approved', 'repaid', 'withdrawn', name='claim_state', native_enum=False,
                               length=20), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', grants.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('letter_language', sa.String(length=2), nullable=True),
    sa.Column('account_number', sa.String(length=11), nullable=True),
    sa.Column('repaid_on', sa.Date(), nullable=True),
    sa.Column('withdrawn_at', grants.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', grants.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', grants.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_repayment_claims_amount_positive')),
    sa.CheckConstraint('length(reason) BETWEEN 1 AND 3000', name=op.f('ck_repayment_claims_reason_length')),
    sa.CheckConstraint('approved_by_id IS NULL OR approved_by_id != proposed_by_id',
                       name=op.f('ck_repayment_claims_four_eyes')),
    sa.CheckConstraint("(state IN ('approved', 'repaid')) = (approved_by_id IS NOT NULL)",
                       name=op.f('ck_repayment_claims_approved_has_approver')),
    sa.CheckConstraint('(approved_by_id IS NULL) = (approved_at IS NULL)',
                       name=op.f('ck_repayment_claims_approver_with_time')),
    sa.CheckConstraint('(approved_by_id IS NULL) = (letter_language IS NULL)',
                       name=op.f('ck_repayment_claims_approved_has_language')),
    sa.CheckConstraint('(approved_by_id IS NULL) = (account_number IS NULL)',
                       name=op.f('ck_repayment_claims_approved_has_account')),
    sa.CheckConstraint("(state = 'repaid') = (repaid_on IS NOT NULL)", name=op.f('ck_repayment_claims_repaid_has_date')),
    sa.CheckConstraint("(state = 'withdrawn') = (withdrawn_at IS NOT NULL)",
                       name=op.f('ck_repayment_claims_withdrawn_has_time')),
    sa.CheckConstraint("letter_language IS NULL OR letter_language IN ('nb', 'nn', 'en')",
                       name=op.f('ck_repayment_claims_letter_language_known')),
    sa.CheckConstraint('account_number IS NULL OR length(account_number) = 11',
                       name=op.f('ck_repayment_claims_account_number_length')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_repayment_claims_approved_by_id_users')),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], name=op.f('fk_repayment_claims_grant_id_grants'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'], name=op.f('fk_repayment_claims_proposed_by_id_users')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_repayment_claims_report_id_reports'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repayment_claims'))
    )
    with op.batch_alter_table('repayment_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repayment_claims_grant_id'), ['grant_id'], unique=False)

    op.create_table('repayments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', grants.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', grants.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_repayments_amount_positive')),
    sa.ForeignKeyConstraint(['claim_id'], ['repayment_claims.id'], name=op.f('fk_repayments_claim_id_repayment_claims'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_repayments_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repayments'))
    )
    with op.batch_alter_table('repayments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repayments_claim_id'), ['claim_id'], unique=False)


def downgrade():
    with op.batch_alter_table('repayments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_repayments_claim_id'))
    op.drop_table('repayments')
    with op.batch_alter_table('repayment_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_repayment_claims_grant_id'))
    op.drop_table('repayment_claims')
