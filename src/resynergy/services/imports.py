"""Bulk import of registry rows from an XLSX workbook (one sheet per table) or a CSV file
(one table), all-or-nothing, with an error report and an error workbook marking the bad cells.

Hardening (OWASP ASVS 5.2): the web layer caps the upload size; only .xlsx and .csv are taken,
under server-chosen names in a private temporary folder; the scenario reader refuses files that
are not real workbooks and zip bombs (entry count and expanded size are checked before
unpacking); cells holding formulas, or text that a spreadsheet would run as one (= + - @), are
refused; parsing goes through the scenario package's validators.

Cost and storage stay bounded whatever the file holds: a CSV may have at most
:data:`MAX_COLUMNS` columns, an upload reports at most :data:`MAX_ISSUES` issues (and how many
more there were), the error workbook is built in one pass over the issues, and rejected uploads
are kept for ``Settings.import_retention_days`` within a per-user quota
(``Settings.import_quota_bytes``).
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import column_index_from_string
from sqlalchemy.orm import Session

from resynergy import schema
from resynergy.scenario import Scenario
from resynergy.scenario import io as scenario_io
from resynergy.schema.cells import formula_like, visible
from resynergy.services import audit, database, registry
from resynergy.services.access import Actor
from resynergy.services.registry import Change, Rejected, issue_dict, merge_issues, own_issue
from resynergy.services.settings import Settings
from resynergy.store.models import REGISTRY_TABLES, ImportRecord, utcnow

SUFFIXES = (".xlsx", ".csv")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
ERRORS_SHEET = "错误 errors"
_RED = PatternFill("solid", fgColor="FFC7CE")
_UNREADABLE = ("unreadable", "unsupported", "encoding", "unknown_table", "too_many_columns")
MAX_COLUMNS = 1000  # columns of a CSV file (a registry table has a few dozen)
MAX_ISSUES = 1000  # issues listed per upload; the rest are counted


@dataclass
class Outcome:
    record: ImportRecord
    issues: list[dict]


def _formula_like(value: object) -> bool:
    """Formula-like text; a signed number ("-5") is data, not a formula."""
    return formula_like(value) and not _NUMBER.match(str(value).strip())


def _formula_issue(source: str, row: int, column: str, value: object, table: str = "") -> dict:
    return own_issue("formula", "单元格含公式或以 = + - @ 开头的文本，出于安全原因不予接受",
                     "cell holds a formula, or text starting with = + - @ that a spreadsheet would run; "
                     "refused for safety", table, source, row, column, value,
                     hint=("改为直接填写数值或文字；文字开头的 = + - @ 请删去", "enter the value itself; remove a leading = + - @ from text"))


def _scan_xlsx(path: Path, filename: str) -> Iterator[dict]:
    """Formula cells of every sheet, located by the table's column name where the header says."""
    wb = load_workbook(path, read_only=True, data_only=False)
    try:
        for ws in wb.worksheets:
            title = ws.title.strip()
            names: dict[int, str] = {}
            if title in schema.TABLE_NAMES:
                head = [tuple(c.value for c in row) for row in ws.iter_rows(max_row=2)]
                names = scenario_io.header_columns(head, title)
            for r, row in enumerate(ws.iter_rows(), start=1):
                for i, cell in enumerate(row):
                    value = getattr(cell, "value", None)
                    if getattr(cell, "data_type", "") == "f" or _formula_like(value):
                        yield _formula_issue(f"{filename} [{ws.title}]", r,
                                             names.get(i) or getattr(cell, "column_letter", ""), value,
                                             title if title in schema.TABLE_NAMES else "")
    finally:
        wb.close()


def _scan_csv(path: Path, filename: str, table: str) -> Iterator[dict]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        header: list[str] = []
        for r, row in enumerate(csv.reader(fh), start=1):
            header = header or row
            for j, value in enumerate(row):
                if _formula_like(value):
                    yield _formula_issue(filename, r, header[j] if j < len(header) else str(j + 1), value, table)


def _table_for_csv(filename: str, table: str) -> str:
    return table or Path(filename).stem.strip().lower()


