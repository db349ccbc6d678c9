"""The Python API, for analysts: what the ``resynergy`` command does, from a notebook.

Everything here is importable from the package root (``import resynergy as rs``) and is the
same code the command line runs: ``resynergy plan`` is :func:`open_scenario` → :func:`plan` →
:func:`evaluate` → :func:`write_outputs`; ``resynergy compare`` is :func:`compare`;
``resynergy monitor`` is :func:`actual_flows` → :func:`monitor_flows`. The CLI only adds
printing, progress bars and exit codes.

Units, as in every table of a plan (declared in ``schema/outputs.csv``): tonnes (``t``) of
material, ``t`` per year for capacities, yuan (``yuan``, 元) for money, kilograms of CO2
(``kg``; ``co2_kg``) for emissions, tonne-kilometres (``tkm``) for transport work, and shares as
fractions (0.25 = 25 %). An indicator's unit is in its ``unit`` column (:func:`indicator_table`).

A small example::

    import resynergy as rs

    s = rs.open_scenario("jjj-2022")              # built-in name, folder or .xlsx workbook
    p = rs.plan(s, time_limit=120)                # the least-cost plan (a Plan)
    p.flows.groupby("mode")["t"].sum()            # every table of the plan is a DataFrame
    f = rs.evaluate(p, s)                         # indicators and targets (a PlanFindings)
    f.targets[["id", "indicator", "value", "target", "status"]]
    rs.write_outputs(f, "out")                    # report.html, flows.csv, plan.xlsx, plan.json
    c = rs.compare({"base": s}, vary={"policy.carbon_price": [0, 200]})
    c.totals()[["cost_yuan", "co2_kg"]]

This module imports its heavy dependencies (pandas, linopy, HiGHS, plotly) only when a
function is called, so ``import resynergy`` stays cheap.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from resynergy.monitor.track import Monitor
    from resynergy.planner.actuals import Actuals
    from resynergy.planner.plan import Plan
    from resynergy.report.findings import PlanFindings
    from resynergy.scenario.model import Scenario

#: ``progress(stage_or_label, fraction_done)``: called while planning (stage names such as
#: "network", "build", "solve") and while comparing (the variant's label).
Progress = Callable[[str, float], None]
#: What a plan optimises: least total cost (yuan), least CO2 (kg) or most material utilized (t).
OBJECTIVES = ("cost", "co2", "utilization")


# --- scenarios -----------------------------------------------------------------------------

def builtin_scenarios() -> list[str]:
    """Names of the built-in scenarios (e.g. ``['jjj-2022']``), for :func:`open_scenario`."""
    from resynergy import datasets

    return datasets.names()


def open_scenario(ref: str | Path) -> Scenario:
    """A scenario: a built-in name (:func:`builtin_scenarios`), a folder of CSV/Parquet files or
    an ``.xlsx`` workbook (the template officials fill in). An existing file or folder wins over
    a built-in name of the same spelling.

    Raises :class:`ScenarioError` listing every problem (file/sheet, row, column, value, what
    was expected; ``exc.issues``, each with ``.message('zh'|'en')``), or ``KeyError`` for an
    unknown built-in name. The tables are validated once; a :class:`Scenario` is immutable.
    """
    from resynergy.scenario import Scenario

    if isinstance(ref, str) and Path(ref).exists():
        ref = Path(ref)
    return Scenario.open(ref)


def modify(scenario: Scenario, *, policy: Mapping[str, float] | None = None,
           tables: Mapping[str, pd.DataFrame] | None = None, empty: Iterable[str] = (),
           name: str | None = None) -> Scenario:
    """A new, re-validated scenario with changes; the original is left as it was.

    - ``policy``: policy values to set, by key (``scenario.table("policy")`` lists them with
      their units, e.g. ``carbon_price`` in yuan per t CO2, ``k_nearest``);
    - ``tables``: whole tables to replace (``scenario.table(name)`` gives a copy to edit; the
      columns are those of ``schema/tables.csv``);
    - ``empty``: tables to empty, e.g. ``["corridors"]`` (no rail-corridor rules);
    - ``name``: the new scenario's name (default: the same).

    The same change as the CLI's ``SCENARIO@policy.KEY=VALUE`` and ``SCENARIO@TABLE=none``.
    Raises :class:`ScenarioError` (every problem located) when the result is not valid.
    """
    if policy:
        scenario = scenario.with_policy(name=name, **{k: float(v) for k, v in policy.items()})
    frames = {**{t: scenario.table(t).iloc[0:0] for t in empty}, **dict(tables or {})}
    if frames:
        scenario = scenario.with_tables(name=name, **frames)
    elif name is not None and not policy:
        scenario = scenario.with_tables(name=name)
    return scenario


@dataclass
class Variant:
    """A scenario reference with modifications, as written on the command line
    (``SCENARIO@policy.KEY=VALUE,TABLE=none,objective=co2``): see :func:`parse_variant`."""

    label: str
    ref: str
    policy: dict[str, float] = field(default_factory=dict)
    emptied: list[str] = field(default_factory=list)
    objective: str | None = None

    def apply(self, base: Scenario) -> Scenario:
        """``base`` (the scenario ``ref`` names) with this variant's modifications."""
        return modify(base, policy=self.policy, empty=self.emptied)


