"""Plain-language explanation of what binds or fails in a plan (zh-CN and English).

An infeasible plan is re-solved with elastic slacks (``model.build(elastic=True)``): every hard
requirement — hard targets, must-meet demands, must-use supplies, corridor rail shares, the CO2
cap — may be violated at a penalty far above any real cost, so the relaxed optimum violates as
little as possible. The non-zero slacks are the cheapest relaxation; this module words them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from resynergy.planner.data import MODEL_BASES, ModelData, _targets
from resynergy.planner.names import ELASTIC_PENALTY
from resynergy.planner.results import TOL, Solution, capacity, target_values
from resynergy.scenario.names import Names
from resynergy.scenario.protocol import ScenarioLike
from resynergy.schema import outputs
from resynergy.states import SolverStatus, TargetStatus

if TYPE_CHECKING:
    from resynergy.indicators.definitions import Indicator
    from resynergy.planner.plan import Plan
    from resynergy.planner.resolve import Probes

COLUMNS = outputs.column_names("diagnosis")


def _t(v: float) -> str:
    return f"{v:,.0f}"


class _Names(Names):
    """The scenario's names (:class:`resynergy.scenario.names.Names`) as diagnosis sentences
    use them."""

    def __init__(self, data: ModelData):
        # the names ``prepare`` read (Names.read), shared rather than read again
        self._scenario, self._maps = None, data.names._maps

    def site(self, sid: str, lang: str) -> str:
        return self("site", sid, lang)

    def mat(self, code: str, lang: str) -> str:
        return self("material", code, lang)

    def region(self, code: str, lang: str) -> str:
        if not code:  # in a sentence: "(the whole region, 2022)"
            return "全区域" if lang == "zh" else "the whole region"
        return self("region", code, lang)


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
    for yi, s in zip(*np.nonzero((sol.disp > TOL) & data.supply.must_use), strict=True):
        site, mat = data.supply.table.at[s, "site"], data.supply.table.at[s, "material"]
        amt = sol.disp[yi, s]
        rows.append(_row("must_use", f"{site}/{mat}/{years[yi]}", amt, "t",
                         f"{n.site(site, 'zh')}的{n.mat(mat, 'zh')}禁止处置，但{years[yi]}年有 "
                         f"{_t(amt)} 吨无法利用：可达范围内的处理能力或产品需求不足。",
                         f"{n.mat(mat, 'en')} at {n.site(site, 'en')} may not be disposed of, but "
                         f"{_t(amt)} t cannot be used in {years[yi]}: not enough processing "
                         "capacity or product demand within reach."))
    missing = sol.unmet + (sol.shortage if sol.shortage is not None else 0.0)  # virgin or short
    for yi, k in zip(*np.nonzero((missing > TOL) & data.demand.must_meet), strict=True):
        site, mat = data.demand.table.at[k, "site"], data.demand.table.at[k, "material"]
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
                f"必须完成的目标「{t['name_zh']}」（{n.region(t['region'], 'zh')}，{t['year']}年）无法实现："
                f"最好的方案只能达到 {_t(reach)} 吨，比目标 {_t(target)} 吨差 {_t(amt)} 吨"
                f"（{pct:.1f}%）。{limits[0]}",
                f"Required target '{t['name_en']}' ({n.region(t['region'], 'en')}, {t['year']}) cannot "
                f"be met: the best plan reaches {_t(reach)} t, {_t(amt)} t ({pct:.1f}%) short of "
                f"{_t(target)} t. {limits[1]}"))
    for i, per_year in enumerate(slacks.get("corridor", [])):
        c = data.corridors.table.iloc[i]
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
        c = data.corridors.table.iloc[i]
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
    facs = np.unique(data.arc.fac_in[mask])
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
        fac = data.facility.table.iloc[k]
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
    """Targets that bind an optimal plan (required targets with a marginal cost); missed
    targets are explained by :func:`causes`."""
    if data.targets is None:
        return []
    tt = data.targets.table
    rows = []
    for i, t in tt.iterrows():
        dual = sol.target_dual[i] if sol.target_dual is not None else np.nan
        if t["kind"] == "hard" and np.isfinite(dual) and dual > 1e-6:
            rows.append(_row(
                "binding_target", str(t["id"]), float(dual), "yuan/t",
                f"目标「{t['name_zh']}」（{t['year']}年）约束了方案：目标每提高 1 吨，总成本增加 {dual:,.2f} 元。",
                f"Target '{t['name_en']}' ({t['year']}) binds: each extra tonne of target adds "
                f"{dual:,.2f} yuan to the total cost."))
    return rows


def no_solution(reason_zh: str, reason_en: str) -> pd.DataFrame:
    return pd.DataFrame([_row("no_plan", "", 0.0, "", reason_zh, reason_en)], columns=COLUMNS)


def start_plan(start: tuple[str, str], gap: float | None, time_limit: float) -> pd.DataFrame:
    """The plan came from a start, not from HiGHS's search (``solve._complete``): say so, and
    how far from the best plan it may be — ``gap`` = (cost − bound) / cost against the best
    lower bound HiGHS proved: the cheapest plan costs at most ``gap`` of this one's cost less;
    "unknown" when no bound was proved, or when the bound is zero or below (gap ≥ 100 %)."""
    lead_zh = (f"求解器在 {time_limit:g} 秒内未找到可行方案，本方案是从「{start[0]}」出发、"
               "固定建设决策后优化运输与处理求得的：它满足全部硬性要求，可以执行，但不一定是成本最低的方案。")
    lead_en = (f"The solver found no feasible plan within {time_limit:g} s; this plan starts from "
               f"the {start[1]}, with the build decisions fixed and transport and processing "
               "optimised: it meets every hard requirement and can be carried out, but it may not "
               "be the cheapest plan.")
    if gap is None:
        zh = lead_zh + "与最优方案的成本差距未知（时间限制内未求得成本下界）。放宽时间限制可得到更好的方案和差距。"
        en = lead_en + (" How far it is from the cheapest plan is unknown (no lower bound on the "
                        "cost was proved within the limit); allow more time for a better plan "
                        "and a stated gap.")
        amount = float("nan")
    elif gap >= 1.0:  # the bound is zero or below: it says nothing about this plan's cost
        zh = lead_zh + (f"求解器证明的成本下界不高于零（差距为本方案成本的 {gap:.1%}），"
                        "无法说明本方案离成本最低的方案有多远。放宽时间限制可得到更好的方案和有意义的差距。")
        en = lead_en + (f" The lower bound the solver proved on the cost is zero or below (a gap "
                        f"of {gap:.1%} of this plan's cost), so how far this plan is from the "
                        "cheapest one is unknown; allow more time for a better plan and a useful "
                        "gap.")
        amount = 100.0 * gap
    else:  # gap = (cost − bound) / cost: the cheapest plan costs at least (1 − gap) × cost
        zh = lead_zh + f"成本最低的方案至多比本方案便宜 {gap:.1%}（依据求解器证明的成本下界）。"
        en = lead_en + (f" The cheapest plan costs at most {gap:.1%} less than this one (against "
                        "the lower bound the solver proved).")
        amount = 100.0 * gap
    return pd.DataFrame([_row("start_plan", "", amount, "%", zh, en)], columns=COLUMNS)


def iis_rows(constraints: list[str]) -> list[dict]:
    return [_row("iis", c, 0.0, "", f"不可行约束子集（IIS）成员：{c}",
                 f"Member of the irreducible infeasible subset (IIS): {c}") for c in constraints]


def _row(kind: str, subject: str, amount: float, unit: str, zh: str, en: str) -> dict:
    return {"kind": kind, "subject": subject, "amount": float(amount), "unit": unit,
            "message_zh": zh, "message_en": en}


# ---- why a target is missed: one cause per missed target ----------------------------------
#
# Every missed target gets one row (subject = the target id) whose kind is its cause, one of
# :data:`CAUSES`, in words a provincial official uses, plus rows of kind ``gap`` (subject
# ``id/province/material``) that split the gap by province and material:
#
# - ``data_ceiling``: the most the scenario could deliver is below the target. For targets the
#   model can express it is the optimum of an LP that maximises the indicator (up to the target)
#   on the same model data, with every candidate and expansion allowed and integrality relaxed
#   (so it is an upper bound); for output value, the value of all product demand;
# - ``cost``: reachable; a re-solve with the target made binding says what each extra tonne
#   costs at the margin (the dual of the target row once the builds are fixed), and the extra
#   total cost;
# - ``capacity``: reachable, but only with new or expanded capacity: the re-solve names the
#   builds and expansions that close the gap (with their annualised cost) and the facilities
#   and rail terminals that run full in the plan, and lists those builds again as rows of kind
#   ``action`` (subject ``id/facility``, t/yr added), largest first;
# - ``outside_model``: count targets (programmes): N recognised of M required, and the
#   programmes proposed or approved but not built.
#
# The extra solves run only for missed targets, on the same ModelData (no network rebuild).

CAUSES = ("data_ceiling", "cost", "capacity", "outside_model", "report_only")
_REL = 1e-6


# Not :func:`resynergy.schema.numbers.quantity`: a cause compares several amounts in one sentence
# (gap, best, target, plan), so tonnes stay in ONE unit (万吨 / Mt, never 亿吨 or kt beside them),
# and the cost causes keep their own rounding; quantity() picks each number's magnitude apart.
def _mt(v: float, lang: str) -> str:
    """Tonnes in the unit a planner reads: 万吨 in Chinese, Mt in English."""
    if lang == "zh":
        return f"{v / 1e4:,.0f} 万吨" if abs(v) >= 1e5 else f"{v:,.1f} 吨"
    return f"{v / 1e6:,.2f} Mt" if abs(v) >= 1e5 else f"{v:,.1f} t"


def _yuan(v: float, lang: str) -> str:
    if lang == "zh":
        return (f"{v / 1e8:,.2f} 亿元" if abs(v) >= 1e7 else f"{v / 1e4:,.1f} 万元" if abs(v) >= 1e4
                else f"{v:,.0f} 元")
    return (f"{v / 1e9:,.2f} bn yuan" if abs(v) >= 1e8 else f"{v / 1e6:,.1f} m yuan"
            if abs(v) >= 1e5 else f"{v:,.0f} yuan")


def _amount(v: float, unit: str, lang: str) -> str:
    if unit == "yuan":
        return f"{v / 1e8:,.1f} 亿元" if lang == "zh" else f"{v / 1e9:,.1f} bn yuan"
    if unit == "count":
        return f"{v:,.0f} 个" if lang == "zh" else f"{v:,.0f}"
    return _mt(v, lang)


def _one_target(data: ModelData, i: int, kind: str) -> ModelData:
    """``data`` with only modelled target ``i``, as ``kind`` (the other targets dropped)."""
    import dataclasses

    from resynergy.planner.data import Targets

    assert data.targets is not None
    tt = data.targets.table.iloc[[i]].reset_index(drop=True).assign(kind=kind)
    if kind == "soft":
        tt["penalty"] = 1.0
    t = Targets(table=tt, arc_mask=[data.targets.arc_mask[i]],
                fac_weight=[data.targets.fac_weight[i]])
    return dataclasses.replace(data, targets=t)


def _with_hard(data: ModelData, i: int) -> ModelData:
    """``data`` with modelled target ``i`` made binding, the other targets as they are."""
    import dataclasses

    from resynergy.planner.data import Targets

    assert data.targets is not None
    tt = data.targets.table.copy()
    tt.loc[i, "kind"] = "hard"
    return dataclasses.replace(data, targets=Targets(table=tt, arc_mask=data.targets.arc_mask,
                                                     fac_weight=data.targets.fac_weight))


def most_reachable(data: ModelData, i: int, resolve: Probes) -> float | None:
    """The most of modelled target ``i``'s indicator the scenario can deliver, capped at the
    target (LP relaxation of the same model with only this target, minimising its shortfall).
    None when the LP finds no plan."""
    assert data.targets is not None
    t = data.targets.table.loc[i]
    slack = resolve.reachable(data, i)
    if slack is None:
        return None
    return float(t["value_t"]) - max(slack, 0.0) * float(t["sense"])


def causes(data: ModelData, scenario: ScenarioLike, plan: Plan, sol: Solution,
           resolve: Probes) -> list[dict]:
    """One ``cause`` row per missed target of ``plan`` (plus ``gap`` rows); see above.
    ``scenario`` is the one ``data`` was prepared from (programmes are read from it).

    ``resolve`` (a :class:`resynergy.planner.resolve.Probes`) re-solves the plan's model with
    its weights and options: ``reachable`` (least shortfall of one target alone, LP
    relaxation), ``with_hard`` (the target made binding) and ``fixed_dual`` (its marginal cost
    with the builds fixed); in place on the plan's HiGHS model where it can."""
    from resynergy.indicators import INDICATORS

    att = plan.targets
    if att is None or not len(att):
        return []
    rows: list[dict] = []
    modelled = ({str(k): i for i, k in data.targets.table["id"].items()}
                if data.targets is not None else {})
    standing = _Standing(plan, scenario)
    for _, r in att[att["status"] == TargetStatus.MISSED].iterrows():
        ind = INDICATORS.get(str(r["indicator"]))
        if ind is None:
            continue
        if ind.basis == "programmes":
            rows += _cause_programmes(data, scenario, r, ind, standing)
        elif str(r["id"]) in modelled:
            rows += _cause_modelled(data, plan, sol, modelled[str(r["id"])], r, resolve)
        elif ind.basis in MODEL_BASES and data.report_targets is not None:
            # a report-only target the model could express: explain it as if it were asked for
            import dataclasses

            row = data.report_targets[data.report_targets["id"] == r["id"]].assign(kind="soft")
            alone = dataclasses.replace(data, targets=_targets(data, row))
            if alone.targets is not None and len(alone.targets.table):
                rows += _cause_modelled(alone, plan, sol, 0, r, resolve)
        elif ind.basis == "output_value":
            rows += _cause_output_value(data, r)
    return rows


