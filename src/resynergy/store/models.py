"""Database tables: the registry (one table per scenario table, columns from the schema) and the
platform's own tables (users, sessions, tokens, audit log, scenarios, runs and their results).

Registry tables are SQLAlchemy Core tables generated from ``resynergy/schema/tables.csv`` so
the scenario schema stays the one definition of their columns; every registry table gets an
integer surrogate key ``pk`` (used in API paths, never reused: SQLite AUTOINCREMENT), a unique
constraint on the schema key, a ``row_version`` (optimistic locking) and a foreign key for every
``ref`` to another registry table (optional references are NULL when empty).

Adding a registry table or a reference later (a new table or column in ``tables.csv``): the
models follow by themselves; the migration must create exactly what ``_registry_table`` makes —
``pk`` Integer primary key, the schema columns (an optional reference: String, nullable), the
extra columns, ``row_version`` Integer NOT NULL server_default '1', ``updated_at`` DateTime(tz),
the unique constraint on the key columns, one foreign key per registry ``ref`` named
``fk_reg_<table>_<column>_reg_<referred table>`` with ON DELETE RESTRICT ON UPDATE RESTRICT, and
``sqlite_autoincrement=True`` (``op.create_table(..., sqlite_autoincrement=True)``; on an existing
table ``op.batch_alter_table(name, recreate="always", table_kwargs={"sqlite_autoincrement": True})``).
A new reference on an existing table: make the column nullable, ``UPDATE … SET col = NULL WHERE
col = ''`` if optional, then ``batch.create_foreign_key`` (see migration 0002).
``tests/test_store.py`` checks models and migrations agree (it cannot see AUTOINCREMENT).

Battery tables (issue 14, migration 0011_batteries) follow the same conventions: integer ``id``
with ``sqlite_autoincrement``, ``row_version``, foreign keys named ``fk_<table>_<column>_<referred
table>`` ON DELETE/UPDATE RESTRICT, the owning organisation an optional reference (NULL) and a
``province`` column for reading scope; their record columns come from the schema.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from resynergy import schema
from resynergy.states import EvaluationState, ImportState, RunState
from resynergy.store import roles

# Scenario tables kept in the registry (defined with the schema, so web and commands name them
# without the store). Reference tables come from the catalog and are not edited on the platform.
REGISTRY_TABLES = schema.REGISTRY_TABLES

# Columns the platform keeps beside the scenario schema (confidential organisation contacts).
EXTRA_COLUMNS: dict[str, tuple[str, ...]] = {
    "organisations": ("contact_name", "contact_phone", "contact_email"),
}

ROLES = roles.ROLES  # one definition, importable without SQLAlchemy

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator):
    """Timezone-aware UTC timestamps on every database (SQLite hands back naive ones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


_SQL_TYPES = {"str": sa.String, "float": sa.Float, "int": sa.Integer, "bool": sa.Boolean}

# The row version of every registry row: 1 when created, +1 on every update; API responses carry
# it as the ETag and writes must name it (If-Match, a hidden form field), so no edit is lost.
VERSION = "row_version"


class OptionalRef(sa.TypeDecorator):
    """An optional reference (a str column of the schema that may be empty): the schema's '' is
    stored as NULL, so the column can carry a foreign key; NULL reads back as ''."""

    impl = sa.String
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value == "" else value

    def process_result_value(self, value, dialect):
        return "" if value is None else value


def registry_ref(col: schema.Column) -> tuple[str, str] | None:
    """(table, column) of the registry row ``col`` refers to; None when it refers to nothing or
    to a reference (catalog) table, which is not kept in the database."""
    if not col.ref:
        return None
    table, column = col.ref.split(".")
    return (table, column) if table in REGISTRY_TABLES else None


def registry_foreign_keys(name: str) -> list[tuple[str, str, str, bool]]:
    """(column, referred table, referred column, optional) of every reference ``name`` holds to
    another registry row; each is a foreign key refusing deletes and key changes of the referred
    row while it is referred to (ON DELETE/UPDATE RESTRICT, never a silent cascade)."""
    out = []
    for col in schema.columns(name):
        ref = registry_ref(col)
        if ref is not None:
            out.append((col.name, ref[0], ref[1], not col.required))
    return out


def _registry_table(name: str) -> sa.Table:
    cols: list[sa.SchemaItem] = [sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True)]
    refs = {c: (t, rc, optional) for c, t, rc, optional in registry_foreign_keys(name)}
    for col in schema.columns(name):
        # str columns hold '' when empty; optional numbers without a default may be NULL;
        # optional references hold NULL when empty (see OptionalRef)
        not_null = col.dtype in ("str", "bool") or col.required or col.key
        args: list[sa.SchemaItem] = []
        typ: sa.types.TypeEngine = _SQL_TYPES[col.dtype]()
        if col.name in refs:
            ref_table, ref_col, optional = refs[col.name]
            args.append(sa.ForeignKey(f"reg_{ref_table}.{ref_col}", ondelete="RESTRICT", onupdate="RESTRICT"))
            if optional:
                typ, not_null = OptionalRef(), False
        cols.append(sa.Column(col.name, typ, *args, nullable=not not_null))
    cols += [sa.Column(extra, sa.String(), nullable=False, server_default="")
             for extra in EXTRA_COLUMNS.get(name, ())]
    cols.append(sa.Column(VERSION, sa.Integer(), nullable=False, server_default="1"))
    cols.append(sa.Column("updated_at", UTCDateTime(), nullable=False, default=utcnow,
                          onupdate=utcnow))
    keys = schema.key_columns(name)
    cols.append(sa.UniqueConstraint(*keys))
    # AUTOINCREMENT: SQLite never hands out a deleted row's pk again (the audit log names rows by pk)
    return sa.Table(f"reg_{name}", Base.metadata, *cols, sqlite_autoincrement=True)


