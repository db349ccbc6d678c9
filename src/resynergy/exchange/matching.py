"""Matching: for one listing, its counterparts ranked by delivered cost.

``delivered_yuan_t`` = the offer's ask (a negotiable ask counts as 0: the ranking is then by
logistics alone, and ``price_yuan_t`` stays NaN so the row shows it is negotiable)
+ transport + terminal handling + CO2 × the scenario's carbon price (policy ``carbon_price``,
yuan/t CO2), by the cheapest of the network's options between the offer's and the want's sites:

- ``direct``: one road leg by each direct mode (every non-rail mode but the on-site one, as in
  :mod:`resynergy.network.arcs`), great-circle × circuity; a direct lane between the two sites
  replaces the geometric leg of its mode (its own distance, cost, CO2 where it gives them);
  two listings on one site use the on-site mode (conveyor, loader) when the modes table has one;
- ``intermodal``: road to one of the ``k_terminals`` nearest rail terminals of the offer's site
  (within ``terminal_radius_km``), rail to one of the want site's, road from there, the same
  road mode on both road legs; rail legs shorter than ``min_rail_km`` are not offered; rail
  lanes between terminals override their rail leg; handling is charged at both terminals.

Every leg is costed by the one definition in :mod:`resynergy.network.arcs` (``mode_leg``,
``lane_leg``, ``rail_leg``). The cheapest option is chosen by cost + CO2 at the carbon price.

Filters (a counterpart failing any is not listed): material (a want takes its material and its
accepted substitutes, :mod:`.compat`), hazardous-waste code (an offer with a code only to a want
that lists the code or its HW category), specs (each offer spec within the want's bounds; an
offer that does not state a spec the want bounds is excluded, not guessed), the want's price cap
(on the ask; a negotiable ask passes), period overlap, a positive remaining quantity on both
sides (``quantity_t`` of a match = the smaller remaining quantity: what could be traded), a
different organisation (listings of one organisation are not matched with each other), and
``active`` when the column is there.

Search: a k-d tree (unit vectors, :func:`resynergy.network.geo.unit_xyz`) per material over the
offers, and per material over the wants that take it. ``top`` costs the nearest ``first`` (64)
compatible counterparts of each tree asked; where the lower bound of anything farther — the
tree's least ask + the least any option can cost over the farthest one's distance
(:meth:`Transport.lower_bound`: per direct mode fixed + rate × great-circle km; intermodal two
road fixed costs + the cheapest rail leg's excess over its rate + the lesser rate × km, by the
triangle inequality) — does not exceed the k-th best, it costs everything within the distance at
which it does (:meth:`Transport.reach`). The k-th best only falls as candidates are added, so
what lies beyond stays out: two rounds at most, and the answer is the full scan's
(:meth:`Market.scan`, kept for tests and benchmarks). Counterparts joined by a direct lane are
always costed (a lane's negotiated rate has no distance bound).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from resynergy.exchange.compat import (
    accepted_materials,
    hazard_ok,
    process_inputs,
    spec_limits,
)
from resynergy.exchange.listings import (
    SPECS,
    ListingsError,
    check_listings,
    normalise,
    remaining_t,
)
from resynergy.network.arcs import (
    NetworkOptions,
    direct_lanes,
    lane_leg,
    mode_leg,
    onsite_modes,
    rail_leg,
)
from resynergy.network.geo import EARTH_RADIUS_KM, chord, great_circle_km, unit_xyz
from resynergy.scenario.protocol import ScenarioLike

MATCH_COLUMNS: tuple[str, ...] = (
    "listing", "counterpart", "organisation", "site", "material", "quantity_t", "price_yuan_t",
    "kind", "mode", "rail_mode", "from_terminal", "to_terminal", "distance_km",
    "transport_yuan_t", "handling_yuan_t", "co2_kg_t", "co2_yuan_t", "delivered_yuan_t",
    "plan_recommended", "route_zh", "route_en",
)
_SAFETY = 1e-9  # relative slack of the lower bound against rounding


class Matches:
    """The ranked counterparts of a listing (what :meth:`Market.top` answers): the columns of
    :data:`MATCH_COLUMNS` as arrays, cheapest first. Building a pandas frame costs more than
    the search itself, so it is made only when asked: :meth:`frame`; :meth:`records` gives the
    rows as plain Python dicts (what the API sends). The route text (zh, en) is written when
    first read (a column, a frame or the records), not by the search."""

    columns = MATCH_COLUMNS

    def __init__(self, cols: dict[str, Any],
                 later: Callable[[], dict[str, Any]] | None = None) -> None:
        self._cols = cols
        self._later = later  # columns made when first read (the route text)

    def _all(self) -> dict[str, Any]:
        if self._later is not None:
            self._cols.update(self._later())
            self._later = None
        return self._cols

    def __len__(self) -> int:
        return len(self._cols["listing"])

    @property
    def empty(self) -> bool:
        return len(self) == 0

    def __getitem__(self, column: str) -> np.ndarray:
        cols = self._cols if column in self._cols else self._all()
        return np.asarray(cols[column])

    def frame(self) -> pd.DataFrame:
        """The matches as a DataFrame of MATCH_COLUMNS."""
        return pd.DataFrame(self._all(), columns=list(MATCH_COLUMNS), copy=False)

    def records(self) -> list[dict[str, Any]]:
        """One dict per match (column → plain Python value: str, float with NaN, bool)."""
        cols = self._all()
        values = [np.asarray(cols[c]).tolist() for c in MATCH_COLUMNS]
        return [dict(zip(MATCH_COLUMNS, row, strict=True)) for row in zip(*values, strict=True)]

    def __repr__(self) -> str:
        return f"Matches({len(self)} rows)"


@dataclass(frozen=True)
class _Option:
    """One way to move a tonne between two sites (a column of the option matrix)."""

    kind: str  # direct | intermodal
    mode: str
    rail_mode: str = ""
    ka: int = -1  # which of the offer site's access terminals
    kb: int = -1  # which of the want site's access terminals
    lane: int = -1  # direct lane row


class Transport:
    """The cheapest option (by yuan/t including CO2 at the carbon price) between sites of a
    scenario, vectorised over site pairs; see the module text for the options."""

    def __init__(self, scenario: ScenarioLike, options: NetworkOptions | None = None) -> None:
        options = options or NetworkOptions()
        sites = scenario.table("sites").reset_index(drop=True)
        self.site_ids = pd.Index(sites["id"])
        self.lat = sites["lat"].to_numpy(dtype=float)
        self.lon = sites["lon"].to_numpy(dtype=float)
        self.name_zh = sites["name_zh"].fillna("").to_numpy(dtype=object)
        self.name_en = sites["name_en"].fillna("").replace("", np.nan).fillna(
            sites["name_zh"]).to_numpy(dtype=object)
        modes = scenario.table("modes").set_index("id")
        self.modes = modes
        self._mode = {str(m): {k: float(modes.at[m, k]) for k in (
            "cost_fixed", "cost_per_tkm", "co2_per_tkm", "circuity")} for m in modes.index}
        self._mode_name = {str(m): (str(r["name_zh"]), str(r["name_en"]) if isinstance(
            r["name_en"], str) and r["name_en"] else str(r["name_zh"]))
            for m, r in modes.iterrows()}
        rail = modes.index[modes["rail"].fillna(False).astype(bool)].tolist()
        self.onsite = onsite_modes(modes)[:1]
        direct = list(options.direct_modes) if options.direct_modes is not None else [
            m for m in modes.index if m not in rail]
        self.direct = [m for m in direct if m not in onsite_modes(modes)]
        self.carbon = float(scenario.policy("carbon_price", 0.0) or 0.0) / 1000.0  # yuan/kg
        self._rates = {m: self._rate_of(m) for m in self._mode}
        terminals = scenario.table("terminals").reset_index(drop=True)
        lanes = scenario.table("lanes").reset_index(drop=True)
        is_direct = direct_lanes(lanes, rail, terminals).to_numpy(dtype=bool)
        self.lanes = lanes[is_direct].reset_index(drop=True)
        self._lane_key = (self.site_ids.get_indexer(self.lanes["from_site"]).astype(np.int64)
                          * len(self.site_ids)
                          + self.site_ids.get_indexer(self.lanes["to_site"]))
        self.term_pos = self.site_ids.get_indexer(terminals["site"])
        n_term = len(terminals)
        self.rail = rail if n_term and self.direct else []
        self.legs: dict[str, dict[str, np.ndarray]] = {}
        self.kt = 0
        if self.rail:
            tlat, tlon = self.lat[self.term_pos], self.lon[self.term_pos]
            rail_gc = great_circle_km(tlat[:, None], tlon[:, None], tlat[None, :], tlon[None, :])
            handling = terminals["handling_cost"].to_numpy(dtype=float)
            usable = (rail_gc >= options.min_rail_km) & ~np.eye(n_term, dtype=bool)
            for q in self.rail:
                leg = rail_leg(q, rail_gc, handling, modes, terminals, lanes[~is_direct])
                leg["score"] = np.where(usable, leg["cost"] + self.carbon * leg["co2"], np.inf)
                self.legs[q] = leg
            self.kt = min(options.k_terminals, n_term)
            d, j = cKDTree(unit_xyz(tlat, tlon)).query(
                unit_xyz(self.lat, self.lon), k=self.kt,
                distance_upper_bound=chord(options.terminal_radius_km) * (1 + 1e-9))
            d, j = d.reshape(len(sites), self.kt), j.reshape(len(sites), self.kt)
            self.acc = np.where(np.isfinite(d), j, -1)
            self.acc_gc = np.where(self.acc >= 0, great_circle_km(
                self.lat[:, None], self.lon[:, None], tlat[np.maximum(self.acc, 0)],
                tlon[np.maximum(self.acc, 0)]), np.inf)
            self._rail_gc = rail_gc
        self.options = [_Option("direct", m) for m in self.direct]
        self.options += [_Option("direct", m) for m in self.onsite]
        self.options += [_Option("intermodal", m, q, a, b) for q in self.rail for m in self.direct
                         for a in range(self.kt) for b in range(self.kt)]
        self.options += [_Option("direct", str(ln["mode"]), lane=int(i))
                         for i, ln in self.lanes.iterrows()]
        self._lines = self._bound_lines()
        self._prepare()

    def _prepare(self) -> None:
        """Per-site arrays for :meth:`score`: each site's latitude in radians and its cosine
        (the haversine's per-point terms), and the cost of the road leg to each of its access
        terminals by each direct mode (``fixed + rate × km``, inf where it has fewer)."""
        self._rad_lat = np.radians(self.lat)
        self._cos_lat = np.cos(self._rad_lat)
        self._fixed = np.array([self._rate(m)[0] for m in self.direct], dtype=float)
        self._per_km = np.array([self._rate(m)[1] for m in self.direct], dtype=float)
        self._onsite_fixed = self._rate(self.onsite[0])[0] if self.onsite else np.inf
        self._term_ids = [str(x) for x in self.site_ids[self.term_pos]]
        # each option's road mode's rates (for :meth:`details`), and its kind and terminals
        names = list(self._mode)
        rates = np.array([[self._mode[m][x] for x in ("circuity", "cost_fixed", "cost_per_tkm",
                                                      "co2_per_tkm")] for m in names])
        mode_of = np.array([names.index(o.mode) for o in self.options], dtype=np.int64)
        self._opt_consts: list[tuple[str, str, str, float, float, float, float, int, int,
                                     bool]] = [
            (o.kind, o.mode, o.rail_mode, float(rates[j, 0]), float(rates[j, 1]),
             float(rates[j, 2]), float(rates[j, 3]), max(o.ka, 0), max(o.kb, 0), o.lane >= 0)
            for o, j in zip(self.options, mode_of.tolist(), strict=True)]
        self._term_pos_list = [int(x) for x in self.term_pos]
        self._acc_list: list[list[int]] = []
        self._acc_gc_list: list[list[float]] = []
        self._leg_lists = {q: tuple(self.legs[q][x].tolist() for x in (
            "km", "cost", "co2", "handling")) for q in self.rail}
        if self.rail:
            self._acc_min = self.acc_gc.min(axis=1)  # a site's nearest terminal, km
            self._acc0 = np.maximum(self.acc, 0)
            self._acc_list, self._acc_gc_list = self._acc0.tolist(), self.acc_gc.tolist()
            self._acc_cost = (self._fixed[None, :, None]
                              + self._per_km[None, :, None] * self.acc_gc[:, None, :])
        # what the scorer reads of a far end, one row per site (a caller gathers a candidate's
        # in one step, :meth:`score_rows`): site position, latitude in radians, its cosine,
        # longitude, then with rail the access terminals (kt, as floats) and the road legs to
        # them (direct modes × kt, mode-major)
        cols = [np.arange(len(self.lat), dtype=float), self._rad_lat, self._cos_lat, self.lon]
        if self.rail:
            cols += [*self._acc0.T.astype(float), *self._acc_cost.reshape(len(self.lat), -1).T]
        self.site_rows = np.column_stack(cols)
        self._n_lanes = len(self.lanes)

    def _gc(self, s: np.ndarray, u: np.ndarray) -> np.ndarray:
        """:func:`resynergy.network.geo.great_circle_km` between sites ``s`` and ``u`` (the
        same haversine, term for term, with the per-site terms taken from :meth:`_prepare`)."""
        dp = self._rad_lat[u] - self._rad_lat[s]
        dl = np.radians(self.lon[u] - self.lon[s])
        a = np.sin(dp / 2) ** 2 + self._cos_lat[s] * self._cos_lat[u] * np.sin(dl / 2) ** 2
        return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))

    # ---- costing --------------------------------------------------------------------------
    def _rate_of(self, mode: str) -> tuple[float, float]:
        """Fixed yuan/t and yuan per great-circle km (cost + CO2 at the carbon price): a leg
        ``g`` km apart scores ``mode_leg``'s cost + carbon × CO2 = fixed + rate × g."""
        fixed, _ = (float(x) for x in mode_leg(self._mode[mode], 0.0)[1:])
        km, cost, co2 = (float(x) for x in mode_leg(self._mode[mode], 1.0))
        return fixed, (cost - fixed) + self.carbon * co2

    def _rate(self, mode: str) -> tuple[float, float]:
        return self._rates[mode]

    def _bound_lines(self) -> tuple[list[tuple[float, float]], list[tuple[float, float, float]]]:
        """Lower-bound lines of the options between two distinct sites a great-circle
        distance g apart: direct ones (c, r): cost ≥ c + r·g; intermodal ones (c, r, r_road):
        cost ≥ c + (r_road − r)·g_access + r·g, where g_access is the distance from the
        listing's own site to its nearest terminal (road legs cost ≥ fixed + r_road per km, the
        rail leg ≥ c0 + rail rate per km, and the legs' distances add up to at least g by the
        triangle inequality). Lanes are not bounded (they are always costed)."""
        direct = [self._rate(m) for m in self.direct]
        inter = []
        if self.rail and self.direct:
            fixed = min(self._rate(m)[0] for m in self.direct)
            road_r = max(min(self._rate(m)[1] for m in self.direct), 0.0)
            for q in self.rail:
                rail_r = max(self._rate(q)[1], 0.0)
                s = self.legs[q]["score"]
                ok = np.isfinite(s)
                if not ok.any():
                    continue
                c0 = float((s - rail_r * self._rail_gc)[ok].min())  # rail legs ≥ c0 + r·g2
                inter.append((2 * fixed + c0, min(road_r, rail_r), road_r))
        return [(c, max(r, 0.0)) for c, r in direct], inter

    def _lines_at(self, site: int | None) -> list[tuple[float, float]]:
        """Lines (c, r) bounding every option from or to ``site`` (None: any site)."""
        direct, inter = self._lines
        lines = list(direct)
        g0 = 0.0 if site is None or not self.rail else float(self._acc_min[site])
        if np.isfinite(g0):  # a site without a terminal in reach has no intermodal option
            lines += [(c + (road_r - r) * g0, r) for c, r, road_r in inter]
        return lines

    def lower_bound(self, gc_km: float, site: int | None = None) -> float:
        """Least transport + handling + CO2 cost (yuan/t) between ``site`` (None: any) and a
        site at least ``gc_km`` away, lanes aside."""
        lines = self._lines_at(site)
        if gc_km <= 0 and self.onsite:  # a listing on the same site: the on-site mode
            lines.append(self._rate(self.onsite[0]))
        if not lines:
            return np.inf
        least = min(c + r * gc_km for c, r in lines)
        return least - abs(least) * _SAFETY - _SAFETY

    def reach(self, target: float, site: int | None = None) -> float:
        """A distance (km) beyond which every option from or to ``site`` costs more than
        ``target`` yuan/t (lanes aside): lower_bound(g) > target for every g beyond; inf when
        no distance is enough."""
        if not np.isfinite(target):
            return np.inf
        target = target + abs(target) * _SAFETY + _SAFETY
        far = 0.0
        for c, r in self._lines_at(site):
            if c > target:
                continue
            if r <= 0:
                return np.inf
            far = max(far, (target - c) / r)
        return far

    def _road_blocks(self, gc: np.ndarray, same: np.ndarray) -> list[np.ndarray]:
        """The direct and on-site option columns for pairs ``gc`` km apart (``same``: one site):
        f + r·gc per direct mode, an (n, modes) block (not between a site and itself when an
        on-site mode serves that), and the on-site column."""
        blocks = []
        if self.direct:
            direct = self._fixed + gc[:, None] * self._per_km
            if self.onsite:
                direct[same] = np.inf
            blocks.append(direct)
        if self.onsite:
            blocks.append(np.where(same, self._onsite_fixed, np.inf)[:, None])
        return blocks

    def score(self, s: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cheapest option (index into ``options``, -1 = none) and its cost + CO2 yuan/t, from
        sites ``s`` to sites ``u`` (site positions). One array expression per kind of option
        (the per-site access legs are costed once, at build: :meth:`_prepare`)."""
        n = len(s)
        if n == 0 or not self.options:
            return np.full(n, -1), np.full(n, np.inf)
        gc = self._gc(s, u)
        same = s == u
        blocks = self._road_blocks(gc, same)
        if self.rail:  # (pair, road mode, offer-side terminal, want-side terminal), a-major
            a, b = self._acc0[s], self._acc0[u]
            road_a, road_b = self._acc_cost[s], self._acc_cost[u]  # (n, modes, kt)
            for q in self.rail:
                rail = self.legs[q]["score"][a[:, :, None], b[:, None, :]]
                rail[same] = np.inf
                tot = road_a[:, :, :, None] + rail[:, None, :, :] + road_b[:, :, None, :]
                blocks.append(tot.reshape(n, tot[0].size))
        c = sum(x.shape[1] for x in blocks)
        cols = np.concatenate(blocks, axis=1) if blocks else np.empty((n, 0))
        if len(self.lanes):
            cols = np.concatenate([cols, np.full((n, len(self.lanes)), np.inf)], axis=1)
            key = s.astype(np.int64) * len(self.site_ids) + u
            for li in range(len(self.lanes)):
                hit = np.flatnonzero(key == self._lane_key[li])
                if len(hit):
                    km, cost, co2 = lane_leg(self.lanes.iloc[[li] * len(hit)], self.modes,
                                             gc[hit])
                    cols[hit, c] = cost + self.carbon * co2
                    mode = self.lanes.at[li, "mode"]
                    if mode in self.direct:  # the lane replaces the geometric leg of its mode
                        cols[hit, self.direct.index(mode)] = np.inf
                c += 1
        if n == 0 or not self.options:
            return np.full(n, -1), np.full(n, np.inf)
        best = np.argmin(cols, axis=1)
        val = cols[np.arange(n), best]
        return np.where(np.isfinite(val), best, -1), val

    def score_from(self, s: int, u: np.ndarray, outbound: bool) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`score` with one end fixed: from site ``s`` to the sites ``u`` (``outbound``)
        or from the sites ``u`` to ``s`` (:meth:`score_rows` on the sites' rows)."""
        best, val, _ = self.score_rows(s, self.site_rows[np.asarray(u, dtype=np.int64)].T,
                                       outbound)
        return np.where(np.isfinite(val), best, -1), val

    def score_rows(self, s: int, far: np.ndarray, outbound: bool
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`score` with one end fixed: from site ``s`` to far ends (``outbound``) or from
        them to ``s``; the far ends given as columns of :attr:`site_rows` transposed (``far``:
        (fields, n), gathered by the caller with the rest of what it reads of a candidate).
        Answers the option, its cost and the pairs' great-circle km; the option is not set to
        -1 where none is finite (the cost is inf there). The same terms in the same order as
        :meth:`score` (so the same numbers), the fixed end's values taken once, each kind of
        option written into its rows of one (option, pair) array."""
        n = far.shape[1]
        if self._n_lanes or n == 0 or not self.options:  # lanes: pair by pair, the general form
            u = far[0].astype(np.int64)
            here = np.full(n, s)
            best, val = self.score(here, u) if outbound else self.score(u, here)
            return best, val, (self._gc(here, u) if outbound else self._gc(u, here))
        rs, cs, ls = self._rad_lat[s], self._cos_lat[s], self.lon[s]
        # the haversine of :meth:`_gc`: sin(dp/2)² and sin(dl/2)² as one (2, n) array
        h = np.empty((2, n))
        if outbound:
            np.subtract(far[1], rs, out=h[0])
            np.subtract(far[3], ls, out=h[1])
            cc = cs * far[2]
        else:
            np.subtract(rs, far[1], out=h[0])
            np.subtract(ls, far[3], out=h[1])
            cc = far[2] * cs
        np.radians(h[1], out=h[1])
        h /= 2
        np.sin(h, out=h)
        np.square(h, out=h)
        cc *= h[1]
        a = np.add(h[0], cc, out=cc)
        np.maximum(a, 0.0, out=a)  # np.clip(a, 0, 1), as two ufuncs
        np.minimum(a, 1.0, out=a)
        np.sqrt(a, out=a)
        np.arcsin(a, out=a)
        gc = np.multiply(2 * EARTH_RADIUS_KM, a, out=a)
        # one row per option, one column per pair (long rows: quick for the full scan too)
        nd, on = len(self.direct), len(self.onsite)
        cols = np.empty((len(self.options), n))
        if nd:  # fixed + rate × km per direct mode (_road_blocks)
            direct = cols[:nd]
            np.multiply(self._per_km[:, None], gc, out=direct)
            direct += self._fixed[:, None]
        if on:
            cols[nd] = np.inf
        same = np.flatnonzero(far[0] == s)
        if self.rail:
            kt, m = self.kt, nd
            acc_s = self._acc0[s]
            far_t = far[4:4 + kt].astype(np.intp)  # (kt, pair)
            theirs = far[4 + kt:4 + kt + m * kt].reshape(m, kt, n)
            mine = self._acc_cost[s]  # (mode, kt)
            o = nd + on
            for q in self.rail:
                legs = self.legs[q]["score"]
                block = cols[o:o + m * kt * kt].reshape(m, kt, kt, n)  # mode, a, b, pair
                if outbound:  # a: the offer's (this site's) terminal, b: the want's
                    rail = legs[acc_s][:, far_t]  # (a, b, pair)
                    np.add(mine[:, :, None, None], rail[None], out=block)
                    block += theirs[:, None, :, :]
                else:
                    rail = legs[:, acc_s][far_t].transpose(0, 2, 1)  # (a, b, pair)
                    np.add(theirs[:, :, None, :], rail[None], out=block)
                    block += mine[:, None, :, None]
                o += m * kt * kt
        if len(same):  # a site and itself: the on-site mode where there is one, no rail
            if on:
                cols[:nd, same] = np.inf
                cols[nd, same] = self._onsite_fixed
            cols[nd + on:, same] = np.inf
        return cols.argmin(axis=0), cols.min(axis=0), gc

    def detail(self, s: int, u: int, option: int, gc: float | None = None
               ) -> dict[str, object]:
        """Legs of one chosen option: kind, modes, terminals, km, transport, handling, CO2
        (``gc``: the sites' great-circle km when the caller has it)."""
        o = self.options[option]
        if gc is None:
            gc = float(great_circle_km(self.lat[s], self.lon[s], self.lat[u], self.lon[u]))
        out: dict[str, object] = {"kind": o.kind, "mode": o.mode, "rail_mode": o.rail_mode,
                                  "from_terminal": "", "to_terminal": "", "lane": o.lane >= 0}
        if o.kind == "direct":
            if o.lane >= 0:
                km, cost, co2 = (float(x[0]) for x in lane_leg(
                    self.lanes.iloc[[o.lane]], self.modes, np.array([gc])))
            else:
                km, cost, co2 = (float(x) for x in mode_leg(self._mode[o.mode],
                                                            0.0 if s == u else gc))
            out.update(legs=[km], distance_km=km, transport_yuan_t=cost, handling_yuan_t=0.0,
                       co2_kg_t=co2)
            return out
        a, b = int(self.acc[s, o.ka]), int(self.acc[u, o.kb])
        mm = self._mode[o.mode]
        d1, c1, e1 = (float(x) for x in mode_leg(mm, self.acc_gc[s, o.ka]))
        d3, c3, e3 = (float(x) for x in mode_leg(mm, self.acc_gc[u, o.kb]))
        leg = self.legs[o.rail_mode]
        d2, c2, e2 = float(leg["km"][a, b]), float(leg["cost"][a, b]), float(leg["co2"][a, b])
        handling = float(leg["handling"][a, b])
        out.update(legs=[d1, d2, d3], distance_km=d1 + d2 + d3,
                   transport_yuan_t=c1 + (c2 - handling) + c3, handling_yuan_t=handling,
                   co2_kg_t=e1 + e2 + e3,
                   from_terminal=self._term_ids[a], to_terminal=self._term_ids[b],
                   ta=int(self.term_pos[a]), tb=int(self.term_pos[b]))
        return out

    def details(self, s: list[int], u: list[int], option: list[int], gc: list[float]
                ) -> dict[str, list]:
        """:meth:`detail` of a few (site, site, option, great-circle km) rows given as lists
        (the answer's k), as columns:
        each leg by :func:`resynergy.network.arcs.mode_leg`'s terms in its order, on Python
        floats (for tens of rows quicker than arrays); lanes by :meth:`detail`. Columns: kind,
        mode, rail_mode, from_terminal, to_terminal, distance_km, transport_yuan_t,
        handling_yuan_t, co2_kg_t, and for :meth:`route` legs, lane, ta, tb (terminal sites)."""
        keys = ("kind", "mode", "rail_mode", "from_terminal", "to_terminal", "distance_km",
                "transport_yuan_t", "handling_yuan_t", "co2_kg_t", "legs", "lane", "ta", "tb")
        consts, acc, acc_gc, term_ids, term_pos = (self._opt_consts, self._acc_list,
                                                   self._acc_gc_list, self._term_ids,
                                                   self._term_pos_list)
        table: list[list] = []
        for ss, uu, o, g in zip(s, u, option, gc, strict=True):
            kind, mode, rail_mode, circ, fixed, per_tkm, co2_tkm, ka, kb, lane = consts[o]
            if lane:
                d = self.detail(ss, uu, o, g)
                row = [d[key] for key in keys[:10]] + [True, -1, -1]
            elif kind == "direct":
                km = (0.0 if ss == uu else g) * circ
                row = [kind, mode, rail_mode, "", "", km, fixed + per_tkm * km, 0.0,
                       co2_tkm * km, [km], False, -1, -1]
            else:
                a, b = acc[ss][ka], acc[uu][kb]
                leg = self._leg_lists[rail_mode]
                d1, d3 = acc_gc[ss][ka] * circ, acc_gc[uu][kb] * circ
                d2, c2, e2, h = (x[a][b] for x in leg)
                row = [kind, mode, rail_mode, term_ids[a], term_ids[b], d1 + d2 + d3,
                       (fixed + per_tkm * d1) + (c2 - h) + (fixed + per_tkm * d3), h,
                       co2_tkm * d1 + e2 + co2_tkm * d3, [d1, d2, d3], False, term_pos[a],
                       term_pos[b]]
            table.append(row)
        columns = list(zip(*table, strict=True)) if table else [() for _ in keys]
        return {key: list(col) for key, col in zip(keys, columns, strict=True)}

    def route(self, d: dict, lang: str) -> str:
        """The route as a line of text, e.g. 柴油重卡 45 km → 唐山站 铁路 320 km → 北京站 柴油重卡 12 km."""
        def mode_name(m: str) -> str:
            return self._mode_name[m][0 if lang == "zh" else 1]

        legs = d["legs"]
        if d["kind"] == "direct":
            if d["mode"] in self.onsite:
                return mode_name(d["mode"])
            text = f"{mode_name(d['mode'])} {legs[0]:.0f} km"
            if d["lane"]:
                text += "（协议线路）" if lang == "zh" else " (contracted lane)"
            return text
        sites = self.name_zh if lang == "zh" else self.name_en
        road, rail = mode_name(d["mode"]), mode_name(d["rail_mode"])
        return (f"{road} {legs[0]:.0f} km → {sites[d['ta']]} {rail} {legs[1]:.0f} km → "
                f"{sites[d['tb']]} {road} {legs[2]:.0f} km")


class Market:
    """Listings of an exchange on a scenario's network; :meth:`top` ranks counterparts.

    ``listings`` has the columns of :data:`resynergy.exchange.listings.LISTING_COLUMNS`
    (checked: :class:`~resynergy.exchange.listings.ListingsError` lists every problem); sites,
    modes, terminals, lanes, process_io and the carbon price come from ``scenario``; the spatial
    index is built once, here."""

    first = 64  # nearest candidates per tree in the first round (then × 4 per round)

    def __init__(self, listings: pd.DataFrame, scenario: ScenarioLike, options: NetworkOptions | None = None) -> None:
        self.costed = 0  # candidates in the last round of the last top(): for tests, benchmarks
        issues = check_listings(listings, scenario)
        if issues:
            raise ListingsError(issues)
        f = normalise(listings)
        self.frame = f
        self.transport = Transport(scenario, options)
        t = self.transport
        n = len(f)
        self.ids = f["id"].to_numpy(dtype=object)
        self.org_text = f["organisation"].to_numpy(dtype=object)
        self.site_text = f["site"].to_numpy(dtype=object)
        self.mat_text = f["material"].to_numpy(dtype=object)
        self._index = {x: i for i, x in enumerate(self.ids)}
        self.is_offer = (f["side"] == "offer").to_numpy()
        self.site = t.site_ids.get_indexer(f["site"])
        self.xyz = unit_xyz(t.lat[self.site], t.lon[self.site]) if n else np.empty((0, 3))
        mats = pd.Index(sorted(set(f["material"])))
        self.materials = mats
        self.mat = mats.get_indexer(f["material"])
        orgs = f["organisation"]
        self.org = np.where(orgs == "", -1, pd.factorize(orgs)[0])
        price = f["price_yuan_t"].to_numpy(dtype=float)
        self.price = price
        self.ask = np.where(self.is_offer, np.nan_to_num(price, nan=0.0), 0.0)  # delivered part
        self.remaining = remaining = remaining_t(f)  # per period on a recurring listing
        self.alive = remaining > 0
        self.start = _days(f["start"], -np.inf)
        self.end = _days(f["end"], np.inf)
        self.spec = f[[f"spec_{s}" for s in SPECS]].to_numpy(dtype=float)
        self.lo = f[[f"spec_{s}_min" for s in SPECS]].to_numpy(dtype=float)
        self.hi = f[[f"spec_{s}_max" for s in SPECS]].to_numpy(dtype=float)
        self.bounded = ~np.isnan(self.lo).all(axis=1) | ~np.isnan(self.hi).all(axis=1)
        self.hw = f["hazardous_code"].to_numpy(dtype=object)
        self.coded = self.is_offer & (self.hw != "")
        inputs = process_inputs(scenario.table("process_io"))
        self.takes: list[frozenset[str]] = [
            accepted_materials(m, a, inputs) if not o else frozenset()
            for m, a, o in zip(f["material"], f["accepts"], self.is_offer, strict=True)]
        # compatibility as a (want, material) table for vectorised checks of offers
        self.take = np.zeros((n, len(mats)), dtype=bool)
        by_set: dict[frozenset[str], list[int]] = {}
        for takes in set(self.takes):
            cols = mats.get_indexer(sorted(takes))
            by_set[takes] = sorted(int(c) for c in cols[cols >= 0])
        self._take_cols = [by_set[x] for x in self.takes]
        for i in np.flatnonzero(~self.is_offer):
            self.take[i, self._take_cols[i]] = True
        self._offer_trees: dict[int, tuple[cKDTree, np.ndarray, float, list]] = {}
        self._want_trees: dict[int, tuple[cKDTree, np.ndarray]] = {}
        for m in range(len(mats)):
            idx = np.flatnonzero(self.is_offer & (self.mat == m) & self.alive)
            if len(idx):
                self._offer_trees[m] = (cKDTree(self.xyz[idx]), idx, float(self.ask[idx].min()),
                                        self._bands(idx))
            idx = np.flatnonzero(~self.is_offer & self.take[:, m] & self.alive)
            if len(idx):
                self._want_trees[m] = (cKDTree(self.xyz[idx]), idx)
        self._candidate_rows()
        self._any_coded = bool(self.coded.any())
        lanes = t.lanes
        self._lane_from = t.site_ids.get_indexer(lanes["from_site"])
        self._lane_to = t.site_ids.get_indexer(lanes["to_site"])

    def _candidate_rows(self) -> None:
        """What :meth:`_ranked` reads of a candidate, as rows over all listings (a candidate's
        column is gathered in one step from each block), and what it compares them with, one
        row per listing as the asking side.

        ``_filt``: the filter rows, then the organisation (-1: none). A candidate fails where
        any of its filter rows exceeds the asking listing's (``_mine``; a NaN compares false:
        passes: negotiable asks and open caps): period overlap (start, −end against the asker's
        end, −start), the price cap (a wanted candidate's −cap against the offer's −ask: cap ≥
        ask ⇔ ¬(−cap > −ask); an offered candidate's ask against the want's cap), then
        :func:`.compat.spec_limits` for each spec some want bounds. ``_cand``: the ask and
        the site's :attr:`Transport.site_rows`, read for the candidates that pass (so the
        full scan gathers them only for those, as it gathered sites before)."""
        offer = self.is_offer
        spec = np.flatnonzero(~np.isnan(self.lo).all(axis=0) | ~np.isnan(self.hi).all(axis=0))
        spec_rows, spec_mine = spec_limits(offer, self.spec[:, spec], self.lo[:, spec],
                                           self.hi[:, spec])
        start, end, price = self.start[:, None], self.end[:, None], self.price[:, None]
        o = offer[:, None]
        filt = np.hstack([start, -end, np.where(o, price, -price), spec_rows])
        mine = np.hstack([end, -start, np.where(o, -price, price), spec_mine])
        self._n_filter = filt.shape[1]
        self._filt = np.ascontiguousarray(np.hstack([filt, self.org[:, None]]).T, dtype=float)
        self._mine = np.ascontiguousarray(mine)[:, :, None]  # (listing, row, 1): broadcasts
        self._cand = np.ascontiguousarray(np.hstack([
            self.ask[:, None], self.transport.site_rows[self.site]]).T)

    # ---- public -------------------------------------------------------------------------
    def top(self, listing_id: str, k: int = 10, plan_flows: pd.DataFrame | None = None
            ) -> Matches:
        """The ``k`` counterparts of a listing with the least delivered cost (:class:`Matches`
        of MATCH_COLUMNS, cheapest first; ties by listing order; ``.frame()`` for pandas). ``plan_recommended`` is true where
        ``plan_flows`` (from_site, to_site, material, t) carries this pairing with t > 0.
        KeyError for an unknown id."""
        i = self._at(listing_id)
        return self._frame(i, self._search(i, _positive(k)), plan_flows)

    def scan(self, listing_id: str, k: int = 10, plan_flows: pd.DataFrame | None = None
             ) -> Matches:
        """What :meth:`top` answers, by filtering and costing every listing of the other side
        (no index): the reference for tests and benchmarks."""
        i = self._at(listing_id)
        return self._frame(i, self._scan(i, _positive(k)), plan_flows)

    def best(self, listing_id: str, k: int = 10, full_scan: bool = False
             ) -> tuple[np.ndarray, np.ndarray]:
        """Ids and delivered yuan/t of the ``k`` best counterparts, without the match frame
        (``top`` = this + the breakdown and route of each); ``full_scan`` as :meth:`scan`."""
        i = self._at(listing_id)
        ranked = (self._scan if full_scan else self._search)(i, _positive(k))
        return self.ids[ranked[0]], ranked[1]

    def _scan(self, i: int, k: int) -> tuple[np.ndarray, ...]:
        return self._ranked(i, np.flatnonzero(self.is_offer != self.is_offer[i]), k,
                            distinct=True)

    def _bands(self, idx: np.ndarray, n: int = 4) -> list[tuple[cKDTree, np.ndarray, float]]:
        """Offers of one material split by ask into ``n`` bands, a tree and least ask each: the
        second round reaches only as far as each band's own least ask allows (a dear offer
        must be nearer to beat the k-th best than a cheap one)."""
        if len(idx) < 4 * n * self.first:
            return [(cKDTree(self.xyz[idx]), idx, float(self.ask[idx].min()))]
        ask = self.ask[idx]
        band = np.searchsorted(np.quantile(ask, np.linspace(0, 1, n + 1)[1:-1]), ask,
                               side="right")
        out = []
        for b in range(n):
            sub = idx[band == b]
            if len(sub):
                out.append((cKDTree(self.xyz[sub]), sub, float(self.ask[sub].min())))
        return out

    def _search(self, i: int, k: int) -> tuple[np.ndarray, ...]:
        """The k-d tree search: the nearest ``first`` counterparts of each tree asked, costed;
        then, where the lower bound at the farthest of them does not exceed the k-th best,
        everything within the distance where it does (the k-th best only falls as candidates
        are added, so what lies beyond stays out: two rounds at most)."""
        trees = self._trees(i)
        forced = self._lane_partners(i)
        cand, open_trees = [forced], []
        for tree, idx, price_lb, bands in trees:
            kk = min(max(self.first, 4 * k), len(idx))
            d, j = tree.query(self.xyz[i], k=kk)
            if kk == 1:  # a scalar answer
                d, j = np.atleast_1d(d), np.atleast_1d(j)
            cand.append(idx[j])
            if kk < len(idx):
                gc = 2 * EARTH_RADIUS_KM * math.asin(min(float(d[-1]) / 2, 1.0))
                open_trees.append((price_lb, gc, bands))
        # a listing is in one tree per material and the trees asked are of distinct materials,
        # so only lane partners (not known compatible) can repeat
        first = cand[1] if len(cand) == 2 and not len(forced) else np.concatenate(cand)
        ranked = self._ranked(i, first, k, distinct=not len(forced),
                              compatible=not len(forced))
        self.costed = sum(len(c) for c in cand)
        kth = ranked[1][k - 1] if len(ranked[1]) >= k else np.inf
        wider = []
        site = int(self.site[i])
        for price_lb, gc, bands in open_trees:
            if price_lb + self.transport.lower_bound(gc, site) > kth:
                continue  # nothing beyond the nearest can beat the k-th best
            for tree, idx, band_lb in bands:
                reach = self.transport.reach(kth - band_lb, site)
                if not np.isfinite(reach):
                    wider.append(idx)
                    continue
                hit = tree.query_ball_point(self.xyz[i], chord(reach) * (1 + 1e-9) + 1e-12)
                wider.append(idx[np.asarray(hit, dtype=np.int64)])
        if wider:
            # the first round's candidates outside its best k are beaten by k others that stay
            # in: only those k and the wider ones need ranking again
            self.costed += sum(len(c) for c in wider)
            ranked = self._ranked(i, np.concatenate([ranked[0], *wider]), k,
                                  compatible=not len(forced))
        return ranked

    # ---- internals ----------------------------------------------------------------------
    def _at(self, listing_id: str) -> int:
        try:
            return self._index[str(listing_id)]
        except KeyError:
            raise KeyError(f"unknown listing {listing_id!r}") from None

    def _trees(self, i: int) -> list[tuple[cKDTree, np.ndarray, float, list]]:
        """(tree, positions, least ask, ask bands) of the counterparts' trees."""
        if self.is_offer[i]:
            hit = self._want_trees.get(int(self.mat[i]))
            if not hit:
                return []
            own = float(self.ask[i])
            return [(hit[0], hit[1], own, [(hit[0], hit[1], own)])]
        return [self._offer_trees[c] for c in self._take_cols[i] if c in self._offer_trees]

    def _lane_partners(self, i: int) -> np.ndarray:
        """Counterparts on a site joined to this listing's by a direct lane (any material: the
        filters decide)."""
        if not len(self._lane_from):
            return np.empty(0, np.int64)
        s = self.site[i]
        ends = self._lane_to[self._lane_from == s] if self.is_offer[i] else \
            self._lane_from[self._lane_to == s]
        if not len(ends):
            return np.empty(0, np.int64)
        return np.flatnonzero(np.isin(self.site, ends) & (self.is_offer != self.is_offer[i]))

    def _ranked(self, i: int, cand: np.ndarray, k: int, distinct: bool = False,
                compatible: bool = False) -> tuple[np.ndarray, ...]:
        """The best ``k`` of candidate counterparts (positions on the other side of the market)
        that pass every filter, cheapest first (ties: listing order): positions, delivered
        yuan/t, transport option, its yuan/t. ``compatible``: the candidates are known to be
        alive and to take or be of a compatible material (they come from the material's trees).
        The listing's own side is a scalar: its values are compared with the candidates' as
        Python numbers (same filters as :mod:`.compat`, one array operation each)."""
        c = cand if distinct else np.unique(cand)
        if not self.alive[i] or not len(c):
            return c[:0], np.empty(0), np.empty(0, np.int64), np.empty(0), np.empty(0)
        offer = bool(self.is_offer[i])
        nf = self._n_filter
        filt = self._filt.take(c, axis=1)  # the candidates' filter rows, organisation
        bad = np.logical_or.reduce(filt[:nf] > self._mine[i], axis=0)  # period, cap, specs
        if self.org[i] >= 0:  # a candidate without an organisation (-1) differs from any
            bad |= filt[nf] == self.org[i]
        if not compatible:
            bad |= ~self.alive[c]
            bad |= ~(self.take[c, self.mat[i]] if offer else self.take[i][self.mat[c]])
        if self._any_coded:  # hazardous offers are few: one check each
            if offer:
                if self.coded[i]:
                    for p in np.flatnonzero(~bad):
                        bad[p] = not hazard_ok(self.hw[i], self.hw[c[p]])
            else:
                for p in np.flatnonzero(~bad & self.coded[c]):
                    bad[p] = not hazard_ok(self.hw[c[p]], self.hw[i])
        c = c[~bad]
        cand = self._cand.take(c, axis=1)  # ask, then the site's row (score_rows)
        best, val, gc = self.transport.score_rows(int(self.site[i]), cand[1:], offer)
        delivered = (self.ask[i] if offer else cand[0]) + val
        if not math.isfinite(np.add.reduce(delivered)):  # a NaN or inf among them
            fine = np.isfinite(delivered)
            c, delivered, best, val, gc = c[fine], delivered[fine], best[fine], val[fine], gc[fine]
        if len(c) > max(k, 256):  # below that, sorting all is as quick
            part = np.argpartition(delivered, k - 1)[:k]
            keep = np.flatnonzero(delivered <= delivered[part].max())  # every tie of the k-th
            c, delivered, best, val, gc = c[keep], delivered[keep], best[keep], val[keep], gc[keep]
        order = np.lexsort((c, delivered))[:k]
        return c[order], delivered[order], best[order], val[order], gc[order]

    def _frame(self, i: int, ranked: tuple[np.ndarray, ...], plan_flows: pd.DataFrame | None
               ) -> Matches:
        t = self.transport
        planned: set[tuple[str, str, str]] = set()
        if plan_flows is not None:
            missing = [c for c in ("from_site", "to_site", "material", "t")
                       if c not in plan_flows]
            if missing:
                raise ValueError(f"plan_flows lacks columns {missing} (needs from_site, "
                                 "to_site, material, t)")
        if plan_flows is not None and len(plan_flows):
            pf = plan_flows[plan_flows["t"] > 0]
            planned = set(zip(pf["from_site"].astype(str), pf["to_site"].astype(str),
                              pf["material"].astype(str), strict=True))
        rows, delivered, best, _, gcs = ranked
        n = len(rows)
        offer = bool(self.is_offer[i])
        here, there = [int(self.site[i])] * n, self.site[rows].tolist()
        d = t.details(here if offer else there, there if offer else here, best.tolist(),
                      gcs.tolist())
        km, transport, handling, co2 = np.array([d["distance_km"], d["transport_yuan_t"],
                                                 d["handling_yuan_t"], d["co2_kg_t"]],
                                                dtype=float).reshape(4, n)
        material = np.full(n, self.mat_text[i], dtype=object) if offer else self.mat_text[rows]
        site_text = self.site_text[rows]
        if planned:
            mine = [str(self.site_text[i])] * n
            pairs = zip(mine if offer else site_text, site_text if offer else mine, material,
                        strict=True)
            flag = np.array([p in planned for p in pairs], dtype=bool)
        else:
            flag = np.zeros(n, dtype=bool)
        cols = {
            "listing": np.full(n, self.ids[i], dtype=object),
            "counterpart": self.ids[rows], "organisation": self.org_text[rows],
            "site": site_text, "material": material,
            "quantity_t": np.minimum(self.remaining[rows], self.remaining[i]),
            "price_yuan_t": np.full(n, self.price[i]) if offer else self.price[rows],
            "kind": d["kind"], "mode": d["mode"], "rail_mode": d["rail_mode"],
            "from_terminal": d["from_terminal"], "to_terminal": d["to_terminal"],
            "distance_km": km, "transport_yuan_t": transport, "handling_yuan_t": handling,
            "co2_kg_t": co2, "co2_yuan_t": co2 * t.carbon,
            "delivered_yuan_t": delivered,
            "plan_recommended": flag,
        }

        def text() -> dict[str, list[str]]:
            """The route in both languages (made when first read: :class:`Matches`)."""
            legs = [dict(zip(("kind", "mode", "rail_mode", "legs", "lane", "ta", "tb"), x,
                             strict=True))
                    for x in zip(d["kind"], d["mode"], d["rail_mode"], d["legs"], d["lane"],
                                 d["ta"], d["tb"], strict=True)]
            return {"route_zh": [t.route(x, "zh") for x in legs],
                    "route_en": [t.route(x, "en") for x in legs]}

        return Matches(cols, text)


def _rows(x: Any, sel: Any) -> Any:
    """``x[sel]`` for an array of positions; a scalar position (the listing's own side) as is."""
    return x if np.ndim(x) == 0 else x[sel]


def _positive(k: int) -> int:
    if int(k) < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    return int(k)


def _days(dates: pd.Series, open_value: float) -> np.ndarray:
    """ISO dates as day numbers (float), '' as ``open_value``."""
    parsed = pd.to_datetime(dates.where(dates != ""), format="%Y-%m-%d", errors="coerce")
    days = (parsed - pd.Timestamp("1970-01-01")).dt.days.to_numpy(dtype=float)
    return np.where(np.isnan(days), open_value, days)
