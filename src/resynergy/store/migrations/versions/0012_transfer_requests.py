"""Enterprise-filed cross-province transfer requests (跨省转移商请, #12 leftovers).

Revision ID: 0012_transfer_requests
Revises: 0011_batteries
Create Date: 2026-11-30

``transfer_approvals`` gains the decision of a request an enterprise filed (status 'pending'):
``reason`` (the regulator's reason, required when refusing) and ``decided_at``. Who decided is
in the audit log. Nothing else changes; the lead re-chains down_revision if other branches add
revisions after 0011_batteries.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0012_transfer_requests'
down_revision: str | Sequence[str] | None = '0011_batteries'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('transfer_approvals', sa.Column('reason', sa.String(length=500), server_default='', nullable=False))
    op.add_column('transfer_approvals', sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('transfer_approvals') as batch:
        batch.drop_column('decided_at')
        batch.drop_column('reason')