def _scope(data: ModelData, r: pd.Series) -> tuple[str, str]:
    n = _Names(data)
    return n.region(str(r["region"] or ""), "zh"), n.region(str(r["region"] or ""), "en")


class _Standing:
    """The programmes that count in each year of a plan, by kind
    (:func:`resynergy.indicators.evaluate.programmes_standing`), its inputs read once for every
    missed programme target."""

    def __init__(self, plan: Plan, scenario: ScenarioLike) -> None:
        self.plan, self.scenario = plan, scenario
        self._inputs: Any = None
        self._by_kind: dict[str | None, pd.DataFrame] = {}

    def __call__(self, kind: str | None) -> pd.DataFrame:
        from resynergy.indicators.evaluate import Inputs, programmes_standing

        if kind not in self._by_kind:
            if self._inputs is None:
                self._inputs = Inputs(self.plan.flows, self.scenario, activity=self.plan.activity)
            self._by_kind[kind] = programmes_standing(self._inputs, kind)
        return self._by_kind[kind]


def _cause_programmes(data: ModelData, scenario: ScenarioLike, r: pd.Series, ind: Indicator,
                      standing: _Standing) -> list[dict]:
    prog = scenario.table("programmes")
    prog = prog[prog["kind"] == ind.programme_kind]
    waiting = prog[prog["status"].isin(["proposed", "approved"])]
    have, need = float(r["value"] or 0), float(r["target"])
    names_zh = "、".join(f"{p['name_zh']}（{'已批复' if p['status'] == 'approved' else '提出'}）"
                         for _, p in waiting.head(8).iterrows())
    names_en = "; ".join(f"{p['name_en']} ({p['status']})" for _, p in waiting.head(8).iterrows())
    more = len(waiting) - 8
    if more > 0:
        names_zh += f" 等 {len(waiting)} 个"
        names_en += f" and {more} more"
    zh = (f"「{r['name_zh']}」由规划外认定决定（优化不会新建或认定项目）：{int(r['year'])}年已建成或验收"
          f" {have:,.0f} 个，目标 {need:,.0f} 个，差 {need - have:,.0f} 个。")
    en = (f"'{r['name_en']}' is decided outside the model (the optimiser does not create or "
          f"recognise programmes): {have:,.0f} built or accepted by {int(r['year'])} of {need:,.0f} "
          f"required, {need - have:,.0f} short.")
    if len(waiting):
        zh += f"已提出或批复但未建成：{names_zh}。"
        en += f" Proposed or approved but not built: {names_en}."
    else:
        zh += "情景中没有已提出或批复的同类项目；需补充项目清单（名称、状态、年份、来源）。"
        en += (" The scenario lists no proposed or approved programme of this kind; add them "
               "(name, status, years, source).")
    return ([_row("outside_model", str(r["id"]), need - have, "count", zh, en)]
            + _programme_gaps(data, r, standing(ind.programme_kind)))


