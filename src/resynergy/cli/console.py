"""Terminal conventions shared by every command: data on stdout, messages and progress on stderr."""

from __future__ import annotations

from enum import StrEnum

from rich.console import Console

out = Console()
err = Console(stderr=True)


class Lang(StrEnum):
    zh = "zh"
    en = "en"


def say(lang: Lang | str, zh: str, en: str) -> str:
    """The text in the user's language."""
    return zh if str(getattr(lang, "value", lang)) == "zh" else en