def read_upload(folder: Path, data: bytes, filename: str, table: str = "") -> tuple[dict, list[dict], Path | None]:
    """(raw tables, issues, saved path) for an uploaded file; nothing is written to the registry."""
    suffix = Path(filename).suffix.lower()
    if suffix not in SUFFIXES:
        return {}, [own_issue("unsupported", "仅接受 .xlsx 工作簿或 .csv 文件",
                              "only .xlsx workbooks or .csv files are accepted", source=filename)], None
    if suffix == ".csv":
        name = _table_for_csv(filename, table)
        if name not in REGISTRY_TABLES:
            return {}, [own_issue("unknown_table", f"请选择要导入的表（{', '.join(REGISTRY_TABLES)}）",
                                  f"choose the table to import ({', '.join(REGISTRY_TABLES)})",
                                  source=filename)], None
        path = folder / f"{name}.csv"
    else:
        path = folder / "upload.xlsx"
    path.write_bytes(data)
    if suffix == ".csv":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return {}, [own_issue("encoding", "CSV 文件应为 UTF-8 编码", "the CSV file must be UTF-8 encoded",
                                  source=filename)], path
        width = len(next(csv.reader(io.StringIO(text)), []))
        if width > MAX_COLUMNS:
            return {}, [own_issue("too_many_columns", f"列数过多：{width} 列（最多 {MAX_COLUMNS} 列）",
                                  f"too many columns: {width} (at most {MAX_COLUMNS})", name, filename, 1,
                                  value=width)], path
    raws, found = scenario_io.read(path)
    issues = [issue_dict(i) for i in found]
    if not any(i["code"] in _UNREADABLE for i in issues):  # every problem of a readable file at once
        issues += cap_issues(_scan_xlsx(path, filename) if suffix == ".xlsx" else _scan_csv(path, filename, path.stem),
                             filename)
        if suffix == ".xlsx":
            issues += _filled_record_sheets(path, filename)
    for name in [n for n in raws if n not in REGISTRY_TABLES]:
        if len(raws.pop(name).frame):  # empty reference sheets (as in the template) are ignored
            issues.append(own_issue("reference_table", "参考表由系统目录维护，不能在登记库中导入",
                                    "reference tables come from the catalog and cannot be imported",
                                    name, filename))
    issues = [_rename(i, path.name, filename) for i in issues]
    return raws, issues, path


def _filled_record_sheets(path: Path, filename: str) -> list[dict]:
    """A filled ``actual_flows`` sheet (the template has one) is not registry data: say where it
    goes instead of passing over it in silence."""
    wb = load_workbook(path, read_only=True)
    try:
        titles = {ws.title.strip() for ws in wb.worksheets}
    finally:
        wb.close()
    out = []
    for name in schema.RECORD_TABLES:
        raw = scenario_io.read_table(path, name)[0] if name in titles else None
        if raw is not None and len(raw.frame):
            out.append(own_issue("record_table", "实际流向不属于登记库，请在“目标进展监测”页面（或 /api/v1/actual-flows/import）导入",
                                 "actual flows are not registry data: import them on the monitor page "
                                 "(or /api/v1/actual-flows/import)", name, f"{filename} [{name}]"))
    return out


def cap_issues(issues: Iterable[dict], source: str = "") -> list[dict]:
    """The first :data:`MAX_ISSUES` issues, plus one that counts the ones left out (a count it
    keeps from an earlier cap)."""
    kept: list[dict] = []
    more = 0
    for issue in issues:
        if issue["code"] == "more_issues":
            more += int(issue["value"])
        elif len(kept) < MAX_ISSUES:
            kept.append(issue)
        else:
            more += 1
    if not more:
        return kept
    return kept + [own_issue(
        "more_issues", f"另有 {more} 个问题未列出；请先改正以上问题后重新导入",
        f"{more} more issues not listed; correct the ones above and import again", source=source,
        value=more)]


def _rename(issue: dict, saved: str, original: str) -> dict:
    for key in ("source", "location_zh", "location_en"):
        if isinstance(issue.get(key), str):
            issue[key] = issue[key].replace(saved, original)
    return issue


def _changes(raws: dict, filename: str, saved: str) -> list[Change]:
    out = []
    for name in REGISTRY_TABLES:
        raw = raws.get(name)
        if raw is None:
            continue
        source = raw.source.replace(saved, filename)
        for i, rec in enumerate(raw.frame.to_dict("records")):
            out.append(Change(name, "upsert", rec, source=source, row=raw.rows[i]))
    return out


