"""review: saved queue filters

Revision ID: e4d856043766
Revises: 63a478e17a62
Create Date: 2026-11-23 16:53:23.377653

"""
from alembic import op
import sqlalchemy as sa

import claims.types


# revision identifiers, used by Alembic.
revision = 'e4d856043766'
down_revision = '63a478e17a62'
branch_labels = None
depends_on = None


def upgrade():
    # The queue's arguments only (never its search term); the unique (owner, name) also serves
    # the lookups of an owner's filters.
    op.create_table('saved_filters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('created_at', claims.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_saved_filters_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_filters')),
    sa.UniqueConstraint('owner_id', 'name', name=op.f('uq_saved_filters_owner_id_name'))
    )


def downgrade():
    op.drop_table('saved_filters')
