"""Battery upload deadlines beyond the working-day calendar are estimates, and say so.

Revision ID: 0013_deadline_estimate
Revises: 0012_transfer_requests
Create Date: 2026-11-30

``battery_events`` gains ``deadline_estimated``: True when the deadline passes days in a year
whose State Council holiday notice is not yet in the calendar (chinesecalendar), so those days
were counted Monday–Friday (resynergy.catalog.workdays.add_workdays_or_estimate). Existing rows
get false: until now such events were refused, so every stored deadline is exact.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0013_deadline_estimate'
down_revision: str | Sequence[str] | None = '0012_transfer_requests'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('battery_events', sa.Column('deadline_estimated', sa.Boolean(), server_default=sa.false(),
                                              nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('battery_events') as batch:
        batch.drop_column('deadline_estimated')
