"""The blank workbook an official fills in: only the sheets a user fills, each with one example
row (ignored on import) and drop-down lists, followed by look-up sheets of valid codes.

The same writer serves ``resynergy data template`` and the platform's import template, and with
``filled`` it writes a scenario's rows into the template (the round trip the tests check).
Look-up sheets (``参考 …``) and the example rows are ignored when the workbook is read
(:func:`resynergy.scenario.io.is_aside`, :data:`resynergy.scenario.io.EXAMPLE_MARK`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from resynergy import catalog, schema
from resynergy.indicators.definitions import INDICATORS
from resynergy.scenario import io
from resynergy.schema import units
from resynergy.schema.cells import plain

if TYPE_CHECKING:
    from resynergy.scenario.model import Scenario

# Tables a user fills: everything but the reference tables (the catalog keeps those).
FILLABLE: tuple[str, ...] = tuple(t for t in schema.TABLE_NAMES if t not in schema.REFERENCE_TABLES)
LAST_ROW = 5000  # drop-down lists cover rows 3…LAST_ROW
EXAMPLE_DATASET = "jjj-2022"  # the example rows are this built-in dataset's first rows

# Examples for tables the built-in dataset leaves empty (codes from the built-in dataset).
_EXAMPLES: dict[str, dict[str, object]] = {
    "organisations": {"uscc": "91130800MA0A1B2C35", "name_zh": "承德示例资源综合利用有限公司",
                      "region": "130800"},
    "lanes": {"from_site": "S-chengde", "to_site": "T-dahongmen", "mode": "rail", "distance_km": 260},
    "policy": {"key": "carbon_price", "value": 80, "unit": "yuan/tCO2"},
    "actual_flows": {"manifest": "LD2022130800000001", "year": 2022, "from_site": "G-110000-mine",
                     "to_site": "S-chengde", "material": "tailings", "mode": "road_diesel", "t": 1200},
}


def _lookups() -> dict[str, pd.DataFrame]:
    """Look-up sheets (title → rows): the codes a user may enter, with names in both languages."""
    mats = catalog.table("materials")
    procs = catalog.table("processes")
    modes = catalog.table("modes")
    regions = _builtin().table("regions")
    policy = catalog.table("policy")
    return {
        f"{io.LOOKUP_PREFIX}指标 indicators": pd.DataFrame(
            [(i.id, i.name_zh, i.name_en, i.unit, units.DIMENSION_ZH.get(units.dimension(i.unit), ""),
              "越低越好 lower is better" if i.better == "lower" else "越高越好 higher is better")
             for i in INDICATORS.values()],
            columns=["指标代码 indicator", "中文", "English", "单位 unit", "量纲 dimension", "方向 direction"]),
        f"{io.LOOKUP_PREFIX}单位 units": pd.DataFrame(
            [(u, units.DIMENSION_ZH[d], d, f) for u, (d, f) in units.UNITS.items()],
            columns=["单位 unit", "量纲", "dimension", "折算为基本单位 factor to t / yuan / count / share"]),
        f"{io.LOOKUP_PREFIX}物料 materials": mats[["code", "name_zh", "name_en", "kind"]].set_axis(
            ["物料代码 code", "中文", "English", "类别 kind"], axis=1),
        f"{io.LOOKUP_PREFIX}工艺 processes": procs[["id", "name_zh", "name_en"]].set_axis(
            ["工艺代码 id", "中文", "English"], axis=1),
        f"{io.LOOKUP_PREFIX}运输方式 modes": modes[["id", "name_zh", "name_en"]].set_axis(
            ["运输方式代码 id", "中文", "English"], axis=1),
        f"{io.LOOKUP_PREFIX}行政区划 regions": regions[["code", "name_zh", "name_en", "level", "parent"]].set_axis(
            ["区划代码 code (GB/T 2260)", "中文", "English", "级别 level", "上级 parent"], axis=1),
        f"{io.LOOKUP_PREFIX}政策参数 policy": policy[["key", "value", "unit", "description"]].set_axis(
            ["参数 key", "默认值 default", "单位 unit", "说明 description"], axis=1),
    }


# Which look-up sheet lists the valid values of a reference (first column of the sheet).
_REF_LOOKUP = {"materials.code": "物料 materials", "processes.id": "工艺 processes", "modes.id": "运输方式 modes",
               "regions.code": "行政区划 regions"}
_COLUMN_LOOKUP = {("targets", "indicator"): "指标 indicators", ("policy", "key"): "政策参数 policy"}


def _builtin() -> Scenario:
    """The example dataset (``Scenario.from_builtin`` reads it once per process)."""
    from resynergy.scenario.model import Scenario  # the model module imports this package's io

    return Scenario.from_builtin(EXAMPLE_DATASET)


def examples() -> dict[str, dict[str, object]]:
    """One example row per fillable table (and actual flows)."""
    out = {}
    for name in (*FILLABLE, *schema.RECORD_TABLES):
        if name in _EXAMPLES:
            out[name] = _EXAMPLES[name]
            continue
        frame = _builtin().table(name)
        out[name] = {k: v for k, v in frame.iloc[0].items() if not (isinstance(v, float) and pd.isna(v))}
    return out


def write_template(path: Path, tables: Sequence[str] = FILLABLE,
                   filled: dict[str, pd.DataFrame] | None = None) -> Path:
    """A workbook of ``tables`` to fill in (with ``filled``'s rows, if given), then look-ups."""
    wb = Workbook()
    io.instructions(wb.active, tables)
    _guide(wb.active)
    ex = examples()
    for name in tables:
        ws = wb.create_sheet(name)
        frame = (filled or {}).get(name)
        if frame is not None:
            frame = frame.reindex(columns=[c.name for c in schema.columns(name)])
        io.table_sheet(ws, name, frame, first=4)
        example_row(ws, name, ex.get(name, {}))
        _describe(ws, name)
        _drop_downs(ws, name)
    for title, frame in _lookups().items():
        lookup_sheet(wb, title, frame)
    return io.save(wb, path)


def lookup_sheet(wb: Workbook, title: str, frame: pd.DataFrame) -> None:
    """A look-up sheet (ignored on import): a note, bold headers, then ``frame``'s rows."""
    ws = wb.create_sheet(title)
    ws.append(["本表仅供查阅，导入时忽略 / for look-up only, ignored on import"])
    ws.append(list(frame.columns))
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for record in frame.itertuples(index=False):
        ws.append([None if isinstance(v, float) and pd.isna(v) else plain(v) for v in record])
    for j in range(1, frame.shape[1] + 1):
        ws.column_dimensions[get_column_letter(j)].width = 24


def _guide(ws: Worksheet) -> None:
    """Lines on the instructions sheet about what the template adds (examples, look-ups)."""
    ws.insert_rows(6, 4)
    lines = [
        "第 3 行为示例行（灰色斜体，最后一列标注“示例行”），导入时忽略，可保留或删除；请从第 4 行起填写。",
        "Row 3 is an example (grey italics, marked in the last column) and is ignored on import; fill in from row 4.",
        "下拉列表列出可选值；以“参考”开头的工作表列出指标、单位、物料、工艺、运输方式、行政区划和政策参数的代码，导入时忽略。",
        "Drop-down lists give the valid choices; the sheets starting with 参考 list the codes (indicators, units, materials, processes, modes, regions, policy) and are ignored on import.",
    ]
    for i, line in enumerate(lines, start=6):
        ws.cell(i, 1, line)


def example_row(ws: Worksheet, name: str, example: dict[str, object]) -> None:
    """Row 3 of a sheet of table ``name``: the example (grey, marked in a note column after the
    table's columns), which the reader ignores."""
    cols = schema.columns(name)
    grey = Font(color="808080", italic=True)
    for j, col in enumerate(cols, start=1):
        value = example.get(col.name)
        if value is None or value == "":
            continue
        cell = ws.cell(3, j, plain(value))
        cell.font = grey
    note = len(cols) + 1
    ws.cell(1, note, io.NOTE_HEADER).font = Font(bold=True)
    ws.cell(2, note, io.NOTE_HEADER).font = Font(color="808080", size=9)  # the reader's header row
    ws.cell(3, note, io.EXAMPLE_MARK).font = grey
    ws.column_dimensions[get_column_letter(note)].width = 30


def _describe(ws: Worksheet, name: str) -> None:
    """Each header cell carries its column's description, unit and choices as a comment."""
    for j, col in enumerate(schema.columns(name), start=1):
        text = [col.describe("zh"), col.describe("en")]
        if col.unit:
            text.append(f"单位 unit: {col.unit}")
        if col.required:
            text.append("必填 required")
        elif col.default:
            text.append(f"默认 default: {col.default}")
        comment = Comment("\n".join(text), "resynergy")
        comment.width, comment.height = 300, 160
        ws.cell(1, j).comment = comment


def _drop_downs(ws: Worksheet, name: str) -> None:
    """List validations: choices and yes/no refuse other values; references to codes offer the
    look-up list (or the filled sheet's codes) but only warn, since new codes may be registered."""
    key_sheets = {f"{t}.{c}": (t, c) for t in FILLABLE for c in schema.key_columns(t)}
    for j, col in enumerate(schema.columns(name), start=1):
        letter = get_column_letter(j)
        lookup = _COLUMN_LOOKUP.get((name, col.name)) or _REF_LOOKUP.get(col.ref)
        strict = True
        if col.choices:
            formula = '"' + ",".join(col.choices) + '"'
        elif col.dtype == "bool":
            formula = '"是,否,true,false"'
        elif lookup:
            formula, strict = f"'{io.LOOKUP_PREFIX}{lookup}'!$A$3:$A${LAST_ROW}", False
        elif col.ref in key_sheets and len(schema.key_columns(col.ref.split(".")[0])) == 1:
            table, key = key_sheets[col.ref]
            k = [c.name for c in schema.columns(table)].index(key) + 1
            formula, strict = f"'{table}'!${get_column_letter(k)}$4:${get_column_letter(k)}${LAST_ROW}", False
        else:
            continue
        drop_down(ws, letter, formula, strict)


def drop_down(ws: Worksheet, letter: str, formula: str, strict: bool, last_row: int = LAST_ROW) -> None:
    """A list validation on column ``letter`` from row 3: ``strict`` refuses other values,
    otherwise a value off the list only warns."""
    dv = DataValidation(type="list", formula1=formula, allow_blank=True,
                        errorStyle="stop" if strict else "warning", showErrorMessage=True,
                        error="请从下拉列表中选择 / pick from the list",
                        errorTitle="无效的值 / invalid value")
    dv.add(f"{letter}3:{letter}{last_row}")
    ws.add_data_validation(dv)
