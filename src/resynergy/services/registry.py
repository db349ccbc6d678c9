"""The registry: read, search, change and export the scenario tables kept in the database.

Every change — one row from the API or pages, or a whole imported workbook — goes through
:func:`apply`: the new rows are coerced and checked by the scenario package's validators; then,
in the write transaction, the part of the registry the change reaches (the rows it replaces,
deletes or refers to, and the rows referring to keys it removes) is validated with
``Scenario.from_tables`` — never the whole registry, so a bad row elsewhere blocks nothing and a
write costs what it touches; the actor's row scope is checked, and only then is anything written,
in one transaction, with one audit event per changed row. Nothing is half-written. Foreign keys,
unique constraints and row versions in the database settle races between concurrent writers.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from resynergy import schema
from resynergy.scenario import Scenario, ScenarioError
from resynergy.scenario.validate import check_refs
from resynergy.schema.cells import plain
from resynergy.schema.coerce import RawTable, check_keys, coerce
from resynergy.schema.issues import Issue, column_text
from resynergy.services import access, audit, database
from resynergy.services.access import Actor, Denied
from resynergy.store.models import (
    EXTRA_COLUMNS,
    REGISTRY,
    REGISTRY_TABLES,
    VERSION,
    registry_foreign_keys,
    registry_order,
    utcnow,
)

# The column each table is filtered on by ?province= (tables with a site use the site's region).
_PROVINCE_COLUMN = {"regions": "code", "organisations": "region", "sites": "region", "targets": "region",
                    "programmes": "region", "virgin_supply": "region",
                    "corridors": "from_region"}


class NotFound(Exception):
    """No such row, or not one the actor may see."""


@dataclass
class Change:
    """One requested change to a registry table."""

    table: str
    op: str  # create | update | upsert | delete
    record: dict[str, Any] | None = None
    pk: int | None = None
    source: str = ""  # file and sheet, or "API" — where the record came from
    row: int | None = None  # row number the user sees in ``source``
    version: int | None = None  # row version the writer read (update/delete); ANY_VERSION: any
    require_version: bool = False  # refuse (428) an update/delete that names no version


@dataclass
class Rejected(Exception):
    """The change set was refused; ``issues`` says every reason (zh and en), nothing was written."""

    issues: list[dict]
    status: int = 422

    def __post_init__(self) -> None:
        super().__init__("; ".join(i["message_en"] for i in self.issues[:5]))


@dataclass
class Applied:
    """What a change set did, per table."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    pks: list[int] = field(default_factory=list)  # pk of each created/updated row, in order

    def add(self, table: str, what: str) -> None:
        self.counts.setdefault(table, {"created": 0, "updated": 0, "deleted": 0})[what] += 1


# ---- issues ------------------------------------------------------------------------------
def issue_dict(issue: Issue) -> dict:
    """An issue as the API and pages report it (location and message in zh and en)."""
    return {"code": issue.code, "table": issue.table, "source": issue.source, "row": issue.row,
            "column": issue.column, "value": None if issue.value is None else str(issue.value),
            "message_zh": issue.text("zh"), "message_en": issue.text("en"),
            "location_zh": issue.location("zh"), "location_en": issue.location("en"),
            "column_zh": column_text(issue.table, issue.column, "zh"),
            "hint_zh": issue.hint("zh"), "hint_en": issue.hint("en")}


def own_issue(code: str, zh: str, en: str, table: str = "", source: str = "", row: int | None = None,
              column: str = "", value: object = None, hint: tuple[str, str] = ("", "")) -> dict:
    """An issue found by the platform itself (scope, conflicts), shaped like :func:`issue_dict`."""
    loc = Issue("required", table, source, row, column, value)  # only used for the location text
    return {"code": code, "table": table, "source": source, "row": row, "column": column,
            "value": None if value is None else str(value), "message_zh": zh, "message_en": en,
            "location_zh": loc.location("zh"), "location_en": loc.location("en"),
            "column_zh": column_text(table, column, "zh"), "hint_zh": hint[0], "hint_en": hint[1]}


# ---- reading -----------------------------------------------------------------------------
def merge_issues(first: list[dict], more: list[dict]) -> list[dict]:
    """``first`` then the issues of ``more`` at cells ``first`` does not already name (a value
    that is not a number is not also reported as missing)."""
    seen = {(i.get("table"), i.get("source"), i.get("row"), i.get("column")) for i in first if i.get("row") is not None}
    return first + [i for i in more if (i.get("table"), i.get("source"), i.get("row"), i.get("column")) not in seen]


def schema_columns(table: str) -> list[str]:
    return [c.name for c in schema.columns(table)]


def frames(db: Session) -> dict[str, pd.DataFrame]:
    """Every registry table as a DataFrame (schema columns plus pk and platform columns)."""
    out = {}
    for name, table in REGISTRY.items():
        rows = db.execute(sa.select(table).order_by(table.c.pk)).mappings().all()
        out[name] = pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in table.columns])
    return out


