"""Retired traction batteries on the platform (issue 14): event imports and pushes, a unit's
history, overdue uploads, test records with their triage decision, firm compliance and the
retirement forecast. The rules are the core's (``resynergy.batteries``); this module stores,
scopes and audits.

Scope. Every stored event and test carries the organisation that reported it (``org_uscc``, the
enterprise's own; for an administrator's upload, the registered organisation its ``actor`` names,
else none) and a province: that of the event's ``place`` when it is a GB/T 2260 code, else that
of the actor's registered organisation, else '' (seen only by unscoped staff). A unit takes the
province and organisation of its first reported event. Readers see the rows
:func:`resynergy.services.access.battery_filter` lets through; a unit is visible when one of its
events or tests is, and its tree (codes only: they are printed on the battery) comes with it.

Uploads are as safe as registry imports (services/imports.py): .csv or .xlsx only, under a
server-chosen name in a private folder, UTF-8 CSV with at most ``MAX_COLUMNS`` columns, zip bombs
and formula cells refused, every problem located (file, row, column, value) in zh and en, and
nothing written unless the whole file is accepted.
"""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from resynergy import catalog
from resynergy.batteries import codes, events, forecast, matching, triage
from resynergy.batteries.issues import BatteryIssue, ScenarioError
from resynergy.scenario import io as scenario_io
from resynergy.scenario.regions import province_code
from resynergy.schema import columns as schema_columns
from resynergy.schema.cells import plain, visible
from resynergy.schema.coerce import RawTable, coerce
from resynergy.services import access, audit, imports, registry, scenarios
from resynergy.services.access import Actor
from resynergy.services.registry import NotFound, Rejected, issue_dict, own_issue
from resynergy.store.models import (
    BATTERY_EVENTS,
    BATTERY_LINKS,
    BATTERY_TESTS,
    BATTERY_UNITS,
    REGISTRY,
    ScenarioSnapshot,
)

TABLE = events.TABLE
# Events per file: 10,000 take about 5 s to check and write on the reference machine; a larger
# export is split (the check holds the event write lock while it runs).
MAX_EVENTS = 50_000
EVENT_COLUMNS = tuple(c.name for c in schema_columns(TABLE))
TEST_COLUMNS = tuple(c.name for c in schema_columns(triage.TEST_TABLE))


def today() -> date:
    return date.today()


# ---- organisations and places ---------------------------------------------------------------
def _organisations(db: Session) -> dict[str, tuple[str, str]]:
    """uscc, Chinese name and English name → (uscc, province) of each registered organisation."""
    t = REGISTRY["organisations"]
    out: dict[str, tuple[str, str]] = {}
    for uscc, zh, en, region in db.execute(sa.select(t.c.uscc, t.c.name_zh, t.c.name_en, t.c.region)):
        for key in (uscc, zh, en):
            if key:
                out.setdefault(str(key).strip(), (uscc, province_code(region)))
    return out


def _owner(actor: Actor, name: str, orgs: dict[str, tuple[str, str]]) -> tuple[str | None, str]:
    """(organisation, its province) a row reported by ``actor`` naming ``name`` belongs to."""
    if actor.role == "enterprise":
        return actor.org_uscc, next((p for u, p in orgs.values() if u == actor.org_uscc), "")
    hit = orgs.get(str(name).strip())
    return (hit[0], hit[1]) if hit else (None, "")


def _names_own(actor: Actor, name: str, orgs: dict[str, tuple[str, str]]) -> bool:
    hit = orgs.get(str(name).strip())
    return hit is not None and hit[0] == actor.org_uscc


# ---- stored events as the core's frames -----------------------------------------------------
def _frame(rows: list[Any]) -> pd.DataFrame:
    cols = [*EVENT_COLUMNS, "when", "uploaded_on", "row", "id", "province", "org_uscc"]
    records = [{**{c: getattr(r, c) for c in EVENT_COLUMNS}, "when": pd.Timestamp(r.event_time),
                "uploaded_on": r.uploaded_on, "row": r.id, "id": r.id, "province": r.province,
                "org_uscc": r.org_uscc or ""} for r in rows]
    return pd.DataFrame(records, columns=cols)


def stored_history(db: Session, unit_codes: set[str]) -> pd.DataFrame:
    """Every stored event of these units (all of them, whoever may read them: the order rules
    need the whole history; it is reported as "the recorded history", never shown)."""
    if not unit_codes:
        return _frame([])
    found = db.execute(sa.select(BATTERY_EVENTS).where(BATTERY_EVENTS.c.unit_code.in_(sorted(unit_codes)))).all()
    return _frame(found)


def _normalise(code: object) -> str:
    parsed, _ = codes.check(str(code or ""))
    return parsed.raw if parsed else str(code or "").strip().upper()


