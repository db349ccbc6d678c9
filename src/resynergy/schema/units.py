"""Units a target may be written in: one table, one conversion.

Every unit has a dimension (mass, money, count, share) and a factor to the dimension's base unit
(t, yuan, count, share). Targets are converted once, when a scenario is read, into the unit of
their indicator (:func:`factor`), so that the planner, attainment, monitoring and every report
see the same number. The choices of ``targets.unit`` in ``tables.csv`` are exactly these units.
"""

from __future__ import annotations

# unit -> (dimension, factor to the dimension's base unit)
UNITS: dict[str, tuple[str, float]] = {
    "kg": ("mass", 1e-3),
    "t": ("mass", 1.0),
    "t/yr": ("mass", 1.0),
    "kt": ("mass", 1e3),
    "万吨": ("mass", 1e4),
    "万吨/年": ("mass", 1e4),
    "Mt": ("mass", 1e6),
    "Mt/yr": ("mass", 1e6),
    "亿吨": ("mass", 1e8),
    "亿吨/年": ("mass", 1e8),
    "yuan": ("money", 1.0),
    "万元": ("money", 1e4),
    "亿元": ("money", 1e8),
    "count": ("count", 1.0),
    "share": ("share", 1.0),
    "%": ("share", 1e-2),
}
DIMENSION_ZH = {"mass": "质量", "money": "金额", "count": "个数", "share": "比例"}


def dimension(unit: str) -> str:
    """The dimension of ``unit`` ('' when the unit is unknown)."""
    return UNITS.get(unit, ("", 0.0))[0]


def same_dimension(unit: str) -> list[str]:
    """Every unit of the dimension of ``unit`` (to list as choices)."""
    dim = dimension(unit)
    return [u for u, (d, _) in UNITS.items() if d == dim]


def factor(unit: str, to: str) -> float:
    """How many ``to`` one ``unit`` is (ValueError across dimensions or for unknown units)."""
    if unit not in UNITS or to not in UNITS:
        bad = unit if unit not in UNITS else to
        raise ValueError(f"unknown unit {bad!r}; expected one of {', '.join(UNITS)}")
    (d1, f1), (d2, f2) = UNITS[unit], UNITS[to]
    if d1 != d2:
        raise ValueError(f"cannot convert {unit} ({d1}) to {to} ({d2})")
    return f1 / f2
