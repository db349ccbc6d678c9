"""Enterprise evaluations on the platform (#13 items 3, 5, 6): the workflow from application to
publication, every illegal step refused with a clear message, immutability after approval,
evidence upload attacks, two reviewers racing, the regional totals and their XLSX, eligibility,
and the evaluated tonnes the monitor counts (once)."""

from __future__ import annotations

import io
import shutil
import zipfile
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from resynergy.services.access import Actor
from resynergy.services.registry import Rejected
from resynergy.states import EvaluationState
from support.evaluation_platform import apply, if_match, ledger_xlsx, step, to_state
from support.platform import ORG_A, ORG_B, Platform, add_users, make_settings, seed, together

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXTRA = {"reg_hb": ("regulator", "", "130000"), "reg_bj": ("regulator", "", "110000"),
         "planner_hb": ("planner", "", "130000"), "eval2": ("evaluator", "", "")}


@pytest.fixture
def plat(tmp_path, sqlite_template):
    from resynergy.web.app import create_app

    path = tmp_path / "e.db"
    shutil.copyfile(sqlite_template, path)
    app = create_app(make_settings(f"sqlite:///{path}", upload_max_bytes=200_000), migrate=False, run_worker=False)
    users = seed(app)
    add_users(app, users, EXTRA)
    with TestClient(app) as client:
        yield Platform(client, app, users.headers, users.ids)


def _audit(p: Platform, ev_id: int) -> list[str]:
    from resynergy.store.models import AuditEvent

    with p.sessions() as db:
        return list(db.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_type == "evaluations",
                                                                  AuditEvent.object_id == str(ev_id))
                               .order_by(AuditEvent.id)))


# ---- the workflow -------------------------------------------------------------------------------
def test_firm_applies_evaluator_approves_department_files_and_publishes(plat):
    c, h = plat.client, plat.headers
    ev = apply(c, h)
    assert ev["state"] == "draft" and ev["version"] == 1 and ev["region"] == "130800" and ev["province"] == "130000"
    up = c.post(f"/api/v1/evaluations/{ev['id']}/evidence", files={"file": ("地磅单.pdf", PDF, "application/pdf")},
                data={"figure": "fly_ash", "note": "1–3 月过磅汇总"}, headers=h["ent_a"])
    assert up.status_code == 201, up.text
    ev = step(c, h, "ent_a", ev, "submit")
    # the evaluator sees it in its queue, with the computed checks and the evidence behind them
    queue = c.get("/api/v1/evaluations", params={"queue": True}, headers=h["evaluator"]).json()["items"]
    assert [e["id"] for e in queue] == [ev["id"]]
    checks = c.get(f"/api/v1/evaluations/{ev['id']}/checks", headers=h["evaluator"]).json()
    assert checks["frozen"] is False and checks["assessment"]["shares"]
    assert checks["evidence"]["files"]["fly_ash"][0]["name"] == "地磅单.pdf"
    assert len(checks["evidence"]["receipts"]["fly_ash"]) == 3
    # corrections need a message; the firm answers and submits again
    r = c.post(f"/api/v1/evaluations/{ev['id']}/transitions", json={"action": "request_corrections"},
               headers={**h["evaluator"], **if_match(ev)})
    assert r.status_code == 422 and r.json()["issues"][0]["column"] == "message"
    ev = step(c, h, "evaluator", ev, "request_corrections", message="请补充 3 月的产品检测报告")
    assert ev["state"] == "corrections_requested" and ev["message"].startswith("请补充")
    ev = step(c, h, "ent_a", ev, "submit")
    ev = step(c, h, "evaluator", ev, "approve")
    assert ev["state"] == "approved" and ev["frozen"]
    approved = date.fromisoformat(ev["approved_at"][:10])
    assert ev["due_date"] == (approved + timedelta(days=30)).isoformat() and ev["overdue"] is False
    report = c.get(f"/api/v1/evaluations/{ev['id']}/report", headers=h["ent_a"])
    assert report.status_code == 200 and "<html" in report.text.lower() and "承德矿业" in report.text
    english = c.get(f"/api/v1/evaluations/{ev['id']}/report", params={"lang": "en"}, headers=h["ent_a"])
    assert english.status_code == 200 and 'lang="en"' in english.text and english.text != report.text
    # filed with the department, then published by it; the public sees the published fields only
    assert step(c, h, "admin", ev, "publish", expect=409)["issues"][0]["code"] == "illegal_transition"
    ev = step(c, h, "ent_a", ev, "file", filed_with="承德市工业和信息化局", filing_number="承工信备〔2022〕3号")
    assert ev["state"] == "filed" and ev["filed_with"] == "承德市工业和信息化局"
    step(c, h, "ent_a", ev, "publish", expect=403)  # the firm does not publish
    step(c, h, "reg_bj", ev, "publish", expect=403)  # another province's department reads, does not publish
    ev = step(c, h, "reg_hb", ev, "publish")
    assert ev["state"] == "published"
    pub = c.get("/api/v1/evaluations/published").json()["items"]
    assert len(pub) == 1 and pub[0]["firm"] == {"name": "承德矿业", "uscc": ORG_A}
    assert [p["product"] for p in pub[0]["products"]] == ["bricks_blocks"]
    assert pub[0]["evaluator"] == "河北省资源综合利用评价中心"
    assert [(w["material"], w["utilized_t"]) for w in pub[0]["wastes"]] == [("fly_ash", 3 * 5100.0)]
    assert set(pub[0]) == {"id", "period", "version", "region", "published_at", "firm", "wastes", "products",
                           "evaluator"}  # the published fields (the core's Assessment.published) and nothing else
    page = c.get("/evaluations/published")
    assert page.status_code == 200 and "承德矿业" in page.text and "粉煤灰 15,300.0" in page.text
    # every step is in the audit log and in the evaluation's own history
    assert _audit(plat, ev["id"]) == ["create", "submit", "request_corrections", "submit", "approve", "file",
                                      "publish"]
    got = c.get(f"/api/v1/evaluations/{ev['id']}", headers=h["ent_a"]).json()
    assert [e["action"] for e in got["events"]] == ["create", "evidence", "submit", "request_corrections", "submit",
                                                    "approve", "file", "publish"]