# ---- writing events -------------------------------------------------------------------------
def _unit_ids(db: Session, actor: Actor, needed: dict[str, tuple[str | None, str]]) -> dict[str, int]:
    """Ids of the units with these codes, created (with the owner and province given) when new."""
    found = dict(db.execute(sa.select(BATTERY_UNITS.c.code, BATTERY_UNITS.c.id)
                            .where(BATTERY_UNITS.c.code.in_(sorted(needed)))).all())
    new = []
    for code, (org, province) in needed.items():
        if code in found:
            continue
        parsed = codes.parse(code)
        new.append({"code": code, "scheme": parsed.scheme, "level": parsed.level,
                    "battery_type": parsed.fields.get("battery_type", ""), "production_date": parsed.production_date,
                    "org_uscc": org or "", "province": province})
    if new:
        db.execute(sa.insert(BATTERY_UNITS), new)
        audit.record_many(db, actor, [{"action": "create", "object_type": "battery_unit", "object_id": r["code"],
                                       "after": r} for r in new])
        found.update(dict(db.execute(sa.select(BATTERY_UNITS.c.code, BATTERY_UNITS.c.id)
                                     .where(BATTERY_UNITS.c.code.in_([r["code"] for r in new]))).all()))
    return found


def _link_issues(db: Session, frame: pd.DataFrame, source: str) -> list[dict]:
    """A module or cell the file puts in a pack other than the one already recorded."""
    out = []
    parent = BATTERY_UNITS.alias("parent")
    child = BATTERY_UNITS.alias("child")
    wanted = events.links(frame)
    if not wanted:
        return []
    stored = dict(db.execute(
        sa.select(child.c.code, parent.c.code)
        .join(BATTERY_LINKS, BATTERY_LINKS.c.child_id == child.c.id)
        .join(parent, BATTERY_LINKS.c.parent_id == parent.c.id)
        .where(BATTERY_LINKS.c.kind == "part", child.c.code.in_([lk.child for lk in wanted]))).all())
    for lk in wanted:
        other = stored.get(lk.child)
        if other is not None and other != lk.parent:
            rows = frame[(frame["unit_code"] == lk.child) & (frame["parent_code"].str.strip().str.upper() == lk.parent)]
            issue = BatteryIssue("tree_two_parents", TABLE, source, int(rows["row"].iloc[0]), "parent_code", lk.parent,
                                 {"child": lk.child, "other": other, "parent": lk.parent})
            out.append(issue_dict(issue))
    return out


def _lock(db: Session) -> None:
    """Serialise event writes: the order rules read the stored history, which must not change
    between the check and the write (SQLite: the write lock now; PostgreSQL: a transaction
    advisory lock for battery events, released at commit or rollback)."""
    registry.begin_write(db)
    if db.get_bind().dialect.name == "postgresql":
        db.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('resynergy.battery_events'))"))


def _check_frame(db: Session, actor: Actor, raw: RawTable) -> tuple[pd.DataFrame, list[dict]]:
    """The coerced and checked events of ``raw`` (against the stored history), and every issue."""
    if raw.frame.empty:
        return raw.frame, [own_issue("empty", "文件中没有事件", "the file holds no events", TABLE, raw.source)]
    frame, found = coerce(raw)
    frame["row"] = list(raw.rows)
    issues = [issue_dict(i) for i in found]
    if issues:
        return frame, issues
    history = stored_history(db, {_normalise(c) for c in set(frame["unit_code"])})
    frame, found = events.check_events(frame, raw.source, history, today())
    issues = [issue_dict(i) for i in found]
    if actor.role == "enterprise":
        orgs = _organisations(db)
        for r in frame.itertuples(index=False):
            if not _names_own(actor, r.actor, orgs):
                issues.append(own_issue(
                    "actor_not_own", "实施单位应为本单位（统一社会信用代码或登记名称）：各单位只上报自己的事件",
                    "the actor must be your own organisation (its credit code or registered name): each "
                    "organisation reports its own events", TABLE, raw.source, int(r.row), "actor", r.actor))
    if not issues:
        issues += _link_issues(db, frame, raw.source)
    return frame, issues


