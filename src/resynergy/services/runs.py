"""Planning runs: submit, watch, cancel, publish, read results — and the supervisor that executes
them in separate worker processes (``python -m resynergy.services.worker RUN_ID``).

A worker writes progress as it goes and all results in one transaction at the end. When a
worker dies (killed, crashed, out of memory) the supervisor marks its run failed; a run being
cancelled has its worker terminated. Nothing a dead worker started is left half-written.
Workers die with the server that started them (see ``resynergy.services.worker``), and every
change of a run's state is a conditional UPDATE, so a finished run is never overwritten.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from resynergy import __version__
from resynergy.services import access, actuals, audit, database, scenarios
from resynergy.services.access import Actor, Denied
from resynergy.services.registry import NotFound, Rejected, begin_write, own_issue
from resynergy.services.settings import Settings
from resynergy.services.worker import SUPERVISOR_PID
from resynergy.states import ACTIVE_IMPORT, ACTIVE_RUN, ImportState, RunState
from resynergy.store.models import (
    REGISTRY,
    ImportRecord,
    Run,
    RunResult,
    ScenarioSnapshot,
    User,
    utcnow,
)

log = logging.getLogger("resynergy.runs")


def _public_regional(run: Run) -> bool:
    """A published region-wide plan: every staff member may read it, whatever their province."""
    return run.published and run.state == RunState.SUCCEEDED and run.scenario.province == ""


def _visible(db: Session, actor: Actor, run_id: int, change: bool = False) -> Run:
    """The run when ``actor`` may read it (404 otherwise, like a missing one). ``change``: the
    actor must also be in the run's scope; a province-scoped user reads the published region-wide
    plan but may not change it (403)."""
    access.require(actor, access.STAFF, "read run")
    run = db.get(Run, run_id)
    if run is None:
        raise NotFound(f"run {run_id}")
    if not access.can_read_scope(actor, run.scenario.province):
        if not _public_regional(run):
            raise NotFound(f"run {run_id}")
        if change:
            raise Denied(actor, "change a region-wide plan")
    return run


def scope_label(db: Session, province: str) -> dict[str, str]:
    """What a plan covers, as users read it: the whole region, or a province by name."""
    if not province:
        return {"zh": "全区域", "en": "whole region"}
    regions = REGISTRY["regions"]
    row = db.execute(sa.select(regions.c.name_zh, regions.c.name_en).where(regions.c.code == province)).first()
    return {"zh": row.name_zh, "en": row.name_en} if row else {"zh": province, "en": province}


OPTIONS_SOURCE = "运行选项 run options"


def check_options(options: dict[str, Any], scenario_years: list[int]) -> list[dict]:
    """Every problem with a run's options, located (field, value) in zh and en; [] when fine."""
    issues = []
    years = options.get("years") or []
    seen: set[int] = set()
    for i, year in enumerate(years):
        where = f"years[{i}]"
        if year in seen:
            issues.append(own_issue("duplicate_year", f"年份 {year} 重复", f"year {year} is given twice",
                                    "runs", OPTIONS_SOURCE, None, where, year))
        elif year not in scenario_years:
            shown = "、".join(map(str, scenario_years)) or "–"
            issues.append(own_issue("unknown_year", f"情景中没有 {year} 年的数据（可选：{shown}）",
                                    f"the scenario has no data for {year} (it has: {', '.join(map(str, scenario_years))})",
                                    "runs", OPTIONS_SOURCE, None, where, year))
        seen.add(year)
    numbers = {"time_limit_s": options.get("time_limit_s"), "mip_gap": options.get("mip_gap"),
               **{f"policies.{k}": v for k, v in (options.get("policies") or {}).items()}}
    for name, value in numbers.items():
        if value is not None and not (isinstance(value, int | float) and math.isfinite(value)):
            issues.append(own_issue("not_finite", "应为有限数值", "must be a finite number",
                                    "runs", OPTIONS_SOURCE, None, name, value))
    return issues


