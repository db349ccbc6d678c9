"""Arc generation at scale: the vectorised intermodal ranking picks what ranking every sink would,
and the arc frame stays compact (categorical text columns)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from resynergy.network import arcs
from resynergy.network.arcs import NetworkOptions, build


def _brute_force(a, first_cost, b, last_cost, ref, k, forward):
    """For each terminal, its k cheapest continuations over every row (the definition)."""
    out = set()
    if forward:
        for key in np.unique(a):
            cost = ref[key, b] + last_cost
            best = [p for p in np.argsort(cost, kind="stable")[:k] if np.isfinite(cost[p])]
            out |= {(f, p) for f in np.flatnonzero(a == key) for p in best}
    else:
        for key in np.unique(b):
            cost = ref[a, key] + first_cost
            best = [p for p in np.argsort(cost, kind="stable")[:k] if np.isfinite(cost[p])]
            out |= {(p, g) for g in np.flatnonzero(b == key) for p in best}
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("forward", [True, False])
def test_routes_equal_ranking_every_row(seed, forward):
    rng = np.random.default_rng(seed)
    terminals, k = int(rng.integers(2, 9)), int(rng.integers(1, 5))
    nf, nl = int(rng.integers(1, 60)), int(rng.integers(1, 60))
    a, b = rng.integers(0, terminals, nf), rng.integers(0, terminals, nl)
    first_cost, last_cost = rng.uniform(5, 50, nf), rng.uniform(5, 50, nl)
    ref = rng.uniform(10, 200, (terminals, terminals))
    ref[rng.random(ref.shape) < 0.3] = np.inf  # rail legs too short or missing
    np.fill_diagonal(ref, np.inf)
    f, g = arcs._routes(a, first_cost, b, last_cost, ref, k, forward)
    assert set(zip(f.tolist(), g.tolist(), strict=True)) == _brute_force(
        a, first_cost, b, last_cost, ref, k, forward)


def test_unique_is_sorted_and_distinct():
    x = np.random.default_rng(0).integers(0, 50, 500)
    assert np.array_equal(arcs._unique(x), np.unique(x))
    assert len(arcs._unique(np.empty(0, np.int64))) == 0


def test_arc_text_columns_are_categorical_and_read_like_text():
    rng = np.random.default_rng(3)
    n = 60
    sites = pd.DataFrame({"id": [f"S{i}" for i in range(n)], "lat": rng.uniform(38, 41, n),
                          "lon": rng.uniform(114, 118, n)})
    modes = pd.DataFrame([
        {"id": "road", "cost_per_tkm": 0.5, "cost_fixed": 10.0, "co2_per_tkm": 0.06,
         "circuity": 1.25, "rail": False},
        {"id": "rail", "cost_per_tkm": 0.1, "cost_fixed": 0.0, "co2_per_tkm": 0.01,
         "circuity": 1.2, "rail": True}])
    src = pd.DataFrame({"site": sites["id"][:30], "material": ["slag", "ash"] * 15})
    snk = pd.DataFrame({"site": sites["id"][30:55].to_numpy(), "material": ["ash", "slag"] * 12
                        + ["ash"]})
    term = pd.DataFrame({"site": sites["id"][55:].to_numpy(), "handling_cost": 5.0,
                         "capacity_t": 1e6})
    net = build(src, snk, sites, modes, term, options=NetworkOptions(min_rail_km=0))
    a = net.arcs
    assert len(a) and set(a["kind"]) == {"direct", "intermodal"}
    for col in ("material", "kind", "mode", "rail_mode"):
        assert isinstance(a[col].dtype, pd.CategoricalDtype), col
    # each arc carries its source's material, and materials never mix
    assert (a["material"].astype(str).to_numpy() == src["material"].to_numpy()[a["src"]]).all()
    assert (a["material"].astype(str).to_numpy() == snk["material"].to_numpy()[a["dst"]]).all()
    im = a[a["kind"] == "intermodal"]
    assert (im["rail_mode"] == "rail").all() and (im["mode"] == "road").all()
    assert (a.loc[a["kind"] == "direct", "rail_mode"] == "").all()