def _scoped(actor: Actor, table: str, query: sa.Select) -> sa.Select:
    if not access.can_read_registry(actor, table):
        raise Denied(actor, f"read {table}")
    cond = access.read_filter(actor, table)
    return query if cond is None else query.where(cond)


CATALOG_REFS = ("materials", "processes", "modes")  # referenced tables that live in the catalog


def _ref_table(col: schema.Column) -> tuple[str, str]:
    table, _, key = col.ref.partition(".")
    return table, key


def ref_names(db: Session, actor: Actor, ref: str, codes: Iterable[str] | None = None,
              limit: int = 5000) -> dict[str, tuple[str, str]]:
    """Names (zh, en) of what a reference column points at ('sites.id', 'materials.code', …):
    registry rows the actor may read, or catalog entries; only ``codes`` when given."""
    table, _, key = ref.partition(".")
    wanted = None if codes is None else {str(c) for c in codes if c not in (None, "")}
    if table in CATALOG_REFS:
        from resynergy import catalog

        frame = catalog.table(table)
        if wanted is not None:
            frame = frame[frame[key].astype(str).isin(wanted)]
        return {str(k): (str(z), str(e)) for k, z, e in zip(frame[key], frame["name_zh"], frame["name_en"], strict=True)}
    if table not in REGISTRY or not access.can_read_registry(actor, table):
        return {}
    t = REGISTRY[table]
    query = _scoped(actor, table, sa.select(t.c[key], t.c.name_zh, t.c.name_en))
    if wanted is not None:
        if not wanted:
            return {}
        query = query.where(t.c[key].in_(sorted(wanted)))
    rows = db.execute(query.order_by(t.c[key]).limit(limit)).all()
    return {str(k): (str(z), str(e)) for k, z, e in rows}


def _name_matches(db: Session, actor: Actor, col: schema.Column, needle: str) -> sa.ColumnElement[bool] | None:
    """``col`` points at something whose Chinese or English name contains ``needle`` (钢渣 finds
    steel_slag rows; a site's name finds its supplies)."""
    table, key = _ref_table(col)
    if table in CATALOG_REFS:
        hits = [k for k, (z, e) in ref_names(db, actor, col.ref).items() if needle in z.lower() or needle in e.lower()]
        return REGISTRY[col.table].c[col.name].in_(hits) if hits else None
    if table not in REGISTRY or not access.can_read_registry(actor, table):
        return None
    t = REGISTRY[table]
    names = _scoped(actor, table, sa.select(t.c[key]).where(sa.or_(
        sa.func.lower(t.c.name_zh).like(f"%{needle}%"), sa.func.lower(t.c.name_en).like(f"%{needle}%"))))
    return REGISTRY[col.table].c[col.name].in_(names)


def list_rows(db: Session, actor: Actor, table: str, *, province: str = "", material: str = "",
              year: int | None = None, site: str = "", q: str = "", limit: int = 50,
              offset: int = 0, sort: str = "", descending: bool = False) -> tuple[list[dict], int]:
    """Rows the actor may read, filtered, in key order (or by ``sort``, a schema column), with
    the total before paging. ``q`` matches any text column, and the names of what the row refers
    to (sites, materials, regions, organisations, processes)."""
    t = REGISTRY[table]
    query = _scoped(actor, table, sa.select(t))
    if province:
        query = query.where(_province_cond(table, province))
    if material and "material" in t.c:
        query = query.where(t.c.material == material)
    if year is not None and "year" in t.c:
        query = query.where(t.c.year == year)
    if site and "site" in t.c:
        query = query.where(t.c.site == site)
    if q:
        needle = f"%{q.lower()}%"
        text_cols = [c for c in t.columns if isinstance(c.type, sa.String)]
        by_name = [m for col in schema.columns(table) if col.ref
                   if (m := _name_matches(db, actor, col, q.lower())) is not None]
        query = query.where(sa.or_(*(sa.func.lower(c).like(needle) for c in text_cols), *by_name))
    total = database.count(db, query)
    order = [t.c.pk]
    if sort in schema_columns(table):
        order = [t.c[sort].desc() if descending else t.c[sort].asc(), t.c.pk]
    rows = db.execute(query.order_by(*order).limit(limit).offset(offset)).mappings().all()
    return [dict(r) for r in rows], total


def _province_cond(table: str, province: str) -> sa.ColumnElement[bool]:
    t, sites = REGISTRY[table], REGISTRY["sites"]
    prefix = province[:2]
    if table in _PROVINCE_COLUMN:
        return sa.func.substr(t.c[_PROVINCE_COLUMN[table]], 1, 2) == prefix
    if "site" in t.c:
        return t.c.site.in_(sa.select(sites.c.id).where(sa.func.substr(sites.c.region, 1, 2) == prefix))
    if table == "lanes":
        return t.c.from_site.in_(sa.select(sites.c.id).where(sa.func.substr(sites.c.region, 1, 2) == prefix))
    return sa.true()


