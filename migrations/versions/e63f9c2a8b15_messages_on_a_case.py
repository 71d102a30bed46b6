"""messages on a case: the kommune and IMDi write to each other, IMDi keeps internal notes and asks for information

Revision ID: e63f9c2a8b15
Revises: d52e8b1f7a64
Create Date: 2026-11-30 14:50:00

"""
import sqlalchemy as sa
from alembic import op

import grants.db


revision = 'e63f9c2a8b15'
down_revision = 'd52e8b1f7a64'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('case_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('from_imdi', sa.Boolean(), nullable=False),
    sa.Column('internal', sa.Boolean(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('answer_by', sa.Date(), nullable=True),
    sa.Column('created_at', grants.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(body) BETWEEN 1 AND 5000', name=op.f('ck_case_messages_body_length')),
    sa.CheckConstraint('from_imdi OR NOT internal', name=op.f('ck_case_messages_internal_only_from_imdi')),
    sa.CheckConstraint('answer_by IS NULL OR (from_imdi AND NOT internal)',
                       name=op.f('ck_case_messages_request_from_imdi_to_kommune')),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'],
                            name=op.f('fk_case_messages_application_id_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_case_messages_author_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_messages'))
    )
    with op.batch_alter_table('case_messages', schema=None) as batch_op:
        batch_op.create_index('ix_case_messages_application_created', ['application_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('case_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_case_messages_application_created')
    op.drop_table('case_messages')
