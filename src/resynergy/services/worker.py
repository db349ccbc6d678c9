"""The run worker: ``python -m resynergy.services.worker RUN_ID`` solves one planning run.

It reads the run and its scenario snapshot, calls the planner with a progress callback that
records progress (and notices a cancel request), renders the report, and writes every result
table plus the final state in ONE transaction. If the process dies before that commit, the
database holds no result of the run and the supervisor marks it failed.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import time
import traceback
from typing import Any

import sqlalchemy as sa

from resynergy.services import plans, scenarios
from resynergy.store.db import make_engine, session_factory
from resynergy.store.models import Run, RunResult, utcnow

# Fault injection for tests: seconds to sleep just before the results transaction, or inside it
# after the first result row is written (so a test can cancel or kill the worker at that point).
PAUSE_BEFORE_SAVE = "RESYNERGY_FAULT_PAUSE_BEFORE_SAVE_S"
PAUSE_IN_SAVE = "RESYNERGY_FAULT_PAUSE_IN_SAVE_S"


class Cancelled(Exception):
    pass


class Progress:
    """The planner's progress callback: writes at most every 0.5 s, raises Cancelled on request."""

    def __init__(self, sessions, run_id: int):
        self.sessions, self.run_id, self._last = sessions, run_id, 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        now = time.monotonic()
        if now - self._last < 0.5 and fraction < 1.0:
            return
        self._last = now
        with self.sessions() as db:
            state = db.scalar(sa.select(Run.state).where(Run.id == self.run_id))
            if state == "cancelling":
                raise Cancelled()
            db.execute(sa.update(Run).where(Run.id == self.run_id, Run.state == "running").values(
                progress=max(0.0, min(1.0, float(fraction))), stage=str(stage)[:128]))
            db.commit()


def solve(run: Run, progress: Progress) -> tuple[dict[str, dict], str, dict[str, Any]]:
    """(stored outputs, solver log, summary) of one run."""
    from resynergy.planner import solve as plan_solve

    scenario = scenarios.to_scenario(run.scenario.tables, run.scenario.name)
    scenario, options = plans.prepare(scenario, run.options)
    progress("model", 0.02)
    # the planner reports 0→1; the report that follows takes the last part of the bar
    plan = plan_solve(scenario, options, progress=lambda stage, f: progress(stage, 0.02 + 0.83 * f))
    progress("report", 0.88)
    out = plans.outputs(plan, scenario)
    return out, str(getattr(plan, "solver_log", "") or ""), out["summary"]["data"]


def save(sessions, run_id: int, out: dict[str, dict], summary: dict, log_text: str) -> None:
    """All outputs and the final state in one transaction."""
    pause = float(os.environ.get(PAUSE_IN_SAVE, "0") or 0)
    with sessions() as db, db.begin():
        for i, (name, item) in enumerate(out.items()):
            db.add(RunResult(run_id=run_id, name=name, kind=item["kind"], data=item.get("data"),
                             blob=item.get("blob")))
            if i == 0 and pause:
                db.flush()
                time.sleep(pause)
        # a run is only "succeeded" with a plan: a solver answer without a solution (infeasible,
        # unbounded, nothing found in time) ends the run as failed, its diagnosis kept
        solved = summary.get("objective") is not None and summary.get("status") not in (
            "infeasible", "unbounded", "no_solution")
        db.execute(sa.update(Run).where(Run.id == run_id).values(
            state="succeeded" if solved else "failed", progress=1.0, stage="done", finished_at=utcnow(),
            plan_status=str(summary.get("status", ""))[:16], objective=summary.get("objective"),
            error="" if solved else f"求解器未给出方案 / the solver found no plan ({summary.get('status')})",
            log=log_text[-1_000_000:]))


def main(run_id: int) -> int:
    engine = make_engine()
    sessions = session_factory(engine)
    log_buffer = io.StringIO()
    logging.basicConfig(stream=log_buffer, level=logging.INFO)
    progress = Progress(sessions, run_id)
    try:
        with sessions() as db:
            run = db.get(Run, run_id)
            if run is None or run.state != "running":
                return 2
            _ = run.scenario.tables  # load before the session closes
        out, solver_log, summary = solve(run, progress)
        progress("saving", 0.95)
        time.sleep(float(os.environ.get(PAUSE_BEFORE_SAVE, "0") or 0))
        save(sessions, run_id, out, summary, solver_log + "\n" + log_buffer.getvalue())
        return 0
    except Cancelled:
        _finish(sessions, run_id, "cancelled", "", log_buffer.getvalue())
        return 0
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the run
        _finish(sessions, run_id, "failed", f"{type(exc).__name__}: {exc}"[:2000],
                log_buffer.getvalue() + traceback.format_exc())
        return 1
    finally:
        engine.dispose()


def _finish(sessions, run_id: int, state: str, error: str, text: str) -> None:
    with sessions() as db:
        db.execute(sa.update(Run).where(Run.id == run_id).values(
            state=state, stage=state, error=error, log=text[-100_000:], finished_at=utcnow()))
        db.commit()


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