REGISTRY: dict[str, sa.Table] = {name: _registry_table(name) for name in REGISTRY_TABLES}


def registry_order() -> list[str]:
    """Registry tables, referred tables before the tables referring to them."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        for _, ref_table, _, _ in registry_foreign_keys(name):
            if ref_table != name:
                visit(ref_table)
        order.append(name)

    for name in REGISTRY_TABLES:
        visit(name)
    return order


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(128), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[str] = mapped_column(sa.String(16))
    org_uscc: Mapped[str] = mapped_column(sa.String(18), default="")  # enterprise users
    province: Mapped[str] = mapped_column(sa.String(6), default="")  # '' = all provinces
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.CheckConstraint(f"role IN ({', '.join(repr(r) for r in ROLES)})", name="role"),)


class LoginSession(Base):
    """A signed-in browser: the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    ip: Mapped[str] = mapped_column(sa.String(64), default="")

    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(Base):
    """A bearer token for the API (opaque, stored as SHA-256, revocable)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


class AuditEvent(Base):
    """Append-only log of every change and sign-in (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    ts: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None]
    actor: Mapped[str] = mapped_column(sa.String(64), default="")
    role: Mapped[str] = mapped_column(sa.String(16), default="")
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    action: Mapped[str] = mapped_column(sa.String(32))
    object_type: Mapped[str] = mapped_column(sa.String(32), default="")
    object_id: Mapped[str] = mapped_column(sa.String(128), default="")
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    after: Mapped[dict | None] = mapped_column(sa.JSON)


class ScenarioSnapshot(Base):
    """A named, versioned snapshot of the registry tables (the input of planning runs)."""

    __tablename__ = "scenarios"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    version: Mapped[int]
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    province: Mapped[str] = mapped_column(sa.String(6), default="")  # scope of the rows ('' = all)
    digest: Mapped[str] = mapped_column(sa.String(64))  # SHA-256 of the tables' canonical JSON
    rows: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # {table: row count}
    # {table: [record, ...]}: loaded only when asked for (listings and runs don't need it)
    tables: Mapped[dict] = mapped_column(sa.JSON, deferred=True)

    __table_args__ = (sa.UniqueConstraint("name", "version"),)


