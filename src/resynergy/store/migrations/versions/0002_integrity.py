"""Registry integrity: foreign keys between registry rows, a row version, pks never reused.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

- Every reference from one registry row to another becomes a foreign key, ON DELETE RESTRICT and
  ON UPDATE RESTRICT: a referred row cannot be deleted or renamed while something refers to it
  (the platform answers 409 naming what refers to it), nothing cascades silently.
- Optional references (schema str columns that may be empty) hold NULL instead of '' so they can
  carry a foreign key; the application reads NULL back as ''.
- ``row_version`` (1 on create, +1 on every update) for optimistic locking (ETag / If-Match).
- SQLite: the tables are rebuilt with AUTOINCREMENT, so a deleted row's pk is never handed out
  again (PostgreSQL sequences never reuse values anyway).

The upgrade refuses to run while the registry holds dangling references, and lists them; delete
or correct those rows (they would make every scenario invalid anyway), then upgrade again.

The list below is this revision's schema, frozen: a later table or reference is added by its own
migration (see the store README in ``resynergy/store/models.py``).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("regions", "organisations", "sites", "supplies", "facilities", "demands", "terminals",
          "lanes", "corridors", "targets", "policy")
# (table, column, referred table, referred column, optional)
REFS = (
    ("regions", "parent", "regions", "code", True),
    ("organisations", "region", "regions", "code", True),
    ("sites", "org_uscc", "organisations", "uscc", True),
    ("sites", "region", "regions", "code", False),
    ("supplies", "site", "sites", "id", False),
    ("facilities", "site", "sites", "id", False),
    ("demands", "site", "sites", "id", False),
    ("terminals", "site", "sites", "id", False),
    ("lanes", "from_site", "sites", "id", False),
    ("lanes", "to_site", "sites", "id", False),
    ("corridors", "from_region", "regions", "code", False),
    ("corridors", "to_region", "regions", "code", False),
    ("targets", "region", "regions", "code", True),
)


def _fk_name(table: str, column: str, ref_table: str) -> str:
    return f"fk_reg_{table}_{column}_reg_{ref_table}"


def _dangling(conn) -> list[str]:
    out = []
    for table, column, ref_table, ref_column, _ in REFS:
        rows = conn.execute(sa.text(
            f"SELECT pk, {column} FROM reg_{table} WHERE {column} IS NOT NULL AND {column} <> '' "
            f"AND {column} NOT IN (SELECT {ref_column} FROM reg_{ref_table}) ORDER BY pk")).all()
        out += [f"reg_{table} pk={pk}: {column}={value!r} (no such {ref_table}.{ref_column})" for pk, value in rows]
    return out


def upgrade() -> None:
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    dangling = _dangling(conn)
    if dangling:
        raise RuntimeError("registry rows refer to missing rows; delete or correct them, then upgrade again "
                           "(登记库中有记录引用了不存在的记录，请先删除或更正): " + "; ".join(dangling[:50])
                           + (f"; … {len(dangling) - 50} more" if len(dangling) > 50 else ""))
    optional = {(t, c) for t, c, _, _, opt in REFS if opt}
    for table in TABLES:
        kwargs = {"recreate": "always", "table_kwargs": {"sqlite_autoincrement": True}} if sqlite else {}
        with op.batch_alter_table(f"reg_{table}", **kwargs) as batch:
            batch.add_column(sa.Column("row_version", sa.Integer(), server_default="1", nullable=False))
            for t, column in sorted(optional):
                if t == table:
                    batch.alter_column(column, existing_type=sa.String(), nullable=True)
    for table, column in sorted(optional):
        op.execute(f"UPDATE reg_{table} SET {column} = NULL WHERE {column} = ''")
    for table in TABLES:
        mine = [r for r in REFS if r[0] == table]
        if not mine:
            continue
        with op.batch_alter_table(f"reg_{table}", **({"table_kwargs": {"sqlite_autoincrement": True}}
                                                      if sqlite else {})) as batch:
            for _, column, ref_table, ref_column, _ in mine:
                batch.create_foreign_key(_fk_name(table, column, ref_table), f"reg_{ref_table}", [column],
                                         [ref_column], ondelete="RESTRICT", onupdate="RESTRICT")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in reversed(TABLES):
        mine = [r for r in REFS if r[0] == table]
        kwargs = {"recreate": "always"} if sqlite else {}
        with op.batch_alter_table(f"reg_{table}", **kwargs) as batch:
            for _, column, ref_table, _, _ in mine:
                batch.drop_constraint(_fk_name(table, column, ref_table), type_="foreignkey")
            batch.drop_column("row_version")
    for table, column, _, _, optional in REFS:
        if optional:
            op.execute(f"UPDATE reg_{table} SET {column} = '' WHERE {column} IS NULL")
            with op.batch_alter_table(f"reg_{table}") as batch:
                batch.alter_column(column, existing_type=sa.String(), nullable=False)
