"""The run worker: ``python -m resynergy.services.worker RUN_ID`` solves one planning run
(``--import ID`` runs a background import instead: ``resynergy.services.loads``).

It reads the run and its scenario snapshot, calls the planner with a progress callback that
records progress (and notices a cancel request), renders the report, and writes every result
table plus the final state in ONE transaction. If the process dies before that commit, the
database holds no result of the run and the supervisor marks it failed.

A worker dies with its supervisor: on Linux the kernel sends it SIGKILL when the server process
that started it dies (``prctl(PR_SET_PDEATHSIG)``, so even ``kill -9`` of the server takes the
worker along; no polling and no lease to tune); elsewhere the progress callback notices the
parent is gone. And every state change is conditional in the database (``UPDATE … WHERE state
IN (…)``, row count checked): a run already failed or cancelled is never overwritten by a late
worker — its results are rolled back instead.

Users see a plain error (zh/en); the traceback goes to stderr (the supervisor writes it to the
server log) and to ``runs.trace``, shown to administrators only.
"""

from __future__ import annotations

import ctypes
import io
import logging
import os
import signal
import sys
import time
import traceback
from typing import Any

import sqlalchemy as sa

from resynergy.schema.issues import ScenarioError
from resynergy.services import plans, scenarios
from resynergy.states import PlanStatus, RunState
from resynergy.store.db import make_engine, session_factory
from resynergy.store.models import Run, RunResult, utcnow

# Fault injection for tests: seconds to sleep just before the results transaction, or inside it
# after the first result row is written (so a test can cancel or kill the worker at that point).
PAUSE_BEFORE_SAVE = "RESYNERGY_FAULT_PAUSE_BEFORE_SAVE_S"
PAUSE_IN_SAVE = "RESYNERGY_FAULT_PAUSE_IN_SAVE_S"
FAIL_IN_SOLVE = "RESYNERGY_FAULT_FAIL_IN_SOLVE"  # raise an internal error while solving
SUPERVISOR_PID = "RESYNERGY_SUPERVISOR_PID"  # set by the supervisor for the worker it starts
_PR_SET_PDEATHSIG = 1


class Superseded(Exception):
    """The run is no longer this worker's (failed, cancelled or finished meanwhile)."""


def die_with_supervisor() -> None:
    """Ask the kernel to kill this process when its parent dies; exit at once if it already has."""
    parent = int(os.environ.get(SUPERVISOR_PID, "0") or 0)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if parent and os.getppid() != parent:  # the supervisor died before the prctl call took effect
        os._exit(3)


def orphaned() -> bool:
    parent = int(os.environ.get(SUPERVISOR_PID, "0") or 0)
    return bool(parent) and os.getppid() != parent


class Cancelled(Exception):
    pass


class Progress:
    """The planner's progress callback: writes at most every 0.5 s, raises Cancelled on request."""

    def __init__(self, sessions, run_id: int):
        self.sessions, self.run_id, self._last = sessions, run_id, 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        if orphaned():  # platforms without a parent-death signal
            os._exit(3)
        now = time.monotonic()
        if now - self._last < 0.5 and fraction < 1.0:
            return
        self._last = now
        with self.sessions() as db:
            state = db.scalar(sa.select(Run.state).where(Run.id == self.run_id))
            if state == RunState.CANCELLING:
                raise Cancelled()
            db.execute(sa.update(Run).where(Run.id == self.run_id, Run.state == RunState.RUNNING).values(
                progress=max(0.0, min(1.0, float(fraction))), stage=str(stage)[:128]))
            db.commit()


def solve(run: Run, progress: Progress) -> tuple[dict[str, dict], str, dict[str, Any]]:
    """(stored results, solver log, run overview) of one run."""
    from resynergy.planner import solve as plan_solve

    scenario = scenarios.to_scenario(run.scenario.tables, run.scenario.name)
    scenario, options = plans.prepare(scenario, run.options)
    progress("model", 0.02)
    if os.environ.get(FAIL_IN_SOLVE):
        raise RuntimeError(f"fault injected ({FAIL_IN_SOLVE}) in {__file__}")
    # the planner reports 0→1; the report that follows takes the last part of the bar
    plan = plan_solve(scenario, options, progress=lambda stage, f: progress(stage, 0.02 + 0.83 * f))
    progress("report", 0.88)
    out = plans.stored_results(plan, scenario)
    return out, str(getattr(plan, "solver_log", "") or ""), out[plans.OVERVIEW]["data"]