def _programme_gaps(data: ModelData, r: pd.Series, st: pd.DataFrame) -> list[dict]:
    """Programmes that count (``st``, as :class:`_Standing` gives), by province (``gap`` rows)."""
    st = st[st["year"] == int(r["year"])]
    n = _Names(data)
    rows = []
    for prov, k in st.groupby(st["region"].map(lambda c: _province(data, str(c))))["id"].count().items():
        rows.append(_row("gap", f"{r['id']}/{prov}/", float(k), "count",
                         f"{n.region(prov, 'zh')}：已建成或验收 {k} 个。",
                         f"{n.region(prov, 'en')}: {k} built or accepted."))
    return rows


def _cause_output_value(data: ModelData, r: pd.Series) -> list[dict]:
    yi = data.years.index(int(r["year"])) if int(r["year"]) in data.years else None
    if yi is None:
        return []
    bound = float((data.demand.qty[yi] * data.demand.value[yi]).sum())
    target, have = float(r["target"]), float(r["value"] or 0)
    if bound < target * (1 - _REL):
        zh = (f"「{r['name_zh']}」数据上限：情景中全部产品需求按替代品价格计，{int(r['year'])}年产值最多 "
              f"{_amount(bound, 'yuan', 'zh')}，低于目标 {_amount(target, 'yuan', 'zh')}；"
              f"方案为 {_amount(have, 'yuan', 'zh')}。需补充产品需求数据。")
        en = (f"'{r['name_en']}': data ceiling — all product demand in the scenario, valued at the virgin price, is "
              f"worth at most {_amount(bound, 'yuan', 'en')} in {int(r['year'])}, below the "
              f"target {_amount(target, 'yuan', 'en')}; the plan reaches "
              f"{_amount(have, 'yuan', 'en')}. More product demand data is needed.")
        return [_row("data_ceiling", str(r["id"]), bound, "yuan", zh, en)]
    zh = (f"「{r['name_zh']}」为仅报告的指标，不参与优化：方案产值 {_amount(have, 'yuan', 'zh')}，需求总值上限 "
          f"{_amount(bound, 'yuan', 'zh')}。")
    en = (f"'{r['name_en']}' is reported only, not optimised: the plan's output is {_amount(have, 'yuan', 'en')}, "
          f"all demand is worth {_amount(bound, 'yuan', 'en')}.")
    return [_row("report_only", str(r["id"]), bound, "yuan", zh, en)]