def _store(db: Session, actor: Actor, frame: pd.DataFrame, how: str) -> dict[str, int]:
    """Write accepted events, their units and links; one audit entry per row written."""
    orgs = _organisations(db)
    dated = events.with_deadlines(frame, today())
    placed = []
    for r in dated.itertuples(index=False):
        org, org_province = _owner(actor, r.actor, orgs)
        placed.append((org, province_code(str(r.place)) or org_province))
    needed: dict[str, tuple[str | None, str]] = {}
    for (org, province), r in zip(placed, dated.itertuples(index=False), strict=True):
        for code in (r.unit_code, str(r.parent_code).strip().upper(), str(r.new_code).strip().upper()):
            if code:
                needed.setdefault(code, (org, province))
    ids = _unit_ids(db, actor, needed)
    rows = []
    for (org, province), r in zip(placed, dated.itertuples(index=False), strict=True):
        rec = {c: plain(getattr(r, c)) for c in EVENT_COLUMNS}
        rec.update(unit_code=r.unit_code, unit_id=ids[r.unit_code], event_time=pd.Timestamp(r.when).to_pydatetime(),
                   uploaded_on=r.uploaded_on, deadline=r.deadline, deadline_estimated=bool(r.deadline_estimated),
                   working_days=None if pd.isna(r.working_days) else int(r.working_days),
                   deadline_rules=r.rules, org_uscc=org or "", province=province)
        rows.append(rec)
    db.execute(sa.insert(BATTERY_EVENTS), rows)
    links = [(lk.parent, lk.child, "part") for lk in events.links(frame)]
    links += [(rc.original, rc.new, "recoded") for rc in events.recodings(frame)]
    have = {(p, c, k) for p, c, k in db.execute(
        sa.select(BATTERY_LINKS.c.parent_id, BATTERY_LINKS.c.child_id, BATTERY_LINKS.c.kind)
        .where(BATTERY_LINKS.c.child_id.in_([ids[c] for _, c, _ in links])))} if links else set()
    new_links = [{"parent_id": ids[p], "child_id": ids[c], "kind": k} for p, c, k in dict.fromkeys(links)
                 if (ids[p], ids[c], k) not in have]
    if new_links:
        db.execute(sa.insert(BATTERY_LINKS), new_links)
    audit.record_many(db, actor, [{"action": how, "object_type": "battery_event", "object_id": r["unit_code"],
                                   "after": r} for r in rows] +
                      [{"action": how, "object_type": "battery_link", "object_id": str(lk["child_id"]), "after": lk}
                       for lk in new_links])
    return {"events": len(rows), "units": len(needed), "links": len(new_links)}


def _store_once(db: Session, actor: Actor, frame: pd.DataFrame, how: str) -> dict[str, int]:
    """:func:`_store`, or 409 when another request created the same unit or link meanwhile
    (the unique code / link constraint refused the second writer; nothing of this one is kept)."""
    try:
        return _store(db, actor, frame, how)
    except sa.exc.IntegrityError:
        db.rollback()
        raise Rejected([own_issue("conflict", "同一电池的记录正被同时写入，未保存；请重新提交",
                                  "records of the same battery were being written at the same time; nothing "
                                  "was saved: send again", TABLE)], status=409) from None


def push_events(db: Session, actor: Actor, records: list[dict], source: str = "API") -> dict[str, int]:
    """Events sent by a system (rows numbered from 1 in the order sent), all or nothing;
    :class:`Rejected` lists every located problem."""
    access.require(actor, access.BATTERY_WRITERS, "push battery events")
    frame = pd.DataFrame([{k: v for k, v in r.items() if v is not None} for r in records])
    issues = [imports._formula_issue(source, i + 1, k, v, TABLE) for i, r in enumerate(records)  # noqa: SLF001
              for k, v in r.items() if imports._formula_like(v)]  # noqa: SLF001
    if issues:
        raise Rejected(issues)
    _lock(db)
    frame, issues = _check_frame(db, actor, RawTable.of(TABLE, frame, source, first_row=1))
    if issues:
        db.rollback()
        raise Rejected(imports.cap_issues(issues, source))
    counts = _store_once(db, actor, frame, "push")
    db.commit()
    return counts


