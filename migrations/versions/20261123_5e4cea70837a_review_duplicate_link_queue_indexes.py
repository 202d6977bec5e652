"""review: duplicate link, queue indexes

Revision ID: 5e4cea70837a
Revises: 88c69b5fc16c
Create Date: 2026-11-23 12:32:07.905720

"""
from alembic import op
import sqlalchemy as sa

import claims.types


# revision identifiers, used by Alembic.
revision = '5e4cea70837a'
down_revision = '88c69b5fc16c'
branch_labels = None
depends_on = None


def upgrade():
    # The constraint below holds "submitted_at is set exactly when the claim is not a draft";
    # rows written before it (outside the intake form) are brought in line first.
    op.execute(
        "UPDATE claims SET submitted_at = COALESCE(signed_at, updated_at, created_at) "
        "WHERE status <> 'draft' AND submitted_at IS NULL"
    )
    op.execute("UPDATE claims SET submitted_at = NULL WHERE status = 'draft' AND submitted_at IS NOT NULL")
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duplicate_of_id', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_claims_duplicate_of_id_claims'), 'claims', ['duplicate_of_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_claims_duplicate_of_id'), ['duplicate_of_id'], unique=False)
        # The queue's indexes: (submitted_at, id) after each combination of case and status.
        # Their prefixes replace the single-column indexes on case, status and submission date.
        batch_op.drop_index('ix_claims_case_id')
        batch_op.drop_index('ix_claims_status')
        batch_op.drop_index('ix_claims_submitted_at')
        batch_op.create_index('ix_claims_submitted_id', ['submitted_at', 'id'], unique=False)
        batch_op.create_index('ix_claims_case_submitted', ['case_id', 'submitted_at', 'id'], unique=False)
        batch_op.create_index('ix_claims_status_submitted', ['status', 'submitted_at', 'id'], unique=False)
        batch_op.create_index('ix_claims_queue', ['case_id', 'status', 'submitted_at', 'id'], unique=False)
        batch_op.create_check_constraint(
            'submitted_iff_not_draft',
            "(status = 'draft' AND submitted_at IS NULL) OR (status <> 'draft' AND submitted_at IS NOT NULL)",
        )


def downgrade():
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_claims_submitted_iff_not_draft'), type_='check')
        batch_op.drop_index('ix_claims_queue')
        batch_op.drop_index('ix_claims_status_submitted')
        batch_op.drop_index('ix_claims_case_submitted')
        batch_op.drop_index('ix_claims_submitted_id')
        batch_op.create_index(batch_op.f('ix_claims_submitted_at'), ['submitted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_claims_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_claims_case_id'), ['case_id'], unique=False)
        batch_op.drop_index(batch_op.f('ix_claims_duplicate_of_id'))
        batch_op.drop_constraint(batch_op.f('fk_claims_duplicate_of_id_claims'), type_='foreignkey')
        batch_op.drop_column('duplicate_of_id')
