"""The planning LP/MILP in linopy, vectorised over flat node and arc dimensions.

Every balance is a sum of flows over an incidence array (the PyPSA pattern), merged with the
node's own terms and assembled from the arcs' integer node codes (:func:`_add_rows`); no Python
object per element. Dimensions: ``year`` (y), ``arc`` (a),
``sup`` (supply nodes s), ``fac`` (facilities f), ``fin`` / ``fout`` (facility input / output
ports), ``dem`` (demand nodes d), ``term`` (rail terminals), ``lane``.

:func:`build` adds the variables (:func:`define_variables`), then one ``define_*`` function per
constraint family, each with the rows it adds written out in its docstring:

- :func:`define_balances`: mass balance of supply, facility input and output, demand nodes;
- :func:`define_capacity_and_siting`: capacity with expansion and build decisions, linking,
  minimum load;
- :func:`define_shared_capacities`: host plant limits, terminal and lane throughput;
- :func:`define_policy`: corridor rail and new-energy road shares, CO2 cap;
- :func:`define_targets`: indicator targets (hard, soft, or elastic when diagnosing);
- :func:`define_objective`: a blend of total cost (yuan), CO2 (kg) and utilization (t).

Row and variable names are the constants of :mod:`resynergy.planner.names`;
``Built.rows[family]`` lists the rows of each family that a scenario has.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import linopy
import numpy as np
import pandas as pd
import xarray as xr
from linopy import CSRConstraint
from linopy.constants import TERM_DIM
from linopy.csr import Grid, coo_to_csr
from numpy.typing import ArrayLike

from resynergy.planner import names as N
from resynergy.planner.actuals import constrain as define_actuals
from resynergy.planner.data import HOST_ELEMENTS, ModelData
from resynergy.planner.names import ELASTIC_PENALTY

linopy.options["semantics"] = "v1"


def _no_dask_probe() -> None:
    """Spare every plan xarray's import of dask (0.3–1.8 s, installed for sweeps).

    xarray's first ``DataArray`` asks whether its data is a dask array by importing dask. The
    planner never hands xarray a dask array, and none can exist while dask is not imported, so
    xarray's cache of duck-array modules is told that dask is absent. When dask is already
    imported (a Dask worker) or xarray's internals differ, nothing is changed."""
    if "dask" in sys.modules:
        return
    try:
        from packaging.version import Version
        from xarray.namedarray import pycompat
    except ImportError:  # pragma: no cover - another xarray layout: keep its behaviour
        return
    cache = getattr(pycompat, "_cached_duck_array_modules", None)
    if not isinstance(cache, dict) or "dask" in cache:
        return
    absent = object.__new__(pycompat.DuckArrayModule)
    absent.module, absent.version, absent.type, absent.available = None, Version("0.0.0"), (), False
    cache["dask"] = absent


_no_dask_probe()

__all__ = ["ELASTIC_PENALTY", "Built", "build", "objective_coefficients"]


@dataclass
class Built:
    """A linopy model and what the results code needs to read it back: ``rows`` maps each family
    of :data:`resynergy.planner.names.FAMILIES` to the names of the constraints it added."""

    model: linopy.Model
    data: ModelData
    has_binaries: bool
    rows: dict[str, list[str]] = field(default_factory=dict)
    elastic: bool = False  # every hard requirement lifted at a penalty (objective_coefficients)


@dataclass
class Decisions:
    """The model's variables, and what the families derive from them.

    ``open_`` (y, f) is the cumulative build Σ_{y' ≤ y} build[y', f] (a constant when builds are
    fixed), ``cum_exp`` the cumulative expansion. The penalties of soft and elastic rows'
    slacks are objective coefficients (:func:`objective_coefficients`)."""

    year: pd.Index
    x: Any
    act: Any
    disp: Any
    draw: Any
    unmet: Any
    shortage: Any
    market: Any
    exp: Any
    cum_exp: Any
    build: Any
    open_: Any
    candidate: np.ndarray
    elastic: bool
    fixed_build: np.ndarray | None


def _idx(name: str, n: int) -> pd.RangeIndex:
    return pd.RangeIndex(n, name=name)


def _da(values: ArrayLike, *coords: pd.Index) -> xr.DataArray:
    return xr.DataArray(np.asarray(values, dtype=float), coords=list(coords))


Terms = tuple[np.ndarray, np.ndarray, Any]
"""Terms of rows over a (year, node) grid: variable labels (years × k), the node of each of the k
columns, and their coefficients (broadcast to years × k)."""


def _labels(var: Any) -> np.ndarray:
    """The labels of a (year, …) variable, as linopy numbers its entries."""
    return np.asarray(var.labels.values)


def _each(var: Any, coef: Any = 1.0) -> Terms:
    """coef·var[y, n] in row (y, n): a variable over the rows' own node dimension."""
    labels = _labels(var)
    return labels, np.arange(labels.shape[1]), coef


def _picked(labels: np.ndarray, which: np.ndarray, coef: Any) -> Terms:
    """coef[n]·var[y, which[n]] in row (y, n), e.g. a port's facility's activity."""
    return labels[:, which], np.arange(len(which)), coef


def _summed(labels: np.ndarray, node: np.ndarray, coef: Any = 1.0) -> Terms:
    """Σ_{k: node[k] = n} coef[k]·var[y, k] in row (y, n), e.g. the flows on the arcs out of a
    node; columns with node −1 are in no row."""
    on = np.flatnonzero(node >= 0)
    return labels[:, on], node[on], coef if np.ndim(coef) == 0 else np.asarray(coef)[on]


