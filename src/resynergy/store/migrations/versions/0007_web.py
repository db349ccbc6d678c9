"""Imports can run in the background (the built-in dataset): state, progress, stage, error.

Revision ID: 0007_web
Revises: 0006
Create Date: 2026-11-30

Loading the built-in dataset takes seconds; it is now a job a worker process runs, like a
planning run, and the page watches its progress. Existing imports were checked in their request
and get state 'succeeded', progress 1.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0007_web'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=16), server_default='succeeded', nullable=False))
        batch_op.add_column(sa.Column('progress', sa.Double(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('stage', sa.String(length=128), server_default='', nullable=False))
        batch_op.add_column(sa.Column('error', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_imports_state'), ['state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_imports_state'))
        batch_op.drop_column('finished_at')
        batch_op.drop_column('error')
        batch_op.drop_column('stage')
        batch_op.drop_column('progress')
        batch_op.drop_column('state')
