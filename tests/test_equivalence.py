"""Optimiser and monitor count the same thing (issue 11, item 8; PyPSA's statistics-versus-
expressions check).

For every target the optimiser constrains (bases facility_input, facility_capacity and
capacity_added, each by total, province and prefecture scope, with and without a material), the
target row's left-hand side at the optimum, read from the solved linopy model, plus the constant
the model moved to its right-hand side, minus the target's own slack, must equal what
``resynergy.indicators`` evaluates on the plan's published tables. If the two drift apart, a plan
could "meet" a target the monitor then reports as missed, or the reverse.
"""

from __future__ import annotations

import importlib
import re

import numpy as np
import pandas as pd
import pytest

from resynergy.indicators import evaluate_plan
from resynergy.planner import PlanOptions, solve
from resynergy.planner.data import MODEL_BASES
from support.cases import tiny

solve_module = importlib.import_module("resynergy.planner.solve")  # the package exports solve()
TARGET_ROW = re.compile(r"^target_(\d+)$")  # planner/model.py names target rows target_<i>
LEVELS = ("total", "province", "prefecture")


def solved_with_model(scenario, options: PlanOptions, monkeypatch):
    """(plan, the linopy model the plan was read from). ``duals=False`` so that the plan's
    tables come from this very model, not from a re-solve with the builds fixed."""
    assert not options.duals
    built = []
    real = solve_module.build

    def keep(*args, **kw):
        b = real(*args, **kw)
        built.append(b)
        return b

    monkeypatch.setattr(solve_module, "build", keep)
    plan = solve(scenario, options)
    monkeypatch.setattr(solve_module, "build", real)
    assert plan.status == "optimal", plan.status
    return plan, built[0]  # the first build is the plan's (later ones price diagnoses)


def model_values(built) -> pd.DataFrame:
    """Each target row's indicator value as the model sees it at the optimum."""
    m = built.model
    table = built.data.targets.table
    rows = []
    for name in m.constraints:
        hit = TARGET_ROW.match(name)
        if not hit:
            continue
        i = int(hit.group(1))
        t = table.iloc[i]
        con = m.constraints[name]
        lhs = float(np.asarray(con.lhs.solution).sum())
        rhs = float(np.asarray(con.rhs).sum())
        slack = f"target_slack_{i}"
        s = float(m.variables[slack].solution) if slack in m.variables else 0.0
        # lhs = Σ decisions + sense·slack; rhs = target − what no decision changes
        rows.append({"id": t["id"], "indicator": t["indicator"], "basis": t["basis"],
                     "region": t["region"], "material": t["material"], "year": int(t["year"]),
                     "model": lhs - t["sense"] * s + (float(t["value_t"]) - rhs)})
    return pd.DataFrame(rows)


def check_equivalent(plan, built, scenario) -> pd.DataFrame:
    model = model_values(built)
    assert len(model), "no target rows in the model"
    values = evaluate_plan(plan, scenario, indicators=sorted(set(model["indicator"])),
                           levels=LEVELS)
    key = ["indicator", "region", "material", "year"]
    both = model.merge(values[key + ["value"]], on=key, how="left")
    both["value"] = both["value"].fillna(0.0)  # nothing counted: no row
    gap = (both["model"] - both["value"]).abs()
    bad = both[gap > 1e-6 * np.maximum(1.0, both["value"].abs()) + 1e-4]
    assert bad.empty, f"optimiser and indicators disagree:\n{bad.to_string()}"
    return both