def get_row(db: Session, actor: Actor, table: str, pk: int) -> dict:
    t = REGISTRY[table]
    row = db.execute(_scoped(actor, table, sa.select(t).where(t.c.pk == pk))).mappings().first()
    if row is None:
        raise NotFound(f"{table} {pk}")
    return dict(row)


def scoped_frames(db: Session, actor: Actor) -> dict[str, pd.DataFrame]:
    """The registry tables restricted to what ``actor`` may read (schema columns only)."""
    out = {}
    for name, t in REGISTRY.items():
        rows = db.execute(_scoped(actor, name, sa.select(t)).order_by(t.c.pk)).mappings().all()
        out[name] = pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in t.columns])[schema_columns(name)]
    return out


def counts(db: Session, actor: Actor) -> dict[str, int]:
    """Rows per table the actor may read."""
    out = {}
    for name, t in REGISTRY.items():
        out[name] = db.scalar(sa.select(sa.func.count()).select_from(
            _scoped(actor, name, sa.select(t.c.pk)).subquery())) or 0
    return out


# ---- changing ----------------------------------------------------------------------------
ANY_VERSION = -1  # If-Match: * (the client knowingly replaces whatever is stored)


def stale_issue(table: str, pk: int | None, source: str = "", row: int | None = None) -> dict:
    """The record was changed (or deleted) by someone else since the writer read it."""
    return own_issue("stale", "该记录已被他人修改或删除，您的修改未保存；请重新打开记录，在最新内容上修改后再保存",
                     "this record was changed or deleted by someone else since you read it; nothing was saved — "
                     "reload it and make your change again", table, source or f"{table} #{pk}", row)


def apply(db: Session, actor: Actor, changes: list[Change], action: str = "",
          progress: Callable[[str, float], None] | None = None) -> Applied:
    """Validate and write ``changes`` as one unit (see module docstring); raise Rejected or NotFound.

    ``action`` prefixes the audit actions (e.g. "import" gives import_create/import_update).

    The new rows are typed and checked on their own, then only what the change touches is read
    and validated: the rows it replaces or deletes, rows holding the same keys, the rows its
    references lead to, and the rows referring to keys it removes — all without holding a lock.
    Then the write transaction begins (on SQLite IMMEDIATE, so writers queue instead of failing),
    the versions of every row the check read are read again and locked (FOR SHARE on PostgreSQL),
    and if any changed meanwhile the check is repeated under the lock; so the lock is held only
    for the write itself. Foreign keys and unique constraints back this up against rows created
    meanwhile; their violations are answered as conflicts (409), never as server errors.
    """
    by_table: dict[str, list[Change]] = {}
    for ch in changes:
        if not access.can_write_registry(actor, ch.table, "create" if ch.op == "upsert" else ch.op):
            raise Denied(actor, f"{ch.op} {ch.table}")
        by_table.setdefault(ch.table, []).append(ch)
    prepared = {table: _Prepared.build(table, chs) for table, chs in by_table.items()}
    typing = [i for p in prepared.values() for i in p.issues]
    if progress is not None:
        progress("checking", 0.3)
    try:  # checked on, so that one answer lists every problem (an upload is fixed in one pass)
        plan, tables, before_sites = _check(db, actor, prepared, changes)  # no lock held yet
    except Rejected as err:
        raise Rejected(merge_issues(typing, err.issues)) if typing else err from None
    if typing:
        raise Rejected(typing)
    if progress is not None:
        progress("writing", 0.7)
    begin_write(db)
    seen = _fingerprint(plan, tables, before_sites)
    if _versions(db, seen, {name: tp.removed for name, tp in plan.items()}) != seen:  # changed since it was checked: check again, now under the lock
        plan, tables, before_sites = _check(db, actor, prepared, changes)
    return _write(db, actor, plan, action)


def _check(db: Session, actor: Actor, prepared: dict[str, _Prepared], changes: list[Change]
           ) -> tuple[dict[str, _TablePlan], dict[str, pd.DataFrame], pd.DataFrame]:
    """Everything that decides whether the change may be written; raises Rejected or NotFound."""
    plan = {table: _TablePlan.resolve(db, actor, p) for table, p in prepared.items()}
    issues = [i for tp in plan.values() for i in tp.issues]
    if issues:
        raise Rejected(issues, status=_status(issues))
    issues = _hidden_refs(db, actor, plan)  # a record the actor may not read answers like a missing one
    if issues:
        raise Rejected(issues)
    tables, before_sites = _neighbourhood(db, plan)
    for tp in plan.values():  # scope first: out of scope answers alike whatever the registry holds
        issues += tp.scope_issues(actor, before_sites, tables["sites"])
    if issues:
        raise Rejected(issues, status=403)
    issues = _validate(db, tables, plan, actor)
    if issues:  # a delete that leaves references dangling conflicts with the data
        raise Rejected(issues, status=409 if all(c.op == "delete" for c in changes) or _status(issues) == 409
                       else 422)
    missing = [own_issue("precondition_required", "请提供记录版本（If-Match 请求头，取自读取该记录时的 ETag）",
                         "send the record's version (If-Match header, from the ETag you read it with)",
                         c.table, f"{c.table} #{c.pk}") for c in changes if c.op in ("update", "delete")
               and c.version is None and c.require_version]
    if missing:
        raise Rejected(missing, status=428)
    return plan, tables, before_sites