def import_events(db: Session, actor: Actor, data: bytes, filename: str) -> dict[str, int]:
    """A CSV or XLSX event file, all or nothing (:class:`Rejected` lists every problem, located
    by file or sheet, row, column and value); the attempt is audited either way."""
    access.require(actor, access.BATTERY_WRITERS, "import battery events")
    filename = str(visible(Path(filename or "upload").name))[:200]
    suffix = Path(filename).suffix.lower()
    issues: list[dict] = []
    frame = pd.DataFrame()
    with tempfile.TemporaryDirectory(prefix="resynergy-batteries-") as tmp:
        path = Path(tmp) / f"{TABLE}{suffix}"
        if suffix not in imports.SUFFIXES:
            issues = [own_issue("unsupported", "仅接受 .xlsx 工作簿或 .csv 文件", "only .xlsx workbooks or .csv files are accepted",
                                source=filename)]
        else:
            path.write_bytes(data)
            issues = _readable(data, suffix, filename)
        if not issues:
            raw, found = scenario_io.read_table(path, TABLE)
            issues = [issue_dict(i) for i in found]
            if raw is not None and len(raw.frame) > MAX_EVENTS:
                issues.append(own_issue("too_many_rows", f"事件过多：{len(raw.frame)} 行（每个文件最多 {MAX_EVENTS} 行），请分成几个文件导入",
                                        f"too many events: {len(raw.frame)} rows (at most {MAX_EVENTS} per file); split the file",
                                        TABLE, filename, value=len(raw.frame)))
            elif raw is not None:
                issues += imports.formula_issues(path, filename, TABLE)
                if not issues:
                    _lock(db)
                    frame, issues = _check_frame(db, actor, raw)
        issues = [_renamed(i, path.name, filename) for i in imports.cap_issues(issues, filename)]
    if issues:
        db.rollback()
        audit.record(db, actor, "import_rejected", "battery_events", filename, after={"issues": len(issues)})
        db.commit()
        raise Rejected(issues)
    counts = _store_once(db, actor, frame, "import")
    audit.record(db, actor, "import", "battery_events", filename, after=counts)
    db.commit()
    return counts


def _readable(data: bytes, suffix: str, filename: str) -> list[dict]:
    if suffix != ".csv":
        return []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [own_issue("encoding", "CSV 文件应为 UTF-8 编码", "the CSV file must be UTF-8 encoded", source=filename)]
    width = len(next(csv.reader(io.StringIO(text)), []))
    if width > imports.MAX_COLUMNS:
        return [own_issue("too_many_columns", f"列数过多：{width} 列（最多 {imports.MAX_COLUMNS} 列）",
                          f"too many columns: {width} (at most {imports.MAX_COLUMNS})", TABLE, filename, 1, value=width)]
    return []


def _renamed(issue: dict, saved: str, original: str) -> dict:
    for key in ("source", "location_zh", "location_en"):
        if isinstance(issue.get(key), str):
            issue[key] = issue[key].replace(saved, original)
    return issue


# ---- reading ----------------------------------------------------------------------------------
def code_issues(code: str) -> codes.BatteryCode:
    """The parsed code, or :class:`Rejected` with its located problems (zh and en)."""
    parsed, found = codes.check(code)
    if parsed is None:
        raise Rejected([issue_dict(i) for i in found])
    return parsed


def _visible(actor: Actor, table: sa.Table) -> list[sa.ColumnElement[bool]]:
    where = access.battery_filter(actor, table)
    return [] if where is None else [where]


def _event_dicts(db: Session, actor: Actor, unit_codes: list[str], lang: str) -> list[dict]:
    rows = db.execute(sa.select(BATTERY_EVENTS).where(BATTERY_EVENTS.c.unit_code.in_(unit_codes),
                                                      *_visible(actor, BATTERY_EVENTS))).all()
    frame = _frame(list(rows))
    if frame.empty:
        return []
    dated = events.with_deadlines(frame, today()).sort_values(["when", "row"], kind="stable")
    return [_event_out(r, lang) for r in dated.to_dict("records")]


def _event_out(r: dict, lang: str) -> dict:
    kind = events.event_types().get(r["event"])
    return {"id": int(r["id"]), "unit_code": r["unit_code"], "event": r["event"],
            "event_text": (kind.zh if lang == "zh" else kind.en) if kind else r["event"],
            "time": pd.Timestamp(r["when"]).isoformat(), "actor": r["actor"], "actor_role": r["actor_role"],
            "place": r["place"], "province": r["province"], "vin": r["vin"], "certificate": r["certificate"],
            "counterparty": r["counterparty"], "new_code": r["new_code"], "parent_code": r["parent_code"],
            "mass_kg": plain(r["mass_kg"]), "uploaded_on": r["uploaded_on"].isoformat() if r["uploaded_on"] else None,
            "deadline": r["deadline"].isoformat() if isinstance(r["deadline"], date) else None,
            "deadline_estimated": bool(r["deadline_estimated"]),
            "working_days": None if pd.isna(r["working_days"]) else int(r["working_days"]),
            "status": r["status"], "days_late": None if pd.isna(r["days_late"]) else int(r["days_late"]),
            "rules": r["rules"], "note": r["note"]}


def _test_out(r: Any, lang: str) -> dict:
    d = dict(r.decision.get(lang) or r.decision.get("zh") or {})
    return {"id": r.id, "unit_code": r.unit_code, "tested_on": r.tested_on, "lab": r.lab, "soh": r.soh,
            "resistance_ratio": r.resistance_ratio, "outcome": r.outcome, "decision": d,
            "created_at": r.created_at.isoformat()}


