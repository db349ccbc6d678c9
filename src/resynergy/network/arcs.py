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
    optional owner: arcs between two ports of the same owner are left out)."""
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
    lat = sites.set_index("id")["lat"]
    lon = sites.set_index("id")["lon"]
    src = _located(sources, lat, lon)
    dst = _located(sinks, lat, lon)
    term = _located(terminals.reset_index(drop=True), lat, lon)
    term_site = set(terminals["site"])
    is_direct_lane = ~lanes["mode"].isin(rail) | ~(
        lanes["from_site"].isin(term_site) & lanes["to_site"].isin(term_site))
    parts = [
        _direct(src, dst, modes, direct, options, onsite[:1]),
        _lane_arcs(src, dst, modes, lanes[is_direct_lane]),
    ]
    if len(term) and rail and direct:
        handling = terminals["handling_cost"].to_numpy(dtype=float)
        parts.append(_intermodal(src, dst, term, handling, modes, direct, rail,
                                 lanes[~is_direct_lane], options))
    arcs = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(
        len(p) for p in parts) else _no_arcs()
    if len(parts[1]):  # a lane overrides the geometric arc it coincides with
        arcs = arcs.sort_values("lane1", ascending=False, kind="stable")
        keep = ~arcs.duplicated(["src", "dst", "kind", "mode", "rail_mode", "t_from", "t_to"])
        arcs = arcs[keep].sort_values(["src", "dst", "kind", "mode"], kind="stable")
    return Network(arcs=arcs.reset_index(drop=True)[list(ARC_COLUMNS)],
                   terminals=terminals.reset_index(drop=True), lanes=lanes)


def _empty_like(frame: pd.DataFrame | None, cols: list[str]) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame({c: pd.Series(dtype=object if c in (
            "site", "from_site", "to_site", "mode") else float) for c in cols})
    return frame


def _located(frame: pd.DataFrame, lat: pd.Series, lon: pd.Series) -> pd.DataFrame:
    out = pd.DataFrame({"site": frame["site"].to_numpy()})
    out["material"] = frame["material"].to_numpy() if "material" in frame else ""
    out["owner"] = frame["owner"].to_numpy() if "owner" in frame else ""
    out["lat"] = lat.reindex(out["site"]).to_numpy()
    out["lon"] = lon.reindex(out["site"]).to_numpy()
    missing = out["site"][out["lat"].isna()].unique().tolist()
    if missing:
        raise ValueError(f"sites without coordinates: {missing[:10]}")
    return out


def _no_arcs() -> pd.DataFrame:
    cols = {c: pd.Series(dtype=np.int64) for c in ("src", "dst", "t_from", "t_to", "lane1", "lane2")}
    cols.update({c: pd.Series(dtype=object) for c in ("material", "kind", "mode", "rail_mode")})
    cols.update({c: pd.Series(dtype=float) for c in ("d1", "d2", "d3", "c1", "c2", "c3", "e1",
                                                     "e2", "e3")})
    return pd.DataFrame(cols)[list(ARC_COLUMNS)]


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
            options: NetworkOptions, onsite: list[str] | None = None) -> pd.DataFrame:
    """Geometric arcs by every direct mode; with an ``onsite`` mode, pairs on the same site get
    that mode only (a conveyor or loader, not a truck) and other pairs every direct mode."""
    pairs_i, pairs_j = [], []
    src_by_mat = src.groupby("material").indices
    dst_by_mat = dst.groupby("material").indices
    for mat, si in src_by_mat.items():
        di = dst_by_mat.get(mat)
        if di is None:
            continue
        k, radius = options.per_material.get(mat, (options.k_nearest, options.max_distance_km))
        sx = unit_xyz(src["lat"].to_numpy()[si], src["lon"].to_numpy()[si])
        dx = unit_xyz(dst["lat"].to_numpy()[di], dst["lon"].to_numpy()[di])
        a, b = _knn(sx, dx, k, radius)
        c, d = _knn(dx, sx, k, radius)
        pairs_i += [si[a], si[d]]
        pairs_j += [di[b], di[c]]
    if not pairs_i:
        return _no_arcs()
    pairs = np.unique(np.column_stack([np.concatenate(pairs_i), np.concatenate(pairs_j)]), axis=0)
    pairs = pairs[_distinct_owner(src, dst, pairs[:, 0], pairs[:, 1])]
    gc = great_circle_km(src["lat"].to_numpy()[pairs[:, 0]], src["lon"].to_numpy()[pairs[:, 0]],
                         dst["lat"].to_numpy()[pairs[:, 1]], dst["lon"].to_numpy()[pairs[:, 1]])
    same = np.zeros(len(pairs), dtype=bool)
    if onsite:
        same = src["site"].to_numpy()[pairs[:, 0]] == dst["site"].to_numpy()[pairs[:, 1]]
    frames = []
    for mode, on in [(m, ~same) for m in direct] + [(m, same) for m in onsite or []]:
        if not on.any():
            continue
        d1 = gc[on] * modes.at[mode, "circuity"]
        frames.append(_frame(pairs[on, 0], pairs[on, 1], src["material"].to_numpy()[pairs[on, 0]],
                             "direct", mode, d1, modes.at[mode, "cost_fixed"]
                             + modes.at[mode, "cost_per_tkm"] * d1,
                             modes.at[mode, "co2_per_tkm"] * d1))
    return pd.concat(frames, ignore_index=True) if frames else _no_arcs()


def _distinct_owner(src: pd.DataFrame, dst: pd.DataFrame, i: np.ndarray, j: np.ndarray
                    ) -> np.ndarray:
    so, do = src["owner"].to_numpy()[i], dst["owner"].to_numpy()[j]
    return (so == "") | (so != do)


def _frame(i, j, material, kind, mode, d1, c1, e1, lane1=-1) -> pd.DataFrame:
    n = len(i)
    zeros = np.zeros(n)
    return pd.DataFrame({
        "src": i, "dst": j, "material": material, "kind": kind, "mode": mode, "rail_mode": "",
        "t_from": -1, "t_to": -1, "d1": d1, "d2": zeros, "d3": zeros,
        "c1": np.broadcast_to(c1, n).astype(float), "c2": zeros, "c3": zeros,
        "e1": np.broadcast_to(e1, n).astype(float), "e2": zeros, "e3": zeros,
        "lane1": lane1, "lane2": -1,
    })


def _lane_arcs(src: pd.DataFrame, dst: pd.DataFrame, modes: pd.DataFrame, lanes: pd.DataFrame
               ) -> pd.DataFrame:
    """Arcs named by lanes: every material with a source at from_site and a sink at to_site."""
    if lanes.empty:
        return _no_arcs()
    s = src.reset_index(names="src")[["src", "site", "material", "owner", "lat", "lon"]]
    d = dst.reset_index(names="dst")[["dst", "site", "material", "owner", "lat", "lon"]]
    ln = lanes.reset_index(names="lane")
    m = ln.merge(s, left_on="from_site", right_on="site").merge(
        d, left_on=["to_site", "material"], right_on=["site", "material"], suffixes=("_s", "_d"))
    m = m[(m["owner_s"] == "") | (m["owner_s"] != m["owner_d"])]
    if m.empty:
        return _no_arcs()
    circ = modes.loc[m["mode"], "circuity"].to_numpy()
    d1 = m["distance_km"].fillna(pd.Series(
        great_circle_km(m["lat_s"], m["lon_s"], m["lat_d"], m["lon_d"]) * circ, index=m.index))
    mode_cost = (modes.loc[m["mode"], "cost_fixed"].to_numpy()
                 + modes.loc[m["mode"], "cost_per_tkm"].to_numpy() * d1)
    c1 = m["cost_per_t"].fillna(mode_cost)
    e1 = m["co2_per_t"].fillna(modes.loc[m["mode"], "co2_per_tkm"].to_numpy() * d1)
    return _frame(m["src"].to_numpy(), m["dst"].to_numpy(), m["material"].to_numpy(), "direct",
                  m["mode"].to_numpy(), d1.to_numpy(), c1.to_numpy(), e1.to_numpy(),
                  m["lane"].to_numpy())


def _intermodal(src: pd.DataFrame, dst: pd.DataFrame, term: pd.DataFrame, handling: np.ndarray,
                modes: pd.DataFrame, road: list[str], rail: list[str], rail_lanes: pd.DataFrame,
                options: NetworkOptions) -> pd.DataFrame:
    txyz = unit_xyz(term["lat"], term["lon"])
    ti, ta = _knn(unit_xyz(src["lat"], src["lon"]), txyz, options.k_terminals,
                  options.terminal_radius_km)
    tj, tb = _knn(unit_xyz(dst["lat"], dst["lon"]), txyz, options.k_terminals,
                  options.terminal_radius_km)
    if len(ti) == 0 or len(tj) == 0:
        return _no_arcs()
    first_gc = great_circle_km(src["lat"].to_numpy()[ti], src["lon"].to_numpy()[ti],
                               term["lat"].to_numpy()[ta], term["lon"].to_numpy()[ta])
    last_gc = great_circle_km(dst["lat"].to_numpy()[tj], dst["lon"].to_numpy()[tj],
                              term["lat"].to_numpy()[tb], term["lon"].to_numpy()[tb])
    tlat, tlon = term["lat"].to_numpy(), term["lon"].to_numpy()
    rail_gc = great_circle_km(tlat[:, None], tlon[:, None], tlat[None, :], tlon[None, :])
    legs = {q: _rail_leg(q, rail_gc, handling, modes, term, rail_lanes) for q in rail}
    ref_road = min(road, key=lambda r: modes.at[r, "cost_per_tkm"])
    rr = modes.loc[ref_road]
    ref_rail = legs[rail[0]]
    usable = (rail_gc >= options.min_rail_km) & ~np.eye(len(term), dtype=bool)
    ref = np.where(usable, ref_rail["cost"], np.inf)
    first = pd.DataFrame({"src": ti, "a": ta, "gc1": first_gc,
                          "cost": rr["cost_fixed"] + rr["cost_per_tkm"] * first_gc * rr["circuity"],
                          "material": src["material"].to_numpy()[ti]})
    last = pd.DataFrame({"dst": tj, "b": tb, "gc3": last_gc,
                         "cost": rr["cost_fixed"] + rr["cost_per_tkm"] * last_gc * rr["circuity"],
                         "material": dst["material"].to_numpy()[tj]})
    routes = []
    last_by_mat = last.groupby("material")
    for mat, f in first.groupby("material"):
        if mat not in last_by_mat.groups:
            continue
        lm = last_by_mat.get_group(mat)
        routes.append(_best(f, lm, ref, options.k_rail, forward=True))
        routes.append(_best(f, lm, ref, options.k_rail, forward=False))
    if not routes:
        return _no_arcs()
    r = pd.concat(routes, ignore_index=True).drop_duplicates(["src", "a", "b", "dst"])
    r = r[_distinct_owner(src, dst, r["src"].to_numpy(), r["dst"].to_numpy())
          & (src["site"].to_numpy()[r["src"]] != dst["site"].to_numpy()[r["dst"]])]
    r = r.merge(first[["src", "a", "gc1"]], on=["src", "a"]).merge(
        last[["dst", "b", "gc3"]], on=["dst", "b"])
    frames = []
    a, b = r["a"].to_numpy(), r["b"].to_numpy()
    for q in rail:
        leg = legs[q]
        for mode in road:
            mm = modes.loc[mode]
            d1 = r["gc1"].to_numpy() * mm["circuity"]
            d3 = r["gc3"].to_numpy() * mm["circuity"]
            n = len(r)
            frames.append(pd.DataFrame({
                "src": r["src"].to_numpy(), "dst": r["dst"].to_numpy(),
                "material": src["material"].to_numpy()[r["src"]], "kind": "intermodal",
                "mode": mode, "rail_mode": q, "t_from": a, "t_to": b,
                "d1": d1, "d2": leg["km"][a, b], "d3": d3,
                "c1": mm["cost_fixed"] + mm["cost_per_tkm"] * d1, "c2": leg["cost"][a, b],
                "c3": mm["cost_fixed"] + mm["cost_per_tkm"] * d3,
                "e1": mm["co2_per_tkm"] * d1, "e2": leg["co2"][a, b], "e3": mm["co2_per_tkm"] * d3,
                "lane1": np.full(n, -1), "lane2": leg["lane"][a, b],
            }))
    return pd.concat(frames, ignore_index=True)


def _rail_leg(q: str, rail_gc: np.ndarray, handling: np.ndarray, modes: pd.DataFrame,
              term: pd.DataFrame, lanes: pd.DataFrame) -> dict[str, np.ndarray]:
    """Terminal × terminal matrices of one rail mode: km, yuan/t (incl. handling at both ends),
    kg CO2/t and the lane (or -1)."""
    mm = modes.loc[q]
    km = rail_gc * mm["circuity"]
    line = mm["cost_fixed"] + mm["cost_per_tkm"] * km
    co2 = mm["co2_per_tkm"] * km
    lane = np.full(km.shape, -1, dtype=np.int64)
    pos = {s: i for i, s in enumerate(term["site"])}
    for idx, ln in lanes[lanes["mode"] == q].iterrows():  # lanes are few: one row each
        a, b = pos[ln["from_site"]], pos[ln["to_site"]]
        if pd.notna(ln["distance_km"]):
            km[a, b] = ln["distance_km"]
            line[a, b] = mm["cost_fixed"] + mm["cost_per_tkm"] * km[a, b]
            co2[a, b] = mm["co2_per_tkm"] * km[a, b]
        if pd.notna(ln["cost_per_t"]):
            line[a, b] = ln["cost_per_t"]
        if pd.notna(ln["co2_per_t"]):
            co2[a, b] = ln["co2_per_t"]
        lane[a, b] = idx
    return {"km": km, "cost": line + handling[:, None] + handling[None, :], "co2": co2,
            "lane": lane}


def _best(first: pd.DataFrame, last: pd.DataFrame, ref: np.ndarray, k: int, forward: bool
          ) -> pd.DataFrame:
    """Forward: for each departure terminal, its k cheapest (arrival terminal, sink) continuations,
    joined to every source reaching that terminal. Backward: the mirror image."""
    if forward:
        keys = np.unique(first["a"].to_numpy())
        cost = ref[keys][:, last["b"].to_numpy()] + last["cost"].to_numpy()[None, :]
    else:
        keys = np.unique(last["b"].to_numpy())
        cost = ref[:, keys][first["a"].to_numpy()].T + first["cost"].to_numpy()[None, :]
    kk = min(k, cost.shape[1])
    top = np.argpartition(cost, kk - 1, axis=1)[:, :kk] if kk < cost.shape[1] else np.tile(
        np.arange(cost.shape[1]), (len(keys), 1))
    ok = np.isfinite(np.take_along_axis(cost, top, axis=1))
    key = np.broadcast_to(keys[:, None], top.shape)[ok]
    pick = top[ok]
    if forward:
        cont = pd.DataFrame({"a": key, "b": last["b"].to_numpy()[pick],
                             "dst": last["dst"].to_numpy()[pick]})
        return first[["src", "a"]].merge(cont, on="a")
    feed = pd.DataFrame({"b": key, "a": first["a"].to_numpy()[pick],
                         "src": first["src"].to_numpy()[pick]})
    return last[["dst", "b"]].merge(feed, on="b")