VARIANT_HELP = (
    "SCENARIO[@MOD,MOD…], MOD = policy.KEY=VALUE | TABLE=none | objective=cost|co2|utilization. "
    "e.g. jjj-2022  jjj-2022@policy.carbon_price=100  jjj-2022@corridors=none")


def parse_variant(spec: str, common: Sequence[str] = ()) -> Variant:
    """Parse ``SCENARIO@MOD,…`` plus modifications ``common`` to every variant (the CLI's
    ``--set``); ValueError naming the bad modification and the syntax."""
    from resynergy import schema

    ref, _, mods = spec.partition("@")
    if not ref:
        raise ValueError(f"{spec!r}: no scenario before '@'. {VARIANT_HELP}")
    v = Variant(label=spec, ref=ref)
    for mod in [m for m in mods.split(",") if m] + list(common):
        key, eq, value = mod.partition("=")
        if not eq or not value:
            raise ValueError(f"{mod!r}: expected KEY=VALUE. {VARIANT_HELP}")
        if key.startswith("policy."):
            try:
                v.policy[key.removeprefix("policy.")] = float(value)
            except ValueError:
                raise ValueError(f"{mod!r}: policy values are numbers") from None
        elif key == "objective":
            if value not in OBJECTIVES:
                raise ValueError(f"{mod!r}: objective is cost, co2 or utilization")
            v.objective = value
        elif key in schema.TABLE_NAMES and value == "none":
            v.emptied.append(key)
        else:
            raise ValueError(f"{mod!r}: unknown modification. {VARIANT_HELP}")
    if common:
        v.label = spec + " [" + ",".join(common) + "]"
    return v


def expand(variants: Sequence[str], vary: Sequence[str]) -> list[str]:
    """Every variant crossed with every combination of the ``MOD=V1,V2,…`` values in ``vary``
    (the CLI's ``--vary``), in order; ValueError on a malformed grid."""
    axes = []
    for spec in vary:
        key, eq, values = spec.partition("=")
        choices = [v for v in values.split(",") if v]
        if not eq or not key or not choices:
            raise ValueError(f"{spec!r}: expected MOD=V1,V2,… e.g. policy.carbon_price=0,100,200")
        axes.append([f"{key}={v}" for v in choices])
    combos = [",".join(c) for c in itertools.product(*axes)] if axes else [""]
    return [v + ("," if "@" in v else "@") + c if c else v for v in variants for c in combos]


def variant(spec: str) -> Scenario:
    """The scenario a command-line variant names, e.g.
    ``variant("jjj-2022@policy.carbon_price=100")`` is
    ``modify(open_scenario("jjj-2022"), policy={"carbon_price": 100})``. An ``objective=…``
    modification is refused here (ValueError): pass ``objective`` to :func:`plan`."""
    v = parse_variant(spec)
    if v.objective is not None:
        raise ValueError(f"{spec!r}: objective is an option of plan(), not part of a scenario")
    return v.apply(open_scenario(v.ref))


# --- planning ------------------------------------------------------------------------------