def _fingerprint(plan: dict[str, _TablePlan], tables: dict[str, pd.DataFrame], before_sites: pd.DataFrame
                 ) -> dict[str, dict[int, int]]:
    """{table: {pk: row version}} of every stored row the check read."""
    out: dict[str, dict[int, int]] = {}
    frames = [(name, f) for name, f in tables.items()] + [(n, tp.current) for n, tp in plan.items()]
    for name, frame in [*frames, ("sites", before_sites)]:
        if VERSION not in frame:
            continue
        stored = frame.loc[frame["pk"].notna() & frame[VERSION].notna(), ["pk", VERSION]]  # new rows: no version
        out.setdefault(name, {}).update({int(pk): int(v) for pk, v in stored.itertuples(index=False)})
    return {name: rows for name, rows in out.items() if rows}


def _versions(db: Session, seen: dict[str, dict[int, int]], changing: dict[str, set[int]]
              ) -> dict[str, dict[int, int]]:
    """The same rows' versions now, read in the write transaction and locked until it ends: rows
    to be replaced or deleted FOR UPDATE, rows only read FOR SHARE (PostgreSQL; SQLite's write
    lock covers the whole database). Locks are taken in one order (tables referred to first, then
    by pk) so concurrent writers queue rather than deadlock."""
    out: dict[str, dict[int, int]] = {}
    for name in sorted(seen, key=registry_order().index):
        t, got = REGISTRY[name], {}
        mine = changing.get(name, set())
        for pks, read in ((sorted(p for p in seen[name] if p in mine), False),
                          (sorted(p for p in seen[name] if p not in mine), True)):
            for i in range(0, len(pks), 500):
                q = sa.select(t.c.pk, t.c[VERSION]).where(t.c.pk.in_(pks[i:i + 500])).with_for_update(read=read)
                got.update({int(pk): int(v) for pk, v in db.execute(q)})
        out[name] = got
    return out


def begin_write(db: Session) -> None:
    """Start the write transaction of a change set.

    On SQLite the transaction is begun IMMEDIATE: it takes the write lock now (waiting up to the
    busy timeout) so the rows read for validation cannot change before the write. Whatever the
    session did before (signing in: a read, at most ``last_seen``) is committed first. PostgreSQL
    needs nothing: conditional updates, foreign keys and unique constraints settle races there.
    """
    if db.get_bind().dialect.name != "sqlite":
        return
    if db.in_transaction():
        db.commit()
    conn = db.connection()
    raw = conn.connection.driver_connection
    if raw is not None and not raw.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # a lock timeout surfaces as OperationalError (503)


def _status(issues: list[dict]) -> int:
    codes = {i["code"] for i in issues}
    if codes <= {"stale"}:
        return 412 if all(i.get("row") is None for i in issues) else 409
    return 409 if codes <= {"duplicate", "stale", "referenced"} else 422


@dataclass
class _Prepared:
    """The new rows of one table, typed and checked on their own (no database needed)."""

    table: str
    changes: list[Change]  # all changes to the table
    writes: list[Change]  # create/update/upsert, in the order of ``typed``
    typed: pd.DataFrame
    raw: RawTable
    issues: list[dict]

    @classmethod
    def build(cls, table: str, changes: list[Change]) -> _Prepared:
        writes = [c for c in changes if c.op != "delete"]
        cols = schema_columns(table)
        extras = EXTRA_COLUMNS.get(table, ())
        raw_frame = pd.DataFrame([{k: v for k, v in (c.record or {}).items() if k not in extras}
                                  for c in writes]).astype(object)
        if writes and raw_frame.shape[1] == 0:
            raw_frame = pd.DataFrame(index=range(len(writes)))
        source = next((c.source for c in writes if c.source), table)
        rows = tuple(c.row if c.row is not None else i + 2 for i, c in enumerate(writes))
        raw = RawTable(table, raw_frame.reset_index(drop=True), source, rows)
        typed, found = coerce(raw)
        found += check_keys(table, typed, raw)
        rowless = {r for r, c in zip(rows, writes, strict=True) if c.row is None}  # one API/form record
        issues = [issue_dict(dataclasses.replace(i, row=None) if i.row in rowless else i) for i in found]
        typed = typed[cols].copy()
        for extra in extras:
            typed[extra] = [str((c.record or {}).get(extra, "") or "") for c in writes]
        return cls(table, changes, writes, typed, raw, issues)


