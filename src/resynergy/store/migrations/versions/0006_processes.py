"""Facilities state the output of their host plant (kiln clinker, converter crude steel).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

Lines that feed a host plant share its limits (kiln co-processing norms, the converter scrap
ratio); ``host_output_t`` is that plant's output. Existing rows get NULL (read as 0: not known).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _kwargs() -> dict:
    # SQLite rebuilds keep AUTOINCREMENT (migration 0002)
    return ({"table_kwargs": {"sqlite_autoincrement": True}}
            if op.get_bind().dialect.name == "sqlite" else {})


def upgrade() -> None:
    with op.batch_alter_table('reg_facilities', **_kwargs()) as batch_op:
        batch_op.add_column(sa.Column('host_output_t', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('reg_facilities', **_kwargs()) as batch_op:
        batch_op.drop_column('host_output_t')
