"""Reading and writing scenarios: a folder of CSV or Parquet files, or one XLSX workbook.

Readers return untyped :class:`RawTable` objects with the row numbers the user sees, so that
validation can point at the exact cell. Writers are lossless: a saved scenario loads back equal.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from resynergy import datasets, schema
from resynergy.schema.cells import formula_like, plain
from resynergy.schema.coerce import RawTable
from resynergy.schema.issues import Issue

if TYPE_CHECKING:  # openpyxl is imported where a workbook is read or written
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

INSTRUCTIONS_SHEET = "说明 Instructions"
LOOKUP_PREFIX = "参考 "  # look-up sheets of a template (valid codes, units): read by people, not imported
NOTE_HEADER = "填写说明 note"  # a template's last column: marks the example row; never imported
EXAMPLE_MARK = "示例行，导入时忽略 / example row, ignored on import"
MAX_XLSX_UNZIPPED = 200 * 1024 * 1024  # refuse workbooks that expand beyond this (zip bombs)
MAX_XLSX_ENTRIES = 10_000


def read(path: Path) -> tuple[dict[str, RawTable], list[Issue]]:
    """Read a folder of CSV/Parquet files, one CSV/Parquet file, or an XLSX workbook."""
    path = Path(path)
    if path.is_dir():
        return _read_folder(path)
    suffix = path.suffix.lower()
    if not path.exists():
        return {}, [Issue("unreadable", source=str(path), params={"detail": "not found / 文件不存在"})]
    if suffix == ".xlsx":
        return _read_xlsx(path)
    if suffix in (".csv", ".parquet"):
        return _read_folder(path.parent, only=path)
    return {}, [Issue("unsupported", source=str(path))]


def _read_folder(folder: Path, only: Path | None = None) -> tuple[dict[str, RawTable], list[Issue]]:
    tables: dict[str, RawTable] = {}
    issues: list[Issue] = []
    files = [only] if only else sorted(p for p in folder.iterdir() if p.suffix.lower() in (".csv", ".parquet"))
    for file in files:
        if file.name.startswith("_") or file.name == datasets.SOURCES_FILE:
            continue  # auxiliary files (_calibration.csv; sources.csv, the table [keys] resolve to)
        if file.stem not in schema.TABLE_NAMES:
            issues.append(Issue("unknown_table", source=file.name, params={"choices": ", ".join(schema.TABLE_NAMES)}))
            continue
        found = _read_file(file, file.stem)
        if isinstance(found, Issue):
            issues.append(found)
        else:
            tables[file.stem] = found
    return tables, issues


def _read_file(file: Path, table: str) -> RawTable | Issue:
    """One CSV or Parquet file as ``table``, or the issue saying why it can't be read."""
    try:
        if file.suffix.lower() == ".csv":
            frame = pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        else:
            frame = pd.read_parquet(file)
    except Exception as exc:  # noqa: BLE001 - any parser failure is reported to the user
        return Issue("unreadable", table, file.name, params={"detail": str(exc)[:200]})
    return RawTable.of(table, frame, file.name)


