"""Who may do what: roles, province scope and organisation tenancy, in one place.

- admin: everything.
- planner: reads and changes the registry within its province scope, snapshots scenarios,
  submits, cancels and publishes runs.
- regulator, evaluator: read the registry, scenarios and runs within their province scope.
- enterprise: reads and changes only its own organisation's records (sites and their supplies,
  facilities, demands, terminals; its organisation row and contacts), and reads the shared tables.
- public (and anyone not signed in): published aggregates only.

A user's ``province`` is a GB/T 2260 province code, or '' for all provinces. Rows out of a
reader's scope are invisible (404), never merely forbidden, so their existence does not leak.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from resynergy.scenario.regions import province_code
from resynergy.store.models import REGISTRY

STAFF = ("admin", "planner", "regulator", "evaluator")  # read all within province scope
EDITORS = ("admin", "planner")
# Tables whose rows belong to an organisation (directly or through their site).
ORG_TABLES = ("organisations", "sites", "supplies", "facilities", "demands", "terminals")
SITE_CHILDREN = ("supplies", "facilities", "demands", "terminals")
# Lanes join two sites: a lane (its rate, capacity and source are private terms between the
# sites' operators) is read in the scope of its endpoints, like the sites themselves. Writing
# lanes stays with editors (a lane is a planning assumption, not an enterprise record).
SCOPED_TABLES = (*ORG_TABLES, "lanes")
SHARED_TABLES = tuple(t for t in REGISTRY if t not in SCOPED_TABLES)


@dataclass(frozen=True)
class Actor:
    """The user behind a request (or the anonymous public), with where the request came from."""

    user_id: int | None
    username: str
    role: str
    org_uscc: str = ""
    province: str = ""
    ip: str = ""

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None


ANONYMOUS = Actor(None, "", "public")


class Denied(Exception):
    """The actor may not do this (``status`` 401 when not signed in, 403 otherwise)."""

    def __init__(self, actor: Actor, what: str = ""):
        self.status = 401 if not actor.signed_in else 403
        self.what = what
        super().__init__(what)


# ---- function level ----------------------------------------------------------------------
def require(actor: Actor, roles: tuple[str, ...], what: str = "") -> None:
    if actor.role not in roles or (actor.role != "public" and not actor.signed_in):
        raise Denied(actor, what)


def can_read_registry(actor: Actor, table: str) -> bool:
    if not actor.signed_in:
        return False
    return actor.role in STAFF or actor.role == "enterprise"


def can_write_registry(actor: Actor, table: str, op: str) -> bool:
    """Function-level write permission (row-level scope is checked separately)."""
    if not actor.signed_in:
        return False
    if actor.role in EDITORS:
        return True
    if actor.role == "enterprise" and table in ORG_TABLES:
        return not (table == "organisations" and op in ("create", "delete"))
    return False


def can_read_scope(actor: Actor, province: str) -> bool:
    """May ``actor`` read things (scenarios, runs) that cover ``province`` ('' = all)?"""
    return actor.role == "admin" or actor.province == "" or actor.province == province


# ---- row level: SQL filter for reads -----------------------------------------------------
def _prefix(col: sa.ColumnElement, province: str) -> sa.ColumnElement[bool]:
    return sa.func.substr(col, 1, 2) == province[:2]


def read_filter(actor: Actor, table: str) -> sa.ColumnElement[bool] | None:
    """WHERE clause limiting ``table`` to the rows ``actor`` may read (None = all rows)."""
    if actor.role == "admin" or table not in SCOPED_TABLES:  # shared and catalog tables
        return None
    t, sites = REGISTRY[table], REGISTRY["sites"]
    if actor.role == "enterprise":
        own = actor.org_uscc
        if table == "organisations":
            return t.c.uscc == own
        if table == "sites":
            return t.c.org_uscc == own
        mine = sa.select(sites.c.id).where(sites.c.org_uscc == own)
    elif not actor.province:
        return None
    elif table in ("organisations", "sites"):
        return _prefix(t.c.region, actor.province)
    else:
        mine = sa.select(sites.c.id).where(_prefix(sites.c.region, actor.province))
    if table == "lanes":  # both ends in scope: a lane to a site the reader may not see stays hidden
        return sa.and_(t.c.from_site.in_(mine), t.c.to_site.in_(mine))
    return t.c.site.in_(mine)


# ---- row level: may this row (as it is, or as it will be) be written? --------------------
def row_owner_and_province(table: str, row: dict, sites: pd.DataFrame) -> tuple[str | None, str]:
    """(owning organisation or None for shared rows, province '' when none) of a registry row.

    ``sites`` is the sites table as it will be after the change (id, org_uscc, region).
    """
    def site(sid: str) -> tuple[str, str]:
        hit = sites.loc[sites["id"] == sid]
        return (str(hit["org_uscc"].iloc[0]), str(hit["region"].iloc[0])) if len(hit) else ("", "")

    if table == "organisations":
        return str(row.get("uscc", "")), province_code(str(row.get("region", "")))
    if table == "sites":
        return str(row.get("org_uscc", "")), province_code(str(row.get("region", "")))
    if table in SITE_CHILDREN:
        org, region = site(str(row.get("site", "")))
        return org, province_code(region)
    if table == "regions":
        return None, province_code(str(row.get("code", "")))
    if table in ("targets", "programmes", "virgin_supply"):
        return None, province_code(str(row.get("region", "")))
    if table == "corridors":
        return None, province_code(str(row.get("from_region", "")))
    if table == "lanes":  # shared for writing (editors), scoped by its origin's province
        return None, province_code(site(str(row.get("from_site", "")))[1])
    return None, ""


def may_write_row(actor: Actor, table: str, row: dict, sites: pd.DataFrame) -> bool:
    """Row-level write scope: own organisation for enterprises, own province for scoped planners."""
    if actor.role == "admin":
        return True
    owner, province = row_owner_and_province(table, row, sites)
    if actor.role == "enterprise":
        return owner is not None and owner != "" and owner == actor.org_uscc
    if actor.role == "planner":
        return not actor.province or province == actor.province
    return False


# ---- actual flows (issue 12 item 6): a flow is seen by both ends ---------------------------
FLOW_READERS = (*STAFF, "enterprise")
FLOW_WRITERS = ("admin", "planner", "enterprise")  # imports and processed manifests


def flows_filter(actor: Actor, from_site: sa.ColumnElement, to_site: sa.ColumnElement
                 ) -> sa.ColumnElement[bool] | None:
    """WHERE clause limiting actual flows to those ``actor`` may read (None = all): staff see
    the flows that leave or reach a site of their province, enterprises those of their own
    organisation's sites — the regulators of both provinces see a cross-province flow."""
    if actor.role == "admin":
        return None
    sites = REGISTRY["sites"]
    if actor.role == "enterprise":
        mine = sa.select(sites.c.id).where(sites.c.org_uscc == actor.org_uscc)
    elif not actor.province:
        return None
    else:
        mine = sa.select(sites.c.id).where(_prefix(sites.c.region, actor.province))
    return sa.or_(from_site.in_(mine), to_site.in_(mine))


