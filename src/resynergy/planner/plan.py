"""The result of a planning run: tidy tables and a few scalars."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

from resynergy.indicators.evaluate import Evaluated
from resynergy.planner import diagnosis, results
from resynergy.planner.attainment import attainment_table
from resynergy.planner.data import ModelData
from resynergy.planner.results import split_costs
from resynergy.scenario.protocol import ScenarioLike
from resynergy.schema import outputs
from resynergy.states import PlanStatus

TABLES = outputs.plan_tables()  # the Plan's tables, as declared


@dataclass
class Plan:
    """A plan (optimal, time-limited, relaxed after infeasibility, or the greedy baseline).

    Its tables (:data:`TABLES`) are declared, with their columns in order, units, labels and
    what they hold, in ``schema/output_tables.csv`` and ``schema/outputs.csv``
    (:mod:`resynergy.schema.outputs`); :func:`assemble` gives them exactly those columns.
    In ``deliveries``, ``unmet_t`` is bought as virgin material and ``shortage_t`` is not met.
    In ``flows``, mode 'onsite' is co-located use (source and sink on one site), not transport.

    ``status`` is a :class:`~resynergy.states.PlanStatus` ('heuristic' for the greedy baseline).
    """

    scenario: str
    status: PlanStatus
    objective: float
    mip_gap: float | None
    solver_log: str
    timings: dict[str, float]
    flows: pd.DataFrame
    facility_io: pd.DataFrame
    activity: pd.DataFrame
    supply_use: pd.DataFrame
    deliveries: pd.DataFrame
    market: pd.DataFrame
    costs: pd.DataFrame
    emissions: pd.DataFrame
    incentives: pd.DataFrame
    targets: pd.DataFrame
    diagnosis: pd.DataFrame
    objective_kind: str = "cost"
    solver_objective: float | None = None
    balance_residual: float = 0.0
    years: list[int] = field(default_factory=list)
    shortages: pd.DataFrame = field(default_factory=pd.DataFrame)
    corridor_shares: pd.DataFrame = field(default_factory=pd.DataFrame)
    evaluated: Evaluated | None = field(default=None, repr=False, compare=False)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name."""
        return {name: getattr(self, name) for name in TABLES}

    def scalars(self) -> dict[str, object]:
        """The plan's scalars (status, objective, gap, timings, …) and headline totals,
        JSON-ready. (What the outputs say about a plan is :class:`resynergy.report.PlanFindings`.)"""
        own, apart = split_costs(self.costs)
        scalars = {f.name: getattr(self, f.name) for f in fields(self)
                   if f.name not in TABLES and f.name not in ("solver_log", "evaluated")}
        scalars.update({
            # the plan's own cost; what the objective adds is listed separately
            "total_cost_yuan": float(own["yuan"].sum()),
            **{f"{c}_yuan": float(y) for c, y in zip(apart["component"], apart["yuan"],
                                                     strict=True)},
            "objective_yuan": float(self.costs["yuan"].sum()),
            "total_co2_kg": float(self.emissions["kg"].sum()),
            # transported and on-site tonnes need the scenario's on-site modes: they are
            # PlanFindings.totals (flows_t, onsite_t), the one definition every output shows
            "disposed_t": float(self.supply_use["disposed_t"].sum()),
            "unmet_t": float(self.deliveries["unmet_t"].sum()),
            "shortage_t": float(self.shortages["shortage_t"].sum()) if len(self.shortages)
            else 0.0,
            "facilities_built": int(self.activity.loc[
                self.activity["candidate"] & self.activity["built"], "facility"].nunique()),
        })
        return scalars


def assemble(data: ModelData, scenario: ScenarioLike, sol: results.Solution | None, *,
             status: PlanStatus, log: str,
             gap: float | None, timings: dict[str, float], objective_kind: str,
             solver_objective: float | None, diag: pd.DataFrame,
             slacks: dict[str, Any] | None = None) -> Plan:
    """The Plan of a solution (checked for mass balance), or an empty plan without one;
    ``scenario`` is the one ``data`` was prepared from (its targets are evaluated on it)."""
    empty = sol is None
    if sol is None:
        sol = results.Solution.zeros(data)
        residual = float("nan")
    else:
        residual = results.check_balance(data, sol)
    costs = results.costs(data, sol)
    tables = {
        "flows": results.flows(data, sol), "facility_io": results.facility_io(data, sol),
        "activity": results.activity(data, sol), "supply_use": results.supply_use(data, sol),
        "deliveries": results.deliveries(data, sol), "market": results.market(data, sol),
        "costs": costs, "emissions": results.emissions(data, sol),
        "incentives": results.incentives(data, sol),
        "shortages": results.shortages(data, sol),
        "corridor_shares": results.corridor_shares(data, sol),
    }
    if empty:
        tables = {k: v.iloc[:0] for k, v in tables.items()}
    if slacks is not None and not empty:
        extra = diagnosis.relaxation(data, sol, slacks, float(costs["yuan"].sum()))
    elif not empty:
        extra = pd.DataFrame(diagnosis.binding_targets(data, sol), columns=diagnosis.COLUMNS)
    else:
        extra = pd.DataFrame(columns=diagnosis.COLUMNS)
    diag = pd.concat([d for d in (diag, extra) if len(d)], ignore_index=True) if (
        len(diag) or len(extra)) else pd.DataFrame(columns=diagnosis.COLUMNS)
    # every table with its declared columns, in order (before attainment evaluates them)
    tables = {name: outputs.conform(name, frame) for name, frame in tables.items()}
    diag = outputs.conform("diagnosis", diag)
    plan = Plan(scenario=data.scenario, status=status,
                objective=float(costs["yuan"].sum()) if not empty else float("nan"),
                mip_gap=gap, solver_log=log, timings=timings, targets=pd.DataFrame(),
                diagnosis=diag, objective_kind=objective_kind, solver_objective=solver_objective,
                balance_residual=residual, years=list(data.years), **tables)
    plan.targets = outputs.conform("targets", attainment_table(data, scenario, plan, sol if not empty
                                                                   else None))
    return plan