def _select_in(db: Session, table: str, column: str, values: list, *, extra=None) -> list[dict]:
    """Rows of ``table`` whose ``column`` is one of ``values`` (in chunks: engines cap parameters)."""
    t = REGISTRY[table]
    out: list[dict] = []
    values = list(values)
    for i in range(0, len(values), 500):
        q = sa.select(t).where(t.c[column].in_(values[i:i + 500]))
        if extra is not None:
            q = q.where(extra)
        out += [dict(r) for r in db.execute(q).mappings()]
    return out


def _frame(table: str, rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[c.name for c in REGISTRY[table].columns])


@dataclass
class _TablePlan:
    table: str
    current: pd.DataFrame  # the stored rows this change touches (replaced, deleted, same key)
    new: pd.DataFrame  # typed new/updated rows, with "pk" (None for new rows)
    raw: RawTable
    changes: list[Change]
    removed: set[int]  # pks deleted or replaced
    deleted: list[int]
    versions: dict[int, int]  # pk -> the row version the write must find
    issues: list[dict]
    visible: set[int]
    frame: pd.DataFrame | None = None  # the table as validated (new rows first)

    @classmethod
    def resolve(cls, db: Session, actor: Actor, prep: _Prepared) -> _TablePlan:
        table, typed, writes = prep.table, prep.typed, prep.writes
        keys = schema.key_columns(table)
        ids = sorted({c.pk for c in prep.changes if c.pk is not None})
        found = {r["pk"]: r for r in _select_in(db, table, "pk", ids)}
        key_tuples = {tuple(plain(v) for v in r) for r in typed[keys].itertuples(index=False)}
        if key_tuples:
            first = keys[0]
            for r in _select_in(db, table, first, sorted({k[0] for k in key_tuples})):
                if tuple(r[k] for k in keys) in key_tuples:
                    found[r["pk"]] = r
        current = _frame(table, list(found.values()))
        visible = _visible(db, actor, table, list(found))
        issues: list[dict] = []
        versions: dict[int, int] = {}
        for ch in prep.changes:
            if ch.op in ("update", "delete"):
                if ch.pk not in visible:
                    raise NotFound(f"{table} {ch.pk}")
                stored = int(found[ch.pk][VERSION])
                if ch.version not in (None, ANY_VERSION) and ch.version != stored:
                    issues.append(stale_issue(table, ch.pk, ch.source, ch.row))
                versions[int(ch.pk)] = stored
        index = {tuple(r[k] for k in keys): pk for pk, r in found.items()}
        pks: list[int | None] = []
        new_keys = [tuple(plain(v) for v in r) for r in typed[keys].itertuples(index=False)]
        for i, ch in enumerate(writes):
            if ch.op == "update":
                pks.append(ch.pk)
            elif ch.op == "upsert":
                pk = index.get(new_keys[i])
                if pk is not None and pk not in visible:
                    issues.append(own_issue(
                        "key_taken", "该键已被您无权修改的记录使用", "this key is used by a record you may not change",
                        table, prep.raw.source, ch.row, ", ".join(keys)))
                if pk is not None:
                    versions[pk] = int(found[pk][VERSION])  # the version read now, in this transaction
                pks.append(pk)
            else:
                pks.append(None)
        new = typed.copy()
        new["pk"] = pd.array(pks, dtype="Int64")
        deleted = [int(c.pk) for c in prep.changes if c.op == "delete" and c.pk is not None]
        removed = {int(p) for p in pks if p is not None} | set(deleted)
        return cls(table, current, new, prep.raw, writes, removed, deleted, versions, issues, visible)

    def stored(self) -> dict[int, dict]:
        """The stored rows this change touches, by pk."""
        return {int(r["pk"]): r for r in self.current.to_dict("records")}

    def new_records(self) -> list[dict]:
        """The new rows as plain records (pk None for rows to create)."""
        return [{k: (None if k == "pk" and v is pd.NA else plain(v)) for k, v in r.items()}
                for r in self.new.astype(object).to_dict("records")]

    def merged(self) -> pd.DataFrame:
        """The touched rows as they would be: new rows first (so issue rows map back), then the
        stored rows kept."""
        keep = self.current.loc[~self.current["pk"].isin(self.removed)]
        return pd.concat([self.new.astype(object), keep.astype(object)], ignore_index=True)

    def removed_keys(self, column: str) -> set:
        """Values of ``column`` that stored rows hold now and no row will hold afterwards."""
        old = set(self.current.loc[self.current["pk"].isin(self.removed), column])
        return old - set(self.new[column])

    def locate(self, issue: Issue) -> Issue:
        """Point an issue on the merged table back at the uploaded row or the registry record."""
        frame = self.frame if self.frame is not None else self.merged()

        def where(row: int | None) -> tuple[str, int | None]:
            if row is None:
                return self.raw.source, None
            i = row - 2
            if 0 <= i < len(self.new):
                return self.raw.source, (None if self.changes[i].row is None else self.raw.rows[i])
            return _registry_source(self.table, frame, row), None

        source, row = where(issue.row)
        if issue.row is not None and self._hidden(issue.row):
            source = f"登记库 registry/{self.table}"  # a stored row the actor may not see: not named
        params = dict(issue.params)
        if "other" in params and isinstance(params["other"], int):
            if self._hidden(params["other"]):
                params["other"] = f"登记库 registry/{self.table}"  # not another tenant's key
            else:
                other_source, other_row = where(params["other"])
                params["other"] = other_row if other_row is not None else other_source
        return dataclasses.replace(issue, source=source, row=row, params=params)

    def _hidden(self, row: int) -> bool:
        """Is issue row ``row`` (of the validated frame) a stored row the actor may not see?"""
        frame = self.frame if self.frame is not None else self.merged()
        i = row - 2
        return len(self.new) <= i < len(frame) and frame["pk"].iloc[i] not in self.visible

    def scope_issues(self, actor: Actor, sites_before: pd.DataFrame, sites_after: pd.DataFrame) -> list[dict]:
        out = []
        stored = self.stored()
        for i, after in enumerate(self.new_records()):
            before_ok = True
            if after["pk"] is not None:
                before_ok = access.may_write_row(actor, self.table, stored[after["pk"]], sites_before)
            if not (before_ok and access.may_write_row(actor, self.table, after, sites_after)):
                out.append(_scope_issue(actor, self.table, self.raw.source, self.changes[i].row))
        for pk in self.deleted:
            if not access.may_write_row(actor, self.table, stored[pk], sites_before):
                out.append(_scope_issue(actor, self.table, f"{self.table} #{pk}", None))
        return out


