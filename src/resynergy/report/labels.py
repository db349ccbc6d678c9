"""Bilingual words of the reports: names from the scenario and statuses.

Labels of result columns and of cost and emission components are declared with the output
tables (:mod:`resynergy.schema.outputs`)."""

from __future__ import annotations

from resynergy.scenario.names import Names  # the one bilingual name lookup, re-exported
from resynergy.schema.outputs import value_label

__all__ = ["STATUS", "LANGS", "Names", "component", "status", "pick"]

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

LANGS = ("zh", "en")  # the languages of every report and page: Chinese first


def pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def status(s: str, lang: str) -> str:
    return pick(STATUS[s], lang) if s in STATUS else s


def component(c: str, lang: str) -> str:
    """A cost or emission component in words (declared in schema/output_values.csv)."""
    return value_label("component", c, lang)
