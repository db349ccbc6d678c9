"""Cell values: text that a spreadsheet program would run as a formula, and table cells as plain
Python values for JSON, a database or a worksheet."""

from __future__ import annotations

import math
import re
from typing import Any

# Control characters a worksheet cannot hold (tab, line feed and carriage return are fine).
CONTROL_CHARS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
_CONTROL = re.compile(f"[{CONTROL_CHARS}]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value: object) -> bool:
    """True for text a spreadsheet could treat as a formula (CSV/XLSX injection, OWASP)."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def has_control(value: object) -> bool:
    """True for text holding control characters that spreadsheets and XML cannot store."""
    return isinstance(value, str) and _CONTROL.search(value) is not None


def visible(value: object) -> object:
    """Text with each control character written out as ``\\xNN`` (so it can be shown, stored in
    a worksheet or a database text column, and still be found in the file); other values as given."""
    if not isinstance(value, str) or _CONTROL.search(value) is None:
        return value
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


def plain(value: Any, *, finite: bool = False) -> Any:
    """A table cell as plain Python (for JSON, a database row or a worksheet cell): a numpy
    scalar becomes the Python scalar it holds; NaN becomes None, and so do ±infinity when
    ``finite``; anything else is returned as given. The one numpy → Python helper."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or (finite and math.isinf(value))):
        return None
    return value
