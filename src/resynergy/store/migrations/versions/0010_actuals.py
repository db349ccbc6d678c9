"""Actual flows on the platform: what processed manifests and imports record as moved.

Revision ID: 0010_actuals
Revises: 0009_manifests
Create Date: 2026-11-30

One row per recorded movement (the schema's ``actual_flows`` columns), a manifest number counted
once (unique; rows without a number hold NULL), sites referring to the registry (RESTRICT).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0010_actuals'
down_revision: str | Sequence[str] | None = '0009_manifests'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'actual_flows',
        sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('manifest', sa.String(), nullable=True),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('from_site', sa.String(), nullable=False),
        sa.Column('to_site', sa.String(), nullable=False),
        sa.Column('material', sa.String(), nullable=False),
        sa.Column('mode', sa.String(), nullable=False),
        sa.Column('t', sa.Float(), nullable=False),
        sa.Column('distance_km', sa.Float(), nullable=True),
        sa.Column('source', sa.String(), nullable=False),
        sa.Column('row_version', sa.Integer(), server_default='1', nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['from_site'], ['reg_sites.id'], name='fk_actual_flows_from_site_reg_sites',
                                ondelete='RESTRICT', onupdate='RESTRICT'),
        sa.ForeignKeyConstraint(['to_site'], ['reg_sites.id'], name='fk_actual_flows_to_site_reg_sites',
                                ondelete='RESTRICT', onupdate='RESTRICT'),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name='fk_actual_flows_created_by_users',
                                ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('pk', name='pk_actual_flows'),
        sa.UniqueConstraint('manifest', name='uq_actual_flows_manifest'),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_actual_flows_year', 'actual_flows', ['year'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_actual_flows_year', table_name='actual_flows')
    op.drop_table('actual_flows')
