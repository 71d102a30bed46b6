"""identities from ID-porten and Ansattporten (a keyed digest of the person's identifier, never the national
identity number), invitations by a kommune's administrator, and the kommuner's organisation numbers

Revision ID: 79cc59b104e0
Revises: b8d2f4a6c913
Create Date: 2026-11-30 22:38:39.846906

"""
from alembic import op
import sqlalchemy as sa

import grants.db


# revision identifiers, used by Alembic.
revision = '79cc59b104e0'
down_revision = 'b8d2f4a6c913'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('external_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', grants.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', grants.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_external_identities_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_identities')),
    sa.UniqueConstraint('provider', 'subject', name='one_link_per_subject')
    )
    with op.batch_alter_table('external_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_identities_user_id'), ['user_id'], unique=False)

    op.create_table('invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', grants.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', grants.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', grants.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_invitations_invited_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], name=op.f('fk_invitations_municipality_id_municipalities')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_invitations_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_invitations_token_digest'))
    )
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitations_municipality_id'), ['municipality_id'], unique=False)

    with op.batch_alter_table('municipalities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisation_number', sa.String(length=9), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_municipalities_organisation_number'), ['organisation_number'])
        batch_op.create_check_constraint(op.f('ck_municipalities_organisation_number_nine_digits'),
                                         'organisation_number IS NULL OR length(organisation_number) = 9')



def downgrade():
    with op.batch_alter_table('municipalities', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_municipalities_organisation_number_nine_digits'), type_='check')
        batch_op.drop_constraint(batch_op.f('uq_municipalities_organisation_number'), type_='unique')
        batch_op.drop_column('organisation_number')

    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitations_municipality_id'))

    op.drop_table('invitations')
    with op.batch_alter_table('external_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_external_identities_user_id'))

    op.drop_table('external_identities')
