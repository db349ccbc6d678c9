"""Triage at the band edges and gates, and firm compliance on hand-made batches."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pandas as pd
import pytest

from resynergy.batteries import events, triage
from resynergy.batteries.issues import ScenarioError

LFP = "T03PB03C30000018A0000042"  # battery type B = LFP
NCM = "T01PE01A10000193F0000001"  # battery type E = NCM
DATA = files("resynergy.batteries").joinpath("data")


def decide(**record):
    return triage.decide({"unit_code": LFP, **record})


@pytest.mark.parametrize(("soh", "outcome", "rule"), [
    (0.80, "reuse", "soh-reuse"), (0.7999, "repurpose", "soh-repurpose"),
    (0.60, "repurpose", "soh-repurpose"), (0.5999, "recycle", "soh-recycle"), (0.0, "recycle", "soh-recycle")])
def test_soh_bands_at_their_edges(soh, outcome, rule):
    d = decide(soh=soh)
    assert (d.outcome, [r.rule for r in d.reasons]) == (outcome, [rule])
    assert d.chemistry == "LFP"  # from the code's battery-type letter


@pytest.mark.parametrize(("field", "ok", "bad"), [
    ("resistance_ratio", 1.5, 1.5001), ("fade_per_100_cycles", 0.02, 0.0201), ("self_discharge_per_month", 0.05, 0.0501)])
def test_health_gates_fire_just_above_their_threshold(field, ok, bad):
    assert decide(soh=0.9, **{field: ok}).outcome == "reuse"
    d = decide(soh=0.9, **{field: bad})
    assert d.outcome == "recycle" and d.reasons[0].field == field


def test_safety_flags_and_missing_traceability_send_to_recycling_with_every_reason():
    d = decide(soh=0.95, swelling=True, leakage=True, traceable=True)
    assert d.outcome == "recycle" and [r.rule for r in d.reasons] == ["safety-swelling", "safety-leakage"]
    assert "鼓胀" in d.reason("zh") and "leakage" in d.reason("en")
    assert decide(soh=0.95, traceable=False).reasons[0].rule == "trace-missing"
    assert decide(soh=0.95, traceable=True, swelling=False).outcome == "reuse"


def test_applications_follow_chemistry_and_soh_and_never_low_speed_vehicles():
    lfp = decide(soh=0.65)
    assert lfp.uses == ("base_station",)  # storage needs 0.70
    assert "low_speed_vehicle" in [x[0] for x in lfp.excluded]
    assert decide(soh=0.75).uses == ("energy_storage", "base_station") and decide(soh=0.75).warnings
    ncm = triage.decide({"unit_code": NCM, "soh": 0.65})  # NCM: no base-station use, storage needs 0.70
    assert ncm.outcome == "recycle" and [r.rule for r in ncm.reasons] == ["soh-repurpose", "no-application"]
    assert triage.decide({"unit_code": NCM, "soh": 0.72}).uses == ("energy_storage",)
    assert triage.decide({"unit_code": NCM, "soh": 0.72, "chemistry": "NiMH"}).outcome == "recycle"


def test_every_rule_names_its_source_and_tag():
    rules = triage.default_rules()
    assert all(r.source and r.tag in "VPSU" for r in rules.rules)
    assert all(a.source and a.tag in "VPSU" for a in rules.applications)
    assert {n.element: n.threshold for n in triage.norms() if n.who == "recycler"} == {
        "Li": 0.90, "Ni": 0.98, "Co": 0.98, "Mn": 0.98}


def test_cascade_reuse_rate_per_firm_and_period():
    batches = pd.DataFrame([
        {"firm": "A", "period": 2024, "collected_kg": 600, "reused_kg": 300},
        {"firm": "A", "period": 2024, "collected_kg": 400, "reused_kg": 300},  # A 2024: 600/1000 = 60 % → ok
        {"firm": "B", "period": 2024, "collected_kg": 1000, "reused_kg": 599},  # 59.9 % → not
        {"firm": "C", "period": 2024, "collected_kg": 0, "reused_kg": 0}])  # nothing collected: no rate
    out = triage.cascade_compliance(batches).set_index("firm")
    assert out.loc["A", "rate"] == pytest.approx(0.6) and out.loc["A", "ok"] == True  # noqa: E712
    assert out.loc["B", "ok"] == False  # noqa: E712
    assert pd.isna(out.loc["C", "ok"]) and (out["status"] == "draft").all()


def test_recovery_rates_per_element_against_the_2024_norms():
    batches = pd.DataFrame([
        {"firm": "R", "period": 2025, "element": "Li", "contained_kg": 100, "recovered_kg": 90},  # 90 % ok
        {"firm": "R", "period": 2025, "element": "Ni", "contained_kg": 50, "recovered_kg": 49},  # 98 % ok
        {"firm": "R", "period": 2025, "element": "Co", "contained_kg": 100, "recovered_kg": 97.9},  # 97.9 % not
        {"firm": "R", "period": 2025, "element": "Cu", "contained_kg": 10, "recovered_kg": 5}])  # no norm
    out = triage.recovery_compliance(batches).set_index("element")
    assert out.loc["Li", "ok"] == True and out.loc["Ni", "ok"] == True  # noqa: E712
    assert out.loc["Co", "ok"] == False and pd.isna(out.loc["Cu", "ok"])  # noqa: E712
    (issue,) = triage.compliance_issues(out.reset_index(), "recovery")
    assert "R 2025 Co" in issue.message("en") and "98%" in issue.message("en")


def test_compliance_from_the_sample_event_log():
    log = events.read_events(Path(str(DATA.joinpath("sample_events.csv"))))
    cascade, recovery = triage.compliance_batches(log)
    c = triage.cascade_compliance(cascade)
    assert list(c["rate"].round(4)) == [round(300 / 380, 4)] and c["ok"].all()
    r = triage.recovery_compliance(recovery).set_index("element")
    assert r.loc["Li", "rate"] == pytest.approx(5.5 / 6.0) and r["ok"].all()


def test_the_sample_test_file_gives_one_of_each_outcome(tmp_path):
    tests = triage.read_tests(Path(str(DATA.joinpath("sample_tests.csv"))))
    assert [d.outcome for d in triage.triage(tests)] == ["recycle", "repurpose", "reuse", "recycle", "recycle"]
    bad = tmp_path / "tests.csv"
    bad.write_text("unit_code,soh,swelling\nT03PB03C30000018A000004,1.7,maybe\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as exc:
        triage.read_tests(bad)
    assert {(i.row, i.column, i.code) for i in exc.value.issues} == {
        (2, "soh", "above_max"), (2, "swelling", "not_bool"), (2, "unit_code", "code_length")}