class ImportRecord(Base):
    """One registry import (accepted or rejected), with its issues and the marked-up workbook."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(256))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted: Mapped[bool] = mapped_column(default=False)
    counts: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # {table: {"created": n, "updated": n}}
    issues: Mapped[list] = mapped_column(sa.JSON, default=list)
    error_workbook: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    # ImportState: a background import (the built-in dataset) goes queued → running → succeeded |
    # failed, with the worker's progress and stage like a run's; an upload is checked in its
    # request (succeeded). No CHECK constraint (none in the migrations either).
    state: Mapped[str] = mapped_column(sa.String(16), default=ImportState.SUCCEEDED,
                                       server_default=ImportState.SUCCEEDED.value, index=True)
    progress: Mapped[float] = mapped_column(default=1.0, server_default="1")
    stage: Mapped[str] = mapped_column(sa.String(128), default="", server_default="")
    error: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    finished_at: Mapped[datetime | None]


class Run(Base):
    """A planning run: options, state, progress, log; results are written once, at the end."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(sa.ForeignKey("scenarios.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(sa.String(128), default="")
    options: Mapped[dict] = mapped_column(sa.JSON)
    state: Mapped[str] = mapped_column(sa.String(16), default=RunState.QUEUED, index=True)
    progress: Mapped[float] = mapped_column(default=0.0)
    stage: Mapped[str] = mapped_column(sa.String(128), default="")
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    worker_pid: Mapped[int | None]
    plan_status: Mapped[str] = mapped_column(sa.String(16), default="")
    objective: Mapped[float | None]
    error: Mapped[str] = mapped_column(sa.Text, default="")
    log: Mapped[str] = mapped_column(sa.Text, default="")
    # the worker's traceback when it failed: for administrators only (users see ``error``)
    trace: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    published: Mapped[bool] = mapped_column(default=False)
    code_version: Mapped[str] = mapped_column(sa.String(32), default="")

    scenario: Mapped[ScenarioSnapshot] = relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint(f"state IN ({', '.join(repr(s.value) for s in RunState)})", name="state"),
    )


class RunResult(Base):
    """One result of a run: a Plan table as records, the summary or figures (JSON), or the
    report (gzip-compressed HTML)."""

    __tablename__ = "run_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(32))
    kind: Mapped[str] = mapped_column(sa.String(16))  # table | json | html.gz
    data: Mapped[dict | list | None] = mapped_column(sa.JSON)
    blob: Mapped[bytes | None] = mapped_column(sa.LargeBinary)

    __table_args__ = (sa.UniqueConstraint("run_id", "name"),)