def submit(db: Session, actor: Actor, scenario_id: int, options: dict[str, Any], title: str = "",
           settings: Settings | None = None) -> Run:
    """Queue a run of a scenario snapshot with planner options (stored with the run).

    The options are checked in full here (422, located), and a user may have at most
    ``run_workers + run_queue_per_user`` runs active at once (429)."""
    access.require(actor, access.EDITORS, "submit run")
    snap = scenarios.get(db, actor, scenario_id)
    issues = check_options(options, scenarios.to_scenario(snap.tables, snap.name).years)
    if issues:
        raise Rejected(issues)
    options = actuals.options_for_run(db, actor, snap.tables, options, scenarios.years(db, snap))  # from_actuals
    if settings is not None and actor.user_id is not None:
        # one user's submissions are counted one after another, so two at once cannot both take
        # the last place: SQLite's write lock, PostgreSQL's lock on the user's row
        begin_write(db)
        db.execute(sa.select(User.id).where(User.id == actor.user_id).with_for_update())
        active = db.scalar(sa.select(sa.func.count()).select_from(Run).where(
            Run.created_by == actor.user_id, Run.state.in_(ACTIVE_RUN))) or 0
        if active >= settings.run_workers + settings.run_queue_per_user:
            n = settings.run_queue_per_user
            raise Rejected([own_issue(
                "queue_full", f"您已有运行在排队（每人最多排队 {n} 个），请等其开始或取消后再提交",
                f"you already have a run waiting in the queue (at most {n} per user); wait for it to start "
                f"or cancel it, then submit again", "runs")], status=429)
    run = Run(scenario_id=snap.id, title=title or f"{snap.name} v{snap.version}", options=options,
              created_by=actor.user_id, code_version=__version__)
    db.add(run)
    db.flush()
    audit.record(db, actor, "create", "run", run.id, after={"scenario_id": snap.id, "options": options})
    db.commit()
    return run


def get(db: Session, actor: Actor, run_id: int) -> Run:
    return _visible(db, actor, run_id)


def listing(db: Session, actor: Actor, limit: int = 50, offset: int = 0,
            state: str = "") -> tuple[list[Run], int]:
    access.require(actor, access.STAFF, "list runs")
    q = sa.select(Run).join(ScenarioSnapshot)
    if actor.role != "admin" and actor.province:  # own province, and the published region-wide plans
        q = q.where(sa.or_(ScenarioSnapshot.province == actor.province,
                           sa.and_(ScenarioSnapshot.province == "", Run.published.is_(True),
                                   Run.state == RunState.SUCCEEDED)))
    if state:
        q = q.where(Run.state == state)
    return database.page(db, q, Run.id.desc(), limit=limit, offset=offset)


def cancel(db: Session, actor: Actor, run_id: int) -> Run:
    """Cancel a queued run at once; ask the supervisor to stop a running one."""
    access.require(actor, access.EDITORS, "cancel run")
    run = _visible(db, actor, run_id, change=True)
    if run.state not in ACTIVE_RUN:
        raise Rejected([own_issue("not_active", f"运行已结束（{run.state}），无法取消",
                                  f"the run has finished ({run.state}); nothing to cancel", "runs")], status=409)
    before = {"state": run.state}
    # conditional update: the supervisor may be moving the run on at the same moment
    target = RunState.CANCELLED if run.state == RunState.QUEUED else RunState.CANCELLING
    values: dict[str, Any] = {"state": target}
    if target == RunState.CANCELLED:
        values["finished_at"] = utcnow()
    db.execute(sa.update(Run).where(Run.id == run.id, Run.state == run.state).values(**values))
    audit.record(db, actor, "cancel", "run", run.id, before=before, after={"state": target})
    db.commit()
    db.refresh(run)
    return run


