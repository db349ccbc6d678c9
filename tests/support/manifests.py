"""Helpers for the manifest tests: an accepted deal written straight to the store (the exchange
services are another branch's), and manifests taken to a given state through the service."""

from __future__ import annotations

from resynergy.exchange import manifests as mf
from resynergy.services import manifests
from resynergy.services.access import Actor
from resynergy.store.models import Deal, Listing

# A carrier organisation (valid GB 32100 check character), not in the registry.
ORG_C = "91130800MA0C000002"


def make_deal(sessions, seller: str, buyer: str, from_site: str, to_site: str, material: str = "tailings",
              quantity_t: float = 100.0, state: str = "accepted", mode: str = "road_diesel") -> int:
    with sessions() as db:
        offer = Listing(side="offer", organisation=seller, site=from_site, material=material, quantity_t=quantity_t * 2,
                        reserved_t=quantity_t if state == "accepted" else 0.0)
        db.add(offer)
        db.flush()
        deal = Deal(offer_id=offer.id, seller_org=seller, buyer_org=buyer, from_site=from_site, to_site=to_site,
                    material=material, quantity_t=quantity_t, price_yuan_t=20.0, mode=mode, state=state)
        db.add(deal)
        db.commit()
        return deal.id


def actor(user_id: int, username: str, role: str = "enterprise", org: str = "", province: str = "") -> Actor:
    return Actor(user_id, username, role, org, province)


SIGN_VALUES = {
    "emission": {"sent_at": "2022-06-01T08:00"},
    "transport": {"mode": "road_diesel", "vehicle": "冀H12345", "taken_over_at": "2022-06-01T09:00"},
    "reception": {"received_kg": 30_000, "acceptance": "accepted", "received_at": "2022-06-01T18:00"},
    "operation": {"treatment": "尾矿制砂", "processed_at": "2022-06-02"},
}
PATH = ("seal", "emission", "transport", "reception", "operation")
STATE_AFTER = dict(zip(PATH, ("sealed", "sent", "in_transit", "received", "processed"), strict=True))


def advance(sessions, manifest_id: int, to_state: str, signers: dict[str, Actor], values: dict | None = None) -> dict:
    """Take a manifest along the path until ``to_state`` (signers: generator, carrier, receiver).
    ``values`` overrides the values given at a step: {step: {field: value}}."""
    values = values or {}
    with sessions() as db:
        m = manifests.get(db, signers["generator"], manifest_id)
        for step in PATH:
            if m["state"] == to_state:
                break
            frame = mf.FRAMES.get(mf.Step(step))
            who = signers[frame.role.value] if frame else signers["generator"]
            m = manifests.step(db, who, manifest_id, step, m["row_version"],
                               {**SIGN_VALUES.get(step, {}), **values.get(step, {})})
            db.commit()
        return m


def new_manifest(sessions, generator: Actor, deal_id: int, **fields) -> dict:
    with sessions() as db:
        m = manifests.create_from_deal(db, generator, deal_id,
                                       {"declared_kg": 30_000, "carrier_org": ORG_C, **fields})
        db.commit()
        return m
