"""Targets against values by province, material and year: gap, status and trajectory.

Status of a target (:class:`~resynergy.states.TargetStatus`):

- ``met`` / ``missed`` — a value exists for the target year: it reaches the target or not
  (floors for most indicators, ceilings for CO2 and disposal);
- ``on_track`` / ``at_risk`` — the target year lies beyond the last year with a value: the
  values are projected to the target year and the projection reaches the target or not;
- ``not_measurable`` — the values cannot speak to the indicator (e.g. output value or capacity
  added, from recorded flows): no value, rather than a misleading 0;
- ``reported`` — a report-only target where the plan sets no figure: the value is shown, never
  judged met or missed.

Projection method (stated on every row): an ordinary least-squares line through the years with
values when there are two or more, else the last value held constant. A target with no value
at all is ``at_risk`` when its year is still ahead of the data and ``missed`` otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from resynergy.indicators import INDICATORS, attainment
from resynergy.schema.numbers import quantity
from resynergy.states import TargetStatus

_SCOPE = ["indicator", "region", "material"]
# names a scope: name(kind, code, lang), e.g. a scenario's Names
NameOf = Callable[[str, str, str], str]


@dataclass
class Monitor:
    """The outcome of monitoring: one row per target and the trajectories behind them."""

    table: pd.DataFrame  # per target: attainment columns + value_year, projected, method, status
    trajectory: pd.DataFrame  # id, year, value, kind ('actual' | 'projected')
    source: str = "actual"  # what the values are: 'actual' statistics or a 'plan'
    # what a reader must know about the values, (zh, en) each: e.g. flows reaching facilities
    # the registry lists as candidates
    notes: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        vc = self.table["status"].value_counts()
        counts = {s.value: int(vc.get(s, 0)) for s in (TargetStatus.MET, TargetStatus.ON_TRACK,
                                                        TargetStatus.AT_RISK, TargetStatus.MISSED)}
        for extra in (TargetStatus.NOT_MEASURABLE, TargetStatus.REPORTED):
            if vc.get(extra, 0):
                counts[extra.value] = int(vc[extra])
        return counts

    def status_text(self, lang: str = "zh", name: NameOf | None = None) -> str:
        """The targets' status in plain words, one line each (:func:`status_lines`;
        ``name(kind, code, lang)`` names scopes)."""
        return "\n".join(status_lines(self, lang, name))


def _fit(years: np.ndarray, vals: np.ndarray, target_year: int) -> tuple[float, str, str]:
    """Projected value at ``target_year`` and the method, in zh and en."""
    y0, y1 = int(years.min()), int(years.max())
    if len(years) >= 2:
        slope, intercept = np.polyfit(years.astype(float) - y1, vals.astype(float), 1)
        proj = float(slope * (target_year - y1) + intercept)
        return (max(proj, 0.0), f"{y0}–{y1}年{len(years)}个年度值的最小二乘线性趋势",
                f"least-squares linear trend over {len(years)} years {y0}–{y1}")
    return (float(vals[-1]), f"仅有{y1}年一个值，按该值不变外推",
            f"only one year ({y1}) available: held constant")


NOT_MEASURABLE = ("无法从流向数据计量", "not measurable from flows")


def monitor(targets: pd.DataFrame, values: pd.DataFrame, *, source: str = "actual",
            complete: bool = False, unmeasurable: Sequence[str] = ()) -> Monitor:
    """Compare ``targets`` (scenario ``targets`` table) with ``values`` over the years available.

    ``values``: indicator, region ('' = whole scenario), material ('' = all), year, value — from
    :func:`resynergy.indicators.evaluate_all` (plans or recorded flows; pass ``complete=True``)
    or reported statistics (a missing row is unknown, not zero). Targets of ``unmeasurable``
    indicators (what the values cannot speak to, e.g. output value from flows) get status
    ``not_measurable`` and no value, never 0.
    """
    t = targets.copy()
    for col in ("region", "material"):
        t[col] = t[col].fillna("").astype(str)
    t["year"] = t["year"].astype(int)
    v = values.copy()
    v["year"] = v["year"].astype(int)
    last_year = int(v["year"].max()) if len(v) else None
    a = attainment(t, v, complete=complete).set_index("id")
    a["value_year"] = np.where(a["value"].notna(), a["year"], np.nan)
    a["projected"] = np.nan
    a["method_zh"] = np.where(a["value"].notna(), "目标年份实际值", "无数据")
    a["method_en"] = np.where(a["value"].notna(), "value of the target year", "no value available")
    traj = []
    projected_rows = []
    for _, row in t.iterrows():
        hist = v.merge(row[_SCOPE].to_frame().T, on=_SCOPE)
        hist = hist.groupby("year", as_index=False)["value"].sum().sort_values("year")
        traj += [(row["id"], int(y), float(x), "actual") for y, x in
                 zip(hist["year"], hist["value"], strict=True)]
        if pd.notna(a.at[row["id"], "value"]):
            continue
        before = hist[hist["year"] < row["year"]]
        if before.empty:
            if last_year is not None and row["year"] > last_year:
                a.at[row["id"], "status"] = TargetStatus.AT_RISK
            continue
        proj, mzh, men = _fit(before["year"].to_numpy(), before["value"].to_numpy(), row["year"])
        a.loc[row["id"], ["value_year", "projected", "method_zh", "method_en"]] = [
            before["year"].max(), proj, mzh, men]
        y_last, v_last = int(before["year"].max()), float(before["value"].iloc[-1])
        for y in range(y_last + 1, int(row["year"]) + 1):
            frac = (y - y_last) / (int(row["year"]) - y_last)
            traj.append((row["id"], y, v_last + frac * (proj - v_last), "projected"))
        projected_rows.append(row["id"])
    if projected_rows:
        sub = t.set_index("id").loc[projected_rows].reset_index()
        pv = sub[_SCOPE + ["year"]].assign(value=a.loc[projected_rows, "projected"].to_numpy())
        p = attainment(sub, pv).set_index("id")
        a.loc[projected_rows, "status"] = np.where(
            p["status"] == TargetStatus.MET, TargetStatus.ON_TRACK,
            np.where(p["status"] == TargetStatus.REPORTED, TargetStatus.REPORTED,
                     TargetStatus.AT_RISK))
        a.loc[projected_rows, "shortfall"] = p["shortfall"]
        a.loc[projected_rows, "attainment"] = p["attainment"]
    blind = a["indicator"].isin(list(unmeasurable))
    if blind.any():
        a.loc[blind, ["value", "value_year", "projected", "shortfall", "attainment"]] = np.nan
        a.loc[blind, "status"] = TargetStatus.NOT_MEASURABLE
        a.loc[blind, "method_zh"], a.loc[blind, "method_en"] = NOT_MEASURABLE
        traj = [r for r in traj if r[0] not in set(a.index[blind])]
    trajectory = pd.DataFrame(traj, columns=["id", "year", "value", "kind"])
    return Monitor(table=a.reset_index(), trajectory=trajectory, source=source)


def status_lines(m: Monitor, lang: str = "zh", name: NameOf | None = None) -> list[str]:
    """The targets' status in plain words: the counts by status, then one line per target
    that is not met."""
    c = m.counts()
    n = len(m.table)
    zh = lang == "zh"
    blind, reported = c.get(TargetStatus.NOT_MEASURABLE), c.get(TargetStatus.REPORTED)
    if zh:
        what = "规划方案" if m.source == "plan" else "实际数据"
        lines = [f"按{what}评估，共 {n} 项目标：达成 {c['met']} 项，进度正常 {c['on_track']} 项，"
                 f"存在风险 {c['at_risk']} 项，未达成 {c['missed']} 项"
                 + (f"，{NOT_MEASURABLE[0]} {blind} 项" if blind else "")
                 + (f"，仅报告（计划未设数量）{reported} 项" if reported else "") + "。"]
    else:
        what = "the plan" if m.source == "plan" else "actual data"
        lines = [f"Evaluated on {what}: {n} targets — {c['met']} met, {c['on_track']} on track, "
                 f"{c['at_risk']} at risk, {c['missed']} missed"
                 + (f", {blind} {NOT_MEASURABLE[1]}" if blind else "")
                 + (f", {reported} reported only (no figure in the plan)" if reported else "")
                 + "."]
    for _, r in m.table.iterrows():
        if r["status"] in (TargetStatus.MET, TargetStatus.REPORTED):
            continue
        lines.append(_target_line(r, zh, name))
    lines += [f"注：{n_zh}" if zh else f"Note: {n_en}" for n_zh, n_en in m.notes]
    return lines


def _basis(r: pd.Series, zh: bool) -> str:
    """The row's basis note in brackets ('' when it has none)."""
    b = r.get("basis_zh" if zh else "basis_en")
    if not isinstance(b, str) or not b:
        return ""
    return f"（{b}）" if zh else f" ({b})"


