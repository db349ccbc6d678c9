"""Scenario sweeps: variants crossed with --vary grids, solved serially or on a Dask cluster."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from resynergy import synth
from resynergy.cli.main import app
from resynergy.cli.plan import expand
from resynergy.planner import PlanOptions
from resynergy.planner.sweep import solve_many


def test_expand_crosses_variants_with_every_grid_combination():
    specs = expand(["a", "b@objective=co2"], ["policy.carbon_price=0,100", "corridors=none"])
    assert specs == ["a@policy.carbon_price=0,corridors=none", "a@policy.carbon_price=100,corridors=none",
                     "b@objective=co2,policy.carbon_price=0,corridors=none",
                     "b@objective=co2,policy.carbon_price=100,corridors=none"]
    assert expand(["a"], []) == ["a"]
    for bad in ("policy.carbon_price", "policy.carbon_price=", "=1,2"):
        with pytest.raises(typer.BadParameter):
            expand(["a"], [bad])


@pytest.fixture(scope="module")
def variants():
    base = synth.scenario(60, seed=5)
    options = PlanOptions(mip_gap=1e-6, time_limit=60, duals=False)
    return {f"carbon {p}": (base.with_policy(carbon_price=p), options) for p in (0.0, 300.0)}


@pytest.mark.slow  # a Dask cluster
def test_dask_cluster_gives_the_serial_answers_in_job_order(variants):
    serial = solve_many(variants)
    seen = []
    parallel = solve_many(variants, workers=2, progress=lambda label, f: seen.append((label, f)))
    assert list(parallel) == list(variants)
    for label in variants:
        assert parallel[label].status == serial[label].status == "optimal"
        assert parallel[label].objective == pytest.approx(serial[label].objective, rel=1e-9)
    assert sorted(f for _, f in seen) == [0.5, 1.0]
    # a carbon price can only raise the least cost
    assert serial["carbon 300.0"].objective >= serial["carbon 0.0"].objective


@pytest.mark.slow  # a Dask cluster
def test_compare_sweeps_a_grid_on_workers(tmp_path):
    folder = synth.write(40, 2, tmp_path / "s")
    res = CliRunner().invoke(app, ["compare", str(folder), "--vary", "policy.carbon_price=0,200",
                                   "--workers", "2", "--json", "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["variants"] == [f"{folder}@policy.carbon_price=0", f"{folder}@policy.carbon_price=200"]
    assert (tmp_path / "out" / "compare.html").exists()
