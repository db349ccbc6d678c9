"""Scenarios: named, versioned snapshots of the registry that planning runs take as input.

A snapshot holds the schema columns of every registry table the author may read, validated by
``Scenario.from_tables``; the same content under the same name is not stored twice.
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from resynergy import datasets
from resynergy.scenario import Scenario, ScenarioError
from resynergy.schema.cells import plain
from resynergy.services import access, audit, database, registry
from resynergy.services.access import Actor
from resynergy.services.registry import NotFound, Rejected, issue_dict
from resynergy.store.models import REGISTRY_TABLES, ScenarioSnapshot


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: plain(v) for k, v in r.items()} for r in frame.to_dict("records")]


def snapshot_tables(db: Session, actor: Actor) -> dict[str, list[dict]]:
    """The registry as ``actor`` sees it, closed under references (operating organisations of
    visible sites are included; lanes to sites out of scope are dropped)."""
    tables = registry.scoped_frames(db, actor)
    if actor.role != "admin" and actor.province:
        every = registry.frames(db)
        orgs = every["organisations"]
        wanted = set(tables["sites"]["org_uscc"]) - {""}
        tables["organisations"] = orgs.loc[orgs["uscc"].isin(wanted)][registry.schema_columns("organisations")]
        ids = set(tables["sites"]["id"])
        lanes = tables["lanes"]
        tables["lanes"] = lanes.loc[lanes["from_site"].isin(ids) & lanes["to_site"].isin(ids)]
    return {t: _records(tables[t]) for t in REGISTRY_TABLES}


def to_scenario(tables: dict[str, list[dict]], name: str) -> Scenario:
    """Rebuild the validated Scenario from stored records; their ``[key]`` citations resolve to
    the built-in datasets' sources (the registry's rows come from loading them)."""
    frames = {t: pd.DataFrame(rows, columns=registry.schema_columns(t)) for t, rows in tables.items()}
    return Scenario.from_tables(frames, name=name, sources=datasets.builtin_sources())


def digest(tables: dict[str, list[dict]]) -> str:
    return hashlib.sha256(json.dumps(tables, sort_keys=True, ensure_ascii=False,
                                     default=str).encode()).hexdigest()


def create(db: Session, actor: Actor, name: str, description: str = "") -> tuple[ScenarioSnapshot, bool]:
    """Snapshot the registry under ``name``; (snapshot, created) — an unchanged registry gives
    back the latest version instead of a copy."""
    access.require(actor, access.EDITORS, "snapshot scenario")
    tables = snapshot_tables(db, actor)
    try:
        to_scenario(tables, name)
    except ScenarioError as err:
        raise Rejected([issue_dict(i) for i in err.issues]) from None
    province = "" if actor.role == "admin" else actor.province
    dig = digest(tables)
    latest = db.scalar(sa.select(ScenarioSnapshot).where(ScenarioSnapshot.name == name)
                       .order_by(ScenarioSnapshot.version.desc()).limit(1))
    if latest is not None and latest.digest == dig and latest.province == province:
        return latest, False
    snap = ScenarioSnapshot(name=name, version=(latest.version + 1) if latest else 1, description=description,
                            created_by=actor.user_id, province=province, digest=dig, tables=tables,
                            rows={t: len(r) for t, r in tables.items()})
    db.add(snap)
    db.flush()
    audit.record(db, actor, "create", "scenario", snap.id, after={
        "name": name, "version": snap.version, "digest": dig, "rows": snap.rows})
    db.commit()
    return snap, True


def listing(db: Session, actor: Actor, limit: int = 50, offset: int = 0) -> tuple[list[ScenarioSnapshot], int]:
    access.require(actor, access.STAFF, "list scenarios")
    q = sa.select(ScenarioSnapshot)
    if actor.role != "admin" and actor.province:
        q = q.where(ScenarioSnapshot.province == actor.province)
    return database.page(db, q, ScenarioSnapshot.id.desc(), limit=limit, offset=offset)


def get(db: Session, actor: Actor, scenario_id: int) -> ScenarioSnapshot:
    access.require(actor, access.STAFF, "read scenario")
    snap = db.get(ScenarioSnapshot, scenario_id)
    if snap is None or not access.can_read_scope(actor, snap.province):
        raise NotFound(f"scenario {scenario_id}")
    return snap


_YEARS: dict[str, list[int]] = {}  # by content digest: a snapshot's content never changes


def years(db: Session, snap: ScenarioSnapshot) -> list[int]:
    """The years a snapshot has data for — ``Scenario.years``' rule (the years of supplies and
    demands) read off the stored records, without rebuilding the scenario."""
    if snap.digest not in _YEARS:
        tables = db.scalar(sa.select(ScenarioSnapshot.tables).where(ScenarioSnapshot.id == snap.id)) or {}
        _YEARS[snap.digest] = sorted({int(r["year"]) for t in ("supplies", "demands") for r in tables.get(t, [])
                                      if r.get("year") is not None})
    return _YEARS[snap.digest]
