"""GB/T 34014-2017 traction-battery codes: parse and validate with a configurable layout,
the pack → module → cell hierarchy, and re-coding of cascade-use products.

The layouts are data (``data/code_layouts.json``: field, start, length, charset or choices,
source and tag); pass another :class:`CodeRules` to try a different reading of the standard.
Every problem comes back located (position, field, value, expected) in zh and en.
"""

from __future__ import annotations

import calendar
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Any

from resynergy.batteries.issues import BatteryIssue, ScenarioError

LEVELS = ("P", "M", "C")  # pack ⊃ module ⊃ cell


@dataclass(frozen=True)
class Field:
    """One field of a code layout (``start`` is 1-based)."""

    name: str
    start: int
    length: int
    charset: str = ""  # a regex character class body, e.g. "0-9A-Z"
    choices: tuple[str, ...] = ()
    zh: str = ""
    en: str = ""

    @property
    def end(self) -> int:
        return self.start + self.length - 1

    def positions(self) -> str:
        return str(self.start) if self.length == 1 else f"{self.start}–{self.end}"


@dataclass(frozen=True)
class Layout:
    """A code layout: its scheme name, total length, fields, source and V/P/U tag."""

    scheme: str
    length: int
    fields: tuple[Field, ...]
    source: str = ""
    tag: str = "U"

    def check(self) -> None:
        """Fields must tile positions 1..length exactly (a wrong layout file fails loudly)."""
        pos = 1
        for f in sorted(self.fields, key=lambda f: f.start):
            if f.start != pos or f.length < 1:
                raise ValueError(f"layout {self.scheme}: field {f.name} starts at {f.start}, expected {pos}")
            pos += f.length
        if pos - 1 != self.length:
            raise ValueError(f"layout {self.scheme}: fields cover {pos - 1} characters, not {self.length}")


@dataclass(frozen=True)
class DateSymbols:
    """Production date: year, month, day as one character each (GB/T 34014 table; [U] reading)."""

    skip: str = "IOQ"
    year_base: int = 2010
    months: str = "123456789ABC"
    earliest_year: int = 2011
    source: str = ""
    tag: str = "U"

    @property
    def symbols(self) -> str:
        return "123456789" + "".join(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXY" if c not in self.skip)

    def bad_part(self, text: str) -> tuple[int, str, str, str, str] | None:
        """(offset, zh, en, char, allowed) of the first character that is not in its table."""
        for k, (zh, en, table) in enumerate((("年份", "year", self.symbols), ("月份", "month", self.months),
                                             ("日", "day", self.symbols))):
            if text[k] not in table:
                return k, zh, en, text[k], table
        return None

    def decode(self, text: str) -> date:
        """The date of three characters (ValueError for a bad character or a day the month lacks)."""
        if self.bad_part(text) is not None:
            raise ValueError(f"not a date code: {text!r}")
        s = self.symbols
        return date(self.year_base + s.index(text[0]) + 1, self.months.index(text[1]) + 1, s.index(text[2]) + 1)


@dataclass(frozen=True)
class CodeRules:
    """Layouts by length, the date table and the meaning of the type letters."""

    layouts: tuple[Layout, ...]
    dates: DateSymbols
    battery_types: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)  # letter: (zh, en, tag)
    product_types: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> CodeRules:
        layouts = tuple(
            Layout(scheme=lay["scheme"], length=int(lay["length"]), source=lay.get("source", ""), tag=lay.get("tag", "U"),
                   fields=tuple(Field(name=f["name"], start=int(f["start"]), length=int(f["length"]),
                                      charset=f.get("charset", ""), choices=tuple(f.get("choices", ())),
                                      zh=f.get("zh", f["name"]), en=f.get("en", f["name"])) for f in lay["fields"]))
            for lay in doc["layouts"])
        for lay in layouts:
            lay.check()
        d = doc.get("date_symbols", {})
        dates = DateSymbols(skip=d.get("skip", "IOQ"), year_base=int(d.get("year_base", 2010)),
                            months=d.get("months", "123456789ABC"), earliest_year=int(d.get("earliest_year", 2011)),
                            source=d.get("source", ""), tag=d.get("tag", "U"))
        return cls(layouts, dates, {k: tuple(v) for k, v in doc.get("battery_types", {}).items()},  # type: ignore[misc]
                   {k: tuple(v) for k, v in doc.get("product_types", {}).items()})  # type: ignore[misc]

    def layout(self, length: int) -> Layout | None:
        return next((lay for lay in self.layouts if lay.length == length), None)


