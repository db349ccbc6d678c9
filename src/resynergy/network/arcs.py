"""Candidate arcs between where materials arise and where they are used.

An arc carries one material from a *source* (a supply, or a facility's output port) to a *sink*
(a facility's input port, or a demand) by one mode combination:

- ``direct``: one leg by a road-like mode (every non-rail mode, or a lane's mode); between a
  source and a sink on the same site, by the on-site mode when the modes table has one
  (``modes.onsite``: a conveyor or loader, no truck);
- ``intermodal``: a road leg to a rail terminal, a rail leg between terminals and a road leg
  from the arrival terminal, as one path variable, so that every tonne keeps its origin and
  destination (targets by origin region and corridor rail shares stay exact).

Arcs are pruned per material with a k-d tree on the unit sphere: each source keeps its k nearest
sinks within a radius and each sink its k nearest sources (the union of both). Intermodal paths
keep, per departure terminal, the ``k_rail`` cheapest (arrival terminal, sink) continuations and,
per arrival terminal, the ``k_rail`` cheapest (source, departure terminal) feeders. Distances are
great-circle × the mode's circuity, unless a lane gives them; a lane also overrides cost, CO2
and capacity of its arcs and adds arcs geometry would not (negotiated rates, conveyors).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from resynergy.network.geo import chord, great_circle_km, unit_xyz

ARC_COLUMNS = (
    "src", "dst", "material", "kind", "mode", "rail_mode", "t_from", "t_to",
    "d1", "d2", "d3", "c1", "c2", "c3", "e1", "e2", "e3", "lane1", "lane2",
)


Columns = dict[str, np.ndarray]  # arc columns as arrays, before they become one frame


@dataclass(frozen=True)
class NetworkOptions:
    """How candidate arcs are pruned.

    ``per_material`` maps a material code to its own ``(k_nearest, max_distance_km)``.
    ``direct_modes`` lists the modes generated from geometry (default: every non-rail mode);
    other non-rail modes appear only where a lane names them.
    """

    k_nearest: int = 8
    max_distance_km: float = 300.0
    per_material: Mapping[str, tuple[int, float]] = field(default_factory=dict)
    k_terminals: int = 2
    terminal_radius_km: float = 150.0
    k_rail: int = 4
    min_rail_km: float = 80.0
    direct_modes: tuple[str, ...] | None = None


@dataclass
class Network:
    """Candidate arcs (one row per source × sink × mode combination) and what they use.

    ``arcs`` columns: src, dst (row positions in the sources / sinks frames), material, kind
    ('direct'|'intermodal'), mode (the direct mode, or the road mode of both road legs),
    rail_mode, t_from, t_to (terminal positions, -1 for direct), per-leg distance d1..d3 (km),
    cost c1..c3 (yuan/t) and CO2 e1..e3 (kg/t), lane1 / lane2 (lane positions of the direct and
    the rail leg, -1 when none). Leg 1 is the direct leg or the first mile; 2 rail; 3 last mile.
    """

    arcs: pd.DataFrame
    terminals: pd.DataFrame
    lanes: pd.DataFrame

    @property
    def cost(self) -> np.ndarray:
        a = self.arcs
        return (a["c1"] + a["c2"] + a["c3"]).to_numpy()

    @property
    def co2(self) -> np.ndarray:
        a = self.arcs
        return (a["e1"] + a["e2"] + a["e3"]).to_numpy()

    @property
    def km(self) -> np.ndarray:
        a = self.arcs
        return (a["d1"] + a["d2"] + a["d3"]).to_numpy()


def build(
    sources: pd.DataFrame,
    sinks: pd.DataFrame,
    sites: pd.DataFrame,
    modes: pd.DataFrame,
    terminals: pd.DataFrame | None = None,
    lanes: pd.DataFrame | None = None,
    options: NetworkOptions | None = None,
) -> Network:
    """Candidate arcs from ``sources`` to ``sinks`` (frames with columns site, material and an
    optional owner: arcs between two ports of the same owner are left out).

    Vectorised throughout: k-d trees per material, integer codes for sites, owners, materials
    and modes while arcs are generated; the text columns of the result (material, kind, mode,
    rail_mode) are categoricals, so millions of arcs cost a few bytes each."""
    options = options or NetworkOptions()
    terminals = _empty_like(terminals, ["site", "handling_cost", "capacity_t"])
    lanes = _empty_like(lanes, ["from_site", "to_site", "mode", "distance_km", "cost_per_t",
                                "co2_per_t", "capacity_t"]).reset_index(drop=True)
    modes = modes.set_index("id")
    unknown = sorted(set(lanes["mode"]) - set(modes.index))
    if unknown:
        raise ValueError(f"lanes name unknown modes {unknown}; known: {sorted(modes.index)}")
    rail = modes.index[modes["rail"].astype(bool)].tolist()
    onsite = onsite_modes(modes)
    direct = list(options.direct_modes) if options.direct_modes is not None else [
        m for m in modes.index if m not in rail]
    direct = [m for m in direct if m not in onsite]
    site_ids = pd.Index(sites["id"])
    lat, lon = sites["lat"].to_numpy(dtype=float), sites["lon"].to_numpy(dtype=float)
    src = _located(sources, site_ids, lat, lon)
    dst = _located(sinks, site_ids, lat, lon)
    term = _located(terminals.reset_index(drop=True), site_ids, lat, lon)
    codes = _Codes.of(src, dst, modes, rail)
    is_direct_lane = direct_lanes(lanes, rail, terminals)
    parts = [
        _direct(src, dst, modes, direct, options, codes, onsite[:1]),
        _lane_arcs(src, dst, modes, lanes[is_direct_lane], codes),
    ]
    if len(term) and rail and direct:
        handling = terminals["handling_cost"].to_numpy(dtype=float)
        parts.append(_intermodal(src, dst, term, handling, modes, direct, rail,
                                 lanes[~is_direct_lane], options, codes))
    arcs = pd.DataFrame(_concat(parts), copy=False)  # no block consolidation: one copy less
    if len(parts[1]["src"]):  # a lane overrides the geometric arc it coincides with
        arcs = arcs.sort_values("lane1", ascending=False, kind="stable")
        keep = ~arcs.duplicated(["src", "dst", "kind", "mode", "rail_mode", "t_from", "t_to"])
        arcs = arcs[keep].sort_values(["src", "dst", "kind", "mode"], kind="stable")
    arcs = arcs.reset_index(drop=True)
    arcs["material"] = pd.Categorical.from_codes(src["mat"].to_numpy()[arcs["src"].to_numpy()],
                                                 codes.materials)
    for col, cats in (("kind", KINDS), ("mode", codes.modes), ("rail_mode", codes.rail_modes)):
        arcs[col] = pd.Categorical.from_codes(arcs[col].to_numpy(), cats)
    return Network(arcs=arcs[list(ARC_COLUMNS)], terminals=terminals.reset_index(drop=True),
                   lanes=lanes)


KINDS = ("direct", "intermodal")


@dataclass(frozen=True)
class _Codes:
    """Category lists of the arc frame's text columns (sorted, so that sorting by code sorts by
    name) and the code of each mode."""

    materials: list[str]
    modes: list[str]
    rail_modes: list[str]
    mode: dict[str, int]
    rail_mode: dict[str, int]

    @classmethod
    def of(cls, src: pd.DataFrame, dst: pd.DataFrame, modes: pd.DataFrame, rail: list[str]
           ) -> _Codes:
        mats = sorted(set(src["material"]) | set(dst["material"]))
        pos = {m: i for i, m in enumerate(mats)}
        for frame in (src, dst):
            frame["mat"] = frame["material"].map(pos).to_numpy(dtype=np.int64)
        owners = pd.Index(sorted((set(src["owner"]) | set(dst["owner"])) - {""}))
        for frame in (src, dst):
            frame["own"] = owners.get_indexer(frame["owner"])  # -1: no owner
        names = sorted(modes.index)
        rails = ["", *sorted(rail)]
        return cls(mats, names, rails, {m: i for i, m in enumerate(names)},
                   {m: i for i, m in enumerate(rails)})


def _empty_like(frame: pd.DataFrame | None, cols: list[str]) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame({c: pd.Series(dtype=object if c in (
            "site", "from_site", "to_site", "mode") else float) for c in cols})
    return frame


def _located(frame: pd.DataFrame, site_ids: pd.Index, lat: np.ndarray, lon: np.ndarray
             ) -> pd.DataFrame:
    """site, material, owner, site position ``pos``, lat, lon and unit-sphere x, y, z."""
    out = pd.DataFrame({"site": frame["site"].to_numpy()})
    out["material"] = frame["material"].to_numpy() if "material" in frame else ""
    out["owner"] = frame["owner"].fillna("").to_numpy() if "owner" in frame else ""
    pos = site_ids.get_indexer(out["site"])
    if (pos < 0).any():
        missing = out["site"][pos < 0].unique().tolist()
        raise ValueError(f"sites without coordinates: {missing[:10]}")
    out["pos"] = pos
    out["lat"], out["lon"] = lat[pos], lon[pos]
    if np.isnan(out["lat"]).any() or np.isnan(out["lon"]).any():
        missing = out["site"][out["lat"].isna() | out["lon"].isna()].unique().tolist()
        raise ValueError(f"sites without coordinates: {missing[:10]}")
    xyz = unit_xyz(out["lat"].to_numpy(), out["lon"].to_numpy())
    out["x"], out["y"], out["z"] = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    return out


def _xyz(frame: pd.DataFrame) -> np.ndarray:
    return frame[["x", "y", "z"]].to_numpy()


def _knn(from_xyz: np.ndarray, to_xyz: np.ndarray, k: int, radius_km: float
         ) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j): j among the k nearest ``to`` points of ``from`` point i within the radius."""
    if len(from_xyz) == 0 or len(to_xyz) == 0 or k <= 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    k = min(k, len(to_xyz))
    d, j = cKDTree(to_xyz).query(from_xyz, k=k, distance_upper_bound=chord(radius_km) * (1 + 1e-9))
    d, j = d.reshape(len(from_xyz), k), j.reshape(len(from_xyz), k)
    ok = np.isfinite(d)
    i = np.broadcast_to(np.arange(len(from_xyz))[:, None], d.shape)
    return i[ok].astype(np.int64), j[ok].astype(np.int64)


