"""Turn raw tables (as read from files or given by code) into typed, checked tables.

Every problem is collected as an :class:`~resynergy.scenario.issues.Issue` with the row number the
user sees; nothing stops at the first error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from resynergy import schema
from resynergy.scenario import uscc
from resynergy.scenario.issues import Issue

ROLES = ("generator", "facility", "demand", "terminal", "disposal")
_TRUE = {"true", "1", "yes", "y", "是", "t"}
_FALSE = {"false", "0", "no", "n", "否", "f"}
_BALANCE_TOL = 1e-6


@dataclass(frozen=True)
class RawTable:
    """A table as read: untyped cells, the name of its file or sheet, and user-visible rows."""

    name: str
    frame: pd.DataFrame
    source: str
    rows: tuple[int, ...]  # user-visible row number of each frame row

    @classmethod
    def of(cls, name: str, frame: pd.DataFrame, source: str = "", first_row: int = 2) -> RawTable:
        frame = frame.reset_index(drop=True)
        return cls(name, frame, source or name, tuple(range(first_row, first_row + len(frame))))


def _is_empty(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def _as_text(value: object) -> str:
    if _is_empty(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    return str(value).strip()


def coerce(raw: RawTable) -> tuple[pd.DataFrame, list[Issue]]:
    """Typed frame with every schema column (defaults filled) and the issues found."""
    cols = schema.columns(raw.name)
    known = [c.name for c in cols]
    issues: list[Issue] = []
    rows = np.asarray(raw.rows, dtype=np.int64)

    def issue(code: str, row: int | None = None, column: str = "", value: object = None,
              **params: object) -> None:
        issues.append(Issue(code, raw.name, raw.source, row, column, value, params))

    for extra in (c for c in raw.frame.columns if c not in known):
        issue("unknown_column", 1, str(extra), choices=", ".join(known))
    out: dict[str, pd.Series] = {}
    n = len(raw.frame)
    for col in cols:
        if col.name not in raw.frame.columns:
            if col.required and col.default == "" and n:
                issue("missing_column", 1, col.name)
            default = col.default_value()
            out[col.name] = _typed(pd.Series([default] * n, dtype=object), col.dtype)
            continue
        values = raw.frame[col.name].astype(object)
        empty = values.map(_is_empty).to_numpy(dtype=bool)
        if col.default != "":
            values = values.where(~empty, col.default_value())
        elif col.required:
            for i in np.flatnonzero(empty):
                issue("required", int(rows[i]), col.name)
        typed, bad = _convert(values, col.dtype, empty if col.default == "" else np.zeros(n, bool))
        for i in np.flatnonzero(bad):
            code = {"float": "not_number", "int": "not_integer", "bool": "not_bool"}[col.dtype]
            issue(code, int(rows[i]), col.name, values.iloc[i])
        if col.dtype in ("float", "int"):
            num = typed.astype(float)
            for bound, code, cmp in ((col.min, "below_min", np.less), (col.max, "above_max", np.greater)):
                if bound is None:
                    continue
                for i in np.flatnonzero(cmp(num.to_numpy(), bound) & ~np.isnan(num.to_numpy())):
                    if col.name in ("lat", "lon"):
                        issue("outside_china", int(rows[i]), col.name, values.iloc[i])
                    else:
                        issue(code, int(rows[i]), col.name, values.iloc[i], min=col.min, max=col.max)
        if col.choices:
            bad_choice = ~typed.isin(col.choices) & (typed != "")
            for i in np.flatnonzero(bad_choice.to_numpy()):
                issue("bad_choice", int(rows[i]), col.name, typed.iloc[i], choices=", ".join(col.choices))
        out[col.name] = typed
    frame = pd.DataFrame(out, index=pd.RangeIndex(n))
    return frame, issues


def _convert(values: pd.Series, dtype: str, empty: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """Values converted to ``dtype`` and a mask of cells that could not be converted."""
    if dtype == "str":
        return values.map(_as_text).astype(str), np.zeros(len(values), bool)
    if dtype == "bool":
        text = values.map(lambda v: _as_text(v).lower())
        ok = text.isin(_TRUE | _FALSE).to_numpy() | empty
        return text.isin(_TRUE).astype(bool), ~ok
    text = values.map(lambda v: v if isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                      else _as_text(v))
    num = pd.to_numeric(text, errors="coerce").astype(float)
    bad = num.isna().to_numpy() & ~empty
    if dtype == "int":
        frac = num.notna() & (num != np.floor(num))
        bad |= frac.to_numpy()
        return num.fillna(0).round().astype(np.int64), bad
    return num, bad


def _typed(values: pd.Series, dtype: str) -> pd.Series:
    typed, _ = _convert(values, dtype, np.ones(len(values), bool))
    return typed


def check_keys(name: str, frame: pd.DataFrame, raw: RawTable) -> list[Issue]:
    """Duplicate keys, with the row of the first occurrence."""
    keys = schema.key_columns(name)
    if not keys or frame.empty:
        return []
    dup = frame.duplicated(keys, keep=False).to_numpy()
    issues = []
    first: dict[tuple, int] = {}
    for i in np.flatnonzero(dup):
        k = tuple(frame.iloc[i][keys])
        if k in first:
            issues.append(Issue("duplicate", name, raw.source, raw.rows[i], ", ".join(keys),
                                " / ".join(map(str, k)), {"other": first[k]}))
        else:
            first[k] = raw.rows[i]
    return issues


def check_cross(tables: dict[str, pd.DataFrame], raws: dict[str, RawTable]) -> list[Issue]:
    """References between tables and the domain rules that span columns or tables."""
    issues: list[Issue] = []

    def at(name: str, i: int) -> tuple[str, int | None]:
        raw = raws.get(name)
        return (raw.source, raw.rows[i]) if raw else (name, i + 2)

    for name, frame in tables.items():
        for col in schema.columns(name):
            if not col.ref or frame.empty:
                continue
            ref_table, ref_col = col.ref.split(".")
            known = set(tables[ref_table][ref_col]) if ref_table in tables else set()
            bad = (~frame[col.name].isin(known) & (frame[col.name] != "")).to_numpy()
            for i in np.flatnonzero(bad).tolist():
                src, row = at(name, i)
                issues.append(Issue("unknown_ref", name, src, row, col.name, frame[col.name].iloc[i],
                                    {"ref_table": ref_table, "ref_column": ref_col}))
    for name, column in (("organisations", "uscc"), ("sites", "org_uscc")):
        frame = tables[name]
        for i, code in enumerate(frame[column]):
            if code and not uscc.is_valid(code):
                src, row = at(name, i)
                check = uscc.check_char(code[:17]) if len(code) >= 17 and all(
                    ch in uscc.ALPHABET for ch in code[:17].upper()) else "?"
                issues.append(Issue("bad_uscc", name, src, row, column, code, {"check": check}))
    for i, roles in enumerate(tables["sites"]["roles"]):
        for role in (r.strip() for r in roles.split(";") if r.strip()):
            if role not in ROLES:
                src, row = at("sites", i)
                issues.append(Issue("bad_role", "sites", src, row, "roles", role, {"choices": ", ".join(ROLES)}))
    issues += _check_recipes(tables, at)
    issues += _check_kinds(tables, at)
    fac = tables["facilities"]
    short = (fac["expandable"] & (fac["max_capacity_t"] < fac["capacity_t"])).to_numpy()
    for i in np.flatnonzero(short).tolist():
        src, row = at("facilities", i)
        issues.append(Issue("max_below_capacity", "facilities", src, row, "max_capacity_t",
                            fac["max_capacity_t"].iloc[i], {"capacity": fac["capacity_t"].iloc[i]}))
    return issues


def _check_recipes(tables: dict[str, pd.DataFrame], at) -> list[Issue]:
    io = tables["process_io"]
    sums = io.pivot_table(index="process", columns="direction", values="rate", aggfunc="sum", fill_value=0.0)
    issues = []
    for i, (pid, declared) in enumerate(zip(tables["processes"]["id"], tables["processes"]["mass_yield"], strict=True)):
        inputs = float(sums["in"].get(pid, 0.0)) if "in" in sums else 0.0
        outputs = float(sums["out"].get(pid, 0.0)) if "out" in sums else 0.0
        if abs(inputs - 1.0) > _BALANCE_TOL or abs(outputs - declared) > _BALANCE_TOL:
            src, row = at("processes", i)
            issues.append(Issue("unbalanced", "processes", src, row, "mass_yield", pid,
                                {"inputs": round(inputs, 6), "outputs": round(outputs, 6), "mass_yield": declared}))
    return issues


def _check_kinds(tables: dict[str, pd.DataFrame], at) -> list[Issue]:
    kind = dict(zip(tables["materials"]["code"], tables["materials"]["kind"], strict=True))
    issues = []
    for name, want_product in (("supplies", False), ("demands", True)):
        for i, mat in enumerate(tables[name]["material"]):
            if mat in kind and (kind[mat] == "product") != want_product:
                src, row = at(name, i)
                expected = "product" if want_product else "industrial_waste | recycled_resource | urban_waste"
                issues.append(Issue("wrong_kind", name, src, row, "material", mat,
                                    {"expected": expected, "actual": kind[mat]}))
    return issues
