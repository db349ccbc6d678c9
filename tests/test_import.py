"""Bulk import: all-or-nothing, located errors, an error workbook with the bad cells marked, and
hostile uploads (malformed, oversized, zip bomb, CSV renamed .xlsx, formulas) refused with a clear
message and nothing written."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from resynergy import schema
from resynergy.scenario import io as scenario_io
from support.platform import make_settings, registry_tables, seed

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def complete(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Every schema column present (blank = default), values kept as given (text or numbers)."""
    return {t: f.astype(object).reindex(columns=[c.name for c in schema.columns(t)], fill_value="")
            for t, f in tables.items()}


def workbook(tmp_path: Path, tables: dict[str, pd.DataFrame], name: str = "upload.xlsx") -> bytes:
    return scenario_io.write_xlsx(complete(tables), tmp_path / name, include_empty=False).read_bytes()


def new_rows() -> dict[str, pd.DataFrame]:
    """Two new supplies and a new site (referenced by one of them) — valid."""
    t = registry_tables()
    site = t["sites"].iloc[[0]].assign(id="cd-mine-2", name_en="Chengde pond 2", name_zh="承德尾矿库二")
    supplies = pd.DataFrame([
        {"site": "cd-mine-2", "material": "tailings", "year": 2022, "generation_t": 400_000.0, "source": "t"},
        {"site": "cd-mine", "material": "waste_rock", "year": 2022, "generation_t": 250_000.0, "source": "t"},
    ])
    return {"sites": site, "supplies": supplies}


def upload(client, headers, data: bytes, filename: str, table: str = ""):
    files = {"file": (filename, data, XLSX if filename.endswith(".xlsx") else "text/csv")}
    return client.post("/api/v1/imports", files=files, data={"table": table} if table else {}, headers=headers)


def totals(client, headers) -> dict[str, int]:
    return {t: client.get(f"/api/v1/{t}?limit=1", headers=headers).json()["total"]
            for t in ("sites", "supplies", "facilities", "demands")}


def test_valid_workbook_is_imported_and_reimport_updates(client, users, tmp_path):
    h = users.headers["planner"]
    before = totals(client, h)
    r = upload(client, h, workbook(tmp_path, new_rows()), "新数据.xlsx")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["accepted"] and body["counts"]["supplies"]["created"] == 2 and body["counts"]["sites"]["created"] == 1
    assert totals(client, h) == {**before, "sites": before["sites"] + 1, "supplies": before["supplies"] + 2}
    again = upload(client, h, workbook(tmp_path, new_rows()), "新数据.xlsx").json()
    assert again["counts"]["supplies"] == {"created": 0, "updated": 2, "deleted": 0}
    log = client.get("/api/v1/audit?action=import_create", headers=users.headers["admin"]).json()
    assert log["total"] >= 3  # one audit event per created row


def test_one_bad_row_rejects_the_whole_file_with_a_marked_workbook(client, users, tmp_path):
    h = users.headers["planner"]
    before = totals(client, h)
    rows = complete(new_rows())
    rows["supplies"].loc[1, "generation_t"] = "lots"  # row 4 of the sheet (labels, keys, first row)
    rows["supplies"].loc[0, "site"] = "nowhere"
    r = upload(client, h, workbook(tmp_path, rows), "bad.xlsx")
    assert r.status_code == 422
    issues = r.json()["issues"]
    bad = next(i for i in issues if i["column"] == "generation_t")
    assert bad["source"] == "bad.xlsx [supplies]" and bad["row"] == 4 and bad["value"] == "lots"
    assert bad["message_en"] == "expected a number" and bad["message_zh"] == "应为数字"
    assert totals(client, h) == before  # nothing written, not even the valid site row
    rec = r.json()
    assert not rec["accepted"] and rec["has_error_workbook"]
    wb = openpyxl.load_workbook(io.BytesIO(client.get(f"/api/v1/imports/{rec['id']}/errors.xlsx", headers=h).content))
    ws = wb["supplies"]
    col = [c.value for c in ws[2]].index("generation_t") + 1
    cell = ws.cell(4, col)
    assert cell.value == "lots" and cell.fill.fgColor.rgb.endswith("FFC7CE") and "应为数字" in cell.comment.text
    errors = wb["错误 errors"]
    assert errors.cell(2, 1).value.startswith("bad.xlsx") and errors.max_row == len(issues) + 1


def test_the_fixed_file_then_imports(client, users, tmp_path):
    h = users.headers["planner"]
    rows = complete(new_rows())
    rows["supplies"].loc[1, "generation_t"] = "lots"
    assert upload(client, h, workbook(tmp_path, rows), "x.xlsx").status_code == 422
    rows["supplies"].loc[1, "generation_t"] = 250_000.0
    assert upload(client, h, workbook(tmp_path, rows), "x.xlsx").status_code == 201


def test_csv_import_of_one_table(client, users):
    h = users.headers["ent_a"]
    csv = "site,material,year,generation_t,source\ncd-mine,fly_ash,2022,1200,ledger\n".encode("utf-8-sig")
    r = upload(client, h, csv, "supplies.csv")
    assert r.status_code == 201 and r.json()["counts"]["supplies"]["created"] == 1
    r = upload(client, h, csv.replace(b"fly_ash", b"red_mud"), "ledger.csv", table="supplies")
    assert r.status_code == 201
    r = upload(client, h, csv, "ledger.csv")
    assert r.status_code == 422 and r.json()["issues"][0]["code"] == "unknown_table"