def onsite_modes(modes: pd.DataFrame) -> list[str]:
    """Modes for co-located use (a source and a sink on one site), from ``modes`` indexed by id."""
    if "onsite" not in modes:
        return []
    return modes.index[modes["onsite"].fillna(False).astype(bool)].tolist()


def _direct(src: pd.DataFrame, dst: pd.DataFrame, modes: pd.DataFrame, direct: list[str],
            options: NetworkOptions, codes: _Codes, onsite: list[str] | None = None
            ) -> Columns:
    """Geometric arcs by every direct mode; with an ``onsite`` mode, pairs on the same site get
    that mode only (a conveyor or loader, not a truck) and other pairs every direct mode."""
    pairs_i, pairs_j = [], []
    src_by_mat = src.groupby("mat").indices
    dst_by_mat = dst.groupby("mat").indices
    sxyz, dxyz = _xyz(src), _xyz(dst)
    for mat, si in src_by_mat.items():
        di = dst_by_mat.get(mat)
        if di is None:
            continue
        k, radius = options.per_material.get(codes.materials[mat],
                                             (options.k_nearest, options.max_distance_km))
        a, b = _knn(sxyz[si], dxyz[di], k, radius)
        c, d = _knn(dxyz[di], sxyz[si], k, radius)
        pairs_i += [si[a], si[d]]
        pairs_j += [di[b], di[c]]
    if not pairs_i:
        return _concat([])
    n_dst = max(len(dst), 1)
    key = _unique(np.concatenate(pairs_i) * n_dst + np.concatenate(pairs_j))  # by (i, j)
    i, j = key // n_dst, key % n_dst
    keep = _distinct_owner(src, dst, i, j)
    i, j = i[keep], j[keep]
    gc = great_circle_km(src["lat"].to_numpy()[i], src["lon"].to_numpy()[i],
                         dst["lat"].to_numpy()[j], dst["lon"].to_numpy()[j])
    same = np.zeros(len(i), dtype=bool)
    if onsite:
        same = src["pos"].to_numpy()[i] == dst["pos"].to_numpy()[j]
    frames = []
    for mode, on in [(m, ~same) for m in direct] + [(m, same) for m in onsite or []]:
        if not on.any():
            continue
        d1, c1, e1 = mode_leg(modes.loc[mode], gc[on])
        frames.append(_frame(i[on], j[on], 0, codes.mode[mode], d1, c1, e1))
    return _concat(frames)


