"""Enterprise evaluations on the platform (#13 items 3, 5): ledgers, the evaluation workflow,
evidence files, eligibility, the regional view and the evaluated tonnes the monitor counts.

The rules live in the core (``resynergy.evaluation``: ``read_ledger``, ``ledger_from_flows``,
``Period``, ``assess``) and the printable report in ``resynergy.report.evaluation``
(``render_evaluation``); this module adds who may do what, the database and the audit log, and
never restates a rule.

Workflow (工信部公告2018年第26号 procedure; ``EvaluationState``)::

    draft ──submit──▶ submitted ──approve──▶ approved ──file──▶ filed ──publish──▶ published
      ▲                  │  ▲
      │   request_corrections │ submit
      │                  ▼  │
      └──────── corrections_requested
    approved | filed | published ──revise──▶ a new version (draft) of the same period

- The firm (an enterprise user of the organisation; the admin for anyone) drafts, submits,
  files and revises; the evaluator it chose (a user of role ``evaluator`` listed for the firm's
  province) asks for corrections or approves; the departments of the firm's province (regulator,
  planner; the admin) publish. Every step is an ``evaluation_events`` row and an audit event.
- Approval recomputes the assessment from the stored ledger and freezes it (JSON), the report
  (HTML, ``render_evaluation``) and their totals on the row; a ledger whose mass balance fails
  cannot be approved (design checklist §6 item 6: a failed balance blocks the report). From then
  on the version never changes except by filing and publication; a correction is a new version.
- Every write names the row version it read: a version changed meanwhile is never overwritten
  (412), so of two reviewers approving the same version one wins.
- Visibility: the firm its own; the evaluator the applications sent to it; the departments of
  the firm's province from approval on, and (mutual recognition) every province's departments
  once filed; the public the published list only.

Functions raise ``registry.Rejected`` (located zh/en issues; 409 illegal steps, 412 stale
versions, 413 too large, 422 bad input), ``registry.NotFound`` (404) and ``access.Denied``.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from resynergy import catalog
from resynergy import evaluation as core
from resynergy.scenario import ScenarioError
from resynergy.scenario import io as scenario_io
from resynergy.scenario.regions import province_code
from resynergy.schema.cells import formula_like, plain, visible
from resynergy.services import access, accounts, actuals, audit, database, imports
from resynergy.services.access import Actor, Denied
from resynergy.services.registry import NotFound, Rejected, begin_write, issue_dict, own_issue
from resynergy.services.settings import Settings
from resynergy.states import EDITABLE_EVALUATION, FROZEN_EVALUATION, EvaluationState
from resynergy.store.models import (
    REGISTRY,
    Evaluation,
    EvaluationEvent,
    EvaluationEvidence,
    EvaluationLedger,
    EvaluatorListing,
    User,
    utcnow,
)

S = EvaluationState
TABLE = "evaluations"


def filing_days() -> int:
    """Days from approval (the completed report) to filing: the core's procedure rule
    EVAL-FILE-30D (Guangdong rules Art 18 as the model; no rule of the seven plan provinces was
    found), read from the rules, never restated here."""
    return core.load_rules().filing_days()


DEPARTMENTS = ("admin", "regulator", "planner")  # provincial departments (industry, ecology, planning)
LISTERS = ("admin", "regulator")  # keep a province's evaluator list
FIRMS = ("admin", "enterprise")
MAX_EVIDENCE = 50  # files per evaluation version
# Evidence files: the types taken, told by their first bytes (never by the client's word).
EVIDENCE_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
    ".csv": ("text/csv", ()),
}
LEDGER_FRAMES = ("waste", "receipts", "use", "products")
STATE_WORDS: dict[str, tuple[str, str]] = {
    S.DRAFT: ("草稿", "draft"), S.SUBMITTED: ("已提交评价机构", "submitted to the evaluator"),
    S.CORRECTIONS_REQUESTED: ("需补正", "corrections requested"), S.APPROVED: ("评价通过，待备案", "approved, to be filed"),
    S.FILED: ("已备案", "filed"), S.PUBLISHED: ("已公示", "published"),
}


@dataclass(frozen=True)
class Step:
    """One workflow action: the states it starts from, where it leads, who takes it."""

    sources: tuple[S, ...]
    target: S | None  # None: a new version (revise)
    who: str  # firm | evaluator | department | filer
    zh: str
    en: str


STEPS: dict[str, Step] = {
    "submit": Step(EDITABLE_EVALUATION, S.SUBMITTED, "firm", "提交评价机构", "submit to the evaluator"),
    "request_corrections": Step((S.SUBMITTED,), S.CORRECTIONS_REQUESTED, "evaluator", "要求补正", "request corrections"),
    "approve": Step((S.SUBMITTED,), S.APPROVED, "evaluator", "评价通过", "approve"),
    "file": Step((S.APPROVED,), S.FILED, "filer", "报主管部门备案", "file with the department"),
    "publish": Step((S.FILED,), S.PUBLISHED, "department", "公示", "publish"),
    "revise": Step(FROZEN_EVALUATION, None, "firm", "更正（生成新版本）", "correct (makes a new version)"),
}


def _issue(code: str, zh: str, en: str, column: str = "", value: object = None, where: str = "",
           table: str = TABLE) -> dict:
    return own_issue(code, zh, en, table, where, None, column, value)


def _reject(code: str, zh: str, en: str, column: str = "", value: object = None, status: int = 422,
            where: str = "") -> Rejected:
    return Rejected([_issue(code, zh, en, column, value, where)], status=status)


# ---- organisations and their sites -----------------------------------------------------------
def _organisation(db: Session, uscc: str) -> dict:
    t = REGISTRY["organisations"]
    row = db.execute(sa.select(t.c.uscc, t.c.name_zh, t.c.name_en, t.c.region).where(t.c.uscc == uscc)
                     ).mappings().first()
    if row is None:
        raise _reject("unknown_ref", f"登记库中没有统一社会信用代码为 {uscc} 的单位", f"no organisation {uscc} in the registry",
                      "org_uscc", uscc)
    return dict(row)


def _org_sites(db: Session, uscc: str) -> list[dict]:
    s = REGISTRY["sites"]
    return [dict(r) for r in db.execute(sa.select(s.c.id, s.c.region, s.c.roles).where(s.c.org_uscc == uscc)
                                        .order_by(s.c.id)).mappings()]


def _firm_org(actor: Actor, org: str) -> str:
    """The organisation a firm action is for: an enterprise's own, or the one the admin names."""
    access.require(actor, FIRMS, "evaluation (firm)")
    if actor.role == "enterprise":
        if org and org != actor.org_uscc:
            raise Denied(actor, "another organisation's evaluation")
        return actor.org_uscc
    if not org:
        raise _reject("required", "请指定单位（统一社会信用代码）", "name the organisation (USCC)", "org_uscc")
    return org


# ---- ledgers -------------------------------------------------------------------------------
def ledger_doc(ledger: Any) -> dict:
    """A ledger as JSON-ready data (the core's ``Ledger.to_dict``: each frame as records, the firm)."""
    return ledger.to_dict()


def ledger_of(doc: Mapping[str, Any]) -> Any:
    """The core's Ledger of a stored document (``Ledger.from_dict``)."""
    return core.Ledger.from_dict(dict(doc))


def _canonical(doc: Mapping[str, Any]) -> tuple[dict, str]:
    text = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return json.loads(text), hashlib.sha256(text.encode()).hexdigest()


def _column(doc: Mapping[str, Any], frame: str, column: str) -> list:
    return [r.get(column) for r in doc.get(frame) or []]


def _months(doc: Mapping[str, Any]) -> list[str]:
    return sorted({str(m) for name in LEDGER_FRAMES for m in _column(doc, name, "month") if m})


