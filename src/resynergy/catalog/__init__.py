"""Reference catalog: materials, processes, modes, tax incentives, the plan's targets and policy
defaults, shipped as CSV files under ``catalog/data/`` (sources in ``catalog/SOURCES.md``).

Every table has exactly the columns of :mod:`resynergy.schema`, typed as the schema says.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import pandas as pd

from resynergy import schema

TABLES: tuple[str, ...] = (
    "materials", "processes", "process_io", "modes", "incentives", "targets", "policy",
)


def _typed(name: str, text: pd.Series, col: schema.Column) -> pd.Series:
    """A column of CSV text converted to the schema dtype; blanks take the schema default."""
    text = text.str.strip()
    if col.dtype == "str":
        return text.astype(str)
    if col.default != "":
        text = text.where(text != "", col.default)
    if col.dtype == "bool":
        typed = text.str.lower().map({"true": True, "false": False})
    else:
        typed = pd.to_numeric(text.where(text != "", None), errors="coerce")
    bad = typed.isna() & (text != "") if col.dtype != "bool" else typed.isna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise ValueError(f"catalog/data/{name}.csv row {row + 2} column {col.name!r}: "
                         f"{text.iloc[row]!r} is not a valid {col.dtype}")
    return typed.astype({"bool": "bool", "int": "int64", "float": "float64"}[col.dtype])


@cache
def _read(name: str) -> pd.DataFrame:
    if name not in TABLES:
        raise KeyError(f"unknown catalog table {name!r}; known: {', '.join(TABLES)}")
    path = files("resynergy.catalog").joinpath("data", f"{name}.csv")
    with path.open(encoding="utf-8") as fh:
        raw = pd.read_csv(fh, dtype=str, keep_default_na=False)
    cols = schema.columns(name)
    if list(raw.columns) != [c.name for c in cols]:
        raise ValueError(f"catalog/data/{name}.csv: columns {list(raw.columns)} differ from the schema "
                         f"{[c.name for c in cols]}")
    return pd.DataFrame({c.name: _typed(name, raw[c.name], c) for c in cols})


def table(name: str) -> pd.DataFrame:
    """A copy of one catalog table (materials, processes, process_io, modes, incentives, targets,
    policy) with the schema's columns and dtypes."""
    return _read(name).copy()


def material_name(code: str, lang: str = "zh") -> str:
    """The Chinese (``lang="zh"``) or English name of a material code."""
    materials = _read("materials")
    hit = materials.loc[materials["code"] == code, "name_zh" if lang == "zh" else "name_en"]
    if hit.empty:
        raise KeyError(f"unknown material code {code!r}")
    return str(hit.iloc[0])
