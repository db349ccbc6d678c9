"""Exchange matching (#12 item 2), the per-query fast paths: the lane-free scorer
(``Transport.score_rows``), the fused filter rows (``compat.spec_limits``), the answer's
breakdown on Python floats (``Transport.details``) and the route text written when first read
(``Matches``) — each against the general, row-by-row or eager definition it replaces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from resynergy.exchange.compat import spec_limits
from resynergy.exchange.matching import MATCH_COLUMNS, Market
from resynergy.scenario.model import Scenario
from test_exchange_matching import random_market, reference_top


def lane_free(seed: int, n: int) -> tuple[pd.DataFrame, Scenario]:
    """A random market whose scenario has no lanes (so the scorer's fast path is taken), with
    some listings sharing sites (the on-site mode, no rail between a site and itself)."""
    frame, scenario = random_market(seed, n=n)
    tables = scenario.tables
    tables.pop("lanes", None)
    frame["site"] = np.where(np.arange(n) % 9 == 0, frame["site"].iloc[0], frame["site"])
    return frame, Scenario.from_tables(tables)


@pytest.mark.parametrize("seed", [4, 5])
def test_lane_free_scorer_equals_the_pairwise_scorer_and_top_equals_scan(seed):
    frame, scenario = lane_free(seed, 500)
    market = Market(frame, scenario)
    t = market.transport
    assert not len(t.lanes) and t.rail and t.onsite
    rng = np.random.default_rng(seed)
    u = rng.integers(0, len(t.site_ids), 400)
    u[::7] = 3  # the fixed end itself
    for outbound in (True, False):
        best, val, gc = t.score_rows(3, t.site_rows[u].T.copy(), outbound)
        here = np.full(len(u), 3)
        ref_best, ref_val = t.score(here, u) if outbound else t.score(u, here)
        assert np.array_equal(val, ref_val)  # the same numbers, term for term
        assert np.array_equal(np.where(np.isfinite(val), best, -1), ref_best)
        assert np.array_equal(gc, t._gc(here, u) if outbound else t._gc(u, here))
        from_best, from_val = t.score_from(3, u, outbound)
        assert np.array_equal(from_val, ref_val) and np.array_equal(from_best, ref_best)
    for lid in frame["id"].iloc[::11]:
        fast = market.top(lid, k=10).frame()
        pd.testing.assert_frame_equal(fast, market.scan(lid, k=10).frame())
        want = reference_top(frame, scenario, lid, 10)
        assert list(fast["counterpart"]) == [c for c, _ in want]


def test_spec_rows_are_the_spec_rule():
    """Every combination of stated / unstated spec and open / set bounds, against the rule
    written out: value within [lo, hi]; an unstated value fails any bound on it."""
    cases = [np.nan, 0.02, 0.06, 0.1]
    bounds = [np.nan, 0.02, 0.06]
    for v in cases:
        for lo in bounds:
            for hi in bounds:
                want_fits = (np.isnan(lo) or (not np.isnan(v) and v >= lo)) and (
                    np.isnan(hi) or (not np.isnan(v) and v <= hi))
                is_offer = np.array([True, False])
                values = np.array([[v], [np.nan]])
                lo_, hi_ = np.array([[np.nan], [lo]]), np.array([[np.nan], [hi]])
                cand, asking = spec_limits(is_offer, values, lo_, hi_)
                with np.errstate(invalid="ignore"):
                    offer_asks = not (cand[1] > asking[0]).any()  # the want as a candidate
                    want_asks = not (cand[0] > asking[1]).any()  # the offer as a candidate
                assert offer_asks == want_asks == want_fits, (v, lo, hi)


def test_breakdown_and_lazy_route_text_equal_the_row_by_row_definition():
    """The answer's rows on Python floats equal Transport.detail row by row, and the route
    text, written only when first read, equals route(detail(...)) in both languages."""
    frame, scenario = random_market(6, n=600)  # with lanes, rail and on-site pairs
    market = Market(frame, scenario)
    t = market.transport
    kinds = set()
    for lid in frame["id"].iloc[::13]:
        got = market.top(lid, k=10)
        assert got._later is not None or got.empty  # no text yet
        i = market._at(lid)
        cols = got._cols
        for r in range(len(got)):
            j = market._at(cols["counterpart"][r])
            so, sw = (market.site[i], market.site[j]) if market.is_offer[i] else (
                market.site[j], market.site[i])
            option = next(o for o in range(len(t.options)) if _same(t, so, sw, o, cols, r))
            d = t.detail(int(so), int(sw), option)
            kinds.add((d["kind"], bool(d["lane"])))
            assert got["route_zh"][r] == t.route(d, "zh")
            assert got["route_en"][r] == t.route(d, "en")
        assert got._later is None or got.empty
        assert tuple(got.frame().columns) == MATCH_COLUMNS
    assert {("direct", False), ("intermodal", False)} <= kinds


def _same(t, s, u, option, cols, r) -> bool:
    """Whether ``option`` between sites s and u gives row r's breakdown exactly."""
    o = t.options[option]
    if (o.kind, o.mode, o.rail_mode) != (cols["kind"][r], cols["mode"][r], cols["rail_mode"][r]):
        return False
    try:
        d = t.detail(int(s), int(u), option)
    except (IndexError, KeyError):
        return False
    return all(d[key] == cols[key][r] for key in (
        "from_terminal", "to_terminal", "distance_km", "transport_yuan_t", "handling_yuan_t",
        "co2_kg_t"))
