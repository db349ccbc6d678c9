"""Actual flows: read a record of what moved (e.g. settled electronic manifests, 联单), check it
against the scenario or registry it refers to, and monitor the plan's targets on it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from resynergy import schema
from resynergy.indicators import INDICATORS, evaluate_all
from resynergy.indicators.evaluate import LEVELS, Inputs, flow_activity
from resynergy.monitor.track import Monitor, monitor
from resynergy.network.geo import great_circle_km
from resynergy.scenario import Scenario, ScenarioError
from resynergy.scenario import io as scenario_io
from resynergy.scenario.validate import check_refs
from resynergy.schema.coerce import RawTable, coerce
from resynergy.schema.numbers import quantity
from resynergy.states import TargetStatus

# Bases that recorded flows cannot measure: what products are worth (prices are not on a
# manifest) and what capacity was built (a registry matter, not a movement of goods).
FLOW_BLIND = ("output_value", "capacity_added")
_DEFAULT_CIRCUITY = next(c for c in schema.columns("modes") if c.name == "circuity").default_value()


def load_actual_flows(path: str | Path, scenario: Scenario) -> pd.DataFrame:
    """The ``actual_flows`` table from a CSV, Parquet or XLSX file; every problem at once
    (file/sheet, row, column, value) as a ScenarioError, nothing loaded when any."""
    raw, issues = scenario_io.read_table(Path(path), "actual_flows")
    return _checked(raw, issues, scenario)


def flows_from_frame(flows: pd.DataFrame, scenario: Scenario,
                     source: str = "DataFrame") -> pd.DataFrame:
    """The ``actual_flows`` table from a DataFrame (the same columns as the file, or a plan's
    own ``flows``), with the same checks as :func:`load_actual_flows`; rows are numbered from
    2 as in a file with a header row."""
    return _checked(RawTable.of("actual_flows", flows.astype(object), source), [], scenario)


def _checked(raw: RawTable | None, issues: list, scenario: Scenario) -> pd.DataFrame:
    """``raw`` checked against the scenario (every issue at once) and its distances filled."""
    frame = pd.DataFrame()
    legs = None
    if raw is not None:
        raw, legs = _plan_shaped(raw)
        frame, found = check_actual_flows(raw, scenario.tables)
        issues += found
    if issues:
        raise ScenarioError(issues)
    if legs is not None:  # a plan's flows.csv: keep its legs, so routes count once
        frame = pd.concat([frame, legs], axis=1)
    return with_distances(frame, scenario)


def check_actual_flows(raw: RawTable, tables: Mapping[str, pd.DataFrame]) -> tuple[pd.DataFrame, list]:
    """Typed ``actual_flows`` rows and every issue (row, column, value located in ``raw``):
    types and ranges first, then the sites, materials and modes they name, which ``tables``
    (a scenario's or the registry's ``sites``, ``materials``, ``modes``) must hold."""
    frame, found = coerce(raw)
    return frame, found or check_refs("actual_flows", frame, dict(tables), raw)


# Columns of a plan's flows.csv (resynergy plan) that say how a flow travelled: kept.
PLAN_LEG_COLUMNS = ("leg", "route")
# ... and the facility that received it: kept, so that its line (not the site's) is credited.
PLAN_KEPT_COLUMNS = PLAN_LEG_COLUMNS + ("to_facility",)


def _plan_shaped(raw: RawTable) -> tuple[RawTable, pd.DataFrame | None]:
    """A plan's own ``flows.csv`` (it has a ``leg`` column): its schema columns as actual flows,
    plus ``leg``, ``route`` and ``to_facility``; the plan's other columns (costs, names) are left
    out. Anything else is returned as it is, to be checked column by column."""
    if "leg" not in raw.frame.columns:
        return raw, None
    known = [c.name for c in schema.columns("actual_flows")]
    f = raw.frame
    kept = f[[c for c in f.columns if c in known]]
    legs = pd.DataFrame({c: (f[c] if c in f else pd.Series([""] * len(f))).astype(object)
                         .where(lambda v: v.notna(), "").astype(str) for c in PLAN_KEPT_COLUMNS})
    return RawTable(raw.name, kept, raw.source, raw.rows), legs.reset_index(drop=True)


def with_distances(flows: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Blank distances filled as great circle × the mode's circuity (the schema default when
    no mode is given), so that tonne-km and rail shares can be counted."""
    sites = scenario.table("sites").set_index("id")
    circuity = scenario.table("modes").set_index("id")["circuity"]
    a, b = sites.reindex(flows["from_site"]), sites.reindex(flows["to_site"])
    km = great_circle_km(a["lat"].to_numpy(), a["lon"].to_numpy(), b["lat"].to_numpy(), b["lon"].to_numpy())
    factor = flows["mode"].map(circuity).fillna(_DEFAULT_CIRCUITY).to_numpy()
    filled = np.where(flows["distance_km"].isna(), km * factor, flows["distance_km"])
    return flows.assign(distance_km=filled)