@cache
def default_rules() -> CodeRules:
    """The shipped layouts (24-character full form [P], 19-character re-coded form [U])."""
    text = files("resynergy.batteries").joinpath("data/code_layouts.json").read_text(encoding="utf-8")
    return CodeRules.from_dict(json.loads(text))


@dataclass(frozen=True)
class BatteryCode:
    """A parsed code: the raw text, its scheme, its fields and the decoded production date."""

    raw: str
    scheme: str
    fields: Mapping[str, str]
    production_date: date
    tag: str

    @property
    def level(self) -> str:
        """P (pack), M (module) or C (cell)."""
        return self.fields["product_type"]

    @property
    def recoded(self) -> bool:
        return self.fields.get("recoded") == "R"

    def as_dict(self, rules: CodeRules | None = None, lang: str = "zh") -> dict[str, Any]:
        rules = rules or default_rules()
        i = 0 if lang == "zh" else 1
        chem = rules.battery_types.get(self.fields["battery_type"])
        ptype = rules.product_types.get(self.level)
        return {"code": self.raw, "scheme": self.scheme, "layout_tag": self.tag, "fields": dict(self.fields),
                "production_date": self.production_date.isoformat(),
                "product_type": ptype[i] if ptype else self.level,
                "battery_type": chem[i] if chem else self.fields["battery_type"],
                "battery_type_tag": chem[2] if chem else "U", "recoded": self.recoded}


def _expected(f: Field) -> str:
    return "|".join(f.choices) if f.choices else f"[{f.charset}]"


def check(code: str, rules: CodeRules | None = None, today: date | None = None,
          source: str = "") -> tuple[BatteryCode | None, list[BatteryIssue]]:
    """The parsed code and no issues, or None and every problem found (located)."""
    rules = rules or default_rules()
    raw = unicodedata.normalize("NFKC", code or "").strip().upper()  # full-width input from an IME
    lay = rules.layout(len(raw))
    if lay is None:
        lengths = " / ".join(str(lay.length) for lay in rules.layouts)
        return None, [BatteryIssue("code_length", source=source, value=code, column="code",
                                   params={"length": len(raw), "expected": lengths})]
    issues: list[BatteryIssue] = []
    values: dict[str, str] = {}
    for f in lay.fields:
        part = raw[f.start - 1:f.end]
        values[f.name] = part
        where = {"field_zh": f.zh, "field_en": f.en, "expected": _expected(f)}
        if f.choices:
            if part not in f.choices:
                issues.append(BatteryIssue("code_choice", source=source, column=f.name, value=part,
                                           params={"position": f.positions(), **where}))
            continue
        for k, ch in enumerate(part):
            if not re.fullmatch(f"[{f.charset}]", ch):
                issues.append(BatteryIssue("code_charset", source=source, column=f.name, value=part,
                                           params={"position": f.start + k, "char": ch, **where}))
    produced: date | None = None
    if "date" in values and not any(i.column == "date" for i in issues):
        f = next(f for f in lay.fields if f.name == "date")
        where = {"position": f.positions(), "field_zh": f.zh, "field_en": f.en}
        bad = rules.dates.bad_part(values["date"])
        if bad is not None:
            k, zh, en, ch, allowed = bad
            issues.append(BatteryIssue("code_date", source=source, column="date", value=values["date"], params={
                **where, "position": f.start + k, "part_zh": zh, "part_en": en, "char": ch, "expected": allowed}))
        else:
            try:
                produced = rules.dates.decode(values["date"])
            except ValueError:  # e.g. day 31 of a 30-day month
                d = rules.dates
                year = d.year_base + d.symbols.index(values["date"][0]) + 1
                last = calendar.monthrange(year, d.months.index(values["date"][1]) + 1)[1]
                issues.append(BatteryIssue("code_date", source=source, column="date", value=values["date"], params={
                    **where, "position": f.start + 2, "part_zh": "日", "part_en": "day", "char": values["date"][2],
                    "expected": d.symbols[:last]}))
                produced = None
        if produced is not None:
            today = today or date.today()
            if produced > today:
                issues.append(BatteryIssue("code_future", source=source, column="date", value=values["date"],
                                           params={**where, "date": produced.isoformat(), "today": today.isoformat()}))
            elif produced.year < rules.dates.earliest_year:
                issues.append(BatteryIssue("code_early", source=source, column="date", value=values["date"],
                                           params={**where, "date": produced.isoformat(), "earliest": rules.dates.earliest_year}))
    if issues or produced is None:
        return None, issues
    return BatteryCode(raw, lay.scheme, values, produced, lay.tag), []


