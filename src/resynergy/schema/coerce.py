"""Turn one raw table (as read from a file or given by code) into a typed, checked table.

Every problem is collected as an :class:`~resynergy.schema.issues.Issue` with the row number the
user sees; nothing stops at the first error. Checks that span tables live in
:mod:`resynergy.scenario.validate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from resynergy import schema
from resynergy.schema.cells import has_control, visible
from resynergy.schema.issues import Issue

_TRUE = {"true", "1", "yes", "y", "是", "t"}
_FALSE = {"false", "0", "no", "n", "否", "f"}
UNKNOWN_COLUMNS_NAMED = 20  # unknown columns named in the one issue that reports them


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
        issues.append(Issue(code, raw.name, raw.source, row, column, visible(value), params))

    known_set = set(known)
    extras = [str(c) for c in raw.frame.columns if c not in known_set]
    if extras:  # one issue for all of them: a file with thousands of columns stays cheap to report
        more = len(extras) - UNKNOWN_COLUMNS_NAMED
        named = ", ".join(extras[:UNKNOWN_COLUMNS_NAMED]) + (f" … (+{more})" if more > 0 else "")
        issue("unknown_column" if len(extras) == 1 else "unknown_columns", 1, extras[0],
              named if len(extras) > 1 else None, choices=", ".join(known), count=len(extras))
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
        if col.dtype == "str":
            bad = typed.map(has_control).to_numpy(dtype=bool)
        for i in np.flatnonzero(bad):
            code = {"str": "control_chars", "float": "not_number", "int": "not_integer",
                    "bool": "not_bool"}[col.dtype]
            if col.dtype in ("float", "int") and _non_finite(values.iloc[i]):
                code = "not_finite"
            issue(code, int(rows[i]), col.name, values.iloc[i])
        if col.dtype in ("float", "int"):
            num = typed.astype(float)
            for bound, code, cmp in ((col.min, "below_min", np.less), (col.max, "above_max", np.greater)):
                if bound is None:
                    continue
                for i in np.flatnonzero(cmp(num.to_numpy(), bound) & ~np.isnan(num.to_numpy()) & ~bad):
                    if col.name in ("lat", "lon"):
                        issue("outside_china", int(rows[i]), col.name, values.iloc[i])
                    else:
                        issue(code, int(rows[i]), col.name, values.iloc[i], min=f"{col.min:g}" if col.min is not None else "",
                              max=f"{col.max:g}" if col.max is not None else "")
        if col.choices:
            bad_choice = ~typed.isin(col.choices) & (typed != "")
            for i in np.flatnonzero(bad_choice.to_numpy()):
                issue("bad_choice", int(rows[i]), col.name, typed.iloc[i], choices=", ".join(col.choices))
        out[col.name] = typed
    if "name_en" in out and "name_zh" in out:  # an English name left blank takes the Chinese one
        out["name_en"] = out["name_en"].where(out["name_en"] != "", out["name_zh"])
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
    num = num.where(np.isfinite(num.to_numpy()))  # ±inf (also "1e400") is refused like text
    bad = num.isna().to_numpy() & ~empty
    if dtype == "int":
        frac = num.notna() & (num != np.floor(num))
        bad |= frac.to_numpy()
        return num.fillna(0).round().astype(np.int64), bad
    return num, bad


def _non_finite(value: object) -> bool:
    """True for a cell that reads as infinity or NaN ("inf", "1e400", "nan", float('inf'))."""
    try:
        return not math.isfinite(float(value if isinstance(value, (int, float, np.number)) else _as_text(value)))
    except (TypeError, ValueError, OverflowError):
        return False


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