def _real_cost(data: ModelData, sol: Solution) -> float:
    from resynergy.planner.results import costs

    c = costs(data, sol)
    return float(c.loc[c["component"] != "target_penalty", "yuan"].sum())


def _cause_modelled(data: ModelData, plan: Plan, sol: Solution, i: int, r: pd.Series,
                    resolve: Probes) -> list[dict]:
    assert data.targets is not None
    t = data.targets.table.loc[i]
    target = float(t["value_t"])
    yi = data.years.index(int(t["year"]))
    have = float(target_values(data, sol)[i])
    gap = max(target - have, 0.0) if t["sense"] > 0 else max(have - target, 0.0)
    name_zh, name_en = str(r["name_zh"]), str(r["name_en"])
    where_zh, where_en = _scope(data, r)
    head_zh = f"「{name_zh}」（{where_zh}，{int(t['year'])}年）差 {_mt(gap, 'zh')}："
    head_en = f"'{name_en}' ({where_en}, {int(t['year'])}) is {_mt(gap, 'en')} short: "
    gaps = _gap_rows(data, sol, i, str(r["id"]))
    best = most_reachable(data, i, resolve) if t["sense"] > 0 else None
    if best is not None and best < target * (1 - _REL) - TOL:
        sup_zh, sup_en, fix_zh, fix_en = _ceiling_words(data, i, yi, target, best)
        zh = (head_zh + f"数据上限——即使建成全部候选设施和扩能，情景最多能完成 {_mt(best, 'zh')}{sup_zh}，"
              f"低于目标 {_mt(target, 'zh')}；方案完成 {_mt(have, 'zh')}。{fix_zh}")
        en = (head_en + f"data ceiling — even with every candidate and expansion, the scenario can "
              f"deliver at most {_mt(best, 'en')}{sup_en}, below the target {_mt(target, 'en')}; "
              f"the plan reaches {_mt(have, 'en')}. {fix_en}")
        return [_row("data_ceiling", str(r["id"]), best, "t", zh, en)] + gaps
    hard = _with_hard(data, i)
    has_binaries, run = resolve.with_hard(data, i)
    if run.status == SolverStatus.INFEASIBLE and t["sense"] > 0:
        # no plan meets it, even building everything (proved): a data ceiling whose height the
        # "reachable" probe did not find in time (at 10^5 synthetic sites it ran to its limit),
        # or which only fractions of plants would pass (the probe is the LP relaxation)
        sup_zh, sup_en, fix_zh, fix_en = _ceiling_words(data, i, yi, target, None)
        if best is None:
            why_zh = "情景最多能完成多少未在时间限制内求出"
            why_en = "the most the scenario can deliver was not found within the time limit"
        else:
            why_zh = "只有按比例建设部分设施（线性松弛）才能达到目标"
            why_en = "only fractions of plants (the LP relaxation) would reach it"
        zh = (head_zh + f"数据上限——即使建成全部候选设施和扩能，也没有方案能完成目标 {_mt(target, 'zh')}"
              f"（求解器已证明不可行）{sup_zh}；{why_zh}。方案完成 {_mt(have, 'zh')}。{fix_zh}")
        en = (head_en + f"data ceiling — no plan meets the target {_mt(target, 'en')}, even with "
              f"every candidate and expansion (the solver proved it infeasible){sup_en}; "
              f"{why_en}. The plan reaches {_mt(have, 'en')}. {fix_en}")
        return [_row("data_ceiling", str(r["id"]), float("nan"), "t", zh, en)] + gaps
    if run.solution is None:
        if best is None and t["sense"] > 0:  # the "reachable" probe found no answer either
            zh = (head_zh + "在时间限制内既未求得数据上限（即情景最多能完成多少），也未找到完成目标的方案；"
                  "放宽时间限制可得到原因。")
            en = (head_en + "within the time limit neither the data ceiling (the most the "
                  "scenario can deliver) nor a plan meeting the target was found; allow more "
                  "time to learn why.")
        else:
            zh = (head_zh + "可以达到（数据上限不低于目标），但在时间限制内未找到完成目标的方案。")
            en = (head_en + "reachable (the data ceiling is not below the target), but no plan "
                  "meeting it was found within the time limit.")
        return [_row("cost", str(r["id"]), gap, "t", zh, en)] + gaps
    hsol = run.solution
    marginal = float("nan")
    if hsol.target_dual is not None and np.isfinite(hsol.target_dual[i]):
        marginal = float(hsol.target_dual[i])
    elif has_binaries:
        marginal = resolve.fixed_dual(data, i, hsol.build)
    extra = _real_cost(hard, hsol) - _real_cost(data, sol)
    per_t = extra / max(gap, TOL)
    capacity_basis = t["basis"] != "facility_input"
    unit_zh, unit_en = ("吨/年能力", "t/yr of capacity") if capacity_basis else ("吨", "tonne")
    if not np.isfinite(marginal) or marginal <= 1e-6:
        # builds come in whole plants: once they are fixed, one more unit costs nothing extra,
        # so the honest figure is the average over the gap
        marginal = float("nan")
    cost_zh = (f"每多完成1{unit_zh}的边际成本约 {marginal:,.0f} 元" if np.isfinite(marginal)
               else f"每多完成1{unit_zh}平均成本约 {per_t:,.0f} 元")
    cost_en = (f"each extra {unit_en} costs about {marginal:,.0f} yuan at the margin"
               if np.isfinite(marginal) else
               f"each extra {unit_en} costs about {per_t:,.0f} yuan on average")
    avg_zh = f"，完成目标总成本增加约 {_yuan(extra, 'zh')}"
    avg_en = f"; meeting it adds about {_yuan(extra, 'en')} in total"
    if np.isfinite(marginal):
        avg_zh += f"（平均每{unit_zh} {per_t:,.0f} 元）"
        avg_en += f" ({per_t:,.0f} yuan per {unit_en} on average)"
    if not np.isfinite(marginal):
        marginal = per_t
    price_unit = "yuan per t/yr" if capacity_basis else "yuan/t"
    builds = _new_capacity(data, sol, hsol, yi)
    if builds:
        full_zh, full_en = _running_full(data, sol, i, yi)
        zh = (head_zh + f"能力或运输不足——{full_zh}需新建或扩建：{'；'.join(b[0] for b in builds)}。"
              f"{cost_zh}{avg_zh}。")
        en = (head_en + f"capacity or transport limits — {full_en}it needs: "
              f"{'; '.join(b[1] for b in builds)}. {cost_en[0].upper() + cost_en[1:]}{avg_en}.")
        # the same builds as actions (subject target/facility, t/yr added): what the plan that
        # meets the target adds, largest first — the planner's answer to "what to do"
        actions = [_row("action", f"{r['id']}/{b[2]}", b[3], "t/yr", b[0], b[1]) for b in builds]
        return [_row("capacity", str(r["id"]), marginal, price_unit, zh, en)] + actions + gaps
    zh = head_zh + f"成本——目标可以用现有能力完成，{cost_zh}{avg_zh}；方案认为不值得。"
    en = (head_en + f"cost — it can be met with the capacity in place; {cost_en}{avg_en}, more "
          "than the scenario values it.")
    return [_row("cost", str(r["id"]), marginal, price_unit, zh, en)] + gaps


