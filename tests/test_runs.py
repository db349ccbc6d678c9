"""Planning runs in worker processes: progress, results kept with their inputs, cancellation, a
killed worker leaving no half-written results, publishing and comparing."""

from __future__ import annotations

import os
import re
import shutil
import signal
import time

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from resynergy.scenario import Scenario
from resynergy.services.worker import PAUSE_BEFORE_SAVE, PAUSE_IN_SAVE
from resynergy.store.models import Run, RunResult
from support.platform import make_settings, seed

pytestmark = pytest.mark.slow  # planning runs in worker processes

FINISHED = ("succeeded", "failed", "cancelled")


def make_app(url: str):
    from resynergy.web.app import create_app

    return create_app(make_settings(url), migrate=False, run_worker=True)


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template) -> str:
    path = tmp_path / "runs.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def platform(sqlite_url):
    """(client, users, app) with the run supervisor on a SQLite database."""
    app = make_app(sqlite_url)
    users = seed(app)
    with TestClient(app) as client:
        yield client, users, app


def wait(client, headers, run_id: int, until=FINISHED, stage: str = "", timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/v1/runs/{run_id}", headers=headers).json()
        if run["state"] in until and (not stage or run["stage"] == stage):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not reach {until} {stage}: {run}")


def submit(client, h, **options) -> dict:
    scenario = client.post("/api/v1/scenarios", json={"name": "test"}, headers=h).json()
    r = client.post("/api/v1/runs", json={"scenario_id": scenario["id"], "options": options}, headers=h)
    assert r.status_code == 201, r.text
    return r.json()


def result_rows(app, run_id: int) -> int:
    with app.state.platform.sessions() as db:
        return db.scalar(sa.select(sa.func.count()).select_from(RunResult).where(RunResult.run_id == run_id))


def test_run_finishes_with_results_report_log_and_inputs(platform, tmp_path):
    client, users, app = platform
    h = users.headers["planner"]
    run = submit(client, h, objective="cost", years=[2022])
    assert run["state"] == "queued"
    done = wait(client, h, run["id"])
    assert done["state"] == "succeeded", done["error"]
    assert done["progress"] == 1.0 and done["plan_status"] == "optimal" and done["objective"] is not None
    flows = client.get(f"/api/v1/runs/{run['id']}/results/flows?limit=500", headers=h).json()["items"]
    shipped = {(f["from_site"], f["to_site"], f["material"]): f["t"] for f in flows}
    assert shipped[("cd-mine", "cd-plant", "tailings")] > 0
    summary = client.get(f"/api/v1/runs/{run['id']}/results/summary", headers=h).json()["items"][0]
    assert summary["status"] == "optimal" and summary["targets"]
    report = client.get(f"/api/v1/runs/{run['id']}/report", headers=h)
    assert report.status_code == 200 and "<html" in report.text[:500] and "承德" in report.text
    markup = re.sub(r"<script[^>]*>.*?</script>", "", report.text, flags=re.S)  # plotly.js names URLs inside
    assert not re.search(r"""(src|href)=["']https?://""", markup)  # offline: the page loads nothing from outside
    assert "HiGHS" in client.get(f"/api/v1/runs/{run['id']}/log", headers=h).text
    sankey = client.get(f"/api/v1/runs/{run['id']}/figures/sankey?lang=en", headers=h).json()
    assert sankey["data"][0]["type"] == "sankey"
    inputs = client.get(f"/api/v1/runs/{run['id']}/inputs", headers=h).json()
    assert inputs["options"]["years"] == [2022] and len(inputs["scenario_digest"]) == 64
    # the inputs download as a scenario workbook the core reads back unchanged
    wb = client.get(f"/api/v1/scenarios/{run['scenario_id']}/export.xlsx", headers=h)
    path = tmp_path / "inputs.xlsx"
    path.write_bytes(wb.content)
    again = Scenario.load(path)
    assert again.table("supplies")["generation_t"].tolist() == [1_000_000.0]


def test_same_inputs_reproduce_the_plan_and_runs_compare(platform):
    client, users, _ = platform
    h = users.headers["planner"]
    a = wait(client, h, submit(client, h)["id"])
    b = wait(client, h, submit(client, h)["id"])  # same registry: same scenario version, same options
    assert a["scenario_id"] == b["scenario_id"]
    assert b["objective"] == pytest.approx(a["objective"], rel=1e-6)
    c = wait(client, h, submit(client, h, policies={"carbon_price": 500.0})["id"])
    cmp = client.get(f"/api/v1/runs/compare?a={a['id']}&b={c['id']}", headers=h).json()
    # A carbon price makes the plan dearer in all: its own cost plus what it leaves to virgin
    # purchases (cost_yuan alone may fall when dirty hauls give way to virgin material).
    cost = next(r for r in cmp["rows"] if r["key"] == "objective")
    assert cost["b"] > cost["a"] and cost["delta"] == pytest.approx(cost["b"] - cost["a"])
    assert cost["delta_text"].startswith("+")
    targets = [r for r in cmp["rows"] if r["kind"] == "attainment"]
    assert targets and all(r["name"].startswith("目标完成率") for r in targets)


def test_worker_killed_mid_write_leaves_no_results_and_fails_the_run(db_url, monkeypatch):
    monkeypatch.setenv(PAUSE_IN_SAVE, "60")  # the worker sleeps inside its results transaction
    app = make_app(db_url)
    users = seed(app)
    h = users.headers["planner"]
    with TestClient(app) as client:
        run = submit(client, h)
        wait(client, h, run["id"], until=("running",), stage="saving")
        time.sleep(1.0)  # past the first result row, inside the open transaction
        with app.state.platform.sessions() as db:
            pid = db.get(Run, run["id"]).worker_pid
        os.kill(pid, signal.SIGKILL)
        done = wait(client, h, run["id"])
        assert done["state"] == "failed" and "signal 9" in done["error"]
        assert result_rows(app, run["id"]) == 0
        assert client.get(f"/api/v1/runs/{run['id']}/results/flows", headers=h).status_code == 404


def test_cancel_a_running_and_a_queued_run(sqlite_url, monkeypatch):
    monkeypatch.setenv(PAUSE_BEFORE_SAVE, "60")
    app = make_app(sqlite_url)
    users = seed(app)
    h = users.headers["planner"]
    with TestClient(app) as client:
        first = submit(client, h)
        wait(client, h, first["id"], until=("running",), stage="saving")
        second = submit(client, h)  # one worker: this one waits in the queue
        assert client.get(f"/api/v1/runs/{second['id']}", headers=h).json()["state"] == "queued"
        assert client.post(f"/api/v1/runs/{second['id']}/cancel", headers=h).json()["state"] == "cancelled"
        assert client.post(f"/api/v1/runs/{first['id']}/cancel", headers=h).json()["state"] == "cancelling"
        assert wait(client, h, first["id"])["state"] == "cancelled"
        assert result_rows(app, first["id"]) == 0
        r = client.post(f"/api/v1/runs/{first['id']}/cancel", headers=h)
        assert r.status_code == 409
        log = client.get("/api/v1/audit?action=cancel", headers=users.headers["admin"]).json()
        assert log["total"] == 2


def test_a_run_over_the_time_limit_is_stopped(sqlite_url, monkeypatch):
    from resynergy.web.app import create_app

    monkeypatch.setenv(PAUSE_BEFORE_SAVE, "60")
    app = create_app(make_settings(sqlite_url, run_time_limit_s=3.0), migrate=False, run_worker=True)
    users = seed(app)
    h = users.headers["planner"]
    with TestClient(app) as client:
        run = submit(client, h)
        done = wait(client, h, run["id"], timeout=60)
        assert done["state"] == "failed" and "time limit" in done["error"]
        assert result_rows(app, run["id"]) == 0


def test_a_failing_run_tells_users_plainly_and_keeps_the_traceback_for_admins(sqlite_url, monkeypatch, caplog):
    from resynergy.services.worker import FAIL_IN_SOLVE

    monkeypatch.setenv(FAIL_IN_SOLVE, "1")
    app = make_app(sqlite_url)
    users = seed(app)
    h = users.headers["planner"]
    with caplog.at_level("WARNING", logger="resynergy.runs"), TestClient(app) as client:
        run = submit(client, h)
        done = wait(client, h, run["id"])
        assert done["state"] == "failed" and "内部错误" in done["error"] and "internal error" in done["error"]
        for who in ("planner", "regulator", "evaluator"):
            text = client.get(f"/api/v1/runs/{run['id']}/log", headers=users.headers[who]).text
            page = client.get(f"/runs/{run['id']}", headers=users.headers[who]).text
            for shown in (text, page, done["error"]):
                assert "Traceback" not in shown and "worker.py" not in shown and "fault injected" not in shown, who
        admin = client.get(f"/api/v1/runs/{run['id']}/log", headers=users.headers["admin"]).text
        assert "Traceback" in admin and "fault injected" in admin
        wait_for_log = time.monotonic() + 60  # the supervisor logs the worker's stderr when it reaps it
        while "fault injected" not in caplog.text and time.monotonic() < wait_for_log:
            time.sleep(0.2)
    assert "Traceback" in caplog.text and "fault injected" in caplog.text


def test_a_late_worker_never_overwrites_a_failed_run(sqlite_url):
    """The server marked the run failed; a worker finishing afterwards writes nothing."""
    from resynergy.services import runs, scenarios, worker
    from resynergy.services.access import Actor

    app = make_app(sqlite_url)
    users = seed(app)
    sessions = app.state.platform.sessions
    with sessions() as db:
        actor = Actor(users.ids["planner"], "planner", "planner")
        snap, _ = scenarios.create(db, actor, "s")
        run_id = runs.submit(db, actor, snap.id, {"objective": "cost"}).id
        db.execute(sa.update(Run).where(Run.id == run_id).values(state="failed", error="restarted"))
        db.commit()
    out = {"summary": {"kind": "json", "data": {"status": "optimal"}}, "flows": {"kind": "table", "data": []}}
    with pytest.raises(worker.Superseded):
        worker.save(sessions, run_id, out, {"status": "optimal", "objective": 1.0}, "log")
    assert not worker._finish(sessions, run_id, "cancelled", "", "")
    with sessions() as db:
        run = db.get(Run, run_id)
        assert (run.state, run.error) == ("failed", "restarted")
    assert result_rows(app, run_id) == 0


def test_runs_left_running_by_a_dead_server_are_marked_failed(sqlite_url):
    app = make_app(sqlite_url)
    users = seed(app)
    with app.state.platform.sessions() as db:
        from resynergy.services import runs, scenarios
        from resynergy.services.access import Actor

        actor = Actor(users.ids["planner"], "planner", "planner")
        snap, _ = scenarios.create(db, actor, "s")
        run = runs.submit(db, actor, snap.id, {"objective": "cost"})
        db.execute(sa.update(Run).where(Run.id == run.id).values(state="running", worker_pid=999999))
        db.commit()
    with TestClient(app) as client:  # starting the supervisor recovers
        done = client.get(f"/api/v1/runs/{run.id}", headers=users.headers["planner"]).json()
    assert done["state"] == "failed" and "restarted" in done["error"]


def test_publishing_makes_aggregates_public(platform):
    client, users, _ = platform
    h = users.headers["planner"]
    assert client.get("/api/v1/public/plan").status_code == 404
    run = wait(client, h, submit(client, h)["id"])
    assert client.post(f"/api/v1/runs/{run['id']}/publish", json={"published": True},
                       headers=users.headers["regulator"]).status_code == 403
    assert client.post(f"/api/v1/runs/{run['id']}/publish", json={"published": True}, headers=h).json()["published"]
    plan = client.get("/api/v1/public/plan").json()
    assert plan["run_id"] == run["id"] and plan["targets"] and plan["headline"]
    assert client.get("/api/v1/public/figures/sankey").status_code == 200
    assert client.get("/api/v1/public/figures/map").status_code == 422  # site-level map is not public
    assert client.get(f"/api/v1/runs/{run['id']}").status_code == 401  # runs themselves are not public
    page = client.get("/").text
    assert "/api/v1/public/figures/sankey" in page and "/figures/map" not in page


def test_who_may_run(platform):
    client, users, _ = platform
    scenario = client.post("/api/v1/scenarios", json={"name": "s"}, headers=users.headers["admin"]).json()
    body = {"scenario_id": scenario["id"]}
    for who, status in (("enterprise", 403), ("regulator", 403), ("anonymous", 401), ("planner", 201)):
        key = "ent_a" if who == "enterprise" else who
        assert client.post("/api/v1/runs", json=body, headers=users.headers[key]).status_code == status, who
    # a province-scoped planner cannot see a region-wide scenario
    assert client.get(f"/api/v1/scenarios/{scenario['id']}", headers=users.headers["planner_bj"]).status_code == 404
    own = client.post("/api/v1/scenarios", json={"name": "bj"}, headers=users.headers["planner_bj"]).json()
    assert own["province"] == "110000" and own["rows"]["sites"] == 1


@pytest.mark.parametrize("options, where", [
    ({"years": [2022] * 50}, "years[1]"),  # used to be accepted and crash the run
    ({"years": [2022, 2031]}, "years[1]"),  # a year the scenario has no data for
])
def test_run_options_are_checked_in_full_at_submission(platform, options, where):
    client, users, app = platform
    h = users.headers["planner"]
    scenario = client.post("/api/v1/scenarios", json={"name": "test"}, headers=h).json()
    r = client.post("/api/v1/runs", json={"scenario_id": scenario["id"], "options": options}, headers=h)
    assert r.status_code == 422, r.text
    issue = r.json()["issues"][0]
    assert issue["column"] == where and issue["message_zh"] and issue["message_en"]
    assert "2022" in issue["message_en"] or "2031" in issue["message_en"]
    assert client.get("/api/v1/runs", headers=h).json()["total"] == 0  # nothing queued


@pytest.mark.parametrize("body", [
    '{"scenario_id": %d, "options": {"time_limit_s": Infinity}}',
    '{"scenario_id": %d, "options": {"policies": {"carbon_price": NaN}}}',
    '{"scenario_id": %d, "options": {"mip_gap": -Infinity}}',
])
def test_non_finite_run_options_are_refused(platform, body):
    client, users, _ = platform
    h = {**users.headers["planner"], "Content-Type": "application/json"}
    scenario = client.post("/api/v1/scenarios", json={"name": "test"}, headers=h).json()
    r = client.post("/api/v1/runs", content=body % scenario["id"], headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["issues"][0]["column"].startswith("options.")


def test_one_queued_run_per_user_beyond_the_workers(platform, monkeypatch):
    client, users, app = platform
    monkeypatch.setenv(PAUSE_BEFORE_SAVE, "60")
    h = users.headers["planner"]
    first = submit(client, h)
    wait(client, h, first["id"], until=("running",), stage="saving")  # the one worker is busy
    second = submit(client, h)  # waits in the queue
    scenario = client.post("/api/v1/scenarios", json={"name": "test"}, headers=h).json()
    r = client.post("/api/v1/runs", json={"scenario_id": scenario["id"]}, headers=h)
    assert r.status_code == 429 and "queue" in r.json()["issues"][0]["message_en"]
    # another user is not held up by this one's queue
    assert client.post("/api/v1/runs", json={"scenario_id": scenario["id"]},
                       headers=users.headers["admin"]).status_code == 201
    for run in (second, first):
        client.post(f"/api/v1/runs/{run['id']}/cancel", headers=h)
    wait(client, h, first["id"])


def test_simultaneous_submissions_never_exceed_the_queue(platform, monkeypatch):
    """Four submissions at once by one user whose worker is busy: exactly one takes the queue
    place, the others answer 429 (the count and the insert are one locked step)."""
    from concurrent.futures import ThreadPoolExecutor

    from resynergy.services import audit

    client, users, _ = platform
    monkeypatch.setenv(PAUSE_BEFORE_SAVE, "60")
    h = users.headers["planner"]
    first = submit(client, h)
    wait(client, h, first["id"], until=("running",), stage="saving")
    record = audit.record

    def slow_record(*args, **kwargs):  # widens the window between counting and committing
        time.sleep(0.5)
        return record(*args, **kwargs)

    monkeypatch.setattr(audit, "record", slow_record)
    ids = [client.post("/api/v1/scenarios", json={"name": f"s{i}"}, headers=h).json()["id"]
           for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(lambda sid: client.post(
            "/api/v1/runs", json={"scenario_id": sid}, headers=h).status_code, ids))
    assert codes == [201, 429, 429, 429], codes
    for run in client.get("/api/v1/runs", headers=h).json()["items"]:
        client.post(f"/api/v1/runs/{run['id']}/cancel", headers=h)
    wait(client, h, first["id"])


def test_the_run_form_explains_bad_options_instead_of_queueing(platform):
    client, users, _ = platform
    h = users.headers["planner"]
    scenario = client.post("/api/v1/scenarios", json={"name": "test"}, headers=h).json()
    r = client.post("/runs", data={"scenario_id": str(scenario["id"]), "years": "2022,2022"}, headers=h,
                    follow_redirects=False)
    assert r.status_code == 422 and ("年份 2022 重复" in r.text or "2022 is given twice" in r.text)
    r = client.post("/runs", data={"scenario_id": str(scenario["id"]), "time_limit_s": "nan"}, headers=h,
                    follow_redirects=False)
    assert r.status_code == 422
    assert client.get("/api/v1/runs", headers=h).json()["total"] == 0
