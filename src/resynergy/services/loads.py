"""Loading a built-in dataset as a background job: the request only queues it (an ``imports``
row in state 'queued'); the run supervisor starts a worker process
(``python -m resynergy.services.worker --import ID``) that reads the dataset, checks and writes
it with ``imports.load_builtin`` and records its progress, like a planning run. So no request
holds a server worker for the seconds the load takes, and the page shows a progress bar.

The registry change itself is one transaction (``registry.apply``): a worker that dies leaves
nothing half-written, and the supervisor marks the job failed.
"""

from __future__ import annotations

import time
import traceback
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from resynergy import datasets
from resynergy.services import access, accounts, imports
from resynergy.services.access import Actor
from resynergy.services.registry import NotFound, Rejected
from resynergy.states import ACTIVE_IMPORT, ImportState
from resynergy.store.models import ImportRecord, User, utcnow

PREFIX = "builtin:"  # an import record's filename for a built-in dataset: builtin:<name>
def queue_builtin(db: Session, actor: Actor, name: str) -> ImportRecord:
    """Queue loading built-in dataset ``name`` (NotFound when there is none); a user's load
    already waiting or running is returned instead of a second one."""
    access.require(actor, access.EDITORS, "load built-in dataset")
    if name not in datasets.names():
        raise NotFound(f"built-in dataset {name}")
    filename = PREFIX + name
    active = db.scalar(sa.select(ImportRecord).where(
        ImportRecord.user_id == actor.user_id, ImportRecord.filename == filename,
        ImportRecord.state.in_(ACTIVE_IMPORT)).order_by(ImportRecord.id.desc()).limit(1))
    if active is not None:
        return active
    rec = ImportRecord(user_id=actor.user_id, filename=filename, accepted=False, counts={}, issues=[],
                       state=ImportState.QUEUED, progress=0.0, stage="")
    db.add(rec)
    db.commit()
    return rec


def _record(sessions: sessionmaker[Session], import_id: int, **values: Any) -> bool:
    """Update the job while it is running (never one the supervisor has ended); True if it was."""
    with sessions() as db:
        done = db.execute(sa.update(ImportRecord).where(
            ImportRecord.id == import_id, ImportRecord.state == ImportState.RUNNING).values(**values))
        db.commit()
        return done.rowcount == 1


class Progress:
    """``progress(stage, fraction)`` for ``imports.load_builtin``: written at most every 0.3 s."""

    def __init__(self, sessions: sessionmaker[Session], import_id: int):
        self.sessions, self.import_id, self._last = sessions, import_id, 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        now = time.monotonic()
        if now - self._last < 0.3 and fraction < 1.0:
            return
        self._last = now
        _record(self.sessions, self.import_id, stage=stage[:128], progress=max(0.0, min(1.0, float(fraction))))


def execute(sessions: sessionmaker[Session], import_id: int) -> int:
    """The worker's part: load the dataset the job names as the user who queued it; 0 when the
    job ran (accepted or refused, both recorded), 2 when it was not this worker's to run."""
    with sessions() as db:
        rec = db.get(ImportRecord, import_id)
        if rec is None or rec.state != ImportState.RUNNING or not rec.filename.startswith(PREFIX):
            return 2
        user = db.get(User, rec.user_id) if rec.user_id is not None else None
        actor = accounts.actor_of(user, ip="worker") if user is not None and user.active else None
        name = rec.filename[len(PREFIX):]
    if actor is None:
        _record(sessions, import_id, state=ImportState.FAILED, finished_at=utcnow(),
                error="提交导入的用户已停用 / the user who asked for the import is disabled")
        return 0
    progress = Progress(sessions, import_id)
    progress("reading", 0.05)
    try:
        with sessions() as db:
            counts = imports.load_builtin(db, actor, name, progress=progress)
    except Rejected as err:
        _record(sessions, import_id, state=ImportState.FAILED, finished_at=utcnow(), progress=1.0, stage="done",
                issues=imports.cap_issues(err.issues, PREFIX + name),
                error="内置数据集未通过检查，未写入任何记录 / the dataset did not pass the checks; nothing was written")
        return 0
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job
        import sys

        sys.stderr.write(traceback.format_exc())  # the supervisor writes it to the server log
        _record(sessions, import_id, state=ImportState.FAILED, finished_at=utcnow(),
                error=f"导入过程中出现内部错误（导入 #{import_id}），请联系管理员 / an internal error stopped "
                      f"the import (#{import_id}); please contact an administrator ({type(exc).__name__})")
        return 1
    _record(sessions, import_id, state=ImportState.SUCCEEDED, accepted=True, counts=counts, progress=1.0,
            stage="done", finished_at=utcnow())
    return 0
