"""``resynergy data …`` end to end through the CLI, including the corrupt-cell acceptance check."""

from __future__ import annotations

import json

from openpyxl import load_workbook
from typer.testing import CliRunner

from resynergy.cli.main import app

runner = CliRunner()


def test_builtin_exports_to_xlsx_validates_and_a_corrupt_cell_is_named(tmp_path):
    res = runner.invoke(app, ["data", "export", "jjj-2022", str(tmp_path), "--format", "xlsx"])
    assert res.exit_code == 0, res.output
    book = tmp_path / "jjj-2022.xlsx"
    res = runner.invoke(app, ["data", "validate", str(book), "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert "Valid" in res.output

    wb = load_workbook(book)
    ws = wb["supplies"]
    col = [c.value for c in ws[2]].index("generation_t") + 1
    ws.cell(7, col, -250.0)
    wb.save(book)
    res = runner.invoke(app, ["data", "validate", str(book), "--lang", "en"])
    assert res.exit_code == 1
    assert "jjj-2022.xlsx [supplies], row 7, column generation_t, value -250: expected a value of at least 0" in res.output
    res = runner.invoke(app, ["data", "validate", str(book)])
    assert "第 7 行" in res.output and "generation_t" in res.output


def test_export_csv_and_parquet_round_trip(tmp_path):
    from resynergy.scenario import Scenario

    builtin = Scenario.from_builtin("jjj-2022")
    for fmt in ("csv", "parquet"):
        res = runner.invoke(app, ["data", "export", "jjj-2022", str(tmp_path / fmt), "--format", fmt])
        assert res.exit_code == 0, res.output
        assert Scenario.load(tmp_path / fmt).equals(builtin)


def test_info_json_totals_match_the_tables():
    from resynergy.scenario import Scenario

    res = runner.invoke(app, ["data", "info", "jjj-2022", "--json", "--year", "2022"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    sup = Scenario.from_builtin("jjj-2022").table("supplies")
    expected = sup.loc[sup["year"] == 2022, "generation_t"].sum()
    got = sum(sum(m.values()) for m in info["generation_t"].values())
    assert abs(got - expected) <= 1e-6 * expected
    assert set(info["generation_t"]) <= {"110000", "120000", "130000", "140000", "150000", "370000", "410000"}


def test_info_table_and_template(tmp_path):
    res = runner.invoke(app, ["data", "info", "jjj-2022", "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert "Hebei" in res.output and "generation" in res.output
    res = runner.invoke(app, ["data", "template", str(tmp_path / "t.xlsx")])
    assert res.exit_code == 0, res.output
    wb = load_workbook(tmp_path / "t.xlsx")
    assert wb.sheetnames[0].startswith("说明") and "supplies" in wb.sheetnames
    assert [c.value for c in wb["supplies"][2]][:3] == ["site", "material", "year"]


def test_unknown_name_and_bad_file_fail_cleanly(tmp_path):
    res = runner.invoke(app, ["data", "validate", "no-such-dataset"])
    assert res.exit_code != 0 and "Traceback" not in res.output
    fake = tmp_path / "fake.xlsx"
    fake.write_text("a,b\n1,2\n")
    res = runner.invoke(app, ["data", "validate", str(fake), "--lang", "en"])
    assert res.exit_code == 1 and "not an XLSX workbook" in res.output


def test_info_totals_by_province_agree_with_the_cited_calibration():
    """What `data info` prints per province equals the figures SOURCES.md cites (_calibration.csv)."""
    import pandas as pd

    from resynergy import catalog, datasets

    folder = datasets.path("jjj-2022")
    calibration = pd.read_csv(folder / "_calibration.csv", dtype=str, keep_default_na=False)
    provincial = calibration[calibration["scope"].str.endswith("0000") & (calibration["material"] == "")]
    assert len(provincial) >= 7 * 3
    sources_md = (folder / "SOURCES.md").read_text(encoding="utf-8")
    industrial = set(catalog.table("materials").query("kind == 'industrial_waste'")["code"])
    for year, rows in provincial.groupby("year"):
        res = runner.invoke(app, ["data", "info", "jjj-2022", "--json", "--year", year])
        info = json.loads(res.stdout)["generation_t"]
        for row in rows.itertuples():
            shown = sum(t for m, t in info[row.scope].items() if m in industrial)
            assert abs(shown - float(row.quantity)) <= 0.005 * float(row.quantity), row
            for key in row.source.split(";"):
                assert key.strip() in sources_md, key
