"""#12 exchange: listings (offers and wants of organisations) and deals between them.

Revision ID: 0008_exchange
Revises: 0007_web
Create Date: 2026-11-30

A listing is an organisation's offer (a lot of a material at one of its sites) or want; a deal
joins an offer (and optionally the buyer's want) and goes inquiry → offered → accepted →
completed (or declined / cancelled). ``listings.reserved_t`` is what accepted deals hold on an
offer; a CHECK keeps it within ``quantity_t`` (the application reserves with one conditional
UPDATE, the CHECK is the last line). New tables only: nothing existing changes.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0008_exchange'
down_revision: str | Sequence[str] | None = '0007_web'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SPECS = ("moisture_pct", "fineness_m2_kg", "cao_pct", "so3_pct", "cl_pct")  # as at 0008


def _fk(column: str, table: str, target: str, ref: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.{ref}"], name=op.f(f"fk_{table}_{column}_{target}"),
                                   ondelete="RESTRICT", onupdate="RESTRICT")


def upgrade() -> None:
    op.create_table(
        'listings',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('row_version', sa.Integer(), server_default='1', nullable=False),
        sa.Column('side', sa.String(length=8), nullable=False),
        sa.Column('organisation', sa.String(length=18), nullable=False),
        sa.Column('site', sa.String(), nullable=False),
        sa.Column('material', sa.String(length=64), nullable=False),
        sa.Column('accepts', sa.String(length=512), server_default='', nullable=False),
        sa.Column('quantity_t', sa.Double(), nullable=False),
        sa.Column('start', sa.String(length=10), server_default='', nullable=False),
        sa.Column('end', sa.String(length=10), server_default='', nullable=False),
        sa.Column('price_yuan_t', sa.Double(), nullable=True),
        sa.Column('hazardous_code', sa.String(length=16), server_default='', nullable=False),
        *[sa.Column(f'spec_{s}', sa.Double(), nullable=True) for s in SPECS],
        *[sa.Column(f'spec_{s}_{end}', sa.Double(), nullable=True) for s in SPECS for end in ('min', 'max')],
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('reserved_t', sa.Double(), server_default='0', nullable=False),
        sa.CheckConstraint("side IN ('offer', 'want')", name=op.f('ck_listings_side')),
        sa.CheckConstraint('quantity_t > 0', name=op.f('ck_listings_quantity')),
        sa.CheckConstraint('reserved_t >= 0 AND reserved_t <= quantity_t', name=op.f('ck_listings_reserved')),
        _fk('organisation', 'listings', 'reg_organisations', 'uscc'),
        _fk('site', 'listings', 'reg_sites', 'id'),
        _fk('created_by', 'listings', 'users', 'id'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_listings')),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table('listings', schema=None) as batch_op:
        for column in ('organisation', 'site', 'material'):
            batch_op.create_index(batch_op.f(f'ix_listings_{column}'), [column], unique=False)

    op.create_table(
        'deals',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('row_version', sa.Integer(), server_default='1', nullable=False),
        sa.Column('offer_id', sa.Integer(), nullable=False),
        sa.Column('want_id', sa.Integer(), nullable=True),
        sa.Column('seller_org', sa.String(length=18), nullable=False),
        sa.Column('buyer_org', sa.String(length=18), nullable=False),
        sa.Column('from_site', sa.String(), nullable=False),
        sa.Column('to_site', sa.String(), nullable=False),
        sa.Column('material', sa.String(length=64), nullable=False),
        sa.Column('quantity_t', sa.Double(), nullable=False),
        sa.Column('price_yuan_t', sa.Double(), nullable=True),
        sa.Column('mode', sa.String(length=32), server_default='', nullable=False),
        sa.Column('state', sa.String(length=16), server_default='inquiry', nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('inquiry', 'offered', 'accepted', 'declined', 'cancelled', 'completed')",
                           name=op.f('ck_deals_state')),
        sa.CheckConstraint('quantity_t > 0', name=op.f('ck_deals_quantity')),
        _fk('offer_id', 'deals', 'listings', 'id'),
        _fk('want_id', 'deals', 'listings', 'id'),
        _fk('seller_org', 'deals', 'reg_organisations', 'uscc'),
        _fk('buyer_org', 'deals', 'reg_organisations', 'uscc'),
        _fk('from_site', 'deals', 'reg_sites', 'id'),
        _fk('to_site', 'deals', 'reg_sites', 'id'),
        _fk('created_by', 'deals', 'users', 'id'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_deals')),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table('deals', schema=None) as batch_op:
        for column in ('offer_id', 'want_id', 'seller_org', 'buyer_org', 'state'):
            batch_op.create_index(batch_op.f(f'ix_deals_{column}'), [column], unique=False)


def downgrade() -> None:
    op.drop_table('deals')
    op.drop_table('listings')
