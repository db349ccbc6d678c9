"""``resynergy batteries …`` end to end, and what its help imports."""

from __future__ import annotations

import json
from importlib.resources import files

import pandas as pd
from typer.testing import CliRunner

from resynergy.cli.main import app
from test_cli_imports import NUMERICAL, PLATFORM, loaded

runner = CliRunner()
DATA = files("resynergy.batteries").joinpath("data")


def test_batteries_help_imports_neither_numerics_nor_the_platform(tmp_path):
    for args in (["batteries", "--help"], ["batteries", "forecast", "--help"], ["--help"]):
        run = loaded(tmp_path, *args)
        assert run["code"] == 0 and set(run["modules"]) & (PLATFORM | NUMERICAL) == set()


def test_code_prints_fields_or_located_errors():
    res = runner.invoke(app, ["batteries", "code", "03UPE01000011C85A00FTY45", "--lang", "en"])
    assert res.exit_code == 0 and "2018-05-10" in res.output and "traceability code: 000011C" in res.output
    res = runner.invoke(app, ["batteries", "code", "03UPE01000011C85A00FTY4", "--json"])
    doc = json.loads(res.stdout)
    assert res.exit_code == 1 and doc["valid"] is False and doc["issues"][0]["code"] == "code_length"
    res = runner.invoke(app, ["batteries", "code", "03UXE01000011C85A00FTY45"])
    assert res.exit_code == 1 and "第 4 位（产品类型代码）" in res.output


def test_events_checks_the_sample_and_lists_overdue_uploads(tmp_path):
    sample = str(DATA.joinpath("sample_events.csv"))
    res = runner.invoke(app, ["batteries", "events", sample, "--as-of", "2024-12-31", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["status"]["overdue"] == 1 and doc["overdue"][0]["days_late"] == 300
    res = runner.invoke(app, ["batteries", "events", sample, "--as-of", "2024-12-31"])
    assert "逾期清单" in res.output and "2024-03-01" in res.output
    bad = tmp_path / "bad.csv"
    frame = pd.read_csv(sample, dtype=str, keep_default_na=False)
    frame.loc[9, "time"] = "2024-02-01"  # the recycling now comes before its receipt
    frame.to_csv(bad, index=False)
    res = runner.invoke(app, ["batteries", "events", str(bad), "--lang", "en"])
    assert res.exit_code == 1 and "bad.csv, row 11, column event" in res.output and "collected or received" in res.output


def test_triage_gives_decisions_with_reasons():
    res = runner.invoke(app, ["batteries", "triage", str(DATA.joinpath("sample_tests.csv")), "--json", "--lang", "en"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [d["outcome"] for d in doc] == ["recycle", "repurpose", "reuse", "recycle", "recycle"]
    assert "swelling" in doc[3]["reason"]


def test_forecast_writes_its_table_and_the_scenario_supplies(tmp_path):
    res = runner.invoke(app, ["batteries", "forecast", "--to", "2030", "--draws", "50", "--out", str(tmp_path),
                              "--apply", "jjj-2022", "--years", "2030", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["table"][0].keys() >= {"province", "chemistry", "year", "retired_t", "p05_t", "p95_t"}
    table = pd.read_csv(tmp_path / "forecast.csv")
    sup = pd.read_csv(tmp_path / "scenario" / "supplies.csv")
    bat = sup[(sup["material"] == "retired_batteries") & (sup["year"] == 2030)]
    assert abs(bat["generation_t"].sum() - table.query("year == 2030")["retired_t"].sum()) < 10
    res = runner.invoke(app, ["batteries", "forecast", "--apply", "jjj-2022"])
    assert res.exit_code == 2


def test_events_traces_one_pack_from_its_tree_to_recycling():
    sample = str(DATA.joinpath("sample_events.csv"))
    res = runner.invoke(app, ["batteries", "events", sample, "--as-of", "2024-12-31", "--json",
                              "--unit", "t01pe01a10000193f0000001"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["descendants"] == ["T01ME01A10000193F0000011", "T01CE01A10000193F0000111"]
    assert (doc["history"][0]["event"], doc["history"][-1]["event"]) == ("produced", "recycled")
    res = runner.invoke(app, ["batteries", "events", sample, "--as-of", "2024-12-31", "--lang", "en"])
    assert "cascade reuse 78.9% (norm ≥ 60%, draft): meets" in res.output and "Li recovery 91.7%" in res.output
    res = runner.invoke(app, ["batteries", "events", sample, "--unit", "T01PE01A10000193F0000009"])
    assert res.exit_code == 1