def import_file(db: Session, actor: Actor, data: bytes, filename: str, table: str = "",
                settings: Settings | None = None) -> Outcome:
    """Validate and apply an upload as one unit; the attempt is recorded either way."""
    settings = settings or Settings.from_env()
    filename = str(visible(Path(filename or "upload").name))[:200]
    with tempfile.TemporaryDirectory(prefix="resynergy-import-") as tmp:
        raws, issues, path = read_upload(Path(tmp), data, filename, table)
        counts: dict = {}
        if not raws and not issues:
            issues = [own_issue("empty", "文件中没有可导入的表", "the file holds no table to import", source=filename)]
        elif raws and not any(i["code"] in _UNREADABLE for i in issues):
            try:  # the readable tables are checked even when other sheets have problems
                counts = registry.apply(db, actor, _changes(raws, filename, path.name), "import").counts
            except Rejected as err:
                issues = merge_issues(issues, err.issues)
            if issues:
                db.rollback()  # all or nothing
                counts = {}
        issues = cap_issues(issues, filename)
        workbook = error_workbook(path, filename, issues) if issues and path is not None else None
    if workbook is not None and not _make_room(db, actor.user_id, len(workbook), settings):
        workbook = None  # larger than the whole quota: the issues are still listed
    rec = ImportRecord(user_id=actor.user_id, filename=filename, accepted=not issues, counts=counts,
                       issues=issues, error_workbook=workbook)
    db.add(rec)
    db.flush()
    audit.record(db, actor, "import" if not issues else "import_rejected", "import", rec.id,
                 after={"filename": filename, "counts": counts,
                        "issues": sum(int(i["value"]) if i["code"] == "more_issues" else 1 for i in issues)})
    db.commit()
    return Outcome(rec, issues)


def _make_room(db: Session, user_id: int | None, size: int, settings: Settings) -> bool:
    """Bound what rejected uploads keep: past the retention period their workbook and issue list
    are dropped; a user's stored error workbooks stay within the quota (oldest dropped first).
    False when ``size`` alone exceeds the quota."""
    cutoff = utcnow() - timedelta(days=settings.import_retention_days)
    db.execute(sa.update(ImportRecord).where(
        ImportRecord.accepted.is_(False), ImportRecord.created_at < cutoff,
        ImportRecord.error_workbook.is_not(None)).values(error_workbook=None, issues=[]))
    if size > settings.import_quota_bytes:
        return False
    stored = db.execute(sa.select(ImportRecord.id, sa.func.length(ImportRecord.error_workbook)).where(
        ImportRecord.user_id.is_(None) if user_id is None else ImportRecord.user_id == user_id,
        ImportRecord.error_workbook.is_not(None)).order_by(ImportRecord.id.desc())).all()
    used, drop = size, []
    for rid, length in stored:
        used += int(length or 0)
        if used > settings.import_quota_bytes:
            drop.append(rid)
    if drop:
        db.execute(sa.update(ImportRecord).where(ImportRecord.id.in_(drop)).values(error_workbook=None))
    return True


def load_builtin(db: Session, actor: Actor, name: str, progress=None) -> dict:
    """Import a built-in dataset's registry tables (upsert, same checks as an upload);
    ``progress(stage, fraction)`` hears how far it got (the background job's bar)."""
    scenario = Scenario.from_builtin(name)
    changes = [Change(t, "upsert", rec, source=f"builtin:{name}/{t}", row=i + 2)
               for t in REGISTRY_TABLES for i, rec in enumerate(scenario.table(t).to_dict("records"))]
    counts = registry.apply(db, actor, changes, "import", progress=progress).counts
    audit.record(db, actor, "import", "builtin", name, after={"counts": counts})
    db.commit()
    return counts


def get(db: Session, actor: Actor, import_id: int) -> ImportRecord:
    rec = db.get(ImportRecord, import_id)
    if rec is None or (actor.role != "admin" and rec.user_id != actor.user_id):
        raise registry.NotFound(f"import {import_id}")
    return rec


def listing(db: Session, actor: Actor, limit: int = 20, offset: int = 0) -> tuple[list[ImportRecord], int]:
    q = sa.select(ImportRecord)
    if actor.role != "admin":
        q = q.where(ImportRecord.user_id == actor.user_id)
    return database.page(db, q, ImportRecord.id.desc(), limit=limit, offset=offset)