def _unit_visible(db: Session, actor: Actor, unit_id: int) -> bool:
    if access.battery_filter(actor, BATTERY_EVENTS) is None:
        return True
    for t in (BATTERY_EVENTS, BATTERY_TESTS):
        if db.scalar(sa.select(sa.func.count()).select_from(t).where(t.c.unit_id == unit_id, *_visible(actor, t))):
            return True
    return False


def unit(db: Session, actor: Actor, code: str, lang: str = "zh") -> dict:
    """A unit's code fields, its tree (pack → module → cell, and re-coded products both ways),
    its events in time order with upload deadline and status, and its tests with decisions.
    422 (:class:`Rejected`) for a code that does not parse; :class:`NotFound` for a unit not
    recorded or not visible to ``actor``."""
    if actor.role not in access.BATTERY_READERS or not actor.signed_in:
        raise access.Denied(actor, "read batteries")
    parsed = code_issues(code)
    row = db.execute(sa.select(BATTERY_UNITS).where(BATTERY_UNITS.c.code == parsed.raw)).first()
    if row is None or not _unit_visible(db, actor, row.id):
        raise NotFound(f"battery {parsed.raw}")
    code_of = lambda ids: dict(db.execute(sa.select(BATTERY_UNITS.c.id, BATTERY_UNITS.c.code)  # noqa: E731
                                          .where(BATTERY_UNITS.c.id.in_(ids))).all())
    ancestors, node = [], row.id
    for _ in range(len(codes.LEVELS)):
        up = db.scalar(sa.select(BATTERY_LINKS.c.parent_id).where(BATTERY_LINKS.c.child_id == node,
                                                                  BATTERY_LINKS.c.kind == "part"))
        if up is None:
            break
        ancestors.append(up)
        node = up
    children: dict[int, list[int]] = {}
    todo = [row.id]
    for _ in range(len(codes.LEVELS)):
        if not todo:
            break
        found = db.execute(sa.select(BATTERY_LINKS.c.parent_id, BATTERY_LINKS.c.child_id)
                           .where(BATTERY_LINKS.c.parent_id.in_(todo), BATTERY_LINKS.c.kind == "part")
                           .order_by(BATTERY_LINKS.c.id)).all()
        for p, c in found:
            children.setdefault(p, []).append(c)
        todo = [c for _, c in found]
    recoded = db.execute(sa.select(BATTERY_LINKS.c.parent_id, BATTERY_LINKS.c.child_id).where(
        BATTERY_LINKS.c.kind == "recoded",
        sa.or_(BATTERY_LINKS.c.parent_id == row.id, BATTERY_LINKS.c.child_id == row.id))).all()
    ids = {row.id, *ancestors, *children, *(c for cs in children.values() for c in cs),
           *(i for pair in recoded for i in pair)}
    names = code_of(list(ids))

    def subtree(uid: int) -> dict:
        return {"code": names[uid], "level": names[uid][3] if len(names[uid]) >= 4 else "",
                "children": [subtree(c) for c in children.get(uid, [])]}

    related = [names[i] for pair in recoded for i in pair]
    tests = db.execute(sa.select(BATTERY_TESTS).where(BATTERY_TESTS.c.unit_code.in_([parsed.raw, *related]),
                                                      *_visible(actor, BATTERY_TESTS))
                       .order_by(BATTERY_TESTS.c.id.desc())).all()
    layout = codes.default_rules().layout(len(parsed.raw))
    labelled = [{"name": f.name, "label": f.zh if lang == "zh" else f.en, "positions": f.positions(),
                 "value": parsed.fields[f.name]} for f in (layout.fields if layout else ())]
    return {"unit": parsed.as_dict(lang=lang), "fields": labelled, "province": row.province,
            "ancestors": [names[a] for a in reversed(ancestors)], "tree": subtree(row.id),
            "recoded_from": [names[p] for p, c in recoded if c == row.id],
            "recoded_to": [names[c] for p, c in recoded if p == row.id],
            "events": _event_dicts(db, actor, sorted({parsed.raw, *related}), lang),
            "tests": [_test_out(t, lang) for t in tests]}


def overdue(db: Session, actor: Actor, as_of: date | None = None, lang: str = "zh", limit: int = 500) -> list[dict]:
    """Events not uploaded by their working-day deadline (overdue) or uploaded after it (late),
    most late first, within what ``actor`` may read (a regulator: its province)."""
    if actor.role not in access.BATTERY_READERS or not actor.signed_in:
        raise access.Denied(actor, "read batteries")
    as_of = as_of or today()
    e = BATTERY_EVENTS
    # a stored estimated deadline (counted Monday–Friday) may be stale once that year's holiday
    # notice is installed: those rows are always read, and with_deadlines below recounts them
    late = sa.or_(sa.and_(e.c.uploaded_on.is_(None), e.c.deadline < as_of), e.c.uploaded_on > e.c.deadline,
                  e.c.deadline_estimated)
    rows = db.execute(sa.select(e).where(late, *_visible(actor, e)).order_by(e.c.deadline).limit(limit)).all()
    frame = _frame(list(rows))
    if frame.empty:
        return []
    return [_event_out(r, lang) for r in events.overdue(events.with_deadlines(frame, as_of), as_of).to_dict("records")]


