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
offers, and per material over the wants that take it. ``top`` takes the K nearest compatible
counterparts, costs them vectorised, and widens K until the lower bound of any counterpart not
yet seen — the least price in the tree + the least cost any option can have over the K-th
distance — exceeds the k-th best delivered cost, so the answer is the full scan's
(:meth:`Market.scan`, kept for tests and benchmarks). Counterparts joined by a direct lane are
always costed (a lane's negotiated rate has no distance bound).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from resynergy.exchange.compat import (
    accepted_materials,
    hazard_ok,
    periods_overlap,
    process_inputs,
    spec_ok,
)
from resynergy.exchange.listings import SPECS, ListingsError, check_listings, normalise
from resynergy.network.arcs import (
    NetworkOptions,
    direct_lanes,
    lane_leg,
    mode_leg,
    onsite_modes,
    rail_leg,
)
from resynergy.network.geo import EARTH_RADIUS_KM, chord, great_circle_km, unit_xyz

MATCH_COLUMNS: tuple[str, ...] = (
    "listing", "counterpart", "organisation", "site", "material", "quantity_t", "price_yuan_t",
    "kind", "mode", "rail_mode", "from_terminal", "to_terminal", "distance_km",
    "transport_yuan_t", "handling_yuan_t", "co2_kg_t", "co2_yuan_t", "delivered_yuan_t",
    "plan_recommended", "route_zh", "route_en",
)
_SAFETY = 1e-9  # relative slack of the lower bound against rounding


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

    def __init__(self, scenario, options: NetworkOptions | None = None):
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
        rail = modes.index[modes["rail"].fillna(False).astype(bool)].tolist()
        self.onsite = onsite_modes(modes)[:1]
        direct = list(options.direct_modes) if options.direct_modes is not None else [
            m for m in modes.index if m not in rail]
        self.direct = [m for m in direct if m not in onsite_modes(modes)]
        self.carbon = float(scenario.policy("carbon_price", 0.0) or 0.0) / 1000.0  # yuan/kg
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

    # ---- costing --------------------------------------------------------------------------
    def _rate(self, mode: str) -> tuple[float, float]:
        """Fixed yuan/t and yuan per great-circle km (cost + CO2 at the carbon price)."""
        mm = self.modes.loc[mode]
        return (float(mm["cost_fixed"]),
                float((mm["cost_per_tkm"] + self.carbon * mm["co2_per_tkm"]) * mm["circuity"]))

    def _bound_lines(self) -> list[tuple[float, float]]:
        """Lines (c, r): every direct and intermodal option between two distinct sites a
        great-circle distance g apart costs at least min over lines of c + r·g (the triangle
        inequality bounds an intermodal path's legs by g). Lanes are not bounded (see top)."""
        lines = [self._rate(m) for m in self.direct]
        if self.rail and self.direct:
            fixed = min(self._rate(m)[0] for m in self.direct)
            road_r = min(self._rate(m)[1] for m in self.direct)
            for q in self.rail:
                rail_r = max(self._rate(q)[1], 0.0)
                s = self.legs[q]["score"]
                ok = np.isfinite(s)
                if not ok.any():
                    continue
                c0 = float((s - rail_r * self._rail_gc)[ok].min())  # rail legs ≥ c0 + r·g2
                lines.append((2 * fixed + c0, min(road_r, rail_r)))
        return [(c, max(r, 0.0)) for c, r in lines]

    def lower_bound(self, gc_km: float) -> float:
        """Least transport + handling + CO2 cost (yuan/t) between two distinct sites at least
        ``gc_km`` apart, lanes aside."""
        lines = list(self._lines)
        if gc_km <= 0 and self.onsite:  # a listing on the same site: the on-site mode
            lines.append(self._rate(self.onsite[0]))
        if not lines:
            return np.inf
        least = min(c + r * gc_km for c, r in lines)
        return least - abs(least) * _SAFETY - _SAFETY

    def score(self, s: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cheapest option (index into ``options``, -1 = none) and its cost + CO2 yuan/t, from
        sites ``s`` to sites ``u`` (site positions)."""
        n = len(s)
        gc = great_circle_km(self.lat[s], self.lon[s], self.lat[u], self.lon[u])
        same = s == u
        cols = np.full((n, len(self.options)), np.inf)
        c = 0
        for m in self.direct:
            f, r = self._rate(m)
            col = f + r * gc
            if self.onsite:
                col[same] = np.inf
            cols[:, c] = col
            c += 1
        for m in self.onsite:
            f, r = self._rate(m)
            cols[:, c] = np.where(same, f, np.inf)
            c += 1
        if self.rail:
            a_all, b_all = self.acc[s], self.acc[u]
            g1_all, g3_all = self.acc_gc[s], self.acc_gc[u]
            for q in self.rail:
                sq = self.legs[q]["score"]
                for m in self.direct:
                    f, r = self._rate(m)
                    for ka in range(self.kt):
                        for kb in range(self.kt):
                            a, b = a_all[:, ka], b_all[:, kb]
                            col = (f + r * g1_all[:, ka]) + sq[np.maximum(a, 0), np.maximum(b, 0)] \
                                + (f + r * g3_all[:, kb])
                            col[(a < 0) | (b < 0) | same] = np.inf
                            cols[:, c] = col
                            c += 1
        if len(self.lanes):
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

    def detail(self, s: int, u: int, option: int) -> dict[str, object]:
        """Legs of one chosen option: kind, modes, terminals, km, transport, handling, CO2."""
        o = self.options[option]
        gc = float(great_circle_km(self.lat[s], self.lon[s], self.lat[u], self.lon[u]))
        out: dict[str, object] = {"kind": o.kind, "mode": o.mode, "rail_mode": o.rail_mode,
                                  "from_terminal": "", "to_terminal": "", "lane": o.lane >= 0}
        if o.kind == "direct":
            if o.lane >= 0:
                km, cost, co2 = (float(x[0]) for x in lane_leg(
                    self.lanes.iloc[[o.lane]], self.modes, np.array([gc])))
            else:
                km, cost, co2 = (float(x) for x in mode_leg(self.modes.loc[o.mode],
                                                            0.0 if s == u else gc))
            out.update(legs=[km], distance_km=km, transport_yuan_t=cost, handling_yuan_t=0.0,
                       co2_kg_t=co2)
            return out
        a, b = int(self.acc[s, o.ka]), int(self.acc[u, o.kb])
        mm = self.modes.loc[o.mode]
        d1, c1, e1 = (float(x) for x in mode_leg(mm, self.acc_gc[s, o.ka]))
        d3, c3, e3 = (float(x) for x in mode_leg(mm, self.acc_gc[u, o.kb]))
        leg = self.legs[o.rail_mode]
        d2, c2, e2 = float(leg["km"][a, b]), float(leg["cost"][a, b]), float(leg["co2"][a, b])
        handling = float(leg["handling"][a, b])
        out.update(legs=[d1, d2, d3], distance_km=d1 + d2 + d3,
                   transport_yuan_t=c1 + (c2 - handling) + c3, handling_yuan_t=handling,
                   co2_kg_t=e1 + e2 + e3,
                   from_terminal=str(self.site_ids[self.term_pos[a]]),
                   to_terminal=str(self.site_ids[self.term_pos[b]]),
                   ta=int(self.term_pos[a]), tb=int(self.term_pos[b]))
        return out

    def route(self, d: dict, lang: str) -> str:
        """The route as a line of text, e.g. 柴油重卡 45 km → 唐山站 铁路 320 km → 北京站 柴油重卡 12 km."""
        name = "name_zh" if lang == "zh" else "name_en"

        def mode_name(m: str) -> str:
            text = self.modes.at[m, name]
            return str(text) if isinstance(text, str) and text else str(self.modes.at[m, "name_zh"])

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

    def __init__(self, listings: pd.DataFrame, scenario, options: NetworkOptions | None = None):
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
        reserved = (f["reserved_t"].fillna(0).to_numpy(dtype=float) if "reserved_t" in f
                    else np.zeros(n))
        remaining = f["quantity_t"].to_numpy(dtype=float) - reserved
        if "active" in f:
            remaining = np.where(f["active"].fillna(True).astype(bool), remaining, 0.0)
        self.remaining = remaining
        self.start = _days(f["start"], -np.inf)
        self.end = _days(f["end"], np.inf)
        self.spec = f[[f"spec_{s}" for s in SPECS]].to_numpy(dtype=float)
        self.lo = f[[f"spec_{s}_min" for s in SPECS]].to_numpy(dtype=float)
        self.hi = f[[f"spec_{s}_max" for s in SPECS]].to_numpy(dtype=float)
        self.hw = f["hazardous_code"].to_numpy(dtype=object)
        inputs = process_inputs(scenario.table("process_io"))
        self.takes: list[frozenset[str]] = [
            accepted_materials(m, a, inputs) if not o else frozenset()
            for m, a, o in zip(f["material"], f["accepts"], self.is_offer, strict=True)]
        # compatibility as a (want, material) table for vectorised checks of offers
        self.take = np.zeros((n, len(mats)), dtype=bool)
        for i in np.flatnonzero(~self.is_offer):
            cols = mats.get_indexer(list(self.takes[i]))
            self.take[i, cols[cols >= 0]] = True
        self._offer_trees: dict[int, tuple[cKDTree, np.ndarray, float]] = {}
        self._want_trees: dict[int, tuple[cKDTree, np.ndarray]] = {}
        for m in range(len(mats)):
            idx = np.flatnonzero(self.is_offer & (self.mat == m))
            if len(idx):
                self._offer_trees[m] = (cKDTree(self.xyz[idx]), idx, float(self.ask[idx].min()))
            idx = np.flatnonzero(~self.is_offer & self.take[:, m])
            if len(idx):
                self._want_trees[m] = (cKDTree(self.xyz[idx]), idx)
        lanes = t.lanes
        self._lane_from = t.site_ids.get_indexer(lanes["from_site"])
        self._lane_to = t.site_ids.get_indexer(lanes["to_site"])

    # ---- public -------------------------------------------------------------------------
    def top(self, listing_id: str, k: int = 10, plan_flows: pd.DataFrame | None = None
            ) -> pd.DataFrame:
        """The ``k`` counterparts of a listing with the least delivered cost (MATCH_COLUMNS,
        cheapest first; ties by listing order). KeyError for an unknown id."""
        i = self._at(listing_id)
        trees = self._trees(i)
        forced = self._lane_partners(i)
        size = max(64, 4 * k)
        while True:
            cand, bounds = [forced], []
            for tree, idx, price_lb in trees:
                kk = min(size, len(idx))
                d, j = tree.query(self.xyz[i], k=kk)
                d, j = np.atleast_1d(d), np.atleast_1d(j)
                cand.append(idx[j])
                if kk < len(idx):
                    gc = 2 * EARTH_RADIUS_KM * np.arcsin(min(float(d[-1]) / 2, 1.0))
                    bounds.append(price_lb + self.transport.lower_bound(gc))
            rows, score = self._ranked(i, np.concatenate(cand), k)
            kth = score[k - 1] if len(score) >= k else np.inf
            if all(b > kth for b in bounds):
                return self._frame(i, rows, plan_flows)
            size *= 4

    def scan(self, listing_id: str, k: int = 10, plan_flows: pd.DataFrame | None = None
             ) -> pd.DataFrame:
        """What :meth:`top` answers, by costing every counterpart (no index): for tests and
        benchmarks."""
        i = self._at(listing_id)
        rows, _ = self._ranked(i, np.flatnonzero(self.is_offer != self.is_offer[i]), k)
        return self._frame(i, rows, plan_flows)

    # ---- internals ----------------------------------------------------------------------
    def _at(self, listing_id: str) -> int:
        try:
            return self._index[str(listing_id)]
        except KeyError:
            raise KeyError(f"unknown listing {listing_id!r}") from None

    def _trees(self, i: int) -> list[tuple[cKDTree, np.ndarray, float]]:
        if self.is_offer[i]:
            hit = self._want_trees.get(int(self.mat[i]))
            return [(hit[0], hit[1], float(self.ask[i]))] if hit else []
        cols = self.materials.get_indexer(list(self.takes[i]))
        return [self._offer_trees[c] for c in sorted(cols[cols >= 0]) if c in self._offer_trees]

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

    def _ranked(self, i: int, cand: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The best ``k`` of candidate counterparts that pass every filter, with their delivered
        score, cheapest first (ties: listing order)."""
        c = np.unique(cand)
        if self.remaining[i] <= 0:
            return c[:0], np.empty(0)
        if self.is_offer[i]:
            o, w = np.full(len(c), i), c
        else:
            o, w = c, np.full(len(c), i)
        ok = (self.is_offer[o] & ~self.is_offer[w]) & self.take[w, self.mat[o]]
        ok &= self.remaining[c] > 0
        ok &= (self.org[o] < 0) | (self.org[o] != self.org[w])
        ok &= periods_overlap(self.start[o], self.end[o], self.start[w], self.end[w])
        cap = self.price[w]
        ok &= np.isnan(cap) | np.isnan(self.price[o]) | (self.price[o] <= cap)
        ok &= spec_ok(self.spec[o], self.lo[w], self.hi[w])
        coded = np.flatnonzero(ok & (self.hw[o] != ""))
        for p in coded:  # hazardous offers are few: one check each
            ok[p] = hazard_ok(self.hw[o[p]], self.hw[w[p]])
        o, w, c = o[ok], w[ok], c[ok]
        _, val = self.transport.score(self.site[o], self.site[w])
        delivered = self.ask[o] + val
        fine = np.isfinite(delivered)
        c, delivered = c[fine], delivered[fine]
        if len(c) > k:
            part = np.argpartition(delivered, k - 1)[:k]
            kth = delivered[part].max()
            keep = delivered <= kth  # every tie of the k-th, then order
            c, delivered = c[keep], delivered[keep]
        order = np.lexsort((c, delivered))[:k]
        return c[order], delivered[order]

    def _frame(self, i: int, rows: np.ndarray, plan_flows: pd.DataFrame | None) -> pd.DataFrame:
        t = self.transport
        planned: set[tuple[str, str, str]] = set()
        if plan_flows is not None and len(plan_flows):
            pf = plan_flows[plan_flows["t"] > 0]
            planned = set(zip(pf["from_site"].astype(str), pf["to_site"].astype(str),
                              pf["material"].astype(str), strict=True))
        offers, wants = (np.full(len(rows), i), rows) if self.is_offer[i] else (
            rows, np.full(len(rows), i))
        best, val = t.score(self.site[offers], self.site[wants])
        records = []
        for c, o, w, b, v in zip(rows, offers, wants, best, val, strict=True):
            d = t.detail(int(self.site[o]), int(self.site[w]), int(b))
            material = self.mat_text[o]
            records.append((
                self.ids[i], self.ids[c], self.org_text[c], self.site_text[c], material,
                float(min(self.remaining[o], self.remaining[w])), float(self.price[o]),
                d["kind"], d["mode"], d["rail_mode"], d["from_terminal"], d["to_terminal"],
                d["distance_km"], d["transport_yuan_t"], d["handling_yuan_t"], d["co2_kg_t"],
                float(d["co2_kg_t"]) * t.carbon,  # type: ignore[arg-type]
                float(self.ask[o] + v),
                (self.site_text[o], self.site_text[w], material) in planned,
                t.route(d, "zh"), t.route(d, "en"),
            ))
        out = pd.DataFrame.from_records(records, columns=list(MATCH_COLUMNS))
        if not len(out):
            out = out.astype({"quantity_t": float, "price_yuan_t": float, "distance_km": float,
                              "transport_yuan_t": float, "handling_yuan_t": float,
                              "co2_kg_t": float, "co2_yuan_t": float, "delivered_yuan_t": float,
                              "plan_recommended": bool})
        return out


def _days(dates: pd.Series, open_value: float) -> np.ndarray:
    """ISO dates as day numbers (float), '' as ``open_value``."""
    parsed = pd.to_datetime(dates.where(dates != ""), format="%Y-%m-%d", errors="coerce")
    days = (parsed - pd.Timestamp("1970-01-01")).dt.days.to_numpy(dtype=float)
    return np.where(np.isnan(days), open_value, days)
