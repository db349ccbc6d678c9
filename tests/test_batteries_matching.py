"""Matching triaged batteries (issue 14 item 4): second life to the cheapest second-life demand,
the rest to the cheapest licensed recycler, by road only (dangerous goods); the cost is the
network's arc cost (distance × circuity × cost per t·km + fixed)."""

from __future__ import annotations

import pandas as pd
import pytest

from resynergy import catalog
from resynergy.batteries import matching
from resynergy.network.geo import great_circle_km

SITES = pd.DataFrame([
    {"id": "depot", "lat": 40.9, "lon": 117.9}, {"id": "storage", "lat": 39.9, "lon": 116.4},
    {"id": "near-rec", "lat": 39.1, "lon": 117.2}, {"id": "far-rec", "lat": 34.7, "lon": 113.6},
    {"id": "lone", "lat": 25.0, "lon": 100.0}])
DEMANDS = pd.DataFrame([{"site": "storage", "material": "battery_modules"}, {"site": "near-rec", "material": "fly_ash"}])
FACILITIES = pd.DataFrame([{"site": "near-rec", "process": "battery_recycling"},
                           {"site": "far-rec", "process": "battery_recycling"},
                           {"site": "storage", "process": "tailings_sand"}])


def test_each_outcome_goes_to_its_cheapest_destination_by_road():
    batches = pd.DataFrame([{"unit_code": "A", "outcome": "repurpose", "site": "depot", "mass_kg": 400.0},
                            {"unit_code": "B", "outcome": "recycle", "site": "depot", "mass_kg": 300.0},
                            {"unit_code": "C", "outcome": "reuse", "site": "", "mass_kg": 100.0}])
    modes = catalog.table("modes")
    out = matching.match(batches, SITES, modes, DEMANDS, FACILITIES).set_index("unit_code")
    assert out.loc["A", "to_site"] == "storage" and out.loc["A", "route"] == "second_life"
    assert out.loc["B", "to_site"] == "near-rec" and out.loc["B", "route"] == "recycling"
    assert out.loc["C", "to_site"] == "" and "unknown" in out.loc["C", "reason_en"]
    road = modes[~modes["rail"].astype(bool) & ~modes["onsite"].astype(bool)].set_index("id")
    km = great_circle_km(40.9, 117.9, 39.1, 117.2)
    best = min(km * m.circuity * m.cost_per_tkm + m.cost_fixed for m in road.itertuples())
    assert out.loc["B", "cost_per_t"] == pytest.approx(best, abs=0.1)
    assert out.loc["B", "delivered_cost_yuan"] == pytest.approx(out.loc["B", "cost_per_t"] * 0.3, abs=0.1)
    assert not modes.set_index("id").loc[out["mode"][out["mode"] != ""], "rail"].astype(bool).any()


def test_nothing_in_reach_is_said():
    batches = pd.DataFrame([{"unit_code": "D", "outcome": "recycle", "site": "lone", "mass_kg": 10.0}])
    out = matching.match(batches, SITES, catalog.table("modes"), DEMANDS, FACILITIES.iloc[:0],
                         matching.ROAD_ONLY)
    assert out.loc[0, "to_site"] == "" and "within reach" in out.loc[0, "reason_en"]