def _distinct_owner(src: pd.DataFrame, dst: pd.DataFrame, i: np.ndarray, j: np.ndarray
                    ) -> np.ndarray:
    so, do = src["own"].to_numpy()[i], dst["own"].to_numpy()[j]
    return (so < 0) | (so != do)


def _concat(parts: list[Columns]) -> Columns:
    """One set of arc columns from several (the empty set when there are none)."""
    parts = [p for p in parts if len(p["src"])] or [_frame(np.empty(0, np.int64),
                                                           np.empty(0, np.int64), 0, 0,
                                                           np.empty(0), np.empty(0), np.empty(0))]
    if len(parts) == 1:
        return parts[0]
    return {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}


def _frame(i, j, kind, mode, d1, c1, e1, lane1=-1) -> Columns:
    """Direct arcs, with kind, mode and rail_mode as codes (see :class:`_Codes`)."""
    n = len(i)
    zeros = np.zeros(n)
    return {
        "src": np.asarray(i, dtype=np.int64), "dst": np.asarray(j, dtype=np.int64),
        "kind": np.full(n, kind, dtype=np.int8),
        "mode": np.broadcast_to(np.asarray(mode, dtype=np.int8), n).copy(),
        "rail_mode": np.zeros(n, dtype=np.int8),
        "t_from": np.full(n, -1, dtype=np.int64), "t_to": np.full(n, -1, dtype=np.int64),
        "d1": np.asarray(d1, dtype=float), "d2": zeros, "d3": zeros,
        "c1": np.broadcast_to(c1, n).astype(float), "c2": zeros, "c3": zeros,
        "e1": np.broadcast_to(e1, n).astype(float), "e2": zeros, "e3": zeros,
        "lane1": np.broadcast_to(np.asarray(lane1, dtype=np.int64), n).copy(),
        "lane2": np.full(n, -1, dtype=np.int64),
    }


