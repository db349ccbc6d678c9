"""#12 item 1: recurring listings and deals, per-period reservations, partial completion.

Revision ID: 0015_recurring
Revises: 0014_evaluation
Create Date: 2026-11-30

- ``listings.recurrence`` ('' | monthly | quarterly | yearly): a recurring listing repeats every
  calendar period from start to end, quantity_t per period; ``listing_periods`` holds one row per
  period with what accepted deals reserve in it (CHECK reserved_t <= quantity_t, the database's
  own last line against over-allocation of a period).
- ``deals.recurrence``, ``start``, ``end``: a deal on a recurring lot is per period, for a range
  of periods; ``delivered_t`` (the accepted tonnes of its processed manifests, recorded when the
  deal is completed) and ``released_t`` (what completing it short gave back to the lots).
Existing rows are one-off ('' recurrence, no periods), as before: nothing changes meaning.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0015_recurring'
down_revision: str | Sequence[str] | None = '0014_evaluation'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECURRENCE = "recurrence IN ('', 'monthly', 'quarterly', 'yearly')"  # as at 0015


def upgrade() -> None:
    with op.batch_alter_table('listings') as batch:
        batch.add_column(sa.Column('recurrence', sa.String(length=10), server_default='', nullable=False))
        batch.create_check_constraint(op.f('ck_listings_recurrence'), RECURRENCE)
    with op.batch_alter_table('deals') as batch:
        batch.add_column(sa.Column('recurrence', sa.String(length=10), server_default='', nullable=False))
        batch.add_column(sa.Column('start', sa.String(length=10), server_default='', nullable=False))
        batch.add_column(sa.Column('end', sa.String(length=10), server_default='', nullable=False))
        batch.add_column(sa.Column('delivered_t', sa.Double(), nullable=True))
        batch.add_column(sa.Column('released_t', sa.Double(), server_default='0', nullable=False))
        batch.create_check_constraint(op.f('ck_deals_recurrence'), RECURRENCE)
    op.create_table(
        'listing_periods',
        sa.Column('listing_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=7), nullable=False),
        sa.Column('quantity_t', sa.Double(), nullable=False),
        sa.Column('reserved_t', sa.Double(), server_default='0', nullable=False),
        sa.CheckConstraint('reserved_t >= 0 AND reserved_t <= quantity_t', name=op.f('ck_listing_periods_reserved')),
        sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_listing_periods_listing_id_listings'),
                                ondelete='CASCADE', onupdate='RESTRICT'),  # part of its listing
        sa.PrimaryKeyConstraint('listing_id', 'period', name=op.f('pk_listing_periods')),
    )


def downgrade() -> None:
    op.drop_table('listing_periods')
    with op.batch_alter_table('deals') as batch:
        batch.drop_constraint(op.f('ck_deals_recurrence'), type_='check')
        for column in ('released_t', 'delivered_t', 'end', 'start', 'recurrence'):
            batch.drop_column(column)
    with op.batch_alter_table('listings') as batch:
        batch.drop_constraint(op.f('ck_listings_recurrence'), type_='check')
        batch.drop_column('recurrence')
