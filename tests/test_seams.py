"""Typed seams (#16 item 3): the core is type-checked strictly, statuses are enums that stay
their strings, and the planner's data holds its dimensions as records and no scenario."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from resynergy.indicators import attainment
from resynergy.planner.data import ModelData, prepare
from resynergy.scenario import Scenario
from resynergy.states import PlanStatus, RunState, TargetStatus
from support.toys import toy_scenario

ROOT = Path(__file__).resolve().parents[1]
CORE = ("schema", "catalog", "datasets", "scenario", "network", "planner", "indicators",
        "monitor")


def test_mypy_checks_every_core_package_with_untyped_defs_disallowed():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    files = set(conf["files"])
    strict = {m for o in conf.get("overrides", []) if o.get("disallow_untyped_defs")
              for m in ([o["module"]] if isinstance(o["module"], str) else o["module"])}
    for pkg in CORE:
        assert f"src/resynergy/{pkg}" in files, f"mypy does not check {pkg}"
        assert f"resynergy.{pkg}.*" in strict, f"{pkg} may define untyped functions"


def test_statuses_are_the_same_strings_in_json_and_sql():
    assert json.dumps({"s": PlanStatus.RELAXED, "t": TargetStatus.MET}) == '{"s": "relaxed", "t": "met"}'
    assert PlanStatus("time_limit") is PlanStatus.TIME_LIMIT and RunState.QUEUED == "queued"
    from resynergy.store.models import Run

    checks = [str(c.sqltext) for c in Run.__table__.constraints if isinstance(c, sa.CheckConstraint)]
    assert checks == ["state IN ('queued', 'running', 'cancelling', 'succeeded', 'failed', "
                      "'cancelled')"]  # as migration 0001 created it


def test_attainment_statuses_are_target_statuses():
    s = toy_scenario()
    targets = s.table("targets")
    values = pd.DataFrame({"indicator": targets["indicator"], "region": targets["region"],
                           "material": "", "year": targets["year"], "value": 55.0})
    got = set(attainment(targets, values)["status"])
    assert got and got <= set(TargetStatus)
    assert {TargetStatus.MET, TargetStatus.MISSED, TargetStatus.REPORTED} >= got


def test_model_data_holds_records_per_dimension_and_no_scenario():
    s = toy_scenario()
    data = prepare(s)
    assert not any(isinstance(v, Scenario) for v in vars(data).values())
    assert len(vars(data)) < 25  # grouped, not 49 flat fields
    ny = len(data.years)
    assert data.supply.gen.shape == (ny, len(data.supply.table)) == data.supply.must_use.shape
    assert data.facility.avail.shape == (ny, len(data.facility.table))
    assert len(data.facility.min_load) == len(data.facility.table)
    assert data.demand.qty.shape == (ny, len(data.demand.table))
    narcs = len(data.net.arcs)
    assert all(len(getattr(data.arc, f)) == narcs for f in
               ("from_sup", "to_fin", "fac_in", "rail", "src", "dst", "road_km", "onsite"))
    assert len(data.corridors.arcs) == len(data.corridors.table)
    # names were read once and need no scenario afterwards
    site = s.table("sites").iloc[0]
    assert data.names("site", site["id"], "en") == site["name_en"]
    assert isinstance(data, ModelData) and np.all(data.facility.cap0 >= 0)