# ---- tests and triage -------------------------------------------------------------------------
def record_test(db: Session, actor: Actor, record: dict, source: str = "API", lang: str = "zh") -> dict:
    """Store one test record and its triage decision (reuse / repurpose / recycle, with the rules
    that decided and their sources). The unit must be recorded and visible to ``actor``."""
    access.require(actor, access.BATTERY_WRITERS, "record battery test")
    rec = {k: v for k, v in record.items() if v is not None}
    bad = [imports._formula_issue(source, 1, k, v, triage.TEST_TABLE) for k, v in rec.items()  # noqa: SLF001
           if imports._formula_like(v)]  # noqa: SLF001
    if bad:
        raise Rejected(bad)
    frame, found = coerce(RawTable.of(triage.TEST_TABLE, pd.DataFrame([rec]), source, first_row=1))
    issues = [issue_dict(i) for i in found]
    parsed, bad_code = codes.check(str(frame["unit_code"].iloc[0] or ""))
    issues += [issue_dict(BatteryIssue(i.code, triage.TEST_TABLE, source, 1, "unit_code", i.value, i.params))
               for i in bad_code]
    if issues:
        raise Rejected(issues)
    assert parsed is not None
    row = db.execute(sa.select(BATTERY_UNITS).where(BATTERY_UNITS.c.code == parsed.raw)).first()
    if row is None or not _unit_visible(db, actor, row.id):
        raise NotFound(f"battery {parsed.raw}")
    test = {c: plain(v) for c, v in frame.iloc[0].items() if c in TEST_COLUMNS}
    test["unit_code"] = parsed.raw
    decision = triage.decide(test)
    org, province = _owner(actor, str(test.get("lab", "")), _organisations(db))
    out = {**test, "unit_id": row.id, "outcome": decision.outcome,
           "decision": {"zh": decision.as_dict("zh"), "en": decision.as_dict("en")},
           "org_uscc": org or "", "province": province or row.province}
    tid = db.execute(sa.insert(BATTERY_TESTS).values(**out).returning(BATTERY_TESTS.c.id)).scalar_one()
    audit.record(db, actor, "create", "battery_test", tid, after=out)
    db.commit()
    return {"id": tid, **decision.as_dict(lang)}


def triage_results(db: Session, actor: Actor, lang: str = "zh", limit: int = 200) -> list[dict]:
    """Recorded tests and their decisions, newest first, within the actor's scope."""
    if actor.role not in access.BATTERY_READERS or not actor.signed_in:
        raise access.Denied(actor, "read batteries")
    rows = db.execute(sa.select(BATTERY_TESTS).where(*_visible(actor, BATTERY_TESTS))
                      .order_by(BATTERY_TESTS.c.id.desc()).limit(limit)).all()
    return [_test_out(r, lang) for r in rows]


def compliance(db: Session, actor: Actor) -> dict[str, list[dict]]:
    """Cascade users' reuse rate and recyclers' element recoveries per firm and year, from the
    events ``actor`` may read, against the norms (the 60 % reuse norm is a 2024 draft)."""
    if actor.role not in access.BATTERY_READERS or not actor.signed_in:
        raise access.Denied(actor, "read batteries")
    e = BATTERY_EVENTS
    rows = db.execute(sa.select(e).where(e.c.event.in_(("received", "cascade_made", "recycled")),
                                         *_visible(actor, e))).all()
    frame = _frame(list(rows))
    if frame.empty:
        return {"cascade": [], "recovery": []}
    cascade, recovery = triage.compliance_batches(frame)
    out = {}
    for name, table in (("cascade", triage.cascade_compliance(cascade) if len(cascade) else None),
                        ("recovery", triage.recovery_compliance(recovery) if len(recovery) else None)):
        out[name] = [] if table is None else [{k: plain(v) for k, v in r.items()} for r in table.to_dict("records")]
    return out


# ---- forecast ---------------------------------------------------------------------------------
@lru_cache(maxsize=4)
def _forecast(to: int, draws: int) -> forecast.Forecast:
    return forecast.run(to=to, draws=draws)


