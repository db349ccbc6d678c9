"""Enterprise evaluation (#13): ledgers, evaluations, their evidence and events, evaluator lists.

Revision ID: 0014_evaluation
Revises: 0013_deadline_estimate
Create Date: 2026-11-30

Five new tables (store/models.py documents them): ``ledgers`` (an organisation's ISW ledger as
the canonical JSON of the core's frames, with its SHA-256), ``evaluations`` (one version of an
organisation's evaluation for a period: state, evaluator, filing dates and deadline, the
assessment and report frozen at approval, and their totals for regional sums),
``evaluation_evidence`` (files kept in the database), ``evaluation_events`` (every step) and
``evaluator_listings`` (evaluators listed per province). Nothing existing changes.

An approved, filed or published version is frozen in the database too: a trigger (SQLite and
PostgreSQL) refuses an UPDATE that changes what was approved (the firm, period, version, ledger,
products, evaluator, the assessment, report, published fields and their totals, the approval
date and filing deadline) or moves it back out of those states; filing and publication only
set their own columns.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0014_evaluation'
down_revision: str | Sequence[str] | None = '0013_deadline_estimate'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


FROZEN_STATES = "('approved', 'filed', 'published')"
FROZEN_COLUMNS = ("org_uscc", "period", "version", "ledger_id", "products", "evaluator_id", "province", "region",
                  "assessment", "report_html", "report_html_en", "report_sha256", "publication", "utilized_t", "refund_yuan",
                  "eit_income_yuan", "ept_exempt_yuan", "approved_at", "due_date")
_MESSAGE = "an approved evaluation version is frozen: a correction is a new version"


def _pg(column: str) -> str:  # json has no equality operator in PostgreSQL: compare the text
    cast = "::text" if column in ("products", "assessment", "publication") else ""
    return f"OLD.{column}{cast} IS DISTINCT FROM NEW.{column}{cast}"


def _frozen_trigger() -> None:
    if op.get_bind().dialect.name == "postgresql":
        changed = " OR ".join(_pg(c) for c in FROZEN_COLUMNS)
        op.execute(f"""
CREATE FUNCTION evaluations_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.state IN {FROZEN_STATES} AND (NEW.state NOT IN {FROZEN_STATES} OR {changed}) THEN
    RAISE EXCEPTION '{_MESSAGE}';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER evaluations_frozen BEFORE UPDATE ON evaluations FOR EACH ROW EXECUTE FUNCTION evaluations_frozen();
