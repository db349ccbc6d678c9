"""Lifecycle events of battery units: types, order rules and upload deadlines (all data, in
``data/*.csv``), bulk event files read all-or-nothing with located errors, and deadlines in
**working days** (Chinese public holidays and make-up working days: :mod:`resynergy.catalog.workdays`)
with an overdue list for regulators.

Counting: the event day is not counted; "N working days" ends on the N-th working day after
it (notes/batteries.md §2.3). A deadline in a year the calendar does not cover yet (the State
Council publishes next year's holidays each November–December) is counted Monday–Friday for
those days and flagged ``deadline_estimated``: marked, never refused, never passed off as exact.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path

import pandas as pd

from resynergy.batteries import codes, data_rows
from resynergy.batteries.issues import BatteryIssue, ScenarioError
from resynergy.catalog import workdays
from resynergy.scenario import io as scenario_io
from resynergy.schema.coerce import coerce
from resynergy.schema.issues import Issue

TABLE = "battery_events"
ELEMENTS = ("Li", "Ni", "Co", "Mn", "Cu", "Al", "Fe")
_VIN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")


@dataclass(frozen=True)
class EventType:
    event: str
    zh: str
    en: str
    needs: tuple[str, ...]  # columns the event must fill
    roles: tuple[str, ...]  # actor roles that may record it (empty: any)
    source: str
    tag: str


@dataclass(frozen=True)
class DeadlineRule:
    """An upload obligation: ``actor_role`` uploads ``event`` within ``working_days``."""

    rules: str
    effective_from: date
    event: str
    actor_role: str
    working_days: int
    clock_starts_zh: str
    clock_starts_en: str
    source: str
    tag: str


@dataclass(frozen=True)
class OrderRule:
    """first | once | requires | final, over events (``needs``: any of them must come earlier)."""

    rule: str
    kind: str
    events: tuple[str, ...]
    needs: tuple[str, ...]
    zh: str
    en: str
    source: str
    tag: str


def _split(text: str) -> tuple[str, ...]:
    return tuple(t for t in text.split("|") if t)


@cache
def event_types() -> dict[str, EventType]:
    return {r["event"]: EventType(r["event"], r["zh"], r["en"], _split(r["needs"]), _split(r["roles"]), r["source"], r["tag"])
            for r in data_rows("event_types.csv")}


@cache
def deadline_rules() -> tuple[DeadlineRule, ...]:
    return tuple(DeadlineRule(r["rules"], date.fromisoformat(r["effective_from"]), r["event"], r["actor_role"],
                              int(r["working_days"]), r["clock_starts_zh"], r["clock_starts_en"], r["source"], r["tag"])
                 for r in data_rows("upload_deadlines.csv"))


@cache
def order_rules() -> tuple[OrderRule, ...]:
    out = tuple(OrderRule(r["rule"], r["kind"], _split(r["event"]), _split(r["needs"]), r["zh"], r["en"],
                          r["source"], r["tag"]) for r in data_rows("event_rules.csv"))
    known = set(event_types())
    for r in out:  # a wrong rule table fails loudly, not silently
        if r.kind not in ("first", "once", "requires", "final") or not set(r.events + r.needs) <= known:
            raise ValueError(f"event_rules.csv: rule {r.rule} has an unknown kind or event")
    return out


# ---- working days --------------------------------------------------------------------------
# One calendar for the whole platform (resynergy.catalog.workdays); re-exported here under the
# names this module's callers use.
CalendarRangeError = workdays.CalendarRangeError
calendar_version = workdays.calendar_version
calendar_years = workdays.calendar_years
is_workday = workdays.is_workday
add_working_days = workdays.add_workdays
add_working_days_or_estimate = workdays.add_workdays_or_estimate


# ---- reading and checking ------------------------------------------------------------------


def parse_time(value: object) -> datetime | None:
    """A time written as YYYY-MM-DD[ HH:MM[:SS]] (or a worksheet date), else None."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = str(value or "").strip().replace("/", "-")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def parse_masses(text: str) -> dict[str, float] | None:
    """``Li=12.5;Ni=40`` → {"Li": 12.5, "Ni": 40.0}; None when it does not read so."""
    out: dict[str, float] = {}
    for part in re.split(r"[;；,，]", text):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        try:
            mass = float(value)
        except ValueError:
            return None
        if not sep or name not in ELEMENTS or mass < 0 or name in out or mass != mass:
            return None
        out[name] = mass
    return out or None


def read_events(path: str | Path, history: pd.DataFrame | None = None, today: date | None = None) -> pd.DataFrame:
    """A bulk event file (CSV or XLSX) checked as a whole: every problem at once (file or sheet,
    row, column, value) as a ScenarioError, nothing accepted when any. ``history`` holds the
    units' earlier events (e.g. from the platform) for the order rules."""
    raw, issues = scenario_io.read_table(Path(path), TABLE)
    if raw is None:
        raise ScenarioError(issues)
    frame, found = coerce(raw)
    issues += found
    frame["row"] = list(raw.rows)
    frame, found = check_events(frame, raw.source, history, today)
    issues += found
    if issues:
        raise ScenarioError(issues)
    return frame


