"""documents on a case's messages, and documents the kommune sends afterwards while IMDi asks for information

Revision ID: a4c81f5e2d67
Revises: e63f9c2a8b15
Create Date: 2026-11-30 17:00:00

"""
import sqlalchemy as sa
from alembic import op

import grants.db


revision = 'a4c81f5e2d67'
down_revision = 'e63f9c2a8b15'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('message_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('stored_name', sa.String(length=80), nullable=False),
    sa.Column('content_type', sa.String(length=120), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', grants.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('size > 0', name=op.f('ck_message_attachments_size_positive')),
    sa.ForeignKeyConstraint(['message_id'], ['case_messages.id'],
                            name=op.f('fk_message_attachments_message_id_case_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_attachments')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_message_attachments_stored_name'))
    )
    with op.batch_alter_table('message_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_attachments_message_id'), ['message_id'], unique=False)

    op.create_table('supplements',
    sa.Column('attachment_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachments.id'],
                            name=op.f('fk_supplements_attachment_id_attachments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_id'], ['case_messages.id'],
                            name=op.f('fk_supplements_request_id_case_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('attachment_id', name=op.f('pk_supplements'))
    )
    with op.batch_alter_table('supplements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supplements_request_id'), ['request_id'], unique=False)


def downgrade():
    with op.batch_alter_table('supplements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supplements_request_id'))
    op.drop_table('supplements')
    with op.batch_alter_table('message_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_attachments_message_id'))
    op.drop_table('message_attachments')