def _store_ledger(db: Session, actor: Actor, org: str, ledger: Any, source: str, filename: str,
                  notes: list[str]) -> EvaluationLedger:
    doc, digest = _canonical(ledger_doc(ledger))
    months = _months(doc)
    rec = EvaluationLedger(org_uscc=org, source=source, filename=filename[:200], sha256=digest, frames=doc,
                           first_month=months[0] if months else "", last_month=months[-1] if months else "",
                           notes=notes, created_by=actor.user_id)
    db.add(rec)
    db.flush()
    audit.record(db, actor, "create", "ledger", rec.id, after={"org_uscc": org, "source": source,
                                                               "filename": filename, "sha256": digest,
                                                               "months": f"{rec.first_month}–{rec.last_month}"})
    return rec


def _safe_name(filename: str, column: str = "file") -> str:
    """The file's own name, for showing and downloading only (never a path on disk): the last
    part of any path, control characters refused, at most 200 characters."""
    raw = str(filename or "")
    name = raw.replace("\\", "/").split("/")[-1].strip()
    if not name or name in (".", "..") or name.startswith(".") or visible(name) != name or len(name) > 200:
        raise _reject("bad_filename", "文件名无效：不能为空、不能以 . 开头、不能含控制字符，最多 200 个字符",
                      "invalid file name: it must not be empty, start with '.', hold control characters or "
                      "exceed 200 characters", column, visible(raw)[:200])
    return name


def _check_size(data: bytes, settings: Settings, column: str = "file") -> None:
    limit = settings.upload_max_bytes
    if len(data) > limit:
        raise _reject("too_large", f"文件超过 {limit // (1024 * 1024)} MB 上限",
                      f"file exceeds the {limit // (1024 * 1024)} MB limit", column, len(data), status=413)
    if not data:
        raise _reject("empty", "文件为空", "the file is empty", column)


def _xlsx_issues(path: Path, filename: str) -> list[dict]:
    """A workbook that is not one, a zip bomb, or cells holding formulas: the registry import's
    checks (scenario.io, services.imports), located."""
    problem = scenario_io._check_zip(path)  # noqa: SLF001 - the one zip-bomb check
    if problem is None:
        try:
            return imports.cap_issues(imports._scan_xlsx(path, filename), filename)  # noqa: SLF001
        except Exception:  # noqa: BLE001 - a zip dressed as a workbook: openpyxl's errors vary
            problem = "not a readable XLSX workbook / 不是可读取的 XLSX 工作簿"
    en, _, zh = problem.partition(" / ")
    return [own_issue("unreadable", f"无法读取工作簿：{zh or en}", f"cannot read the workbook: {en}", source=filename)]


def upload_ledger(db: Session, actor: Actor, data: bytes, filename: str, org: str = "",
                  settings: Settings | None = None) -> dict:
    """Store a ledger read from the core's XLSX template, all-or-nothing: every problem located
    (sheet, row, column, value, what was expected) in one Rejected, nothing stored then."""
    settings = settings or Settings.from_env()
    org = _firm_org(actor, org)
    _organisation(db, org)
    filename = _safe_name(filename)
    _check_size(data, settings)
    if Path(filename).suffix.lower() != ".xlsx":
        raise _reject("unsupported", "台账须为 .xlsx 工作簿（平台提供的模板）",
                      "the ledger must be an .xlsx workbook (the platform's template)", "file", filename)
    with tempfile.TemporaryDirectory(prefix="resynergy-ledger-") as tmp:
        path = Path(tmp) / "ledger.xlsx"
        path.write_bytes(data)
        issues = _xlsx_issues(path, filename)
        if issues:
            raise Rejected(issues)
        try:
            ledger = core.read_ledger(data, name=filename)
        except ScenarioError as err:
            raise Rejected(imports.cap_issues([issue_dict(i) for i in err.issues], filename)) from None
        except Exception:  # noqa: BLE001 - whatever else a hostile workbook does, a located 422
            raise _reject("unreadable", "无法读取工作簿：不是平台的台账模板", "cannot read the workbook: not the "
                          "platform's ledger template", "file", filename) from None
    firm_uscc = str((ledger.firm or {}).get("uscc") or "")
    if firm_uscc and firm_uscc != org:
        raise Rejected([own_issue("firm_mismatch", f"台账的企业信用代码 {firm_uscc} 与本单位 {org} 不符",
                                  f"the ledger's firm {firm_uscc} is not the organisation {org}", "firm",
                                  f"{filename} [firm]", None, "uscc", firm_uscc)])
    rec = _store_ledger(db, actor, org, ledger, "xlsx", filename, [])
    return ledger_summary(rec)


def ledger_from_actual_flows(db: Session, actor: Actor, org: str = "") -> dict:
    """A ledger built from the organisation's recorded actual flows (processed manifests):
    received and sent-out tonnes; what flows cannot say (generation, products) stays empty and
    is noted (the core's ``ledger_from_flows``)."""
    org = _firm_org(actor, org)
    o = _organisation(db, org)
    sites = {s["id"] for s in _org_sites(db, org)}
    flows = actuals.flows_frame(db, actor)
    flows = flows.loc[flows["from_site"].isin(sites) | flows["to_site"].isin(sites)].reset_index(drop=True)
    if flows.empty:
        raise _reject("no_flows", "本单位站点没有已登记的实际流向（已处置的联单），无法生成台账",
                      "no actual flows (processed manifests) recorded at the organisation's sites: nothing "
                      "to build a ledger from", "org_uscc", org)
    firm = {"uscc": org, "name": o["name_zh"], "province": province_code(o["region"]), "region": o["region"]}
    ledger = core.ledger_from_flows(flows, sites, firm)
    notes = [issue_dict(n)["message_zh"] + " / " + issue_dict(n)["message_en"] for n in ledger.notes]
    rec = _store_ledger(db, actor, org, ledger, "flows", "", notes)
    return ledger_summary(rec)


def ledger_template(db: Session, actor: Actor) -> bytes:
    """The core's ledger template (XLSX); for an enterprise with its firm profile filled in from
    the registry (the rating and the screens are left for the firm to state)."""
    if not actor.signed_in or actor.role == "public":
        raise Denied(actor, "ledger template")
    firm: dict[str, Any] = {}
    if actor.role == "enterprise" and actor.org_uscc:
        t = REGISTRY["organisations"]
        row = db.execute(sa.select(t.c.name_zh, t.c.region).where(t.c.uscc == actor.org_uscc)).first()
        if row is not None:
            firm = {"uscc": actor.org_uscc, "name": row.name_zh, "province": province_code(row.region),
                    "region": row.region}
    return core.ledger_to_xlsx(core.empty_ledger(firm)) if firm else _blank_template()


def _blank_template() -> bytes:
    with tempfile.TemporaryDirectory(prefix="resynergy-template-") as tmp:
        return core.write_template(Path(tmp) / "ledger.xlsx").read_bytes()


def ledger_summary(rec: EvaluationLedger, doc: Mapping[str, Any] | None = None) -> dict:
    doc = rec.frames if doc is None else doc
    return {"id": rec.id, "org_uscc": rec.org_uscc, "source": rec.source, "filename": rec.filename,
            "first_month": rec.first_month, "last_month": rec.last_month, "sha256": rec.sha256,
            "products": sorted({str(p) for p in _column(doc, "products", "product") if p}),
            "materials": sorted({str(m) for m in _column(doc, "waste", "material") if m}),
            "notes": list(rec.notes or []), "created_at": rec.created_at.isoformat()}


def _ledger_row(db: Session, actor: Actor, ledger_id: int) -> EvaluationLedger:
    rec = db.get(EvaluationLedger, ledger_id)
    if rec is None or not _may_read_org(db, actor, rec.org_uscc):
        raise NotFound(f"ledger {ledger_id}")
    return rec


def _may_read_org(db: Session, actor: Actor, org: str) -> bool:
    """Ledgers: the firm its own; staff of the firm's province (evaluators: of applications
    sent to them, checked on the evaluation)."""
    if actor.role == "admin":
        return True
    if actor.role == "enterprise":
        return bool(actor.org_uscc) and org == actor.org_uscc
    if actor.role in DEPARTMENTS:
        return access.in_province(actor, province_code(_organisation(db, org)["region"]))
    if actor.role == "evaluator":
        return db.scalar(sa.select(Evaluation.id).where(Evaluation.org_uscc == org,
                                                        Evaluation.evaluator_id == actor.user_id,
                                                        Evaluation.state != S.DRAFT).limit(1)) is not None
    return False