def _target_line(r: pd.Series, zh: bool, name_of: NameOf | None = None) -> str:
    ind = INDICATORS.get(r["indicator"])
    unit = ind.unit if ind else str(r.get("unit", ""))
    lang = "zh" if zh else "en"
    name = r.get("name_zh" if zh else "name_en") or (ind.name(lang) if ind else r["indicator"])
    scope = [name_of(kind, code, lang) if name_of else code
             for kind, code in (("region", r["region"]), ("material", r["material"])) if code]
    scope_txt = ("（" + "，".join(scope) + "，" if scope else "（") if zh else (
        " (" + ", ".join(scope) + ", " if scope else " (")
    target = quantity(r["target"], unit, lang)
    if r["status"] == TargetStatus.NOT_MEASURABLE:
        if zh:
            return f"· {name}{scope_txt}{r['year']}年）：{NOT_MEASURABLE[0]}（目标 {target}）。"
        return f"· {name}{scope_txt}{r['year']}): {NOT_MEASURABLE[1]} (target {target})."
    ceiling = bool(ind and ind.better == "lower")
    if pd.notna(r["value"]):
        val = quantity(r["value"], unit, lang)
        gap = quantity(r["shortfall"], unit, lang)
        pct = f"{r['attainment']:.0%}" if pd.notna(r["attainment"]) else "—"
        if zh:
            verb = "超出上限" if ceiling else "缺口"
            word = r.get("value_word_zh") or "实际"
            return (f"· {name}{scope_txt}{r['year']}年）：目标 {target}，{word} {val}{_basis(r, zh)}，"
                    f"完成率 {pct}，{verb} {gap}。")
        verb = "over the ceiling by" if ceiling else "short by"
        word = r.get("value_word_en") or "value"
        return (f"· {name}{scope_txt}{r['year']}): target {target}, {word} {val}{_basis(r, zh)}, "
                f"attainment {pct}, {verb} {gap}.")
    if pd.notna(r.get("projected")):
        proj = quantity(r["projected"], unit, lang)
        status = {TargetStatus.ON_TRACK: ("进度正常", "on track"),
                  TargetStatus.AT_RISK: ("存在风险", "at risk")}[r["status"]]
        if zh:
            return (f"· {name}{scope_txt}{r['year']}年）：{status[0]}——按{r['method_zh']}，"
                    f"预测 {r['year']} 年为 {proj}，目标 {target}。")
        return (f"· {name}{scope_txt}{r['year']}): {status[1]} — by {r['method_en']}, "
                f"{r['year']} projects to {proj} against {target}.")
    if zh:
        return f"· {name}{scope_txt}{r['year']}年）：无可用数据，无法评估（目标 {target}）。"
    return f"· {name}{scope_txt}{r['year']}): no value available to assess (target {target})."