ILLEGAL = {  # state: actions refused there (all the others of STEPS)
    "draft": ("request_corrections", "approve", "file", "publish", "revise"),
    "submitted": ("submit", "file", "publish", "revise"),
    "approved": ("submit", "request_corrections", "approve", "publish"),
    "filed": ("submit", "request_corrections", "approve", "file"),
    "published": ("submit", "request_corrections", "approve", "file", "publish"),
}


@pytest.mark.parametrize("state", list(ILLEGAL))
def test_every_illegal_step_is_refused_with_a_clear_message(plat, state):
    from resynergy.services import evaluation

    c, h = plat.client, plat.headers
    ev = to_state(c, h, apply(c, h), state)
    assert set(ILLEGAL[state]) == {a for a, s in evaluation.STEPS.items() if EvaluationState(state) not in s.sources}
    for action in ILLEGAL[state]:  # the admin may take every step: only the state refuses
        r = c.post(f"/api/v1/evaluations/{ev['id']}/transitions", json={"action": action, "filed_with": "x"},
                   headers={**h["admin"], **if_match(ev)})
        assert r.status_code == 409, (state, action, r.text)
        issue = r.json()["issues"][0]
        assert issue["code"] == "illegal_transition" and issue["value"] == state
        assert "不能" in issue["message_zh"] and "cannot" in issue["message_en"]
        assert "allowed now" in issue["message_en"]
    after = c.get(f"/api/v1/evaluations/{ev['id']}", headers=h["admin"]).json()
    assert after["state"] == state and after["row_version"] == ev["row_version"]


def test_wrong_actor_and_missing_preconditions(plat):
    c, h = plat.client, plat.headers
    ev = apply(c, h)
    assert step(c, h, "ent_b", ev, "submit", expect=404)["code"] == "not_found"  # another firm's: invisible
    assert step(c, h, "evaluator", ev, "submit", expect=404)["code"] == "not_found"  # drafts are the firm's
    r = c.post(f"/api/v1/evaluations/{ev['id']}/transitions", json={"action": "submit"}, headers=h["ent_a"])
    assert r.status_code == 428  # no If-Match
    r = c.post(f"/api/v1/evaluations/{ev['id']}/transitions", json={"action": "submit"},
               headers={**h["ent_a"], "If-Match": '"99"'})
    assert r.status_code == 412
    r = c.post(f"/api/v1/evaluations/{ev['id']}/transitions", json={"action": "launch"},
               headers={**h["ent_a"], **if_match(ev)})
    assert r.status_code == 422
    ev = step(c, h, "ent_a", ev, "submit")
    assert step(c, h, "eval2", ev, "approve", expect=404)["code"] == "not_found"  # not sent to eval2
    assert step(c, h, "reg_hb", ev, "approve", expect=404)["code"] == "not_found"  # departments: from approval on
    # an evaluator not on the province's list cannot be chosen
    r = c.patch(f"/api/v1/evaluations/{ev['id']}", json={"evaluator_id": plat.ids["eval2"]},
                headers={**h["ent_a"], **if_match(ev)})
    assert r.status_code == 409  # under review: no change
    other = c.post("/api/v1/evaluations", json={"period": "2022-01", "evaluator_id": plat.ids["eval2"]},
                   headers=h["ent_a"])
    assert other.status_code == 422 and other.json()["issues"][0]["code"] == "not_listed"


