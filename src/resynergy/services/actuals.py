"""Actual flows on the platform: what moved, recorded once per manifest, read in scope, imported
all-or-nothing, and monitored against the targets with ``resynergy.monitor`` (the same figures
as ``resynergy monitor FILE``).

- :func:`record_flow`: one flow (a processed electronic manifest, 联单), counted once per
  manifest number — a second call with the same number changes nothing; audited; written with
  the caller's transaction (the manifest's processing commits both or neither).
- :func:`import_flows`: an XLSX sheet ``actual_flows`` or a CSV file, checked like a registry
  upload (types, ranges, the sites, materials and modes it names, formula cells, the writer's
  scope) and written all-or-nothing; manifests already recorded are skipped, not counted twice;
  rows without a manifest number are added as they are (nothing identifies a repeat of them).
- :func:`list_flows`, :func:`flows_frame`: in the reader's scope (``access.flows_filter``).
- :func:`monitor`: targets vs actuals by province, material and year, with the projection of
  :func:`resynergy.monitor.track.monitor`; a province-scoped reader sees its province's targets.
- :func:`for_run`: the flows a planning run fixes its past years to (``from_actuals``).
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from resynergy import catalog, schema
from resynergy.monitor.actuals import check_actual_flows, monitor_actuals, with_distances
from resynergy.monitor.track import status_lines
from resynergy.scenario import Scenario, ScenarioError
from resynergy.scenario import io as scenario_io
from resynergy.scenario.regions import province_code
from resynergy.schema.cells import plain, visible
from resynergy.schema.coerce import RawTable
from resynergy.services import access, audit, database, imports, registry
from resynergy.services.access import Actor, Denied
from resynergy.services.registry import Rejected, issue_dict, own_issue
from resynergy.services.settings import Settings
from resynergy.store.models import ACTUAL_FLOWS, REGISTRY, ImportRecord

TABLE = "actual_flows"
COLUMNS: tuple[str, ...] = tuple(c.name for c in schema.columns(TABLE))


# ---- checking ------------------------------------------------------------------------------
def _sites(db: Session, ids: set[str] | None = None) -> pd.DataFrame:
    """Registry sites (id, org_uscc, region), only ``ids`` when given."""
    s = REGISTRY["sites"]
    q = sa.select(s.c.id, s.c.org_uscc, s.c.region)
    if ids is not None:
        q = q.where(s.c.id.in_(sorted(ids)))
    return pd.DataFrame(db.execute(q).all(), columns=["id", "org_uscc", "region"])


def _check(db: Session, actor: Actor, raw: RawTable) -> tuple[pd.DataFrame, list[dict]]:
    """Typed rows and every issue, located: the core checks (schema types and ranges, the
    sites, materials and modes named), then the writer's scope row by row."""
    names = set(raw.frame.get("from_site", pd.Series(dtype=str)).astype(str)) | set(
        raw.frame.get("to_site", pd.Series(dtype=str)).astype(str))
    sites = _sites(db, names)
    tables = {"sites": sites, "materials": catalog.table("materials"), "modes": catalog.table("modes")}
    frame, found = check_actual_flows(raw, tables)
    issues = [issue_dict(i) for i in found]
    if issues:
        return frame, issues
    where = sites.set_index("id")
    for i, rec in enumerate(frame.to_dict("records")):
        ends = [(str(where.at[s, "org_uscc"]), str(where.at[s, "region"]))
                for s in (rec["from_site"], rec["to_site"])]
        if not access.may_record_flow(actor, ends):
            issues.append(own_issue(
                "scope", "您无权登记这条流向：起点和终点都不在您的范围（本企业站点或本省）内",
                "you may not record this flow: neither end is within your scope (your organisation's "
                "sites or your province)", TABLE, raw.source, raw.rows[i], "from_site", rec["from_site"]))
    return frame, issues


