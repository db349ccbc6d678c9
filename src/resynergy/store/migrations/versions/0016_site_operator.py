"""#15 item 2: a site may name its operating organisation as published (``operator``), since the
public lists of real plants name firms whose unified social credit code is rarely published.

Revision ID: 0016_site_operator
Revises: 0015_recurring
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0016_site_operator'
down_revision: str | Sequence[str] | None = '0015_recurring'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _kwargs() -> dict:
    # SQLite rebuilds keep AUTOINCREMENT (migration 0002)
    return ({"table_kwargs": {"sqlite_autoincrement": True}}
            if op.get_bind().dialect.name == "sqlite" else {})


def upgrade() -> None:
    with op.batch_alter_table('reg_sites', **_kwargs()) as batch_op:
        batch_op.add_column(sa.Column('operator', sa.String(), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('reg_sites', **_kwargs()) as batch_op:
        batch_op.drop_column('operator')
