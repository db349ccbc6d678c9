"""Terminal conventions shared by every command: data on stdout, messages and progress on stderr.

``out`` and ``err`` are rich consoles made on first use (``console.out``), so that ``--help``
and commands that print nothing need not import rich's console.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    out: Console
    err: Console


def _console(stderr: bool) -> Console:
    from rich.console import Console

    c = Console(stderr=stderr)
    if not c.is_terminal:  # piped or captured: don't squeeze tables into 80 columns
        c.width = 160
    return c


def __getattr__(name: str) -> Console:
    if name in ("out", "err"):
        made = globals()[name] = _console(stderr=name == "err")
        return made
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Lang(StrEnum):
    zh = "zh"
    en = "en"


def say(lang: Lang | str, zh: str, en: str) -> str:
    """The text in the user's language."""
    return zh if str(getattr(lang, "value", lang)) == "zh" else en