def _ceiling_words(data: ModelData, i: int, yi: int, target: float,
                   best: float | None) -> tuple[str, str, str, str]:
    """What a data ceiling of target ``i`` comes from, in words (zh, en): the counted materials
    in scope when they hold less than the target, else capacity and product demand. ``best``:
    the most the scenario can deliver, when known."""
    supply = _supply_bound(data, i, yi)
    sup_zh = (f"（情景中可用的相关物料共 {_mt(supply, 'zh')}）" if supply is not None else "")
    sup_en = (f" (the scenario holds {_mt(supply, 'en')} of the materials counted)"
              if supply is not None else "")
    if supply is not None and supply < target * (1 - _REL):
        fix_zh, fix_en = "物料本身不足", "The materials themselves fall short of the target"
        if best is not None and best < supply * (1 - 1e-3):
            fix_zh += "，且设施能力与产品需求使可利用量更低"
            fix_en += ", and facility capacity and product demand keep use below the supply"
        fix_zh += "：需补充来源数据或调整目标。"
        fix_en += ": add supply data or revise the target."
    else:
        fix_zh = "上限来自设施能力（含全部候选和扩能）与产品需求：需补充候选设施或产品需求数据，或调整目标。"
        fix_en = ("The limit is facility capacity (with every candidate and expansion) and "
                  "product demand: add candidates or demand data, or revise the target.")
    return sup_zh, sup_en, fix_zh, fix_en


