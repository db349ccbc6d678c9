"""The registry: read, search, change and export the scenario tables kept in the database.

Every change — one row from the API or pages, or a whole imported workbook — goes through
:func:`apply`: the new rows are coerced and checked by the scenario package's validators, the
registry as it would be afterwards is validated whole (references, keys, domain rules) with
``Scenario.from_tables``, the actor's row scope is checked, and only then is anything written,
in one transaction, with one audit event per changed row. Nothing is half-written.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from resynergy import schema
from resynergy.scenario import Scenario, ScenarioError
from resynergy.scenario.validate import check_refs
from resynergy.schema.coerce import RawTable, check_keys, coerce
from resynergy.schema.issues import Issue
from resynergy.services import access, audit
from resynergy.services.access import Actor, Denied
from resynergy.store.models import EXTRA_COLUMNS, REGISTRY, REGISTRY_TABLES, utcnow

# The column each table is filtered on by ?province= (tables with a site use the site's region).
_PROVINCE_COLUMN = {"regions": "code", "organisations": "region", "sites": "region", "targets": "region",
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
            "location_zh": issue.location("zh"), "location_en": issue.location("en")}


def own_issue(code: str, zh: str, en: str, table: str = "", source: str = "", row: int | None = None,
              column: str = "", value: object = None) -> dict:
    """An issue found by the platform itself (scope, conflicts), shaped like :func:`issue_dict`."""
    loc = Issue("required", table, source, row, column, value)  # only used for the location text
    return {"code": code, "table": table, "source": source, "row": row, "column": column,
            "value": None if value is None else str(value), "message_zh": zh, "message_en": en,
            "location_zh": loc.location("zh"), "location_en": loc.location("en")}


# ---- reading -----------------------------------------------------------------------------
def schema_columns(table: str) -> list[str]:
    return [c.name for c in schema.columns(table)]


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


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


def list_rows(db: Session, actor: Actor, table: str, *, province: str = "", material: str = "",
              year: int | None = None, site: str = "", q: str = "", limit: int = 50,
              offset: int = 0) -> tuple[list[dict], int]:
    """Rows the actor may read, filtered, newest key order, with the total before paging."""
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
        query = query.where(sa.or_(*(sa.func.lower(c).like(needle) for c in text_cols)))
    total = db.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = db.execute(query.order_by(t.c.pk).limit(limit).offset(offset)).mappings().all()
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
def apply(db: Session, actor: Actor, changes: list[Change], action: str = "") -> Applied:
    """Validate and write ``changes`` as one unit (see module docstring); raise Rejected or NotFound.

    ``action`` prefixes the audit actions (e.g. "import" gives import_create/import_update).
    """
    by_table: dict[str, list[Change]] = {}
    for ch in changes:
        if not access.can_write_registry(actor, ch.table, "create" if ch.op == "upsert" else ch.op):
            raise Denied(actor, f"{ch.op} {ch.table}")
        by_table.setdefault(ch.table, []).append(ch)
    current = frames(db)
    issues: list[dict] = []
    plan: dict[str, _TablePlan] = {}
    for table, chs in by_table.items():
        tp = _TablePlan.build(db, actor, table, chs, current[table])
        issues += tp.issues
        plan[table] = tp
    issues += _hidden_refs(db, actor, plan)
    if issues:
        raise Rejected(issues)
    merged = {t: (plan[t].merged() if t in plan else current[t]) for t in REGISTRY_TABLES}
    issues += _validate_whole(merged, plan, functools.cache(lambda t: _visible_pks(db, actor, t)))
    if issues:  # a delete that leaves references dangling conflicts with the data
        raise Rejected(issues, status=409 if all(c.op == "delete" for c in changes) else 422)
    for tp in plan.values():
        issues += tp.scope_issues(actor, current["sites"], merged["sites"])
    if issues:
        raise Rejected(issues, status=403)
    return _write(db, actor, plan, action)


@dataclass
class _TablePlan:
    table: str
    current: pd.DataFrame
    new: pd.DataFrame  # typed new/updated rows, with "pk" (None for new rows)
    raw: RawTable
    changes: list[Change]
    removed: set[int]  # pks deleted or replaced
    deleted: list[int]
    issues: list[dict]

    @classmethod
    def build(cls, db: Session, actor: Actor, table: str, changes: list[Change],
              current: pd.DataFrame) -> _TablePlan:
        issues: list[dict] = []
        visible = set(db.scalars(_scoped(actor, table, sa.select(REGISTRY[table].c.pk))).all())
        writes = [c for c in changes if c.op != "delete"]
        deleted = [c.pk for c in changes if c.op == "delete"]
        for ch in changes:
            if ch.op in ("update", "delete") and ch.pk not in visible:
                raise NotFound(f"{table} {ch.pk}")
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
        issues += [issue_dict(dataclasses.replace(i, row=None) if i.row in rowless else i) for i in found]
        typed = typed[cols].copy()
        for extra in extras:
            typed[extra] = [str((c.record or {}).get(extra, "") or "") for c in writes]
        keys = schema.key_columns(table)
        index = {tuple(r): int(pk) for pk, r in zip(current["pk"], current[keys].itertuples(index=False),
                                                    strict=True)}
        pks: list[int | None] = []
        for i, ch in enumerate(writes):
            if ch.op == "update":
                pks.append(ch.pk)
            elif ch.op == "upsert" and not found:
                pk = index.get(tuple(_plain(v) for v in typed.iloc[i][keys]))
                if pk is not None and pk not in visible:
                    issues.append(own_issue(
                        "key_taken", "该键已被您无权修改的记录使用", "this key is used by a record you may not change",
                        table, raw.source, ch.row, ", ".join(keys)))
                pks.append(pk)
            else:
                pks.append(None)
        typed["pk"] = pd.array(pks, dtype="Int64")
        removed = {int(p) for p in pks if p is not None} | set(deleted)
        return cls(table, current, typed, raw, writes, removed, deleted, issues)

    def merged(self) -> pd.DataFrame:
        """The table as it would be: new rows first (so issue rows map back), then the rest."""
        keep = self.current.loc[~self.current["pk"].isin(self.removed)]
        return pd.concat([self.new.astype(object), keep.astype(object)], ignore_index=True)

    def locate(self, issue: Issue, visible: Callable[[str], set[int] | None] = lambda t: None) -> Issue:
        """Point an issue on the merged table back at the uploaded row or the registry record."""
        def where(row: int | None) -> tuple[str, int | None]:
            if row is None:
                return self.raw.source, None
            i = row - 2
            if 0 <= i < len(self.new):
                return self.raw.source, (None if self.changes[i].row is None else self.raw.rows[i])
            return _registry_source(self.table, self.merged(), row, visible), None

        source, row = where(issue.row)
        params = dict(issue.params)
        if "other" in params and isinstance(params["other"], int):
            other_source, other_row = where(params["other"])
            params["other"] = other_row if other_row is not None else other_source
        return dataclasses.replace(issue, source=source, row=row, params=params)

    def scope_issues(self, actor: Actor, sites_before: pd.DataFrame, sites_after: pd.DataFrame) -> list[dict]:
        out = []
        for i in range(len(self.changes)):
            after = self.new.iloc[i].to_dict()
            before_ok = True
            if self.new["pk"].iloc[i] is not pd.NA:
                before = self.current.loc[self.current["pk"] == self.new["pk"].iloc[i]].iloc[0].to_dict()
                before_ok = access.may_write_row(actor, self.table, before, sites_before)
            if not (before_ok and access.may_write_row(actor, self.table, after, sites_after)):
                out.append(_scope_issue(actor, self.table, self.raw.source, self.changes[i].row))
        for pk in self.deleted:
            before = self.current.loc[self.current["pk"] == pk].iloc[0].to_dict()
            if not access.may_write_row(actor, self.table, before, sites_before):
                out.append(_scope_issue(actor, self.table, f"{self.table} #{pk}", None))
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


def _validate_whole(merged: dict[str, pd.DataFrame], plan: dict[str, _TablePlan],
                    visible: Callable[[str], set[int] | None] = lambda t: None) -> list[dict]:
    tables = {t: f[schema_columns(t)] for t, f in merged.items()}
    try:
        Scenario.from_tables(tables, name="registry")
    except ScenarioError as err:
        out = []
        for issue in err.issues:
            tp = plan.get(issue.table)
            out.append(issue_dict(tp.locate(issue, visible) if tp else dataclasses.replace(
                issue, source=_registry_source(issue.table, merged.get(issue.table), issue.row, visible),
                row=None)))
        return out
    return []


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


def _write(db: Session, actor: Actor, plan: dict[str, _TablePlan], action: str) -> Applied:
    done = Applied()
    events: list[dict] = []
    prefix = f"{action}_" if action else ""
    now = utcnow()
    for table, tp in plan.items():
        t = REGISTRY[table]
        for pk in tp.deleted:
            before = tp.current.loc[tp.current["pk"] == pk].iloc[0].to_dict()
            db.execute(sa.delete(t).where(t.c.pk == pk))
            events.append({"action": prefix + "delete", "object_type": table, "object_id": pk, "before": before})
            done.add(table, "deleted")
        for i in range(len(tp.new)):
            rec = {k: _plain(v) for k, v in tp.new.iloc[i].to_dict().items() if k != "pk"}
            pk = tp.new["pk"].iloc[i]
            if pk is pd.NA:
                new_pk = db.execute(sa.insert(t).values(**rec, updated_at=now).returning(t.c.pk)).scalar_one()
                events.append({"action": prefix + "create", "object_type": table, "object_id": new_pk,
                               "after": {"pk": new_pk, **rec}})
                done.add(table, "created")
            else:
                new_pk = int(pk)
                before = tp.current.loc[tp.current["pk"] == new_pk].iloc[0].to_dict()
                db.execute(sa.update(t).where(t.c.pk == new_pk).values(**rec, updated_at=now))
                events.append({"action": prefix + "update", "object_type": table, "object_id": new_pk,
                               "before": before, "after": {"pk": new_pk, **rec}})
                done.add(table, "updated")
            done.pks.append(new_pk)
    audit.record_many(db, actor, events)
    return done
