"""Bulk import of registry rows from an XLSX workbook (one sheet per table) or a CSV file
(one table), all-or-nothing, with an error report and an error workbook marking the bad cells.

Hardening (OWASP ASVS 5.2): the web layer caps the upload size; only .xlsx and .csv are taken,
under server-chosen names in a private temporary folder; the scenario reader refuses files that
are not real workbooks and zip bombs (entry count and expanded size are checked before
unpacking); cells holding formulas, or text that a spreadsheet would run as one (= + - @), are
refused; parsing goes through the scenario package's validators.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from dataclasses import dataclass
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
from resynergy.schema.cells import formula_like
from resynergy.services import audit, registry
from resynergy.services.access import Actor
from resynergy.services.registry import Change, Rejected, issue_dict, own_issue
from resynergy.store.models import REGISTRY_TABLES, ImportRecord

SUFFIXES = (".xlsx", ".csv")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
ERRORS_SHEET = "错误 errors"
_RED = PatternFill("solid", fgColor="FFC7CE")
_UNREADABLE = ("unreadable", "unsupported", "encoding", "unknown_table")


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
                     "refused for safety", table, source, row, column, value)


def _scan_xlsx(path: Path, filename: str) -> list[dict]:
    wb = load_workbook(path, read_only=True, data_only=False)
    out = []
    try:
        for ws in wb.worksheets:
            for r, row in enumerate(ws.iter_rows(), start=1):
                for cell in row:
                    value = getattr(cell, "value", None)
                    if getattr(cell, "data_type", "") == "f" or _formula_like(value):
                        out.append(_formula_issue(f"{filename} [{ws.title}]", r,
                                                  getattr(cell, "column_letter", ""), value, ws.title))
    finally:
        wb.close()
    return out


def _scan_csv(path: Path, filename: str, table: str) -> list[dict]:
    out = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0] if rows else []
    for r, row in enumerate(rows, start=1):
        for j, value in enumerate(row):
            if _formula_like(value):
                out.append(_formula_issue(filename, r, header[j] if j < len(header) else str(j + 1), value, table))
    return out


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
            data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return {}, [own_issue("encoding", "CSV 文件应为 UTF-8 编码", "the CSV file must be UTF-8 encoded",
                                  source=filename)], path
    raws, found = scenario_io.read(path)
    issues = [issue_dict(i) for i in found]
    if not issues:
        issues = _scan_xlsx(path, filename) if suffix == ".xlsx" else _scan_csv(path, filename, path.stem)
    for name in [n for n in raws if n not in REGISTRY_TABLES]:
        if len(raws.pop(name).frame):  # empty reference sheets (as in the template) are ignored
            issues.append(own_issue("reference_table", "参考表由系统目录维护，不能在登记库中导入",
                                    "reference tables come from the catalog and cannot be imported",
                                    name, filename))
    issues = [_rename(i, path.name, filename) for i in issues]
    return raws, issues, path


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


def import_file(db: Session, actor: Actor, data: bytes, filename: str, table: str = "") -> Outcome:
    """Validate and apply an upload as one unit; the attempt is recorded either way."""
    filename = Path(filename or "upload").name[:200]
    with tempfile.TemporaryDirectory(prefix="resynergy-import-") as tmp:
        raws, issues, path = read_upload(Path(tmp), data, filename, table)
        counts: dict = {}
        if not issues:
            if not raws:
                issues = [own_issue("empty", "文件中没有可导入的表", "the file holds no table to import",
                                    source=filename)]
            else:
                try:
                    counts = registry.apply(db, actor, _changes(raws, filename, path.name), "import").counts
                except Rejected as err:
                    db.rollback()
                    issues = err.issues
        workbook = error_workbook(path, filename, issues) if issues and path is not None else None
    rec = ImportRecord(user_id=actor.user_id, filename=filename, accepted=not issues, counts=counts,
                       issues=issues[:5000], error_workbook=workbook)
    db.add(rec)
    db.flush()
    audit.record(db, actor, "import" if not issues else "import_rejected", "import", rec.id,
                 after={"filename": filename, "counts": counts, "issues": len(issues)})
    db.commit()
    return Outcome(rec, issues)


def load_builtin(db: Session, actor: Actor, name: str) -> dict:
    """Import a built-in dataset's registry tables (upsert, same checks as an upload)."""
    scenario = Scenario.from_builtin(name)
    changes = [Change(t, "upsert", rec, source=f"builtin:{name}/{t}", row=i + 2)
               for t in REGISTRY_TABLES for i, rec in enumerate(scenario.table(t).to_dict("records"))]
    counts = registry.apply(db, actor, changes, "import").counts
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
    total = db.scalar(sa.select(sa.func.count()).select_from(q.subquery())) or 0
    rows = db.scalars(q.order_by(ImportRecord.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), total


# ---- the error workbook -------------------------------------------------------------------
def _column_index(ws, table: str, column: str) -> int | None:
    if not column or table not in schema.TABLE_NAMES:
        return None
    if re.fullmatch(r"[A-Z]{1,3}", column):  # already a column letter (formula scan)
        return column_index_from_string(column)
    cols = {c.name: c for c in schema.columns(table)}
    col = cols.get(column)
    aliases = {column.lower()}
    if col is not None:
        aliases |= {a.strip().lower() for a in (col.label_zh, col.label_en, col.label("zh"), col.label("en"),
                                                 f"{col.label('zh')}\n{col.label('en')}")}
    for row in ws.iter_rows(min_row=1, max_row=2):
        for cell in row:
            if cell.value is not None and str(cell.value).strip().lower() in aliases:
                return cell.column
    return None


def _sheet_of(issue: dict, filename: str) -> str:
    src = str(issue.get("source") or "")
    m = re.search(r"\[(.+)\]$", src)
    if m:
        return m.group(1)
    return issue.get("table") or Path(filename).stem


def error_workbook(path: Path, filename: str, issues: list[dict]) -> bytes | None:
    """The upload with every bad cell filled red and commented, plus a sheet listing all issues.

    A file that could not be read as a table (not a workbook, too large when unpacked, wrong
    encoding) is not opened again: the workbook then only lists the issues.
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
                    ws.append(row)
            for row in ws.iter_rows():
                for cell in row:
                    cell.data_type = "s"  # keep text as text: no formula in what we hand back
    except Exception:  # noqa: BLE001 - unreadable upload: only the issue list is returned
        wb = Workbook()
        wb.remove(wb.active)
    for issue in issues:
        sheet = _sheet_of(issue, filename)
        if sheet not in wb.sheetnames or issue.get("row") is None:
            continue
        ws = wb[sheet]
        col = _column_index(ws, issue.get("table") or sheet, str(issue.get("column") or ""))
        if col is None:
            continue
        cell = ws.cell(int(issue["row"]), col)
        cell.fill = _RED
        text = f"{issue['message_zh']}\n{issue['message_en']}"
        cell.comment = Comment(text if cell.comment is None else cell.comment.text + "\n" + text, "resynergy")
    ws = wb.create_sheet(ERRORS_SHEET, 0)
    ws.append(["工作表/文件 sheet/file", "行 row", "列 column", "值 value", "问题", "problem"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for issue in issues:
        ws.append([issue.get("source"), issue.get("row"), issue.get("column"), issue.get("value"),
                   issue.get("message_zh"), issue.get("message_en")])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    for letter, width in zip("ABCDEF", (28, 8, 18, 20, 40, 50), strict=True):
        ws.column_dimensions[letter].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
