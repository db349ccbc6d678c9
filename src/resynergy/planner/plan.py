"""The result of a planning run: tidy tables and a few scalars."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

from resynergy.planner import diagnosis, results
from resynergy.planner.attainment import attainment_table
from resynergy.planner.data import ModelData
from resynergy.planner.results import split_costs

STATUSES = ("optimal", "time_limit", "relaxed", "infeasible", "heuristic")
TABLES = ("flows", "facility_io", "activity", "supply_use", "deliveries", "market", "costs",
          "emissions", "incentives", "targets", "diagnosis", "shortages", "corridor_shares")


@dataclass
class Plan:
    """A plan (optimal, time-limited, relaxed after infeasibility, or the greedy baseline).

    Tables (all tonnes, yuan, km and kg CO2 per year):

    - ``flows``: year, from_site, to_site, material, mode, leg ('direct'|'first_mile'|'rail'|
      'last_mile'), route ('' or an id shared by the legs of one intermodal route), t,
      distance_km, tkm, cost_yuan, co2_kg, handling_yuan, from_facility, to_facility;
    - ``facility_io``: year, facility, site, process, material, direction ('in'|'out'), t;
    - ``activity``: year, facility, site, process, candidate, built, capacity_t,
      new_capacity_t, input_t, utilisation, capacity_dual (yuan a year saved per extra t/yr of
      capacity; NaN when unknown), running_capacity_t (capacity that counts: new capacity only
      as far as it runs at its min load);
    - ``supply_use``: year, site, material, generation_t, stock_drawn_t, shipped_t, disposed_t;
    - ``deliveries``: year, site, material, demand_t, delivered_t, unmet_t, value (yuan/t);
    - ``market``: year, facility, site, material, t — products with no sink in the scenario,
      leaving the modelled network;
    - ``costs``: component, yuan (sums to ``objective``); ``emissions``: component, kg;
    - ``incentives``: year, facility, site, process, yuan (tax refunds and reductions);
    - ``targets``: id, indicator, region, material, year, kind, target, value, shortfall,
      attainment, shadow_price (yuan per unit of the target), status;
    - ``diagnosis``: kind, subject, amount, unit, message_zh, message_en;
    - ``shortages``: year, site, material, demand_t, delivered_t, virgin_t, shortage_t,
      shortage_cost (yuan/t) — demand met by neither recycled nor virgin supply (the regional
      virgin capacity of ``virgin_supply`` is used up);
    - ``corridor_shares``: corridor, year, t, rail_t, rail_share, min_rail_share, road_tkm,
      nev_tkm, nev_share, min_nev_share.

    In ``deliveries``, ``unmet_t`` is bought as virgin material and ``shortage_t`` is not met.
    In ``flows``, mode 'onsite' is co-located use (source and sink on one site), not transport.

    ``status`` is one of :data:`STATUSES` ('heuristic' for the greedy baseline).
    """

    scenario: str
    status: str
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
    evaluated: Any = field(default=None, repr=False, compare=False)  # indicators.evaluate.Evaluated

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name."""
        return {name: getattr(self, name) for name in TABLES}

    def summary(self) -> dict[str, object]:
        """Scalars and headline totals, JSON-ready."""
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
            # transported tonnes; on-site (co-located) use is not transport
            "flow_t": float(self.flows.loc[self.flows["leg"].isin(["direct", "first_mile"])
                                           & (self.flows["mode"] != "onsite"), "t"].sum()),
            "onsite_t": float(self.flows.loc[self.flows["mode"] == "onsite", "t"].sum()),
            "disposed_t": float(self.supply_use["disposed_t"].sum()),
            "unmet_t": float(self.deliveries["unmet_t"].sum()),
            "shortage_t": float(self.shortages["shortage_t"].sum()) if len(self.shortages)
            else 0.0,
            "facilities_built": int(self.activity.loc[
                self.activity["candidate"] & self.activity["built"], "facility"].nunique()),
        })
        return scalars


def assemble(data: ModelData, sol: results.Solution | None, *, status: str, log: str,
             gap: float | None, timings: dict[str, float], objective_kind: str,
             solver_objective: float | None, diag: pd.DataFrame,
             slacks: dict[str, Any] | None = None) -> Plan:
    """The Plan of a solution (checked for mass balance), or an empty plan without one."""
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
    plan = Plan(scenario=data.scenario, status=status,
                objective=float(costs["yuan"].sum()) if not empty else float("nan"),
                mip_gap=gap, solver_log=log, timings=timings, targets=pd.DataFrame(),
                diagnosis=diag, objective_kind=objective_kind, solver_objective=solver_objective,
                balance_residual=residual, years=list(data.years), **tables)
    plan.targets = attainment_table(data, plan, sol if not empty else None)
    return plan
