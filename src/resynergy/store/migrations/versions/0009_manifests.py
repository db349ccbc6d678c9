"""#12 electronic manifests (联单): manifests, their signatures, cross-province approvals, licences.

Revision ID: 0009_manifests
Revises: 0008_exchange
Create Date: 2026-11-30

A manifest is one shipment under a deal; its fields are one JSON object (the parties and
provinces repeated in indexed columns for scope filters). Signatures are appended one per frame
(unique per manifest and sequence number, so two racing signers cannot both sign). Transfer
approvals (跨省转移商请 / 备案) and HW licences are recorded by regulators. New tables only.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0009_manifests'
down_revision: str | Sequence[str] | None = '0008_exchange'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(column: str, table: str, target: str, ref: str = 'id') -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.{ref}"], name=op.f(f"fk_{table}_{column}_{target}"),
                                   ondelete="RESTRICT", onupdate="RESTRICT")


def _stamps() -> list[sa.Column]:
    return [sa.Column('created_by', sa.Integer(), nullable=True),
            sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
            sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False)]


def _indexes(table: str, columns: Sequence[str]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column], unique=False)


def upgrade() -> None:
    op.create_table(
        'manifests',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('row_version', sa.Integer(), server_default='1', nullable=False),
        sa.Column('number', sa.String(length=32), nullable=False),
        sa.Column('deal_id', sa.Integer(), nullable=True),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.Column('state', sa.String(length=16), server_default='draft', nullable=False),
        sa.Column('generator_org', sa.String(length=18), nullable=False),
        sa.Column('carrier_org', sa.String(length=18), server_default='', nullable=False),
        sa.Column('receiver_org', sa.String(length=18), nullable=False),
        sa.Column('generator_province', sa.String(length=6), nullable=False),
        sa.Column('receiver_province', sa.String(length=6), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=False),
        *_stamps(),
        sa.CheckConstraint("state IN ('draft', 'sealed', 'sent', 'in_transit', 'received', 'refused', "
                           "'processed', 'cancelled')", name=op.f('ck_manifests_state')),
        _fk('deal_id', 'manifests', 'deals'),
        _fk('parent_id', 'manifests', 'manifests'),
        _fk('created_by', 'manifests', 'users'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_manifests')),
        sa.UniqueConstraint('number', name=op.f('uq_manifests_number')),
        sqlite_autoincrement=True,
    )
    _indexes('manifests', ('deal_id', 'parent_id', 'state', 'generator_org', 'carrier_org', 'receiver_org',
                           'generator_province', 'receiver_province'))

    op.create_table(
        'manifest_signatures',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('manifest_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('frame', sa.String(length=16), nullable=False),
        sa.Column('org', sa.String(length=18), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('signer', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('signed_at', sa.String(length=40), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        _fk('manifest_id', 'manifest_signatures', 'manifests'),
        _fk('user_id', 'manifest_signatures', 'users'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_manifest_signatures')),
        sa.UniqueConstraint('manifest_id', 'seq', name=op.f('uq_manifest_signatures_manifest_id_seq')),
        sqlite_autoincrement=True,
    )
    _indexes('manifest_signatures', ('manifest_id',))

    op.create_table(
        'transfer_approvals',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('row_version', sa.Integer(), server_default='1', nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), server_default='approved', nullable=False),
        sa.Column('reference', sa.String(length=64), server_default='', nullable=False),
        sa.Column('origin_province', sa.String(length=6), nullable=False),
        sa.Column('dest_province', sa.String(length=6), nullable=False),
        sa.Column('generator_org', sa.String(length=18), nullable=False),
        sa.Column('receiver_org', sa.String(length=18), nullable=False),
        sa.Column('material', sa.String(length=64), server_default='', nullable=False),
        sa.Column('waste_code', sa.String(length=16), server_default='', nullable=False),
        sa.Column('quantity_kg', sa.BigInteger(), nullable=False),
        sa.Column('valid_from', sa.String(length=10), nullable=False),
        sa.Column('valid_to', sa.String(length=10), nullable=False),
        *_stamps(),
        sa.CheckConstraint("kind IN ('approval', 'filing')", name=op.f('ck_transfer_approvals_kind')),
        sa.CheckConstraint("status IN ('pending', 'approved', 'refused', 'revoked')",
                           name=op.f('ck_transfer_approvals_status')),
        sa.CheckConstraint('quantity_kg > 0', name=op.f('ck_transfer_approvals_quantity')),
        _fk('created_by', 'transfer_approvals', 'users'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_approvals')),
        sqlite_autoincrement=True,
    )
    _indexes('transfer_approvals', ('origin_province', 'dest_province', 'generator_org', 'receiver_org'))

    op.create_table(
        'licences',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('row_version', sa.Integer(), server_default='1', nullable=False),
        sa.Column('org', sa.String(length=18), nullable=False),
        sa.Column('number', sa.String(length=64), nullable=False),
        sa.Column('codes', sa.String(length=2048), nullable=False),
        sa.Column('province', sa.String(length=6), nullable=False),
        sa.Column('valid_from', sa.String(length=10), server_default='', nullable=False),
        sa.Column('valid_to', sa.String(length=10), server_default='', nullable=False),
        sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
        *_stamps(),
        _fk('created_by', 'licences', 'users'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_licences')),
        sqlite_autoincrement=True,
    )
    _indexes('licences', ('org', 'province'))


def downgrade() -> None:
    op.drop_table('licences')
    op.drop_table('transfer_approvals')
    op.drop_table('manifest_signatures')
    op.drop_table('manifests')
