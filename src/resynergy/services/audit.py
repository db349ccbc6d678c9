"""The append-only audit log: who did what, when, from where, with the record before and after."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from resynergy.schema.cells import plain, visible
from resynergy.services import database
from resynergy.services.access import Actor
from resynergy.store.models import AuditEvent


def _plain(value: Any) -> Any:
    """A value valid in strict JSON (the log must stay readable by PostgreSQL and every client):
    NaN → null, ±infinity → the text "inf"/"-inf", control characters written out."""
    value = plain(value)  # numpy scalars → Python, NaN → None
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def snapshot(row: dict | None) -> dict | None:
    """A JSON-safe copy of a record for the log."""
    return None if row is None else {k: _plain(v) for k, v in row.items() if k != "updated_at"}


def record(db: Session, actor: Actor, action: str, object_type: str = "", object_id: object = "",
           before: dict | None = None, after: dict | None = None, username: str = "") -> None:
    """Add one event to the session (written with the caller's transaction)."""
    db.add(AuditEvent(actor_id=actor.user_id, actor=username or actor.username, role=actor.role,
                      ip=actor.ip[:64], action=action, object_type=object_type,
                      object_id=str(object_id)[:128], before=snapshot(before), after=snapshot(after)))


def record_many(db: Session, actor: Actor, events: list[dict]) -> None:
    """Bulk insert of events given as dicts with action, object_type, object_id, before, after."""
    if not events:
        return
    rows = [{"actor_id": actor.user_id, "actor": actor.username, "role": actor.role, "ip": actor.ip[:64],
             "action": e["action"], "object_type": e.get("object_type", ""),
             "object_id": str(e.get("object_id", ""))[:128], "before": snapshot(e.get("before")),
             "after": snapshot(e.get("after"))} for e in events]
    db.execute(sa.insert(AuditEvent), rows)


def events(db: Session, limit: int = 100, offset: int = 0, action: str = "", object_type: str = "",
           actor: str = "") -> tuple[list[AuditEvent], int]:
    """Newest first, filtered."""
    q = database.where_given(sa.select(AuditEvent), (AuditEvent.action, action),
                             (AuditEvent.object_type, object_type), (AuditEvent.actor, actor))
    return database.page(db, q, AuditEvent.id.desc(), limit=limit, offset=offset)