def test_a_failed_mass_balance_blocks_the_approval(plat):
    c, h = plat.client, plat.headers
    ev = to_state(c, h, apply(c, h, break_balance=True), "submitted")
    r = c.post(f"/api/v1/evaluations/{ev['id']}/transitions", json={"action": "approve"},
               headers={**h["evaluator"], **if_match(ev)})
    assert r.status_code == 409, r.text
    issues = r.json()["issues"]
    assert issues[0]["code"] == "balance_failed" and len(issues) > 1
    assert c.get(f"/api/v1/evaluations/{ev['id']}", headers=h["ent_a"]).json()["state"] == "submitted"


# ---- immutability -------------------------------------------------------------------------------
def test_approved_versions_never_change_and_a_correction_is_a_new_version(plat):
    from resynergy.store.models import Evaluation

    c, h = plat.client, plat.headers
    ev = to_state(c, h, apply(c, h), "approved")
    with plat.sessions() as db:
        frozen = db.get(Evaluation, ev["id"])
        before = (frozen.report_sha256, frozen.assessment, frozen.refund_yuan)
    other = c.post("/api/v1/ledgers", files={"file": ("b.xlsx", ledger_xlsx(utilized_t=4000.0))}, headers=h["ent_a"])
    r = c.patch(f"/api/v1/evaluations/{ev['id']}", json={"ledger_id": other.json()["id"]},
                headers={**h["ent_a"], **if_match(ev)})
    assert r.status_code == 409 and r.json()["issues"][0]["code"] == "immutable"
    assert "新版本" in r.json()["issues"][0]["message_zh"]
    r = c.post(f"/api/v1/evaluations/{ev['id']}/evidence", files={"file": ("x.pdf", PDF)}, headers=h["ent_a"])
    assert r.status_code == 409 and r.json()["issues"][0]["code"] == "immutable"
    # a second application for the same period is refused while the first is frozen? no: it is the correction
    v2 = step(c, h, "ent_a", ev, "revise", expect=200)
    assert v2["version"] == 2 and v2["previous_id"] == ev["id"] and v2["state"] == "draft"
    assert c.post(f"/api/v1/evaluations/{ev['id']}/transitions", json={"action": "revise"},
                  headers={**h["ent_a"], **if_match(c.get(f"/api/v1/evaluations/{ev['id']}",
                                                          headers=h["ent_a"]).json())}).status_code == 409
    again = c.post("/api/v1/evaluations", json={"period": "2022Q1"}, headers=h["ent_a"])
    assert again.status_code == 409 and again.json()["issues"][0]["code"] == "open_application"
    r = c.patch(f"/api/v1/evaluations/{v2['id']}", json={"ledger_id": other.json()["id"]},
                headers={**h["ent_a"], **if_match(v2)})
    assert r.status_code == 200
    v2 = to_state(c, h, r.json(), "approved")
    with plat.sessions() as db:
        old = db.get(Evaluation, ev["id"])
        assert (old.report_sha256, old.assessment, old.refund_yuan) == before
        assert old.state == "approved"
        assert db.get(Evaluation, v2["id"]).utilized_t != old.utilized_t
    # the regional view counts the latest version only
    view = c.get("/api/v1/evaluations/regional", headers=h["admin"]).json()
    assert [e["id"] for e in view["evaluations"]] == [v2["id"]]