def may_record_flow(actor: Actor, ends: list[tuple[str, str]]) -> bool:
    """May ``actor`` record a flow between sites ``ends`` [(org_uscc, region) of from, to]?
    Admin always; planners when an end is in their province (or they have all); enterprises
    when an end is their own organisation's site (the receiver processing a manifest)."""
    if actor.role == "admin":
        return True
    if actor.role == "planner":
        return not actor.province or any(province_code(r) == actor.province for _, r in ends)
    if actor.role == "enterprise":
        return bool(actor.org_uscc) and any(org == actor.org_uscc for org, _ in ends)
    return False


# ---- #12 exchange: listings and deals ----------------------------------------------------
# Listings (offers and wants) belong to the organisation of their site. Enterprises manage their
# own organisation's listings; staff read those at sites in their province scope (the admin:
# all); the public sees anonymised aggregates only (services.exchange.aggregates). A deal is
# seen by its two parties and by staff whose province holds either end; its steps are taken by
# the party whose turn it is (services.exchange.STEPS), or by the admin.
LISTING_WRITERS = ("admin", "enterprise")
LISTING_READERS = (*STAFF, "enterprise")


def _site_in_province(site_col: sa.ColumnElement, province: str) -> sa.ColumnElement[bool]:
    sites = REGISTRY["sites"]
    return site_col.in_(sa.select(sites.c.id).where(_prefix(sites.c.region, province)))