def parse(code: str, rules: CodeRules | None = None, today: date | None = None) -> BatteryCode:
    """The parsed code, or ScenarioError listing every problem."""
    parsed, issues = check(code, rules, today)
    if parsed is None:
        raise ScenarioError(list(issues))
    return parsed


# ---- hierarchy and re-coding -------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """``child`` sits in ``parent`` (a module in a pack, a cell in a module)."""

    parent: str
    child: str


@dataclass(frozen=True)
class Recoding:
    """A cascade-use product's new code; the original code is kept and both are linked."""

    original: str
    new: str
    scheme: str

    def codes(self) -> tuple[str, str]:
        return self.original, self.new


def recode(original: str, new: str, rules: CodeRules | None = None, today: date | None = None) -> Recoding:
    """Link a cascade product's new code to its original; both must parse, and differ."""
    a, b = parse(original, rules, today), parse(new, rules, today)
    if a.raw == b.raw:
        raise ScenarioError([BatteryIssue("recode_same", column="new", value=new)])
    return Recoding(a.raw, b.raw, b.scheme)


@dataclass
class Tree:
    """Parent of each code, and children in the order linked."""

    parent: dict[str, str] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)

    def ancestors(self, code: str) -> list[str]:
        out = []
        while code in self.parent:
            code = self.parent[code]
            out.append(code)
        return out

    def descendants(self, code: str) -> list[str]:
        out, todo = [], list(self.children.get(code, []))
        while todo:
            c = todo.pop(0)
            out.append(c)
            todo.extend(self.children.get(c, []))
        return out


def build_tree(links: Iterable[Link], rules: CodeRules | None = None, today: date | None = None) -> Tree:
    """The pack → module → cell tree of ``links``; ScenarioError (every problem) when a code does
    not parse, a level is out of order (a pack in a module, a cell in a cell), a code has two
    parents or the links form a cycle."""
    issues: list[BatteryIssue] = []
    tree = Tree()
    for row, link in enumerate(links, start=1):
        a, ia = check(link.parent, rules, today)
        b, ib = check(link.child, rules, today)
        issues += [BatteryIssue(i.code, "links", "links", row, col, i.value, i.params)
                   for col, found in (("parent", ia), ("child", ib)) for i in found]
        if a is None or b is None:
            continue
        if LEVELS.index(b.level) <= LEVELS.index(a.level):
            issues.append(BatteryIssue("tree_level", row=row, source="links", params={
                "child": b.raw, "child_level": b.level, "parent": a.raw, "parent_level": a.level}))
            continue
        other = tree.parent.get(b.raw)
        if other is not None and other != a.raw:
            issues.append(BatteryIssue("tree_two_parents", row=row, source="links",
                                       params={"child": b.raw, "other": other, "parent": a.raw}))
            continue
        if other is None:
            tree.parent[b.raw] = a.raw
            tree.children.setdefault(a.raw, []).append(b.raw)
    if issues:
        raise ScenarioError(list(issues))
    return tree