def _neighbourhood(db: Session, plan: dict[str, _TablePlan]) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The registry as far as the change reaches: the touched rows as they would be, plus every
    stored row their references lead to (transitively, so those rows' own references resolve
    too); and the sites as they are now, for the rows being replaced or deleted."""
    tables = {name: (plan[name].merged() if name in plan else _frame(name, [])) for name in REGISTRY_TABLES}
    removed = {name: (plan[name].removed if name in plan else set()) for name in REGISTRY_TABLES}
    queue = list(plan)
    while queue:
        name = queue.pop()
        for column, ref_table, ref_column, _ in registry_foreign_keys(name):
            have = set(tables[ref_table][ref_column])
            want = sorted({v for v in tables[name][column] if v not in ("", None)} - have)
            if not want:
                continue
            rows = [r for r in _select_in(db, ref_table, ref_column, want) if r["pk"] not in removed[ref_table]]
            if rows:
                tables[ref_table] = pd.concat([tables[ref_table].astype(object), _frame(ref_table, rows).astype(object)],
                                              ignore_index=True)
                queue.append(ref_table)
    for name, tp in plan.items():
        tp.frame = tables[name]
    site_ids = set()
    for name, tp in plan.items():
        for column, ref_table, _, _ in registry_foreign_keys(name):
            if ref_table == "sites":
                site_ids |= set(tp.current[column])
        if name == "sites":
            site_ids |= set(tp.current["id"])
    before_sites = _frame("sites", _select_in(db, "sites", "id", sorted(v for v in site_ids if v)))
    return tables, before_sites


def _validate(db: Session, tables: dict[str, pd.DataFrame], plan: dict[str, _TablePlan], actor: Actor) -> list[dict]:
    """The scenario validators on the neighbourhood, and the references a change would break."""
    out = _referenced(db, plan, actor)
    visible = functools.cache(lambda t: _visible_pks(db, actor, t))
    try:
        Scenario.from_tables({t: f[schema_columns(t)] for t, f in tables.items()}, name="registry")
    except ScenarioError as err:
        for issue in err.issues:
            tp = plan.get(issue.table)
            out.append(issue_dict(tp.locate(issue) if tp else dataclasses.replace(
                issue, source=_registry_source(issue.table, tables.get(issue.table), issue.row, visible),
                row=None)))
    return out


def _referenced(db: Session, plan: dict[str, _TablePlan], actor: Actor) -> list[dict]:
    """Stored rows that refer to a key this change deletes or renames (the database would refuse
    the change too): each named when the actor may see it, counted otherwise."""
    db_rows: list[dict] = []
    for name, tp in plan.items():
        for child in REGISTRY_TABLES:
            for column, ref_table, ref_column, _ in registry_foreign_keys(child):
                if ref_table != name:
                    continue
                gone = sorted(v for v in tp.removed_keys(ref_column) if v not in ("", None))
                if not gone:
                    continue
                skip = plan[child].removed if child in plan else set()
                rows = [r for r in _select_in(db, child, column, gone) if r["pk"] not in skip]
                seen = _visible(db, actor, child, [r["pk"] for r in rows])
                db_rows += [{"child": child, "row": r, "seen": r["pk"] in seen, "name": name, "value": r[column],
                             "column": column} for r in rows]
    out = []
    hidden: dict[tuple[str, str], int] = {}
    for d in db_rows:
        if d["seen"]:
            keys = ", ".join(f"{k}={d['row'][k]}" for k in schema.key_columns(d["child"]))
            out.append(own_issue(
                "referenced", f"仍被 {d['child']} 表的记录引用，不能删除或改名：{keys}",
                f"still referred to by a {d['child']} record ({keys}); delete or change that record first",
                d["name"], f"登记库 registry/{d['child']} ({keys})", None, d["column"], d["value"]))
        else:
            hidden[(d["name"], d["child"])] = hidden.get((d["name"], d["child"]), 0) + 1
    for (name, child), n in hidden.items():
        out.append(own_issue("referenced", f"仍被 {n} 条您无权查看的 {child} 记录引用，不能删除或改名",
                             f"still referred to by {n} {child} record(s) you may not see", name,
                             f"登记库 registry/{child}"))
    return out


def _visible(db: Session, actor: Actor, table: str, pks: list[int]) -> set[int]:
    """Which of ``pks`` the actor may read."""
    t = REGISTRY[table]
    out: set[int] = set()
    for i in range(0, len(pks), 500):
        out |= set(db.scalars(_scoped(actor, table, sa.select(t.c.pk).where(t.c.pk.in_(pks[i:i + 500])))))
    return out


def _visible_pks(db: Session, actor: Actor, table: str) -> set[int] | None:
    """pks of ``table`` the actor may read (None: all of them)."""
    if access.read_filter(actor, table) is None:
        return None
    return set(db.scalars(_scoped(actor, table, sa.select(REGISTRY[table].c.pk))).all())


def _hidden_refs(db: Session, actor: Actor, plan: dict[str, _TablePlan]) -> list[dict]:
    """References to records the actor may not read are reported exactly like references to
    records that do not exist (unknown code, 422), so a write cannot probe other tenants' keys."""
    out: list[dict] = []
    for table, tp in plan.items():
        cols = [c for c in schema.columns(table) if c.ref]
        if tp.new.empty or all(access.read_filter(actor, c.ref.split(".")[0]) is None for c in cols):
            continue
        known = {}
        for col in cols:
            ref, ref_col = col.ref.split(".")
            if ref in known:
                continue
            if access.read_filter(actor, ref) is None:  # shared tables: left to the whole validation
                known[ref] = pd.DataFrame({ref_col: tp.new[col.name]})
                continue
            t = REGISTRY[ref]
            frame = pd.DataFrame(db.execute(_scoped(actor, ref, sa.select(t))).mappings().all(),
                                 columns=[c.name for c in t.columns])
            if ref in plan:  # rows created or changed in the same change set count as known
                frame = pd.concat([frame, plan[ref].new.astype(object)], ignore_index=True)
            known[ref] = frame
        out += [issue_dict(tp.locate(i)) for i in check_refs(table, tp.new, known)]
    return out


