"""Monitor: statuses, projections to the target year, and the plain-words summary."""

from __future__ import annotations

import pandas as pd
import pytest

from resynergy.indicators import evaluate_all
from resynergy.monitor import monitor
from resynergy.report.labels import Names
from support.toys import toy_flows, toy_scenario


def targets(rows):
    base = dict(region="", material="", kind="report", unit="t", name_zh="目标", name_en="target")
    return pd.DataFrame([{**base, **r} for r in rows])


def values(indicator, series, region="", material=""):
    return pd.DataFrame({"indicator": indicator, "region": region, "material": material,
                         "year": list(series), "value": list(series.values())})


def test_met_and_missed_on_recorded_flows():
    s = toy_scenario()
    m = monitor(s.table("targets"), evaluate_all(toy_flows(), s)).table.set_index("id")
    assert m.loc["t_isw", "status"] == "met"
    assert m.loc["t_agg", "status"] == "missed"
    assert m.loc["t_disp", "status"] == "missed"  # a ceiling: 30 t disposed against 10 t
    assert m.loc["t_agg", "method_en"] == "value of the target year"


def test_linear_trend_projects_on_track_and_at_risk():
    t = targets([dict(id="a", indicator="isw_utilized", year=2022, value=150.0),
                 dict(id="b", indicator="isw_utilized", year=2022, value=170.0)])
    m = monitor(t, values("isw_utilized", {2019: 100.0, 2020: 120.0, 2021: 140.0}))
    r = m.table.set_index("id")
    assert r.loc["a", "projected"] == pytest.approx(160.0)  # 100, 120, 140 → 160
    assert r.loc["a", "status"] == "on_track"
    assert r.loc["b", "status"] == "at_risk"
    assert r.loc["b", "shortfall"] == pytest.approx(10.0)
    assert "least-squares" in r.loc["a", "method_en"] and "2019–2021" in r.loc["a", "method_en"]
    proj = m.trajectory[(m.trajectory["id"] == "a") & (m.trajectory["kind"] == "projected")]
    assert proj["year"].tolist() == [2022] and proj["value"].tolist() == pytest.approx([160.0])


def test_one_year_is_held_constant_and_the_method_says_so():
    t = targets([dict(id="a", indicator="isw_utilized", year=2025, value=150.0)])
    r = monitor(t, values("isw_utilized", {2021: 140.0})).table.iloc[0]
    assert r["projected"] == 140.0 and r["status"] == "at_risk"
    assert "held constant" in r["method_en"]


def test_ceiling_projection_uses_the_downward_trend():
    t = targets([dict(id="c", indicator="co2", year=2024, value=80.0, unit="kg")])
    r = monitor(t, values("co2", {2020: 120.0, 2021: 110.0, 2022: 100.0})).table.iloc[0]
    assert r["projected"] == pytest.approx(80.0)
    assert r["status"] == "on_track"


def test_no_value_at_all():
    t = targets([dict(id="future", indicator="isw_utilized", year=2030, value=1.0),
                 dict(id="past", indicator="isw_utilized", year=2020, value=1.0)])
    other = values("isw_utilized", {2022: 5.0}, region="110000")  # a different scope
    r = monitor(t, other).table.set_index("id")
    assert r.loc["future", "status"] == "at_risk"
    assert r.loc["past", "status"] == "missed"
    assert r.loc["past", "method_en"] == "no value available"


def test_scope_by_province_and_material():
    t = targets([dict(id="h", indicator="isw_utilized", region="130000", material="tailings",
                      year=2022, value=80.0)])
    s = toy_scenario()
    r = monitor(t, evaluate_all(toy_flows(), s)).table.iloc[0]
    assert r["value"] == pytest.approx(90.0) and r["status"] == "met"


def test_summary_in_plain_words_both_languages():
    s = toy_scenario()
    m = monitor(s.table("targets"), evaluate_all(toy_flows(), s))
    names = Names(s)
    zh, en = m.status_text("zh", names), m.status_text("en", names)
    assert zh.startswith("按实际数据评估，共 4 项目标：达成 2 项")
    assert "骨料替代能力（2022年）：目标 500.0 吨，实际 180.0 吨，完成率 36%，缺口 320.0 吨" in zh
    assert "超出上限 20.0 吨" in zh
    assert en.startswith("Evaluated on actual data: 4 targets — 2 met, 0 on track")
    assert "Aggregate capacity (2022): target 500.0 t, value 180.0 t" in en
    assert m.counts() == {"met": 2, "on_track": 0, "at_risk": 0, "missed": 2}