# ---- evidence upload attacks --------------------------------------------------------------------
def _formula_xlsx() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active["A1"] = "=HYPERLINK(\"http://evil\")"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _fake_xlsx() -> bytes:
    """A zip dressed as a workbook (its workbook part is garbage)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types xmlns='http://schemas.openxmlformats.org/package/2006/content-types'/>")
        zf.writestr("xl/workbook.xml", "garbage")
    return out.getvalue()


def _zip_bomb_xlsx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_LZMA) as zf:  # 210 MB unpacked in a few kB
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/big.xml", b"\0" * (210 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize("name, data, status, code", [
    ("big.pdf", PDF + b"0" * 300_000, 413, "too_large"),
    ("tool.exe", b"MZ\x90\x00", 422, "unsupported"),
    ("scan.png", PDF, 422, "wrong_type"),
    ("report.pdf", b"<html>not a pdf</html>", 422, "wrong_type"),
    (".hidden.pdf", PDF, 422, "bad_filename"),
    ("x" * 250 + ".pdf", PDF, 422, "bad_filename"),
    ("sums.xlsx", _formula_xlsx(), 422, "formula"),
    ("bomb.xlsx", _zip_bomb_xlsx(), 422, "unreadable"),
    ("fake.xlsx", _fake_xlsx(), 422, "unreadable"),
    ("sums.csv", "月份,吨\n2022-01,=1+2\n".encode(), 422, "formula"),
    ("latin.csv", "吨".encode("gb18030"), 422, "encoding"),
    ("empty.pdf", b"", 422, "empty"),
])
def test_evidence_attacks_are_refused_and_nothing_is_stored(plat, name, data, status, code):
    c, h = plat.client, plat.headers
    ev = apply(c, h)
    r = c.post(f"/api/v1/evaluations/{ev['id']}/evidence", files={"file": (name, data)}, headers=h["ent_a"])
    assert r.status_code == status, r.text
    if status == 422:
        assert r.json()["issues"][0]["code"] == code
    assert c.get(f"/api/v1/evaluations/{ev['id']}", headers=h["ent_a"]).json()["evidence"] == []


def test_file_names_with_control_characters_or_paths_are_refused_or_cut():
    from resynergy.services import evaluation

    for bad in ("a\x00b.pdf", "a\x01b.pdf", "..", ".", "", "dir/", "x" * 201):
        with pytest.raises(Rejected) as err:
            evaluation._safe_name(bad)  # noqa: SLF001 - the one place names are checked
        assert err.value.issues[0]["code"] == "bad_filename"
    assert evaluation._safe_name("C:\\x\\..\\证明.pdf") == "证明.pdf"  # noqa: SLF001


def test_evidence_path_names_never_reach_a_path(plat):
    c, h = plat.client, plat.headers
    ev = apply(c, h)
    for i, name in enumerate(("../../etc/passwd.pdf", "..\\..\\windows\\win.ini.pdf", "/abs/olute.pdf")):
        r = c.post(f"/api/v1/evaluations/{ev['id']}/evidence", files={"file": (name, PDF + bytes([i]))},
                   headers=h["ent_a"])
        assert r.status_code == 201, r.text
        assert "/" not in r.json()["name"] and "\\" not in r.json()["name"] and ".." not in r.json()["name"]
    stored = c.get(f"/api/v1/evaluations/{ev['id']}", headers=h["ent_a"]).json()["evidence"]
    assert [f["name"] for f in stored] == ["passwd.pdf", "win.ini.pdf", "olute.pdf"]
    got = c.get(f"/api/v1/evaluations/{ev['id']}/evidence/{stored[0]['id']}", headers=h["evaluator"])
    assert got.status_code == 404  # a draft: not yet the evaluator's
    got = c.get(f"/api/v1/evaluations/{ev['id']}/evidence/{stored[0]['id']}", headers=h["ent_a"])
    assert got.content == PDF + b"\0" and got.headers["content-type"] == "application/pdf"
    r = c.delete(f"/api/v1/evaluations/{ev['id']}/evidence/{stored[1]['id']}", headers=h["ent_a"])
    assert r.status_code == 204
    left = c.get(f"/api/v1/evaluations/{ev['id']}", headers=h["ent_a"]).json()["evidence"]
    assert [f["name"] for f in left] == ["passwd.pdf", "olute.pdf"]
    assert got.headers["content-disposition"].startswith('attachment; filename="evidence-')
    assert c.get(f"/api/v1/evaluations/{ev['id']}/evidence/{stored[0]['id']}", headers=h["ent_b"]).status_code == 404


def test_ledger_uploads_are_checked_and_located(plat):
    c, h = plat.client, plat.headers
    r = c.post("/api/v1/ledgers", files={"file": ("ledger.csv", b"a,b\n1,2\n")}, headers=h["ent_a"])
    assert r.status_code == 422 and r.json()["issues"][0]["code"] == "unsupported"
    r = c.post("/api/v1/ledgers", files={"file": ("ledger.xlsx", b"PK\x03\x04garbage")}, headers=h["ent_a"])
    assert r.status_code == 422 and r.json()["issues"][0]["code"] == "unreadable"
    r = c.post("/api/v1/ledgers", files={"file": ("ledger.xlsx", _fake_xlsx())}, headers=h["ent_a"])
    assert r.status_code == 422 and r.json()["issues"][0]["code"] == "unreadable"
    assert "不是" in r.json()["issues"][0]["message_zh"] and "/" not in r.json()["issues"][0]["message_en"]
    r = c.post("/api/v1/ledgers", files={"file": ("ledger.xlsx", _formula_xlsx())}, headers=h["ent_a"])
    assert r.status_code == 422 and r.json()["issues"][0]["code"] == "formula"
    r = c.post("/api/v1/ledgers", files={"file": ("b.xlsx", ledger_xlsx(uscc=ORG_B, name="北京建材", region="110000"))},
               headers=h["ent_a"])
    assert r.status_code == 422 and r.json()["issues"][0]["code"] == "firm_mismatch"
    assert c.get("/api/v1/ledgers", headers=h["ent_a"]).json()["items"] == []  # nothing stored
    r = c.post("/api/v1/ledgers", files={"file": ("ok.xlsx", ledger_xlsx())}, headers=h["ent_b"])
    assert r.status_code == 422  # B's own organisation is not the ledger's firm


# ---- two reviewers at once ----------------------------------------------------------------------
def test_two_reviewers_approving_the_same_version_one_wins(app, db_url):
    from resynergy.services import evaluation
    from resynergy.store.models import Evaluation, EvaluationEvent

    users = seed(app)
    with TestClient(app) as c:
        h = users.headers
        ev = to_state(c, h, apply(c, h), "submitted")
    sessions = app.state.platform.sessions
    reviewers = [Actor(users.ids["evaluator"], "evaluator", "evaluator"), Actor(users.ids["admin"], "admin", "admin")]

    def approve(actor):
        with sessions() as db:
            try:
                out = evaluation.transition(db, actor, ev["id"], "approve", ev["row_version"])
                db.commit()
                return out["state"]
            except Rejected as err:
                db.rollback()
                return err.status

    results = together(*(lambda a=a: approve(a) for a in reviewers))
    # the loser is told: its version is stale (412), or — when it reads after the winner committed —
    # the evaluation is no longer submitted (409); never a second approval
    assert sorted(map(str, results)) in (["409", "approved"], ["412", "approved"]), results
    with sessions() as db:
        row = db.get(Evaluation, ev["id"])
        assert row.state == "approved" and row.row_version == ev["row_version"] + 1
        approvals = db.scalar(sa.select(sa.func.count()).select_from(EvaluationEvent).where(
            EvaluationEvent.evaluation_id == ev["id"], EvaluationEvent.action == "approve"))
        assert approvals == 1


# ---- regional view, mutual recognition, export ---------------------------------------------------
def _frozen_totals(p: Platform) -> dict[str, dict[str, float]]:
    """Sum of the frozen assessments' own totals by region, read from the stored JSON."""
    from resynergy.store.models import Evaluation

    out: dict[str, dict[str, float]] = {}
    with p.sessions() as db:
        for e in db.scalars(sa.select(Evaluation).where(Evaluation.state != "draft")):
            if e.assessment is None:
                continue
            t = e.assessment["totals"]
            bucket = out.setdefault(e.region, {"utilized_t": 0.0, "refund_yuan": 0.0, "ept_exempt_yuan": 0.0})
            for k in bucket:
                bucket[k] += float(t[k])
    return out