# ---- the error workbook -------------------------------------------------------------------
def _header_index(ws) -> dict[str, int]:
    """Header text (stripped, lower case) of a sheet's first two rows → its first column."""
    out: dict[str, int] = {}
    for row in ws.iter_rows(min_row=1, max_row=2):
        for cell in row:
            if cell.value is not None:
                out.setdefault(str(cell.value).strip().lower(), cell.column)
    return out


def _column_index(header: dict[str, int], table: str, column: str) -> int | None:
    if not column or table not in schema.TABLE_NAMES:
        return None
    if re.fullmatch(r"[A-Z]{1,3}", column):  # already a column letter (formula scan)
        return column_index_from_string(column)
    cols = {c.name: c for c in schema.columns(table)}
    col = cols.get(column)
    aliases = [column.lower()]
    if col is not None:
        aliases += [a.strip().lower() for a in (col.label_zh, col.label_en, col.label("zh"), col.label("en"),
                                                 f"{col.label('zh')}\n{col.label('en')}")]
    found = [header[a] for a in aliases if a in header]
    return min(found) if found else None


def _sheet_of(issue: dict, filename: str) -> str:
    src = str(issue.get("source") or "")
    m = re.search(r"\[(.+)\]$", src)
    if m:
        return m.group(1)
    return issue.get("table") or Path(filename).stem


def _as_text(wb: Workbook) -> None:
    """Every cell of ``wb`` a plain text or number cell: formulas become their text (never run
    when the user opens the workbook), control characters are written out."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if value is None or not hasattr(cell, "data_type"):
                    continue
                if cell.data_type == "f" or isinstance(value, str):
                    cell.value = visible(str(getattr(value, "text", value)))
                    cell.data_type = "s"


def error_workbook(path: Path, filename: str, issues: list[dict]) -> bytes | None:
    """The upload with every bad cell filled red and commented, plus a sheet listing all issues.

    Every cell is written as text or a number (the uploader's formulas are not handed back live).
    A file that could not be read as a table (not a workbook, too large when unpacked, wrong
    encoding, too many columns) is not opened again: the workbook then only lists the issues.
    Linear in the size of the upload plus the number of issues.
    """
    try:
        if any(i["code"] in _UNREADABLE for i in issues):
            raise ValueError("unreadable upload")
        if path.suffix == ".xlsx":
            wb = load_workbook(path)
        else:
            wb = Workbook()
            ws = wb.active
            ws.title = path.stem
            with path.open(encoding="utf-8-sig", newline="") as fh:
                for row in csv.reader(fh):
                    ws.append([visible(v) for v in row])
        _as_text(wb)
    except Exception:  # noqa: BLE001 - unreadable upload: only the issue list is returned
        wb = Workbook()
        wb.remove(wb.active)
    headers: dict[str, dict[str, int]] = {}
    notes: dict[tuple[str, int, int], list[str]] = {}
    for issue in issues:
        sheet = _sheet_of(issue, filename)
        if sheet not in wb.sheetnames or issue.get("row") is None:
            continue
        if sheet not in headers:
            headers[sheet] = _header_index(wb[sheet])
        col = _column_index(headers[sheet], issue.get("table") or sheet, str(issue.get("column") or ""))
        if col is not None:
            notes.setdefault((sheet, int(issue["row"]), col), []).append(
                f"{issue['message_zh']}\n{issue['message_en']}")
    for (sheet, r, col), texts in notes.items():
        cell = wb[sheet].cell(r, col)
        cell.fill = _RED
        if cell.comment is not None:
            texts = [cell.comment.text, *texts]
        cell.comment = Comment("\n".join(texts), "resynergy")
    ws = wb.create_sheet(ERRORS_SHEET, 0)
    ws.append(["工作表/文件 sheet/file", "行 row", "列 column", "值 value", "问题", "problem"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for issue in issues:
        ws.append([visible(issue.get(k)) for k in ("source", "row", "column", "value", "message_zh", "message_en")])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    for letter, width in zip("ABCDEF", (28, 8, 18, 20, 40, 50), strict=True):
        ws.column_dimensions[letter].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def formula_issues(path: Path, filename: str, table: str = "") -> list[dict]:
    """Formula-like cells of an uploaded CSV or XLSX file, capped (other importers use it too:
    services/batteries.py)."""
    scan = _scan_xlsx(path, filename) if path.suffix.lower() == ".xlsx" else _scan_csv(path, filename, table)
    return cap_issues(scan, filename)