def _lane_arcs(src: pd.DataFrame, dst: pd.DataFrame, modes: pd.DataFrame, lanes: pd.DataFrame,
               codes: _Codes) -> Columns:
    """Arcs named by lanes: every material with a source at from_site and a sink at to_site."""
    empty = _concat([])
    if lanes.empty:
        return empty
    s = src.reset_index(names="src")[["src", "site", "material", "own", "lat", "lon"]]
    d = dst.reset_index(names="dst")[["dst", "site", "material", "own", "lat", "lon"]]
    ln = lanes.reset_index(names="lane")
    m = ln.merge(s, left_on="from_site", right_on="site").merge(
        d, left_on=["to_site", "material"], right_on=["site", "material"], suffixes=("_s", "_d"))
    m = m[(m["own_s"] < 0) | (m["own_s"] != m["own_d"])]
    if m.empty:
        return empty
    d1, c1, e1 = lane_leg(m, modes, great_circle_km(m["lat_s"], m["lon_s"], m["lat_d"], m["lon_d"]))
    return _frame(m["src"].to_numpy(), m["dst"].to_numpy(), 0,
                  m["mode"].map(codes.mode).to_numpy(dtype=np.int8), d1, c1, e1,
                  m["lane"].to_numpy())


def lane_leg(lanes: pd.DataFrame, modes: pd.DataFrame, gc_km) -> tuple[np.ndarray, np.ndarray,
                                                                       np.ndarray]:
    """km, yuan/t and kg CO2/t of lane rows (columns mode, distance_km, cost_per_t, co2_per_t;
    ``modes`` indexed by id) whose ends are ``gc_km`` apart: the lane's own figures where it
    gives them, else the mode's over the lane distance (else great-circle × circuity)."""
    mm = modes.loc[lanes["mode"]]
    km = lanes["distance_km"].to_numpy(dtype=float).copy()
    gap = np.isnan(km)
    km[gap] = (np.asarray(gc_km, dtype=float) * mm["circuity"].to_numpy())[gap]
    cost, co2 = leg(mm["cost_fixed"].to_numpy(), mm["cost_per_tkm"].to_numpy(),
                    mm["co2_per_tkm"].to_numpy(), km)
    own_cost = lanes["cost_per_t"].to_numpy(dtype=float)
    own_co2 = lanes["co2_per_t"].to_numpy(dtype=float)
    return (km, np.where(np.isnan(own_cost), cost, own_cost),
            np.where(np.isnan(own_co2), co2, own_co2))


def leg(cost_fixed, cost_per_tkm, co2_per_tkm, km) -> tuple[np.ndarray, np.ndarray]:
    """yuan/t and kg CO2/t of a leg of ``km`` by a mode with these rates: the one costing formula
    of every leg (direct, first and last miles, rail, lanes without their own figures)."""
    return cost_fixed + cost_per_tkm * km, co2_per_tkm * km


def mode_leg(mode: pd.Series, gc_km) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """km (great-circle × circuity), yuan/t and kg CO2/t of a leg by ``mode`` (a modes row)."""
    km = gc_km * mode["circuity"]
    cost, co2 = leg(mode["cost_fixed"], mode["cost_per_tkm"], mode["co2_per_tkm"], km)
    return km, cost, co2


