"""Retired traction batteries (issue 14): units, their links, lifecycle events and test records.

Revision ID: 0011_batteries
Revises: 0010_actuals
Create Date: 2026-11-30

Four new tables (store/models.py documents them): ``battery_units`` (one row per GB/T 34014
code), ``battery_links`` (pack → module → cell, and a re-coded product → its original),
``battery_events`` (the schema's battery_events columns plus the parsed time, upload date and
working-day deadline) and ``battery_tests`` (test records with the triage decision). Nothing
existing changes; the lead re-chains down_revision after the other branches' 0008–0010.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0011_batteries'
down_revision: str | Sequence[str] | None = '0010_actuals'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('battery_units',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('scheme', sa.String(length=16), nullable=False),
    sa.Column('level', sa.String(length=1), nullable=False),
    sa.Column('battery_type', sa.String(length=1), nullable=False),
    sa.Column('production_date', sa.Date(), nullable=False),
    sa.Column('org_uscc', sa.String(), nullable=True),
    sa.Column('province', sa.String(length=6), server_default='', nullable=False),
    sa.Column('row_version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_uscc'], ['reg_organisations.uscc'], name='fk_battery_units_org_uscc_reg_organisations', onupdate='RESTRICT', ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_battery_units')),
    sa.UniqueConstraint('code', name=op.f('uq_battery_units_code')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('battery_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_battery_units_org_uscc'), ['org_uscc'], unique=False)
        batch_op.create_index(batch_op.f('ix_battery_units_province'), ['province'], unique=False)

    op.create_table('battery_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(), nullable=False),
    sa.Column('event', sa.String(), nullable=False),
    sa.Column('time', sa.String(), nullable=False),
    sa.Column('actor', sa.String(), nullable=False),
    sa.Column('actor_role', sa.String(), nullable=False),
    sa.Column('place', sa.String(), nullable=False),
    sa.Column('vin', sa.String(), nullable=False),
    sa.Column('certificate', sa.String(), nullable=False),
    sa.Column('counterparty', sa.String(), nullable=False),
    sa.Column('new_code', sa.String(), nullable=False),
    sa.Column('mass_kg', sa.Float(), nullable=True),
    sa.Column('contained', sa.String(), nullable=False),
    sa.Column('recovered', sa.String(), nullable=False),
    sa.Column('uploaded', sa.String(), nullable=False),
    sa.Column('parent_code', sa.String(), nullable=False),
    sa.Column('note', sa.String(), nullable=False),
    sa.Column('event_time', sa.DateTime(), nullable=False),
    sa.Column('uploaded_on', sa.Date(), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('working_days', sa.Integer(), nullable=True),
    sa.Column('deadline_rules', sa.String(length=64), server_default='', nullable=False),
    sa.Column('org_uscc', sa.String(), nullable=True),
    sa.Column('province', sa.String(length=6), server_default='', nullable=False),
    sa.Column('row_version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_uscc'], ['reg_organisations.uscc'], name='fk_battery_events_org_uscc_reg_organisations', onupdate='RESTRICT', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['battery_units.id'], name='fk_battery_events_unit_id_battery_units', onupdate='RESTRICT', ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_battery_events')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('battery_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_battery_events_deadline'), ['deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_battery_events_org_uscc'), ['org_uscc'], unique=False)
        batch_op.create_index(batch_op.f('ix_battery_events_province'), ['province'], unique=False)
        batch_op.create_index(batch_op.f('ix_battery_events_unit_id'), ['unit_id'], unique=False)

    op.create_table('battery_links',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('row_version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('part', 'recoded')", name=op.f('ck_battery_links_kind')),
    sa.ForeignKeyConstraint(['child_id'], ['battery_units.id'], name='fk_battery_links_child_id_battery_units', onupdate='RESTRICT', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['parent_id'], ['battery_units.id'], name='fk_battery_links_parent_id_battery_units', onupdate='RESTRICT', ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_battery_links')),
    sa.UniqueConstraint('child_id', 'kind', name=op.f('uq_battery_links_child_id_kind')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('battery_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_battery_links_child_id'), ['child_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_battery_links_parent_id'), ['parent_id'], unique=False)

    op.create_table('battery_tests',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(), nullable=False),
    sa.Column('chemistry', sa.String(), nullable=False),
    sa.Column('soh', sa.Float(), nullable=True),
    sa.Column('resistance_ratio', sa.Float(), nullable=True),
    sa.Column('fade_per_100_cycles', sa.Float(), nullable=True),
    sa.Column('self_discharge_per_month', sa.Float(), nullable=True),
    sa.Column('swelling', sa.Boolean(), nullable=False),
    sa.Column('leakage', sa.Boolean(), nullable=False),
    sa.Column('insulation_fault', sa.Boolean(), nullable=False),
    sa.Column('thermal_event', sa.Boolean(), nullable=False),
    sa.Column('traceable', sa.Boolean(), nullable=False),
    sa.Column('mass_kg', sa.Float(), nullable=True),
    sa.Column('tested_on', sa.String(), nullable=False),
    sa.Column('lab', sa.String(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('decision', sa.JSON(), nullable=False),
    sa.Column('org_uscc', sa.String(), nullable=True),
    sa.Column('province', sa.String(length=6), server_default='', nullable=False),
    sa.Column('row_version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_uscc'], ['reg_organisations.uscc'], name='fk_battery_tests_org_uscc_reg_organisations', onupdate='RESTRICT', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['battery_units.id'], name='fk_battery_tests_unit_id_battery_units', onupdate='RESTRICT', ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_battery_tests')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('battery_tests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_battery_tests_org_uscc'), ['org_uscc'], unique=False)
        batch_op.create_index(batch_op.f('ix_battery_tests_outcome'), ['outcome'], unique=False)
        batch_op.create_index(batch_op.f('ix_battery_tests_province'), ['province'], unique=False)
        batch_op.create_index(batch_op.f('ix_battery_tests_unit_id'), ['unit_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('battery_tests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_battery_tests_unit_id'))
        batch_op.drop_index(batch_op.f('ix_battery_tests_province'))
        batch_op.drop_index(batch_op.f('ix_battery_tests_outcome'))
        batch_op.drop_index(batch_op.f('ix_battery_tests_org_uscc'))

    op.drop_table('battery_tests')
    with op.batch_alter_table('battery_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_battery_links_parent_id'))
        batch_op.drop_index(batch_op.f('ix_battery_links_child_id'))

    op.drop_table('battery_links')
    with op.batch_alter_table('battery_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_battery_events_unit_id'))
        batch_op.drop_index(batch_op.f('ix_battery_events_province'))
        batch_op.drop_index(batch_op.f('ix_battery_events_org_uscc'))
        batch_op.drop_index(batch_op.f('ix_battery_events_deadline'))

    op.drop_table('battery_events')
    with op.batch_alter_table('battery_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_battery_units_province'))
        batch_op.drop_index(batch_op.f('ix_battery_units_org_uscc'))

    op.drop_table('battery_units')