def _supply_bound(data: ModelData, i: int, yi: int) -> float | None:
    """t of counted materials available in scope in year ``yi`` (generation + stock drawable),
    for facility_input targets."""
    assert data.targets is not None
    mask = data.targets.arc_mask[i]
    if data.targets.table.at[i, "basis"] != "facility_input":
        return None
    src = np.unique(data.arc.from_sup[mask])
    src = src[src >= 0]
    return float((data.supply.gen[yi, src] + data.supply.draw_max[yi, src]).sum())


def _province(data: ModelData, region: str) -> str:
    from resynergy.scenario.regions import province_code

    return province_code(region)


def _gap_rows(data: ModelData, sol: Solution, i: int, tid: str, top: int = 8) -> list[dict]:
    """Counted and available t by province and material (facility_input targets): where the
    unused supply is. The largest ``top`` by available supply."""
    assert data.targets is not None
    if data.targets.table.at[i, "basis"] != "facility_input":
        return []
    yi = data.years.index(int(data.targets.table.at[i, "year"]))
    mask = data.targets.arc_mask[i]
    n = _Names(data)
    a = data.net.arcs
    src = data.arc.from_sup[mask]
    src = np.unique(src[src >= 0])
    sup = data.supply.table.iloc[src]
    region = data.sites["region"].reindex(sup["site"]).astype(str).to_numpy()
    avail = pd.DataFrame({"province": [_province(data, c) for c in region],
                          "material": sup["material"].to_numpy(),
                          "avail": data.supply.gen[yi, src] + data.supply.draw_max[yi, src]})
    idx = np.flatnonzero(mask)
    site_region = data.sites["region"].astype(str).to_numpy()[data.arc.src[idx]]
    used = pd.DataFrame({"province": [_province(data, c) for c in site_region],
                         "material": a["material"].to_numpy()[idx], "used": sol.x[yi, idx]})
    g = (avail.groupby(["province", "material"])["avail"].sum().to_frame()
         .join(used.groupby(["province", "material"])["used"].sum(), how="outer").fillna(0.0))
    g = g[g["avail"] + g["used"] > TOL].sort_values("avail", ascending=False).head(top)
    rows = []
    for (prov, mat), v in g.iterrows():
        rest = max(v["avail"] - v["used"], 0.0)
        rows.append(_row(
            "gap", f"{tid}/{prov}/{mat}", rest, "t",
            f"{n.region(prov, 'zh')} {n.mat(mat, 'zh')}：可用 {_mt(v['avail'], 'zh')}，计入 "
            f"{_mt(v['used'], 'zh')}，未利用 {_mt(rest, 'zh')}。",
            f"{n.region(prov, 'en')}, {n.mat(mat, 'en')}: {_mt(v['avail'], 'en')} available, "
            f"{_mt(v['used'], 'en')} counted, {_mt(rest, 'en')} unused."))
    return rows