def _scope_issue(actor: Actor, table: str, source: str, row: int | None) -> dict:
    if actor.role == "enterprise":
        zh, en = "只能修改本单位的记录", "you may change only your own organisation's records"
    else:
        zh, en = f"超出您的省级范围（{actor.province}）", f"outside your province scope ({actor.province})"
    return own_issue("out_of_scope", zh, en, table, source, row)


def _registry_source(table: str, frame: pd.DataFrame | None, row: int | None,
                     visible: Callable[[str], set[int] | None] = lambda t: None) -> str:
    """'registry/<table> (key=value, …)' for a stored record named by its row in ``frame``; a
    record the actor may not read is not named (its key would leak another tenant's data)."""
    if frame is None or row is None or not 0 <= row - 2 < len(frame):
        return f"登记库 registry/{table}"
    rec = frame.iloc[row - 2]
    seen = visible(table)
    if seen is not None and rec.get("pk") is not None and not pd.isna(rec.get("pk")) and int(rec["pk"]) not in seen:
        return f"登记库 registry/{table}（您无权查看的记录 / a record you may not see）"
    return f"登记库 registry/{table} ({', '.join(f'{k}={rec[k]}' for k in schema.key_columns(table))})"


def _integrity_issue(err: sa.exc.IntegrityError, table: str) -> dict:
    """A unique or foreign key violation met while writing: another writer got there first. The
    message names neither the other record nor its key (it may belong to another tenant)."""
    text = str(err.orig).lower()
    if "unique" in text or "duplicate" in text:
        return own_issue("duplicate", "已有相同键的记录（可能刚由他人创建），未写入",
                         "a record with the same key already exists (perhaps just created by someone else); "
                         "nothing was written", table, f"登记库 registry/{table}", None,
                         ", ".join(schema.key_columns(table)))
    return own_issue("referenced", "引用的记录已被删除或改名，或记录仍被引用（可能刚由他人修改），未写入",
                     "a record this change refers to was deleted or renamed, or a record still refers to this one "
                     "(perhaps just changed by someone else); nothing was written", table, f"登记库 registry/{table}")


