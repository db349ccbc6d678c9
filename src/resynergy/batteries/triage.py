"""Triage of tested batteries to reuse, repurpose (second life) or recycling, with the reason;
and firm compliance per period: cascade users' reuse rate and recyclers' element recoveries.

Rules, applications and norms are data (``data/triage_rules.csv``, ``applications.csv``,
``norms.csv``), each row with its source and V/P/U tag; none of the SOH bands is a legal rule.
Outcomes are named for what happens (reuse / repurpose / recycle), not for "cascade", which
the 2026 measures drop (notes/batteries.md §0).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import pandas as pd

from resynergy.batteries import codes, data_rows
from resynergy.batteries.events import parse_masses
from resynergy.batteries.issues import BatteryIssue, ScenarioError
from resynergy.scenario import io as scenario_io
from resynergy.schema.coerce import coerce
from resynergy.schema.issues import Issue

OUTCOMES = ("reuse", "repurpose", "recycle")
OUTCOME_TEXT = {"reuse": ("再利用", "reuse"), "repurpose": ("梯次利用", "repurpose"), "recycle": ("再生利用", "recycle")}
# Battery-type letter of GB/T 34014 → chemistry family (notes/batteries.md §1.4: B, E [V]; others [U])
CHEMISTRY_OF_TYPE = {"A": "NiMH", "B": "LFP", "C": "LMO", "D": "LCO", "E": "NCM", "F": "other", "G": "LTO", "Z": "other"}
EPS = 1e-9  # rates exactly at a threshold pass, whatever the float rounding of the masses
_OPS: dict[str, Callable[[float, float], bool]] = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


@dataclass(frozen=True)
class Rule:
    rule: str
    kind: str  # gate (any hit → its outcome) | band (first hit in order → its outcome)
    field: str
    op: str  # is | > | >= | < | <=
    threshold: str
    outcome: str
    zh: str
    en: str
    source: str
    tag: str

    def hit(self, record: Mapping[str, object]) -> bool:
        value = record.get(self.field)
        if value is None or (isinstance(value, float) and value != value):
            return False  # not measured: this rule cannot fire
        if self.op == "is":
            return bool(value) is (self.threshold.lower() == "true")
        return _OPS[self.op](float(value), float(self.threshold))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Application:
    application: str
    zh: str
    en: str
    min_soh: float
    chemistries: tuple[str, ...]
    allowed: bool
    warning_zh: str
    warning_en: str
    source: str
    tag: str


@dataclass(frozen=True)
class Norm:
    norm: str
    who: str
    element: str
    threshold: float
    status: str
    zh: str
    en: str
    source: str
    tag: str


@dataclass(frozen=True)
class TriageRules:
    rules: tuple[Rule, ...]
    applications: tuple[Application, ...]

    def check(self) -> None:
        bands = [r for r in self.rules if r.kind == "band"]
        if not bands or any(r.outcome not in OUTCOMES or r.op not in (*_OPS, "is") for r in self.rules):
            raise ValueError("triage rules need at least one band, known outcomes and operators")


@cache
def default_rules() -> TriageRules:
    rules = tuple(Rule(**r) for r in data_rows("triage_rules.csv"))  # type: ignore[arg-type]
    apps = tuple(Application(r["application"], r["zh"], r["en"], float(r["min_soh"]), tuple(r["chemistries"].split("|")),
                             r["allowed"] == "true", r["warning_zh"], r["warning_en"], r["source"], r["tag"])
                 for r in data_rows("applications.csv"))
    out = TriageRules(rules, apps)
    out.check()
    return out


@cache
def norms() -> tuple[Norm, ...]:
    return tuple(Norm(r["norm"], r["who"], r["element"], float(r["threshold"]), r["status"], r["zh"], r["en"],
                      r["source"], r["tag"]) for r in data_rows("norms.csv"))


@dataclass(frozen=True)
class Decision:
    """What to do with one unit, why (the rules that decided, with sources), and where it may go."""

    unit_code: str
    outcome: str
    chemistry: str
    reasons: tuple[Rule, ...]
    uses: tuple[str, ...] = ()
    warnings: tuple[tuple[str, str], ...] = ()
    excluded: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)  # (application, zh, en)

    def reason(self, lang: str = "zh") -> str:
        return "；".join(r.zh for r in self.reasons) if lang == "zh" else "; ".join(r.en for r in self.reasons)

    def as_dict(self, lang: str = "zh") -> dict[str, object]:
        i = 0 if lang == "zh" else 1
        return {"unit_code": self.unit_code, "outcome": self.outcome, "outcome_text": OUTCOME_TEXT[self.outcome][i],
                "chemistry": self.chemistry, "reason": self.reason(lang), "rules": [r.rule for r in self.reasons],
                "tags": [r.tag for r in self.reasons], "uses": list(self.uses),
                "warnings": [w[i] for w in self.warnings]}


def chemistry_of(record: Mapping[str, object]) -> str:
    """The record's chemistry, else the family of its code's battery-type letter ("" if neither)."""
    given = str(record.get("chemistry") or "")
    if given:
        return given
    parsed, _ = codes.check(str(record.get("unit_code") or ""))
    return CHEMISTRY_OF_TYPE.get(parsed.fields["battery_type"], "other") if parsed else ""


def decide(record: Mapping[str, object], rules: TriageRules | None = None) -> Decision:
    """One unit's decision: any safety or health gate → recycle; else the first SOH band that
    holds; a second-life band with no allowed application for its chemistry → recycle."""
    rules = rules or default_rules()
    code = str(record.get("unit_code") or "")
    chem = chemistry_of(record)
    gates = tuple(r for r in rules.rules if r.kind == "gate" and r.hit(record))
    if gates:
        return Decision(code, gates[0].outcome, chem, gates)
    band = next((r for r in rules.rules if r.kind == "band" and r.hit(record)), None)
    if band is None:
        raise ValueError(f"no triage band holds for {code} (soh {record.get('soh')!r}): the band table must cover 0")
    if band.outcome == "recycle":
        return Decision(code, "recycle", chem, (band,))
    soh = float(record["soh"])  # type: ignore[arg-type]
    uses, warnings, excluded = [], [], []
    for a in rules.applications:
        if not a.allowed:
            excluded.append((a.application, a.warning_zh, a.warning_en))
        elif chem not in a.chemistries or soh < a.min_soh:
            continue
        else:
            uses.append(a.application)
            if a.warning_zh:
                warnings.append((a.warning_zh, a.warning_en))
    if not uses:
        none = Rule("no-application", "derived", "chemistry", "is", chem, "recycle",
                    f"{chem or '未知'}电池在健康状态 {soh:.0%} 时没有允许的梯次用途",
                    f"no allowed second-life use for {chem or 'unknown'} at state of health {soh:.0%}",
                    "data/applications.csv", "U")
        return Decision(code, "recycle", chem, (band, none), excluded=tuple(excluded))
    return Decision(code, band.outcome, chem, (band,), tuple(uses), tuple(warnings), tuple(excluded))


TEST_TABLE = "battery_tests"


def read_tests(path: str | Path, today: date | None = None) -> pd.DataFrame:
    """A file of test records (CSV or XLSX), all-or-nothing with located errors."""
    raw, issues = scenario_io.read_table(Path(path), TEST_TABLE)
    if raw is None:
        raise ScenarioError(issues)
    frame, found = coerce(raw)
    issues += found
    for row, code in zip(raw.rows, frame["unit_code"], strict=True):
        if not code:
            continue
        _, bad = codes.check(code, today=today)
        issues += [BatteryIssue(i.code, TEST_TABLE, raw.source, row, "unit_code", code, i.params) for i in bad]
    if issues:
        raise ScenarioError(issues)
    frame["unit_code"] = frame["unit_code"].str.strip().str.upper()
    return frame.assign(row=list(raw.rows))


def triage(tests: pd.DataFrame, rules: TriageRules | None = None) -> list[Decision]:
    """A decision for each test record (not-measured numbers are NaN, and no rule fires on them)."""
    return [decide(r, rules) for r in tests.to_dict("records")]


# ---- compliance per firm and period ------------------------------------------------------------


def cascade_compliance(batches: pd.DataFrame) -> pd.DataFrame:
    """Cascade users' reuse rate per firm and period: reused / collected mass (columns firm,
    period, collected_kg, reused_kg) against the ≥ 60 % norm (a 2024 draft: ``status``)."""
    norm = next(n for n in norms() if n.norm == "cascade-reuse")
    g = batches.groupby(["firm", "period"], as_index=False)[["collected_kg", "reused_kg"]].sum()
    rate = g["reused_kg"] / g["collected_kg"].where(g["collected_kg"] > 0)
    return g.assign(rate=rate, threshold=norm.threshold, ok=(rate + EPS >= norm.threshold).where(rate.notna()),
                    norm=norm.norm, status=norm.status, source=norm.source)


def recovery_compliance(batches: pd.DataFrame) -> pd.DataFrame:
    """Recyclers' recovery rate per firm, period and element: recovered / contained mass
    (columns firm, period, element, contained_kg, recovered_kg) against Li ≥ 90 %, Ni/Co/Mn
    ≥ 98 % (2024 norms); elements without a norm are listed with no threshold."""
    by = {n.element: n for n in norms() if n.who == "recycler"}
    g = batches.groupby(["firm", "period", "element"], as_index=False)[["contained_kg", "recovered_kg"]].sum()
    rate = g["recovered_kg"] / g["contained_kg"].where(g["contained_kg"] > 0)
    threshold = g["element"].map(lambda e: by[e].threshold if e in by else float("nan"))
    return g.assign(rate=rate, threshold=threshold, ok=(rate + EPS >= threshold).where(threshold.notna() & rate.notna()),
                    norm=g["element"].map(lambda e: by[e].norm if e in by else ""),
                    source=g["element"].map(lambda e: by[e].source if e in by else ""))


def compliance_batches(events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The inputs of the two checks from an event log (period = calendar year): a cascade
    user's received mass against the mass of cascade products it made; a recycler's element
    masses contained and recovered on its ``recycled`` events."""
    year = pd.to_datetime(events["when"]).dt.year
    e = events.assign(period=year)
    cu = e[(e["actor_role"] == "cascade_user") & e["event"].isin(("received", "cascade_made"))]
    cascade = pd.DataFrame({
        "firm": cu["actor"], "period": cu["period"],
        "collected_kg": cu["mass_kg"].where(cu["event"] == "received", 0.0).fillna(0.0),
        "reused_kg": cu["mass_kg"].where(cu["event"] == "cascade_made", 0.0).fillna(0.0)})
    rows = []
    for r in e[(e["event"] == "recycled") & (e["actor_role"] == "recycler")].itertuples(index=False):
        inn, out = parse_masses(str(r.contained)) or {}, parse_masses(str(r.recovered)) or {}
        for el in sorted(set(inn) | set(out)):
            rows.append({"firm": r.actor, "period": r.period, "element": el,
                         "contained_kg": inn.get(el, 0.0), "recovered_kg": out.get(el, 0.0)})
    recovery = pd.DataFrame(rows, columns=["firm", "period", "element", "contained_kg", "recovered_kg"])
    return cascade, recovery


def compliance_issues(table: pd.DataFrame, kind: str) -> list[Issue]:
    """Rows below their norm as located messages (firm / period / element) for a report."""
    out: list[Issue] = []
    for r in table[table["ok"] == False].itertuples(index=False):  # noqa: E712 - NaN (no norm) is not a failure
        where = f"{r.firm} {r.period}" + (f" {r.element}" if kind == "recovery" else "")
        out.append(BatteryIssue("below_norm", kind, where, None, "rate", f"{r.rate:.1%}",
                                {"threshold": f"{r.threshold:.0%}", "norm": r.norm}))
    return out
