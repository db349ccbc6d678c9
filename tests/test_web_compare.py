"""Run comparison has one definition (``report.compare``: quantities → side_by_side) shared by
``resynergy compare`` and the platform; B − A is shown for every quantity in the report's words.
Regression: the compare page printed the rail share (a fraction, 0.028) with no decimals: "0"."""

from __future__ import annotations

import math

from resynergy.report.compare import delta_text, difference, side_by_side
from resynergy.services import plans


def q(key, unit, value, kind="indicator"):
    return {"key": key, "kind": kind, "unit": unit, "name_zh": f"名称 {key}", "name_en": f"name {key}", "value": value}


def summary(rail: float, utilized: float, attainment: float | None) -> dict:
    return {"status": "optimal", "quantities": [
        q("status", "", "optimal", "status"), q("indicator.rail_share.2022", "share", rail),
        q("indicator.isw_utilized.2022", "t", utilized), q("target.t1", "share", attainment, "attainment")]}


def test_b_minus_a_for_every_quantity_in_the_reports_words():
    rows = {r["key"]: r for r in plans.compare(summary(0.028, 9.0e8, 0.9), summary(0.041, 9.5e8, None))}
    rail = rows["indicator.rail_share.2022"]
    assert (rail["a_text"], rail["b_text"], rail["delta_text"]) == ("2.8%", "4.1%", "+1.3 个百分点")
    assert math.isclose(rail["delta"], 0.013)
    used = rows["indicator.isw_utilized.2022"]
    assert (used["a_text"], used["b_text"], used["delta_text"]) == ("9.00 亿吨", "9.50 亿吨", "+5,000.00 万吨")
    assert rows["target.t1"]["b_text"] == "—" and rows["target.t1"]["delta"] is None  # B has no value
    assert rows["status"]["a_text"] == "最优" and rows["status"]["delta_text"] == "="
    en = {r["key"]: r for r in plans.compare(summary(0.041, 1e9, 1), summary(0.028, 1e9, 1), "en")}
    assert en["indicator.rail_share.2022"]["delta_text"] == "−1.3 pp" and en["status"]["a_text"] == "optimal"
    assert en["indicator.isw_utilized.2022"]["delta_text"] == "0"


def test_runs_stored_before_the_quantities_compare_on_headline_and_targets():
    old = {"status": "optimal", "headline": [{"indicator": "rail_share", "year": 2022, "value": 0.028, "unit": "share"}],
           "targets": [{"id": "t1", "indicator": "isw_utilized", "attainment": 0.5, "name_zh": "目标一", "name_en": "T1"}]}
    rows = {r["key"]: r for r in plans.compare(old, summary(0.041, 1e9, 0.75))}
    assert rows["indicator.rail_share.2022"]["a_text"] == "2.8%"
    assert rows["target.t1"]["delta_text"] == "+25.0 个百分点"


def test_side_by_side_keeps_first_seen_order_and_marks_what_a_variant_lacks():
    table = side_by_side({"a": [q("x", "t", 1.0), q("y", "t", 2.0)], "b": [q("y", "t", 3.0), q("z", "t", 4.0)]})
    assert list(table["key"]) == ["x", "y", "z"]
    assert math.isnan(table.loc[table["key"] == "x", "b"].iloc[0]) and table.loc[table["key"] == "z", "b"].iloc[0] == 4.0
    assert difference(1.0, None) is None and difference("optimal", "optimal") is None and difference(1.0, 3.5) == 2.5
    assert delta_text(None, "t", "zh") == "—"
