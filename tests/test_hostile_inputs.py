"""Inputs that poison or crash (issue 9, items 2, 4, 12, 14 and 15): non-finite numbers, NUL
bytes, very wide uploads, markup in names embedded as JSON, formulas in the error workbook and
security headers on 500 responses. Store-backed tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import math
import re
from datetime import timedelta

import numpy as np
import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from resynergy.schema.coerce import RawTable, coerce
from resynergy.services import audit, imports
from resynergy.services.access import Actor
from resynergy.store.models import AuditEvent, ImportRecord, Run, utcnow
from support.platform import csrf, make_settings, seed

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SUPPLIES = b"site,material,year,generation_t,source\n"


def upload(client, headers, data: bytes, filename: str = "supplies.csv"):
    files = {"file": (filename, data, XLSX if filename.endswith(".xlsx") else "text/csv")}
    return client.post("/api/v1/imports", files=files, headers=headers)


def supplies_total(client, headers) -> int:
    return client.get("/api/v1/supplies?limit=1", headers=headers).json()["total"]


# ---- item 2: non-finite numbers ------------------------------------------------------------
@pytest.mark.parametrize("text", ["inf", "1e400", "nan", "Infinity"])
def test_coerce_refuses_non_finite_text_with_its_location(text):
    raw = RawTable.of("supplies", pd.DataFrame([{"site": "a", "material": "tailings", "year": "2022",
                                                 "generation_t": text}]), "supplies.csv")
    _, issues = coerce(raw)
    [bad] = [i for i in issues if i.column == "generation_t"]
    assert (bad.code, bad.row, bad.value) == ("not_finite", 2, text)
    assert "finite" in bad.text("en") and "有限" in bad.text("zh")


def test_coerce_refuses_non_finite_numbers_given_by_code():
    raw = RawTable.of("supplies", pd.DataFrame([
        {"site": "a", "material": "tailings", "year": 2022, "generation_t": math.inf},
        {"site": "b", "material": "tailings", "year": float("-inf"), "generation_t": 1.0},
        {"site": "c", "material": "tailings", "year": 2022, "generation_t": np.float64("inf")}]))
    frame, issues = coerce(raw)
    assert {(i.code, i.row, i.column) for i in issues} == {
        ("not_finite", 2, "generation_t"), ("not_finite", 3, "year"), ("not_finite", 4, "generation_t")}
    assert np.isfinite(frame["generation_t"].fillna(0)).all()


@pytest.mark.parametrize("text", [b"inf", b"1e400", b"nan"])
def test_csv_with_a_non_finite_number_is_rejected_and_nothing_written(client, users, text):
    h = users.headers["planner"]
    before = supplies_total(client, h)
    r = upload(client, h, SUPPLIES + b"cd-mine,fly_ash,2022," + text + b",ledger\n")
    assert r.status_code == 422, r.text
    [bad] = r.json()["issues"]
    assert (bad["code"], bad["row"], bad["column"], bad["value"]) == ("not_finite", 2, "generation_t",
                                                                       text.decode())
    assert supplies_total(client, h) == before


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN"])
def test_api_refuses_json_infinity_and_nan_with_the_field(client, users, literal):
    h = {**users.headers["planner"], "content-type": "application/json"}
    before = supplies_total(client, h)
    body = '{"site":"cd-mine","material":"fly_ash","year":2022,"generation_t":' + literal + ',"source":"x"}'
    r = client.post("/api/v1/supplies", content=body, headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "generation_t" and r.json()["issues"][0]["code"] == "finite_number"
    assert supplies_total(client, h) == before
    pk = client.get("/api/v1/supplies?limit=1", headers=h).json()["items"][0]["pk"]
    r = client.put(f"/api/v1/supplies/{pk}", content=body.replace("fly_ash", "tailings"), headers=h)
    assert r.status_code in (422, 428), r.text  # 428 if a version is required first
    # policy values and run options
    r = client.post("/api/v1/runs", content='{"scenario_id":1,"options":{"policies":{"carbon_price":'
                    + literal + "}}}", headers=h)
    assert r.status_code == 422 and r.json()["field"] == "options.policies.carbon_price", r.text
    r = client.post("/api/v1/policy", content='{"key":"carbon_price","value":' + literal + ',"source":"x"}',
                    headers={**users.headers["admin"], "content-type": "application/json"})
    assert r.status_code == 422 and r.json()["field"] == "value", r.text


def test_audit_log_stays_strict_json_on_both_engines(app, users):
    weird = {"value": math.inf, "low": -math.inf, "gap": math.nan, "nested": {"x": [np.float64("inf")]},
             "text": "a\x00b"}
    snap = audit.snapshot(weird)
    assert json.loads(json.dumps(snap, allow_nan=False)) == {
        "value": "inf", "low": "-inf", "gap": None, "nested": {"x": ["inf"]}, "text": "a\\x00b"}
    p = app.state.platform
    with p.sessions() as db:  # PostgreSQL answered 500 on the Infinity token
        audit.record(db, Actor(users.ids["admin"], "admin", "admin"), "test", "policy", "x", after=weird)
        db.commit()
        stored = db.scalars(sa.select(AuditEvent).where(AuditEvent.action == "test")).one()
        assert stored.after["value"] == "inf" and stored.after["text"] == "a\\x00b"


def test_planner_refuses_a_non_finite_input_naming_table_row_and_column():
    from resynergy.planner.data import PlanInputError, prepare
    from support.cases import transport_case

    scenario = transport_case()
    supplies = scenario.table("supplies")
    supplies.loc[0, "generation_t"] = math.inf
    object.__setattr__(scenario, "_tables", {**scenario.tables, "supplies": supplies})  # past validation
    with pytest.raises(PlanInputError, match=r"supplies, row 2, column generation_t: inf"):
        prepare(scenario)


def test_a_run_without_a_plan_never_ends_as_succeeded(db_url):
    from resynergy.services import runs, scenarios, worker
    from resynergy.web.app import create_app

    app = create_app(make_settings(db_url), migrate=False, run_worker=False)
    users = seed(app)
    sessions = app.state.platform.sessions
    ids = []
    with sessions() as db:
        actor = Actor(users.ids["planner"], "planner", "planner")
        snap, _ = scenarios.create(db, actor, "s")
        for _ in range(3):
            ids.append(runs.submit(db, actor, snap.id, {"objective": "cost"}).id)
        db.execute(sa.update(Run).where(Run.id.in_(ids)).values(state="running"))
        db.commit()
    for run_id, status, objective in zip(ids, ("time_limit", "infeasible", "optimal"), (None, None, 0.0),
                                         strict=True):
        worker.save(sessions, run_id, {}, {"status": status, "objective": objective}, "log")
    with sessions() as db:
        states = [(r.state, r.plan_status) for r in db.scalars(sa.select(Run).where(Run.id.in_(ids))
                                                                .order_by(Run.id))]
        errors = [r.error for r in db.scalars(sa.select(Run).where(Run.id.in_(ids)).order_by(Run.id))]
    assert states == [("failed", "time_limit"), ("failed", "infeasible"), ("succeeded", "optimal")]
    assert "no plan" in errors[0] and errors[2] == ""


def test_page_forms_refuse_non_finite_numbers_with_422(client_for):  # noqa: F811 - the fixture
    c = client_for("planner")
    page = c.get("/registry/supplies").text
    pk = re.search(r'href="/registry/supplies/(\d+)"', page).group(1)
    form = c.get(f"/registry/supplies/{pk}").text
    values = dict(re.findall(r'<input name="([a-z_]+)" value="([^"]*)"', form))
    values.update({"csrf_token": csrf(form), "must_use": "false", "material": "tailings", "generation_t": "1e400"})
    r = c.post(f"/registry/supplies/{pk}", data=values)
    assert r.status_code == 422 and "应为有限数值" in r.text and "generation_t" in r.text
    page = c.get("/runs").text
    c.post("/scenarios", data={"csrf_token": csrf(page), "name": "base"})
    page = c.get("/runs").text
    sid = re.search(r'<option value="(\d+)">base v1', page).group(1)
    for price in ("9" * 400, "99999999999999"):  # float("9" * 400) is infinity; 1e14 is beyond the bound
        r = c.post("/runs", data={"csrf_token": csrf(page), "scenario_id": sid, "carbon_price": price})
        assert r.status_code == 422 and "请求参数无效" in r.text  # was 500 (a ValidationError)


# ---- item 4: NUL bytes -----------------------------------------------------------------------
@pytest.mark.parametrize("column,cell", [("source", b"led\x00ger"), ("generation_t", b"1\x002")])
def test_nul_byte_in_a_csv_cell_is_a_located_422(client, users, column, cell):
    h = users.headers["planner"]
    row = {"source": b"ledger", "generation_t": b"12"}
    row[column] = cell
    r = upload(client, h, SUPPLIES + b"cd-mine,fly_ash,2022," + row["generation_t"] + b"," + row["source"] + b"\n")
    assert r.status_code == 422, r.text
    [bad] = r.json()["issues"]
    assert bad["row"] == 2 and bad["column"] == column and "\\x00" in bad["value"]
    assert bad["code"] == ("control_chars" if column == "source" else "not_number")
    wb = client.get(f"/api/v1/imports/{r.json()['id']}/errors.xlsx", headers=h)
    assert wb.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(wb.content))["supplies"]
    assert sheet.cell(2, 5 if column == "source" else 4).comment is not None  # the bad cell is marked


def test_nul_byte_in_the_file_name_is_written_out(client, users):
    h = users.headers["planner"]
    body = (b'--x\r\nContent-Disposition: form-data; name="file"; filename="sup\x00plies.csv"\r\n'
            b"Content-Type: text/csv\r\n\r\n" + SUPPLIES + b"cd-mine,fly_ash,2022,x,ledger\n\r\n--x--\r\n")
    r = client.post("/api/v1/imports", content=body,
                    headers={**h, "content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 422 and r.json()["filename"] == "sup\\x00plies.csv"  # stored on PostgreSQL too


# ---- item 12: wide uploads, many issues, bounded storage ----------------------------------------
def test_a_very_wide_csv_is_rejected_with_a_bounded_issue_list(client, users):
    h = users.headers["planner"]
    extra = [f"c{i}" for i in range(imports.MAX_COLUMNS - 10)]
    head = "site,material,year,generation_t," + ",".join(extra)
    r = upload(client, h, f"{head}\ncd-mine,fly_ash,2022,x,{','.join('y' * len(extra))}\n".encode())
    assert r.status_code == 422
    codes = [i["code"] for i in r.json()["issues"]]
    assert sorted(codes) == ["not_number", "unknown_columns"]  # one issue for all unknown columns
    unknown = next(i for i in r.json()["issues"] if i["code"] == "unknown_columns")
    assert unknown["column"] == "c0" and f"+{len(extra) - 20}" in unknown["value"]
    assert str(len(extra)) in unknown["message_en"]
    # 4,000 columns: refused at the header, before any per-column work
    wide = "site,material,year,generation_t," + ",".join(f"c{i}" for i in range(4000))
    r = upload(client, h, f"{wide}\n{'x,' * 4003}x\n".encode())
    assert r.status_code == 422
    [issue] = r.json()["issues"]
    assert issue["code"] == "too_many_columns" and issue["value"] == "4004" and len(r.content) < 5000


def test_issues_per_upload_are_capped_and_counted(client, users):
    h = users.headers["planner"]
    n_rows, n_cols = 300, 10  # 3,000 formula cells
    head = "site,material,year,generation_t," + ",".join(f"c{i}" for i in range(n_cols))
    body = head + "\n" + ("cd-mine,fly_ash,2022,1," + ",".join(["=1"] * n_cols) + "\n") * n_rows
    r = upload(client, h, body.encode())
    assert r.status_code == 422
    issues = r.json()["issues"]
    assert len(issues) == imports.MAX_ISSUES + 1
    last = issues[-1]
    # every problem is counted at once: the formula cells, the unknown columns (one issue) and
    # the rows repeating the first row's key (site, material, year)
    total = n_rows * n_cols + 1 + (n_rows - 1)
    assert last["code"] == "more_issues" and last["value"] == str(total - imports.MAX_ISSUES)
    wb = openpyxl.load_workbook(io.BytesIO(client.get(f"/api/v1/imports/{r.json()['id']}/errors.xlsx",
                                                      headers=h).content))
    assert wb["错误 errors"].max_row == imports.MAX_ISSUES + 2  # header + listed issues + the count
    log = client.get("/api/v1/audit?action=import_rejected", headers=users.headers["admin"]).json()
    assert log["items"][0]["after"]["issues"] == total


def test_error_workbook_is_linear_in_the_number_of_issues(tmp_path):
    """Each issue looks its column up in a header index built once per sheet (not by scanning the
    header row again): counted, not timed."""
    calls = {"n": 0}
    real = imports._header_index

    def counting(ws):
        calls["n"] += 1
        return real(ws)

    path = tmp_path / "supplies.csv"
    path.write_text("site,material,year,generation_t\n" + "cd,fly_ash,2022,x\n" * 500, encoding="utf-8")
    issues = [{"code": "not_number", "table": "supplies", "source": "supplies.csv", "row": r,
               "column": "generation_t", "value": "x", "message_zh": "应为数字", "message_en": "expected a number"}
              for r in range(2, 502)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(imports, "_header_index", counting)
        data = imports.error_workbook(path, "supplies.csv", issues)
    assert calls["n"] == 1
    ws = openpyxl.load_workbook(io.BytesIO(data))["supplies"]
    assert all(ws.cell(r, 4).comment is not None for r in range(2, 502))


def test_rejected_uploads_are_kept_within_retention_and_quota(db_url):
    from resynergy.web.app import create_app

    app = create_app(make_settings(db_url), migrate=False, run_worker=False)
    users = seed(app)
    p = app.state.platform
    actor = Actor(users.ids["planner"], "planner", "planner")
    bad = SUPPLIES + b"cd-mine,fly_ash,2022,x,ledger\n"
    with p.sessions() as db:
        first = imports.import_file(db, actor, bad, "supplies.csv").record
        size = len(first.error_workbook)
        settings = make_settings(db_url, import_quota_bytes=int(size * 2.5), import_retention_days=30)
        ids = [imports.import_file(db, actor, bad, "supplies.csv", settings=settings).record.id for _ in range(3)]
        kept = db.scalars(sa.select(ImportRecord.id).where(ImportRecord.error_workbook.is_not(None))
                          .order_by(ImportRecord.id)).all()
        assert kept == ids[1:]  # the quota holds two: the oldest ones were dropped
        db.execute(sa.update(ImportRecord).where(ImportRecord.id == ids[1]).values(
            created_at=utcnow() - timedelta(days=31)))
        db.commit()
        imports.import_file(db, Actor(users.ids["admin"], "admin", "admin"), bad, "supplies.csv", settings=settings)
        old = db.get(ImportRecord, ids[1])
        db.refresh(old)
        assert old.error_workbook is None and old.issues == [] and old.accepted is False  # past retention
        tiny = make_settings(db_url, import_quota_bytes=10)
        rec = imports.import_file(db, actor, bad, "supplies.csv", settings=tiny).record
        assert rec.error_workbook is None and rec.issues  # too large for the quota: issues still listed


# ---- item 14: JSON embedded in HTML ----------------------------------------------------------
HOSTILE = "厂<!--<script>&\u2028\u2029</script>"


def test_inline_json_escapes_markup_and_line_separators():
    from resynergy.report.html import inline_json

    text = inline_json({"name": HOSTILE})
    assert not re.search("[<>&\u2028\u2029]", text)
    assert json.loads(text) == {"name": HOSTILE}


def test_report_and_compare_with_a_hostile_site_name_embed_parseable_json(tmp_path):
    from resynergy.report import findings, write_outputs
    from resynergy.report.compare import write_compare
    from support.toys import toy_plan, toy_scenario

    scenario = toy_scenario()
    sites = scenario.table("sites")
    sites["name_zh"] = sites["name_zh"] + HOSTILE
    sites["name_en"] = sites["name_en"] + HOSTILE
    scenario = scenario.with_tables(sites=sites)
    plan = toy_plan()
    plan.scenario = scenario
    s = findings(plan, scenario)
    write_outputs(s, tmp_path)
    write_compare({"a": s, "b": s}, tmp_path / "compare.html")
    for page in ("report.html", "compare.html"):
        html = (tmp_path / page).read_text(encoding="utf-8")
        embedded = re.search(r'<script type="application/json" id="figures">(.*?)</script>', html, re.S).group(1)
        assert not re.search("[<>&\u2028\u2029]", embedded)
        if page == "report.html":
            assert HOSTILE in json.dumps(json.loads(embedded), ensure_ascii=False)


# ---- item 15: error workbook cells as text, security headers on 500 ---------------------------
def test_error_workbook_of_a_rejected_xlsx_keeps_no_formula(client, users, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "supplies"
    ws.append(["site", "material", "year", "generation_t", "source"])
    ws.append(["cd-mine", "fly_ash", 2022, "=1+1", "=HYPERLINK(\"http://x\",\"y\")"])
    ws.append(["cd-mine", "tailings", 2022, "lots", "ok"])
    path = tmp_path / "bad.xlsx"
    wb.save(path)
    h = users.headers["planner"]
    r = upload(client, h, path.read_bytes(), "bad.xlsx")
    assert r.status_code == 422  # both formulas and the text in a number column, each once
    assert sorted((i["code"], i["row"], i["column"]) for i in r.json()["issues"]) == [
        ("formula", 2, "generation_t"), ("formula", 2, "source"), ("not_number", 3, "generation_t")]
    back = openpyxl.load_workbook(io.BytesIO(client.get(f"/api/v1/imports/{r.json()['id']}/errors.xlsx",
                                                        headers=h).content))
    cells = [c for sheet in back.worksheets for row in sheet.iter_rows() for c in row if c.value is not None]
    assert cells and all(c.data_type != "f" for c in cells)
    assert back["supplies"]["D2"].value == "=1+1" and back["supplies"]["D2"].data_type == "s"


def test_500_responses_carry_the_security_headers(sqlite_app):
    @sqlite_app.get("/api/v1/_boom")
    def boom():
        raise RuntimeError("boom")

    @sqlite_app.get("/_boom")
    def boom_page():
        raise RuntimeError("boom")

    sqlite_app.middleware_stack = None  # rebuilt with the new routes
    with TestClient(sqlite_app, raise_server_exceptions=False) as client:
        for path in ("/api/v1/_boom", "/_boom"):
            r = client.get(path)
            assert r.status_code == 500
            assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
            assert "default-src 'self'" in r.headers["content-security-policy"]
            assert r.headers["cache-control"] == "no-store"
        assert client.get("/api/v1/_boom").json()["code"] == "internal_error"