def get_ledger(db: Session, actor: Actor, ledger_id: int) -> dict:
    if not actor.signed_in or actor.role == "public":
        raise Denied(actor, "ledgers")
    rec = _ledger_row(db, actor, ledger_id)
    out = ledger_summary(rec)
    out["frames"] = rec.frames
    return out


def list_ledgers(db: Session, actor: Actor, org: str = "") -> list[dict]:
    """The actor's organisation's ledgers (an enterprise), or one organisation's (staff in scope)."""
    if not actor.signed_in or actor.role == "public":
        raise Denied(actor, "ledgers")
    org = actor.org_uscc if actor.role == "enterprise" else org
    q = sa.select(EvaluationLedger).order_by(EvaluationLedger.id.desc())
    if org:
        if not _may_read_org(db, actor, org):
            return []
        q = q.where(EvaluationLedger.org_uscc == org)
    elif actor.role != "admin":
        return []
    return [ledger_summary(r) for r in db.scalars(q.limit(200)).all()]


# ---- evaluator lists -------------------------------------------------------------------------
def list_evaluators(db: Session, actor: Actor, province: str = "") -> list[dict]:
    """Listed evaluators (of ``province`` when given); every signed-in user may read the lists."""
    if not actor.signed_in or actor.role == "public":
        raise Denied(actor, "evaluator lists")
    q = (sa.select(EvaluatorListing, User).join(User, User.id == EvaluatorListing.user_id)
         .where(EvaluatorListing.active.is_(True), User.active.is_(True)))
    if province:
        q = q.where(EvaluatorListing.province == province)
    return [{"id": ls.id, "user_id": u.id, "username": u.username, "name": ls.name or u.display_name or u.username,
             "province": ls.province, "row_version": ls.row_version}
            for ls, u in db.execute(q.order_by(EvaluatorListing.province, EvaluatorListing.id)).all()]


def list_evaluator(db: Session, actor: Actor, *, province: str, username: str = "", user_id: int | None = None,
                   name: str = "") -> dict:
    """Put an evaluator user on a province's list (the admin, or a regulator of that province)."""
    access.require(actor, LISTERS, "list evaluators")
    if province_code(province) != province:
        raise _reject("bad_province", "省份应为 6 位省级行政区划代码（如 130000）",
                      "province must be a 6-digit province code (e.g. 130000)", "province", province)
    if not access.in_province(actor, province):
        raise Denied(actor, "another province's evaluator list")
    user = accounts.find_user(db, user_id or None, username)
    if user is None or user.role != "evaluator" or not user.active:
        raise _reject("not_evaluator", "该用户不存在或不是评价机构角色（evaluator）",
                      "no such user, or the user is not an evaluator", "username", username or user_id)
    if db.scalar(sa.select(EvaluatorListing.id).where(EvaluatorListing.user_id == user.id,
                                                      EvaluatorListing.province == province)) is not None:
        raise _reject("duplicate", f"{user.username} 已在 {province} 的评价机构名单中",
                      f"{user.username} is already listed for {province}", "username", user.username, status=409)
    ls = EvaluatorListing(user_id=user.id, province=province, name=(name or user.display_name or user.username)[:200],
                          listed_by=actor.user_id)
    db.add(ls)
    db.flush()
    audit.record(db, actor, "create", "evaluator_listing", ls.id,
                 after={"user": user.username, "province": province, "name": ls.name})
    return {"id": ls.id, "user_id": user.id, "username": user.username, "name": ls.name, "province": province,
            "row_version": ls.row_version}


def _listed(db: Session, user_id: int, province: str) -> bool:
    return db.scalar(sa.select(EvaluatorListing.id).where(
        EvaluatorListing.user_id == user_id, EvaluatorListing.province == province,
        EvaluatorListing.active.is_(True))) is not None


# ---- reading evaluations ---------------------------------------------------------------------
def _visible(actor: Actor) -> sa.ColumnElement[bool] | None:
    """WHERE clause of the evaluations ``actor`` may read (None = all)."""
    e = Evaluation
    shared = e.state.in_((S.FILED, S.PUBLISHED))  # mutual recognition: every province's departments
    if actor.role == "admin" and actor.signed_in:
        return None
    if actor.role == "enterprise" and actor.org_uscc:
        return e.org_uscc == actor.org_uscc
    if actor.role == "evaluator" and actor.signed_in:
        return sa.and_(e.evaluator_id == actor.user_id, e.state != S.DRAFT)
    if actor.role in DEPARTMENTS and actor.signed_in:
        frozen = e.state.in_(FROZEN_EVALUATION)
        return frozen if not actor.province else sa.or_(sa.and_(frozen, e.province == actor.province), shared)
    return sa.false()


def _load(db: Session, actor: Actor, evaluation_id: int, lock: bool = False) -> Evaluation:
    if not actor.signed_in or actor.role == "public":
        raise Denied(actor, "evaluations")
    q = sa.select(Evaluation).where(Evaluation.id == evaluation_id)
    cond = _visible(actor)
    if cond is not None:
        q = q.where(cond)
    if lock and db.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    ev = db.scalars(q.execution_options(populate_existing=True)).first()
    if ev is None:
        raise NotFound(f"evaluation {evaluation_id}")
    return ev


def _users(db: Session, ids: Iterable[int | None]) -> dict[int, User]:
    wanted = sorted({i for i in ids if i})
    return {u.id: u for u in db.scalars(sa.select(User).where(User.id.in_(wanted)))} if wanted else {}


def _names(db: Session, orgs: Iterable[str]) -> dict[str, str]:
    t = REGISTRY["organisations"]
    wanted = sorted(set(orgs))
    return dict(db.execute(sa.select(t.c.uscc, t.c.name_zh).where(t.c.uscc.in_(wanted))).all()) if wanted else {}


def overdue(ev: Evaluation, today: date | None = None) -> bool:
    """Approved and not filed by the due date, or filed after it."""
    if ev.due_date is None:
        return False
    if ev.filed_at is not None:
        return ev.filed_at.date() > ev.due_date
    return (today or utcnow().date()) > ev.due_date


def my_steps(actor: Actor, ev: Evaluation) -> list[str]:
    """The actions ``actor`` may take on ``ev`` now (for the pages' buttons)."""
    return [name for name, st in STEPS.items() if S(ev.state) in st.sources and _may_take(actor, ev, st)]


def _may_take(actor: Actor, ev: Evaluation, st: Step) -> bool:
    if actor.role == "admin" and actor.signed_in:
        return True
    firm = actor.role == "enterprise" and bool(actor.org_uscc) and actor.org_uscc == ev.org_uscc
    evaluator = actor.role == "evaluator" and ev.evaluator_id is not None and actor.user_id == ev.evaluator_id
    department = actor.role in ("regulator", "planner") and access.in_province(actor, ev.province)
    return {"firm": firm, "evaluator": evaluator, "department": department, "filer": firm or evaluator}[st.who]


def _agencies(db: Session) -> dict[tuple[int, str], str]:
    """The agency name of each listed evaluator in each province."""
    return {(ls.user_id, ls.province): ls.name for ls in db.scalars(sa.select(EvaluatorListing))}