class YearError(ValueError):
    """A year the scenario has no data for; ``texts`` = (zh, en)."""

    def __init__(self, scenario: Scenario, year: int):
        self.texts = (f"情景 {scenario.name} 没有 {year} 年的数据；可选年份：{scenario.years}",
                      f"scenario {scenario.name} has no data for {year}; its years: {scenario.years}")
        super().__init__(self.texts[1])


def check_plannable(scenario: Scenario, year: int | None = None) -> None:
    """Raise :class:`ScenarioError` when a valid scenario still cannot be planned (e.g. an
    empty template: no years), or :class:`YearError` when ``year`` is not one of its years."""
    from resynergy.scenario import ScenarioError

    check = getattr(scenario, "plan_issues", None)  # duck-typed scenarios (tests) may not check
    issues = check() if check is not None else []
    if issues:
        raise ScenarioError(issues)
    if year is not None and year not in scenario.years:
        raise YearError(scenario, year)


def read_actuals(flows: str | Path | pd.DataFrame | Actuals, scenario: Scenario,
                 through: int | None = None, complete: bool = False) -> Actuals:
    """Recorded flows as the planner's fixed years (``plan(actuals=…)``): ``flows`` as for
    :func:`actual_flows`; the years up to ``through`` (default: the last recorded year) are
    fixed to them; ``complete``: the records are all transport of those years. Raises
    :class:`ScenarioError` (bad records, located) or ``ActualsError``."""
    from resynergy.planner.actuals import Actuals

    if isinstance(flows, Actuals):
        return flows
    source = Path(flows).name if isinstance(flows, (str, Path)) else "DataFrame"
    return Actuals.from_frame(actual_flows(flows, scenario), through, source=source,
                              complete=complete)


def plan(scenario: Scenario, *, objective: str = "cost", year: int | None = None,
         time_limit: float = 60.0, mip_gap: float = 0.01, iis: bool = False,
         actuals: str | Path | pd.DataFrame | Actuals | None = None, through: int | None = None,
         complete: bool = False, progress: Progress | None = None, **options: Any) -> Plan:
    """Solve the regional plan of ``scenario`` (``resynergy plan``); returns a :class:`Plan`.

    - ``objective``: 'cost' (least total cost, yuan), 'co2' (least CO2, kg) or 'utilization'
      (most waste and recycled resources used, t);
    - ``year``: plan this year only (default: every year of the scenario);
    - ``time_limit`` (seconds, > 0) and ``mip_gap`` (relative, 0 ≤ gap < 1) bound HiGHS;
    - ``iis``: when infeasible, also ask HiGHS for an irreducible infeasible subset (slow);
    - ``actuals`` (a file, a DataFrame of actual flows or :class:`Actuals`), ``through``,
      ``complete``: re-plan from recorded flows, as ``--actuals``/``--through``/``--complete``;
    - ``progress(stage, fraction)``: called as the planner goes;
    - further keywords go to :class:`PlanOptions` (e.g. ``weights={"cost": 1, "co2": 0.05}``,
      ``duals=False``, ``highs_options={...}``).

    The plan's tables are DataFrames (``p.flows``, ``p.costs``, …, ``p.tables()``: t, yuan,
    kg CO2, tkm), ``p.status`` a :class:`PlanStatus` and ``p.objective`` the objective in yuan.
    Raises :class:`ScenarioError` / :class:`YearError` before solving when the scenario cannot
    be planned.
    """
    from resynergy.planner import PlanOptions, solve

    check_plannable(scenario, year)
    fixed = read_actuals(actuals, scenario, through, complete) if actuals is not None else None
    opts = PlanOptions(objective=objective, years=[year] if year else None, time_limit=time_limit,
                       mip_gap=mip_gap, iis=iis, actuals=fixed, **options)
    return solve(scenario, opts, progress=progress)


def evaluate(plan: Plan, scenario: Scenario) -> PlanFindings:
    """Every indicator evaluated on ``plan`` and every target of ``scenario`` against it —
    the numbers every output shows (:class:`PlanFindings`):

    - ``values``: indicator, region ('' = whole scenario), material ('' = all), year, value,
      unit (t, yuan, kg, share, count);
    - ``targets``: one row per target: value, target, attainment (a share), status
      (:class:`TargetStatus`), shadow_price (yuan per unit of the indicator, when the planner
      gave one);
    - ``totals``: cost_yuan, co2_kg, flows_t (transported), onsite_t, tkm, shortage_t, …;
    - ``headline()``, ``by_province(year)``, ``largest_flows(n)``, ``failing()``.
    """
    from resynergy.report import findings

    return findings(plan, scenario)


