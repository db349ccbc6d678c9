"""Loading the built-in dataset is a background job (issue #11 item 4): the request queues it and
answers at once (202), a worker process started by the run supervisor loads it and records its
progress, and the import record says what was written — or why nothing was."""

from __future__ import annotations

import time

import sqlalchemy as sa

from resynergy.scenario import Scenario
from resynergy.services.runs import Supervisor
from resynergy.store.models import REGISTRY, ImportRecord


def _sites(app) -> int:
    with app.state.platform.sessions() as db:
        return db.scalar(sa.select(sa.func.count()).select_from(REGISTRY["sites"]))


def _run_jobs(app, import_id: int) -> dict:
    """Let a real supervisor start the worker process and wait for the job to end (no time limit
    on the answer: correctness, not speed, is tested)."""
    p = app.state.platform
    sup = Supervisor(p.sessions, p.settings.database_url, workers=1, poll_s=0.1, time_limit_s=900)
    try:
        while True:
            sup.tick()
            with p.sessions() as db:
                rec = db.get(ImportRecord, import_id)
                if rec.state in ("succeeded", "failed") and not sup.loads:
                    return {"state": rec.state, "counts": rec.counts, "issues": rec.issues, "error": rec.error,
                            "accepted": rec.accepted, "progress": rec.progress, "stage": rec.stage}
            time.sleep(0.2)
    finally:
        sup.stop()


def test_the_request_only_queues_and_a_worker_loads_the_dataset(app, client, users):
    before = _sites(app)
    r = client.post("/api/v1/imports/builtin", json={"name": "jjj-2022"}, headers=users.headers["admin"])
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["state"] == "queued" and job["progress"] == 0 and job["filename"] == "builtin:jjj-2022"
    assert _sites(app) == before  # nothing written inside the request
    # asking again while it waits answers the same job, not a second load
    again = client.post("/api/v1/imports/builtin", json={"name": "jjj-2022"}, headers=users.headers["admin"])
    assert again.status_code == 202 and again.json()["id"] == job["id"]

    done = _run_jobs(app, job["id"])
    assert done["state"] == "succeeded" and done["accepted"] and done["progress"] == 1.0 and done["stage"] == "done"
    n_sites = len(Scenario.from_builtin("jjj-2022").table("sites"))
    assert done["counts"]["sites"]["created"] == n_sites
    assert _sites(app) == before + n_sites
    polled = client.get(f"/api/v1/imports/{job['id']}", headers=users.headers["admin"]).json()
    assert polled["state"] == "succeeded" and polled["stage_zh"] == "完成"
    # the history keeps the load like any import
    history = client.get("/api/v1/imports", headers=users.headers["admin"]).json()["items"]
    assert any(i["id"] == job["id"] and i["accepted"] for i in history)


def test_a_load_the_checks_refuse_ends_failed_with_its_issues_and_writes_nothing(app, client, users):
    # a Beijing-scoped planner may not write Hebei and Tianjin rows: the whole load is refused
    before = _sites(app)
    r = client.post("/api/v1/imports/builtin", json={"name": "jjj-2022"}, headers=users.headers["planner_bj"])
    assert r.status_code == 202
    done = _run_jobs(app, r.json()["id"])
    assert done["state"] == "failed" and not done["accepted"]
    assert done["issues"] and "nothing was written" in done["error"]
    assert _sites(app) == before


def test_a_worker_that_dies_leaves_the_job_failed(app, client, users, monkeypatch):
    r = client.post("/api/v1/imports/builtin", json={"name": "jjj-2022"}, headers=users.headers["admin"])
    p = app.state.platform
    sup = Supervisor(p.sessions, p.settings.database_url, workers=1, poll_s=0.1)
    # the worker process cannot start its job: a wrong interpreter argument makes it exit at once
    monkeypatch.setattr(sup, "_spawn", lambda job_id, args: Supervisor._spawn(sup, job_id, ["--import", "x"]))
    try:
        while True:
            sup.tick()
            with p.sessions() as db:
                rec = db.get(ImportRecord, r.json()["id"])
                if rec.state == "failed":
                    break
            time.sleep(0.2)
    finally:
        sup.stop()
    assert "stopped unexpectedly" in rec.error and _sites(app) == 3


def test_the_page_queues_and_shows_progress(app, client, users):
    from support.platform import sign_in

    assert sign_in(client, "planner").status_code == 303
    csrf = client.get("/").text.split('name="csrf-token" content="')[1].split('"')[0]
    r = client.post("/builtin", data={"name": "jjj-2022", "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/builtin/")
    shown = client.get(r.headers["location"])
    assert shown.status_code == 200
    assert 'id="load-status"' in shown.text and 'data-state="queued"' in shown.text and "spinner" in shown.text
    assert "等待开始" in shown.text  # the stage in words