def summary(db: Session, actor: Actor, ev: Evaluation, names: dict[str, str] | None = None,
            users: dict[int, User] | None = None, agencies: dict[tuple[int, str], str] | None = None) -> dict:
    names = _names(db, [ev.org_uscc]) if names is None else names
    users = _users(db, [ev.evaluator_id]) if users is None else users
    agencies = _agencies(db) if agencies is None else agencies
    who = users.get(ev.evaluator_id or 0)
    agency = agencies.get((ev.evaluator_id or 0, ev.province), "")
    zh, en = STATE_WORDS[S(ev.state)]
    return {"id": ev.id, "org_uscc": ev.org_uscc, "firm": names.get(ev.org_uscc, ""), "period": ev.period,
            "version": ev.version, "previous_id": ev.previous_id, "state": ev.state, "state_zh": zh, "state_en": en,
            "row_version": ev.row_version, "ledger_id": ev.ledger_id, "products": list(ev.products or []),
            "evaluator_id": ev.evaluator_id,
            "evaluator": agency or ((who.display_name or who.username) if who else ""),
            "province": ev.province, "region": ev.region, "message": ev.message,
            "submitted_at": _iso(ev.submitted_at), "approved_at": _iso(ev.approved_at),
            "due_date": ev.due_date.isoformat() if ev.due_date else None, "overdue": overdue(ev),
            "filed_at": _iso(ev.filed_at), "filed_with": ev.filed_with, "filing_number": ev.filing_number,
            "published_at": _iso(ev.published_at), "frozen": ev.state in FROZEN_EVALUATION,
            "totals": _totals_of(ev), "my_steps": my_steps(actor, ev)}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _totals_of(ev: Evaluation) -> dict | None:
    if ev.state not in FROZEN_EVALUATION:
        return None
    return {"utilized_t": ev.utilized_t, "refund_yuan": ev.refund_yuan, "eit_income_yuan": ev.eit_income_yuan,
            "ept_exempt_yuan": ev.ept_exempt_yuan}