def _add_rows(m: linopy.Model, family: list[str], name: str, year: pd.Index, node: pd.Index,
              terms: list[Terms], sign: str, rhs: ArrayLike, *, year_last: bool = False,
              node_coords: Mapping[str, np.ndarray] | None = None) -> None:
    """Rows Σ_terms coef·var (sign) rhs[y, n] over the grid (year, node) — (node, year) when
    ``year_last``, with ``node_coords`` as further coordinates along ``node`` — added to ``m``
    as the frozen CSR constraint linopy's group-by sums give in a sparse model: duplicate
    variables summed, terms in label order, rows labelled in grid order, rows without terms
    dropped. Assembled from the terms' integer positions with numpy and scipy alone."""
    ny, nn = len(year), len(node)
    if any(np.min(lab, initial=0) < 0 for lab, _, _ in terms):
        raise ValueError(f"{name}: a term refers to a masked variable")
    y = np.arange(ny, dtype=np.int64)[:, None]
    rows = np.concatenate([(at[None, :] * ny + y if year_last else y * nn + at[None, :]).ravel()
                           for _, at, _ in terms])
    cols = np.concatenate([lab.ravel() for lab, _, _ in terms])
    vals = np.concatenate([np.broadcast_to(np.asarray(coef, dtype=float), lab.shape).ravel()
                           for lab, _, coef in terms])
    csr = coo_to_csr(vals, rows, cols, (ny * nn, m.shape[1]), m)
    b = np.broadcast_to(np.asarray(rhs, dtype=float), (ny, nn))
    b = (b.T if year_last else b).ravel().copy()
    if np.isnan(b).any():
        raise ValueError(f"{name}: the right-hand side has missing values")
    dims = {str(node.name): node, "year": year} if year_last else {"year": year,
                                                                   str(node.name): node}
    grid = Grid(dims, {k: (str(node.name), np.asarray(c)) for k, c in (node_coords or {}).items()})
    _add(m, family, CSRConstraint(csr, np.arange(ny * nn), b, sign, grid, m), name=name)


def _mask(on: np.ndarray, *coords: pd.Index) -> xr.DataArray:
    return xr.DataArray(np.broadcast_to(on, tuple(len(c) for c in coords)), coords=list(coords))


def build(data: ModelData, weights: dict[str, float], *, elastic: bool = False,
          linking: str = "disaggregated", fixed_build: np.ndarray | None = None,
          fixed_expanded: np.ndarray | None = None) -> Built:
    """The model of ``data``. ``fixed_build`` (years × facilities, 0/1) fixes the build decisions
    and ``fixed_expanded`` (years × facilities, 0/1: expanded by then) the expansion switches
    (a MILP's plan as an LP); ``elastic`` lifts every hard requirement at a penalty."""
    m = linopy.Model(sparse=True)
    rows: dict[str, list[str]] = {f: [] for f in N.FAMILIES}
    v = define_variables(m, data, rows, elastic=elastic, fixed_build=fixed_build)
    define_balances(m, data, v, rows[N.BALANCES])
    has_bin = define_capacity_and_siting(
        m, data, v, rows[N.SITING], linking=linking,
        fixed_expanded=fixed_expanded if fixed_build is not None else None)
    define_shared_capacities(m, data, v, rows[N.SHARED])
    define_policy(m, data, v, rows[N.POLICY])
    define_targets(m, data, v, rows[N.TARGETS])
    define_actuals(m, data, v.x, rows[N.BALANCES])  # past years fixed to recorded flows
    define_objective(m, data, v, weights)
    return Built(model=m, data=data, has_binaries=has_bin or v.build is not None, rows=rows,
                 elastic=elastic)


def _add(m: linopy.Model, family: list[str], *args: Any, **kwargs: Any) -> None:
    """``m.add_constraints``, recording the row's name in its family."""
    m.add_constraints(*args, **kwargs)
    family.append(kwargs["name"])