def _record(rec: dict[str, Any]) -> dict[str, Any]:
    out = {c: plain(rec.get(c)) for c in COLUMNS}
    d = out.get("distance_km")
    out["distance_km"] = None if d is None or (isinstance(d, float) and math.isnan(d)) else float(d)
    return out


def _counted(db: Session, manifests: list[str]) -> set[str]:
    """Manifest numbers already recorded."""
    wanted = sorted({m for m in manifests if m})
    if not wanted:
        return set()
    q = sa.select(ACTUAL_FLOWS.c.manifest).where(ACTUAL_FLOWS.c.manifest.in_(wanted))
    return {str(m) for m in db.scalars(q)}


def _insert(db: Session, rows: list[dict[str, Any]], actor: Actor) -> int:
    """Insert ``rows``; a manifest number already present (a concurrent writer) is skipped by
    the database itself (ON CONFLICT DO NOTHING), so it is never counted twice. Rows written."""
    if not rows:
        return 0
    values = [{**r, "created_by": actor.user_id, "created_at": _now()} for r in rows]
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    written = 0
    for v in values:  # one statement per row: each conflict is decided on its own row
        stmt = (insert(ACTUAL_FLOWS).values(**v).on_conflict_do_nothing(index_elements=["manifest"])
                .returning(ACTUAL_FLOWS.c.pk))  # a row back only when written (rowcount varies by driver)
        written += len(db.execute(stmt).all())
    return written


def _now():
    from resynergy.store.models import utcnow

    return utcnow()


# ---- recording -----------------------------------------------------------------------------
def record_flow(session: Session, actor: Actor, *, manifest: str, year: int, from_site: str,
                to_site: str, material: str, mode: str, t: float, distance_km: float | None,
                source: str) -> None:
    """Record one actual flow (a processed manifest). Idempotent per ``manifest``: a number
    already recorded changes nothing (and is not audited again). Raises :class:`Denied` out of
    scope and :class:`Rejected` (located issues, zh/en) for unknown sites, materials, modes or
    bad numbers. Written with the caller's transaction (no commit here)."""
    access.require(actor, access.FLOW_WRITERS, "record actual flow")
    manifest = str(manifest or "").strip()
    if manifest and _counted(session, [manifest]):
        return
    rec = {"manifest": manifest, "year": year, "from_site": from_site, "to_site": to_site,
           "material": material, "mode": mode or "", "t": t,
           "distance_km": "" if distance_km is None else distance_km, "source": source or ""}
    where = f"联单 manifest {manifest}" if manifest else "API"
    raw = RawTable.of(TABLE, pd.DataFrame([{k: "" if v is None else v for k, v in rec.items()}]), where)
    frame, issues = _check(session, actor, raw)
    if any(i["code"] == "scope" for i in issues):
        raise Denied(actor, "record actual flow")
    if issues:
        raise Rejected(issues)
    row = _record(frame.iloc[0].to_dict())
    if _insert(session, [row], actor):
        audit.record(session, actor, "create", "actual_flow", manifest or f"{from_site}->{to_site}", after=row)