def check_events(frame: pd.DataFrame, source: str = TABLE, history: pd.DataFrame | None = None,
                 today: date | None = None) -> tuple[pd.DataFrame, list[Issue]]:
    """Events with parsed ``when`` (and ``uploaded_on``), and every problem of their rows: codes,
    times, values each event type needs, VINs, element masses and order rules."""
    issues: list[Issue] = []
    types = event_types()
    frame = frame.reset_index(drop=True).copy()
    if "row" not in frame:
        frame["row"] = range(2, 2 + len(frame))

    def issue(code: str, row: int, column: str = "", value: object = None, **params: object) -> None:
        issues.append(BatteryIssue(code, TABLE, source, row, column, value, params))

    when, uploaded, units = [], [], []
    for r in frame.itertuples(index=False):
        row = int(r.row)
        parsed, found = codes.check(str(r.unit_code), today=today) if r.unit_code else (None, [])
        for i in found:
            issues.append(BatteryIssue(i.code, TABLE, source, row, "unit_code", r.unit_code, i.params))
        units.append(parsed.raw if parsed else str(r.unit_code).strip().upper())
        t = parse_time(r.time) if r.time else None
        if r.time and t is None:
            issue("bad_time", row, "time", r.time)
        elif t is not None and t.date() > (today or date.today()):
            issue("time_future", row, "time", r.time, today=(today or date.today()).isoformat())
        when.append(t)
        up = parse_time(r.uploaded) if r.uploaded else None
        if r.uploaded and up is None:
            issue("bad_time", row, "uploaded", r.uploaded)
        elif up is not None and t is not None and up.date() < t.date():
            issue("upload_before_event", row, "uploaded", r.uploaded, when=t.date().isoformat())
        uploaded.append(up.date() if up else None)
        kind = types.get(r.event)
        if kind is None:
            continue  # coerce reported the bad choice
        for col in kind.needs:
            if not str(getattr(r, col) or "").strip():
                issue("needs_value", row, col, None, event_zh=kind.zh, event_en=r.event, what=col)
        if kind.roles and r.actor_role and r.actor_role not in kind.roles:
            issue("role_for_event", row, "actor_role", r.actor_role, event_zh=kind.zh, event_en=r.event,
                  choices=", ".join(kind.roles))
        if r.vin and not _VIN.fullmatch(str(r.vin).strip().upper()):
            issue("bad_vin", row, "vin", r.vin)
        for col in ("contained", "recovered"):
            text = str(getattr(r, col) or "")
            if text.strip() and parse_masses(text) is None:
                issue("bad_masses", row, col, text, choices=", ".join(ELEMENTS))
        if r.event == "cascade_made" and r.new_code:
            new, found = codes.check(str(r.new_code), today=today)
            for i in found:
                issues.append(BatteryIssue(i.code, TABLE, source, row, "new_code", r.new_code, i.params))
            if new is not None and parsed is not None and new.raw == parsed.raw:
                issue("recode_same", row, "new_code", r.new_code)
    frame["unit_code"] = units
    frame["when"] = when
    frame["uploaded_on"] = uploaded
    if not issues:
        issues += tree_issues(frame, source, today)
    if not issues:
        issues += order_issues(frame, source, history)
    return frame, issues


def links(frame: pd.DataFrame) -> list[codes.Link]:
    """Pack → module → cell links of the rows that name a parent (each pair once)."""
    if "parent_code" not in frame:
        return []
    rows = frame[frame["parent_code"].astype(str).str.strip() != ""]
    pairs = dict.fromkeys(zip(rows["parent_code"].str.strip().str.upper(), rows["unit_code"], strict=True))
    return [codes.Link(p, c) for p, c in pairs]


def tree_issues(frame: pd.DataFrame, source: str = TABLE, today: date | None = None) -> list[Issue]:
    """Problems of the hierarchy the rows' parent codes describe, at the first row naming each link."""
    found = links(frame)
    try:
        codes.build_tree(found, today=today)
    except ScenarioError as exc:
        first: dict[tuple[str, str], int] = {}
        for r in frame.itertuples(index=False):
            key = (str(r.parent_code).strip().upper(), r.unit_code)
            first.setdefault(key, int(r.row))
        out: list[Issue] = []
        for i in exc.issues:
            link = found[i.row - 1] if i.row is not None else None
            row = first.get((link.parent, link.child)) if link else None
            out.append(BatteryIssue(i.code, TABLE, source, row, "parent_code", link.parent if link else i.value, i.params))
        return out
    return []