def read_table(path: Path, table: str) -> tuple[RawTable | None, list[Issue]]:
    """One file read as ``table``: a CSV or Parquet file, or a workbook's sheet named ``table``
    (or its only data sheet)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        return None, [Issue("unreadable", table, str(path), params={"detail": "not found / 文件不存在"})]
    if suffix in (".csv", ".parquet"):
        found = _read_file(path, table)
        return (None, [found]) if isinstance(found, Issue) else (found, [])
    if suffix != ".xlsx":
        return None, [Issue("unsupported", table, path.name)]
    problem_text = _check_zip(path)
    if problem_text:
        return None, [Issue("unreadable", table, path.name, params={"detail": problem_text})]
    from openpyxl import load_workbook  # only for workbooks: a plan of a folder needs none

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any parser failure is reported to the user
        return None, [Issue("unreadable", table, path.name, params={"detail": str(exc)[:200]})]
    try:
        sheets = [ws for ws in wb.worksheets if not is_aside(ws.title)]
        ws = next((w for w in sheets if w.title.strip() == table), sheets[0] if len(sheets) == 1 else None)
        if ws is None:
            return None, [Issue("unknown_table", table, path.name, params={"choices": table})]
        return _read_sheet(list(ws.iter_rows(values_only=True)), table, f"{path.name} [{ws.title}]")
    finally:
        wb.close()


def is_aside(title: str) -> bool:
    """A sheet that is read by people, not imported: instructions and look-up lists."""
    title = title.strip()
    return title == INSTRUCTIONS_SHEET or title.lower().startswith(
        ("说明", "instructions", "readme", LOOKUP_PREFIX.strip(), "lookup"))


_NOTE = "\0note"  # the header map's name for a template's note column


def _header_map(cells: list[object], table: str) -> dict[int, str] | None:
    """Column positions → schema names when ``cells`` is a header row of ``table``, else None."""
    names: dict[str, str] = {NOTE_HEADER.lower(): _NOTE}
    for col in schema.columns(table):
        for alias in (col.name, col.label("zh"), col.label("en"), col.label_zh, col.label_en):
            names[alias.strip().lower()] = col.name
    found: dict[int, str] = {}
    for i, cell in enumerate(cells):
        if cell is None or str(cell).strip() == "":
            continue
        text = str(cell).strip()
        key = text[text.rfind("[") + 1:-1] if text.endswith("]") and "[" in text else text
        name = names.get(key.strip().lower())
        if name is None:
            return None if not found else {**found, i: text}
        found[i] = name
    return found or None


def _check_zip(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
    except zipfile.BadZipFile:
        return "not an XLSX workbook (not a zip file) / 不是 XLSX 工作簿"
    if "xl/workbook.xml" not in names:
        return "not an XLSX workbook (no xl/workbook.xml) / 不是 XLSX 工作簿"
    if len(infos) > MAX_XLSX_ENTRIES or sum(i.file_size for i in infos) > MAX_XLSX_UNZIPPED:
        return "workbook expands beyond the allowed size / 工作簿解压后过大"
    return None


def _read_xlsx(path: Path) -> tuple[dict[str, RawTable], list[Issue]]:
    problem = _check_zip(path)
    if problem:
        return {}, [Issue("unreadable", source=path.name, params={"detail": problem})]
    from openpyxl import load_workbook  # only for workbooks: a plan of a folder needs none

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any parser failure is reported to the user
        return {}, [Issue("unreadable", source=path.name, params={"detail": str(exc)[:200]})]
    tables: dict[str, RawTable] = {}
    issues: list[Issue] = []
    try:
        for ws in wb.worksheets:
            title = ws.title.strip()
            if is_aside(title) or title in schema.RECORD_TABLES:
                continue  # records (actual flows) are read by ``resynergy monitor``, not as scenario tables
            if title not in schema.TABLE_NAMES:
                issues.append(Issue("unknown_table", source=f"{path.name} [{title}]",
                                    params={"choices": ", ".join(schema.TABLE_NAMES)}))
                continue
            table, table_issues = _read_sheet(list(ws.iter_rows(values_only=True)), title, f"{path.name} [{title}]")
            issues += table_issues
            if table is not None:
                tables[title] = table
    finally:
        wb.close()
    return tables, issues


def _find_header(rows: list[tuple], table: str) -> tuple[int | None, dict[int, str] | None]:
    """(index of the header row among the first two, column positions → names) of a sheet."""
    known = {c.name for c in schema.columns(table)} | {_NOTE}
    mapping = None
    for r in range(min(2, len(rows))):
        mapping = _header_map(list(rows[r]), table)
        if mapping and all(v in known for v in mapping.values()):
            return r, mapping
    return None, mapping


def header_columns(rows: list[tuple], table: str) -> dict[int, str]:
    """Column positions (0-based) → schema column names of a sheet of ``table`` (empty when its
    header is not recognised)."""
    found, mapping = _find_header(rows, table)
    return {} if found is None or mapping is None else {i: n for i, n in mapping.items() if n != _NOTE}


def _read_sheet(rows: list[tuple], table: str, source: str) -> tuple[RawTable | None, list[Issue]]:
    header_row, mapping = _find_header(rows, table)
    if header_row is None or mapping is None:
        if not rows:
            return RawTable.of(table, pd.DataFrame(), source), []
        unknown = [str(v) for v in (mapping or {}).values()
                   if v not in {c.name for c in schema.columns(table)} | {_NOTE}]
        return None, [Issue("unknown_column", table, source, 1, unknown[0] if unknown else "",
                            params={"choices": ", ".join(c.name for c in schema.columns(table))})]
    note = next((i for i, name in mapping.items() if name == _NOTE), None)
    mapping = {i: name for i, name in mapping.items() if name != _NOTE}
    records, numbers = [], []
    for r in range(header_row + 1, len(rows)):
        values = rows[r]
        if note is not None and note < len(values) and str(values[note] or "").strip() == EXAMPLE_MARK:
            continue  # the template's example row
        if all(v is None or (isinstance(v, str) and not v.strip())
               for i, v in enumerate(values) if i != note):
            continue
        records.append({name: (values[i] if i < len(values) else None) for i, name in mapping.items()})
        numbers.append(r + 1)
    frame = pd.DataFrame.from_records(records, columns=list(mapping.values()))
    return RawTable(table, frame.astype(object), source, tuple(numbers)), []


def write_folder(tables: dict[str, pd.DataFrame], folder: Path, fmt: str) -> list[Path]:
    """One ``<table>.csv`` or ``<table>.parquet`` per table (empty tables as a header only, so that an
    explicitly empty reference table does not come back filled from the catalog)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in schema.TABLE_NAMES:
        frame = tables.get(name)
        if frame is None:
            continue
        target = folder / f"{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(target, index=False, encoding="utf-8-sig")
        else:
            frame.to_parquet(target, index=False)
        written.append(target)
    return written