def publish(db: Session, actor: Actor, run_id: int, published: bool = True) -> Run:
    """Make a succeeded run's plan public for its scope (or withdraw it).

    A plan's scope is its scenario's: region-wide ('') or one province. Only an admin or an
    unscoped planner publishes region-wide plans; a province-scoped planner publishes plans of its
    own province only, and they sit beside the region-wide plan, never replacing it."""
    access.require(actor, access.EDITORS, "publish run")
    run = _visible(db, actor, run_id, change=True)
    if actor.role != "admin" and actor.province and run.scenario.province != actor.province:
        raise Denied(actor, "publish outside the province")
    if run.state != RunState.SUCCEEDED:
        raise Rejected([own_issue("not_succeeded", "只有成功完成的运行才能发布",
                                  "only a succeeded run can be published", "runs")], status=409)
    audit.record(db, actor, "publish" if published else "unpublish", "run", run.id,
                 before={"published": run.published, "scope": run.scenario.province},
                 after={"published": published, "scope": run.scenario.province})
    run.published = published
    db.commit()
    return run


def results(db: Session, run: Run) -> dict[str, RunResult]:
    rows = db.scalars(sa.select(RunResult).where(RunResult.run_id == run.id)).all()
    return {r.name: r for r in rows}


def result(db: Session, run: Run, name: str) -> RunResult:
    hit = db.scalar(sa.select(RunResult).where(RunResult.run_id == run.id, RunResult.name == name))
    if hit is None:
        raise NotFound(f"run {run.id} result {name}")
    return hit


class _Decoded:
    """Result tables decoded once per process, least recently used first out, at most
    ``max_rows`` records in all. A stored result never changes (a worker writes all of a run's
    results in one transaction, and results are never updated or deleted), so the database, the
    result's row id, its run and the run's finishing time name its content for good (the time
    tells apart a database emptied and refilled under the same address, as tests do)."""

    def __init__(self, max_rows: int = 200_000):
        self.max_rows = max_rows
        self._items: OrderedDict[tuple, list] = OrderedDict()
        self._rows = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> list | None:
        with self._lock:
            items = self._items.get(key)
            if items is not None:
                self._items.move_to_end(key)
            return items

    def put(self, key: tuple, items: list) -> None:
        if len(items) > self.max_rows:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = items
            self._rows += len(items)
            while self._rows > self.max_rows:
                _, old = self._items.popitem(last=False)
                self._rows -= len(old)


_decoded = _Decoded()


def result_page(db: Session, run: Run, name: str, limit: int, offset: int) -> tuple[list, int]:
    """One page of a stored result (rows ``offset`` … ``offset + limit``) and its row count.

    Reads only the result asked for, and decodes its JSON once per process: a plan's flows hold
    thousands to hundreds of thousands of records, and decoding them all for every page of 100
    made this the slowest read of the API (≈ 0.3 × the throughput of the others)."""
    head = db.execute(sa.select(RunResult.id).where(
        RunResult.run_id == run.id, RunResult.name == name)).first()
    if head is None:
        raise NotFound(f"run {run.id} result {name}")
    key = (str(db.get_bind().url), head.id, run.id, name, run.finished_at)
    items = _decoded.get(key)
    if items is None:
        data = db.scalar(sa.select(RunResult.data).where(RunResult.id == head.id))
        items = data if isinstance(data, list) else [data]
        _decoded.put(key, items)
    return items[offset:offset + limit], len(items)


def latest_published(db: Session, province: str = "") -> Run | None:
    """The latest published plan of one scope ('' = region-wide)."""
    return db.scalar(sa.select(Run).join(ScenarioSnapshot).where(
        Run.published.is_(True), Run.state == RunState.SUCCEEDED, ScenarioSnapshot.province == province)
        .order_by(Run.finished_at.desc().nulls_last(), Run.id.desc()).limit(1))


def published_plans(db: Session) -> list[Run]:
    """The latest published plan of each scope: region-wide first, then provinces by code."""
    scopes = db.scalars(sa.select(ScenarioSnapshot.province).join(Run).where(
        Run.published.is_(True), Run.state == RunState.SUCCEEDED).distinct()).all()
    plans = [latest_published(db, p) for p in sorted(set(scopes))]
    return [p for p in plans if p is not None]