def save(sessions, run_id: int, out: dict[str, dict], overview: dict, log_text: str) -> None:
    """All outputs and the final state in one transaction — only while the run is still running
    (otherwise Superseded, and nothing is written)."""
    pause = float(os.environ.get(PAUSE_IN_SAVE, "0") or 0)
    with sessions() as db, db.begin():
        for i, (name, item) in enumerate(out.items()):
            db.add(RunResult(run_id=run_id, name=name, kind=item["kind"], data=item.get("data"),
                             blob=item.get("blob")))
            if i == 0 and pause:
                db.flush()
                time.sleep(pause)
        # a run only succeeds with a plan: a solver answer without a solution (infeasible,
        # nothing found in time: no objective) ends the run as failed, its diagnosis kept
        solved = (overview.get("objective") is not None
                  and overview.get("status") != PlanStatus.INFEASIBLE)
        done = db.execute(sa.update(Run).where(Run.id == run_id, Run.state == RunState.RUNNING).values(
            state=RunState.SUCCEEDED if solved else RunState.FAILED, progress=1.0, stage="done",
            finished_at=utcnow(), plan_status=str(overview.get("status", ""))[:16],
            objective=overview.get("objective"),
            error="" if solved else f"求解器未给出方案 / the solver found no plan ({overview.get('status')})",
            log=log_text[-1_000_000:]))
        if done.rowcount != 1:
            raise Superseded()  # leaving the block rolls the results back


def plain_error(exc: BaseException, run_id: int) -> str:
    """What users are told (zh / en): the planner's own words for bad inputs, otherwise that an
    internal error happened — never a traceback or a server path."""
    if isinstance(exc, ScenarioError):
        return f"规划输入有误 / the plan's inputs are invalid:\n{exc.report('zh', limit=10)}\n{exc.report('en', limit=10)}"
    from resynergy.planner.data import PlanInputError

    if isinstance(exc, PlanInputError):
        return f"规划输入有误 / the plan's inputs are invalid: {exc}"[:2000]
    from resynergy.planner.actuals import ActualsError

    if isinstance(exc, ActualsError):  # a recorded flow the plan cannot be fixed to
        return ("不能按实际流向固定 / the plan cannot start from the actual flows:\n"
                + "\n".join(exc.text("zh")[:10] + exc.text("en")[:10]))[:4000]
    return (f"计算过程中出现内部错误，运行已停止（运行 #{run_id}）；详情已记入服务器日志，请联系管理员。 / "
            f"An internal error stopped the run (run #{run_id}); the details are in the server log — "
            f"please contact an administrator.")


def main(run_id: int) -> int:
    die_with_supervisor()
    engine = make_engine()
    sessions = session_factory(engine)
    log_buffer = io.StringIO()
    logging.basicConfig(stream=log_buffer, level=logging.INFO)
    progress = Progress(sessions, run_id)
    try:
        with sessions() as db:
            run = db.get(Run, run_id)
            if run is None or run.state != RunState.RUNNING:
                return 2
            _ = run.scenario.tables  # load before the session closes
        out, solver_log, overview = solve(run, progress)
        progress("saving", 0.95)
        time.sleep(float(os.environ.get(PAUSE_BEFORE_SAVE, "0") or 0))
        save(sessions, run_id, out, overview, solver_log + "\n" + log_buffer.getvalue())
        return 0
    except Superseded:
        return 4
    except Cancelled:
        _finish(sessions, run_id, RunState.CANCELLED, "", log_buffer.getvalue())
        return 0
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the run
        trace = traceback.format_exc()
        sys.stderr.write(trace)  # the supervisor writes it to the server log
        _finish(sessions, run_id, RunState.FAILED, plain_error(exc, run_id), log_buffer.getvalue(), trace)
        return 1
    finally:
        engine.dispose()


def _finish(sessions, run_id: int, state: RunState, error: str, text: str, trace: str = "") -> bool:
    """End the run as ``state`` unless it has ended already (True when this call ended it)."""
    with sessions() as db:
        done = db.execute(sa.update(Run).where(Run.id == run_id, Run.state.in_((RunState.RUNNING, RunState.CANCELLING))).values(
            state=state, stage=state, error=error, log=text[-100_000:], trace=trace[-100_000:],
            finished_at=utcnow()))
        db.commit()
        return done.rowcount == 1


def main_import(import_id: int) -> int:
    """A background import (``--import ID``, see ``resynergy.services.loads``)."""
    from resynergy.services import loads

    die_with_supervisor()
    engine = make_engine()
    try:
        return loads.execute(session_factory(engine), import_id)
    finally:
        engine.dispose()


if __name__ == "__main__":
    if sys.argv[1] == "--import":
        sys.exit(main_import(int(sys.argv[2])))
    sys.exit(main(int(sys.argv[1])))
