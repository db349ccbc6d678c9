"""Evaluation periods: a month, quarter, half-year or year (the evaluation rules allow monthly to
annual periods; note §1.2 step 10)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from resynergy.schema.issues import Issue, ScenarioError

_FORMS = re.compile(r"^(\d{4})(?:(?:-(\d{1,2}))|(?:Q([1-4]))|(?:H([12])))?$")


class PeriodError(ScenarioError):
    """Text that is not a period; ``issues`` says what was expected."""


class PeriodIssue(Issue):
    messages = {**Issue.messages, "bad_period": (
        "期间应为「2022」「2022H1」「2022Q1」或「2022-03」（年、半年、季度或月）",
        "a period is 2022, 2022H1, 2022Q1 or 2022-03 (a year, half, quarter or month)")}


@dataclass(frozen=True)
class Period:
    """A run of whole months: ``start`` (first day) to ``end`` (last day), and its ``text``."""

    text: str
    start: date
    end: date

    @classmethod
    def parse(cls, text: str, source: str = "period") -> Period:
        """``"2022"``, ``"2022H1"``, ``"2022Q1"`` or ``"2022-03"`` (PeriodError otherwise)."""
        raw = str(text).strip().upper()
        m = _FORMS.match(raw)
        year = int(m.group(1)) if m else 0
        if m is None or not 2000 <= year <= 2100 or (m.group(2) and not 1 <= int(m.group(2)) <= 12):
            raise PeriodError([PeriodIssue("bad_period", source=source, value=text)])
        if m.group(2):
            first = last = int(m.group(2))
            norm = f"{year}-{first:02d}"
        elif m.group(3):
            q = int(m.group(3))
            first, last, norm = 3 * q - 2, 3 * q, f"{year}Q{q}"
        elif m.group(4):
            h = int(m.group(4))
            first, last, norm = 6 * h - 5, 6 * h, f"{year}H{h}"
        else:
            first, last, norm = 1, 12, str(year)
        start = date(year, first, 1)
        end = (date(year + 1, 1, 1) if last == 12 else date(year, last + 1, 1)) - timedelta(days=1)
        return cls(norm, start, end)

    @property
    def months(self) -> list[str]:
        """Its months as "YYYY-MM"."""
        return [f"{self.start.year}-{m:02d}" for m in range(self.start.month, self.end.month + 1)]

    @property
    def label_zh(self) -> str:
        kind = self.text[4:5]
        y = self.start.year
        if kind == "Q":
            return f"{y}年第{self.text[5]}季度"
        if kind == "H":
            return f"{y}年{'上' if self.text[5] == '1' else '下'}半年"
        if kind == "-":
            return f"{y}年{self.start.month}月"
        return f"{y}年度"

    @property
    def label_en(self) -> str:
        kind = self.text[4:5]
        y = self.start.year
        if kind == "Q":
            return f"Q{self.text[5]} {y}"
        if kind == "H":
            return f"H{self.text[5]} {y}"
        if kind == "-":
            return self.start.strftime("%B %Y")
        return f"year {y}"

    def label(self, lang: str = "zh") -> str:
        return self.label_zh if lang == "zh" else self.label_en

    def __str__(self) -> str:
        return self.text


def month_first_day(month: str) -> date:
    """The first day of a "YYYY-MM" month."""
    return date(int(month[:4]), int(month[5:7]), 1)