class LoginThrottle(Base):
    """Failed sign-ins per key ('user:<name>' or 'ip:<address>'), shared by every server process.

    Rows expire (deleted once their window and back-off have passed), so the table stays small
    whatever names are tried.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(sa.String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime] = mapped_column(index=True)
    blocked_until: Mapped[datetime | None]


# ---- actual flows (issue 12 item 6) -------------------------------------------------------
def _actual_flows_table() -> sa.Table:
    """What actually moved (processed manifests, imports): the schema's ``actual_flows``
    columns (one definition, ``schema/tables.csv``) plus ``pk``, ``row_version``, who recorded
    it and when. A manifest number is counted once (unique; an empty manifest is stored NULL,
    so rows without a number never collide). Sites are foreign keys to the registry (RESTRICT:
    a site with recorded flows cannot be deleted); material and mode are catalog codes."""
    sites = {"from_site", "to_site"}
    cols: list[sa.SchemaItem] = [sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True)]
    for col in schema.columns("actual_flows"):
        args: list[sa.SchemaItem] = []
        typ: sa.types.TypeEngine = _SQL_TYPES[col.dtype]()
        if col.name in sites:
            args.append(sa.ForeignKey("reg_sites.id", ondelete="RESTRICT", onupdate="RESTRICT"))
        if col.name == "manifest":
            typ = OptionalRef()
        not_null = (col.dtype in ("str", "bool") and col.name != "manifest") or col.required
        cols.append(sa.Column(col.name, typ, *args, nullable=not not_null))
    cols += [
        sa.Column(VERSION, sa.Integer(), nullable=False, server_default="1"),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
        sa.UniqueConstraint("manifest"),
        sa.Index("ix_actual_flows_year", "year"),
    ]
    return sa.Table("actual_flows", Base.metadata, *cols, sqlite_autoincrement=True)


ACTUAL_FLOWS: sa.Table = _actual_flows_table()


# ---- #12 exchange: listings (offers and wants) and deals ---------------------------------
# Quality specifications a listing may state: an offer gives ``spec_<name>``, a want the range
# ``spec_<name>_min`` / ``spec_<name>_max`` (NULL = not stated / no bound). The same names as
# ``resynergy.exchange.listings.SPECS`` (tests/test_exchange_api.py checks they agree).
LISTING_SPECS: tuple[str, ...] = ("moisture_pct", "fineness_m2_kg", "cao_pct", "so3_pct", "cl_pct")
LISTING_SIDES: tuple[str, ...] = ("offer", "want")
DEAL_STATES: tuple[str, ...] = ("inquiry", "offered", "accepted", "declined", "cancelled", "completed")
# The same values as resynergy.exchange.listings.RECURRENCES (tests/test_exchange_recurring.py).
RECURRENCES: tuple[str, ...] = ("", "monthly", "quarterly", "yearly")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _fk(target: str) -> sa.ForeignKey:
    return sa.ForeignKey(target, ondelete="RESTRICT", onupdate="RESTRICT")


class Listing(Base):
    """An offer (a lot of a material at a site) or a want (a need at a delivery site) of an
    organisation on the exchange. ``reserved_t`` is the sum of the accepted deals' quantities on
    an offer; the database refuses it above ``quantity_t`` (deals reserve with one conditional
    UPDATE, so concurrent acceptances never over-allocate a lot)."""

    __tablename__ = "listings"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")
    side: Mapped[str] = mapped_column(sa.String(8))
    organisation: Mapped[str] = mapped_column(sa.String(18), _fk("reg_organisations.uscc"), index=True)
    site: Mapped[str] = mapped_column(sa.String(), _fk("reg_sites.id"), index=True)
    material: Mapped[str] = mapped_column(sa.String(64), index=True)
    accepts: Mapped[str] = mapped_column(sa.String(512), default="", server_default="")
    quantity_t: Mapped[float]
    start: Mapped[str] = mapped_column(sa.String(10), default="", server_default="")
    end: Mapped[str] = mapped_column(sa.String(10), default="", server_default="")
    price_yuan_t: Mapped[float | None]  # offer: ask; want: cap; NULL = negotiable
    hazardous_code: Mapped[str] = mapped_column(sa.String(16), default="", server_default="")
    spec_moisture_pct: Mapped[float | None]
    spec_fineness_m2_kg: Mapped[float | None]
    spec_cao_pct: Mapped[float | None]
    spec_so3_pct: Mapped[float | None]
    spec_cl_pct: Mapped[float | None]
    spec_moisture_pct_min: Mapped[float | None]
    spec_moisture_pct_max: Mapped[float | None]
    spec_fineness_m2_kg_min: Mapped[float | None]
    spec_fineness_m2_kg_max: Mapped[float | None]
    spec_cao_pct_min: Mapped[float | None]
    spec_cao_pct_max: Mapped[float | None]
    spec_so3_pct_min: Mapped[float | None]
    spec_so3_pct_max: Mapped[float | None]
    spec_cl_pct_min: Mapped[float | None]
    spec_cl_pct_max: Mapped[float | None]
    created_by: Mapped[int | None] = mapped_column(_fk("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    reserved_t: Mapped[float] = mapped_column(default=0.0, server_default="0")
    # '' = a one-off lot or need; else it recurs every period from start to end and quantity_t
    # is per period; reserved_t is then what its least-reserved period holds (each period's
    # reservation is a row of listing_periods) (#12 item 1, migration 0015_recurring)
    recurrence: Mapped[str] = mapped_column(sa.String(10), default="", server_default="")

    __table_args__ = (
        sa.CheckConstraint(_in("side", LISTING_SIDES), name="side"),
        sa.CheckConstraint("quantity_t > 0", name="quantity"),
        sa.CheckConstraint("reserved_t >= 0 AND reserved_t <= quantity_t", name="reserved"),
        sa.CheckConstraint(_in("recurrence", RECURRENCES), name="recurrence"),
        {"sqlite_autoincrement": True},
    )


class Deal(Base):
    """A deal between a seller (the offer's organisation) and a buyer: inquiry → offered →
    accepted (reserves the quantity on the offer) → completed, or declined / cancelled."""

    __tablename__ = "deals"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")
    offer_id: Mapped[int] = mapped_column(_fk("listings.id"), index=True)
    want_id: Mapped[int | None] = mapped_column(_fk("listings.id"), index=True)
    seller_org: Mapped[str] = mapped_column(sa.String(18), _fk("reg_organisations.uscc"), index=True)
    buyer_org: Mapped[str] = mapped_column(sa.String(18), _fk("reg_organisations.uscc"), index=True)
    from_site: Mapped[str] = mapped_column(sa.String(), _fk("reg_sites.id"))
    to_site: Mapped[str] = mapped_column(sa.String(), _fk("reg_sites.id"))
    material: Mapped[str] = mapped_column(sa.String(64))
    quantity_t: Mapped[float]
    price_yuan_t: Mapped[float | None]  # NULL = negotiable (until offered)
    mode: Mapped[str] = mapped_column(sa.String(32), default="", server_default="")
    state: Mapped[str] = mapped_column(sa.String(16), default="inquiry", server_default="inquiry", index=True)
    created_by: Mapped[int | None] = mapped_column(_fk("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    accepted_at: Mapped[datetime | None]
    # a deal on a recurring lot (or want) recurs too: quantity_t per period, for the periods from
    # start to end; delivered_t is recorded when it is completed (the accepted tonnes of its
    # processed manifests) and released_t is what completing it short gave back to the lots
    recurrence: Mapped[str] = mapped_column(sa.String(10), default="", server_default="")
    start: Mapped[str] = mapped_column(sa.String(10), default="", server_default="")
    end: Mapped[str] = mapped_column(sa.String(10), default="", server_default="")
    delivered_t: Mapped[float | None]
    released_t: Mapped[float] = mapped_column(default=0.0, server_default="0")

    __table_args__ = (
        sa.CheckConstraint(_in("state", DEAL_STATES), name="state"),
        sa.CheckConstraint("quantity_t > 0", name="quantity"),
        sa.CheckConstraint(_in("recurrence", RECURRENCES), name="recurrence"),
        {"sqlite_autoincrement": True},
    )


# ---- #12 electronic manifests (联单), their signatures, cross-province approvals, licences --
# The manifest's fields (``resynergy.exchange.manifests.FIELDS``) are kept as one JSON object;
# the parties and provinces are repeated in indexed columns for scope filters (written together
# with the JSON by services/manifests.py, never apart). Signatures are appended, never changed:
# each holds the values it locked and the SHA-256 chain (``verify`` re-derives them).
MANIFEST_STATES: tuple[str, ...] = ("draft", "sealed", "sent", "in_transit", "received", "refused",
                                    "processed", "cancelled")
APPROVAL_KINDS: tuple[str, ...] = ("approval", "filing")
APPROVAL_STATES: tuple[str, ...] = ("pending", "approved", "refused", "revoked")


class Manifest(Base):
    """One shipment under a deal (or a linked return / redirect of a refused load)."""

    __tablename__ = "manifests"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")
    number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    deal_id: Mapped[int | None] = mapped_column(_fk("deals.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(_fk("manifests.id"), index=True)
    state: Mapped[str] = mapped_column(sa.String(16), default="draft", server_default="draft", index=True)
    generator_org: Mapped[str] = mapped_column(sa.String(18), index=True)
    carrier_org: Mapped[str] = mapped_column(sa.String(18), default="", server_default="", index=True)
    receiver_org: Mapped[str] = mapped_column(sa.String(18), index=True)
    generator_province: Mapped[str] = mapped_column(sa.String(6), index=True)
    receiver_province: Mapped[str] = mapped_column(sa.String(6), index=True)
    fields: Mapped[dict] = mapped_column(sa.JSON)
    created_by: Mapped[int | None] = mapped_column(_fk("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint(_in("state", MANIFEST_STATES), name="state"),
        {"sqlite_autoincrement": True},
    )


class ManifestSignature(Base):
    """A signature of one frame: who, in which role, when, the values it locks, the chain hash."""

    __tablename__ = "manifest_signatures"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    manifest_id: Mapped[int] = mapped_column(_fk("manifests.id"), index=True)
    seq: Mapped[int]
    frame: Mapped[str] = mapped_column(sa.String(16))
    org: Mapped[str] = mapped_column(sa.String(18))
    role: Mapped[str] = mapped_column(sa.String(16))
    signer: Mapped[str] = mapped_column(sa.String(64))
    user_id: Mapped[int | None] = mapped_column(_fk("users.id"))
    signed_at: Mapped[str] = mapped_column(sa.String(40))  # ISO text exactly as hashed
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    fields: Mapped[dict] = mapped_column(sa.JSON)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))

    __table_args__ = (
        sa.UniqueConstraint("manifest_id", "seq"),  # two signers racing: one wins, one conflicts
        {"sqlite_autoincrement": True},
    )


class TransferApproval(Base):
    """A cross-province transfer approval (跨省转移商请, 'approval') or filing (备案, 'filing'),
    recorded by a regulator of the origin province; manifests draw its quantity down."""

    __tablename__ = "transfer_approvals"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")
    kind: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default="approved", server_default="approved")
    reference: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")  # official document no.
    origin_province: Mapped[str] = mapped_column(sa.String(6), index=True)
    dest_province: Mapped[str] = mapped_column(sa.String(6), index=True)
    generator_org: Mapped[str] = mapped_column(sa.String(18), index=True)
    receiver_org: Mapped[str] = mapped_column(sa.String(18), index=True)
    material: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    waste_code: Mapped[str] = mapped_column(sa.String(16), default="", server_default="")
    quantity_kg: Mapped[int] = mapped_column(sa.BigInteger)
    valid_from: Mapped[str] = mapped_column(sa.String(10))
    valid_to: Mapped[str] = mapped_column(sa.String(10))
    created_by: Mapped[int | None] = mapped_column(_fk("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # a request filed by the generator (status 'pending') decided by the origin province (0012)
    reason: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    decided_at: Mapped[datetime | None]

    __table_args__ = (
        sa.CheckConstraint(_in("kind", APPROVAL_KINDS), name="kind"),
        sa.CheckConstraint(_in("status", APPROVAL_STATES), name="status"),
        sa.CheckConstraint("quantity_kg > 0", name="quantity"),
        {"sqlite_autoincrement": True},
    )


class Licence(Base):
    """A hazardous-waste operating licence (危险废物经营许可证) of an organisation: the HW codes
    or categories it may receive ('|'-joined), recorded by a regulator."""

    __tablename__ = "licences"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")
    org: Mapped[str] = mapped_column(sa.String(18), index=True)
    number: Mapped[str] = mapped_column(sa.String(64))
    codes: Mapped[str] = mapped_column(sa.String(2048))
    province: Mapped[str] = mapped_column(sa.String(6), index=True)  # of the issuing regulator
    valid_from: Mapped[str] = mapped_column(sa.String(10), default="", server_default="")
    valid_to: Mapped[str] = mapped_column(sa.String(10), default="", server_default="")
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_by: Mapped[int | None] = mapped_column(_fk("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = ({"sqlite_autoincrement": True},)


# ---- retired traction batteries (issue 14) --------------------------------------------------
# Units (one row per GB/T 34014 code), their pack → module → cell and re-coding links, lifecycle
# events and test records with the triage decision. Conventions as for the registry: an integer
# ``id`` never reused (sqlite_autoincrement), ``row_version`` (optimistic locking; events and
# tests are append-only records, so it stays 1 unless an administrator corrects a row), named
# foreign keys ON DELETE/UPDATE RESTRICT (a unit with events or links cannot vanish), the owning
# organisation as an optional reference to the registry (NULL when the actor is not registered)
# and the GB/T 2260 province code the row is read in ('' = not placed). The event and test
# columns come from the schema (``battery_events``, ``battery_tests`` in tables.csv), as the
# registry's do; a migration adding a schema column must add it here too.
BATTERY_LINK_KINDS = ("part", "recoded")  # child sits in parent; child is parent's re-coded product


def _battery_columns(table: str) -> list[sa.Column]:
    cols = []
    for col in schema.columns(table):
        typ: sa.types.TypeEngine = _SQL_TYPES[col.dtype]()
        cols.append(sa.Column(col.name, typ, nullable=col.dtype not in ("str", "bool")))
    return cols


def _org_ref(table: str) -> sa.Column:
    return sa.Column("org_uscc", OptionalRef(), sa.ForeignKey(
        "reg_organisations.uscc", name=f"fk_{table}_org_uscc_reg_organisations", ondelete="RESTRICT",
        onupdate="RESTRICT"), nullable=True, index=True)


def _unit_ref(table: str, column: str = "unit_id") -> sa.Column:
    return sa.Column(column, sa.Integer(), sa.ForeignKey(
        "battery_units.id", name=f"fk_{table}_{column}_battery_units", ondelete="RESTRICT", onupdate="RESTRICT"),
        nullable=False, index=True)


def _bookkeeping() -> list[sa.Column]:
    return [sa.Column("province", sa.String(6), nullable=False, server_default="", index=True),
            sa.Column(VERSION, sa.Integer(), nullable=False, server_default="1"),
            sa.Column("created_at", UTCDateTime(), nullable=False, default=utcnow)]


BATTERY_UNITS = sa.Table(
    "battery_units", Base.metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("code", sa.String(24), nullable=False, unique=True),
    sa.Column("scheme", sa.String(16), nullable=False),
    sa.Column("level", sa.String(1), nullable=False),  # P pack, M module, C cell
    sa.Column("battery_type", sa.String(1), nullable=False),
    sa.Column("production_date", sa.Date(), nullable=False),
    _org_ref("battery_units"),  # the organisation that first reported it
    *_bookkeeping(),
    sqlite_autoincrement=True)

BATTERY_LINKS = sa.Table(
    "battery_links", Base.metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    _unit_ref("battery_links", "parent_id"),
    _unit_ref("battery_links", "child_id"),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column(VERSION, sa.Integer(), nullable=False, server_default="1"),
    sa.Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
    sa.UniqueConstraint("child_id", "kind"),  # one pack per module, one original per re-coded product
    sa.CheckConstraint("kind IN ('part', 'recoded')", name="kind"),
    sqlite_autoincrement=True)

BATTERY_EVENTS = sa.Table(
    "battery_events", Base.metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    _unit_ref("battery_events"),
    *_battery_columns("battery_events"),
    sa.Column("event_time", sa.DateTime(), nullable=False),  # China time, as reported
    sa.Column("uploaded_on", sa.Date(), nullable=True),
    sa.Column("deadline", sa.Date(), nullable=True, index=True),  # upload deadline (working days)
    sa.Column("working_days", sa.Integer(), nullable=True),
    sa.Column("deadline_rules", sa.String(64), nullable=False, server_default=""),
    # the deadline passes days beyond the working-day calendar, counted Monday–Friday (an estimate)
    sa.Column("deadline_estimated", sa.Boolean(), nullable=False, server_default=sa.false()),
    _org_ref("battery_events"),
    *_bookkeeping(),
    sqlite_autoincrement=True)

BATTERY_TESTS = sa.Table(
    "battery_tests", Base.metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    _unit_ref("battery_tests"),
    *_battery_columns("battery_tests"),
    sa.Column("outcome", sa.String(16), nullable=False, index=True),  # reuse | repurpose | recycle
    sa.Column("decision", sa.JSON(), nullable=False),  # {"zh": Decision.as_dict("zh"), "en": ...}
    _org_ref("battery_tests"),
    *_bookkeeping(),
    sqlite_autoincrement=True)


# ---- #12 recurring listings: one row per period of a recurring listing (0015_recurring) ----
class ListingPeriod(Base):
    """What accepted deals hold in one period of a recurring listing. ``period`` is the
    period's first month 'YYYY-MM'; ``quantity_t`` repeats the listing's per-period quantity so
    the database itself refuses a period reserved beyond it (deals reserve with one conditional
    UPDATE per period, under the listing's row lock)."""

    __tablename__ = "listing_periods"

    # part of its listing: deleted with it (the service deletes only listings without deals)
    listing_id: Mapped[int] = mapped_column(sa.ForeignKey("listings.id", ondelete="CASCADE", onupdate="RESTRICT"),
                                            primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(7), primary_key=True)
    quantity_t: Mapped[float]
    reserved_t: Mapped[float] = mapped_column(default=0.0, server_default="0")

    __table_args__ = (
        sa.CheckConstraint("reserved_t >= 0 AND reserved_t <= quantity_t", name="reserved"),
    )


# ---- #13 enterprise evaluation (工业固废资源综合利用评价) and the incentives it unlocks ---------
# An organisation's ledger (台账) is kept as the canonical JSON of the core's Ledger frames with
# its SHA-256 (never edited: a new upload is a new ledger). An evaluation is one version of one
# organisation's application for one period; approving it freezes the assessment (JSON) and
# the printable report (HTML) on the row, and approved / filed / published rows are never
# changed again except for their filing and publication steps (services/evaluation.py; a
# correction is a new version, ``previous_id``). Evidence files are kept in the database (no
# path on disk is ever built from a user's file name). Evaluators are listed per province.
# Conventions: integer ids never reused (sqlite_autoincrement), ``row_version`` for optimistic
# locking, named foreign keys ON DELETE/UPDATE RESTRICT.


EVALUATION_STATES: tuple[str, ...] = tuple(s.value for s in EvaluationState)
LEDGER_SOURCES: tuple[str, ...] = ("xlsx", "flows")


class EvaluationLedger(Base):
    """An organisation's monthly ISW ledger: uploaded (the template) or built from its flows."""

    __tablename__ = "ledgers"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")
    org_uscc: Mapped[str] = mapped_column(sa.String(18), _fk("reg_organisations.uscc"), index=True)
    source: Mapped[str] = mapped_column(sa.String(8))
    filename: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    first_month: Mapped[str] = mapped_column(sa.String(7), default="", server_default="")
    last_month: Mapped[str] = mapped_column(sa.String(7), default="", server_default="")
    sha256: Mapped[str] = mapped_column(sa.String(64))
    frames: Mapped[dict] = mapped_column(sa.JSON, deferred=True)  # {waste, receipts, use, products: records; firm}
    notes: Mapped[list] = mapped_column(sa.JSON, default=list)  # what the ledger cannot say (flows)
    created_by: Mapped[int | None] = mapped_column(_fk("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        sa.CheckConstraint(_in("source", LEDGER_SOURCES), name="source"),
        {"sqlite_autoincrement": True},
    )


class Evaluation(Base):
    """One version of an organisation's evaluation for a period, through its states."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")
    org_uscc: Mapped[str] = mapped_column(sa.String(18), _fk("reg_organisations.uscc"), index=True)
    period: Mapped[str] = mapped_column(sa.String(16))  # as Period.parse reads it: 2022Q1, 2022-03, 2022H1, 2022
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    previous_id: Mapped[int | None] = mapped_column(_fk("evaluations.id"), index=True)
    state: Mapped[str] = mapped_column(sa.String(24), default=EvaluationState.DRAFT,
                                       server_default=EvaluationState.DRAFT.value, index=True)
    ledger_id: Mapped[int | None] = mapped_column(_fk("ledgers.id"), index=True)
    products: Mapped[list] = mapped_column(sa.JSON, default=list)
    evaluator_id: Mapped[int | None] = mapped_column(_fk("users.id"), index=True)
    province: Mapped[str] = mapped_column(sa.String(6), index=True)  # of the firm's registered region
    region: Mapped[str] = mapped_column(sa.String(6), index=True)  # the firm's prefecture (or province)
    message: Mapped[str] = mapped_column(sa.Text, default="", server_default="")  # the last corrections request
    submitted_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    due_date: Mapped[date | None] = mapped_column(sa.Date())  # filing deadline: approval + 30 days
    filed_at: Mapped[datetime | None]
    filed_with: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    filing_number: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    published_at: Mapped[datetime | None]
    assessment: Mapped[dict | None] = mapped_column(sa.JSON, deferred=True)  # frozen at approval
    report_html: Mapped[str | None] = mapped_column(sa.Text, deferred=True)  # frozen at approval (zh)
    report_html_en: Mapped[str | None] = mapped_column(sa.Text, deferred=True)  # the same report in English
    report_sha256: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    publication: Mapped[dict | None] = mapped_column(sa.JSON)  # the published fields, frozen at approval
    utilized_t: Mapped[float | None]  # the frozen assessment's totals, for regional sums
    refund_yuan: Mapped[float | None]
    eit_income_yuan: Mapped[float | None]
    ept_exempt_yuan: Mapped[float | None]
    created_by: Mapped[int | None] = mapped_column(_fk("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("org_uscc", "period", "version"),  # two corrections racing: one wins
        sa.CheckConstraint(_in("state", EVALUATION_STATES), name="state"),
        {"sqlite_autoincrement": True},
    )


class EvaluationEvidence(Base):
    """An evidence file of an evaluation (weighbridge tickets, test reports, invoices …)."""

    __tablename__ = "evaluation_evidence"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")
    evaluation_id: Mapped[int] = mapped_column(_fk("evaluations.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    figure: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")  # what it backs: product or material
    note: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    uploaded_by: Mapped[int | None] = mapped_column(_fk("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = ({"sqlite_autoincrement": True},)


class EvaluationEvent(Base):
    """One step of an evaluation (who, when, from which state to which, with the message)."""

    __tablename__ = "evaluation_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    evaluation_id: Mapped[int] = mapped_column(_fk("evaluations.id"), index=True)
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(_fk("users.id"))
    actor: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    action: Mapped[str] = mapped_column(sa.String(32))
    from_state: Mapped[str] = mapped_column(sa.String(24), default="", server_default="")
    to_state: Mapped[str] = mapped_column(sa.String(24), default="", server_default="")
    message: Mapped[str] = mapped_column(sa.Text, default="", server_default="")

    __table_args__ = ({"sqlite_autoincrement": True},)


class EvaluatorListing(Base):
    """An evaluator (a user of role evaluator) on a province's list, kept by the admin or that
    province's regulator (Guangdong model: the province keeps the recommended list)."""

    __tablename__ = "evaluator_listings"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")
    user_id: Mapped[int] = mapped_column(_fk("users.id"), index=True)
    province: Mapped[str] = mapped_column(sa.String(6), index=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")  # the agency
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    listed_by: Mapped[int | None] = mapped_column(_fk("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("user_id", "province"), {"sqlite_autoincrement": True})