def define_variables(m: linopy.Model, d: ModelData, rows: dict[str, list[str]], *,
                     elastic: bool, fixed_build: np.ndarray | None) -> Decisions:
    """The decisions, all ≥ 0, per year y:

    - flow[y, a] (t on arc a); activity[y, f] (t of input processed by facility f);
    - disposal[y, s] ≤ (0 if must-use and not elastic else ∞); stock_draw[y, s] ≤ draw_max;
    - unmet[y, d] (bought as the virgin alternative) ≤ (0 if must-meet and not elastic);
      shortage[y, d] (met by nothing; only where a virgin-supply pool caps purchases);
    - market[y, o] (products with no sink leaving the network; 0 on other output ports);
    - expansion[y, f] ≤ (∞ where the facility has headroom, else 0);
    - build[y, f] ∈ {0, 1} ≤ buildable[y, f] (candidates), unless ``fixed_build`` fixes them.

    And two rows that only bound one decision over the years:

        stock_left: Σ_{y' ≤ y} stock_draw[y', s] ≤ stock0[s]  (several years, stock to draw);
        build_once: Σ_y build[y, f] ≤ 1  (several years, candidates).

    Variables that exist only for some nodes are bounded to 0 elsewhere rather than masked:
    under linopy's v1 semantics a masked (absent) term blanks the whole row it is added to."""
    year = pd.Index(d.years, name="year")
    S, F, D = len(d.supply.table), len(d.facility.table), len(d.demand.table)
    arc, sup, fac, dem = _idx("arc", len(d.net.arcs)), _idx("sup", S), _idx("fac", F), _idx("dem", D)
    fout = _idx("fout", len(d.facility.fout))
    yy = len(year)
    x = m.add_variables(lower=0, coords=[year, arc], name=N.FLOW)
    act = m.add_variables(lower=0, coords=[year, fac], name=N.ACTIVITY)
    disp = m.add_variables(
        lower=0, upper=_da(np.where(d.supply.must_use & ~elastic, 0, np.inf), year, sup),
        name=N.DISPOSAL)
    draw = m.add_variables(lower=0, upper=_da(d.supply.draw_max, year, sup), name=N.STOCK_DRAW)
    if yy > 1 and (d.supply.draw_max > 0).any():
        _add(m, rows[N.BALANCES], draw.cumsum("year") <= _da(d.supply.stock0, sup), name=N.STOCK_LEFT,
             mask=_mask(d.supply.draw_max.sum(0) > 0, year, sup))
    unmet = m.add_variables(
        lower=0, upper=_da(np.where(d.demand.must_meet & ~elastic, 0, np.inf), year, dem),
        name=N.UNMET)
    shortage = _shortage_variables(m, d, elastic, year, dem) if D else None
    market = None
    if d.facility.fout["market"].any():
        open_market = np.where(d.facility.fout["market"], np.inf, 0.0)[None, :].repeat(yy, 0)
        market = m.add_variables(lower=0, upper=_da(open_market, year, fout), name=N.MARKET)
    can_expand = d.facility.headroom > 0
    exp = cum_exp = None
    if can_expand.any():
        exp = m.add_variables(lower=0, upper=_da(np.where(can_expand, np.inf, 0.0)[None, :]
                                                 .repeat(yy, 0), year, fac), name=N.EXPANSION)
        cum_exp = exp.cumsum("year")
    candidate = np.asarray(d.facility.buildable.any(axis=0), dtype=bool)
    build_var: Any = None
    open_: Any = None
    if fixed_build is not None:
        open_ = _da(np.cumsum(fixed_build, axis=0) * candidate, year, fac)
    elif candidate.any():
        build_var = m.add_variables(lower=0, upper=_da(d.facility.buildable, year, fac), integer=True,
                                    name=N.BUILD)
        open_ = build_var.cumsum("year")
        if yy > 1:
            _add(m, rows[N.SITING], build_var.sum("year") <= 1, name=N.BUILD_ONCE,
                 mask=xr.DataArray(candidate, coords=[fac]))
    return Decisions(year=year, x=x, act=act, disp=disp, draw=draw, unmet=unmet,
                     shortage=shortage, market=market, exp=exp, cum_exp=cum_exp, build=build_var,
                     open_=open_, candidate=candidate, elastic=elastic, fixed_build=fixed_build)


def define_balances(m: linopy.Model, d: ModelData, v: Decisions, rows: list[str]) -> None:
    """Mass balance of every node, per year y:

        supply_balance[y, s]:  Σ_{a from s} flow[y, a] + disposal[y, s] − stock_draw[y, s] = gen[y, s]
        output_balance[y, o]:  Σ_{a from o} flow[y, a] + market[y, o] − rate[o]·activity[y, f(o)] = 0
        input_balance[y, i]:   Σ_{a into i} flow[y, a] − rate[i]·activity[y, f(i)] = 0
        demand_balance[y, d]:  Σ_{a into d} flow[y, a] + unmet[y, d] + shortage[y, d] = qty[y, d]
        virgin_supply[y, p]:   Σ_{d in pool p} unmet[y, d] ≤ virgin capacity[y, p]  (finite pools)

    The flow sums are assembled from the arcs' integer node codes (:func:`_add_rows`), not by
    linopy group-bys: the rows are the same, built without pandas and xarray per node."""
    year, flow = v.year, _labels(v.x)
    sup = _idx("sup", len(d.supply.table))
    fin, fout = _idx("fin", len(d.facility.fin)), _idx("fout", len(d.facility.fout))
    act = _labels(v.act)
    _add_rows(m, rows, N.SUPPLY_BALANCE, year, sup,
              [_summed(flow, d.arc.from_sup), _each(v.disp), _each(v.draw, -1.0)],
              linopy.EQUAL, d.supply.gen)
    if len(fout):
        fac = d.facility.fout["fac"].to_numpy()
        made = [_summed(flow, d.arc.from_fout),
                _picked(act, fac, -d.facility.fout["rate"].to_numpy(dtype=float))]
        if v.market is not None:
            made.append(_each(v.market))
        # port rows (port, year) with the port's facility, as linopy's group-bys laid them out
        _add_rows(m, rows, N.OUTPUT_BALANCE, year, fout, made, linopy.EQUAL, 0.0,
                  year_last=True, node_coords={"fac": fac})
    if len(fin):
        fac = d.facility.fin["fac"].to_numpy()
        used = [_summed(flow, d.arc.to_fin),
                _picked(act, fac, -d.facility.fin["rate"].to_numpy(dtype=float))]
        _add_rows(m, rows, N.INPUT_BALANCE, year, fin, used, linopy.EQUAL, 0.0,
                  year_last=True, node_coords={"fac": fac})
    if len(d.demand.table):
        dem = _idx("dem", len(d.demand.table))
        met = [_summed(flow, d.arc.to_dem), _each(v.unmet)]
        if v.shortage is not None:
            met.append(_each(v.shortage))
        _add_rows(m, rows, N.DEMAND_BALANCE, year, dem, met, linopy.EQUAL, d.demand.qty)
        _virgin_supply_limits(m, d, v.unmet, year, rows)


