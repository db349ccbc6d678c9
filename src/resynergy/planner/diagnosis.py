"""Plain-language explanation of what binds or fails in a plan (zh-CN and English).

An infeasible plan is re-solved with elastic slacks (``model.build(elastic=True)``): every hard
requirement — hard targets, must-meet demands, must-use supplies, corridor rail shares, the CO2
cap — may be violated at a penalty far above any real cost, so the relaxed optimum violates as
little as possible. The non-zero slacks are the cheapest relaxation; this module words them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from resynergy.planner.data import ModelData
from resynergy.planner.model import ELASTIC_PENALTY
from resynergy.planner.results import TOL, Solution, capacity, target_shortfall

COLUMNS = ["kind", "subject", "amount", "unit", "message_zh", "message_en"]


def _t(v: float) -> str:
    return f"{v:,.0f}"


class _Names:
    def __init__(self, data: ModelData):
        self.data = data
        self.sites = data.sites
        self.mats = data.materials
        self.regions = data.regions.set_index("code") if len(data.regions) else None

    def site(self, sid: str, lang: str) -> str:
        col = "name_zh" if lang == "zh" else "name_en"
        return str(self.sites[col].get(sid, sid) or sid) if col in self.sites else sid

    def mat(self, code: str, lang: str) -> str:
        col = "name_zh" if lang == "zh" else "name_en"
        return str(self.mats[col].get(code, code) or code) if col in self.mats else code

    def region(self, code: str, lang: str) -> str:
        if not code:
            return "全区域" if lang == "zh" else "the whole region"
        col = "name_zh" if lang == "zh" else "name_en"
        if self.regions is not None and code in self.regions.index:
            return str(self.regions.at[code, col])
        return code


def relaxation(data: ModelData, sol: Solution, slacks: dict[str, np.ndarray],
               total_cost: float) -> pd.DataFrame:
    """Rows for every relaxed requirement, a summary row, then the binding capacities."""
    rows = violations(data, sol, slacks)
    if rows:
        k = len(rows)
        rows.append(_row(
            "relaxation", "", float(k), "constraints",
            f"按上述数量放宽这 {k} 项要求，是使方案可行的最小改动；放宽后方案的总成本为 {_t(total_cost)} 元。",
            f"Relaxing these {k} requirement(s) by the amounts above is the smallest change that "
            f"makes the plan feasible; the relaxed plan costs {_t(total_cost)} yuan."))
    rows += binding_capacities(data, sol, relaxed=bool(rows))
    return pd.DataFrame(rows, columns=COLUMNS)


def violations(data: ModelData, sol: Solution, slacks: dict[str, np.ndarray]) -> list[dict]:
    """One row per violated requirement: must-use supplies disposed of, must-meet demands unmet,
    and the slacks of hard targets, corridors and the CO2 cap."""
    n = _Names(data)
    rows: list[dict] = []
    years = data.years
    # must-use supplies that had to be disposed
    for yi, s in zip(*np.nonzero((sol.disp > TOL) & data.must_use), strict=True):
        site, mat = data.sup.at[s, "site"], data.sup.at[s, "material"]
        amt = sol.disp[yi, s]
        rows.append(_row("must_use", f"{site}/{mat}/{years[yi]}", amt, "t",
                         f"{n.site(site, 'zh')}的{n.mat(mat, 'zh')}禁止处置，但{years[yi]}年有 "
                         f"{_t(amt)} 吨无法利用：可达范围内的处理能力或产品需求不足。",
                         f"{n.mat(mat, 'en')} at {n.site(site, 'en')} may not be disposed of, but "
                         f"{_t(amt)} t cannot be used in {years[yi]}: not enough processing "
                         "capacity or product demand within reach."))
    missing = sol.unmet + (sol.shortage if sol.shortage is not None else 0.0)  # virgin or short
    for yi, k in zip(*np.nonzero((missing > TOL) & data.must_meet), strict=True):
        site, mat = data.dem.at[k, "site"], data.dem.at[k, "material"]
        amt = missing[yi, k]
        rows.append(_row("must_meet", f"{site}/{mat}/{years[yi]}", amt, "t",
                         f"{n.site(site, 'zh')}对{n.mat(mat, 'zh')}的必须满足需求在{years[yi]}年缺 "
                         f"{_t(amt)} 吨：可达范围内的再生供给或生产能力不足。",
                         f"The must-meet demand for {n.mat(mat, 'en')} at {n.site(site, 'en')} is "
                         f"{_t(amt)} t short in {years[yi]}: not enough recycled supply or "
                         "production capacity within reach."))
    if data.targets is not None:
        tt = data.targets.table
        for i, amt in enumerate(slacks.get("target", [])):
            if amt <= TOL or tt.at[i, "kind"] != "hard":
                continue
            t = tt.loc[i]
            target = float(t["value_t"])
            reach = target - amt if t["sense"] > 0 else target + amt
            pct = 100.0 * amt / target if target else 0.0
            limits = _limits(data, sol, i)
            rows.append(_row(
                "target", str(t["id"]), amt, "t",
                f"硬约束目标「{t['name_zh']}」（{n.region(t['region'], 'zh')}，{t['year']}年）无法实现："
                f"最好的方案只能达到 {_t(reach)} 吨，比目标 {_t(target)} 吨差 {_t(amt)} 吨"
                f"（{pct:.1f}%）。{limits[0]}",
                f"Hard target '{t['name_en']}' ({n.region(t['region'], 'en')}, {t['year']}) cannot "
                f"be met: the best plan reaches {_t(reach)} t, {_t(amt)} t ({pct:.1f}%) short of "
                f"{_t(target)} t. {limits[1]}"))
    for i, per_year in enumerate(slacks.get("corridor", [])):
        c = data.corridors.iloc[i]
        for yi, amt in enumerate(per_year):
            if amt <= TOL:
                continue
            mat_zh = f"（{n.mat(c['material'], 'zh')}）" if c["material"] else ""
            mat_en = f" ({n.mat(c['material'], 'en')})" if c["material"] else ""
            rows.append(_row(
                "corridor", str(c["id"]), amt, "t",
                f"通道 {n.region(c['from_region'], 'zh')}→{n.region(c['to_region'], 'zh')}{mat_zh}"
                f"最低铁路占比 {c['min_rail_share']:.0%} 在{years[yi]}年无法达到：铁路运量还差 {_t(amt)} 吨"
                "（铁路货场能力或可用铁路线路不足）。",
                f"Corridor {n.region(c['from_region'], 'en')} → {n.region(c['to_region'], 'en')}"
                f"{mat_en} cannot reach its {c['min_rail_share']:.0%} minimum rail share in "
                f"{years[yi]}: {_t(amt)} t more would have to go by rail (terminal capacity or "
                "rail routes are lacking)."))
    rows += _nev_shares(data, slacks.get("corridor_nev", []), n)
    for yi, kg in enumerate(slacks.get("co2", [])):
        if kg <= TOL * 1000:
            continue
        cap = data.policy["co2_cap_t"]
        rows.append(_row(
            "co2_cap", str(years[yi]), kg / 1000.0, "tCO2",
            f"{years[yi]}年碳排放上限 {_t(cap)} 吨CO2 被超出 {_t(kg / 1000)} 吨：必须的运输和加工排放高于上限。",
            f"The CO2 cap of {_t(cap)} t in {years[yi]} is exceeded by {_t(kg / 1000)} t: the "
            "transport and processing the other requirements force emit more."))
    return rows


def _nev_shares(data: ModelData, slacks: Sequence[np.ndarray] | np.ndarray, n: _Names) -> list[dict]:
    """Corridors whose minimum new-energy truck share of road t·km cannot be reached."""
    rows = []
    for i, per_year in enumerate(slacks):
        c = data.corridors.iloc[i]
        for yi, amt in enumerate(per_year):
            if amt <= TOL:
                continue
            share = float(c["min_nev_share"])
            rows.append(_row(
                "corridor_nev", str(c["id"]), amt, "t·km",
                f"通道 {n.region(c['from_region'], 'zh')}→{n.region(c['to_region'], 'zh')}"
                f"最低新能源车辆占比 {share:.0%} 在{data.years[yi]}年无法达到：新能源重卡还需多承运 "
                f"{_t(amt)} 吨公里（可用的新能源运输方式或线路不足）。",
                f"Corridor {n.region(c['from_region'], 'en')} → {n.region(c['to_region'], 'en')} "
                f"cannot reach its {share:.0%} minimum new-energy truck share in "
                f"{data.years[yi]}: {_t(amt)} t·km more would have to go by new-energy trucks "
                "(no new-energy mode or route available)."))
    return rows


def _limits(data: ModelData, sol: Solution, i: int) -> tuple[str, str]:
    """What limits a facility_input target: capacity or supply (a short clause each)."""
    assert data.targets is not None
    tt = data.targets.table
    if tt.at[i, "basis"] != "facility_input":
        return ("需要新建或扩建更多相关能力。", "More of the counted capacity must be built or expanded.")
    mask = data.targets.arc_mask[i]
    yi = data.years.index(int(tt.at[i, "year"]))
    facs = np.unique(data.arc_fac_in[mask])
    facs = facs[facs >= 0]
    cap = capacity(data, sol)[yi, facs]
    used = sol.act[yi, facs]
    full = int(((cap > TOL) & (used >= cap * (1 - 1e-6))).sum())
    if len(facs) and full == len(facs[cap > TOL]):
        return (f"可接收这些物料的 {len(facs)} 座设施能力已全部用满。",
                f"All {len(facs)} facilities that can take these materials run at full capacity.")
    return ("可达范围内的可用物料或产品需求不足。",
            "The materials or product demand within reach are not enough.")


def binding_capacities(data: ModelData, sol: Solution, top: int = 5,
                       relaxed: bool = False) -> list[dict]:
    """The facilities whose capacity is worth most at the margin (from the LP duals). In a
    relaxed plan the duals are dominated by the relaxation penalty, so they are stated as the
    shortfall one more t/yr of capacity would remove."""
    if sol.cap_dual is None:
        return []
    n = _Names(data)
    dual = np.nan_to_num(sol.cap_dual)
    yi, f = np.unravel_index(np.argsort(-dual, axis=None)[:top], dual.shape)
    rows = []
    for y, k in zip(yi, f, strict=True):
        v = dual[y, k]
        if v <= 1e-6:
            continue
        fac = data.fac.iloc[k]
        pname = data.processes["name_zh"].get(fac["process"], fac["process"])
        pname_en = data.processes["name_en"].get(fac["process"], fac["process"])
        where_zh = f"设施 {fac['id']}（{n.site(fac['site'], 'zh')}，{pname}）{data.years[y]}年能力已用满："
        where_en = (f"Facility {fac['id']} ({n.site(fac['site'], 'en')}, {pname_en}) runs at full "
                    f"capacity in {data.years[y]}: ")
        if relaxed:
            cut = v / ELASTIC_PENALTY
            rows.append(_row("binding_capacity", f"{fac['id']}/{data.years[y]}", cut,
                             "t per t/yr", where_zh + f"每增加 1 吨/年能力，缺口可减少约 {cut:.2f} 吨。",
                             where_en + f"each extra t/yr of capacity would cut the shortfall by "
                             f"about {cut:.2f} t."))
        else:
            rows.append(_row("binding_capacity", f"{fac['id']}/{data.years[y]}", float(v),
                             "yuan per t/yr", where_zh + f"每增加 1 吨/年能力可降低总成本 {v:,.1f} 元。",
                             where_en + f"each extra t/yr of capacity would save {v:,.1f} yuan."))
    return rows


def binding_targets(data: ModelData, sol: Solution) -> list[dict]:
    """Targets that shape an optimal plan: binding hard targets, missed soft targets."""
    if data.targets is None:
        return []
    tt = data.targets.table
    shortfall = target_shortfall(data, sol)
    rows = []
    for i, t in tt.iterrows():
        dual = sol.target_dual[i] if sol.target_dual is not None else np.nan
        short = shortfall[i]
        if t["kind"] == "soft" and short > TOL:
            rows.append(_row(
                "target_shortfall", str(t["id"]), float(short), "t",
                f"软约束目标「{t['name_zh']}」（{t['year']}年）未完成，差 {_t(short)} 吨：完成它每吨的代价"
                f"高于罚金 {t['penalty']:,.0f} 元/吨。",
                f"Soft target '{t['name_en']}' ({t['year']}) is missed by {_t(short)} t: meeting it "
                f"would cost more than its penalty of {t['penalty']:,.0f} yuan/t."))
        elif t["kind"] == "hard" and np.isfinite(dual) and dual > 1e-6:
            rows.append(_row(
                "binding_target", str(t["id"]), float(dual), "yuan/t",
                f"目标「{t['name_zh']}」（{t['year']}年）约束了方案：目标每提高 1 吨，总成本增加 {dual:,.2f} 元。",
                f"Target '{t['name_en']}' ({t['year']}) binds: each extra tonne of target adds "
                f"{dual:,.2f} yuan to the total cost."))
    return rows


def no_solution(reason_zh: str, reason_en: str) -> pd.DataFrame:
    return pd.DataFrame([_row("no_plan", "", 0.0, "", reason_zh, reason_en)], columns=COLUMNS)


def iis_rows(constraints: list[str]) -> list[dict]:
    return [_row("iis", c, 0.0, "", f"不可行约束子集（IIS）成员：{c}",
                 f"Member of the irreducible infeasible subset (IIS): {c}") for c in constraints]


def _row(kind: str, subject: str, amount: float, unit: str, zh: str, en: str) -> dict:
    return {"kind": kind, "subject": subject, "amount": float(amount), "unit": unit,
            "message_zh": zh, "message_en": en}