def listing_filter(actor: Actor, organisation: sa.ColumnElement, site: sa.ColumnElement
                   ) -> sa.ColumnElement[bool] | None:
    """WHERE clause limiting listings to those ``actor`` may read (None = all); Denied for the
    public (aggregates only)."""
    require(actor, LISTING_READERS, "read listings")
    if actor.role == "enterprise":
        return organisation == actor.org_uscc
    if actor.role == "admin" or not actor.province:
        return None
    return _site_in_province(site, actor.province)


def may_write_listing(actor: Actor, organisation: str) -> bool:
    """Create, change or delete a listing of ``organisation`` (function level checked first)."""
    require(actor, LISTING_WRITERS, "write listings")
    return actor.role == "admin" or (bool(actor.org_uscc) and organisation == actor.org_uscc)


def deal_filter(actor: Actor, seller: sa.ColumnElement, buyer: sa.ColumnElement, from_site: sa.ColumnElement,
                to_site: sa.ColumnElement) -> sa.ColumnElement[bool] | None:
    """WHERE clause limiting deals to those ``actor`` may read (None = all)."""
    require(actor, LISTING_READERS, "read deals")
    if actor.role == "enterprise":
        return sa.or_(seller == actor.org_uscc, buyer == actor.org_uscc)
    if actor.role == "admin" or not actor.province:
        return None
    return sa.or_(_site_in_province(from_site, actor.province), _site_in_province(to_site, actor.province))


def deal_party(actor: Actor, seller: str, buyer: str) -> str:
    """'seller', 'buyer' or '' (not a party) — which side of a deal ``actor`` acts for; the
    admin acts for either side ('admin')."""
    if actor.role == "admin" and actor.signed_in:
        return "admin"
    if actor.role != "enterprise" or not actor.org_uscc:
        return ""
    return "seller" if actor.org_uscc == seller else "buyer" if actor.org_uscc == buyer else ""


# ---- electronic manifests (issue 12 items 4, 5): parties and the regulators of both ends -----
MANIFEST_CREATORS = ("admin", "enterprise")  # an enterprise: as the deal's seller (generator)
LICENSORS = ("admin", "regulator")  # record cross-province approvals and HW licences


def in_province(actor: Actor, *provinces: str) -> bool:
    """Staff scope over something that concerns ``provinces`` ('' scope = all provinces)."""
    return actor.role == "admin" or not actor.province or actor.province in provinces


def may_read_manifest(actor: Actor, orgs: tuple[str, ...], provinces: tuple[str, ...]) -> bool:
    """The parties (generator, carrier, receiver) read their manifests; staff read those leaving
    or reaching their province (the regulators of both provinces); the public reads none."""
    if not actor.signed_in or actor.role == "public":
        return False
    if actor.role == "enterprise":
        return bool(actor.org_uscc) and actor.org_uscc in orgs
    return actor.role in STAFF and in_province(actor, *provinces)


def manifest_filter(actor: Actor, orgs: tuple[sa.ColumnElement, ...], provinces: tuple[sa.ColumnElement, ...]
                    ) -> sa.ColumnElement[bool] | None:
    """WHERE clause of :func:`may_read_manifest` over the given columns (None = all rows)."""
    if actor.role == "admin" or (actor.role in STAFF and not actor.province):
        return None
    if actor.role == "enterprise" and actor.org_uscc:
        return sa.or_(*(c == actor.org_uscc for c in orgs))
    if actor.role in STAFF:
        return sa.or_(*(c == actor.province for c in provinces))
    return sa.false()


# ---- retired batteries (issue 14) ----------------------------------------------------------
# Enterprises push their own organisation's events and test records and read only those (and
# the units they touch); staff read the rows placed in their province (an event's province is
# that of its place, else of its actor's registered organisation; see services/batteries.py);
# the public reads only the forecast (aggregates of public statistics). Writes: admin and
# enterprises (the national rules make each actor report its own events); planners and
# regulators read.
BATTERY_WRITERS = ("admin", "enterprise")
BATTERY_READERS = (*STAFF, "enterprise")


def battery_filter(actor: Actor, table: sa.Table) -> sa.ColumnElement[bool] | None:
    """WHERE clause limiting a battery table (events, tests, units) to what ``actor`` may read."""
    if not actor.signed_in or actor.role not in BATTERY_READERS:
        return sa.false()
    if actor.role == "admin":
        return None
    if actor.role == "enterprise":
        return table.c.org_uscc == actor.org_uscc
    return None if not actor.province else table.c.province == actor.province