def define_capacity_and_siting(m: linopy.Model, d: ModelData, v: Decisions, rows: list[str], *,
                               linking: str, fixed_expanded: np.ndarray | None) -> bool:
    """Facility capacity, expansion, siting and minimum load, per year y and facility f, with
    open[y, f] = Σ_{y' ≤ y} build[y', f] and cum_exp[y, f] = Σ_{y' ≤ y} expansion[y', f]:

        capacity:         activity − cum_exp − cap_c·open ≤ cap0·avail
                          (linking 'bigm': activity − cum_exp ≤ cap0·avail + cap_c·buildable and
                          open_bigm: activity − M·open ≤ 0 for candidates)
        expansion_limit:  cum_exp − headroom·open ≤ headroom·avail  (facilities that can expand;
                          a candidate's headroom only once built)
        candidate_link:   flow[y, a] − U[y, a]·open[y, f(a)] ≤ 0 for arcs into candidates, U the least
                          of what the facility can take of the material, the arc's lane and its source
                          (the strong facility-location formulation)
        expansion_switch: cum_exp − headroom·expanded ≤ 0 for existing facilities that can grow
                          and have a minimum load (expanded[y, f] ∈ {0, 1}: expanded by year y)
        min_load:         activity − min_load·(cap_c·open + cum_exp) − cap0·avail·expanded ≥ 0
                          (new capacity runs at its minimum load; an expanded existing facility runs
                          its existing capacity first)

    Returns whether binaries other than ``build`` were added (the expansion switches)."""
    year, act, open_, cum_exp = v.year, v.act, v.open_, v.cum_exp
    F, yy = len(d.facility.table), len(year)
    fac = _idx("fac", F)
    candidate, build_var = v.candidate, v.build
    cap_rhs = d.facility.cap0[None, :] * d.facility.avail
    exp_labels = _labels(m.variables[N.EXPANSION]) if cum_exp is not None else None
    build_labels = _labels(build_var) if build_var is not None else None
    fixed_open = np.asarray(open_.values) if isinstance(open_, xr.DataArray) else None
    lhs = [(_labels(act), np.ones((yy, F)))]
    const = np.zeros((yy, F))
    if exp_labels is not None:
        lhs += _upto(exp_labels, np.full((yy, F), -1.0))
    if open_ is not None:
        if linking == "bigm" and build_var is not None:
            cap_rhs = cap_rhs + d.facility.cap_c[None, :] * d.facility.buildable
            big_m = float(d.supply.gen.sum(axis=1).max() + d.supply.draw_max.sum(axis=1).max()
                          + 1.0)
            _add(m, rows, act - big_m * open_ <= 0, name=N.OPEN_BIGM,
                 mask=_mask(candidate, year, fac))
        elif build_labels is not None:
            lhs += _upto(build_labels, np.broadcast_to(-d.facility.cap_c, (yy, F)))
        else:  # builds fixed: their capacity is a constant
            const = const - fixed_open * d.facility.cap_c
    _add(m, rows, _grid_sum(m, [year, fac], lhs, const) <= _da(cap_rhs, year, fac),
         name=N.CAPACITY)
    can_expand = d.facility.headroom > 0
    if exp_labels is not None:
        head = _upto(exp_labels, np.ones((yy, F)))
        const = np.zeros((yy, F))
        per_open = np.where(candidate, d.facility.headroom, 0.0)
        if build_labels is not None:
            head += _upto(build_labels, np.broadcast_to(-per_open, (yy, F)))
        elif fixed_open is not None:
            const = const - fixed_open * per_open
        _add(m, rows, _grid_sum(m, [year, fac], head, const)
             <= _da(d.facility.headroom[None, :] * d.facility.avail, year, fac),
             name=N.EXPANSION_LIMIT, mask=_mask(can_expand, year, fac))
    if open_ is not None and linking == "disaggregated" and build_labels is not None:
        into, f_of, bound = link_bounds(d, candidate, yy)
        if len(into):
            # rows (arc, year), the arc's facility a coordinate, as linopy's selection gave them
            link = [(_labels(v.x)[:, into], np.ones((yy, len(into))))]
            link += _upto(build_labels[:, f_of], -bound)
            ai = pd.Index(into, name="arc")
            _add(m, rows, _grid_sum(m, [year, ai], link, year_last=True,
                                    node_coords={"fac": f_of}) <= 0, name=N.CANDIDATE_LINK)
    return _min_load(m, d, act, open_, cum_exp, year, fac, fixed_expanded, rows)


def link_bounds(d: ModelData, candidate: np.ndarray, years: int) -> tuple[
        np.ndarray, np.ndarray, np.ndarray]:
    """The arcs into candidate facilities, their facility, and U[y, a]: the least of what the
    facility can take of the arc's material, the arc's lane capacity and what its source can
    send (the bound of candidate_link)."""
    into = np.flatnonzero((d.arc.fac_in >= 0) & candidate[np.maximum(d.arc.fac_in, 0)])
    f_of = d.arc.fac_in[into]
    rate = d.facility.fin["rate"].to_numpy()[d.arc.to_fin[into]]
    most = rate * (d.facility.cap_c + d.facility.headroom)[f_of]
    bound = np.broadcast_to(most, (years, len(into))).copy()
    lane = d.net.arcs["lane1"].to_numpy()[into]
    if len(d.arc.lane_cap):
        bound = np.minimum(bound, np.where(lane >= 0, d.arc.lane_cap[np.maximum(lane, 0)], np.inf))
    src = d.arc.from_sup[into]
    sent = d.supply.gen + d.supply.draw_max  # (Y, S): most a supply node can ship
    bound = np.where(src >= 0, np.minimum(bound, sent[:, np.maximum(src, 0)]), bound)
    return into, f_of, bound


