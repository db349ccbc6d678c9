"""Plan premises: virgin supply table, facilities.min_load, corridors.min_nev_share.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

Scarce virgin material (``virgin_supply``: regional capacity per product and year), the least load
of new capacity (``facilities.min_load``) and a minimum new-energy truck share of road tonne-km per
corridor (``corridors.min_nev_share``), as in ``schema/tables.csv``.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reg_virgin_supply',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('region', sa.String(), nullable=False),
    sa.Column('material', sa.String(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('capacity_t', sa.Float(), nullable=False),
    sa.Column('price', sa.Float(), nullable=True),
    sa.Column('co2', sa.Float(), nullable=True),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('row_version', sa.Integer(), server_default='1', nullable=False),
    sa.ForeignKeyConstraint(['region'], ['reg_regions.code'],
                            name='fk_reg_virgin_supply_region_reg_regions',
                            ondelete='RESTRICT', onupdate='RESTRICT'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_reg_virgin_supply')),
    sa.UniqueConstraint('region', 'material', 'year',
                        name=op.f('uq_reg_virgin_supply_region_material_year')),
    sqlite_autoincrement=True,
    )
    # SQLite rebuilds keep AUTOINCREMENT (migration 0002)
    kwargs = ({"table_kwargs": {"sqlite_autoincrement": True}}
              if op.get_bind().dialect.name == "sqlite" else {})
    with op.batch_alter_table('reg_facilities', **kwargs) as batch_op:
        batch_op.add_column(sa.Column('min_load', sa.Float(), nullable=True))
    with op.batch_alter_table('reg_corridors', **kwargs) as batch_op:
        batch_op.add_column(sa.Column('min_nev_share', sa.Float(), nullable=True))


def downgrade() -> None:
    kwargs = ({"table_kwargs": {"sqlite_autoincrement": True}}
              if op.get_bind().dialect.name == "sqlite" else {})
    with op.batch_alter_table('reg_corridors', **kwargs) as batch_op:
        batch_op.drop_column('min_nev_share')
    with op.batch_alter_table('reg_facilities', **kwargs) as batch_op:
        batch_op.drop_column('min_load')
    op.drop_table('reg_virgin_supply')
