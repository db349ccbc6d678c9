"""Issue #13 in real headless Chromium: a firm uploads its 2022 Q1 ledger in the template,
applies with evidence and submits; the evaluator it chose reviews the computed checks and
approves, and files the report; the province's department sees the filing and the regional
totals; the firm sees its eligibility (the VAT refund with the rule behind it). Every request
stays on the test server. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from resynergy.services import evaluation
from resynergy.services.access import Actor
from support.evaluation_platform import ledger_xlsx
from support.platform import PASSWORD, LiveServer, add_users, local_page, make_settings, seed

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory, sqlite_template):
    from resynergy.web.app import create_app

    path = tmp_path_factory.mktemp("evaluation-browser") / "e.db"
    shutil.copyfile(sqlite_template, path)
    app = create_app(make_settings(f"sqlite:///{path}"), migrate=False, run_worker=False)
    users = seed(app)
    add_users(app, users, {"reg_hb": ("regulator", "", "130000")})
    with app.state.platform.sessions() as db:  # Hebei's list names the evaluator
        evaluation.list_evaluator(db, Actor(users.ids["reg_hb"], "reg_hb", "regulator", province="130000"),
                                  province="130000", username="evaluator", name="河北省资源综合利用评价中心")
        db.commit()
    with LiveServer(app) as live:
        yield live


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_selector("header .who .user")  # signed in (an enterprise lands on its own page)
    page.click("header nav a[href='/evaluations']")
    page.wait_for_url(f"{base}/evaluations")


def test_firm_applies_evaluator_approves_department_sees_the_filing(browser, server, tmp_path):
    base = server.url
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ledger = tmp_path / "台账-2022Q1.xlsx"
    ledger.write_bytes(ledger_xlsx())
    ticket = tmp_path / "地磅单.pdf"
    ticket.write_bytes(PDF)
    with local_page(browser, base) as page:  # the firm
        _sign_in(page, base, "ent_a")
        page.set_input_files("#ledger-upload input[name=file]", str(ledger))
        page.click("#ledger-upload button[type=submit]")
        page.wait_for_url("**/evaluations?msg=ledger_saved")
        assert "bricks_blocks" in page.locator("#ledger-list").inner_text()
        page.fill("#new-evaluation input[name=period]", "2022Q1")
        page.select_option("#new-evaluation select[name=ledger_id]", index=1)
        page.fill("#new-evaluation input[name=products]", "bricks_blocks")
        page.select_option("#new-evaluation select[name=evaluator_id]", index=1)
        page.click("#new-evaluation button[type=submit]")
        page.wait_for_url("**/evaluations/*?msg=evaluation_created")
        url = page.url.split("?")[0]
        page.set_input_files("#evidence-upload input[name=file]", str(ticket))
        page.fill("#evidence-upload input[name=figure]", "fly_ash")
        page.click("#evidence-upload button[type=submit]")
        page.wait_for_url("**msg=evidence_saved")
        assert "地磅单.pdf" in page.locator("#evidence-list").inner_text()
        page.click("#step-submit button")
        page.wait_for_url("**msg=evaluation_step_done")
        assert page.locator("#evaluation-state").get_attribute("data-state") == "submitted"

    with local_page(browser, base) as page:  # the evaluator: queue, computed checks, approval, filing
        _sign_in(page, base, "evaluator")
        page.click("#evaluation-queue a")
        page.wait_for_url(url)
        shares = page.locator("#check-shares").inner_text()
        assert "bricks_blocks" in shares and "✓" in shares
        assert "物料平衡通过" in page.locator("#check-balance").inner_text()
        assert "示例热电厂" in page.locator("#receipts-fly_ash").inner_text()
        ARTIFACTS.joinpath("evaluation-review.png").write_bytes(page.screenshot(full_page=True))
        page.click("#step-approve button")
        page.wait_for_url("**msg=evaluation_step_done")
        assert page.locator("#evaluation-state").get_attribute("data-state") == "approved"
        assert page.locator("#due-date").inner_text()
        page.fill("#step-file input[name=filed_with]", "承德市工业和信息化局")
        page.click("#step-file button")
        page.wait_for_url("**msg=evaluation_step_done")
        assert page.locator("#evaluation-state").get_attribute("data-state") == "filed"

    with local_page(browser, base) as page:  # Hebei's department: the filing and the regional totals
        _sign_in(page, base, "reg_hb")
        page.click("#regional-link")
        page.wait_for_url(f"{base}/evaluations/regional")
        filing = page.locator("#regional-evaluations tr[data-state=filed]").inner_text()
        assert "承德矿业" in filing and "承德市工业和信息化局" in filing
        pref = page.locator("#by-prefecture tr[data-region='130800']").inner_text()
        assert "15,300.0" in pref  # 3 × 5,100 t of fly ash utilized
        assert page.locator("#regional-xlsx").get_attribute("href").startswith("/api/v1/evaluations/regional.xlsx")
        ARTIFACTS.joinpath("evaluation-regional.png").write_bytes(page.screenshot(full_page=True))

    with local_page(browser, base) as page:  # the firm sees its eligibility, frozen as approved
        _sign_in(page, base, "ent_a")
        page.goto(url)
        vat = page.locator("#eligibility #check-vat").inner_text()
        assert "VAT22-2.1" in vat and "✓" in vat
        assert "532,350" in page.locator("#eligibility-totals").inner_text()
        assert page.locator("#report-link").is_visible()
        ARTIFACTS.joinpath("evaluation-eligibility.png").write_bytes(page.screenshot(full_page=True))
