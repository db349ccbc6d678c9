"""Re-plan from actuals: past years fixed to what was manifested, later years planned.

Given recorded flows (the ``actual_flows`` table: year, from_site, to_site, material, t) and the
last year they speak for (``through``, default: the last recorded year), every planned year
``y ≤ through`` is fixed to the record:

- for each recorded (from_site, to_site, material), the model's arcs between those two sites for
  that material — whatever their mode, direct or intermodal — carry exactly the recorded tonnes
  of the year (0 in a fixed year the pair has no record for);
- when the records are *complete* (``complete=True``: they are every transport movement of
  those years, e.g. a province's whole manifest ledger), every other transport arc carries
  nothing in a fixed year: what was not manifested did not move. On-site use (co-located source
  and sink, mode ``onsite``) moves on no manifest and stays free. By default records are
  *partial* (what went through the exchange is never all that moved): only the recorded pairs
  are fixed, and the rest of those years is planned around them.

Later years are planned as usual, on top of what the fixed years did (facilities built, stock
drawn, capacity expanded). The rows are hard even when an infeasible plan is relaxed: a record is
a fact, not a wish.

A recorded pair the model has no arc for (the sites are too far apart for the network's pruning,
the receiving site has no facility or demand taking the material, or the origin has no such
supply or product) cannot be represented. Dropping it would misstate that year's balances, so it
is refused: :class:`ActualsError` names each such pair with its manifests, tonnes and year, and
what to do (a lane between the two sites makes the arc; or the registry lacks the supply,
facility or demand the record implies). A planned year up to ``through`` with no record at all is
refused too (nothing recorded is not the same as nothing moved).

Core module: reads a few ModelData fields (years, sites, net.arcs material, arc_src, arc_dst,
arc_onsite) here only, and the linopy flow variable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

ACTUAL_FLOW = "actual_flow"  # constraint: recorded tonnes per (from_site, to_site, material)
_KEY = ["from_site", "to_site", "material"]


class ActualsError(ValueError):
    """Recorded flows a plan cannot start from; ``messages`` are (zh, en) pairs, one per problem."""

    def __init__(self, messages: Sequence[tuple[str, str]]):
        self.messages = list(messages)
        super().__init__("; ".join(en for _, en in self.messages))

    def text(self, lang: str = "zh") -> list[str]:
        return [zh if lang == "zh" else en for zh, en in self.messages]


@dataclass(frozen=True)
class Actuals:
    """Recorded flows a plan starts from (hashable, so plan options stay comparable): records of
    (year, from_site, to_site, material, t, manifest), and the last year fixed to them."""

    records: tuple[tuple[int, str, str, str, float, str], ...]
    through: int
    source: str = ""
    complete: bool = False  # the records are every transport movement of the fixed years

    @classmethod
    def from_frame(cls, flows: pd.DataFrame, through: int | None = None, source: str = "",
                   complete: bool = False) -> Actuals:
        """From an ``actual_flows`` frame (``monitor.actuals.load_actual_flows`` or the platform's
        stored flows). A plan's own flows.csv (with ``leg`` and ``route``) counts each route
        once, from its first mile's origin to its last mile's destination."""
        f = _routes_once(flows)
        if through is None:
            if f.empty:
                raise ActualsError([("没有实际流向记录，无法确定固定到哪一年", "no actual flows recorded: "
                                     "nothing to fix the plan to")])
            through = int(f["year"].max())
        manifest = f["manifest"].astype(str) if "manifest" in f else pd.Series([""] * len(f), index=f.index)
        recs = tuple((int(y), str(a), str(b), str(m), float(t), str(n)) for y, a, b, m, t, n in zip(
            f["year"], f["from_site"], f["to_site"], f["material"], f["t"], manifest, strict=True))
        return cls(records=recs, through=int(through), source=source, complete=complete)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.records), columns=["year", *_KEY, "t", "manifest"])

    def note(self, years: Sequence[int]) -> tuple[str, str]:
        """The line a plan shows: which years are fixed to actuals."""
        fixed = [y for y in years if y <= self.through]
        f = self.frame()
        f = f[f["year"].isin(fixed)]
        t = float(f["t"].sum())
        ys = "、".join(map(str, fixed)) or "—"
        src = f"（{self.source}）" if self.source else ""
        rest = ("记录视为当年全部运输，其余运输为零" if self.complete else
                "记录之外的流向仍按规划安排")
        rest_en = ("the records are taken as all transport of those years, no other transport" if self.complete
                   else "flows beyond the records are still planned")
        return (f"{self.through} 年及以前的年份（{ys}）按实际流向固定{src}：{len(f)} 条记录，共 {t:,.0f} 吨，"
                f"{rest}；之后的年份为规划。",
                f"Years up to {self.through} ({', '.join(map(str, fixed)) or '—'}) are fixed to actual flows"
                f"{' (' + self.source + ')' if self.source else ''}: {len(f)} records, {t:,.0f} t in all, "
                f"{rest_en}; later years are planned.")


def _routes_once(flows: pd.DataFrame) -> pd.DataFrame:
    if "leg" not in flows:
        return flows
    legs = flows["leg"].astype(str)
    direct = flows[legs.isin(["direct", ""])]
    first = flows[legs == "first_mile"].set_index("route")
    last = flows[legs == "last_mile"].set_index("route")
    routed = first.assign(to_site=last["to_site"].reindex(first.index)).reset_index()
    return pd.concat([direct, routed], ignore_index=True)


@dataclass
class Fixed:
    """What the model fixes: per arc its recorded group (−1: none), the groups' tonnes per
    planned year, which planned years are fixed, and the arcs that must carry nothing there."""

    actuals: Actuals
    group: np.ndarray  # (A,) group index or -1
    tonnes: np.ndarray  # (Y, G) recorded t; 0 in years not fixed
    fixed_year: np.ndarray  # (Y,) bool
    idle: np.ndarray  # (A,) bool: transport arcs without a record, 0 in fixed years
    groups: pd.DataFrame  # from_site, to_site, material

    def note(self, years: Sequence[int]) -> tuple[str, str]:
        return self.actuals.note(years)


def fix(data: Any, actuals: Actuals | None) -> Fixed | None:
    """The rows :func:`constrain` adds for ``data`` (a ModelData); raises :class:`ActualsError`
    for recorded pairs without an arc and fixed years without records."""
    if actuals is None:
        return None
    years = list(data.years)
    fixed_years = [y for y in years if y <= actuals.through]
    rec = actuals.frame()
    rec = rec[rec["year"].isin(fixed_years)]
    problems: list[tuple[str, str]] = []
    if not fixed_years:
        problems.append((f"规划年份（{'、'.join(map(str, years))}）都晚于 {actuals.through} 年，没有可按实际固定的年份",
                         f"every planned year ({', '.join(map(str, years))}) is after {actuals.through}: "
                         "no year to fix to the actual flows"))
    for y in fixed_years:
        if not (rec["year"] == y).any():
            problems.append((f"{y} 年没有任何实际流向记录，却要按实际固定（截至 {actuals.through} 年）；请补充该年的记录，或把固定截止年份改早",
                             f"{y} has no actual flow recorded but is to be fixed to actuals (through {actuals.through}); "
                             "add that year's records or fix fewer years"))
    site_id = data.sites.index.to_numpy(dtype=object)
    arcs = pd.DataFrame({"from_site": site_id[data.arc.src], "to_site": site_id[data.arc.dst],
                         "material": data.net.arcs["material"].to_numpy(dtype=object)})
    groups = rec[_KEY].drop_duplicates().reset_index(drop=True)
    gid = pd.MultiIndex.from_frame(groups)
    group = gid.get_indexer(pd.MultiIndex.from_frame(arcs)) if len(groups) else np.full(len(arcs), -1)
    has_arc = np.zeros(len(groups), dtype=bool)
    has_arc[group[group >= 0]] = True
    for g in np.flatnonzero(~has_arc):
        a, b, m = groups.iloc[g]
        hit = rec[(rec["from_site"] == a) & (rec["to_site"] == b) & (rec["material"] == m)]
        nums = "、".join(sorted({n for n in hit["manifest"] if n})) or "—"
        per_year = "; ".join(f"{int(y)}: {t:,.0f} t" for y, t in hit.groupby("year")["t"].sum().items())
        problems.append((
            f"记录在运输网络之外：{a} → {b}（{m}，{per_year}；联单 {nums}）在模型中没有对应的运输弧，无法按实际固定。"
            f"请在运输线路表（lanes）中登记这两个站点之间的线路，或检查登记库：起点应有该物料的产废或产品、终点应有接收它的设施或需求",
            f"recorded outside the network: {a} → {b} ({m}, {per_year}; manifests {nums}) has no arc in the model, "
            f"so the plan cannot be fixed to it. Register a lane between the two sites, or check the registry: the "
            f"origin needs a supply or product of that material and the destination a facility or demand taking it"))
    if problems:
        raise ActualsError(problems)
    fixed_year = np.isin(np.asarray(years), fixed_years)
    tonnes = np.zeros((len(years), len(groups)))
    if len(groups):
        by = rec.groupby(["year", *_KEY], as_index=False)["t"].sum()
        yi = pd.Index(years).get_indexer(by["year"])
        gi = gid.get_indexer(pd.MultiIndex.from_frame(by[_KEY]))
        np.add.at(tonnes, (yi, gi), by["t"].to_numpy(dtype=float))
    onsite = np.asarray(data.arc.onsite, dtype=bool) if len(data.arc.onsite) else np.zeros(len(arcs), bool)
    return Fixed(actuals=actuals, group=np.asarray(group), tonnes=tonnes, fixed_year=fixed_year,
                 idle=(np.asarray(group) < 0) & ~onsite & actuals.complete, groups=groups)


def constrain(m: Any, data: Any, x: Any, rows: list[str]) -> None:
    """Fix the flows of the fixed years (``data.actuals``, a :class:`Fixed`, or None: nothing):

    actual_flow[y, g]:  Σ_{a in g} flow[y, a] = recorded t[y, g]   (y fixed; g = from, to, material)
    flow[y, a] ≤ 0 for transport arcs a in no recorded group       (y fixed, records complete)
    """
    fixed: Fixed | None = getattr(data, "actuals", None)
    if fixed is None or not fixed.fixed_year.any():
        return
    year = pd.Index(list(data.years), name="year")
    n_arcs = len(fixed.group)
    if fixed.idle.any():
        upper = x.upper.values.copy() if hasattr(x.upper, "values") else np.asarray(x.upper)
        upper = np.broadcast_to(upper, (len(year), n_arcs)).copy()
        upper[np.ix_(fixed.fixed_year, fixed.idle)] = 0.0
        x.update(upper=xr.DataArray(upper, coords=[year, pd.RangeIndex(n_arcs, name="arc")]))
    grouped = np.flatnonzero(fixed.group >= 0)
    if not len(grouped):
        return
    arc = pd.Index(grouped, name="arc")
    label = xr.DataArray(fixed.group[grouped], coords=[arc], name="actual")
    expr = x.isel(arc=grouped).groupby(label).sum()
    act = pd.RangeIndex(len(fixed.groups), name="actual")
    rhs = xr.DataArray(fixed.tonnes, coords=[year, act])
    mask = xr.DataArray(np.broadcast_to(fixed.fixed_year[:, None], fixed.tonnes.shape).copy(),
                        coords=[year, act])
    m.add_constraints(expr == rhs, name=ACTUAL_FLOW, mask=mask)
    rows.append(ACTUAL_FLOW)


def note_rows(data: Any) -> pd.DataFrame:
    """The plan's diagnosis row saying which years are fixed to actuals (kind 'actuals',
    subject the last fixed year, amount the fixed tonnes); empty when nothing is fixed."""
    from resynergy.planner.diagnosis import COLUMNS

    fixed: Fixed | None = getattr(data, "actuals", None)
    if fixed is None:
        return pd.DataFrame(columns=COLUMNS)
    zh, en = fixed.note(list(data.years))
    return pd.DataFrame([{"kind": "actuals", "subject": str(fixed.actuals.through),
                          "amount": float(fixed.tonnes[fixed.fixed_year].sum()), "unit": "t",
                          "message_zh": zh, "message_en": en}], columns=COLUMNS)