def list_evaluations(db: Session, actor: Actor, *, state: str = "", org: str = "", queue: bool = False,
                     limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
    """Visible evaluations, newest first; ``queue``: those waiting for the actor's step."""
    if not actor.signed_in or actor.role == "public":
        raise Denied(actor, "evaluations")
    q = sa.select(Evaluation)
    cond = _visible(actor)
    if cond is not None:
        q = q.where(cond)
    if state:
        q = q.where(Evaluation.state == state)
    if org:
        q = q.where(Evaluation.org_uscc == org)
    if queue:
        rows = [e for e in db.scalars(q.order_by(Evaluation.id.desc())).all() if my_steps(actor, e)
                and set(my_steps(actor, e)) != {"revise"}]
        total, rows = len(rows), rows[offset:offset + limit]
    else:
        rows, total = database.page(db, q, Evaluation.id.desc(), limit=limit, offset=offset)
    names, users = _names(db, [e.org_uscc for e in rows]), _users(db, [e.evaluator_id for e in rows])
    agencies = _agencies(db)
    return [summary(db, actor, e, names, users, agencies) for e in rows], total


def _events(db: Session, ev: Evaluation) -> list[dict]:
    rows = db.scalars(sa.select(EvaluationEvent).where(EvaluationEvent.evaluation_id == ev.id)
                      .order_by(EvaluationEvent.id)).all()
    return [{"ts": r.ts.isoformat(), "actor": r.actor, "action": r.action, "from_state": r.from_state,
             "to_state": r.to_state, "message": r.message} for r in rows]


def _evidence_rows(db: Session, ev: Evaluation) -> list[dict]:
    rows = db.scalars(sa.select(EvaluationEvidence).where(EvaluationEvidence.evaluation_id == ev.id)
                      .order_by(EvaluationEvidence.id)).all()
    return [{"id": r.id, "name": r.name, "content_type": r.content_type, "size": r.size, "sha256": r.sha256,
             "figure": r.figure, "note": r.note, "created_at": r.created_at.isoformat()} for r in rows]


def get(db: Session, actor: Actor, evaluation_id: int) -> dict:
    ev = _load(db, actor, evaluation_id)
    out = summary(db, actor, ev)
    out["events"] = _events(db, ev)
    out["evidence"] = _evidence_rows(db, ev)
    out["versions"] = [{"id": i, "version": v, "state": s} for i, v, s in db.execute(
        sa.select(Evaluation.id, Evaluation.version, Evaluation.state).where(
            Evaluation.org_uscc == ev.org_uscc, Evaluation.period == ev.period).order_by(Evaluation.version)).all()]
    return out


# ---- checks (the core's assessment) ----------------------------------------------------------
def _period(text: str, column: str = "period") -> Any:
    try:
        return core.Period.parse(str(text or "").strip())
    except (ValueError, ScenarioError) as err:
        issues = getattr(err, "issues", None)
        if issues:
            raise Rejected([issue_dict(i) for i in issues]) from None
        zh, _, en = str(err).partition(" / ")
        raise _reject("bad_period", zh or "评价期无效（如 2022Q1、2022-03、2022H1、2022）",
                      en or "invalid period (e.g. 2022Q1, 2022-03, 2022H1, 2022)", column, text) from None


def _assess(db: Session, ev: Evaluation) -> tuple[Any, Any]:
    """(Assessment, Ledger) computed now from the evaluation's stored ledger."""
    if ev.ledger_id is None:
        raise _reject("no_ledger", "尚未选择台账", "no ledger chosen yet", "ledger_id", status=409)
    rec = db.get(EvaluationLedger, ev.ledger_id)
    ledger = ledger_of(rec.frames)
    return core.assess(ledger, _period(ev.period)), ledger


def _evidence_by_figure(db: Session, ev: Evaluation, doc: Mapping[str, Any] | None) -> dict[str, Any]:
    """What backs each figure: evidence files tagged with a product or material, and the
    ledger's receipts (source organisation, site, manifest number) per material."""
    files: dict[str, list[dict]] = {}
    for f in _evidence_rows(db, ev):
        files.setdefault(f["figure"] or "", []).append(f)
    receipts: dict[str, list[dict]] = {}
    for rec in (doc or {}).get("receipts") or []:
        receipts.setdefault(str(rec.get("material", "")), []).append(dict(rec))
    return {"files": files, "receipts": receipts}


def checks(db: Session, actor: Actor, evaluation_id: int) -> dict:
    """The computed checks of an evaluation: frozen as approved for approved / filed / published
    versions, computed now from the ledger otherwise; with the evidence behind each figure."""
    ev = _load(db, actor, evaluation_id)
    doc = db.get(EvaluationLedger, ev.ledger_id).frames if ev.ledger_id else None
    if ev.state in FROZEN_EVALUATION:
        assessment, frozen = dict(ev.assessment or {}), True
    elif ev.ledger_id is None:
        assessment, frozen = None, False
    else:
        assessment, frozen = _assessment_dict(_assess(db, ev)[0]), False
    return {"evaluation": ev.id, "state": ev.state, "frozen": frozen, "period": ev.period,
            "assessment": assessment, "evidence": _evidence_by_figure(db, ev, doc)}


def _assessment_dict(assessment: Any) -> dict:
    return json.loads(json.dumps(assessment.to_dict(), ensure_ascii=False, default=plain))


def eligibility(db: Session, actor: Actor, *, evaluation_id: int | None = None, org: str = "",
                period: str = "") -> dict:
    """``assess(...).to_dict()`` for an evaluation (frozen once approved), or for an
    organisation and period: its latest visible evaluation of the period, else (the firm, the
    admin, the departments of its province) its latest ledger."""
    if not actor.signed_in or actor.role == "public":
        raise Denied(actor, "eligibility")
    if evaluation_id is None:
        if not org or not period:
            raise _reject("required", "请给出评价编号（evaluation），或单位（org）和评价期（period）",
                          "give an evaluation id, or an organisation (org) and a period", "evaluation")
        period = str(_period(period))
        q = sa.select(Evaluation.id).where(Evaluation.org_uscc == org, Evaluation.period == period)
        cond = _visible(actor)
        if cond is not None:
            q = q.where(cond)
        evaluation_id = db.scalar(q.order_by(Evaluation.version.desc()).limit(1))
        if evaluation_id is None:
            return _ledger_eligibility(db, actor, org, period)
    c = checks(db, actor, evaluation_id)
    if c["assessment"] is None:
        raise _reject("no_ledger", "该评价尚未选择台账，无法计算", "the evaluation has no ledger yet: nothing to assess",
                      "ledger_id", status=409)
    return {"evaluation": evaluation_id, "org_uscc": org or _load(db, actor, evaluation_id).org_uscc,
            "period": c["period"], "state": c["state"], "frozen": c["frozen"], **c["assessment"]}


def _ledger_eligibility(db: Session, actor: Actor, org: str, period: str) -> dict:
    if not (actor.role in ("admin", "enterprise", "regulator", "planner") and _may_read_org(db, actor, org)):
        raise NotFound(f"evaluation of {org} for {period}")
    rec = db.scalars(sa.select(EvaluationLedger).where(EvaluationLedger.org_uscc == org)
                     .order_by(EvaluationLedger.id.desc()).limit(1)).first()
    if rec is None:
        raise NotFound(f"ledger of {org}")
    a = core.assess(ledger_of(rec.frames), _period(period))
    return {"evaluation": None, "ledger": rec.id, "org_uscc": org, "period": period, "state": "", "frozen": False,
            **_assessment_dict(a)}


# ---- writing evaluations ----------------------------------------------------------------------
def _stale(ev_id: int) -> Rejected:
    return _reject("stale", f"评价 {ev_id} 已被他人修改或处理，未保存；请重新打开后再操作",
                   f"evaluation {ev_id} was changed by someone else since you read it; nothing was saved — "
                   "reload it and try again", "row_version", status=412)


def _check_version(ev: Evaluation, version: int | None) -> None:
    if version is None:
        raise _reject("precondition_required", "请提供读取评价时的版本号（row_version / If-Match）",
                      "send the evaluation's version you read (row_version / If-Match)", "row_version", status=428)
    if version != ev.row_version:
        raise _stale(ev.id)


def _write(db: Session, ev: Evaluation, version: int, **values: Any) -> None:
    """One conditional UPDATE: the evaluation as read at ``version``, or nothing (a lost race)."""
    t = Evaluation.__table__
    hit = db.execute(sa.update(t).where(t.c.id == ev.id, t.c.row_version == version).values(
        row_version=version + 1, updated_at=utcnow(), **values)).rowcount
    if hit != 1:
        db.rollback()
        raise _stale(ev.id)


def _event(db: Session, actor: Actor, ev_id: int, action: str, before: str, after: str, message: str = "") -> None:
    db.add(EvaluationEvent(evaluation_id=ev_id, user_id=actor.user_id, actor=actor.username, action=action,
                           from_state=before, to_state=after, message=message))


def _check_fields(db: Session, org: str, province: str, values: Mapping[str, Any]) -> dict:
    """The firm's choices checked, located: ledger of the organisation, products in it,
    evaluator listed for the firm's province."""
    out: dict[str, Any] = {}
    issues: list[dict] = []
    ledger = None
    if values.get("ledger_id") is not None:
        ledger = db.get(EvaluationLedger, int(values["ledger_id"]))
        if ledger is None or ledger.org_uscc != org:
            issues.append(_issue("unknown_ref", f"台账 {values['ledger_id']} 不存在或不属于本单位",
                                 f"ledger {values['ledger_id']} does not exist or is not the organisation's",
                                 "ledger_id", values["ledger_id"]))
        else:
            out["ledger_id"] = ledger.id
    if "products" in values:
        products = [str(p).strip() for p in values.get("products") or [] if str(p).strip()]
        if ledger is not None:
            known = set(ledger_summary(ledger)["products"])
            for p in products:
                if p not in known:
                    issues.append(_issue("unknown_product", f"台账中没有产品 {p}（台账中的产品：{'、'.join(sorted(known)) or '无'}）",
                                         f"the ledger has no product {p} (it has: {', '.join(sorted(known)) or 'none'})",
                                         "products", p))
        out["products"] = sorted(set(products))
    if values.get("evaluator_id") is not None:
        eid = int(values["evaluator_id"])
        if not _listed(db, eid, province):
            issues.append(_issue("not_listed", f"所选评价机构未列入 {province} 的评价机构名单",
                                 f"the evaluator chosen is not on the list of province {province}",
                                 "evaluator_id", eid))
        else:
            out["evaluator_id"] = eid
    if issues:
        raise Rejected(issues)
    return out


def create(db: Session, actor: Actor, values: Mapping[str, Any]) -> dict:
    """A new application (draft) of the firm for a period: version 1, or the next version when
    the period's latest version is frozen (a correction); refused while one is still open."""
    org = _firm_org(actor, str(values.get("org_uscc") or ""))
    o = _organisation(db, org)
    period = str(_period(str(values.get("period") or "")))  # as the core writes it: 2022Q1, 2022-03, …
    province = province_code(o["region"])
    fields = _check_fields(db, org, province, {k: values.get(k) for k in ("ledger_id", "products", "evaluator_id")
                                               if k in values})
    begin_write(db)
    latest = db.scalars(sa.select(Evaluation).where(Evaluation.org_uscc == org, Evaluation.period == period)
                        .order_by(Evaluation.version.desc()).limit(1)).first()
    if latest is not None and latest.state not in FROZEN_EVALUATION:
        raise _reject("open_application", f"{period} 已有未完成的申请（编号 {latest.id}，第 {latest.version} 版），请继续该申请",
                      f"an application for {period} is still open (id {latest.id}, version {latest.version}): "
                      "continue that one", "period", period, status=409)
    return _new_version(db, actor, org, o["region"], period, latest, fields)


def _new_version(db: Session, actor: Actor, org: str, region: str, period: str, previous: Evaluation | None,
                 fields: Mapping[str, Any]) -> dict:
    ev = Evaluation(org_uscc=org, period=period, version=(previous.version + 1) if previous else 1,
                    previous_id=previous.id if previous else None, state=S.DRAFT,
                    ledger_id=fields.get("ledger_id"), products=list(fields.get("products") or []),
                    evaluator_id=fields.get("evaluator_id"), province=province_code(region), region=region,
                    created_by=actor.user_id)
    db.add(ev)
    try:
        db.flush()
    except sa.exc.IntegrityError:
        db.rollback()
        raise _reject("conflict", f"{period} 的新版本已由他人同时创建，请刷新后查看",
                      f"a new version for {period} was created by someone else at the same time; reload",
                      "version", status=409) from None
    action = "revise" if previous else "create"
    _event(db, actor, ev.id, action, previous.state if previous else "", S.DRAFT)
    audit.record(db, actor, action, TABLE, ev.id, after={"org_uscc": org, "period": period, "version": ev.version,
                                                         "previous_id": ev.previous_id, **fields})
    return get(db, actor, ev.id)


def update(db: Session, actor: Actor, evaluation_id: int, version: int | None, values: Mapping[str, Any]) -> dict:
    """Change the ledger, products or evaluator of a draft or a version sent back for
    corrections (the firm); approved, filed and published versions are immutable."""
    begin_write(db)
    ev = _load(db, actor, evaluation_id, lock=True)
    if not _may_take(actor, ev, STEPS["submit"]):
        raise Denied(actor, "change evaluation")
    _refuse_frozen(ev)
    if ev.state not in EDITABLE_EVALUATION:
        zh, en = STATE_WORDS[S(ev.state)]
        raise _reject("not_editable", f"评价处于“{zh}”状态，评价机构审核期间不能修改",
                      f"the evaluation is {en}: it cannot change while the evaluator reviews it", "state", ev.state,
                      status=409)
    _check_version(ev, version)
    fields = _check_fields(db, ev.org_uscc, ev.province, values)
    before = {k: getattr(ev, k) for k in fields}
    _write(db, ev, ev.row_version, **fields)
    audit.record(db, actor, "update", TABLE, ev.id, before=before, after=fields)
    db.flush()
    return get(db, actor, ev.id)


def _refuse_frozen(ev: Evaluation) -> None:
    if ev.state in FROZEN_EVALUATION:
        zh, en = STATE_WORDS[S(ev.state)]
        raise _reject("immutable", f"评价第 {ev.version} 版已“{zh}”，不能再修改；如需更正请生成新版本",
                      f"version {ev.version} is {en} and can no longer change; make a new version to correct it",
                      "state", ev.state, status=409)


def transition(db: Session, actor: Actor, evaluation_id: int, action: str, version: int | None, *,
               message: str = "", filed_with: str = "", filing_number: str = "") -> dict:
    """Take one workflow step at the version the actor read (see the module's drawing)."""
    st = STEPS.get(action)
    if st is None:
        raise _reject("bad_choice", f"未知操作 {action}（应为：{'、'.join(STEPS)}）",
                      f"unknown action {action} (expected one of: {', '.join(STEPS)})", "action", action)
    begin_write(db)  # SQLite: writers queue here; PostgreSQL: the row lock and the version settle races
    ev = _load(db, actor, evaluation_id, lock=True)
    if not _may_take(actor, ev, st):
        raise Denied(actor, f"{action} evaluation")
    if S(ev.state) not in st.sources:
        zh, en = STATE_WORDS[S(ev.state)]
        allowed = [n for n, s in STEPS.items() if S(ev.state) in s.sources]
        raise _reject("illegal_transition",
                      f"评价处于“{zh}”状态，不能“{st.zh}”；此时可以：{'、'.join(STEPS[n].zh for n in allowed) or '无'}",
                      f"the evaluation is {en}: it cannot {st.en}; allowed now: "
                      f"{', '.join(STEPS[n].en for n in allowed) or 'nothing'}", "state", ev.state, status=409)
    _check_version(ev, version)
    message = str(message or "").strip()
    if action == "revise":
        latest = db.scalar(sa.select(sa.func.max(Evaluation.version)).where(
            Evaluation.org_uscc == ev.org_uscc, Evaluation.period == ev.period))
        if latest != ev.version:
            raise _reject("not_latest", f"第 {ev.version} 版已有更新的版本，请在最新版本上更正",
                          f"version {ev.version} already has a newer version: correct the latest one", "version",
                          ev.version, status=409)
        return _new_version(db, actor, ev.org_uscc, ev.region, ev.period, ev,
                            {"ledger_id": ev.ledger_id, "products": ev.products, "evaluator_id": ev.evaluator_id})
    values: dict[str, Any] = {"state": st.target}
    now = utcnow()
    if action == "submit":
        _ready_to_submit(db, ev)
        values.update(submitted_at=now, message="")
    elif action == "request_corrections":
        if not message:
            raise _reject("required", "要求补正时请写明需补正的内容", "say what must be corrected", "message")
        values["message"] = message[:4000]
    elif action == "approve":
        values.update(_freeze(db, ev, actor, now))
    elif action == "file":
        values.update(filed_at=now, filed_with=str(filed_with or "").strip()[:200],
                      filing_number=str(filing_number or "").strip()[:64])
        if not values["filed_with"]:
            raise _reject("required", "请填写受理备案的主管部门（县级以上工业和信息化主管部门）",
                          "name the department the report is filed with (county level or above)", "filed_with")
    elif action == "publish":
        values["published_at"] = now
    before = ev.state
    _write(db, ev, ev.row_version, **values)
    _event(db, actor, ev.id, action, before, str(st.target), message)
    audit.record(db, actor, action, TABLE, ev.id, before={"state": before},
                 after={"state": str(st.target), **{k: v for k, v in values.items()
                                                     if k not in ("assessment", "report_html", "state")}})
    db.flush()
    return get(db, actor, ev.id)


def _ready_to_submit(db: Session, ev: Evaluation) -> None:
    issues = []
    if ev.ledger_id is None:
        issues.append(_issue("required", "提交前请选择台账", "choose a ledger before submitting", "ledger_id"))
    if ev.evaluator_id is None:
        issues.append(_issue("required", "提交前请选择评价机构（本省名单内）",
                             "choose an evaluator (from your province's list) before submitting", "evaluator_id"))
    elif not _listed(db, ev.evaluator_id, ev.province):
        issues.append(_issue("not_listed", "所选评价机构已不在本省名单中，请另选",
                             "the evaluator chosen is no longer on the province's list: choose another",
                             "evaluator_id", ev.evaluator_id))
    if issues:
        raise Rejected(issues, status=409)


def _freeze(db: Session, ev: Evaluation, actor: Actor, now: datetime) -> dict:
    """The assessment and report frozen at approval (and their totals); a failed mass balance
    blocks the approval."""
    from resynergy.report.evaluation import render_evaluation

    assessment, ledger = _assess(db, ev)
    balance = list(getattr(assessment, "balance", []) or [])
    if balance:
        issues = [issue_dict(i) if not isinstance(i, dict) else i for i in balance]
        raise Rejected([_issue("balance_failed", "物料平衡未通过，不能出具评价报告（见下列问题）",
                               "the mass balance fails: no report can be issued (see the problems below)",
                               "ledger_id", ev.ledger_id), *issues], status=409)
    due = (now + timedelta(days=filing_days())).date()
    who = db.get(User, actor.user_id) if actor.user_id else None
    listing = db.scalars(sa.select(EvaluatorListing).where(EvaluatorListing.user_id == ev.evaluator_id,
                                                           EvaluatorListing.province == ev.province)).first()
    evaluator = {"name": (listing.name if listing else "") or (who.display_name if who else "") or actor.username,
                 "persons": (who.display_name or who.username) if who else actor.username,
                 "date": now.date().isoformat(), "id": str(ev.id)}
    filing = {"due": due.isoformat()}
    html = render_evaluation(assessment, ledger, lang="zh", evaluator=evaluator, filing=filing)
    html_en = render_evaluation(assessment, ledger, lang="en", evaluator=evaluator, filing=filing)
    doc = _assessment_dict(assessment)
    publication = json.loads(json.dumps(assessment.published(evaluator["name"]), ensure_ascii=False, default=plain))
    totals = {k: plain(v) for k, v in assessment.totals().items()}
    return {"approved_at": now, "due_date": due, "assessment": doc, "report_html": html, "report_html_en": html_en,
            "publication": publication,
            "report_sha256": hashlib.sha256(html.encode()).hexdigest(),
            "utilized_t": _num(totals.get("utilized_t")), "refund_yuan": _num(totals.get("refund_yuan")),
            "eit_income_yuan": _num(totals.get("eit_reduction_income_yuan")),
            "ept_exempt_yuan": _num(totals.get("ept_exempt_yuan")), "message": ""}


def _num(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def report(db: Session, actor: Actor, evaluation_id: int, lang: str = "zh") -> str:
    """The report as frozen at approval, in Chinese or English (409 before approval)."""
    ev = _load(db, actor, evaluation_id)
    html = ev.report_html_en if lang == "en" else ev.report_html
    if ev.state not in FROZEN_EVALUATION or not html:
        raise _reject("no_report", "评价通过后才有评价报告", "the report exists once the evaluation is approved",
                      "state", ev.state, status=409)
    return html


# ---- evidence ---------------------------------------------------------------------------------
def _evidence_type(name: str, data: bytes, settings: Settings) -> tuple[str, list[dict]]:
    """(content type, issues): the type by the name's suffix, confirmed by the file's first
    bytes; workbooks and CSV files checked as the registry import checks them (zip bombs,
    formula cells)."""
    suffix = Path(name).suffix.lower()
    kind = EVIDENCE_TYPES.get(suffix)
    if kind is None:
        return "", [_issue("unsupported", f"证明材料仅接受 {'、'.join(EVIDENCE_TYPES)} 文件",
                           f"evidence must be one of: {', '.join(EVIDENCE_TYPES)}", "file", name,
                           table="evaluation_evidence")]
    content_type, magic = kind
    if magic and not any(data.startswith(m) for m in magic):
        return "", [_issue("wrong_type", f"文件内容与扩展名 {suffix} 不符", f"the file's content is not a {suffix} file",
                           "file", name, table="evaluation_evidence")]
    with tempfile.TemporaryDirectory(prefix="resynergy-evidence-") as tmp:
        path = Path(tmp) / f"evidence{suffix}"  # a name of ours: nothing of the user's name reaches the disk
        path.write_bytes(data)
        if suffix == ".xlsx":
            return content_type, _xlsx_issues(path, name)
        if suffix == ".csv":
            try:
                data.decode("utf-8-sig")
            except UnicodeDecodeError:
                return "", [_issue("encoding", "CSV 文件应为 UTF-8 编码", "the CSV file must be UTF-8 encoded",
                                   "file", name, table="evaluation_evidence")]
            return content_type, imports.cap_issues(imports._scan_csv(path, name, ""), name)  # noqa: SLF001
    return content_type, []


def _evidence_editable(db: Session, actor: Actor, evaluation_id: int, verb: str, done: str,
                       verb_zh: str) -> Evaluation:
    """The evaluation, locked for writing, whose evidence the firm may still change (a draft or
    a version sent back for corrections)."""
    begin_write(db)
    ev = _load(db, actor, evaluation_id, lock=True)
    if not _may_take(actor, ev, STEPS["submit"]):
        raise Denied(actor, f"{verb} evidence")
    _refuse_frozen(ev)
    if ev.state not in EDITABLE_EVALUATION:
        raise _reject("not_editable", f"评价机构审核期间不能{verb_zh}证明材料",
                      f"no evidence can be {done} while the evaluator reviews",
                      "state", ev.state, status=409)
    return ev


def add_evidence(db: Session, actor: Actor, evaluation_id: int, data: bytes, filename: str, *,
                 figure: str = "", note: str = "", settings: Settings | None = None) -> dict:
    """Attach an evidence file to a draft or a version sent back for corrections (the firm)."""
    settings = settings or Settings.from_env()
    ev = _evidence_editable(db, actor, evaluation_id, "add", "added", "增加")
    name = _safe_name(filename)
    _check_size(data, settings)
    content_type, issues = _evidence_type(name, data, settings)
    figure = str(figure or "").strip()[:100]
    if figure and ev.ledger_id is not None:
        s = ledger_summary(db.get(EvaluationLedger, ev.ledger_id))
        if figure not in set(s["products"]) | set(s["materials"]):
            issues.append(_issue("unknown_figure", f"台账中没有产品或物料 {figure}",
                                 f"the ledger has no product or material {figure}", "figure", figure,
                                 table="evaluation_evidence"))
    count = db.scalar(sa.select(sa.func.count()).select_from(EvaluationEvidence)
                      .where(EvaluationEvidence.evaluation_id == ev.id)) or 0
    if count >= MAX_EVIDENCE:
        issues.append(_issue("too_many", f"每个评价最多 {MAX_EVIDENCE} 份证明材料", f"at most {MAX_EVIDENCE} evidence files",
                             "file", count, table="evaluation_evidence"))
    if issues:
        raise Rejected(issues)
    rec = EvaluationEvidence(evaluation_id=ev.id, name=name, content_type=content_type, size=len(data),
                             sha256=hashlib.sha256(data).hexdigest(), figure=figure,
                             note=str(visible(str(note or "")))[:500], data=data, uploaded_by=actor.user_id)
    db.add(rec)
    db.flush()
    _event(db, actor, ev.id, "evidence", ev.state, ev.state, name)
    audit.record(db, actor, "create", "evaluation_evidence", rec.id,
                 after={"evaluation": ev.id, "name": name, "size": len(data), "sha256": rec.sha256, "figure": figure})
    return {"id": rec.id, "name": name, "content_type": content_type, "size": len(data), "sha256": rec.sha256,
            "figure": figure, "note": rec.note}


def evidence_file(db: Session, actor: Actor, evaluation_id: int, evidence_id: int) -> tuple[str, str, bytes]:
    """(name, content type, bytes) of an evidence file of an evaluation the actor may read."""
    ev = _load(db, actor, evaluation_id)
    rec = db.get(EvaluationEvidence, evidence_id)
    if rec is None or rec.evaluation_id != ev.id:
        raise NotFound(f"evidence {evidence_id}")
    return rec.name, rec.content_type, rec.data


def remove_evidence(db: Session, actor: Actor, evaluation_id: int, evidence_id: int) -> None:
    ev = _evidence_editable(db, actor, evaluation_id, "remove", "removed", "删除")
    rec = db.get(EvaluationEvidence, evidence_id)
    if rec is None or rec.evaluation_id != ev.id:
        raise NotFound(f"evidence {evidence_id}")
    audit.record(db, actor, "delete", "evaluation_evidence", rec.id,
                 before={"evaluation": ev.id, "name": rec.name, "sha256": rec.sha256})
    _event(db, actor, ev.id, "evidence_removed", ev.state, ev.state, rec.name)
    db.delete(rec)
    db.flush()


# ---- published list (public) -------------------------------------------------------------------
def published(db: Session) -> list[dict]:
    """The published evaluations, in the fields the rules publish (firm, ISW types and tonnes
    utilized, products, evaluator: the core's ``Assessment.published``, frozen at approval;
    shared/notes/evaluation.md §1.2 step 7) and where and when: nothing else."""
    rows = db.scalars(sa.select(Evaluation).where(Evaluation.state == S.PUBLISHED)
                      .order_by(Evaluation.published_at.desc(), Evaluation.id.desc()).limit(500)).all()
    return [{"id": e.id, "period": e.period, "version": e.version, "region": e.region,
             "published_at": _iso(e.published_at), **(e.publication or {})} for e in rows]


# ---- regional view ---------------------------------------------------------------------------------
def _counted(db: Session, actor: Actor) -> list[Evaluation]:
    """The evaluations a department counts: of each organisation and period the latest frozen
    version the actor may read (a correction replaces what it corrects)."""
    access.require(actor, DEPARTMENTS, "regional evaluation view")
    q = sa.select(Evaluation).where(Evaluation.state.in_(FROZEN_EVALUATION))
    cond = _visible(actor)
    if cond is not None:
        q = q.where(cond)
    latest: dict[tuple[str, str], Evaluation] = {}
    for e in db.scalars(q.order_by(Evaluation.version)).all():
        latest[(e.org_uscc, e.period)] = e
    return sorted(latest.values(), key=lambda e: (e.region, e.org_uscc, e.period))


def _quarter(month: str) -> str:
    y, m = month[:4], int(month[5:7])
    return f"{y}Q{(m - 1) // 3 + 1}"


def _monthly_utilized(db: Session, ev: Evaluation) -> pd.DataFrame:
    """month, material, utilized_t of the evaluation's ledger within its period."""
    if ev.ledger_id is None:
        return pd.DataFrame(columns=["month", "material", "utilized_t"])
    frame = pd.DataFrame.from_records(db.get(EvaluationLedger, ev.ledger_id).frames.get("waste") or [])
    if frame.empty:
        return pd.DataFrame(columns=["month", "material", "utilized_t"])
    months = set(_period(ev.period).months)
    frame = frame.loc[frame["month"].astype(str).isin(months), ["month", "material", "utilized_t"]]
    return frame.assign(utilized_t=pd.to_numeric(frame["utilized_t"], errors="coerce").fillna(0.0))


TOTAL_KEYS = ("utilized_t", "refund_yuan", "eit_income_yuan", "ept_exempt_yuan")


def regional(db: Session, actor: Actor, province: str = "") -> dict:
    """The departments' view: the evaluations counted (with filing deadlines and overdue flags),
    tax reductions and utilized tonnes by prefecture, by prefecture and quarter (of the period's
    end), and utilized tonnes by prefecture, material and quarter (from the ledgers' months)."""
    rows = _counted(db, actor)
    m = catalog.table("materials")
    materials = dict(zip(m["code"], zip(m["name_zh"], m["name_en"], strict=True), strict=True))
    if province:
        rows = [e for e in rows if e.province == province]
    names, users = _names(db, [e.org_uscc for e in rows]), _users(db, [e.evaluator_id for e in rows])
    agencies = _agencies(db)
    items = [summary(db, actor, e, names, users, agencies) for e in rows]
    by_pref: dict[str, dict] = {}
    by_quarter: dict[tuple[str, str], dict] = {}
    tonnes: dict[tuple[str, str, str], float] = {}
    for e in rows:
        end_quarter = _quarter(_period(e.period).months[-1])
        for bucket in (by_pref.setdefault(e.region, {"region": e.region, "evaluations": 0, **dict.fromkeys(TOTAL_KEYS, 0.0)}),
                       by_quarter.setdefault((e.region, end_quarter), {"region": e.region, "quarter": end_quarter,
                                                                      "evaluations": 0, **dict.fromkeys(TOTAL_KEYS, 0.0)})):
            bucket["evaluations"] += 1
            for k in TOTAL_KEYS:
                bucket[k] += getattr(e, k) or 0.0
        for r in _monthly_utilized(db, e).itertuples(index=False):
            key = (e.region, str(r.material), _quarter(str(r.month)))
            tonnes[key] = tonnes.get(key, 0.0) + float(r.utilized_t)
    rule = core.load_rules().rule("EVAL-QTR-AGG")  # prefectures report each quarter within N days
    for (_, quarter), bucket in by_quarter.items():
        bucket["report_due"] = (_period(quarter).end + timedelta(days=int(float(rule["value"])))).isoformat()
    return {"evaluations": items,
            "reporting_rule": {k: rule.get(k) for k in ("rule_id", "text_zh", "text_en", "source", "confidence")},
            "by_prefecture": [by_pref[k] for k in sorted(by_pref)],
            "by_quarter": [by_quarter[k] for k in sorted(by_quarter)],
            "by_material": [{"region": r, "material": m, "material_zh": str(materials.get(m, ("", ""))[0]),
                             "material_en": str(materials.get(m, ("", ""))[1]), "quarter": q, "utilized_t": t}
                            for (r, m, q), t in sorted(tonnes.items())],
            "region_names": _region_names(db, {e.region for e in rows})}


def _region_names(db: Session, codes: set[str]) -> dict[str, str]:
    t = REGISTRY["regions"]
    if not codes:
        return {}
    return dict(db.execute(sa.select(t.c.code, t.c.name_zh).where(t.c.code.in_(sorted(codes)))).all())


def regional_workbook(view: Mapping[str, Any]) -> bytes:
    """The regional view as an XLSX workbook (openpyxl); text that a spreadsheet would run as a
    formula (= + - @) is stored as text, never as a formula."""
    from openpyxl import Workbook

    wb = Workbook()
    names = view.get("region_names", {})
    sheets = [
        ("评价 evaluations", ["编号 id", "企业 firm", "信用代码 USCC", "地区 region", "评价期 period", "版本 version",
                            "状态 state", "评价机构 evaluator", "通过日期 approved", "备案期限 due", "逾期 overdue",
                            "备案日期 filed", "利用量 utilized (t)", "增值税退税 VAT refund (yuan)",
                            "减计收入 EIT income reduction (yuan)", "环保税免征 EPT exempt (yuan)"],
         [[e["id"], e["firm"], e["org_uscc"], e["region"], e["period"], e["version"], e["state_zh"], e["evaluator"],
           (e["approved_at"] or "")[:10], e["due_date"] or "", "是 yes" if e["overdue"] else "", (e["filed_at"] or "")[:10],
           *[(e["totals"] or {}).get(k) for k in TOTAL_KEYS]] for e in view["evaluations"]]),
        ("按地区 by prefecture", ["地区 region", "名称 name", "评价数 evaluations", "利用量 utilized (t)",
                                  "增值税退税 VAT refund (yuan)", "减计收入 EIT income reduction (yuan)",
                                  "环保税免征 EPT exempt (yuan)"],
         [[r["region"], names.get(r["region"], ""), r["evaluations"], *[r[k] for k in TOTAL_KEYS]]
          for r in view["by_prefecture"]]),
        ("按季度 by quarter", ["地区 region", "名称 name", "季度 quarter", "评价数 evaluations", "利用量 utilized (t)",
                               "增值税退税 VAT refund (yuan)", "减计收入 EIT income reduction (yuan)",
                               "环保税免征 EPT exempt (yuan)"],
         [[r["region"], names.get(r["region"], ""), r["quarter"], r["evaluations"], *[r[k] for k in TOTAL_KEYS]]
          for r in view["by_quarter"]]),
        ("按物料 by material", ["地区 region", "名称 name", "物料 material", "物料名称 material name", "季度 quarter",
                                "利用量 utilized (t)"],
         [[r["region"], names.get(r["region"], ""), r["material"], r.get("material_zh", ""), r["quarter"], r["utilized_t"]]
          for r in view["by_material"]]),
    ]
    wb.remove(wb.active)
    for title, head, body in sheets:
        ws = wb.create_sheet(title)
        ws.append(head)
        for row in body:
            ws.append([None if v is None else v for v in row])
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, str) and formula_like(cell.value):
                    cell.data_type = "s"  # the text as it is, never run
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ---- evaluated tonnes for the monitor (verified actuals) ------------------------------------------
def verified_flows(db: Session, actor: Actor, recorded: pd.DataFrame) -> pd.DataFrame:
    """Tonnes utilized per approved evaluation, as actual flows with source 'evaluation', beyond
    what ``recorded`` (the monitor's flows) already holds — so nothing is counted twice.

    Per organisation, year and material: the evaluated tonnes E are the ledger's monthly
    ``utilized_t`` within the evaluated period, each month taken once (from the latest frozen
    version of the latest-approved evaluation covering it); the recorded tonnes R are the flows
    arriving at the organisation's sites that year. Only E − R (when positive) is added, as one
    flow into the organisation's facility site (its first site when it has none), from that same
    site (utilization on site). Evaluations of organisations without a registered site are left
    out (they cannot be placed)."""
    cols = list(actuals.COLUMNS)
    if actor.role not in access.STAFF:
        return pd.DataFrame(columns=cols)
    q = sa.select(Evaluation).where(Evaluation.state.in_(FROZEN_EVALUATION))
    if actor.role != "admin" and actor.province:
        q = q.where(Evaluation.province == actor.province)
    months: dict[tuple[str, str, str], tuple[datetime, float]] = {}  # (org, month, material) -> (approved, t)
    latest: dict[tuple[str, str], Evaluation] = {}
    for e in db.scalars(q.order_by(Evaluation.version)).all():
        latest[(e.org_uscc, e.period)] = e
    for e in latest.values():
        for r in _monthly_utilized(db, e).itertuples(index=False):
            key = (e.org_uscc, str(r.month), str(r.material))
            stamp = e.approved_at or utcnow()
            if key not in months or months[key][0] < stamp:
                months[key] = (stamp, float(r.utilized_t))
    evaluated: dict[tuple[str, int, str], float] = {}
    for (org, month, material), (_, t) in months.items():
        k = (org, int(month[:4]), material)
        evaluated[k] = evaluated.get(k, 0.0) + t
    rows = []
    for (org, year, material), t in sorted(evaluated.items()):
        sites = _org_sites(db, org)
        if not sites:
            continue
        ids = {s["id"] for s in sites}
        site = next((s["id"] for s in sites if "facility" in str(s["roles"]).split("|")), sites[0]["id"])
        already = 0.0
        if len(recorded):
            hit = recorded.loc[recorded["to_site"].isin(ids) & (recorded["year"].astype(int) == year)
                               & (recorded["material"] == material)]
            already = float(hit["t"].sum())
        extra = t - already
        if extra > 1e-9:
            rows.append({"manifest": "", "year": year, "from_site": site, "to_site": site, "material": material,
                         "mode": "", "t": extra, "distance_km": float("nan"), "source": "evaluation"})
    return pd.DataFrame(rows, columns=cols)


def with_verified(db: Session, actor: Actor, recorded: pd.DataFrame) -> pd.DataFrame:
    """The monitor's flows with the evaluated tonnes not already recorded (:func:`verified_flows`)."""
    extra = verified_flows(db, actor, recorded)
    if extra.empty:
        return recorded
    out = pd.concat([recorded, extra.astype(recorded.dtypes.to_dict()) if len(recorded) else extra],
                    ignore_index=True)
    out["t"] = out["t"].astype(float)
    out["year"] = out["year"].astype(int)
    out["distance_km"] = pd.to_numeric(out["distance_km"], errors="coerce").astype(float)
    return out