""")
    else:
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in FROZEN_COLUMNS)
        op.execute(f"CREATE TRIGGER evaluations_frozen BEFORE UPDATE ON evaluations WHEN OLD.state IN {FROZEN_STATES} "
                   f"AND (NEW.state NOT IN {FROZEN_STATES} OR {changed}) BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END")


def upgrade() -> None:
    op.create_table('evaluator_listings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('row_version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('province', sa.String(length=6), nullable=False),
    sa.Column('name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('listed_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['listed_by'], ['users.id'], name=op.f('fk_evaluator_listings_listed_by_users'), onupdate='RESTRICT', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_evaluator_listings_user_id_users'), onupdate='RESTRICT', ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluator_listings')),
    sa.UniqueConstraint('user_id', 'province', name=op.f('uq_evaluator_listings_user_id_province')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('evaluator_listings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluator_listings_province'), ['province'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluator_listings_user_id'), ['user_id'], unique=False)

    op.create_table('ledgers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('row_version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('org_uscc', sa.String(length=18), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('filename', sa.String(length=200), server_default='', nullable=False),
    sa.Column('first_month', sa.String(length=7), server_default='', nullable=False),
    sa.Column('last_month', sa.String(length=7), server_default='', nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('frames', sa.JSON(), nullable=False),
    sa.Column('notes', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('xlsx', 'flows')", name=op.f('ck_ledgers_source')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_ledgers_created_by_users'), onupdate='RESTRICT', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['org_uscc'], ['reg_organisations.uscc'], name=op.f('fk_ledgers_org_uscc_reg_organisations'), onupdate='RESTRICT', ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledgers')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('ledgers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledgers_org_uscc'), ['org_uscc'], unique=False)

    op.create_table('evaluations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('row_version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('org_uscc', sa.String(length=18), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=24), server_default='draft', nullable=False),
    sa.Column('ledger_id', sa.Integer(), nullable=True),
    sa.Column('products', sa.JSON(), nullable=False),
    sa.Column('evaluator_id', sa.Integer(), nullable=True),
    sa.Column('province', sa.String(length=6), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('message', sa.Text(), server_default='', nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('filed_with', sa.String(length=200), server_default='', nullable=False),
    sa.Column('filing_number', sa.String(length=64), server_default='', nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assessment', sa.JSON(), nullable=True),
    sa.Column('report_html', sa.Text(), nullable=True),
    sa.Column('report_html_en', sa.Text(), nullable=True),
    sa.Column('report_sha256', sa.String(length=64), server_default='', nullable=False),
    sa.Column('publication', sa.JSON(), nullable=True),
    sa.Column('utilized_t', sa.Double(), nullable=True),
    sa.Column('refund_yuan', sa.Double(), nullable=True),
    sa.Column('eit_income_yuan', sa.Double(), nullable=True),
    sa.Column('ept_exempt_yuan', sa.Double(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('draft', 'submitted', 'corrections_requested', 'approved', 'filed', 'published')", name=op.f('ck_evaluations_state')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_evaluations_created_by_users'), onupdate='RESTRICT', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['evaluator_id'], ['users.id'], name=op.f('fk_evaluations_evaluator_id_users'), onupdate='RESTRICT', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['ledger_id'], ['ledgers.id'], name=op.f('fk_evaluations_ledger_id_ledgers'), onupdate='RESTRICT', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['org_uscc'], ['reg_organisations.uscc'], name=op.f('fk_evaluations_org_uscc_reg_organisations'), onupdate='RESTRICT', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['previous_id'], ['evaluations.id'], name=op.f('fk_evaluations_previous_id_evaluations'), onupdate='RESTRICT', ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluations')),
    sa.UniqueConstraint('org_uscc', 'period', 'version', name=op.f('uq_evaluations_org_uscc_period_version')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluations_evaluator_id'), ['evaluator_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluations_ledger_id'), ['ledger_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluations_org_uscc'), ['org_uscc'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluations_previous_id'), ['previous_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluations_province'), ['province'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluations_region'), ['region'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluations_state'), ['state'], unique=False)

    op.create_table('evaluation_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=64), server_default='', nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_state', sa.String(length=24), server_default='', nullable=False),
    sa.Column('to_state', sa.String(length=24), server_default='', nullable=False),
    sa.Column('message', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['evaluation_id'], ['evaluations.id'], name=op.f('fk_evaluation_events_evaluation_id_evaluations'), onupdate='RESTRICT', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_evaluation_events_user_id_users'), onupdate='RESTRICT', ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_events')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('evaluation_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_events_evaluation_id'), ['evaluation_id'], unique=False)

    op.create_table('evaluation_evidence',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('row_version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('figure', sa.String(length=100), server_default='', nullable=False),
    sa.Column('note', sa.String(length=500), server_default='', nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['evaluation_id'], ['evaluations.id'], name=op.f('fk_evaluation_evidence_evaluation_id_evaluations'), onupdate='RESTRICT', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['uploaded_by'], ['users.id'], name=op.f('fk_evaluation_evidence_uploaded_by_users'), onupdate='RESTRICT', ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_evidence')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('evaluation_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_evidence_evaluation_id'), ['evaluation_id'], unique=False)

    _frozen_trigger()

def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER evaluations_frozen ON evaluations")
        op.execute("DROP FUNCTION evaluations_frozen()")
    else:
        op.execute("DROP TRIGGER evaluations_frozen")
    with op.batch_alter_table('evaluation_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_evidence_evaluation_id'))

    op.drop_table('evaluation_evidence')
    with op.batch_alter_table('evaluation_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_events_evaluation_id'))

    op.drop_table('evaluation_events')
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluations_state'))
        batch_op.drop_index(batch_op.f('ix_evaluations_region'))
        batch_op.drop_index(batch_op.f('ix_evaluations_province'))
        batch_op.drop_index(batch_op.f('ix_evaluations_previous_id'))
        batch_op.drop_index(batch_op.f('ix_evaluations_org_uscc'))
        batch_op.drop_index(batch_op.f('ix_evaluations_ledger_id'))
        batch_op.drop_index(batch_op.f('ix_evaluations_evaluator_id'))

    op.drop_table('evaluations')
    with op.batch_alter_table('ledgers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledgers_org_uscc'))

    op.drop_table('ledgers')
    with op.batch_alter_table('evaluator_listings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluator_listings_user_id'))
        batch_op.drop_index(batch_op.f('ix_evaluator_listings_province'))

    op.drop_table('evaluator_listings')
