"""Terminal conventions shared by every command: data on stdout, messages and progress on stderr."""

from __future__ import annotations

from enum import StrEnum

from rich.console import Console

out = Console()
err = Console(stderr=True)
for _console in (out, err):
    if not _console.is_terminal:  # piped or captured: don't squeeze tables into 80 columns
        _console.width = 160


class Lang(StrEnum):
    zh = "zh"
    en = "en"


def say(lang: Lang | str, zh: str, en: str) -> str:
    """The text in the user's language."""
    return zh if str(getattr(lang, "value", lang)) == "zh" else en