# ---- supervisor ----------------------------------------------------------------------------
@dataclass
class _Job:
    run_id: int
    proc: subprocess.Popen
    started: float = field(default_factory=time.monotonic)
    drain: threading.Thread | None = None
    stderr_tail: str = ""
    timed_out: bool = False


class Supervisor:
    """Starts queued runs in worker processes (at most ``workers`` at once), stops cancelled ones
    and marks runs whose worker died as failed. One thread; polls the database.

    Background imports (the built-in dataset, ``services.loads``) run the same way in a worker
    process of their own, one at a time and beside the runs, so a load never waits for a plan."""

    def __init__(self, sessions: sessionmaker[Session], database_url: str, workers: int = 1,
                 poll_s: float = 0.5, time_limit_s: float = 600.0):
        self.sessions, self.url, self.workers, self.poll_s = sessions, database_url, workers, poll_s
        self.time_limit_s = time_limit_s  # wall time a worker may take, whatever the solver's own limit
        self.jobs: dict[int, _Job] = {}
        self.loads: dict[int, _Job] = {}  # background imports, by import id
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._recover()
        self._thread = threading.Thread(target=self._loop, name="run-supervisor", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look for work now (called after a submit or cancel)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
        for job in list(self.jobs.values()):
            self._terminate(job)
            self._reap(job, wait=True)
        for job in list(self.loads.values()):
            self._terminate(job)
            self._reap_load(job, wait=True)

    def _recover(self) -> None:
        """Runs left active by a previous server (no worker of ours runs them) have failed."""
        with self.sessions() as db:
            db.execute(sa.update(Run).where(Run.state.in_((RunState.RUNNING, RunState.CANCELLING))).values(
                state=RunState.FAILED, finished_at=utcnow(),
                error="服务重启时运行中断 / the server restarted while the run was in progress"))
            db.execute(sa.update(ImportRecord).where(ImportRecord.state == ImportState.RUNNING).values(
                state=ImportState.FAILED, finished_at=utcnow(),
                error="服务重启时导入中断 / the server restarted while the import was in progress"))
            db.commit()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the supervisor must keep going; the error is logged
                log.exception("run supervisor tick failed")
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def tick(self) -> None:
        for job in list(self.jobs.values()):
            if not job.timed_out and time.monotonic() - job.started > self.time_limit_s:
                job.timed_out = True
                self._terminate(job)
            self._reap(job)
        with self.sessions() as db:
            for run_id in db.scalars(sa.select(Run.id).where(Run.state == RunState.CANCELLING)).all():
                if run_id in self.jobs:
                    self._terminate(self.jobs[run_id])
            free = self.workers - len(self.jobs)
            queued = db.scalars(sa.select(Run.id).where(Run.state == RunState.QUEUED).order_by(Run.id)
                                .limit(max(free, 0))).all() if free > 0 else []
        for run_id in queued:
            self._launch(run_id)
        self._loads_tick()

    def _loads_tick(self) -> None:
        for job in list(self.loads.values()):
            if not job.timed_out and time.monotonic() - job.started > self.time_limit_s:
                job.timed_out = True
                self._terminate(job)
            self._reap_load(job)
        if self.loads:
            return
        with self.sessions() as db:
            waiting = db.scalar(sa.select(ImportRecord.id).where(ImportRecord.state == ImportState.QUEUED)
                                .order_by(ImportRecord.id).limit(1))
            if waiting is None:
                return
            claimed = db.execute(sa.update(ImportRecord).where(
                ImportRecord.id == waiting, ImportRecord.state == ImportState.QUEUED).values(
                state=ImportState.RUNNING, progress=0.0, stage="starting")).rowcount
            db.commit()
        if claimed:
            self.loads[waiting] = self._spawn(waiting, ["--import", str(waiting)])

    def _spawn(self, job_id: int, args: list[str]) -> _Job:
        """A worker process (``python -m resynergy.services.worker ARGS``) and its stderr drain."""
        # The worker asks for SIGKILL when its parent dies (PR_SET_PDEATHSIG). Linux sends it when
        # the *thread* that started the worker ends: this supervisor thread, which lives as long as
        # the server (and whose end, at shutdown, is meant to stop the workers anyway).
        env = {**os.environ, "RESYNERGY_DATABASE_URL": self.url, SUPERVISOR_PID: str(os.getpid())}
        proc = subprocess.Popen([sys.executable, "-m", "resynergy.services.worker", *args], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        job = _Job(job_id, proc)
        job.drain = threading.Thread(target=self._drain, args=(job,), daemon=True)
        job.drain.start()
        return job

    @staticmethod
    def _ended(job: _Job, jobs: dict[int, _Job], what: str, wait: bool) -> int | None:
        """The exit code of a worker that has ended (None while it runs): it leaves ``jobs``,
        its stderr is read to the end and, when not empty, goes to the server log (a crash's
        traceback belongs there, not in front of users)."""
        code = job.proc.wait(10) if wait else job.proc.poll()
        if code is None:
            return None
        del jobs[job.run_id]
        if job.drain is not None:
            job.drain.join(5)
        if job.stderr_tail.strip():
            log.warning("%s %s: worker exited with code %s; its stderr:\n%s", what, job.run_id, code, job.stderr_tail)
        return code

    def _reap_load(self, job: _Job, wait: bool = False) -> None:
        code = self._ended(job, self.loads, "import", wait)
        if code is None:
            return
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        error = (f"超过时限 {self.time_limit_s:.0f} 秒，已终止 / stopped after the {self.time_limit_s:.0f} s "
                 f"time limit") if job.timed_out else \
            f"导入进程异常退出（{how}）/ the import worker stopped unexpectedly ({how})"
        with self.sessions() as db:  # only an import still active is ended here
            db.execute(sa.update(ImportRecord).where(ImportRecord.id == job.run_id,
                                                     ImportRecord.state.in_(ACTIVE_IMPORT)).values(
                state=ImportState.FAILED, error=error, finished_at=utcnow()))
            db.commit()

    def _launch(self, run_id: int) -> None:
        with self.sessions() as db:
            claimed = db.execute(sa.update(Run).where(Run.id == run_id, Run.state == RunState.QUEUED).values(
                state=RunState.RUNNING, started_at=utcnow(), progress=0.0, stage="starting")).rowcount
            db.commit()
        if not claimed:
            return
        job = self.jobs[run_id] = self._spawn(run_id, [str(run_id)])
        with self.sessions() as db:
            db.execute(sa.update(Run).where(Run.id == run_id).values(worker_pid=job.proc.pid))
            db.commit()

    def _drain(self, job: _Job) -> None:
        """Keep the last part of the worker's stderr (a crash's traceback) without blocking it."""
        tail = b""
        assert job.proc.stderr is not None
        for chunk in iter(lambda: job.proc.stderr.read(4096), b""):
            tail = (tail + chunk)[-8000:]
        job.stderr_tail = tail.decode("utf-8", "replace")

    def _terminate(self, job: _Job) -> None:
        if job.proc.poll() is None:
            try:
                os.killpg(job.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def _reap(self, job: _Job, wait: bool = False) -> None:
        code = self._ended(job, self.jobs, "run", wait)
        if code is None:
            return
        stderr = job.stderr_tail
        with self.sessions() as db:
            # conditional: only a run still active is ended here (never one already finished)
            how = f"signal {-code}" if code < 0 else f"exit code {code}"
            db.execute(sa.update(Run).where(Run.id == job.run_id, Run.state == RunState.CANCELLING).values(
                state=RunState.CANCELLED, stage=RunState.CANCELLED, finished_at=utcnow()))
            error = (f"超过运行时限 {self.time_limit_s:.0f} 秒，已终止 / "
                     f"stopped after the {self.time_limit_s:.0f} s run time limit") if job.timed_out else \
                f"计算进程异常退出（{how}）/ the worker stopped unexpectedly ({how})"
            db.execute(sa.update(Run).where(Run.id == job.run_id, Run.state.in_(ACTIVE_RUN)).values(
                state=RunState.FAILED, error=error, finished_at=utcnow(), trace=stderr[-100_000:]))
            db.commit()
