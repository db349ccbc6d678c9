"""Bilingual words of the reports: names from the scenario, statuses and cost components.

Labels of result columns are declared with the output tables (:mod:`resynergy.schema.outputs`)."""

from __future__ import annotations

from resynergy.scenario.names import Names  # the one bilingual name lookup, re-exported

__all__ = ["STATUS", "COMPONENTS", "LANGS", "Names", "component", "status", "pick"]

STATUS: dict[str, tuple[str, str]] = {
    "met": ("达成", "met"),
    "on_track": ("进度正常", "on track"),
    "at_risk": ("存在风险", "at risk"),
    "missed": ("未达成", "missed"),
    "not_measurable": ("无法从流向数据计量", "not measurable from flows"),
    "reported": ("仅报告（计划未设数量）", "reported only (no figure in the plan)"),
    "optimal": ("最优", "optimal"),
    "time_limit": ("达到时限（可行解）", "time limit (feasible)"),
    "relaxed": ("放宽目标后求解", "solved with relaxed targets"),
    "infeasible": ("不可行", "infeasible"),
    "heuristic": ("启发式（贪心基线）", "heuristic (greedy baseline)"),
    "not_planned": ("未纳入规划年份", "year not planned"),
}

# Cost and emission components the planner reports; others are shown by their id.
COMPONENTS: dict[str, tuple[str, str]] = {
    "transport": ("运输", "transport"),
    "transport_road": ("公路运输", "road transport"),
    "transport_rail": ("铁路运输", "rail transport"),
    "process": ("加工过程", "processing"),
    "virgin_purchase": ("外购原生替代品", "virgin alternatives bought"),
    "virgin_alternative": ("外购原生替代品", "virgin alternatives bought"),
    "target_penalty": ("目标缺口折算", "target shortfall, priced"),
    "shortage": ("供应短缺折算", "shortage, priced"),
    "onsite_handling": ("同址利用短驳", "on-site handling"),
    "handling": ("货场装卸", "terminal handling"),
    "processing": ("加工运行", "processing"),
    "opex": ("运行成本", "operating cost"),
    "capex": ("投资年金", "capital (annuity)"),
    "fixed": ("固定成本", "fixed cost"),
    "disposal": ("处置", "disposal"),
    "env_tax": ("环境保护税", "environmental tax"),
    "carbon": ("碳成本", "carbon cost"),
    "incentives": ("税收优惠", "tax incentives"),
    "revenue": ("产品收入", "product revenue"),
    "penalty": ("目标缺口折算", "target shortfall, priced"),
    "unmet_demand": ("需求未满足", "unmet demand"),
}

LANGS = ("zh", "en")  # the languages of every report and page: Chinese first


def pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def status(s: str, lang: str) -> str:
    return pick(STATUS[s], lang) if s in STATUS else s


def component(c: str, lang: str) -> str:
    return pick(COMPONENTS[c], lang) if c in COMPONENTS else c