def direct_lanes(lanes: pd.DataFrame, rail: list[str], terminals: pd.DataFrame) -> pd.Series:
    """Lanes that are arcs of their own (every lane but a rail lane between two terminals, which
    overrides the rail leg of intermodal paths instead)."""
    term_site = set(terminals["site"])
    return ~lanes["mode"].isin(rail) | ~(
        lanes["from_site"].isin(term_site) & lanes["to_site"].isin(term_site))


def _intermodal(src: pd.DataFrame, dst: pd.DataFrame, term: pd.DataFrame, handling: np.ndarray,
                modes: pd.DataFrame, road: list[str], rail: list[str], rail_lanes: pd.DataFrame,
                options: NetworkOptions, codes: _Codes) -> Columns:
    """Road–rail–road paths. First miles (source, departure terminal) and last miles (sink,
    arrival terminal) come from k-d trees; routes keep, per material, the ``k_rail`` cheapest
    continuations of each departure terminal and the ``k_rail`` cheapest feeders of each
    arrival terminal (priced with the cheapest road mode and the first rail mode)."""
    empty = _concat([])
    txyz = _xyz(term)
    fi, fa = _knn(_xyz(src), txyz, options.k_terminals, options.terminal_radius_km)
    lj, lb = _knn(_xyz(dst), txyz, options.k_terminals, options.terminal_radius_km)
    if len(fi) == 0 or len(lj) == 0:
        return empty
    tlat, tlon = term["lat"].to_numpy(), term["lon"].to_numpy()
    first_gc = great_circle_km(src["lat"].to_numpy()[fi], src["lon"].to_numpy()[fi],
                               tlat[fa], tlon[fa])
    last_gc = great_circle_km(dst["lat"].to_numpy()[lj], dst["lon"].to_numpy()[lj],
                              tlat[lb], tlon[lb])
    rail_gc = great_circle_km(tlat[:, None], tlon[:, None], tlat[None, :], tlon[None, :])
    legs = {q: rail_leg(q, rail_gc, handling, modes, term, rail_lanes) for q in rail}
    ref_road = min(road, key=lambda r: modes.at[r, "cost_per_tkm"])
    rr = modes.loc[ref_road]
    usable = (rail_gc >= options.min_rail_km) & ~np.eye(len(term), dtype=bool)
    ref = np.where(usable, legs[rail[0]]["cost"], np.inf)
    first_cost = rr["cost_fixed"] + rr["cost_per_tkm"] * first_gc * rr["circuity"]
    last_cost = rr["cost_fixed"] + rr["cost_per_tkm"] * last_gc * rr["circuity"]
    fm, lm = src["mat"].to_numpy()[fi], dst["mat"].to_numpy()[lj]
    f_by_mat = pd.Series(fm).groupby(fm).indices
    l_by_mat = pd.Series(lm).groupby(lm).indices
    rows_f, rows_l = [], []
    for mat, f in f_by_mat.items():
        g = l_by_mat.get(mat)
        if g is None:
            continue
        for fwd in (True, False):
            a, b = _routes(fa[f], first_cost[f], lb[g], last_cost[g], ref, options.k_rail, fwd)
            rows_f.append(f[a])
            rows_l.append(g[b])
    if not rows_f:
        return empty
    n_last = len(lj)
    key = _unique(np.concatenate(rows_f) * n_last + np.concatenate(rows_l))
    rf, rl = key // n_last, key % n_last
    i, j = fi[rf], lj[rl]
    keep = _distinct_owner(src, dst, i, j) & (src["pos"].to_numpy()[i] != dst["pos"].to_numpy()[j])
    rf, rl, i, j = rf[keep], rl[keep], i[keep], j[keep]
    a, b = fa[rf], lb[rl]
    gc1, gc3 = first_gc[rf], last_gc[rl]
    n = len(i)
    frames = []
    for q in rail:
        leg = legs[q]
        for mode in road:
            d1, c1, e1 = mode_leg(modes.loc[mode], gc1)
            d3, c3, e3 = mode_leg(modes.loc[mode], gc3)
            frames.append({
                "src": i, "dst": j, "kind": np.full(n, 1, dtype=np.int8),
                "mode": np.full(n, codes.mode[mode], dtype=np.int8),
                "rail_mode": np.full(n, codes.rail_mode[q], dtype=np.int8),
                "t_from": a, "t_to": b, "d1": d1, "d2": leg["km"][a, b], "d3": d3,
                "c1": c1, "c2": leg["cost"][a, b], "c3": c3,
                "e1": e1, "e2": leg["co2"][a, b], "e3": e3,
                "lane1": np.full(n, -1, dtype=np.int64), "lane2": leg["lane"][a, b],
            })
    return _concat(frames)