def write_xlsx(tables: dict[str, pd.DataFrame], path: Path, include_empty: bool = True) -> Path:
    """A workbook an official can fill in: instructions, then one sheet per table.

    Row 1 holds bilingual labels, row 2 the column keys the reader uses; data starts at row 3.
    Text that looks like a formula is stored as text.
    """
    from openpyxl import Workbook

    wb = Workbook()
    instructions(wb.active, schema.TABLE_NAMES)
    for name in schema.TABLE_NAMES:
        frame = tables.get(name)
        if frame is None and not include_empty:
            continue
        if frame is not None and frame.empty and not include_empty:
            continue
        table_sheet(wb.create_sheet(name), name, frame)
    return save(wb, path)


def save(wb: Workbook, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def table_sheet(ws: Worksheet, name: str, frame: pd.DataFrame | None, first: int = 3) -> None:
    """Headers of table ``name`` in rows 1–2 (bilingual labels, then keys) and ``frame``'s rows
    from row ``first``; text that looks like a formula is stored as text."""
    from openpyxl.styles import Alignment, Font, PatternFill

    head_font, key_font = Font(bold=True), Font(color="808080", size=9)
    fill = PatternFill("solid", fgColor="DDEBF7")
    cols = schema.columns(name)
    for j, col in enumerate(cols, start=1):
        label = ws.cell(1, j, f"{col.label('zh')}\n{col.label('en')}")
        label.font, label.fill = head_font, fill
        label.alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(2, j, col.name).font = key_font
        ws.column_dimensions[label.column_letter].width = max(12, min(40, len(col.label("en")) + 4))
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = "A3"
    if frame is None:
        return
    for i, record in enumerate(frame[[c.name for c in cols]].itertuples(index=False), start=first):
        for j, value in enumerate(record, start=1):
            if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
                continue
            cell = ws.cell(i, j, plain(value))
            if formula_like(value):
                cell.data_type = "s"


def instructions(ws: Worksheet, tables: Sequence[str]) -> None:
    """The instructions sheet: how the workbook is read, then every column of ``tables``."""
    from openpyxl.styles import Font

    ws.title = INSTRUCTIONS_SHEET
    ws.append(["resynergy 情景数据工作簿 / scenario workbook"])
    ws.append(["每个工作表对应一张表；第 1 行为中英文列名，第 2 行为程序读取的列代码（请勿修改），数据从第 3 行开始。"])
    ws.append(["One sheet per table; row 1 has bilingual labels, row 2 the column keys the program reads (do not edit); data starts at row 3."])
    ws.append(["空白单元格取默认值；导入时如有任何错误，将整体拒绝并列出所有错误（工作表、行、列、值）。"])
    ws.append(["Blank cells take the default; an import with any error is rejected whole, listing every error (sheet, row, column, value)."])
    ws.append([])
    ws.append(["表 table", "列 column", "中文", "English", "单位 unit", "必填 required", "默认 default",
               "可选值 choices", "引用 references", "说明", "description"])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for name in tables:
        for col in schema.columns(name):
            ws.append([name, col.name, col.label_zh, col.label_en, col.unit, "是 yes" if col.required else "",
                       col.default, " | ".join(col.choices), col.ref, col.describe("zh"), col.describe("en")])
    for letter, width in zip("ABCDEFGHIJK", (14, 18, 18, 24, 14, 10, 10, 30, 20, 50, 50), strict=True):
        ws.column_dimensions[letter].width = width
