"""grants and their acceptance: a grant (tilsagn) per released grant decision, the kommune's answer, the round's
days to answer, and an application's declined state

Revision ID: c41d7a2e9f30
Revises: 8e34273df18c
Create Date: 2026-11-30 14:00:00

A released grant decision now makes a grant: the amount, the reporting deadline (the decision's, else the round's)
and the day the kommune answers by. The kommune accepts it, giving the account it is paid to, or declines it; a
declined application keeps the amount it was granted and its decision time, so the two rules that list the states of
a grant and the decided states gain 'declined'. Grants are made here for the applications still granted (their
decisions released before), each waiting for its answer from the day of this upgrade; a case already reported on or
closed gets none: it was paid and followed up before this system knew of grants.
"""
import sqlalchemy as sa
from alembic import op

import grants.db


revision = 'c41d7a2e9f30'
down_revision = '8e34273df18c'
branch_labels = None
depends_on = None

BEFORE = {
    'ck_applications_granted_has_amount':
        "state NOT IN ('granted', 'reported', 'closed') OR amount_granted IS NOT NULL",
    'ck_applications_only_grants_have_amount': "state IN ('granted', 'reported', 'closed') OR amount_granted IS NULL",
    'ck_applications_decided_has_time':
        "state NOT IN ('granted', 'rejected', 'dismissed', 'reported', 'closed') OR decided_at IS NOT NULL",
    'ck_applications_only_decided_has_time':
        "state IN ('granted', 'rejected', 'dismissed', 'reported', 'closed') OR decided_at IS NULL",
}
AFTER = {
    'ck_applications_granted_has_amount':
        "state NOT IN ('granted', 'reported', 'closed', 'declined') OR amount_granted IS NOT NULL",
    'ck_applications_only_grants_have_amount':
        "state IN ('granted', 'reported', 'closed', 'declined') OR amount_granted IS NULL",
    'ck_applications_decided_has_time':
        "state NOT IN ('granted', 'rejected', 'dismissed', 'reported', 'closed', 'declined') "
        "OR decided_at IS NOT NULL",
    'ck_applications_only_decided_has_time':
        "state IN ('granted', 'rejected', 'dismissed', 'reported', 'closed', 'declined') "
        "OR decided_at IS NULL",
}


def _replace_checks(checks):
    with op.batch_alter_table('applications', schema=None) as batch_op:
        for name, sql in checks.items():
            batch_op.drop_constraint(op.f(name), type_='check')
            batch_op.create_check_constraint(op.f(name), sql)


def upgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acceptance_days', sa.Integer(), nullable=False, server_default='21'))
        batch_op.create_check_constraint(op.f('ck_rounds_acceptance_days_positive'), 'acceptance_days >= 1')
    op.create_table('grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('reporting_deadline', sa.Date(), nullable=True),
    sa.Column('answer_by', sa.Date(), nullable=False),
    sa.Column('state', sa.Enum('offered', 'accepted', 'declined', name='grant_state', native_enum=False,
                               length=20), nullable=False),
    sa.Column('answered_at', grants.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('account_number', sa.String(length=11), nullable=True),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('created_at', grants.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', grants.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_grants_amount_positive')),
    sa.CheckConstraint("(state = 'offered') = (answered_at IS NULL)", name=op.f('ck_grants_answered_has_time')),
    sa.CheckConstraint('(answered_at IS NULL) = (answered_by_id IS NULL)',
                       name=op.f('ck_grants_answered_by_with_time')),
    sa.CheckConstraint("(state = 'accepted') = (account_number IS NOT NULL)",
                       name=op.f('ck_grants_accepted_has_account')),
    sa.CheckConstraint("(state = 'declined') = (decline_reason IS NOT NULL)",
                       name=op.f('ck_grants_declined_has_reason')),
    sa.CheckConstraint('account_number IS NULL OR length(account_number) = 11',
                       name=op.f('ck_grants_account_number_length')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_grants_answered_by_id_users')),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_grants_application_id_applications'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], name=op.f('fk_grants_decision_id_decisions')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_grants_round_id_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grants')),
    sa.UniqueConstraint('application_id', name=op.f('uq_grants_application_id'))
    )
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grants_round_id'), ['round_id'], unique=False)
    _replace_checks(AFTER)
    # The applications still granted: one grant each, offered from today with the round's 21 days.
    op.execute(
        "INSERT INTO grants (application_id, decision_id, round_id, amount, reporting_deadline, answer_by, state, "
        "created_at, updated_at) "
        "SELECT d.application_id, d.id, d.round_id, d.amount, COALESCE(d.reporting_deadline, r.reporting_deadline), "
        "CURRENT_DATE + 21, 'offered', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP "
        "FROM decisions d JOIN rounds r ON r.id = d.round_id JOIN applications a ON a.id = d.application_id "
        "WHERE d.state = 'released' AND d.outcome = 'granted' AND a.state = 'granted'"
        if op.get_context().dialect.name == 'postgresql' else
        "INSERT INTO grants (application_id, decision_id, round_id, amount, reporting_deadline, answer_by, state, "
        "created_at, updated_at) "
        "SELECT d.application_id, d.id, d.round_id, d.amount, COALESCE(d.reporting_deadline, r.reporting_deadline), "
        "date('now', '+21 days'), 'offered', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP "
        "FROM decisions d JOIN rounds r ON r.id = d.round_id JOIN applications a ON a.id = d.application_id "
        "WHERE d.state = 'released' AND d.outcome = 'granted' AND a.state = 'granted'")


def downgrade():
    # A declined application goes back to granted: the state it had before this revision knew of declining.
    op.execute("UPDATE applications SET state = 'granted' WHERE state = 'declined'")
    _replace_checks(BEFORE)
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grants_round_id'))
    op.drop_table('grants')
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_rounds_acceptance_days_positive'), type_='check')
        batch_op.drop_column('acceptance_days')