# ---- importing -----------------------------------------------------------------------------
def import_flows(db: Session, actor: Actor, data: bytes, filename: str,
                 settings: Settings | None = None) -> imports.Outcome:
    """Import actual flows from an XLSX workbook (sheet ``actual_flows``, or its only sheet) or
    a CSV file, all-or-nothing, with the same located issues and error workbook as a registry
    import; the attempt is kept as an import record either way."""
    access.require(actor, access.FLOW_WRITERS, "import actual flows")
    settings = settings or Settings.from_env()
    filename = str(visible(Path(filename or "upload").name))[:200]
    suffix = Path(filename).suffix.lower()
    counts: dict = {}
    workbook = None
    with tempfile.TemporaryDirectory(prefix="resynergy-actuals-") as tmp:
        path = Path(tmp) / (f"{TABLE}.csv" if suffix == ".csv" else "upload.xlsx")
        issues: list[dict] = []
        if suffix not in imports.SUFFIXES:
            issues = [own_issue("unsupported", "仅接受 .xlsx 工作簿或 .csv 文件",
                                "only .xlsx workbooks or .csv files are accepted", source=filename)]
        else:
            path.write_bytes(data)
            raw, found = scenario_io.read_table(path, TABLE)
            issues = [issue_dict(i) for i in found]
            if raw is not None:
                scan = (imports._scan_xlsx(path, filename) if suffix == ".xlsx"
                        else imports._scan_csv(path, filename, TABLE))
                issues += imports.cap_issues(scan, filename)
                frame, more = _check(db, actor, raw)
                issues = registry.merge_issues(issues, more)
                issues += _repeated_manifests(frame, raw)
                if not issues and frame.empty:
                    issues = [own_issue("empty", "文件中没有实际流向记录（模板的示例行不计）",
                                        "the file holds no actual flow (the template's example row does not count)",
                                        TABLE, raw.source)]
                if not issues:
                    counts = _write(db, actor, frame, filename)
            elif not issues:
                issues = [own_issue("empty", "文件中没有可导入的表", "the file holds no table to import",
                                    source=filename)]
        issues = [_renamed(i, path.name, filename) for i in imports.cap_issues(issues, filename)]
        if issues:
            db.rollback()  # all or nothing
            counts = {}
            if path.is_file():
                workbook = imports.error_workbook(path, filename, issues)
    if workbook is not None and not imports._make_room(db, actor.user_id, len(workbook), settings):
        workbook = None
    rec = ImportRecord(user_id=actor.user_id, filename=filename, accepted=not issues, counts=counts,
                       issues=issues, error_workbook=workbook)
    db.add(rec)
    db.flush()
    audit.record(db, actor, "import" if not issues else "import_rejected", "actual_flows", rec.id,
                 after={"filename": filename, "counts": counts, "issues": len(issues)})
    db.commit()
    return imports.Outcome(rec, issues)


def _renamed(issue: dict, saved: str, original: str) -> dict:
    for key in ("source", "location_zh", "location_en"):
        if isinstance(issue.get(key), str):
            issue[key] = issue[key].replace(saved, original)
    return issue


def _repeated_manifests(frame: pd.DataFrame, raw: RawTable) -> list[dict]:
    """A manifest number given twice in one file: the second is an error (a manifest is one
    shipment, counted once)."""
    if frame.empty or "manifest" not in frame:
        return []
    m = frame["manifest"].astype(str)
    dup = (m != "") & m.duplicated()
    return [own_issue("duplicate_manifest", f"联单编号 {m.iloc[i]} 在文件中重复；每张联单只计一次",
                      f"manifest {m.iloc[i]} appears twice in the file; a manifest is counted once",
                      TABLE, raw.source, raw.rows[i], "manifest", m.iloc[i])
            for i in dup[dup].index]


def _write(db: Session, actor: Actor, frame: pd.DataFrame, filename: str) -> dict:
    rows = [_record(r) for r in frame.to_dict("records")]
    for r in rows:
        r["source"] = r["source"] or filename
    done = _counted(db, [r["manifest"] for r in rows])
    new = [r for r in rows if r["manifest"] not in done or not r["manifest"]]
    written = _insert(db, new, actor)
    audit.record_many(db, actor, [{"action": "create", "object_type": "actual_flow",
                                   "object_id": r["manifest"] or f"{r['from_site']}->{r['to_site']}",
                                   "after": r} for r in new])
    return {TABLE: {"created": written, "unchanged": len(rows) - written}}


# ---- reading -------------------------------------------------------------------------------
def _scoped(actor: Actor, query: sa.Select) -> sa.Select:
    access.require(actor, access.FLOW_READERS, "read actual flows")
    cond = access.flows_filter(actor, ACTUAL_FLOWS.c.from_site, ACTUAL_FLOWS.c.to_site)
    return query if cond is None else query.where(cond)


