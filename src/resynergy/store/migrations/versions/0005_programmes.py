"""Programmes registry: the bases, parks, clusters, centres and enterprises count targets count.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reg_programmes',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('name_zh', sa.String(), nullable=False),
    sa.Column('name_en', sa.String(), nullable=False),
    sa.Column('region', sa.String(), nullable=False),
    sa.Column('org_uscc', sa.String(), nullable=True),
    sa.Column('sites', sa.String(), nullable=False),
    sa.Column('facilities', sa.String(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('approved_year', sa.Integer(), nullable=True),
    sa.Column('built_year', sa.Integer(), nullable=True),
    sa.Column('accepted_year', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('row_version', sa.Integer(), server_default='1', nullable=False),
    sa.ForeignKeyConstraint(['region'], ['reg_regions.code'],
                            name='fk_reg_programmes_region_reg_regions',
                            ondelete='RESTRICT', onupdate='RESTRICT'),
    sa.ForeignKeyConstraint(['org_uscc'], ['reg_organisations.uscc'],
                            name='fk_reg_programmes_org_uscc_reg_organisations',
                            ondelete='RESTRICT', onupdate='RESTRICT'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_reg_programmes')),
    sa.UniqueConstraint('id', name=op.f('uq_reg_programmes_id')),
    sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table('reg_programmes')