def rail_leg(q: str, rail_gc: np.ndarray, handling: np.ndarray, modes: pd.DataFrame,
             term: pd.DataFrame, lanes: pd.DataFrame) -> dict[str, np.ndarray]:
    """Terminal × terminal matrices of one rail mode: km, yuan/t (incl. handling at both ends),
    kg CO2/t, the lane (or -1) and the handling part of the cost (yuan/t, both ends)."""
    mm = modes.loc[q]
    km, line, co2 = mode_leg(mm, rail_gc)
    lane = np.full(km.shape, -1, dtype=np.int64)
    pos = {s: i for i, s in enumerate(term["site"])}
    for idx, ln in lanes[lanes["mode"] == q].iterrows():  # lanes are few: one row each
        a, b = pos[ln["from_site"]], pos[ln["to_site"]]
        if pd.notna(ln["distance_km"]):
            km[a, b] = ln["distance_km"]
            line[a, b], co2[a, b] = leg(mm["cost_fixed"], mm["cost_per_tkm"],
                                        mm["co2_per_tkm"], km[a, b])
        if pd.notna(ln["cost_per_t"]):
            line[a, b] = ln["cost_per_t"]
        if pd.notna(ln["co2_per_t"]):
            co2[a, b] = ln["co2_per_t"]
        lane[a, b] = idx
    both = handling[:, None] + handling[None, :]
    return {"km": km, "cost": line + both, "co2": co2, "lane": lane, "handling": both}


def _unique(x: np.ndarray) -> np.ndarray:
    """Sorted distinct values of an integer array. ``np.unique`` (numpy 2.3+, hash-based) took
    37 s for 4.5 M int64 keys on the benchmark machine where sorting takes 0.2 s."""
    s = np.sort(x)
    return s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s


def _top_per_group(group: np.ndarray, cost: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` cheapest rows of each group (ties: the earlier row)."""
    order = np.lexsort((cost, group))
    g = group[order]
    start = np.r_[True, g[1:] != g[:-1]] if len(g) else np.zeros(0, bool)
    first = np.maximum.accumulate(np.where(start, np.arange(len(g)), 0))
    return order[np.arange(len(g)) - first < k]


def _members(group: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (r, p): every position p with ``group[p] == keys[r]``, for every r."""
    order = np.argsort(group, kind="stable")
    g = group[order]
    lo, hi = np.searchsorted(g, keys, "left"), np.searchsorted(g, keys, "right")
    n = hi - lo
    r = np.repeat(np.arange(len(keys)), n)
    offset = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    return r, order[np.repeat(lo, n) + offset]


def _routes(a: np.ndarray, first_cost: np.ndarray, b: np.ndarray, last_cost: np.ndarray,
            ref: np.ndarray, k: int, forward: bool) -> tuple[np.ndarray, np.ndarray]:
    """Intermodal routes of one material as pairs (first-mile row, last-mile row).

    Forward: for each departure terminal, its k cheapest (arrival terminal, last mile)
    continuations (rail + last mile), joined to every first mile into that terminal. Backward:
    the mirror image. The k cheapest over all last miles are among the k cheapest of each
    arrival terminal, so the candidates are terminals × k, not terminals × sinks."""
    if forward:
        cand = _top_per_group(b, last_cost, k)
        keys = _unique(a)
        cost = ref[keys][:, b[cand]] + last_cost[cand][None, :]
    else:
        cand = _top_per_group(a, first_cost, k)
        keys = _unique(b)
        cost = ref[:, keys][a[cand]].T + first_cost[cand][None, :]
    kk = min(k, cost.shape[1])
    top = np.argpartition(cost, kk - 1, axis=1)[:, :kk] if kk < cost.shape[1] else np.tile(
        np.arange(cost.shape[1]), (len(keys), 1))
    ok = np.isfinite(np.take_along_axis(cost, top, axis=1))
    key_row = np.broadcast_to(np.arange(len(keys))[:, None], top.shape)[ok]
    pick = cand[top[ok]]
    r, p = _members(a if forward else b, keys[key_row])
    return (p, pick[r]) if forward else (pick[r], p)