def define_shared_capacities(m: linopy.Model, d: ModelData, v: Decisions,
                             rows: list[str]) -> None:
    """Capacities that flows and facilities share, per year y:

        host_share[y, h]:   Σ_{lines l on host h} activity[y, l] ÷ max_host_share ≤ host output
                            (co-processed waste per t of kiln clinker; scrap per t of converter crude
                            steel, i.e. the scrap ratio of the metallic charge)
        host_<element>[y, h]: Σ_l activity[y, l]·content_l ≤ limit_h·host output (the kiln
                            co-processing norms for chlorine, sulphur, alkali); physical limits, so
                            never relaxed when diagnosing
        terminal_capacity[y, t]: Σ_{arcs through terminal t} flow ≤ terminal capacity
        lane_capacity[y, l]:     Σ_{arcs on lane l} flow ≤ lane capacity  (finite capacities only)
    """
    _host_limits(m, d, v.act, rows)
    a, flow = d.net.arcs, _labels(v.x)
    for name, row, cap, legs in (("terminal", N.TERMINAL_CAPACITY, d.arc.terminal_cap,
                                  ("t_from", "t_to")),
                                 ("lane", N.LANE_CAPACITY, d.arc.lane_cap, ("lane1", "lane2"))):
        if not len(cap):
            continue
        ends = [a[col].to_numpy() for col in legs]
        finite = np.append(np.isfinite(cap), False)  # position −1: no terminal (lane)
        ends = [np.where(finite[e], e, -1) for e in ends]
        passed = np.zeros(len(cap) + 1, dtype=bool)
        for e in ends:
            passed[e] = True
        used = np.flatnonzero(passed[:-1])  # the terminals (lanes) some arc passes, finite ones
        if len(used):
            code = np.full(len(cap) + 1, -1)
            code[used] = np.arange(len(used))
            _add_rows(m, rows, row, v.year, pd.Index(used, name=name),
                      [_summed(flow, code[e]) for e in ends], linopy.LESS_EQUAL, cap[used])


def _host_limits(m: linopy.Model, d: ModelData, act: Any, rows: list[str]) -> None:
    """The host rows of :func:`define_shared_capacities` (greedy.py keeps the same limits)."""
    h = d.host_limits
    if h is None:
        return
    lines = _labels(act)[:, h.fac]  # activity of each hosted line
    out = h.hosts["output_t"].to_numpy(dtype=float)
    terms = [(N.HOST_SHARE, h.per_t, np.ones(len(h.hosts)))]
    terms += [(N.host_limit(content), h.load[:, e], h.limit[:, e])
              for e, (content, _) in enumerate(HOST_ELEMENTS)]
    year = pd.Index(d.years, name="year")
    for name, coef, per_host in terms:
        on = (coef > 0) & np.isfinite(per_host[h.group])
        if not on.any():
            continue
        used = np.unique(h.group[on])  # hosts with a line under this limit
        code = np.where(on, np.searchsorted(used, h.group), -1)  # few hosts: np.unique is cheap
        _add_rows(m, rows, name, year, pd.Index(used, name="host"),
                  [_summed(lines, code, coef)], linopy.LESS_EQUAL, per_host[used] * out[used])


def define_policy(m: linopy.Model, d: ModelData, v: Decisions, rows: list[str]) -> None:
    """Policy rows, per year y (elastic: each with a penalised slack ≥ 0 on its left side):

        corridor_<i>[y]:     Σ_{a in corridor i} flow[y, a]·(rail[a] − min_rail_share_i) ≥ 0
        corridor_nev_<i>[y]: Σ_{road arcs a in i} flow[y, a]·road_km[a]·(nev[a] − min_nev_share_i) ≥ 0
        co2_cap[y]:          Σ_a co2[a]·flow[y, a] + Σ_f co2_proc[f]·activity[y, f] ≤ co2 cap (kg)
    """
    year, flow = v.year, _labels(v.x)
    for i, mask in enumerate(d.corridors.arcs):
        idx = np.flatnonzero(mask)
        if not len(idx):
            continue
        share = float(d.corridors.table["min_rail_share"].iloc[i])
        expr = _terms(m, flow[:, idx], d.arc.rail[idx] - share, year)
        if v.elastic:
            s = m.add_variables(lower=0, coords=[year], name=N.corridor_slack(i))
            expr = expr + s
        _add(m, rows, expr >= 0, name=N.corridor(i))
    _corridor_nev_shares(m, d, v, rows)
    if np.isfinite(d.co2_cap_kg):
        lhs = _emitted(d, v)
        if v.elastic:
            s = m.add_variables(lower=0, coords=[year], name=N.CO2_SLACK)
            lhs = lhs - s
        _add(m, rows, lhs <= d.co2_cap_kg, name=N.CO2_CAP)


def _emitted(d: ModelData, v: Decisions) -> Any:
    """kg CO2 per year: transport and processes."""
    fac = _idx("fac", len(d.facility.table))
    return ((v.x * _da(d.net.co2, _idx("arc", len(d.net.arcs)))).sum("arc")
            + (v.act * _da(d.facility.co2_proc, fac)).sum("fac"))


