"""Numbers in plain words: magnitudes a reader can take in (万吨/亿吨, kt/Mt).

The one number formatting of every output (monitor lines, report, pages, terminal).
"""

from __future__ import annotations

import math


def quantity(value: float, unit: str, lang: str = "zh") -> str:
    """A value in a readable magnitude: 万吨/亿吨 in Chinese, kt/Mt in English."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    v = float(value)
    if unit == "share":
        return f"{v:.1%}"
    if unit == "count":
        return f"{v:,.0f}" + ("个" if lang == "zh" else "")
    if unit == "kg":  # CO2: shown in tonnes
        v, unit = v / 1000.0, "tCO2"
    scales = {
        ("zh", "t"): ((1e8, "亿吨"), (1e4, "万吨"), (1, "吨")),
        ("en", "t"): ((1e9, "Gt"), (1e6, "Mt"), (1e3, "kt"), (1, "t")),
        ("zh", "yuan"): ((1e8, "亿元"), (1e4, "万元"), (1, "元")),
        ("en", "yuan"): ((1e9, "bn yuan"), (1e6, "m yuan"), (1, "yuan")),
        ("zh", "tCO2"): ((1e8, "亿吨CO₂"), (1e4, "万吨CO₂"), (1, "吨CO₂")),
        ("en", "tCO2"): ((1e9, "Gt CO₂"), (1e6, "Mt CO₂"), (1e3, "kt CO₂"), (1, "t CO₂")),
    }.get(("zh" if lang == "zh" else "en", unit))
    if not scales:
        return f"{v:,.4g} {unit}".strip()
    for factor, name in scales:
        if abs(v) >= factor:
            return f"{v / factor:,.2f} {name}" if factor > 1 else f"{v:,.1f} {name}"
    return f"{v:,.1f} {scales[-1][1]}"