def list_flows(db: Session, actor: Actor, *, year: int | None = None, material: str = "",
               province: str = "", site: str = "", manifest: str = "", limit: int = 50,
               offset: int = 0) -> tuple[list[dict], int]:
    """Flows the actor may read, newest first, filtered (``province``: either end in it)."""
    f = ACTUAL_FLOWS
    q = _scoped(actor, sa.select(f))
    if year is not None:
        q = q.where(f.c.year == year)
    if material:
        q = q.where(f.c.material == material)
    if site:
        q = q.where(sa.or_(f.c.from_site == site, f.c.to_site == site))
    if manifest:
        q = q.where(f.c.manifest == manifest)
    if province:
        s = REGISTRY["sites"]
        inside = sa.select(s.c.id).where(sa.func.substr(s.c.region, 1, 2) == province[:2])
        q = q.where(sa.or_(f.c.from_site.in_(inside), f.c.to_site.in_(inside)))
    total = database.count(db, q)
    rows = db.execute(q.order_by(f.c.year.desc(), f.c.pk.desc()).limit(limit).offset(offset)).mappings().all()
    return [{k: plain(v) for k, v in dict(r).items() if k != "created_by"} for r in rows], total


def flows_frame(db: Session, actor: Actor) -> pd.DataFrame:
    """Every flow the actor may read, as the schema's ``actual_flows`` frame."""
    rows = db.execute(_scoped(actor, sa.select(*[ACTUAL_FLOWS.c[c] for c in COLUMNS]))
                      .order_by(ACTUAL_FLOWS.c.pk)).all()
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["distance_km"] = pd.to_numeric(frame["distance_km"], errors="coerce").astype(float)
    frame["t"] = frame["t"].astype(float)
    frame["year"] = frame["year"].astype(int)
    return frame


def registry_scenario(db: Session) -> Scenario:
    """The whole registry as a scenario (the targets, and the sites and regions flows are
    attributed by); Rejected with its issues when the registry does not validate."""
    frames = registry.frames(db)
    tables = {t: f[registry.schema_columns(t)] for t, f in frames.items()}
    try:
        return Scenario.from_tables(tables, name="registry")
    except ScenarioError as err:
        raise Rejected([issue_dict(i) for i in err.issues]) from None


def monitor(db: Session, actor: Actor) -> dict[str, Any]:
    """Targets vs actuals by province, material and year with the projection (the figures of
    ``resynergy monitor`` on the same flows and registry). Staff only; a province-scoped reader
    gets the targets of its province, evaluated on the flows touching it."""
    access.require(actor, access.STAFF, "monitor targets")
    scenario = registry_scenario(db)
    # #13: approved evaluations' utilized tonnes beyond the recorded ones (never counted twice)
    from resynergy.services import evaluation

    flows = with_distances(evaluation.with_verified(db, actor, flows_frame(db, actor)), scenario)
    m = monitor_actuals(flows, scenario)
    if actor.role != "admin" and actor.province:
        keep = m.table["region"].astype(str).map(province_code) == actor.province
        m.table = m.table.loc[keep].reset_index(drop=True)
        m.trajectory = m.trajectory.loc[m.trajectory["id"].isin(set(m.table["id"]))].reset_index(drop=True)
    from resynergy.report.labels import Names

    names = Names(scenario)
    return {
        "counts": m.counts(),
        "flows": len(flows), "tonnes": float(flows["t"].sum()) if len(flows) else 0.0,
        "evaluated_t": float(flows.loc[flows["source"] == "evaluation", "t"].sum()) if len(flows) else 0.0,
        "years": sorted(int(y) for y in flows["year"].unique()),
        "targets": json.loads(m.table.to_json(orient="records", force_ascii=False)),
        "trajectory": json.loads(m.trajectory.to_json(orient="records", force_ascii=False)),
        "summary_zh": status_lines(m, "zh", names), "summary_en": status_lines(m, "en", names),
        "notes": [{"zh": zh, "en": en} for zh, en in m.notes],
    }