def _new_capacity(data: ModelData, sol: Solution, hsol: Solution, yi: int,
                  top: int = 5) -> list[tuple[str, str, str, float, float]]:
    """Builds and expansions the target-meeting plan adds over the plan by year ``yi``, largest
    first: (words zh, words en, facility id, t/yr added, annualised cost in yuan)."""
    n = _Names(data)
    opened = (hsol.open()[yi] > 0.5) & ~(sol.open()[yi] > 0.5)
    grown = np.cumsum(hsol.exp, axis=0)[yi] - np.cumsum(sol.exp, axis=0)[yi]
    add = np.where(opened, data.facility.cap_c, 0.0) + np.clip(grown, 0.0, None)
    out = []
    for f in np.argsort(-add)[:top]:
        if add[f] <= TOL:
            break
        fac = data.facility.table.iloc[f]
        yearly = data.facility.capex_annual[f] * add[f] + (data.facility.fixed[f] if opened[f] else 0.0)
        pz = data.processes["name_zh"].get(fac["process"], fac["process"])
        pe = data.processes["name_en"].get(fac["process"], fac["process"])
        verb_zh, verb_en = ("新建", "build") if opened[f] else ("扩建", "expand")
        out.append((f"{verb_zh}{n.site(fac['site'], 'zh')}{pz} {_mt(add[f], 'zh')}/年"
                    f"（年化投资约 {_yuan(yearly, 'zh')}）",
                    f"{verb_en} {pe} at {n.site(fac['site'], 'en')} by {_mt(add[f], 'en')}/yr "
                    f"(about {_yuan(yearly, 'en')} a year)", str(fac["id"]), float(add[f]), float(yearly)))
    return out