def test_enterprise_cannot_import_other_organisations_rows(client, users):
    before = totals(client, users.headers["admin"])
    csv = b"site,material,year,generation_t\ncd-mine,fly_ash,2022,1\nbj-site,fly_ash,2022,1\n"
    r = upload(client, users.headers["ent_a"], csv, "supplies.csv")
    assert r.status_code == 422 and [i["code"] for i in r.json()["issues"]] == ["unknown_ref"]  # B's site is unknown to A
    assert r.json()["issues"][0]["row"] == 3
    assert totals(client, users.headers["admin"]) == before


def test_read_only_roles_cannot_import(client, users):
    csv = b"site,material,year,generation_t\ncd-mine,fly_ash,2022,1\n"
    assert upload(client, users.headers["regulator"], csv, "supplies.csv").status_code == 403
    assert upload(client, users.headers["anonymous"], csv, "supplies.csv").status_code == 401


# ---- hostile uploads ---------------------------------------------------------------------
def rejected(r, status: int, code: str, text: str):
    assert r.status_code == status, r.text
    body = r.json()
    found = body.get("issues") or [{"code": body["code"], "message_en": body["message"]["en"]}]
    assert any(i["code"] == code and text in i["message_en"] for i in found), found


def test_malformed_workbook(client, users, tmp_path):
    h = users.headers["admin"]
    before = totals(client, h)
    good = workbook(tmp_path, new_rows())
    rejected(upload(client, h, good[: len(good) // 2], "truncated.xlsx"), 422, "unreadable", "not an XLSX")
    rejected(upload(client, h, b"\x00\x01 not a workbook", "junk.xlsx"), 422, "unreadable", "not an XLSX")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook><broken")
        zf.writestr("[Content_Types].xml", "<Types/>")
    rejected(upload(client, h, buf.getvalue(), "broken.xlsx"), 422, "unreadable", "")
    assert totals(client, h) == before


def test_csv_renamed_xlsx(client, users):
    csv = b"site,material,year,generation_t\ncd-mine,fly_ash,2022,1\n"
    rejected(upload(client, users.headers["admin"], csv, "supplies.xlsx"), 422, "unreadable", "not a zip file")


def test_other_file_types_are_refused(client, users):
    rejected(upload(client, users.headers["admin"], b"MZ\x90\x00", "tool.exe"), 422, "unsupported", ".xlsx")


def test_zip_bomb_is_refused_before_unpacking(client, users):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        chunk = b"\0" * (1 << 20)
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            for _ in range(210):  # 210 MB of zeros, a few hundred KB compressed
                fh.write(chunk)
    data = buf.getvalue()
    assert len(data) < 1 << 20
    rejected(upload(client, users.headers["admin"], data, "bomb.xlsx"), 422, "unreadable", "expands beyond")


def test_formula_cells_are_refused(client, users, tmp_path):
    h = users.headers["admin"]
    path = tmp_path / "f.xlsx"
    scenario_io.write_xlsx(complete(new_rows()), path, include_empty=False)
    wb = openpyxl.load_workbook(path)
    wb["supplies"]["A3"] = "=HYPERLINK(\"http://evil\",\"x\")"  # a real formula cell
    wb.save(path)
    rejected(upload(client, h, path.read_bytes(), "f.xlsx"), 422, "formula", "formula")
    csv = b"site,material,year,generation_t,source\ncd-mine,fly_ash,2022,1,=cmd|' /C calc'!A0\n"
    r = upload(client, h, csv, "supplies.csv")
    rejected(r, 422, "formula", "formula")
    assert r.json()["issues"][0]["row"] == 2 and r.json()["issues"][0]["column"] == "source"
    # a negative number is data, not a formula: it fails the range check instead
    r = upload(client, h, b"site,material,year,generation_t\ncd-mine,fly_ash,2022,-5\n", "supplies.csv")
    assert r.json()["issues"][0]["code"] == "below_min"


def test_oversized_uploads_get_413_before_being_read(tmp_path, sqlite_template):
    import shutil

    from resynergy.web.app import create_app

    db = tmp_path / "big.db"
    shutil.copyfile(sqlite_template, db)
    app = create_app(make_settings(f"sqlite:///{db}", upload_max_bytes=1 << 20), migrate=False, run_worker=False)
    users = seed(app)
    h = users.headers["admin"]
    with TestClient(app) as client:
        big = b"0" * (100 * 1024 * 1024)  # the issue's 100 MB
        r = upload(client, h, big, "big.csv")
        assert r.status_code == 413 and r.json()["code"] == "too_large"
        del big

        def stream():  # no Content-Length: counted while it arrives
            yield (b'--x\r\nContent-Disposition: form-data; name="file"; filename="supplies.csv"\r\n'
                   b"Content-Type: text/csv\r\n\r\n")
            for _ in range(3):
                yield b"x" * (1 << 20)
        r = client.post("/api/v1/imports", content=stream(), headers={**h, "Content-Type": "multipart/form-data; boundary=x"})
        assert r.status_code == 413 and r.json()["code"] == "too_large"
        # just under the limit but over the app's own cap for the file part
        r = upload(client, h, b"a" * ((1 << 20) + 10), "supplies.csv")
        assert r.status_code == 413
        assert client.get("/api/v1/imports", headers=h).json()["total"] == 0  # nothing recorded or written


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_import_page_shows_errors_and_the_error_workbook(client, users, tmp_path, lang):
    import re

    from support.platform import sign_in

    sign_in(client, "planner")
    client.cookies.set("lang", lang)
    page = client.get("/import").text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    rows = complete(new_rows())
    rows["supplies"].loc[1, "generation_t"] = "lots"
    r = client.post("/import", files={"file": ("bad.xlsx", workbook(tmp_path, rows), XLSX)},
                    data={"csrf_token": csrf})
    assert r.status_code == 422
    assert ("应为数字" if lang == "zh" else "expected a number") in r.text
    assert 'id="error-workbook"' in r.text