def define_targets(m: linopy.Model, d: ModelData, v: Decisions, rows: list[str]) -> None:
    """One row per modelled target i (row i of ``d.targets.table``), for its year y:

        target_<i>:  sense_i·(value_i(y) + sense_i·slack_i) ≥ sense_i·target_i

    where sense_i is +1 for a floor and −1 for a ceiling (the indicator's ``better``), and
    value_i, by the indicator's basis (:mod:`resynergy.indicators.definitions`), is

          facility_input:    Σ_{a in scope} flow[y, a]  (t entering facilities of the scope)
          facility_capacity: Σ_f w_if·(cap0·avail + cum_exp[y] + cap_c·open[y])
          capacity_added:    given_i + Σ_{y' ≤ y} Σ_f w_if·(expansion[y'] + cap_c·build[y'])

    with w_if the t of counted capacity per t of facility f's input capacity (0 outside the
    target's scope) and given_i the capacity the scenario itself adds after the base year,
    whatever the plan decides. slack_i ≥ 0 exists only for soft targets (objective:
    penalty_i·slack_i) or when elastic (ELASTIC_PENALTY·slack_i). A target nothing in the plan
    can change adds no row."""
    if d.targets is None:
        return
    fac = _idx("fac", len(d.facility.table))
    open_, build_var = v.open_, v.build
    fixed_build, flow = v.fixed_build, _labels(v.x)
    exp_labels = _labels(v.exp) if v.exp is not None else None
    build_labels = _labels(build_var) if build_var is not None else None
    for i, t in d.targets.table.iterrows():
        y = int(t["year"])
        if t["basis"] == "facility_input":
            idx = np.flatnonzero(d.targets.arc_mask[i])
            expr = _terms(m, flow[d.years.index(y), idx], 1.0, y) if len(idx) else None
            const = 0.0
        else:
            w = d.targets.fac_weight[i]
            yi = d.years.index(y)
            # Σ_f over the years up to y (open and cum_exp, or what was added since the base year)
            labels, coeffs = [], []
            if exp_labels is not None:
                labels.append(exp_labels[:yi + 1])
                coeffs.append(np.broadcast_to(w, exp_labels[:yi + 1].shape))
            if build_labels is not None:
                labels.append(build_labels[:yi + 1])
                coeffs.append(np.broadcast_to(w * d.facility.cap_c, build_labels[:yi + 1].shape))
            if t["basis"] == "facility_capacity":
                const = float((w * d.facility.cap0 * d.facility.avail[yi]).sum())
                if open_ is not None and build_var is None:  # builds fixed: a constant
                    const += float((open_.sel(year=y) * _da(w * d.facility.cap_c, fac)).sum())
                at: int | None = y  # as .sel(year=y) leaves it: the year a scalar coordinate
            else:  # capacity_added: cumulative since the base year, up to year y
                const = float(t["given_t"])
                if build_var is None and fixed_build is not None:
                    const += float((w * d.facility.cap_c * fixed_build[:yi + 1] * v.candidate).sum())
                at = None
            expr = (_terms(m, np.concatenate([lab.ravel() for lab in labels]),
                           np.concatenate([c.ravel() for c in coeffs]), at) if labels else None)
        rhs = float(t["value_t"]) - const
        soft = t["kind"] == "soft"
        if soft or v.elastic:
            s = m.add_variables(lower=0, name=N.target_slack(int(i)))  # type: ignore[call-overload]
            expr = (1 * s if expr is None else expr + t["sense"] * s)
        if expr is None:
            continue  # nothing the plan decides counts; reported after the solve
        name = N.target(int(i))  # type: ignore[call-overload]
        _add(m, rows, expr >= rhs if t["sense"] > 0 else expr <= rhs, name=name)


def _terms(m: linopy.Model, labels: np.ndarray, coeffs: Any, year: pd.Index | int | None) -> Any:
    """Σ_k coeffs·var over the last axis of ``labels`` — per year when ``labels`` is (years × k),
    else for the one ``year`` (kept as a scalar coordinate, as ``.sel(year=…)`` keeps it; None:
    no coordinate, as a sum over several years leaves it): the
    expression linopy's ``(var.isel(…) * coef).sum(…)`` gives, one term per entry, built from
    linopy's own data layout (variable labels and coefficients along its term dimension)
    rather than by selecting from and multiplying (year, arc) arrays."""
    dims = ("year", TERM_DIM) if labels.ndim == 2 else (TERM_DIM,)
    coeffs = np.broadcast_to(np.asarray(coeffs, dtype=float), labels.shape)
    return linopy.LinearExpression(xr.Dataset(
        {"vars": (dims, labels), "coeffs": (dims, coeffs)},
        coords={} if year is None else {"year": year}), m)


