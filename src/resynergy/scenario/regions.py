"""Provinces of region codes (GB/T 2260): one definition for indicators, scenarios and access."""

from __future__ import annotations

import pandas as pd


def province_code(code: str) -> str:
    """The province of a 6-digit GB/T 2260 code by its first two digits ('' for anything else)."""
    code = (code or "").strip()
    return code[:2] + "0000" if len(code) == 6 and code.isdigit() else ""


def province_of(codes: pd.Series, regions: pd.DataFrame) -> pd.Series:
    """Province code of each region code: itself for provinces, else its parent in ``regions``;
    codes the table lacks (or whose parent is blank) fall back to :func:`province_code`."""
    r = regions.set_index("code")
    parent = r["parent"].where(r["level"] != "province", r.index.to_series())
    parent = parent[parent.astype(str) != ""]
    codes = codes.astype(str)
    return codes.map(parent).fillna(codes.map(province_code))