def _write(db: Session, actor: Actor, plan: dict[str, _TablePlan], action: str) -> Applied:
    """Deletes first (referring tables before referred ones), then creates and updates (referred
    tables first), each kind as one batched statement; every update and delete names the row
    version it read, so a row changed meanwhile is never overwritten and the audit's "before" is
    the row actually replaced."""
    done = Applied()
    events: list[dict] = []
    prefix = f"{action}_" if action else ""
    now = utcnow()
    order = registry_order()
    pks: dict[str, list[int]] = {}
    table = ""
    try:
        for table in sorted(plan, key=order.index, reverse=True):
            tp, t = plan[table], REGISTRY[table]
            stored = tp.stored()
            for pk in tp.deleted:
                hit = db.execute(sa.delete(t).where(t.c.pk == pk, t.c[VERSION] == tp.versions[pk])).rowcount
                if hit != 1:
                    raise Rejected([stale_issue(table, pk)], status=412)
                events.append({"action": prefix + "delete", "object_type": table, "object_id": pk,
                               "before": stored[pk]})
                done.add(table, "deleted")
        for table in sorted(plan, key=order.index):
            tp, t = plan[table], REGISTRY[table]
            stored, records = tp.stored(), tp.new_records()
            out: list[int] = [0] * len(records)
            creates = [i for i in _self_ref_order(table, tp.new) if records[i]["pk"] is None]
            updates = [i for i in range(len(records)) if records[i]["pk"] is not None]
            if creates:
                rows = [{k: v for k, v in records[i].items() if k != "pk"} | {"updated_at": now} for i in creates]
                if _self_ref_order(table, tp.new) != list(range(len(records))):  # parents first, one by one
                    new_pks = [db.execute(sa.insert(t).values(**r).returning(t.c.pk)).scalar_one() for r in rows]
                else:
                    new_pks = list(db.execute(sa.insert(t).returning(t.c.pk, sort_by_parameter_order=True),
                                              rows).scalars())
                for i, new_pk in zip(creates, new_pks, strict=True):
                    out[i] = new_pk
                    rec = {k: v for k, v in records[i].items() if k != "pk"}
                    events.append({"action": prefix + "create", "object_type": table, "object_id": new_pk,
                                   "after": {"pk": new_pk, **rec, VERSION: 1}})
                    done.add(table, "created")
            if updates:
                cols = [c for c in records[updates[0]] if c != "pk"]
                stmt = (sa.update(t).where(t.c.pk == sa.bindparam("w_pk"), t.c[VERSION] == sa.bindparam("w_version"))
                        .values({c: sa.bindparam(f"v_{c}") for c in cols} | {
                            "updated_at": sa.bindparam("v_updated_at"), VERSION: sa.bindparam("v_next")}))
                params = []
                for i in updates:
                    pk = records[i]["pk"]
                    version = tp.versions[pk]
                    params.append({"w_pk": pk, "w_version": version, "v_updated_at": now, "v_next": version + 1,
                                   **{f"v_{c}": records[i][c] for c in cols}})
                hit = db.execute(stmt, params).rowcount
                if hit != len(updates):
                    first = tp.changes[updates[0]]
                    raise Rejected([stale_issue(table, None if len(updates) > 1 else records[updates[0]]["pk"],
                                                first.source)],
                                   status=409 if first.row is not None else 412)
                for i in updates:
                    pk = records[i]["pk"]
                    out[i] = pk
                    rec = {k: v for k, v in records[i].items() if k != "pk"}
                    events.append({"action": prefix + "update", "object_type": table, "object_id": pk,
                                   "before": stored[pk], "after": {"pk": pk, **rec, VERSION: tp.versions[pk] + 1}})
                    done.add(table, "updated")
            pks[table] = out
        audit.record_many(db, actor, events)
        db.flush()
    except sa.exc.IntegrityError as err:
        db.rollback()
        raise Rejected([_integrity_issue(err, table)], status=409) from err
    done.pks = [pk for table in plan for pk in pks[table]]
    return done


def _self_ref_order(table: str, new: pd.DataFrame) -> list[int]:
    """Positions of ``new`` with rows referred to by other new rows of the same table first
    (a province before its prefectures)."""
    selfrefs = [(c, rc) for c, rt, rc, _ in registry_foreign_keys(table) if rt == table]
    if not selfrefs or len(new) < 2:
        return list(range(len(new)))
    column, ref_column = selfrefs[0]
    pos = {v: i for i, v in enumerate(new[ref_column])}
    order: list[int] = []
    state: dict[int, int] = {}

    def visit(i: int) -> None:
        if state.get(i):
            return
        state[i] = 1
        parent = pos.get(new[column].iloc[i])
        if parent is not None and parent != i:
            visit(parent)
        order.append(i)

    for i in range(len(new)):
        visit(i)
    return order