def write_outputs(findings: PlanFindings, out: str | Path = "out", *,
                  progress: Progress | None = None) -> dict[str, Path]:
    """Write the files ``resynergy plan`` writes into folder ``out``: report.html, flows.csv,
    flows.parquet, plan.xlsx and plan.json; returns {file name: path}. All files are written
    or none (a failure leaves earlier outputs in place)."""
    from resynergy.report import write_outputs as write

    return write(findings, Path(out), progress=progress)


# --- comparing -----------------------------------------------------------------------------

@dataclass
class Comparison:
    """Variants planned side by side (:func:`compare`): the same indicators and costs."""

    scenarios: dict[str, Scenario]
    plans: dict[str, Plan]
    findings: dict[str, PlanFindings]

    @property
    def table(self) -> pd.DataFrame:
        """One row per quantity (key, kind, unit, name_zh, name_en), one column per variant:
        status, objective and costs (yuan), shortage (t), emissions (kg CO2), every
        whole-region indicator by year (its unit) and every target's attainment (a share)."""
        from resynergy.report.compare import compare_table

        return compare_table(self.findings)

    @property
    def in_place(self) -> list[str]:
        """The variants re-solved in place on the model of one planned before (only the
        carbon price, another price, the CO2 cap or the objective differ), in order; the others
        were planned cold."""
        return [label for label, p in self.plans.items()
                if "resolve" in (getattr(p, "timings", None) or {})]

    def totals(self) -> pd.DataFrame:
        """One row per variant (index: its label) with its status and totals: objective_yuan,
        cost_yuan, co2_kg, flows_t, onsite_t, tkm, shortage_t and the items listed apart."""
        import pandas as pd

        rows = {label: {"status": str(f.plan.status), **f.totals}
                for label, f in self.findings.items()}
        return pd.DataFrame.from_dict(rows, orient="index")

    def write(self, out: str | Path = "out") -> Path:
        """compare.html (the table and charts, self-contained) in folder ``out``; its path."""
        from resynergy.report.compare import write_compare

        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        return write_compare(self.findings, folder / "compare.html")


def compare_scenarios(scenarios: Mapping[str, Scenario], *, objective: str = "cost",
                      objectives: Mapping[str, str | None] | None = None,
                      year: int | None = None, time_limit: float = 60.0, mip_gap: float = 0.01,
                      workers: int = 1, scheduler: str | None = None,
                      progress: Progress | None = None) -> Comparison:
    """Plan every ``label: scenario`` (each checked first) and evaluate them alike; ``objectives``
    gives a variant its own objective. On Dask with ``workers`` > 1 (a local cluster of that
    many processes) or ``scheduler`` ('tcp://host:8786'); else one after another, re-using one
    model where only prices (carbon price, tax-incentive switch, ...), the CO2 cap or the
    objective differ. ``progress(label, fraction)`` while
    solving, then ``progress("evaluate", 1.0)`` before the indicators are evaluated."""
    from resynergy.planner import PlanOptions
    from resynergy.planner.sweep import solve_many

    for s in scenarios.values():
        check_plannable(s, year)
    own = dict(objectives or {})
    jobs = {label: (s, PlanOptions(objective=own.get(label) or objective,
                                   years=[year] if year else None, time_limit=time_limit,
                                   mip_gap=mip_gap))
            for label, s in scenarios.items()}
    plans = solve_many(jobs, workers=workers, scheduler=scheduler, progress=progress)
    if progress is not None:
        progress("evaluate", 1.0)
    found = {label: evaluate(plans[label], scenarios[label]) for label in jobs}
    return Comparison(scenarios=dict(scenarios), plans=plans, findings=found)