def order_issues(frame: pd.DataFrame, source: str = TABLE, history: pd.DataFrame | None = None) -> list[Issue]:
    """Events against the order rules, unit by unit in time order (rows of equal time in file
    order); ``history`` (earlier, accepted events with ``when``) comes first and is not reported."""
    types, rules = event_types(), order_rules()
    parts = [frame.assign(new_row=True, seq_no=range(len(frame)))]
    if history is not None and len(history):
        parts.insert(0, history.assign(new_row=False, seq_no=range(-len(history), 0)))
    events = pd.concat(parts, ignore_index=True).sort_values(["unit_code", "when", "seq_no"], kind="stable")
    issues: list[Issue] = []
    # one pass over the sorted rows (a unit's rows are contiguous): far faster than a groupby
    # with an itertuples per unit when a file holds thousands of units
    for _, unit in itertools.groupby(events.itertuples(index=False), key=lambda r: r.unit_code):
        seen: dict[str, dict[str, str]] = {}  # event → where it was first seen
        final: tuple[str, object] | None = None
        earlier: dict[str, str] | None = None
        for r in unit:
            here = ({"other_zh": f"第 {int(r.row)} 行", "other_en": f"row {int(r.row)}"} if r.new_row
                    else {"other_zh": "平台已有记录", "other_en": "the recorded history"})
            kind = types[r.event]
            at = (int(r.row), str(r.event)) if r.new_row else None

            def issue(code: str, params: dict[str, object], at: tuple[int, str] | None = at) -> None:
                if at is not None:
                    issues.append(BatteryIssue(code, TABLE, source, at[0], "event", at[1], params))

            if final is not None:
                fk = types[final[0]]
                issue("order_after_final", {"final_zh": fk.zh, "final_en": final[0], "when": str(final[1])})
            for rule in rules:
                if r.event not in rule.events:
                    continue
                if rule.kind == "first" and earlier is not None:
                    issue("order_first", dict(earlier))
                elif rule.kind == "once" and r.event in seen:
                    issue("order_once", dict(seen[r.event]))
                elif rule.kind == "requires" and not any(n in seen for n in rule.needs):
                    issue("order_before", {"event_zh": kind.zh, "event_en": r.event,
                                           "needs_zh": "或".join(types[n].zh for n in rule.needs),
                                           "needs_en": " or ".join(rule.needs)})
                elif rule.kind == "final" and final is None:
                    final = (r.event, pd.Timestamp(r.when).date())
            seen.setdefault(r.event, here)
            if earlier is None:
                earlier = here
    return issues


def deadline_rule(event: str, actor_role: str, when: date) -> DeadlineRule | None:
    """The upload obligation in force on ``when`` for this event and actor (None: none)."""
    found = [r for r in deadline_rules() if r.event == event and r.actor_role == actor_role and r.effective_from <= when]
    return max(found, key=lambda r: r.effective_from) if found else None


STATUSES = ("on_time", "late", "overdue", "pending", "no_rule")


def with_deadlines(frame: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Each event's upload deadline (working days under the rule in force), and its status on
    ``as_of``: on_time, late (uploaded after the deadline), overdue (not uploaded, deadline
    passed), pending, or no_rule (no upload obligation for this event and actor).
    ``deadline_estimated`` is True where the deadline passes days beyond the working-day
    calendar, counted Monday–Friday (:func:`resynergy.catalog.workdays.add_workdays_or_estimate`)."""
    out = frame.copy()
    deadline: list[date | None] = []
    estimated: list[bool] = []
    wd: list[int | None] = []
    late: list[int | None] = []
    status: list[str] = []
    rules: list[str] = []
    for r in frame.itertuples(index=False):
        day = pd.Timestamp(r.when).date()
        rule = deadline_rule(r.event, r.actor_role, day)
        if rule is None:
            deadline.append(None)
            estimated.append(False)
            wd.append(None)
            status.append("no_rule")
            late.append(None)
            rules.append("")
            continue
        due, guessed = add_working_days_or_estimate(day, rule.working_days)
        up = r.uploaded_on if isinstance(r.uploaded_on, date) else None
        if up is not None:
            status.append("on_time" if up <= due else "late")
            late.append(max((up - due).days, 0))
        else:
            status.append("overdue" if as_of > due else "pending")
            late.append((as_of - due).days if as_of > due else 0)
        deadline.append(due)
        estimated.append(guessed)
        wd.append(rule.working_days)
        rules.append(rule.rules)
    return out.assign(deadline=deadline, deadline_estimated=pd.array(estimated, dtype=bool), working_days=pd.array(wd, dtype="Int64"), status=status,
                      days_late=pd.array(late, dtype="Int64"), rules=rules)


def overdue(frame: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Events not uploaded by their deadline (overdue) or uploaded after it (late), most late first."""
    d = frame if "status" in frame else with_deadlines(frame, as_of)
    return d[d["status"].isin(("overdue", "late"))].sort_values("days_late", ascending=False)


def history_of(frame: pd.DataFrame, code: str, links: Iterable[codes.Recoding] = ()) -> pd.DataFrame:
    """A unit's events in time order, with those of its re-coded product(s) (original kept)."""
    code = code.strip().upper()
    related = {code} | {x.new for x in links if x.original == code} | {x.original for x in links if x.new == code}
    return frame[frame["unit_code"].isin(related)].sort_values(["when", "row"], kind="stable")


def recodings(frame: pd.DataFrame) -> list[codes.Recoding]:
    """The original ↔ new code links of ``cascade_made`` events (both codes kept)."""
    made = frame[(frame["event"] == "cascade_made") & (frame["new_code"] != "")]
    return [codes.Recoding(str(r.unit_code), str(r.new_code).strip().upper(), "") for r in made.itertuples()]