def every_scope_case():
    """Tailings and slag in Chengde (a Hebei prefecture) and in Beijing; an existing sand plant
    in Chengde that may expand, a candidate sand plant in Beijing (high-value), a binder plant in
    Chengde (co-utilization). Targets of every modelled basis, each by total, province and
    prefecture, with and without a material; hard, soft and unreachable-soft ones."""
    processes = pd.DataFrame([
        {"id": "sand", "name_zh": "制砂", "name_en": "Sand", "mass_yield": 0.9, "opex": 10.0,
         "capex": 100.0, "co2": 2.0, "aggregate": True, "high_value": True,
         "source": "test", "confidence": "U"},
        {"id": "binder", "name_zh": "胶凝材料", "name_en": "Binder", "mass_yield": 0.95,
         "opex": 50.0, "capex": 200.0, "co2": 30.0, "co_utilization": True,
         "source": "test", "confidence": "U"},
    ])
    process_io = pd.DataFrame(
        [("sand", "tailings", "in", 1.0), ("sand", "manufactured_sand", "out", 0.9),
         ("binder", "steel_slag", "in", 0.7), ("binder", "fgd_gypsum", "in", 0.3),
         ("binder", "sw_binder", "out", 0.95)],
        columns=["process", "material", "direction", "rate"])

    def target(tid, indicator, value, kind="hard", region="", material="", penalty=0.0):
        return {"id": tid, "indicator": indicator, "value": value, "kind": kind,
                "region": region, "material": material, "penalty": penalty}

    targets = [
        target("isw_all", "isw_utilized", 120.0),
        target("isw_hebei", "isw_utilized", 100.0, region="130000"),
        target("isw_chengde_tailings", "isw_utilized", 60.0, region="130800", material="tailings"),
        target("isw_beijing_soft", "isw_utilized", 40.0, "soft", region="110000", penalty=300.0),
        target("isw_out_of_reach", "isw_utilized", 10_000.0, "soft", penalty=1.0),
        target("co_use_hebei", "co_utilization", 30.0, region="130000"),
        target("co_use_slag", "co_utilization", 20.0, "soft", material="steel_slag", penalty=50.0),
        target("agg_all", "aggregate_capacity", 150.0),
        target("agg_chengde", "aggregate_capacity", 100.0, "soft", region="130800", penalty=5.0),
        target("agg_beijing", "aggregate_capacity", 50.0, "soft", region="110000", penalty=2.0),
        target("new_all", "high_value_capacity_added", 120.0, "soft", penalty=20.0),
        target("new_hebei", "high_value_capacity_added", 30.0, region="130000"),
        target("new_beijing", "high_value_capacity_added", 80.0, "soft", region="110000",
               penalty=1.0),
    ]
    return tiny([("A", 40.0, "generator"), ("B", 41.0, "facility"), ("C", 42.0, "demand"),
                 ("P", 39.9, "generator", "110000"), ("Q", 40.0, "facility", "110000")],
                supplies=[("A", "tailings", 150.0), ("A", "steel_slag", 70.0),
                          ("A", "fgd_gypsum", 40.0), ("P", "tailings", 90.0)],
                facilities=[("F", "B", "sand", 80.0, {"expandable": True,
                                                      "max_capacity_t": 400.0}),
                            ("G", "B", "binder", 200.0),
                            ("H", "Q", "sand", 100.0, {"candidate": True,
                                                       "fixed_cost": 500.0})],
                demands=[("C", "manufactured_sand", 300.0, 300.0),
                         ("C", "sw_binder", 100.0, 500.0)],
                processes=processes, process_io=process_io, targets=targets,
                policy={"min_load": 0.5})


def two_years(s):
    """The case over 2021 and 2022: the existing plants open in 2021, the same supplies, demands
    and targets each year, so capacity added counts cumulatively since the base year (2020)."""
    t = s.tables
    both = {name: pd.concat([t[name].assign(year=2021), t[name]], ignore_index=True)
            for name in ("supplies", "demands")}
    targets = pd.concat([t["targets"].assign(year=2021, id=t["targets"]["id"] + "_2021"),
                         t["targets"]], ignore_index=True)
    return s.with_tables(name="two-years", facilities=t["facilities"].assign(year=2021),
                         targets=targets, **both)


def blank_parent(s):
    """Chengde's parent left blank: it still lies in Hebei by its GB/T 2260 code. The planner
    used to place it nowhere (network/regions kept its own province rule) while the indicators
    counted it in Hebei, so Hebei's hard targets looked impossible and the plan was 'relaxed'."""
    regions = s.table("regions")
    regions.loc[regions["code"] == "130800", "parent"] = ""
    return s.with_tables(name="blank-parent", regions=regions)


@pytest.mark.parametrize("variant", ["one year", "two years", "blank parent"])
def test_every_modelled_basis_and_scope_agrees_with_the_indicators(variant, monkeypatch):
    scenario = {"one year": lambda s: s, "two years": two_years,
                "blank parent": blank_parent}[variant](every_scope_case())
    plan, built = solved_with_model(scenario, PlanOptions(duals=False), monkeypatch)
    both = check_equivalent(plan, built, scenario)
    # the case covers what it claims: every modelled basis, every scope, a material filter
    assert set(both["basis"]) == set(MODEL_BASES)
    scopes = set(zip(both["basis"], both["region"].map({"": "total", "130000": "province",
                                                        "110000": "province",
                                                        "130800": "prefecture"}), strict=True))
    assert {(b, s) for b in MODEL_BASES for s in ("total", "province")} <= scopes
    assert {("facility_input", "prefecture"), ("facility_capacity", "prefecture")} <= scopes
    assert (both["material"] != "").any()
    # and the plan decides them: nothing above is a constant both sides agree on trivially
    assert (both["value"] > 0).sum() >= len(both) - 1


def test_the_builtin_plans_targets_agree_with_the_indicators(builtin_scenario, monkeypatch):
    """The built-in data solved once more: the check needs the solved model itself."""
    plan, built = solved_with_model(builtin_scenario,
                                    PlanOptions(years=[2022], time_limit=300, duals=False),
                                    monkeypatch)
    both = check_equivalent(plan, built, builtin_scenario)
    modelled = builtin_scenario.table("targets")
    modelled = modelled[modelled["kind"].isin(["hard", "soft"]) & (modelled["year"] == 2022)]
    from resynergy.indicators.definitions import INDICATORS

    modelled = modelled[modelled["indicator"].map(
        lambda i: INDICATORS[i].basis in MODEL_BASES)]
    assert set(both["id"]) == set(modelled["id"])
