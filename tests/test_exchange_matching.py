"""Exchange matching (#12 item 2): delivered cost, filters, and the indexed search = full scan."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from resynergy.exchange.compat import accepted_materials, hazard_ok, process_inputs
from resynergy.exchange.listings import (
    LISTING_COLUMNS,
    SPECS,
    ListingsError,
    check_listings,
    from_registry,
    normalise,
)
from resynergy.exchange.matching import MATCH_COLUMNS, Market
from resynergy.network.geo import great_circle_km
from resynergy.scenario.model import Scenario
from resynergy.synth import synthesize

CARBON = 100.0  # yuan/t CO2 in the toy scenarios


def toy(b_lon: float, terminals: bool = True, lanes: pd.DataFrame | None = None) -> Scenario:
    """Plant A at (39, 116) next to yard TA; plant B at (39, b_lon) next to yard TB (0.05° east
    of each plant's yard, about 4.3 km)."""
    regions = pd.DataFrame({"code": ["130000"], "name_zh": ["河北"], "level": ["province"],
                            "lat": [39.0], "lon": [116.0]})
    sites = pd.DataFrame({
        "id": ["A", "TA", "TB", "B", "A2"],
        "name_zh": ["甲厂", "甲站", "乙站", "乙厂", "甲二厂"],
        "name_en": ["Plant A", "Yard A", "Yard B", "Plant B", "Plant A2"],
        "region": "130000", "lat": 39.0, "lon": [116.0, 116.05, b_lon - 0.05, b_lon, 116.0],
        "roles": ["generator", "terminal", "terminal", "facility", "facility"]})
    tables = {"regions": regions, "sites": sites,
              "policy": pd.DataFrame({"key": ["carbon_price"], "value": [CARBON]})}
    if terminals:
        tables["terminals"] = pd.DataFrame({"site": ["TA", "TB"], "handling_cost": [8.0, 8.0],
                                            "capacity_t": [1e6, 1e6]})
    if lanes is not None:
        tables["lanes"] = lanes
    return Scenario.from_tables(tables)


def listings(*rows: dict) -> pd.DataFrame:
    base = {"organisation": "", "quantity_t": 1000.0}
    return pd.DataFrame([{**base, **r} for r in rows])


def pair(scenario: Scenario, **want) -> pd.DataFrame:
    frame = listings({"id": "o1", "side": "offer", "site": "A", "material": "steel_slag",
                      "price_yuan_t": 20.0},
                     {"id": "w1", "side": "want", "site": "B", "material": "steel_slag", **want})
    return Market(frame, scenario).top("o1").frame()


def _road(modes: pd.DataFrame, gc: float) -> float:
    m = modes.loc["road_diesel"]  # the cheapest road mode at this carbon price
    km = gc * m["circuity"]
    return m["cost_fixed"] + m["cost_per_tkm"] * km + CARBON / 1000 * m["co2_per_tkm"] * km


def test_road_below_and_rail_beyond_a_distance_with_the_known_delivered_cost():
    near, far = toy(116.5), toy(118.5)
    modes = near.table("modes").set_index("id")
    gc_near = float(great_circle_km(39.0, 116.0, 39.0, 116.5))
    m = pair(near).iloc[0]
    assert (m["kind"], m["mode"], m["rail_mode"]) == ("direct", "road_diesel", "")
    assert m["delivered_yuan_t"] == pytest.approx(20.0 + _road(modes, gc_near))
    assert m["distance_km"] == pytest.approx(gc_near * 1.25)
    assert m["handling_yuan_t"] == 0.0
    assert m["route_zh"] == f"柴油重卡 {gc_near * 1.25:.0f} km"

    m = pair(far).iloc[0]
    gc1 = float(great_circle_km(39.0, 116.0, 39.0, 116.05))
    gc2 = float(great_circle_km(39.0, 116.05, 39.0, 118.45))
    rail = modes.loc["rail"]
    rail_cost = rail["cost_per_tkm"] * gc2 * rail["circuity"]
    rail_co2 = rail["co2_per_tkm"] * gc2 * rail["circuity"]
    road_co2 = 2 * modes.loc["road_diesel", "co2_per_tkm"] * gc1 * 1.25
    expected = 20.0 + 2 * _road(modes, gc1) + rail_cost + CARBON / 1000 * rail_co2 + 16.0
    assert (m["kind"], m["mode"], m["rail_mode"]) == ("intermodal", "road_diesel", "rail")
    assert (m["from_terminal"], m["to_terminal"]) == ("TA", "TB")
    assert m["delivered_yuan_t"] == pytest.approx(expected)
    assert m["handling_yuan_t"] == pytest.approx(16.0)
    assert m["co2_kg_t"] == pytest.approx(rail_co2 + road_co2)
    assert m["co2_yuan_t"] == pytest.approx(m["co2_kg_t"] * CARBON / 1000)
    assert m["delivered_yuan_t"] == pytest.approx(
        m["price_yuan_t"] + m["transport_yuan_t"] + m["handling_yuan_t"] + m["co2_yuan_t"])
    assert m["distance_km"] == pytest.approx((2 * gc1) * 1.25 + gc2 * 1.2)
    assert m["route_zh"].startswith("柴油重卡 5 km → 甲站 铁路 ") and m["route_zh"].endswith(
        " km → 乙站 柴油重卡 5 km")
    assert "Yard A Rail" in m["route_en"]
    # without terminals the same pair goes by road, dearer
    road_only = pair(toy(118.5, terminals=False)).iloc[0]
    assert road_only["kind"] == "direct"
    assert road_only["delivered_yuan_t"] > m["delivered_yuan_t"]


def test_match_rows_have_the_exchange_columns_and_plan_flag():
    s = toy(118.5)
    frame = listings({"id": "o1", "side": "offer", "site": "A", "material": "steel_slag"},
                     {"id": "w1", "side": "want", "site": "B", "material": "steel_slag",
                      "quantity_t": 300.0})
    market = Market(frame, s)
    plan = pd.DataFrame({"from_site": ["A"], "to_site": ["B"], "material": ["steel_slag"],
                         "t": [5.0]})
    m = market.top("w1", plan_flows=plan).frame()
    assert tuple(m.columns) == MATCH_COLUMNS
    row = m.iloc[0]
    assert (row["listing"], row["counterpart"], row["site"]) == ("w1", "o1", "A")
    assert row["quantity_t"] == 300.0  # what could be traded: the smaller remaining quantity
    assert np.isnan(row["price_yuan_t"])  # negotiable: delivered is logistics alone
    assert row["delivered_yuan_t"] == pytest.approx(
        row["transport_yuan_t"] + row["handling_yuan_t"] + row["co2_yuan_t"])
    assert bool(row["plan_recommended"])
    assert not bool(market.top("w1", plan_flows=plan.assign(t=0.0)).frame().iloc[0]["plan_recommended"])
    assert not bool(market.top("w1").frame().iloc[0]["plan_recommended"])


def test_unknown_listing_is_a_key_error():
    market = Market(listings({"id": "o1", "side": "offer", "site": "A",
                              "material": "steel_slag"}), toy(116.5))
    with pytest.raises(KeyError, match="nope"):
        market.top("nope")
    with pytest.raises(ValueError, match="k must be at least 1"):
        market.top("o1", k=0)
    with pytest.raises(ValueError, match=r"plan_flows lacks columns \['t'\]"):
        market.top("o1", plan_flows=pd.DataFrame(columns=["from_site", "to_site", "material"]))
    assert market.top("o1").empty and tuple(market.top("o1").frame().columns) == MATCH_COLUMNS


def _matches(scenario: Scenario, offers: list[dict], want: dict) -> list[str]:
    rows = [{"side": "offer", "site": "A", **o} for o in offers]
    rows.append({"id": "w", "side": "want", "site": "B", **want})
    return sorted(Market(listings(*rows), scenario).top("w", k=50).frame()["counterpart"])


def test_compatibility_a_process_want_takes_the_process_inputs():
    s = toy(116.5)
    offers = [{"id": m, "material": m} for m in ("bf_slag", "steel_slag", "fgd_gypsum",
                                                  "fly_ash", "tailings")]
    assert _matches(s, offers, {"material": "bf_slag", "accepts": "process:co_binder"}) == [
        "bf_slag", "fgd_gypsum", "steel_slag"]
    inputs = process_inputs(s.table("process_io"))
    pio = s.table("process_io")
    assert inputs["co_binder"] == frozenset(
        pio.loc[(pio["process"] == "co_binder") & (pio["direction"] == "in"), "material"])
    assert _matches(s, offers, {"material": "fly_ash", "accepts": "tailings"}) == [
        "fly_ash", "tailings"]
    assert _matches(s, offers, {"material": "fly_ash"}) == ["fly_ash"]
    assert accepted_materials("fly_ash", "process:no_such|bf_slag", inputs) == {"fly_ash",
                                                                                "bf_slag"}


def test_spec_ranges_exclude_out_of_range_and_unstated_specs():
    s = toy(116.5)
    offers = [{"id": "low", "material": "steel_slag", "spec_cl_pct": 0.03},
              {"id": "high", "material": "steel_slag", "spec_cl_pct": 0.08},
              {"id": "unknown", "material": "steel_slag"},
              {"id": "edge", "material": "steel_slag", "spec_cl_pct": 0.06}]
    assert _matches(s, offers, {"material": "steel_slag", "spec_cl_pct_max": 0.06}) == [
        "edge", "low"]
    assert _matches(s, offers, {"material": "steel_slag", "spec_cl_pct_min": 0.05}) == [
        "edge", "high"]
    assert _matches(s, offers, {"material": "steel_slag"}) == ["edge", "high", "low", "unknown"]


def test_period_overlap_and_open_ends():
    s = toy(116.5)
    offers = [{"id": "q1", "material": "fly_ash", "start": "2022-01-01", "end": "2022-03-31"},
              {"id": "q3", "material": "fly_ash", "start": "2022-07-01", "end": "2022-09-30"},
              {"id": "open", "material": "fly_ash"},
              {"id": "from_aug", "material": "fly_ash", "start": "2022-08-01"}]
    want = {"material": "fly_ash", "start": "2022-03-31", "end": "2022-07-01"}
    assert _matches(s, offers, want) == ["open", "q1", "q3"]
    assert _matches(s, offers, {"material": "fly_ash", "end": "2022-02-01"}) == ["open", "q1"]


def test_hazardous_code_must_be_listed_by_the_want():
    s = toy(116.5)
    offers = [{"id": "hw", "material": "hazardous_waste", "hazardous_code": "900-041-49"}]
    assert _matches(s, offers, {"material": "hazardous_waste"}) == []
    assert _matches(s, offers, {"material": "hazardous_waste", "hazardous_code": "HW08"}) == []
    assert _matches(s, offers, {"material": "hazardous_waste", "hazardous_code": "HW49"}) == ["hw"]
    assert _matches(s, offers, {"material": "hazardous_waste",
                                "hazardous_code": "HW08|900-041-49"}) == ["hw"]
    assert hazard_ok("", "") and not hazard_ok("900-041-49", "900-041-08")


def test_price_cap_quantity_organisation_and_reserved():
    s = toy(116.5)
    offers = [{"id": "cheap", "material": "fly_ash", "price_yuan_t": 10.0},
              {"id": "dear", "material": "fly_ash", "price_yuan_t": 60.0},
              {"id": "haggle", "material": "fly_ash"},
              {"id": "mine", "material": "fly_ash", "organisation": "ORG1"},
              {"id": "gone", "material": "fly_ash", "reserved_t": 1000.0},
              {"id": "off", "material": "fly_ash", "active": False}]
    want = {"material": "fly_ash", "price_yuan_t": 50.0, "organisation": "ORG1"}
    assert _matches(s, offers, want) == ["cheap", "haggle"]


def test_ranking_puts_the_cheapest_delivered_first_with_ties_in_listing_order():
    s = toy(116.5)
    rows = [{"id": "far", "side": "offer", "site": "A", "material": "fly_ash",
             "price_yuan_t": 0.0},
            {"id": "b2", "side": "offer", "site": "B", "material": "fly_ash",
             "price_yuan_t": 5.0},
            {"id": "b1", "side": "offer", "site": "B", "material": "fly_ash",
             "price_yuan_t": 5.0},
            {"id": "w", "side": "want", "site": "B", "material": "fly_ash"}]
    m = Market(listings(*rows), s).top("w").frame()
    assert list(m["counterpart"]) == ["b2", "b1", "far"]
    assert m["delivered_yuan_t"].is_monotonic_increasing
    assert m.iloc[0]["mode"] == "onsite" and m.iloc[0]["distance_km"] == 0.0


def test_a_direct_lane_replaces_its_mode_and_is_found_however_far():
    lanes = pd.DataFrame({"from_site": ["A"], "to_site": ["B"], "mode": ["road_diesel"],
                          "cost_per_t": [1.0], "distance_km": [np.nan], "co2_per_t": [0.0],
                          "capacity_t": [1e5]})
    s = toy(121.0, lanes=lanes)
    m = pair(s).iloc[0]
    assert (m["kind"], m["mode"]) == ("direct", "road_diesel")
    assert m["delivered_yuan_t"] == pytest.approx(21.0)
    assert m["route_zh"].endswith("（协议线路）")


# ---- the indexed search equals the full scan ---------------------------------------------

def random_market(seed: int, n: int = 600, sites: int = 120) -> tuple[pd.DataFrame, Scenario]:
    tables = synthesize(sites, seed=seed)
    rng = np.random.default_rng(seed)
    site_ids = tables["sites"]["id"].to_numpy()
    terms = tables["terminals"]["site"].to_numpy()
    tables["lanes"] = pd.DataFrame({
        "from_site": [site_ids[0], terms[0]], "to_site": [site_ids[-1], terms[1]],
        "mode": ["road_nev", "rail"], "distance_km": [np.nan, np.nan],
        "cost_per_t": [2.0, 1.0], "co2_per_t": [np.nan, np.nan], "capacity_t": [1e6, 1e6]})
    tables["policy"] = pd.DataFrame({"key": ["carbon_price"], "value": [float(seed % 3) * 60]})
    scenario = Scenario.from_tables(tables)
    mats = np.array(["steel_slag", "bf_slag", "fly_ash", "fgd_gypsum", "tailings"])
    side = rng.choice(["offer", "want"], n)
    frame = pd.DataFrame({
        "id": [f"L{i}" for i in range(n)], "side": side,
        "organisation": rng.choice(["", "O1", "O2", "O3"], n),
        "site": rng.choice(site_ids, n), "material": rng.choice(mats, n),
        "quantity_t": rng.uniform(1, 1000, n),
        "price_yuan_t": np.where(rng.random(n) < 0.2, np.nan, rng.uniform(-20, 80, n)),
    })
    frame["accepts"] = np.where(side == "want", rng.choice(
        ["", "process:co_binder", "fly_ash|tailings", "process:scm_cement"], n), "")
    start = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D")
    frame["start"] = np.where(rng.random(n) < 0.3, "", start.strftime("%Y-%m-%d"))
    frame["end"] = np.where(rng.random(n) < 0.3, "", (start + pd.to_timedelta(
        rng.integers(0, 200, n), "D")).strftime("%Y-%m-%d"))
    offer = side == "offer"
    frame["spec_cl_pct"] = np.where(offer & (rng.random(n) < 0.7), rng.uniform(0, 0.1, n), np.nan)
    frame["spec_cl_pct_max"] = np.where(~offer & (rng.random(n) < 0.3), 0.06, np.nan)
    frame["reserved_t"] = np.where(rng.random(n) < 0.05, frame["quantity_t"], 0.0)
    return frame, scenario


@pytest.mark.parametrize("seed, n, first", [(0, 600, 8), (1, 600, 8), (2, 1500, 4)])
def test_indexed_top_equals_the_full_scan_on_random_markets(seed, n, first, monkeypatch):
    # small first rounds, so that the bound decides (and widens) often; with first=4 the offers
    # of a material are split into ask bands for the second round
    monkeypatch.setattr(Market, "first", first)
    frame, scenario = random_market(seed, n=n)
    market = Market(frame, scenario)
    assert first > 4 or any(len(t[3]) > 1 for t in market._offer_trees.values())
    rng = np.random.default_rng(100 + seed)
    pruned = 0
    for lid in rng.choice(frame["id"], 80, replace=False):
        for k in (1, 10):
            fast = market.top(lid, k=k).frame()
            pruned += market.costed < (frame["side"] != frame.set_index("id").at[lid, "side"]).sum()
            pd.testing.assert_frame_equal(fast, market.scan(lid, k=k).frame())
            ids, cost = market.best(lid, k=k)
            assert list(ids) == list(fast["counterpart"])
            assert np.array_equal(cost, fast["delivered_yuan_t"].to_numpy())
    assert pruned > 30  # the index left counterparts out, and still found the same best
    some = market.top(frame.loc[frame["side"] == "want", "id"].iloc[0], k=10).frame()
    assert len(some) and some["delivered_yuan_t"].is_monotonic_increasing



def test_matches_records_and_columns_are_the_frame_s():
    """``top`` answers a light Matches; its records (what the API sends) and columns are the
    frame's, value for value (NaN asks included), on a random market with lanes and rail."""
    frame, scenario = random_market(3, n=600)
    market = Market(frame, scenario)
    seen = 0
    for lid in frame["id"].iloc[::37]:
        got = market.top(lid, k=10)
        table = got.frame()
        assert len(got) == len(table) and got.empty == table.empty
        assert tuple(table.columns) == MATCH_COLUMNS == got.columns
        records = got.records()
        assert len(records) == len(table)
        for mine, theirs in zip(records, table.to_dict("records"), strict=True):
            assert list(mine) == list(MATCH_COLUMNS)
            for c in MATCH_COLUMNS:
                a, b = mine[c], theirs[c]
                assert type(a) in (str, float, bool), (c, type(a))
                assert (a != a and b != b) or a == b, (c, a, b)
        assert list(got["counterpart"]) == list(table["counterpart"])
        seen += bool(len(got))
    assert seen > 5

def reference_top(frame: pd.DataFrame, scenario: Scenario, lid: str, k: int
                  ) -> list[tuple[str, float]]:
    """Every filter written out row by row in plain Python (no shared code with the matcher's
    filters), each passing pair costed alone: (counterpart, delivered) cheapest first."""
    from resynergy.exchange.matching import Transport

    t = Transport(scenario)
    inputs = process_inputs(scenario.table("process_io"))
    f = normalise(frame)
    me = f[f["id"] == lid].iloc[0]

    def day(text, default):
        return pd.Timestamp(text).value if text else default

    def left(r):
        return r["quantity_t"] - (0.0 if np.isnan(r["reserved_t"]) else r["reserved_t"])

    out = []
    for pos, r in f.iterrows():
        if r["side"] == me["side"]:
            continue
        o, w = (me, r) if me["side"] == "offer" else (r, me)
        if left(o) <= 0 or left(w) <= 0:
            continue
        if o["material"] not in accepted_materials(w["material"], w["accepts"], inputs):
            continue
        if o["organisation"] and o["organisation"] == w["organisation"]:
            continue
        if not (day(o["start"], -np.inf) <= day(w["end"], np.inf)
                and day(w["start"], -np.inf) <= day(o["end"], np.inf)):
            continue
        ask, cap = o["price_yuan_t"], w["price_yuan_t"]
        if not (np.isnan(ask) or np.isnan(cap) or ask <= cap):
            continue
        fits = True
        for spec in SPECS:
            v, lo, hi = o[f"spec_{spec}"], w[f"spec_{spec}_min"], w[f"spec_{spec}_max"]
            if (not np.isnan(lo) and not v >= lo) or (not np.isnan(hi) and not v <= hi):
                fits = False
        if not fits or not hazard_ok(o["hazardous_code"], w["hazardous_code"]):
            continue
        s, u = t.site_ids.get_loc(o["site"]), t.site_ids.get_loc(w["site"])
        _, val = t.score(np.array([s]), np.array([u]))
        delivered = (0.0 if np.isnan(ask) else ask) + float(val[0])
        if np.isfinite(delivered):
            out.append((delivered, pos, r["id"]))
    out.sort()
    return [(c, d) for d, _, c in out[:k]]


def test_top_agrees_with_a_plain_python_reference():
    frame, scenario = random_market(3, n=300)
    frame.loc[frame.index[:40:4], "material"] = "hazardous_waste"
    frame.loc[frame.index[:40:4], "hazardous_code"] = np.where(
        frame["side"].iloc[:40:4] == "offer", "900-041-49", "HW49|HW08")
    frame["hazardous_code"] = frame["hazardous_code"].fillna("")
    market = Market(frame, scenario)
    found = 0
    for lid in frame["id"].iloc[::7]:
        got = market.top(lid, k=8).frame()
        want = reference_top(frame, scenario, lid, 8)
        assert list(got["counterpart"]) == [c for c, _ in want]
        np.testing.assert_allclose(got["delivered_yuan_t"], [d for _, d in want], rtol=1e-12)
        found += len(want)
    assert found > 150
    hw = frame.loc[(frame["side"] == "want") & (frame["material"] == "hazardous_waste"), "id"]
    assert any(len(market.top(x)) for x in hw)  # hazardous offers reach wants listing HW49


# ---- listings ----------------------------------------------------------------------------

def test_check_listings_locates_every_problem_in_zh_and_en():
    s = toy(116.5)
    frame = pd.DataFrame([
        {"id": "a", "side": "sell", "site": "A", "material": "steel_slag", "quantity_t": 1},
        {"id": "a", "side": "offer", "site": "NOPE", "material": "steel_slag", "quantity_t": 0},
        {"id": "c", "side": "want", "site": "B", "material": "fly_ash", "quantity_t": "lots",
         "start": "2022-05-01", "end": "2022-04-01", "spec_cl_pct_min": 0.2,
         "spec_cl_pct_max": 0.1, "accepts": "process:nothing|unobtainium",
         "hazardous_code": "HW8"},
        {"id": "d", "side": "offer", "site": "A", "material": "hazardous_waste",
         "quantity_t": 5, "start": "2022-13-01", "spec_cl_pct_max": 0.1},
        {"id": "e", "side": "offer", "site": "A", "material": "hazardous_waste",
         "quantity_t": 5, "hazardous_code": "90004149", "reserved_t": 6.0},
    ])
    issues = check_listings(frame, s)
    found = {(i.row, i.column, i.code) for i in issues}
    assert found == {
        (2, "side", "bad_choice"), (3, "id", "duplicate"), (3, "site", "unknown_ref"),
        (3, "quantity_t", "not_positive"), (4, "quantity_t", "not_number"),
        (4, "start", "period_order"), (4, "spec_cl_pct_min", "spec_range"),
        (4, "accepts", "unknown_accept"), (4, "hazardous_code", "bad_hw_codes"),
        (5, "start", "bad_date"), (5, "spec_cl_pct_max", "side_column"),
        (5, "hazardous_code", "hw_required"), (6, "hazardous_code", "bad_hw_code"),
        (6, "reserved_t", "above_max"),
    }
    assert sum(1 for i in issues if i.code == "unknown_accept") == 2
    zh = next(i for i in issues if i.code == "period_order")
    assert zh.message("zh") == "listings, 第 4 行, 列 start, 值「2022-05-01」: 开始日期 2022-05-01 晚于结束日期 2022-04-01"
    assert "row 4, column start" in zh.message("en") and "is after" in zh.message("en")
    with pytest.raises(ListingsError) as err:
        Market(frame, s)
    assert err.value.issues == issues
    blank = check_listings(pd.DataFrame({"id": ["x"], "side": ["offer"], "site": ["A"],
                                         "material": ["fly_ash"], "quantity_t": [None]}))
    assert [(i.code, i.row, i.column) for i in blank] == [("required", 2, "quantity_t")]
    missing = check_listings(pd.DataFrame({"id": ["x"]}))
    assert {i.column for i in missing if i.code == "missing_column"} == {
        "side", "site", "material", "quantity_t"}


def test_listings_from_the_registry_in_one_action(builtin_scenario):
    s = builtin_scenario
    frame = from_registry(s.table("sites"), s.table("supplies"), s.table("demands"),
                          s.table("facilities"), s.table("process_io"), year=2022)
    assert tuple(frame.columns) == LISTING_COLUMNS and check_listings(frame, s) == []
    sup = s.table("supplies")
    sup = sup[(sup["year"] == 2022) & (sup["generation_t"] > 0)
              & (sup["material"] != "hazardous_waste")]
    offers = frame[frame["side"] == "offer"]
    assert len(offers) == len(sup)
    assert offers["quantity_t"].sum() == pytest.approx(sup["generation_t"].sum())
    binder = frame[frame["accepts"] == "process:co_binder"]
    assert len(binder) and set(binder["material"]) == {"bf_slag"}  # its largest input
    assert (frame["start"] == "2022-01-01").all() and (frame["end"] == "2022-12-31").all()
    market = Market(frame, s)
    m = market.top(offers[offers["material"] == "steel_slag"]["id"].iloc[0]).frame()
    assert len(m) == 10 and m["delivered_yuan_t"].is_monotonic_increasing


def test_normalise_fills_optional_columns():
    f = normalise(pd.DataFrame({"id": ["x"], "side": ["offer"], "site": ["A"],
                                "material": ["fly_ash"], "quantity_t": [1.0]}))
    assert tuple(f.columns) == LISTING_COLUMNS
    assert f.at[0, "accepts"] == "" and np.isnan(f.at[0, f"spec_{SPECS[0]}"])


def test_transport_costs_agree_with_the_planners_network_arcs():
    """One definition: the cheapest arc the network builds between two sites (cost + CO2 at the
    carbon price, every arc kept) is what matching charges for that pair."""
    from resynergy.exchange.matching import Transport
    from resynergy.network.arcs import NetworkOptions, build

    _, scenario = random_market(4, n=10, sites=60)
    sites = scenario.table("sites")
    ids = sites["id"].to_numpy()[::3]
    ends = pd.DataFrame({"site": ids, "material": "fly_ash"})
    opts = NetworkOptions(k_nearest=len(ids), max_distance_km=1e5, k_rail=10 ** 4)
    net = build(ends, ends, sites, scenario.table("modes"), scenario.table("terminals"),
                scenario.table("lanes"), opts)
    carbon = scenario.policy("carbon_price", 0.0) / 1000
    arcs = net.arcs.assign(score=net.cost + carbon * net.co2)
    cheapest = arcs.groupby(["src", "dst"])["score"].min()
    t = Transport(scenario, opts)
    pos = t.site_ids.get_indexer(ids)
    _, val = t.score(pos[cheapest.index.get_level_values(0)],
                     pos[cheapest.index.get_level_values(1)])
    assert len(cheapest) == len(ids) ** 2
    assert (arcs["kind"] == "intermodal").any()
    np.testing.assert_allclose(val, cheapest.to_numpy(), rtol=1e-12)
