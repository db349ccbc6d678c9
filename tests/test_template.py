"""The template round trip an official goes through: download the blank template (CLI or
platform), fill it in, import it. The template holds only the sheets a user fills, each with an
example row (ignored on import), drop-down lists and Chinese column descriptions, then look-up
sheets (ignored on import); a template filled from the built-in dataset imports cleanly; one
upload with several errors in several sheets reports every one of them at once, each with sheet,
row, the column's Chinese label, the value and a hint."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from resynergy import schema
from resynergy.cli.main import app as cli
from resynergy.scenario import Scenario
from resynergy.scenario import io as scenario_io
from resynergy.scenario.template import FILLABLE, examples, write_template

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def builtin() -> Scenario:
    return Scenario.from_builtin("jjj-2022")


def test_blank_template_holds_the_sheets_a_user_fills_with_examples_and_drop_downs(tmp_path):
    path = tmp_path / "blank.xlsx"
    res = CliRunner().invoke(cli, ["data", "template", str(path)])
    assert res.exit_code == 0, res.output
    wb = openpyxl.load_workbook(path)
    tables = [t for t in wb.sheetnames if not scenario_io.is_aside(t)]
    assert tables == [*FILLABLE, "actual_flows"]
    assert not set(schema.REFERENCE_TABLES) & set(wb.sheetnames)  # the catalog keeps those
    lookups = [t for t in wb.sheetnames if t.startswith(scenario_io.LOOKUP_PREFIX)]
    assert len(lookups) >= 5
    for name in tables:
        ws = wb[name]
        cols = schema.columns(name)
        assert ws.cell(3, len(cols) + 1).value == scenario_io.EXAMPLE_MARK, name
        assert any(ws.cell(3, j).value not in (None, "") for j in range(1, len(cols) + 1)), name
        assert ws.cell(1, 1).comment is not None and cols[0].describe("zh") in ws.cell(1, 1).comment.text
    ranges = {str(dv.sqref): dv.formula1 for dv in wb["targets"].data_validations.dataValidation}
    col = {c.name: openpyxl.utils.get_column_letter(j) for j, c in enumerate(schema.columns("targets"), 1)}
    assert "万吨" in ranges[f"{col['unit']}3:{col['unit']}5000"]
    assert "指标" in ranges[f"{col['indicator']}3:{col['indicator']}5000"]
    indicators = wb[f"{scenario_io.LOOKUP_PREFIX}指标 indicators"]
    assert "isw_utilized" in [r[0] for r in indicators.iter_rows(values_only=True)]
    # the blank template reads as an empty scenario: the example rows and look-ups are not data
    raws, issues = scenario_io.read(path)
    assert issues == [] and all(len(r.frame) == 0 for r in raws.values())


def test_a_template_filled_from_the_builtin_dataset_reads_back_equal(tmp_path, builtin):
    path = tmp_path / "full.xlsx"
    res = CliRunner().invoke(cli, ["data", "template", str(path), "--from", "jjj-2022"])
    assert res.exit_code == 0, res.output
    back = Scenario.open(path)
    for name in FILLABLE:
        pd.testing.assert_frame_equal(back.table(name).reset_index(drop=True),
                                      builtin.table(name).reset_index(drop=True), check_dtype=False, obj=name)


def test_english_names_may_be_left_blank(tmp_path, builtin):
    tables = {t: builtin.table(t) for t in ("regions", "sites", "supplies", "demands")}
    tables["sites"] = tables["sites"].assign(name_en="")
    back = Scenario.open(scenario_io.write_xlsx(tables, tmp_path / "s.xlsx", include_empty=False))
    assert (back.table("sites")["name_en"] == back.table("sites")["name_zh"]).all()


def _fill(template: bytes, rows: dict[str, list[dict]]) -> bytes:
    """The template with ``rows`` written under its example row, by column key (row 2)."""
    wb = openpyxl.load_workbook(io.BytesIO(template))
    for name, records in rows.items():
        ws = wb[name]
        keys = {ws.cell(2, j).value: j for j in range(1, ws.max_column + 1)}
        for i, record in enumerate(records, start=4):
            for key, value in record.items():
                ws.cell(i, keys[key], value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_platform_template_with_several_errors_reports_all_at_once(client, users):
    h = users.headers["planner"]
    r = client.get("/import/template.xlsx", headers=h)
    assert r.status_code == 200
    ex = examples()
    site = {**ex["sites"], "id": "tpl-site", "region": "130800", "name_en": ""}
    good_supply = {"site": "tpl-site", "material": "tailings", "year": 2022, "generation_t": 1000}
    data = _fill(r.content, {
        "sites": [site, {**site, "id": "tpl-site-2", "name_zh": "=HYPERLINK(\"x\")"}],
        "supplies": [good_supply,
                     {**good_supply, "material": "fly_ash", "generation_t": "很多"},     # not a number
                     {**good_supply, "material": "no-such-waste"}],                 # unknown code
        "targets": [{**ex["targets"], "id": "tpl-t", "unit": "千克吨"}],             # not a unit
    })
    before = client.get("/api/v1/sites?limit=1", headers=h).json()["total"]
    r = client.post("/api/v1/imports", files={"file": ("填好的模板.xlsx", data, XLSX)}, headers=h)
    assert r.status_code == 422, r.text
    issues = r.json()["issues"]
    found = {(i["source"].split("[")[-1].rstrip("]"), i["row"], i["column"], i["code"]) for i in issues}
    assert found == {("sites", 5, "name_zh", "formula"), ("supplies", 5, "generation_t", "not_number"),
                     ("supplies", 6, "material", "unknown_ref"), ("targets", 4, "unit", "bad_choice")}
    for i in issues:
        assert i["source"].startswith("填好的模板.xlsx [") and i["row"] is not None, i
        assert i["hint_zh"], i
    by_code = {i["code"]: i for i in issues}
    assert by_code["not_number"]["column_zh"] == "「年产生量」(generation_t)"
    assert "「年产生量」" in by_code["not_number"]["location_zh"] and by_code["not_number"]["value"] == "很多"
    assert client.get("/api/v1/sites?limit=1", headers=h).json()["total"] == before  # nothing written


def test_platform_template_filled_from_the_builtin_dataset_imports_cleanly(app, tmp_path, builtin):
    from fastapi.testclient import TestClient

    from conftest import seed
    from resynergy.store.models import REGISTRY_TABLES

    users = seed(app, tables={})  # users only: an empty registry
    data = write_template(tmp_path / "full.xlsx", REGISTRY_TABLES,
                          {t: builtin.table(t) for t in REGISTRY_TABLES}).read_bytes()
    with TestClient(app) as client:
        r = client.post("/api/v1/imports", files={"file": ("jjj.xlsx", data, XLSX)},
                        headers=users.headers["admin"])
        assert r.status_code == 201, r.text[:2000]
        counts = r.json()["counts"]
        for name in ("sites", "supplies", "facilities", "demands", "targets", "programmes"):
            assert counts[name]["created"] == len(builtin.table(name)), name


def test_look_up_and_record_sheets_are_not_scenario_tables(tmp_path, builtin):
    path = write_template(tmp_path / "t.xlsx", (*FILLABLE, "actual_flows"),
                          {"regions": builtin.table("regions")})
    raws, issues = scenario_io.read(Path(path))
    assert issues == [] and "actual_flows" not in raws and len(raws["regions"].frame) == len(builtin.table("regions"))


@pytest.fixture(scope="module")
def server(tmp_path_factory, sqlite_template):
    import shutil

    from conftest import LiveServer, make_settings, seed
    from resynergy.web.app import create_app

    path = tmp_path_factory.mktemp("template-browser") / "t.db"
    shutil.copyfile(sqlite_template, path)
    app = create_app(make_settings(f"sqlite:///{path}"), migrate=False, run_worker=False)
    seed(app)
    with LiveServer(app) as live:
        yield live


@pytest.mark.browser
def test_import_page_lists_every_error_of_a_filled_template_in_one_pass(browser, server, tmp_path):
    from support.platform import PASSWORD, local_page

    artifacts = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser"
    artifacts.mkdir(parents=True, exist_ok=True)
    # the refused upload answers 422 on purpose: Chromium logs that status as a console error
    with local_page(browser, server.url, expected_status=422) as page:
        page.set_default_timeout(60_000)
        page.goto(f"{server.url}/login")
        page.fill("input[name=username]", "planner")
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{server.url}/")
        page.goto(f"{server.url}/import")
        with page.expect_download() as got:
            page.click("a[href='/import/template.xlsx']")
        blank = Path(got.value.path()).read_bytes()
        supply = {"site": "cd-mine", "material": "tailings", "year": 2022, "generation_t": 1000}
        filled = tmp_path / "填好的模板.xlsx"
        filled.write_bytes(_fill(blank, {
            "supplies": [supply, {**supply, "material": "fly_ash", "generation_t": "很多"},
                         {**supply, "material": "no-such-waste"}],
            "targets": [{**examples()["targets"], "id": "tpl-t", "unit": "千克吨"}],
        }))
        page.set_input_files("input[name=file]", str(filled))
        page.click("#import-form button[type=submit]")
        page.wait_for_selector("#import-result.rejected")
        errors = page.locator(".errors").inner_text()
        for text in ("很多", "no-such-waste", "千克吨", "「年产生量」(generation_t)", "请从下拉列表中选择"):
            assert text in errors, text
        assert page.locator(".errors tbody tr").count() == 3
        page.screenshot(path=str(artifacts / "template-import-errors.png"), full_page=True)
