"""Batteries in real headless Chromium: import the sample event file on the page, scan a pack's
code, see its pack → module → cell tree and its history with upload deadlines (a late upload
across the 2024 Spring Festival); scan another pack, record a test, see its triage and where it
goes (a licensed recycler); the forecast chart draws from the locally served plotly. Every
request stays on the test server."""

from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path

import pytest

from resynergy.services import batteries
from resynergy.services.access import Actor
from resynergy.services.registry import Change, apply
from support.platform import ORG_A, PASSWORD, LiveServer, local_page, make_settings, seed

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser"
PACK = "T01PE01A10000193F0000001"
OWN = "T01PE01A10000193F0000900"  # collected by organisation A in Chengde, to be tested and matched


@pytest.fixture(scope="module")
def server(tmp_path_factory, sqlite_template):
    from resynergy.web.app import create_app

    path = tmp_path_factory.mktemp("batteries-browser") / "b.db"
    shutil.copyfile(sqlite_template, path)
    app = create_app(make_settings(f"sqlite:///{path}"), migrate=False, run_worker=False)
    users = seed(app)
    with app.state.platform.sessions() as db:  # a licensed recycler in Chengde; A's collected pack
        apply(db, Actor(users.ids["admin"], "admin", "admin"), [Change("facilities", "create", {
            "id": "cd-battery", "site": "cd-plant", "process": "battery_recycling", "year": 2022, "capacity_t": 1000.0})])
        db.commit()
        batteries.push_events(db, Actor(users.ids["ent_a"], "ent_a", "enterprise", ORG_A), [
            {"unit_code": OWN, "event": "collected", "time": "2024-01-10", "actor": ORG_A,
             "actor_role": "collection_point", "place": "130800", "mass_kg": 400.0}])
    with LiveServer(app) as live:
        yield live


def test_scan_a_code_see_its_history_and_triage(browser, server, tmp_path):
    base = server.url
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    sample = tmp_path / "sample_events.csv"
    sample.write_bytes(files("resynergy.batteries").joinpath("data/sample_events.csv").read_bytes())
    with local_page(browser, base) as page:
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.click("header nav a[href='/batteries']")
        page.wait_for_url(f"{base}/batteries")

        page.set_input_files("#events-import input[name=file]", str(sample))
        page.click("#events-import button[type=submit]")
        page.wait_for_url("**/batteries?msg=events_imported")
        assert "事件已导入" in page.locator(".flash").inner_text()

        # a scanner types the code (full-width input from an IME is accepted) and presses Enter
        page.fill("#scan-code", "Ｔ01PE01A10000193F0000001")
        page.press("#scan-code", "Enter")
        page.wait_for_selector("#unit-tree")
        assert PACK in page.locator("#unit-fields").inner_text()
        tree = page.locator("#unit-tree").inner_text()
        assert "T01ME01A10000193F0000011 (M)" in tree and "T01CE01A10000193F0000111 (C)" in tree
        retired = page.locator("#unit-events tr[data-event=retired]").inner_text()
        assert "2024-03-01" in retired and "迟报 (3)" in retired  # 15 working days across the Spring Festival
        ARTIFACTS.joinpath("batteries-unit.png").write_bytes(page.screenshot(full_page=True))

        # organisation A's collected pack: record its test, see the decision and where it goes
        page.fill("#scan-code", OWN)
        page.press("#scan-code", "Enter")
        page.wait_for_selector("#unit-events tr[data-event=collected]")
        assert "逾期未报" in page.locator("#unit-events tr[data-event=collected]").inner_text()
        page.fill("#test-soh", "0.55")
        page.click("#test-submit")
        page.wait_for_url("**/batteries?code=*msg=test_recorded*")
        row = page.locator("#unit-tests tbody tr").first
        assert row.get_attribute("data-outcome") == "recycle"
        assert "再生利用" in row.inner_text() and "60" in row.inner_text()
        page.click("#battery-nav a[href='/batteries/triage']")
        match = page.locator(f"#matches tr[data-unit='{OWN}']")
        assert match.get_attribute("data-route") == "recycling" and "cd-plant" in match.locator(".to").inner_text()
        ARTIFACTS.joinpath("batteries-triage.png").write_bytes(page.screenshot(full_page=True))

        page.click("#battery-nav a[href='/batteries/forecast']")
        page.wait_for_selector("#fig-battery_forecast .plot[data-ready='1']")
        assert "千吨" in page.locator("#forecast-summary").inner_text()