def test_regional_totals_by_prefecture_equal_the_sum_of_the_assessments(plat):
    c, h = plat.client, plat.headers
    a1 = to_state(c, h, apply(c, h, period="2022Q1"), "approved")
    a2 = to_state(c, h, apply(c, h, period="2022-02"), "filed")
    b = to_state(c, h, apply(c, h, firm="ent_b", uscc=ORG_B, name="北京建材", region="110000"), "approved",
                 firm="ent_b")
    view = c.get("/api/v1/evaluations/regional", headers=h["admin"]).json()
    expected = _frozen_totals(plat)
    got = {r["region"]: r for r in view["by_prefecture"]}
    assert set(got) == {"130800", "110000"} and got["130800"]["evaluations"] == 2
    for region, totals in expected.items():
        for k, v in totals.items():
            assert got[region][k] == pytest.approx(v), (region, k)
    assert sum(r["utilized_t"] for r in view["by_quarter"]) == pytest.approx(sum(t["utilized_t"]
                                                                                 for t in expected.values()))
    # each quarter's totals are due with the province within the core's reporting rule (EVAL-QTR-AGG: 15 days)
    assert {r["report_due"] for r in view["by_quarter"]} == {"2022-04-15"}
    assert view["reporting_rule"]["rule_id"] == "EVAL-QTR-AGG"
    # tonnes by material and quarter come from the ledgers' months within each period
    q1 = {(r["region"], r["quarter"]): r["utilized_t"] for r in view["by_material"]}
    assert q1[("130800", "2022Q1")] == pytest.approx(3 * 5100.0 + 5100.0)  # 2022Q1 (3 months) + 2022-02
    # scope: Hebei's department sees its approved ones and Beijing's only once filed (mutual recognition)
    hb = c.get("/api/v1/evaluations/regional", headers=h["reg_hb"]).json()
    assert {e["id"] for e in hb["evaluations"]} == {a1["id"], a2["id"]}
    bj = c.get("/api/v1/evaluations/regional", headers=h["reg_bj"]).json()
    assert {e["id"] for e in bj["evaluations"]} == {a2["id"], b["id"]}
    step(c, h, "ent_b", b, "file", filed_with="北京市经济和信息化局")
    hb = c.get("/api/v1/evaluations/regional", headers=h["reg_hb"]).json()
    assert {e["id"] for e in hb["evaluations"]} == {a1["id"], a2["id"], b["id"]}
    for who in ("ent_a", "evaluator", "public"):
        assert c.get("/api/v1/evaluations/regional", headers=h[who]).status_code == 403


