"""The public Python API (issue 17 item 1): ``import resynergy as rs`` gives a small, documented
set of names that are the command line's own functions — the API's plan of the built-in data is
the CLI's, and a policy changed through the API changes the plan as ``SCENARIO@policy.KEY=VALUE``
does on the command line. One plan of the built-in region (2022) is solved per module and
shared; the command line's is the session's ``builtin_outputs`` (conftest), made once."""

from __future__ import annotations

import ast
import inspect
import pkgutil
import subprocess
import sys
import types
from pathlib import Path

import pandas as pd
import pytest

import resynergy as rs

ROOT = Path(__file__).resolve().parents[1]
PRICE = 300.0  # yuan per t CO2: a policy change the plan must feel


# ---- the names ------------------------------------------------------------------------------

def test_every_public_name_is_documented_where_it_is_defined():
    for name in rs.__all__:
        obj = getattr(rs, name)
        own = vars(obj).get("__doc__") if isinstance(obj, type) else obj.__doc__
        assert own and len(own.strip()) > 20, f"rs.{name} has no docstring of its own"


def test_every_public_function_states_its_types():
    for name in rs.__all__:
        obj = getattr(rs, name)
        if inspect.isfunction(obj):
            sig = inspect.signature(obj)
            missing = [p for p, par in sig.parameters.items()
                       if par.annotation is inspect.Parameter.empty
                       and par.kind not in (par.VAR_KEYWORD,)]
            assert not missing and sig.return_annotation is not inspect.Parameter.empty, name


def test_all_the_lazy_table_and_the_type_stub_name_the_same_things():
    stub = ast.parse((ROOT / "src" / "resynergy" / "__init__.pyi").read_text(encoding="utf-8"))
    stubbed = {a.asname or a.name for n in stub.body if isinstance(n, ast.ImportFrom) for a in n.names}
    assert set(rs.__all__) == set(rs._PUBLIC) == stubbed
    assert len(rs.__all__) == len(set(rs.__all__))
    assert set(rs.__all__) <= set(dir(rs))
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        rs.nonsense  # noqa: B018


def test_no_public_name_is_shadowed_by_a_subpackage():
    """A subpackage is set on the package when imported (``resynergy.monitor``), which would
    replace a lazy name of the same spelling: none may share one."""
    subpackages = {m.name for m in pkgutil.iter_modules(rs.__path__)}
    assert set(rs.__all__) & subpackages == set()
    assert not any(isinstance(getattr(rs, n), types.ModuleType) for n in rs.__all__)