def compare(variants: Mapping[str, Scenario] | Sequence[str], *,
            vary: Mapping[str, Sequence[Any]] | Sequence[str] | None = None,
            set: Sequence[str] = (), objective: str = "cost", year: int | None = None,
            time_limit: float = 60.0, mip_gap: float = 0.01, workers: int = 1,
            scheduler: str | None = None, progress: Progress | None = None) -> Comparison:
    """Plan several scenarios or policy variants and compare them (``resynergy compare``).

    ``variants``: command-line specs (``["jjj-2022", "jjj-2022@policy.carbon_price=100"]``) or
    ``{label: Scenario}`` (labels without '@'). ``vary`` sweeps a grid crossed with every
    variant: ``{"policy.carbon_price": [0, 100, 200]}`` or ``["policy.carbon_price=0,100,200"]``;
    each point is labelled ``label@policy.carbon_price=100``. ``set``: modifications applied to
    every variant. ``workers``/``scheduler``: solve on Dask (see :func:`compare_scenarios`; in
    a script, call it under ``if __name__ == "__main__":``, as Dask starts worker processes).
    Returns a :class:`Comparison` (``.table``, ``.totals()``, ``.plans``, ``.findings``,
    ``.write(out)`` for compare.html).
    """
    if isinstance(vary, Mapping):
        grid = [f"{k}=" + ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)
                for k, values in vary.items()]
    else:
        grid = list(vary or [])
    bases: dict[str, Scenario] = {}
    if isinstance(variants, Mapping):
        bad = [label for label in variants if "@" in label or not label]
        if bad:
            raise ValueError(f"variant labels must be non-empty and without '@': {bad}")
        bases = dict(variants)
        specs = list(variants)
    else:
        specs = [variants] if isinstance(variants, str) else list(variants)
    parsed = [parse_variant(spec, set) for spec in expand(specs, grid)]
    scenarios = {v.label: v.apply(bases[v.ref] if v.ref in bases else open_scenario(v.ref))
                 for v in parsed}
    return compare_scenarios(scenarios, objective=objective,
                             objectives={v.label: v.objective for v in parsed}, year=year,
                             time_limit=time_limit, mip_gap=mip_gap, workers=workers,
                             scheduler=scheduler, progress=progress)


# --- monitoring ----------------------------------------------------------------------------

def actual_flows(flows: str | Path | pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Actual (manifested) flows, checked against ``scenario``: a ``.csv``/``.parquet``/
    ``.xlsx`` file or a DataFrame with columns year, from_site, to_site, material, t [, mode,
    distance_km, manifest] — or a plan's own flows (``p.flows``, flows.csv), whose intermodal
    routes count once. Blank distances are filled (great circle × the mode's circuity, km).
    Raises :class:`ScenarioError` with every bad row located; nothing is dropped silently."""
    import pandas as pd

    from resynergy.monitor.actuals import flows_from_frame, load_actual_flows

    if isinstance(flows, pd.DataFrame):
        return flows_from_frame(flows, scenario)
    return load_actual_flows(flows, scenario)


def monitor_flows(flows: str | Path | pd.DataFrame, scenario: Scenario) -> Monitor:
    """Every target of ``scenario`` against actual flows (``resynergy monitor``): a
    :class:`Monitor` whose ``table`` has, per target, value, target, gap, attainment and status
    (:class:`TargetStatus`: met / missed for years with records, on_track / at_risk for later
    target years projected by the stated ``method``, not_measurable for output value and
    capacity added, which flows cannot show); ``trajectory`` the values by year; ``counts()``
    and ``status_text(lang)`` summarise. ``flows`` as for :func:`actual_flows`."""
    from resynergy.monitor.actuals import monitor_actuals

    return monitor_actuals(actual_flows(flows, scenario), scenario)


# --- reference -----------------------------------------------------------------------------

def indicator_table() -> pd.DataFrame:
    """Every indicator a target may name: id, name_zh, name_en, unit (t, yuan, kg, share,
    count), basis (what it counts from), better ('higher': a target is a floor; 'lower': a
    ceiling) and version (changes when the counting rule changes)."""
    import pandas as pd

    from resynergy.indicators import INDICATORS

    return pd.DataFrame([{"id": i.id, "name_zh": i.name_zh, "name_en": i.name_en, "unit": i.unit,
                          "basis": i.basis, "better": i.better, "version": i.version}
                         for i in INDICATORS.values()])
