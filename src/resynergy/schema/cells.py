"""Spreadsheet cell safety: text that a spreadsheet program would run as a formula."""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value: object) -> bool:
    """True for text a spreadsheet could treat as a formula (CSV/XLSX injection, OWASP)."""
    return isinstance(value, str) and value.startswith(FORMULA_START)
