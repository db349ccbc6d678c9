"""Reference catalog: materials, processes, modes, tax incentives, the plan's targets and policy
defaults, shipped as CSV files under ``catalog/data/`` (sources in ``catalog/SOURCES.md``).
``incentives.csv`` maps the planner's processes to rule ids; its figures are read from the
evaluation's VAT and EIT rows (:func:`resynergy.evaluation.rules.planner_incentives`).

Every table has exactly the columns of :mod:`resynergy.schema`, typed as the schema says.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import pandas as pd

from resynergy import schema
from resynergy.schema.coerce import RawTable, coerce

TABLES: tuple[str, ...] = (
    "materials", "processes", "process_io", "modes", "incentives", "targets", "policy",
)


@cache
def _read(name: str) -> pd.DataFrame:
    if name not in TABLES:
        raise KeyError(f"unknown catalog table {name!r}; known: {', '.join(TABLES)}")
    path = files("resynergy.catalog").joinpath("data", f"{name}.csv")
    with path.open(encoding="utf-8") as fh:
        raw = pd.read_csv(fh, dtype=str, keep_default_na=False)
    if name == "incentives":  # the process → rule mapping; the figures are the evaluation's rules
        from resynergy.evaluation.rules import planner_incentives

        raw = planner_incentives(raw)
    cols = [c.name for c in schema.columns(name)]
    if list(raw.columns) != cols:
        raise ValueError(f"catalog/data/{name}.csv: columns {list(raw.columns)} differ from the schema {cols}")
    frame, issues = coerce(RawTable.of(name, raw, f"catalog/data/{name}.csv"))
    if issues:
        raise ValueError("\n".join(i.message("en") for i in issues))
    return frame


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