def for_run(db: Session, actor: Actor) -> list[dict[str, Any]]:
    """The flows a planning run starts from (``from_actuals``): the actor's readable flows as
    records, stored with the run so the run can be repeated as it was."""
    frame = flows_frame(db, actor)
    return [{k: plain(v) for k, v in r.items()} for r in frame.to_dict("records")]


def attach(db: Session, actor: Actor, tables: dict[str, list[dict]], options: dict[str, Any],
           scenario_years: list[int]) -> dict[str, Any]:
    """A run's options with the stored flows it starts from (``from_actuals``): the actor's
    readable flows between sites of the run's scenario, compact, stored with the run so it can be
    repeated as it was; flows with an end outside the scenario cannot be fixed in it and are
    counted apart. Rejected (located) when no flow is left or a planned year up to ``through``
    has none."""
    sites = {str(r["id"]) for r in tables.get("sites", [])}
    every = for_run(db, actor)
    inside = [r for r in every if r["from_site"] in sites and r["to_site"] in sites]
    where = "运行选项 run options"
    if not inside:
        raise Rejected([own_issue("no_actuals", "没有可用的实际流向：本范围内尚无两端都在该情景中的流向记录",
                                  "no actual flows to start from: none recorded between sites of this scenario "
                                  "in your scope", "runs", where, None, "from_actuals", True)])
    through = options.get("actuals_through") or max(int(r["year"]) for r in inside)
    recorded = {int(r["year"]) for r in inside}
    planned = [y for y in (options.get("years") or scenario_years) if y <= through]
    if not planned:
        raise Rejected([own_issue("no_fixed_year", f"规划年份都晚于 {through} 年，没有可按实际固定的年份",
                                  f"every planned year is after {through}: no year to fix to the actual flows",
                                  "runs", where, None, "actuals_through", through)])
    missing = [y for y in planned if y not in recorded]
    if missing:
        shown = "、".join(map(str, missing))
        raise Rejected([own_issue("no_actuals_year", f"{shown} 年没有实际流向记录，不能按实际固定；请把截止年份改早",
                                  f"no actual flows recorded for {', '.join(map(str, missing))}: those years cannot "
                                  "be fixed to actuals; choose an earlier year", "runs", where, None,
                                  "actuals_through", through)])
    records = [[int(r["year"]), r["from_site"], r["to_site"], r["material"], float(r["t"]), r["manifest"] or ""]
               for r in inside]
    out = {k: v for k, v in options.items() if k != "actuals_through"}
    out["from_actuals"] = True
    out["actuals"] = {"through": int(through), "records": records, "outside": len(every) - len(inside)}
    return out


def run_actuals(options: dict[str, Any]) -> Any:
    """The planner's Actuals of a run's stored options (None when the run does not start from
    actuals)."""
    stored = options.get("actuals")
    if not options.get("from_actuals") or not stored:
        return None
    from resynergy.planner.actuals import Actuals

    frame = pd.DataFrame(stored["records"], columns=["year", "from_site", "to_site", "material", "t", "manifest"])
    outside = int(stored.get("outside", 0))
    source = "平台登记的实际流向 platform records" + (
        f"；{outside} 条一端在本情景之外，未固定 / {outside} with an end outside the scenario, not fixed"
        if outside else "")
    return Actuals.from_frame(frame, int(stored["through"]), source=source)


def options_for_run(db: Session, actor: Actor, tables: dict[str, list[dict]], options: dict[str, Any],
                    scenario_years: list[int]) -> dict[str, Any]:
    """A submitted run's options as stored: with its flows when ``from_actuals`` (see
    :func:`attach`), else without the actuals fields (runs that do not start from actuals keep
    the options they always had)."""
    if options.get("from_actuals"):
        return attach(db, actor, tables, options, scenario_years)
    return {k: v for k, v in options.items() if k not in ("from_actuals", "actuals_through")}