def test_regional_xlsx_matches_the_view_and_never_holds_a_formula(plat):
    from openpyxl import load_workbook

    from resynergy.services import evaluation

    c, h = plat.client, plat.headers
    to_state(c, h, apply(c, h), "approved")
    view = c.get("/api/v1/evaluations/regional", headers=h["admin"]).json()
    r = c.get("/api/v1/evaluations/regional.xlsx", headers=h["admin"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["评价 evaluations", "按地区 by prefecture", "按季度 by quarter", "按物料 by material"]
    pref = list(wb["按地区 by prefecture"].iter_rows(min_row=2, values_only=True))
    assert [(row[0], row[3], row[4]) for row in pref] == [
        (x["region"], pytest.approx(x["utilized_t"]), pytest.approx(x["refund_yuan"])) for x in view["by_prefecture"]]
    # a firm named like a formula stays text
    evil = {**view, "evaluations": [{**view["evaluations"][0], "firm": "=HYPERLINK(\"http://evil\",\"x\")"}]}
    wb = load_workbook(io.BytesIO(evaluation.regional_workbook(evil)))
    cell = wb["评价 evaluations"]["B2"]
    assert cell.value == "=HYPERLINK(\"http://evil\",\"x\")" and cell.data_type == "s"


# ---- eligibility --------------------------------------------------------------------------------
def test_eligibility_answers_the_core_assessment_with_the_rule_behind_each_figure(plat):
    from resynergy.evaluation import Ledger, Period, assess
    from support.evaluation_platform import ledger_dict

    c, h = plat.client, plat.headers
    ev = apply(c, h)
    live = c.get("/api/v1/eligibility", params={"evaluation": ev["id"]}, headers=h["ent_a"])
    assert live.status_code == 200, live.text
    body = live.json()
    expected = assess(Ledger.from_dict(ledger_dict()), Period.parse("2022Q1")).to_dict()
    assert body["frozen"] is False and body["totals"] == pytest.approx(expected["totals"])
    assert all(row["rule_id"] for row in body["vat"])
    by_org = c.get("/api/v1/eligibility", params={"org": ORG_A, "period": "2022q1"}, headers=h["ent_a"]).json()
    assert by_org["evaluation"] == ev["id"] and by_org["totals"] == body["totals"]
    approved = to_state(c, h, ev, "approved")
    frozen = c.get("/api/v1/eligibility", params={"evaluation": approved["id"]}, headers=h["evaluator"]).json()
    assert frozen["frozen"] is True and frozen["totals"] == body["totals"]
    for params, status in (({"evaluation": "abc"}, 422), ({}, 422), ({"org": ORG_A, "period": "2022Q5"}, 422),
                           ({"evaluation": 99999}, 404), ({"org": ORG_B, "period": "2022Q1"}, 404)):
        r = c.get("/api/v1/eligibility", params=params, headers=h["ent_a"])
        assert r.status_code == status, (params, r.text)
    assert c.get("/api/v1/eligibility", params={"evaluation": ev["id"]}, headers=h["ent_b"]).status_code == 404
    assert c.get("/api/v1/eligibility", params={"evaluation": ev["id"]}).status_code == 401


# ---- the monitor counts evaluated tonnes once ----------------------------------------------------
def test_approved_tonnes_feed_the_monitor_without_double_counting(plat):
    from resynergy.services import actuals, evaluation

    c, h = plat.client, plat.headers
    admin = Actor(plat.ids["admin"], "admin", "admin")
    with plat.sessions() as db:  # a processed manifest already brought 3,000 t of fly ash to A's plant in 2022
        actuals.record_flow(db, admin, manifest="HB2022010001", year=2022, from_site="bj-site", to_site="cd-plant",
                            material="fly_ash", mode="", t=3000.0, distance_km=None, source="manifest")
        db.commit()
        recorded = actuals.flows_frame(db, admin)
        assert evaluation.verified_flows(db, admin, recorded).empty  # nothing approved yet
    to_state(c, h, apply(c, h), "approved")  # 3 × 5,100 t utilized in 2022Q1
    with plat.sessions() as db:
        extra = evaluation.verified_flows(db, admin, actuals.flows_frame(db, admin))
        assert extra[["year", "to_site", "material", "source"]].values.tolist() == [
            [2022, "cd-plant", "fly_ash", "evaluation"]]
        assert extra["t"].sum() == pytest.approx(3 * 5100.0 - 3000.0)
        total = evaluation.with_verified(db, admin, actuals.flows_frame(db, admin))
        assert total.loc[total["to_site"] == "cd-plant", "t"].sum() == pytest.approx(3 * 5100.0)
        # the Beijing regulator's monitor does not count a Hebei evaluation
        bj = Actor(plat.ids["reg_bj"], "reg_bj", "regulator", province="110000")
        assert evaluation.verified_flows(db, bj, actuals.flows_frame(db, bj)).empty
    mon = c.get("/api/v1/monitor", headers=h["admin"])
    assert mon.status_code == 200, mon.text
    assert mon.json()["tonnes"] == pytest.approx(3 * 5100.0)
    assert mon.json()["evaluated_t"] == pytest.approx(3 * 5100.0 - 3000.0)
    page = c.get("/monitor", headers=h["admin"])
    assert "其中 1.23 万吨 来自已通过的综合利用评价" in page.text


# ---- ledgers from the template and from actual flows; deadlines; English pages ------------------
def test_the_template_carries_the_firm_and_a_ledger_can_be_built_from_flows(plat):
    from openpyxl import load_workbook

    from resynergy.services import actuals

    c, h = plat.client, plat.headers
    r = c.get("/api/v1/ledgers/template.xlsx", headers=h["ent_a"])
    assert r.status_code == 200
    cells = {str(v) for ws in load_workbook(io.BytesIO(r.content)).worksheets
             for row in ws.iter_rows(values_only=True) for v in row if v is not None}
    assert ORG_A in cells and "承德矿业" in cells
    r = c.post("/api/v1/ledgers/from-flows", json={}, headers=h["ent_a"])
    assert r.status_code == 422 and r.json()["issues"][0]["code"] == "no_flows"
    with plat.sessions() as db:
        actuals.record_flow(db, Actor(plat.ids["admin"], "admin", "admin"), manifest="HB2022060001", year=2022,
                            from_site="bj-site", to_site="cd-plant", material="fly_ash", mode="", t=1200.0,
                            distance_km=None, source="manifest")
        db.commit()
    r = c.post("/api/v1/ledgers/from-flows", json={}, headers=h["ent_a"])
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["source"] == "flows" and got["materials"] == ["fly_ash"] and got["notes"]  # what flows cannot say
    frames = c.get(f"/api/v1/ledgers/{got['id']}", headers=h["ent_a"]).json()["frames"]
    assert [(x["manifest"], x["t"]) for x in frames["receipts"]] == [("HB2022060001", 1200.0)]
    assert c.get(f"/api/v1/ledgers/{got['id']}", headers=h["ent_b"]).status_code == 404
    sent = c.post("/api/v1/ledgers/from-flows", json={}, headers=h["ent_b"])  # B sent the load: transferred out
    assert sent.status_code == 201, sent.text
    waste = c.get(f"/api/v1/ledgers/{sent.json()['id']}", headers=h["ent_b"]).json()["frames"]["waste"]
    assert [(w["material"], w["transferred_t"], w["received_t"]) for w in waste] == [("fly_ash", 1200.0, 0.0)]


def test_an_unfiled_approval_past_its_due_date_is_flagged_overdue(plat, monkeypatch):
    from resynergy.services import evaluation
    from resynergy.store.models import utcnow

    c, h = plat.client, plat.headers
    ev = to_state(c, h, apply(c, h), "approved")
    assert ev["overdue"] is False
    monkeypatch.setattr(evaluation, "utcnow", lambda: utcnow() + timedelta(days=31))  # a month on, never filed
    got = c.get(f"/api/v1/evaluations/{ev['id']}", headers=h["reg_hb"]).json()
    assert got["overdue"] is True and got["due_date"] == ev["due_date"]
    view = c.get("/api/v1/evaluations/regional", headers=h["reg_hb"]).json()
    assert view["evaluations"][0]["overdue"] is True
    assert "逾期未备案" in c.get("/evaluations/regional", headers=h["reg_hb"]).text
    filed = step(c, h, "ent_a", got, "file", filed_with="承德市工业和信息化局")
    assert filed["overdue"] is True and filed["filed_at"] > filed["due_date"]  # filed late stays flagged
    assert "逾期备案" in c.get(f"/evaluations/{ev['id']}", headers=h["ent_a"]).text


def test_the_database_itself_refuses_to_change_a_frozen_version(app, db_url):
    """Whatever the code above it does, an approved row keeps what was approved (a trigger)."""
    users = seed(app)
    with TestClient(app) as c:
        ev = to_state(c, users.headers, apply(c, users.headers), "filed")
    engine = sa.create_engine(db_url)
    try:
        for change in ("assessment = NULL", "report_html = 'forged'", "report_html_en = 'forged'", "refund_yuan = 1", "state = 'draft'",
                       "ledger_id = NULL", "due_date = NULL", "products = '[]'"):
            with pytest.raises(sa.exc.DatabaseError, match="frozen"), engine.begin() as conn:
                conn.execute(sa.text(f"UPDATE evaluations SET {change} WHERE id = :i"), {"i": ev["id"]})
        with engine.begin() as conn:  # its own step is allowed: publication
            conn.execute(sa.text("UPDATE evaluations SET state = 'published', row_version = row_version + 1 "
                                 "WHERE id = :i"), {"i": ev["id"]})
            assert conn.execute(sa.text("SELECT state FROM evaluations WHERE id = :i"),
                                {"i": ev["id"]}).scalar_one() == "published"
    finally:
        engine.dispose()


def test_the_pages_speak_english_too(plat):
    c, h = plat.client, plat.headers
    ev = to_state(c, h, apply(c, h), "approved")
    c.cookies.set("lang", "en")
    page = c.get(f"/evaluations/{ev['id']}", headers=h["ent_a"])
    assert page.status_code == 200
    for words in ("Computed checks", "Blending shares", "VAT immediate refund", "Filing due", "share 70.8%"):
        assert words in page.text, words
    for path, who, words in (("/evaluations", "ent_a", "Upload a ledger"), ("/evaluations/regional", "admin", "By prefecture"),
                             ("/evaluations/published", "public", "Published evaluations")):
        page = c.get(path, headers=h[who])
        assert page.status_code == 200 and words in page.text, path
    c.cookies.delete("lang")
    page = c.get(f"/evaluations/{ev['id']}", headers=h["ent_a"])
    assert "计算核查" in page.text and "掺量 70.8%" in page.text
    for bad in ("abc", "99999999999", "0"):  # bad input: never a 500 (nor a database overflow)
        assert c.get(f"/evaluations/{bad}", headers=h["ent_a"]).status_code == 422, bad
        assert c.get(f"/api/v1/evaluations/{bad}", headers=h["ent_a"]).status_code == 422, bad
    assert c.get("/evaluations/999999", headers=h["ent_a"]).status_code == 404