# Where the figures of a basis come from when monitored on flows, in a provincial official's
# words (zh, en); the word for the value when it is not a plain count of what moved.
BASIS_NOTES = {
    "facility_capacity": ("按登记的已建设施能力，加流向显示已运行的其他设施（按其接收量计）",
                          "registered built facilities, plus other facilities the flows show "
                          "operating (counted at their intake)"),
    "programmes": ("按登记的建成状态；关联候选设施的，须流向显示这些设施当年均有接收",
                   "as registered built; one linked to candidate facilities counts when the "
                   "flows show each of them receiving material that year"),
}
PROCESS_SPLIT_NOTE = ("按接收设施计；只写站点的，先计入已运行设施（不超过其能力），余量计入该站点其他设施",
                      "credited to the receiving facility; flows naming only a site go to its "
                      "lines in operation up to their capacity, the rest to its other lines")
VALUE_WORDS = {"facility_capacity": ("至少", "at least")}


def _words(indicator: str) -> tuple[str, str, str, str]:
    """basis_zh, basis_en, value_word_zh, value_word_en of an indicator's rows ('' = none)."""
    ind = INDICATORS.get(indicator)
    if ind is None:
        return ("", "", "", "")
    basis = BASIS_NOTES.get(ind.basis) or (
        PROCESS_SPLIT_NOTE if ind.basis == "facility_input" and ind.process_flag else ("", ""))
    return (*basis, *VALUE_WORDS.get(ind.basis, ("", "")))


def monitor_actuals(flows: pd.DataFrame, scenario: Scenario) -> Monitor:
    """The scenario's targets against indicators evaluated on actual flows; a year with
    records counts what is not recorded as zero, later target years are projected.

    What the flows show of the facilities (:func:`~resynergy.indicators.evaluate.flow_activity`:
    a facility that receives material in a year operates in it, candidate or not) stands in
    for a plan's activity, so capacity and programmes are counted by the same rules as for a
    plan. Rows of capacity, programmes and process-specific inputs say where their figures come
    from (``basis_zh``/``basis_en``); flows reaching facilities the scenario does not list as
    operating are noted once, for the registry to be updated."""
    measurable = [i for i, ind in INDICATORS.items() if ind.basis not in FLOW_BLIND]
    activity = flow_activity(Inputs(flows, scenario))
    values = evaluate_all(flows, scenario, levels=LEVELS, indicators=measurable,
                          activity=activity)
    m = monitor(scenario.table("targets"), values, source="actual", complete=True,
                unmeasurable=[i for i in INDICATORS if i not in measurable])
    words = pd.DataFrame([_words(i) for i in m.table["indicator"]], index=m.table.index,
                         columns=["basis_zh", "basis_en", "value_word_zh", "value_word_en"])
    m.table = pd.concat([m.table, words], axis=1)
    m.table.loc[m.table["status"] == TargetStatus.NOT_MEASURABLE,
                ["basis_zh", "basis_en", "value_word_zh", "value_word_en"]] = ""
    unlisted = activity[~activity["listed"] & (activity["input_t"] > 0)]
    if len(unlisted):
        n, t = unlisted["facility"].nunique(), float(unlisted["input_t"].sum())
        years = "、".join(str(y) for y in sorted(unlisted["year"].unique()))
        years_en = ", ".join(str(y) for y in sorted(unlisted["year"].unique()))
        m.notes.append((
            f"流向显示 {n} 个登记为候选或尚未投运的设施在{years}年接收了物料，共 {quantity(t, 't', 'zh')}，"
            "已按运行计入；请在设施登记中更新其建设状态和投运年份。",
            f"the flows show {n} {'facility' if n == 1 else 'facilities'} listed as candidates "
            "or not yet open receiving "
            f"material in {years_en}, {quantity(t, 't', 'en')} in all; they are counted as "
            "operating — please update their status and first year in the facility registry."))
    return m