def forecast_rows(province: str = "", chemistry: str = "", year: int | None = None, to: int = 2035,
                  draws: int = 500, lang: str = "zh") -> dict:
    """Retired mass (t) by province, chemistry and year with 5/50/95 % bands (a Monte Carlo over
    the parameter ranges; inputs and their sources in resynergy/batteries/data). Computed on
    request (about a second for 500 draws) and kept in memory: it depends only on shipped data."""
    f = _forecast(to, draws)
    t = f.table
    if province:
        t = t[t["province"] == province]
    if chemistry:
        t = t[t["chemistry"] == chemistry]
    if year is not None:
        t = t[t["year"] == year]
    names = forecast.province_shares()["name_zh" if lang == "zh" else "name_en"]
    rows = [{**{k: plain(v) for k, v in r.items()}, "province_name": names.get(r["province"], r["province"])}
            for r in t.to_dict("records")]
    return {"rows": rows, "summary": f.summary(lang), "draws": f.draws, "seed": f.seed,
            "provinces": [{"code": c, "name": n} for c, n in names.items()], "chemistries": list(forecast.CHEMISTRIES),
            "source": "resynergy.batteries.forecast; data/nev_national.csv, province_shares.csv, province_share_years.csv, forecast_params.csv "
                      "(sources and V/S/U tags in each row; provincial shares and lifetimes mostly estimates [U])"}


def as_of_date(text: str) -> date | None:
    """A YYYY-MM-DD date, or None when empty; ValueError otherwise."""
    return datetime.strptime(text, "%Y-%m-%d").date() if text else None


__all__ = ["ScenarioError", "code_issues", "compliance", "forecast_rows", "import_events", "matches", "overdue",
           "push_events", "record_test", "stored_history", "triage_results", "unit"]


def forecast_figure(lang: str = "zh", to: int = 2035, draws: int = 500) -> dict:
    """Plotly figure (JSON-ready): retired mass by province and year (central lines, stacked
    nowhere), and the regional total's 5–95 % band, in thousand tonnes."""
    f = _forecast(to, draws)
    zh = lang == "zh"
    names = forecast.province_shares()["name_zh" if zh else "name_en"]
    by = f.table.groupby(["province", "year"], as_index=False)["retired_t"].sum()
    data: list[dict] = []
    for p, g in by.groupby("province"):
        data.append({"type": "scatter", "mode": "lines", "name": names.get(p, p), "x": g["year"].tolist(),
                     "y": (g["retired_t"] / 1e3).round(2).tolist()})
    tot = f.totals()
    band = "全区域 90% 区间" if zh else "region, 90 % band"
    data.append({"type": "scatter", "mode": "lines", "name": band, "x": tot["year"].tolist(),
                 "y": (tot["p95_t"] / 1e3).round(2).tolist(), "line": {"width": 0}, "showlegend": False,
                 "yaxis": "y2"})
    data.append({"type": "scatter", "mode": "lines", "name": band, "x": tot["year"].tolist(),
                 "y": (tot["p05_t"] / 1e3).round(2).tolist(), "fill": "tonexty", "line": {"width": 0},
                 "fillcolor": "rgba(120,120,120,0.25)", "yaxis": "y2"})
    data.append({"type": "scatter", "mode": "lines", "name": "全区域（右轴）" if zh else "region (right axis)",
                 "x": tot["year"].tolist(), "y": (tot["retired_t"] / 1e3).round(2).tolist(),
                 "line": {"dash": "dash", "color": "#444"}, "yaxis": "y2"})
    title = "退役动力电池预测（千吨/年）" if zh else "Retired traction batteries (kt per year)"
    return {"data": data, "layout": {
        "title": {"text": title}, "xaxis": {"title": {"text": "年份" if zh else "year"}},
        "yaxis": {"title": {"text": "分省（千吨）" if zh else "by province (kt)"}},
        "yaxis2": {"title": {"text": "全区域（千吨）" if zh else "region (kt)"}, "overlaying": "y", "side": "right"},
        "legend": {"orientation": "h"}, "margin": {"t": 50}}}


# ---- matching (issue 14 item 4) ----------------------------------------------------------------
def _where(db: Session, events_frame: pd.DataFrame) -> dict[str, str]:
    """The registry site each unit is at: a site of the organisation that reported its latest
    event, in that event's region when it has one there ('' when the organisation has no site)."""
    sites = REGISTRY["sites"]
    by_org: dict[str, list[tuple[str, str]]] = {}
    for sid, org, region in db.execute(sa.select(sites.c.id, sites.c.org_uscc, sites.c.region).order_by(sites.c.id)):
        by_org.setdefault(org, []).append((sid, region))
    out = {}
    for code, unit_events in events_frame.sort_values(["when", "row"]).groupby("unit_code"):
        last = unit_events.iloc[-1]
        options = by_org.get(str(last["org_uscc"]), [])
        here = [s for s, region in options if region == str(last["place"])]
        out[str(code)] = (here or [s for s, _ in options] or [""])[0]
    return out