def _upto(labels: np.ndarray, coeffs: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Σ_{y' ≤ y} coeffs[y]·var[y', n] (a cumulative sum such as open or cum_exp, with the row
    year's coefficient) as one (labels, coefficients) pair per lag y − y'; label −1 where y' < 0."""
    yy = labels.shape[0]
    out = []
    for lag in range(yy):
        lab = np.full(labels.shape, -1, dtype=labels.dtype)
        lab[lag:] = labels[:yy - lag]
        out.append((lab, np.broadcast_to(coeffs, labels.shape)))
    return out


def _grid_sum(m: linopy.Model, coords: list[pd.Index], terms: list[tuple[np.ndarray, Any]],
              const: np.ndarray | None = None, *, year_last: bool = False,
              node_coords: Mapping[str, np.ndarray] | None = None) -> Any:
    """Σ_terms coeffs·var + const over the grid (year, node) — (node, year) when ``year_last``,
    ``node_coords`` further coordinates along node — each term a (year × node) array of variable
    labels (−1: no term) and its coefficients: the expression linopy's arithmetic on (year, node)
    variables gives, built from linopy's own data layout (labels and coefficients along its term
    dimension)."""
    year, node = coords
    labels = np.stack([lab for lab, _ in terms], axis=-1)
    coeffs = np.stack([np.broadcast_to(np.asarray(c, dtype=float), lab.shape) for lab, c in terms],
                      axis=-1)
    const = np.zeros(labels.shape[:2]) if const is None else const
    dims: tuple[str, ...] = ("year", str(node.name))
    if year_last:
        labels, coeffs, const = labels.transpose(1, 0, 2), coeffs.transpose(1, 0, 2), const.T
        dims = dims[::-1]
    extra = {k: (str(node.name), np.asarray(c)) for k, c in (node_coords or {}).items()}
    return linopy.LinearExpression(xr.Dataset(
        {"vars": ((*dims, TERM_DIM), labels), "coeffs": ((*dims, TERM_DIM), coeffs),
         "const": (dims, const)}, coords={"year": year, str(node.name): node, **extra}), m)


def define_objective(m: linopy.Model, d: ModelData, v: Decisions,
                     weights: dict[str, float]) -> None:
    """The objective, a blend of cost, CO2 and utilization (sums over y and the nodes):

        min  w_cost·cost + w_co2·co2 − w_util·utilized

        cost = Σ c_a·flow + Σ (opex − incentive)·activity + Σ capex_annual·cum_exp
             + Σ (capex_annual·cap_c + fixed)·open + Σ (disposal cost + env tax)·disposal
             + Σ virgin price·unmet + Σ shortage cost·shortage + carbon price·emitted
             + penalties (soft targets; elastic slacks, with ELASTIC_PENALTY on must-use disposal
               and must-meet unmet/shortage)
        co2  = emitted (transport + processes) + Σ virgin co2·unmet
        utilized = Σ flow into facilities of materials that count as utilized.

    with cum_exp[y] = Σ_{y' ≤ y} expansion[y'] and open[y] = Σ_{y' ≤ y} build[y'], so a unit of
    expansion or build in year y' is paid in each of the (Y − y') years from y' on.
    capex_annual is capex × the capital recovery factor of policy ``discount_rate`` and
    ``annuity_years`` (:func:`resynergy.planner.data.annuity`). The weights are
    :meth:`resynergy.planner.options.PlanOptions.blend`: objective ``cost`` is w_cost = 1;
    ``co2`` and ``utilization`` put 1 on their term and 1e-4 on cost, to break ties.
    The fixed cost of existing facilities is a constant left out (results.costs adds it).
    Each variable entry gets one coefficient, from :func:`objective_coefficients` (the one
    definition; the in-place re-solves of planner/resolve.py set the same numbers as HiGHS
    column costs)."""
    labels, coeffs = [], []
    for name, coef in objective_coefficients(d, weights, elastic=v.elastic).items():
        if name not in m.variables:
            continue
        lab = _labels(m.variables[name])
        labels.append(lab.ravel())
        coeffs.append(np.broadcast_to(np.asarray(coef, dtype=float), lab.shape).ravel())
    # one sum over every (variable entry, coefficient): linopy's expression from its own data
    # layout (the term dimension), without an xarray product and sum per variable
    m.add_objective(linopy.LinearExpression(xr.Dataset(
        {"vars": (TERM_DIM, np.concatenate(labels)), "coeffs": (TERM_DIM, np.concatenate(coeffs))}),
        m))


def objective_coefficients(d: ModelData, weights: Mapping[str, float], *,
                           elastic: bool = False) -> dict[str, np.ndarray]:
    """The objective's coefficient of every variable, by variable name, each in the variable's
    shape (years first); names the model lacks are left out by the caller. The terms are those of
    :func:`define_objective`."""
    yy, D = d.n_years, len(d.demand.table)
    w_cost, w_co2, w_util = (float(weights.get(k, 0.0) or 0.0)
                             for k in ("cost", "co2", "utilization"))
    carbon = w_cost * d.carbon_price_per_kg + w_co2  # per kg emitted
    fac = d.facility
    paid_years = (yy - np.arange(yy))[:, None]  # years y' … Y−1 each unit is paid in
    flow = w_cost * np.asarray(d.net.cost, dtype=float) + carbon * np.asarray(d.net.co2, dtype=float)
    if w_util:
        use = (d.arc.to_fin >= 0) & d.net.arcs["material"].map(
            dict(zip(d.materials.index, d.utilized_material, strict=True))).fillna(False).to_numpy(
            dtype=bool)
        flow = flow - w_util * use
    disp_cost = d.supply.disp_cost + d.supply.env_tax + (
        ELASTIC_PENALTY * d.supply.must_use if elastic else 0.0)
    out: dict[str, np.ndarray] = {
        N.FLOW: np.broadcast_to(flow, (yy, len(flow))),
        N.ACTIVITY: np.broadcast_to(w_cost * (fac.opex - fac.incentive) + carbon * fac.co2_proc,
                                    (yy, len(fac.opex))),
        N.DISPOSAL: w_cost * disp_cost,
        N.EXPANSION: w_cost * paid_years * fac.capex_annual[None, :],
        N.BUILD: w_cost * paid_years * (fac.capex_annual * fac.cap_c + fac.fixed)[None, :],
    }
    if D:
        vs = d.virgin
        must = ELASTIC_PENALTY * d.demand.must_meet if elastic else 0.0
        virgin_co2 = vs.co2 if vs is not None else np.broadcast_to(d.demand.co2_virgin, (yy, D))
        out[N.UNMET] = w_cost * ((vs.price if vs is not None else d.demand.value) + must) \
            + w_co2 * virgin_co2
        if vs is not None:
            out[N.SHORTAGE] = w_cost * (vs.shortage_cost + must)
    # the penalised slacks of soft and elastic rows (define_policy, define_targets)
    if d.targets is not None:
        for i, t in d.targets.table.iterrows():
            if t["kind"] == "soft" or elastic:
                penalty = float(t["penalty"]) if t["kind"] == "soft" else ELASTIC_PENALTY
                out[N.target_slack(int(i))] = np.asarray(w_cost * penalty)  # type: ignore[call-overload]
    if elastic:
        for i in range(len(d.corridors.arcs)):
            out[N.corridor_slack(i)] = np.full(yy, w_cost * ELASTIC_PENALTY)
            # per t·km, not per t: ~1000 km of relaxation weigh like one tonne of the others
            out[N.corridor_nev_slack(i)] = np.full(yy, w_cost * ELASTIC_PENALTY / 1000.0)
        out[N.CO2_SLACK] = np.full(yy, w_cost * ELASTIC_PENALTY / 1000.0)
    return out


# --- plan premises (issue 8): scarce virgin supply, min load, new-energy road shares ----------

def _shortage_variables(m: linopy.Model, d: ModelData, elastic: bool, year: pd.Index,
                        dem: pd.Index) -> Any:
    """Demand met by neither recycled nor virgin supply. Only demand nodes whose virgin purchases
    a ``virgin_supply`` row limits can fall short (elsewhere virgin material is unlimited and
    cheaper); must-meet demand cannot, unless the model is elastic."""
    if d.virgin is None or not d.virgin.member.any():
        return None
    capped = np.asarray(d.virgin.member.any(axis=0), dtype=bool)[None, :]
    upper = np.where(capped & ~(d.demand.must_meet & ~elastic), np.inf, 0.0)
    return m.add_variables(lower=0, upper=_da(upper, year, dem), name=N.SHORTAGE)


def _virgin_supply_limits(m: linopy.Model, d: ModelData, unmet: Any, year: pd.Index,
                          rows: list[str]) -> None:
    """Σ virgin purchases of the demand nodes in a pool ≤ the pool's capacity, per year."""
    vs = d.virgin
    if vs is None or not len(vs.pools):
        return
    pool = _idx("pool", len(vs.pools))
    used = np.flatnonzero(vs.member.any(axis=0))
    di = pd.Index(used, name="dem")
    member = xr.DataArray(vs.member[:, used].astype(float), coords=[pool, di])
    bought = (unmet.isel(dem=used) * member).sum("dem")
    finite = np.isfinite(vs.cap)
    _add(m, rows, bought <= _da(np.where(finite, vs.cap, 0.0), year, pool),
         name=N.VIRGIN_SUPPLY, mask=xr.DataArray(finite, coords=[year, pool]))


def _min_load(m: linopy.Model, d: ModelData, act: Any, open_: Any, cum_exp: Any, year: pd.Index,
              fac: pd.Index, fixed_expanded: np.ndarray | None, rows: list[str]) -> bool:
    """New capacity runs, every year once in place:

    - a built candidate (and its expansion): activity ≥ min_load × (capacity + expansion);
    - an expanded existing facility: activity ≥ existing capacity + min_load × expansion, i.e.
      it expands only to run the added capacity. "Once expanded" is a binary ``expanded[y, f]``
      (expansion ≤ headroom × expanded), fixed by ``fixed_expanded`` when pricing a solution.

    Returns whether binaries were added."""
    ml = d.facility.min_load
    if not len(ml) or not (ml > 0).any():
        return False
    yy, nf = len(year), len(fac)
    candidate = np.asarray(d.facility.buildable.any(axis=0), dtype=bool)
    built = open_ is not None and candidate.any()
    if not built and cum_exp is None:
        return False
    # activity − min_load·(cap_c·open + cum_exp) − existing·expanded ≥ 0
    lhs = [(_labels(act), np.ones((yy, nf)))]
    const = np.zeros((yy, nf))
    if built and isinstance(open_, xr.DataArray):  # builds fixed: a constant capacity
        const = np.asarray(open_.values) * (ml * d.facility.cap_c)
    elif built:
        lhs += _upto(_labels(m.variables[N.BUILD]),
                     np.broadcast_to(-(ml * d.facility.cap_c), (yy, nf)))
    if cum_exp is not None:
        lhs += _upto(_labels(m.variables[N.EXPANSION]), np.broadcast_to(-ml, (yy, nf)))
    binaries = False
    grown = (~candidate) & (d.facility.headroom > 0) & (ml > 0) & (d.facility.cap0 > 0)
    if cum_exp is not None and grown.any():
        existing = d.facility.cap0[None, :] * d.facility.avail
        on: Any
        if fixed_expanded is None:
            on = m.add_variables(lower=0, upper=_da(np.broadcast_to(grown, (yy, nf)).astype(float),
                                                    year, fac), integer=True, name=N.EXPANDED)
            binaries = True
        else:
            on = _da(np.asarray(fixed_expanded, dtype=float) * grown, year, fac)
        _add(m, rows, cum_exp - on * _da(np.where(grown, d.facility.headroom, 0.0), fac) <= 0,
             name=N.EXPANSION_SWITCH, mask=_mask(grown, year, fac))
        per_on = np.where(grown[None, :], existing, 0.0)
        if binaries:
            lhs.append((_labels(on), -per_on))
        else:
            const = const + np.asarray(on.values) * per_on
    which = (candidate | (d.facility.headroom > 0)) & (ml > 0)
    _add(m, rows, _grid_sum(m, [year, fac], lhs, -const) >= 0, name=N.MIN_LOAD,
         mask=_mask(which, year, fac))
    return binaries


def nev_share_terms(d: ModelData) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """For each corridor i with a minimum new-energy share: its road arcs and their coefficients
    road_km·(nev − min share) in Σ ≥ 0 (the corridor_nev row)."""
    if "min_nev_share" not in d.corridors.table or not len(d.arc.road_km):
        return []
    shares = pd.to_numeric(d.corridors.table["min_nev_share"], errors="coerce").fillna(0.0).to_numpy()
    out = []
    for i, mask in enumerate(d.corridors.arcs):
        idx = np.flatnonzero(mask & (d.arc.road_km > 0))
        if shares[i] > 0 and len(idx):
            out.append((i, idx, d.arc.road_km[idx] * (d.arc.nev[idx] - shares[i])))
    return out


def _corridor_nev_shares(m: linopy.Model, d: ModelData, v: Decisions, rows: list[str]) -> None:
    """The corridor_nev rows of :func:`define_policy`."""
    for i, idx, coef in nev_share_terms(d):
        expr = _terms(m, _labels(v.x)[:, idx], coef, v.year)
        if v.elastic:
            s = m.add_variables(lower=0, coords=[v.year], name=N.corridor_nev_slack(i))
            expr = expr + s
            # per t·km, not per t: ~1000 km of relaxation weigh like one tonne of the others
        _add(m, rows, expr >= 0, name=N.corridor_nev(i))
