"""What an enterprise sees of the platform: its own records and what the published plan sends
out of its sites."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from resynergy import schema
from resynergy.scenario.regions import province_code
from resynergy.services import access, registry, runs
from resynergy.services.access import Actor
from resynergy.store.models import REGISTRY, Run


def overview(db: Session, actor: Actor) -> dict[str, Any]:
    """The enterprise page: its organisation's rows per table (with the names of what they
    refer to and the tables' columns), the plan that covers it and the flows it sends."""
    tables = {t: registry.list_rows(db, actor, t, limit=200)[0] for t in access.ORG_TABLES}
    refs = {t: {c.name: registry.ref_names(db, actor, c.ref, {r[c.name] for r in rows})
                for c in schema.columns(t) if c.ref} for t, rows in tables.items()}
    plan, sends = plans_sending(db, actor, {r["id"] for r in tables["sites"]})
    return {"tables": tables, "refs": refs, "plan": plan, "sends": sends,
            "columns": {t: registry.schema_columns(t) for t in access.ORG_TABLES}}


def plans_sending(db: Session, actor: Actor, own_sites: set[str]) -> tuple[Run | None, list[dict]]:
    """The published plan that covers the enterprise (its province's, else the region-wide one)
    and the flows it plans out of the enterprise's sites, largest first, with names."""
    sites = REGISTRY["sites"]
    provinces = {province_code(r) for r in db.scalars(sa.select(sites.c.region).where(sites.c.id.in_(own_sites)))}
    plan = next((r for p in sorted(provinces) if (r := runs.latest_published(db, p)) is not None), None) \
        or runs.latest_published(db, "")
    if plan is None or not own_sites:
        return plan, []
    try:
        stored = runs.result(db, plan, "flows").data or []
    except registry.NotFound:  # a plan stored without flows sends nothing
        stored = []
    flows = [f for f in stored if f.get("from_site") in own_sites and f.get("t")]
    flows.sort(key=lambda f: -float(f["t"]))
    flows = flows[:200]
    every = {f["to_site"] for f in flows} | {f["from_site"] for f in flows}
    names = {str(k): (z, e, reg) for k, z, e, reg in db.execute(
        sa.select(sites.c.id, sites.c.name_zh, sites.c.name_en, sites.c.region).where(sites.c.id.in_(every)))}
    regions = registry.ref_names(db, actor, "regions.code", {n[2] for n in names.values()})
    materials = registry.ref_names(db, actor, "materials.code", {f["material"] for f in flows})
    modes = registry.ref_names(db, actor, "modes.id", {f.get("mode", "") for f in flows})
    out = []
    for f in flows:
        to = names.get(f["to_site"], (f["to_site"], f["to_site"], ""))
        fr = names.get(f["from_site"], (f["from_site"], f["from_site"], ""))
        out.append({"year": f.get("year"), "from": fr[:2], "to": to[:2], "region": regions.get(to[2], (to[2], to[2])),
                    "material": materials.get(f["material"], (f["material"], f["material"])),
                    "mode": modes.get(f.get("mode", ""), (f.get("mode", ""), f.get("mode", ""))), "t": f["t"]})
    return plan, out