def matches(db: Session, actor: Actor, lang: str = "zh") -> list[dict]:
    """Each triaged unit the actor may read (its latest test), not yet recycled, matched to a
    second-life demand or a licensed recycler by the lowest delivered cost
    (:func:`resynergy.batteries.matching.match`; capacities not reserved)."""
    rows = triage_results(db, actor, lang, limit=2000)
    latest = {r["unit_code"]: r for r in reversed(rows)}  # newest test of each unit wins
    if not latest:
        return []
    history = stored_history(db, set(latest))
    done = set(history.loc[history["event"] == "recycled", "unit_code"])
    todo = {c: r for c, r in latest.items() if c not in done}
    if not todo:
        return []
    where = _where(db, history)
    mass = {c: db.scalar(sa.select(BATTERY_TESTS.c.mass_kg).where(BATTERY_TESTS.c.id == r["id"])) for c, r in todo.items()}
    last_mass = history.dropna(subset=["mass_kg"]).sort_values("when").groupby("unit_code")["mass_kg"].last()
    batches = pd.DataFrame([{"unit_code": c, "outcome": r["outcome"], "site": where.get(c, ""),
                             "mass_kg": mass[c] if mass[c] is not None else last_mass.get(c, 0.0)}
                            for c, r in todo.items()])
    tables = registry.frames(db)
    out = matching.match(batches, tables["sites"], catalog.table("modes"), tables["demands"], tables["facilities"])
    names = dict(zip(tables["sites"]["id"], tables["sites"]["name_zh" if lang == "zh" else "name_en"], strict=True))
    return [{**{k: plain(v) for k, v in r.items()}, "to_name": names.get(r["to_site"], ""),
             "reason": r["reason_zh"] if lang == "zh" else r["reason_en"]} for r in out.to_dict("records")]


# ---- the forecast in a scenario ---------------------------------------------------------------
def apply_forecast(db: Session, actor: Actor, scenario_id: int, years: list[int] | None = None,
                   collection_rate: float = 1.0) -> tuple[Any, int]:
    """A new scenario version (same name + "电池预测", next version) whose retired-battery supplies
    for ``years`` (default: the snapshot's years) come from the forecast
    (:func:`resynergy.batteries.forecast.apply_to_scenario`): (snapshot, rows replaced).
    Editors only, on a scenario they may read; :class:`Rejected` with the reason when the
    scenario has a province with forecast mass and no battery site, or a year the forecast lacks."""
    access.require(actor, access.EDITORS, "apply battery forecast")
    snap = scenarios.get(db, actor, scenario_id)
    tables = db.scalar(sa.select(ScenarioSnapshot.tables).where(ScenarioSnapshot.id == snap.id)) or {}
    try:
        scenario = scenarios.to_scenario(tables, snap.name)
        years = sorted(set(years or scenario.years))
        new = forecast.apply_to_scenario(scenario, _forecast(2035, 500), years, collection_rate)
    except ScenarioError as err:
        raise Rejected([issue_dict(i) for i in err.issues]) from None
    except ValueError as err:
        raise Rejected([own_issue("forecast_apply", f"无法用预测替换退役电池供给：{err}",
                                  f"cannot replace the retired-battery supplies with the forecast: {err}",
                                  "supplies", f"scenario {snap.id}", column="generation_t")]) from None
    out = {t: [{k: plain(v) for k, v in r.items()} for r in new.table(t).to_dict("records")]
           for t in tables}
    name = f"{snap.name[:100]} + 电池预测"
    latest = db.scalar(sa.select(sa.func.max(ScenarioSnapshot.version)).where(ScenarioSnapshot.name == name)) or 0
    changed = int((new.table("supplies")["material"] == forecast.MATERIAL).sum())
    made = ScenarioSnapshot(name=name, version=latest + 1, created_by=actor.user_id, province=snap.province,
                            description=f"scenario {snap.id} with retired-battery supplies for {years} from "
                                        f"resynergy.batteries.forecast (collection rate {collection_rate:g})",
                            digest=scenarios.digest(out), tables=out, rows={t: len(r) for t, r in out.items()})
    db.add(made)
    db.flush()
    audit.record(db, actor, "create", "scenario", made.id, after={
        "name": name, "version": made.version, "from": snap.id, "years": years, "collection_rate": collection_rate})
    db.commit()
    return made, changed


def scenario_choices(db: Session, actor: Actor) -> list[dict]:
    """The scenario versions an editor may write the forecast into (newest first)."""
    items, _ = scenarios.listing(db, actor, limit=50)
    return [{"id": s.id, "name": s.name, "version": s.version} for s in items]