def test_importing_the_package_loads_nothing_else():
    """``import resynergy`` stays as cheap as before the API (the command's start-up, #11)."""
    code = ("import sys; import resynergy; "
            "print(sorted(m for m in sys.modules if m.startswith('resynergy') or m in "
            "('pandas', 'numpy', 'typing')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=300).stdout.strip()
    assert out in ("['resynergy']", "['resynergy', 'typing']"), out  # typing: if the site loads it


# ---- the same functions as the command line ---------------------------------------------------

@pytest.fixture(scope="module")
def base():
    s = rs.open_scenario("jjj-2022")
    return s, rs.plan(s, year=2022)  # the command's defaults, as builtin_outputs runs it


def test_open_scenario_takes_a_name_a_folder_or_a_workbook(base, tmp_path):
    s, _ = base
    folder = s.save(tmp_path / "jjj", format="csv")
    assert rs.open_scenario(str(folder)).equals(s) and rs.open_scenario(folder).equals(s)
    with pytest.raises(rs.ScenarioError) as exc:
        rs.open_scenario(tmp_path / "missing.xlsx")
    assert "missing.xlsx" in exc.value.issues[0].message("en")
    assert "jjj-2022" in rs.builtin_scenarios()


def test_the_api_plan_is_the_cli_plan(base, builtin_outputs):
    """``resynergy plan jjj-2022 --year 2022`` (the shared run) and ``rs.plan(s, year=2022)``."""
    s, p = base
    out, doc = builtin_outputs
    assert doc["status"] == p.status
    assert doc["objective_yuan"] == pytest.approx(p.objective, rel=1e-9)
    cli_flows = pd.read_csv(out / "flows.csv")
    key = ["year", "from_site", "to_site", "material", "mode"]
    mine = p.flows.groupby(key)["t"].sum()
    theirs = cli_flows.groupby(key)["t"].sum()
    assert len(mine) == len(theirs) and mine.index.equals(theirs.index)
    assert (mine - theirs).abs().max() <= 1e-6 * max(1.0, mine.abs().max())
    # and the findings the API gives are those plan.json was written from
    f = rs.evaluate(p, s)
    assert doc["totals"]["cost_yuan"] == pytest.approx(f.totals["cost_yuan"], rel=1e-9)
    mine_t = f.targets.set_index("id")["status"].to_dict()
    assert {t["id"]: t["status"] for t in doc["targets"] if t["id"] in mine_t} == mine_t


def test_a_policy_change_is_the_cli_variant(base):
    """The API's changed scenario is the one the command line builds for the variant (so both
    plan the same thing with the same solve), and the plan feels the change."""
    import resynergy.cli.plan as cli

    s, p = base
    changed = rs.modify(s, policy={"carbon_price": PRICE})
    spec = f"jjj-2022@policy.carbon_price={PRICE:g}"
    assert changed.equals(cli.build_variant(cli.parse_variant(spec, []), cli.Lang.en))
    assert changed.equals(rs.variant(spec)) and changed.policy("carbon_price") == PRICE
    assert s.policy("carbon_price") == 0.0  # the original is untouched
    q = rs.plan(changed, year=2022)
    costs = q.costs.set_index("component")["yuan"]
    emitted = q.emissions.set_index("component")["kg"].drop("virgin_alternative").sum()
    assert costs["carbon"] == pytest.approx(PRICE * emitted / 1000, rel=1e-6)  # yuan/t × kg / 1000
    assert "carbon" not in set(p.costs.loc[p.costs["yuan"] != 0, "component"])
    # the price is charged on what the plan emits: at least as much cost, no more priced CO2
    # than the base plan, up to the two solves' MIP gaps (yuan)
    slack = sum((x.mip_gap or 0.0) * abs(x.solver_objective or x.objective) for x in (p, q))
    base_emitted = p.emissions.set_index("component")["kg"].drop("virgin_alternative").sum()
    assert emitted <= base_emitted + slack / (PRICE / 1000)
    assert q.objective >= p.objective - slack


def test_modify_empties_and_replaces_tables_and_refuses_bad_values(base):
    s, _ = base
    assert len(s.table("corridors")) and rs.modify(s, empty=["corridors"]).table("corridors").empty
    assert rs.modify(s, empty=["corridors"]).equals(rs.variant("jjj-2022@corridors=none"))
    supplies = s.table("supplies")
    supplies.loc[0, "generation_t"] = -5
    with pytest.raises(rs.ScenarioError) as exc:
        rs.modify(s, tables={"supplies": supplies})
    assert any("generation_t" in i.message("en") or "-5" in i.message("en") for i in exc.value.issues)
    with pytest.raises(ValueError, match="objective"):
        rs.variant("jjj-2022@objective=co2")
    with pytest.raises(ValueError, match="unknown modification"):
        rs.variant("jjj-2022@nonsense=1")


def test_plan_refuses_a_year_the_scenario_lacks_before_solving(base):
    s, _ = base
    with pytest.raises(ValueError, match="has no data for 1999"):
        rs.plan(s, year=1999)


def test_compare_labels_a_grid_of_in_memory_variants_without_solving_twice(base, monkeypatch):
    """``compare({label: Scenario}, vary=…)`` builds the CLI's labels and the variants it names
    (the solver is replaced: the planner's own tests solve)."""
    import resynergy.planner.sweep as sweep

    s, p = base
    seen = {}

    def fake(jobs, **kw):
        seen.update({label: (sc.policy("carbon_price"), opt.objective) for label, (sc, opt) in jobs.items()})
        return {label: p for label in jobs}
    monkeypatch.setattr(sweep, "solve_many", fake)
    c = rs.compare({"x": s}, vary={"policy.carbon_price": [0, 150.0]}, set=["objective=co2"])
    assert seen == {"x@policy.carbon_price=0 [objective=co2]": (0.0, "co2"),
                    "x@policy.carbon_price=150 [objective=co2]": (150.0, "co2")}
    assert list(c.totals().index) == list(seen) and set(c.table.columns) >= set(seen)
    with pytest.raises(ValueError, match="'@'"):
        rs.compare({"a@b": s})


def test_monitor_flows_reads_a_frame_like_the_file(base, tmp_path):
    s, p = base
    path = tmp_path / "flows.csv"
    p.flows.to_csv(path, index=False)
    from_file = rs.monitor_flows(path, s).table
    from_frame = rs.monitor_flows(p.flows, s).table
    pd.testing.assert_frame_equal(from_file, from_frame)
    assert set(from_frame["status"]) <= set(rs.TargetStatus)
    bad = p.flows.head(2).assign(t=[1.0, -1.0])
    with pytest.raises(rs.ScenarioError) as exc:
        rs.actual_flows(bad, s)
    assert [(i.row, i.column) for i in exc.value.issues] == [(3, "t")]


def test_indicator_table_lists_every_indicator_with_its_unit():
    from resynergy.indicators import INDICATORS

    t = rs.indicator_table()
    assert list(t["id"]) == list(INDICATORS)
    assert list(t["unit"]) == [i.unit for i in INDICATORS.values()] and all(t["unit"])
