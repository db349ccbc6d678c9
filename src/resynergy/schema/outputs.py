"""The result tables of a plan, declared once: the schema idea applied to outputs.

``outputs.csv`` declares every column an output table may hold (dtype, unit, zh/en label,
description); a column name means the same in every table. ``output_values.csv`` labels the
values a column takes where they are codes (the cost and emission components).
``output_tables.csv`` declares every table: whether the planner (``plan``: a table of
:class:`resynergy.planner.Plan`, kept by every platform run) or the report (``report``) makes
it, its workbook sheet, its labels, its columns in order and the name columns the exports add
after them. The planner gives its frames these columns in this order, and the exports, the
report, the platform's stored results and the API read their names, labels and units from here.

Labels carry their unit in the reader's words (``距离（公里）``), as the workbooks always have.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import pandas as pd


@dataclass(frozen=True)
class OutputColumn:
    """One column of the result tables."""

    name: str
    dtype: str  # str | float | int | bool
    unit: str
    label_zh: str
    label_en: str
    description: str
    description_zh: str

    def label(self, lang: str = "zh") -> str:
        """Header label in ``lang`` (its unit, if any, written into it)."""
        return self.label_zh if lang == "zh" else self.label_en

    def bilingual(self) -> str:
        """``中文 / English`` header (one word when both are the same)."""
        zh, en = self.label_zh, self.label_en
        return zh if zh == en else f"{zh} / {en}"

    def note(self) -> str:
        """What the column holds, zh then en, with its unit (a workbook header's note)."""
        unit = f" [{self.unit}]" if self.unit else ""
        return f"{self.description_zh}\n{self.description}{unit}"


@dataclass(frozen=True)
class OutputTable:
    """One result table."""

    name: str
    source: str  # plan | report
    sheet: str  # its worksheet in plan.xlsx
    label_zh: str
    label_en: str
    columns: tuple[str, ...]  # in order
    names: tuple[str, ...]  # name columns the exports add after ``columns``
    description: str
    description_zh: str

    def arrange(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with the declared columns first, in order, then the declared name columns,
        then any others (a plan-shaped table made elsewhere may hold fewer or more)."""
        known = [c for c in (*self.columns, *self.names) if c in frame.columns]
        return frame[known + [c for c in frame.columns if c not in known]]

    def empty(self) -> pd.DataFrame:
        """The table without rows, with its declared columns."""
        return pd.DataFrame(columns=list(self.columns))


@cache
def _rows(name: str) -> tuple[dict[str, str], ...]:
    with files("resynergy.schema").joinpath(name).open(encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))


def _split(text: str) -> tuple[str, ...]:
    return tuple(c for c in text.split("|") if c)


@cache
def all_columns() -> dict[str, OutputColumn]:
    """Every output column by name."""
    return {r["column"]: OutputColumn(name=r["column"], dtype=r["dtype"], unit=r["unit"],
                                      label_zh=r["label_zh"], label_en=r["label_en"],
                                      description=r["description"],
                                      description_zh=r["description_zh"])
            for r in _rows("outputs.csv")}


@cache
def all_tables() -> dict[str, OutputTable]:
    """Every output table by name, in workbook order."""
    return {r["table"]: OutputTable(name=r["table"], source=r["source"], sheet=r["sheet"],
                                    label_zh=r["label_zh"], label_en=r["label_en"],
                                    columns=_split(r["columns"]), names=_split(r["names"]),
                                    description=r["description"],
                                    description_zh=r["description_zh"])
            for r in _rows("output_tables.csv")}


def table(name: str) -> OutputTable:
    """The declaration of output table ``name`` (KeyError naming the known ones)."""
    tables = all_tables()
    if name not in tables:
        raise KeyError(f"unknown output table {name!r}; known: {', '.join(tables)}")
    return tables[name]


def plan_tables() -> tuple[str, ...]:
    """The tables of a Plan (what the planner makes and a platform run keeps), in order."""
    return tuple(t.name for t in all_tables().values() if t.source == "plan")


def column_names(name: str) -> list[str]:
    """The columns of output table ``name``, in order."""
    return list(table(name).columns)


@cache
def all_values() -> dict[tuple[str, str], tuple[str, str]]:
    """(column, value) -> (zh, en) label of every declared value, e.g. ('component', 'capex')."""
    return {(r["column"], r["value"]): (r["label_zh"], r["label_en"])
            for r in _rows("output_values.csv")}


def values(table_name: str, column_name: str) -> list[str]:
    """The declared values of ``column_name`` in output table ``table_name``, in order."""
    return [r["value"] for r in _rows("output_values.csv")
            if r["table"] == table_name and r["column"] == column_name]


def value_label(column_name: str, value: str, lang: str = "zh") -> str:
    """The label of ``value`` in column ``column_name`` (the value itself when undeclared)."""
    pair = all_values().get((column_name, value))
    return (pair[0] if lang == "zh" else pair[1]) if pair else value


def column_records(name: str, *, with_names: bool = False) -> list[dict[str, str]]:
    """The columns of output table ``name`` as JSON records (name, unit, label_zh, label_en,
    description_zh, description), in order; ``with_names`` adds the name columns the exports
    append."""
    decl, cols = table(name), all_columns()
    return [{"name": c, "unit": cols[c].unit, "label_zh": cols[c].label_zh,
             "label_en": cols[c].label_en, "description_zh": cols[c].description_zh,
             "description": cols[c].description}
            for c in (*decl.columns, *(decl.names if with_names else ()))]


def column(name: str) -> OutputColumn | None:
    """The declaration of output column ``name`` (None when it is not an output column)."""
    return all_columns().get(name)


def label(name: str, lang: str = "zh") -> str:
    """Header of column ``name`` in ``lang`` (the name itself for an undeclared column)."""
    col = column(name)
    return col.label(lang) if col else name


def pair(name: str) -> tuple[str, str]:
    """(zh, en) headers of column ``name`` (the name itself twice when undeclared)."""
    col = column(name)
    return (col.label_zh, col.label_en) if col else (name, name)


def bilingual(name: str) -> str:
    """``中文 / English`` header of column ``name`` (the name itself when undeclared)."""
    col = column(name)
    return col.bilingual() if col else name


def conform(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the columns of output table ``name`` in declared order; ValueError naming
    the difference when it holds other columns (a planner that drifted from its declaration).
    A frame without any columns (no rows to report) becomes the empty declared table; a frame
    already in order is returned as it is (the same object)."""
    want = table(name).columns
    if not len(frame.columns):
        return table(name).empty()
    if set(frame.columns) != set(want):
        missing = [c for c in want if c not in frame.columns]
        extra = [c for c in frame.columns if c not in want]
        raise ValueError(f"output table {name!r} does not match its declaration "
                         f"(schema/output_tables.csv): missing {missing}, undeclared {extra}")
    return frame if tuple(frame.columns) == want else frame[list(want)]
