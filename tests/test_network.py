"""Candidate arcs: distances, pruning, intermodal paths, lanes, regions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from resynergy.network import geo
from resynergy.network.arcs import NetworkOptions, build
from resynergy.network.regions import within

MODES = pd.DataFrame([
    {"id": "road", "cost_per_tkm": 0.5, "cost_fixed": 10.0, "co2_per_tkm": 0.06,
     "circuity": 1.25, "rail": False},
    {"id": "ev", "cost_per_tkm": 0.6, "cost_fixed": 10.0, "co2_per_tkm": 0.04,
     "circuity": 1.25, "rail": False},
    {"id": "rail", "cost_per_tkm": 0.1, "cost_fixed": 0.0, "co2_per_tkm": 0.01,
     "circuity": 1.2, "rail": True},
])


def sites(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "lat", "lon"])


def test_great_circle_matches_published_city_distances():
    # facts.md §6.2: Tangshan–Beijing 155 km, Zhengzhou–Beijing 624 km (great circle)
    assert geo.great_circle_km(39.631, 118.180, 39.904, 116.407) == pytest.approx(155, abs=1.5)
    assert geo.great_circle_km(34.747, 113.625, 39.904, 116.407) == pytest.approx(624, abs=3)
    assert geo.great_circle_km(40.0, 116.0, 40.0, 116.0) == 0.0


def test_chord_orders_like_great_circle():
    xyz = geo.unit_xyz([40.0, 41.0], [116.0, 116.0])
    assert np.linalg.norm(xyz[0] - xyz[1]) == pytest.approx(geo.chord(geo.great_circle_km(
        40.0, 116.0, 41.0, 116.0)))
    assert geo.chord(np.inf) == np.inf


def test_direct_arcs_use_circuity_and_mode_costs():
    s = sites(("A", 40.0, 116.0), ("B", 41.0, 116.0))
    net = build(pd.DataFrame({"site": ["A"], "material": ["m"]}),
                pd.DataFrame({"site": ["B"], "material": ["m"]}), s, MODES)
    a = net.arcs.set_index("mode")
    gc = geo.great_circle_km(40.0, 116.0, 41.0, 116.0)
    assert set(a.index) == {"road", "ev"}  # rail runs between terminals only
    assert a.at["road", "d1"] == pytest.approx(1.25 * gc)
    assert a.at["road", "c1"] == pytest.approx(10 + 0.5 * 1.25 * gc)
    assert a.at["ev", "e1"] == pytest.approx(0.04 * 1.25 * gc)
    assert (a["kind"] == "direct").all() and (a["t_from"] == -1).all()


def test_knn_and_radius_prune_per_material_from_both_ends():
    # three sinks at 1°, 2°, 5° north of the only source; k = 1 from the source keeps the
    # nearest, and each sink keeps its nearest source (the same one) unless out of radius
    s = sites(("S", 40.0, 116.0), ("K1", 41.0, 116.0), ("K2", 42.0, 116.0), ("K5", 45.0, 116.0))
    src = pd.DataFrame({"site": ["S"], "material": ["m"]})
    snk = pd.DataFrame({"site": ["K1", "K2", "K5"], "material": ["m"] * 3})
    net = build(src, snk, s, MODES, options=NetworkOptions(k_nearest=1, max_distance_km=300,
                                                           direct_modes=("road",)))
    assert sorted(net.arcs["dst"]) == [0, 1]  # K5 is 556 km away: beyond the radius
    wide = build(src, snk, s, MODES, options=NetworkOptions(
        k_nearest=1, max_distance_km=300, per_material={"m": (1, 1000.0)},
        direct_modes=("road",)))
    assert sorted(wide.arcs["dst"]) == [0, 1, 2]
    other = build(src, snk.assign(material="other"), s, MODES)
    assert other.arcs.empty  # materials never mix


def test_ports_of_one_owner_are_not_linked():
    s = sites(("A", 40.0, 116.0))
    net = build(pd.DataFrame({"site": ["A"], "material": ["m"], "owner": ["F1"]}),
                pd.DataFrame({"site": ["A", "A"], "material": ["m", "m"], "owner": ["F1", "F2"]}),
                s, MODES, options=NetworkOptions(direct_modes=("road",)))
    assert list(net.arcs["dst"]) == [1]
    assert net.arcs["d1"].iloc[0] == 0.0


def test_intermodal_paths_carry_handling_at_both_terminals():
    s = sites(("A", 40.0, 116.0), ("TA", 40.1, 116.0), ("TB", 45.9, 116.0), ("B", 46.0, 116.0))
    term = pd.DataFrame({"site": ["TA", "TB"], "handling_cost": [5.0, 7.0],
                         "capacity_t": [1e6, 1e6]})
    net = build(pd.DataFrame({"site": ["A"], "material": ["m"]}),
                pd.DataFrame({"site": ["B"], "material": ["m"]}), s, MODES, term)
    im = net.arcs[net.arcs["kind"] == "intermodal"]
    assert len(im) == 2  # one path per road mode
    r = im[im["mode"] == "road"].iloc[0]
    assert (r["t_from"], r["t_to"], r["rail_mode"]) == (0, 1, "rail")
    rail_km = 1.2 * geo.great_circle_km(40.1, 116.0, 45.9, 116.0)
    assert r["d2"] == pytest.approx(rail_km)
    assert r["c2"] == pytest.approx(0.1 * rail_km + 5.0 + 7.0)
    assert r["d1"] == pytest.approx(1.25 * geo.great_circle_km(40.0, 116.0, 40.1, 116.0))
    # beyond the direct radius only the rail path remains
    assert (net.arcs["kind"] == "intermodal").sum() == 2
    short = build(pd.DataFrame({"site": ["A"], "material": ["m"]}),
                  pd.DataFrame({"site": ["B"], "material": ["m"]}), s, MODES, term,
                  options=NetworkOptions(min_rail_km=1000))
    assert (short.arcs["kind"] == "intermodal").sum() == 0


def test_lanes_override_and_add_arcs():
    s = sites(("A", 40.0, 116.0), ("B", 41.0, 116.0), ("C", 48.0, 116.0))
    src = pd.DataFrame({"site": ["A"], "material": ["m"]})
    snk = pd.DataFrame({"site": ["B", "C"], "material": ["m", "m"]})
    lanes = pd.DataFrame([
        {"from_site": "A", "to_site": "B", "mode": "road", "distance_km": np.nan,
         "cost_per_t": 3.0, "co2_per_t": np.nan, "capacity_t": 50.0},
        {"from_site": "A", "to_site": "C", "mode": "rail", "distance_km": 900.0,
         "cost_per_t": np.nan, "co2_per_t": 1.0, "capacity_t": np.nan},
    ])
    net = build(src, snk, s, MODES, lanes=lanes,
                options=NetworkOptions(max_distance_km=300, direct_modes=("road",)))
    a = net.arcs.set_index(["dst", "mode"])
    assert a.at[(0, "road"), "c1"] == 3.0 and a.at[(0, "road"), "lane1"] == 0
    assert len(a.loc[[(0, "road")]]) == 1  # the lane replaced the geometric arc
    conveyor = a.loc[(1, "rail")]  # C is beyond the radius: only the lane reaches it
    assert conveyor["d1"] == 900.0 and conveyor["c1"] == pytest.approx(0.1 * 900.0)
    assert conveyor["e1"] == 1.0 and conveyor["lane1"] == 1
    with pytest.raises(ValueError, match="unknown modes"):
        build(src, snk, s, MODES, lanes=lanes.assign(mode="barge"))


def test_rail_lane_between_terminals_overrides_the_rail_leg():
    s = sites(("A", 40.0, 116.0), ("TA", 40.1, 116.0), ("TB", 45.9, 116.0), ("B", 46.0, 116.0))
    term = pd.DataFrame({"site": ["TA", "TB"], "handling_cost": [5.0, 5.0],
                         "capacity_t": [1e6, 1e6]})
    lanes = pd.DataFrame([{"from_site": "TA", "to_site": "TB", "mode": "rail",
                           "distance_km": np.nan, "cost_per_t": 20.0, "co2_per_t": np.nan,
                           "capacity_t": 500.0}])
    net = build(pd.DataFrame({"site": ["A"], "material": ["m"]}),
                pd.DataFrame({"site": ["B"], "material": ["m"]}), s, MODES, term, lanes)
    r = net.arcs[net.arcs["kind"] == "intermodal"].iloc[0]
    assert r["c2"] == pytest.approx(20.0 + 5.0 + 5.0) and r["lane2"] == 0


def test_missing_coordinates_are_named():
    with pytest.raises(ValueError, match="X"):
        build(pd.DataFrame({"site": ["X"], "material": ["m"]}),
              pd.DataFrame({"site": ["A"], "material": ["m"]}), sites(("A", 40.0, 116.0)), MODES)


def test_region_membership_walks_up_to_the_province():
    regions = pd.DataFrame({"code": ["130000", "130800"], "parent": ["", "130000"],
                            "level": ["province", "prefecture"]})  # as the schema requires
    codes = np.array(["130800", "130000", "110000", "130200"], dtype=object)
    assert within(codes, "130000", regions).tolist() == [True, True, False, True]
    assert within(codes, "130800", regions).tolist() == [True, False, False, False]
    assert within(codes, "", regions).all()
