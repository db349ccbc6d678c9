"""Schema of every scenario table: one row per column (dtype, unit, default, label).

The schema is data (``tables.csv``), in the spirit of PyPSA's ``component_attrs``: it drives
validation, type coercion, defaults, workbook headers and the documentation.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

# Tables a scenario may hold, in the order they appear in workbooks and folders.
TABLE_NAMES: tuple[str, ...] = (
    "regions", "organisations", "sites", "supplies", "facilities", "demands", "virgin_supply",
    "terminals", "lanes", "corridors", "programmes", "targets", "policy",
    "materials", "processes", "process_io", "modes", "incentives",
)
# Records that are checked against a scenario but are not part of one (what actually happened).
RECORD_TABLES: tuple[str, ...] = ("actual_flows",)
# Battery records (issue 14, resynergy.batteries): lifecycle events and test records of units.
BATTERY_TABLES: tuple[str, ...] = ("battery_events", "battery_tests")
# An enterprise's ISW ledger (issue 13, resynergy.evaluation): waste by month, receipts, use by
# product, products, and the firm's profile.
LEDGER_TABLES: tuple[str, ...] = ("ledger_waste", "ledger_receipts", "ledger_use", "ledger_products", "ledger_firm")
# Reference tables: taken from the catalog when a scenario does not bring its own.
REFERENCE_TABLES: tuple[str, ...] = ("materials", "processes", "process_io", "modes", "incentives")
# Tables the platform keeps in its registry (users edit and import them): all but the reference
# tables, which come from the catalog.
REGISTRY_TABLES: tuple[str, ...] = tuple(t for t in TABLE_NAMES if t not in REFERENCE_TABLES)


@dataclass(frozen=True)
class Column:
    """One column of a scenario table."""

    table: str
    name: str
    dtype: str  # str | float | int | bool
    unit: str
    required: bool
    default: str
    key: bool
    ref: str  # "table.column" this column must reference, or ""
    min: float | None
    max: float | None
    choices: tuple[str, ...]
    description: str
    description_zh: str
    label_zh: str
    label_en: str

    def label(self, lang: str = "zh") -> str:
        """Header label in the given language, with the unit."""
        text = self.label_zh if lang == "zh" else self.label_en
        return f"{text} ({self.unit})" if self.unit else text

    def describe(self, lang: str = "zh") -> str:
        """What the column holds, in ``lang``."""
        return self.description_zh if lang == "zh" else self.description

    def default_value(self) -> object:
        """The default converted to the column's dtype (None when there is none)."""
        if self.default == "":
            return "" if self.dtype == "str" else None
        if self.dtype == "bool":
            return self.default.lower() == "true"
        if self.dtype == "int":
            return int(self.default)
        if self.dtype == "float":
            return float(self.default)
        return self.default


def _num(text: str) -> float | None:
    return float(text) if text else None


@cache
def _all_columns() -> tuple[Column, ...]:
    with files("resynergy.schema").joinpath("tables.csv").open(encoding="utf-8") as fh:
        return tuple(
            Column(
                table=r["table"], name=r["column"], dtype=r["dtype"], unit=r["unit"],
                required=r["required"] == "true", default=r["default"], key=r["key"] == "true",
                ref=r["ref"], min=_num(r["min"]), max=_num(r["max"]),
                choices=tuple(c for c in r["choices"].split("|") if c),
                description=r["description"], description_zh=r["description_zh"], label_zh=r["label_zh"], label_en=r["label_en"],
            )
            for r in csv.DictReader(fh)
        )


def columns(table: str) -> tuple[Column, ...]:
    """The columns of ``table`` in schema order."""
    known = TABLE_NAMES + RECORD_TABLES + BATTERY_TABLES + LEDGER_TABLES
    if table not in known:
        raise KeyError(f"unknown table {table!r}; known: {', '.join(known)}")
    return tuple(c for c in _all_columns() if c.table == table)


def key_columns(table: str) -> list[str]:
    """Names of the columns that together identify a row."""
    return [c.name for c in columns(table) if c.key]