def _running_full(data: ModelData, sol: Solution, i: int, yi: int) -> tuple[str, str]:
    """The counted facilities and rail terminals that run full in the plan (a short clause)."""
    assert data.targets is not None
    mask = data.targets.arc_mask[i]
    facs = np.unique(data.arc.fac_in[mask]) if mask.any() else np.flatnonzero(
        data.targets.fac_weight[i] > 0)
    facs = facs[facs >= 0]
    cap = capacity(data, sol)[yi, facs]
    full = int(((cap > TOL) & (sol.act[yi, facs] >= cap * (1 - 1e-6))).sum())
    zh = f"可计入的 {len(facs)} 座设施中 {full} 座已满负荷，"
    en = f"{full} of the {len(facs)} facilities that count run at full capacity; "
    a = data.net.arcs
    if mask.any() and len(data.arc.terminal_cap):
        used = np.zeros(len(data.arc.terminal_cap))
        for col in ("t_from", "t_to"):
            pos = a[col].to_numpy()
            on = np.flatnonzero(pos >= 0)
            np.add.at(used, pos[on], sol.x[yi, on])
        touched = set()
        for col in ("t_from", "t_to"):
            pos = a[col].to_numpy()[mask]
            touched |= set(pos[pos >= 0].tolist())
        busy = [k for k in touched if np.isfinite(data.arc.terminal_cap[k])
                and used[k] >= data.arc.terminal_cap[k] * (1 - 1e-6) and data.arc.terminal_cap[k] > 0]
        if busy:
            zh += f"{len(busy)} 个铁路货场能力已用满，"
            en += f"{len(busy)} rail terminal(s) are full; "
    n = _Names(data)
    said: set[tuple[str, str]] = set()
    for k, arcs in enumerate(data.corridors.arcs):
        # only corridors that carry counted tonnes (capacity targets have none)
        share = float(data.corridors.table["min_rail_share"].iloc[k])
        moved = float(sol.x[yi, arcs].sum())
        if share <= 0 or not (arcs & mask).any() or moved <= TOL:
            continue
        rail = float((sol.x[yi, arcs] * data.arc.rail[arcs]).sum())
        c = data.corridors.table.iloc[k]
        z = (f"通道 {n.region(c['from_region'], 'zh')}→{n.region(c['to_region'], 'zh')} "
             f"的最低铁路占比 {share:.0%} 已到限，")
        e = (f"corridor {n.region(c['from_region'], 'en')} → "
             f"{n.region(c['to_region'], 'en')} is at its {share:.0%} minimum rail share; ")
        if rail <= share * moved * (1 + 1e-6) + TOL and (z, e) not in said:
            said.add((z, e))
            zh += z
            en += e
    return zh, en
