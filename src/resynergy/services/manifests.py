"""Electronic manifests (联单) on the platform: create from an accepted deal, edit the draft,
seal, sign each frame, verify the chain, alerts, cross-province approvals and HW licences.

The rules live in ``resynergy.exchange.manifests`` (states, frames, chain) and
``resynergy.exchange.alerts``; this module adds who may do what, the database and the audit log.

- Only the party a frame names signs it (an enterprise user of the generator, carrier or
  receiver organisation); nobody signs for another organisation, not even an administrator.
- Every write names the row version it read (``version``): a manifest changed meanwhile is
  never overwritten (412), and of two racing signers one wins and the other is told (412/409).
- A step is one transaction: the manifest's new fields and state, its signature row and the
  audit event are written together or not at all (the caller commits; a failure rolls back).
- A processed manifest becomes an actual flow through ``services.actuals.record_flow``.

Functions raise ``registry.Rejected`` (located zh/en issues; 409 for illegal steps and races,
412 for a stale version, 422 for bad input), ``registry.NotFound`` (404: no such manifest, or
not one the actor may see) and ``access.Denied`` (401/403).
"""

from __future__ import annotations

import dataclasses
import io
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from resynergy.exchange import alerts as al
from resynergy.exchange import manifests as mf
from resynergy.exchange.listings import period_label, total_t
from resynergy.exchange.manifests import Step
from resynergy.scenario.regions import province_code
from resynergy.services import access, audit, database
from resynergy.services.access import Actor, Denied
from resynergy.services.exchange import delivery_period
from resynergy.services.registry import NotFound, Rejected, begin_write, own_issue
from resynergy.services.settings import Settings
from resynergy.store.models import (
    REGISTRY,
    Deal,
    Licence,
    Manifest,
    ManifestSignature,
    TransferApproval,
    utcnow,
)

TABLE = "manifests"
# Set from the deal when the manifest is created; never edited (a new deal is a new manifest).
FROM_DEAL = ("number", "deal", "parent", "link", "generator_org", "generator_province", "from_site",
             "receiver_org", "receiver_province", "to_site", "material")
DRAFT_EDITABLE = tuple(f for f in (*mf.DRAFT_FIELDS, "mode") if f not in FROM_DEAL)
# What a signer gives with each signature (the rest of its frame was written in the draft).
SIGN_INPUT: dict[Step, tuple[str, ...]] = {
    Step.EMISSION: ("sent_at", "approval"),
    Step.TRANSPORT: tuple(f for f in mf.FRAMES[Step.TRANSPORT].fields if f != "carrier_org"),
    Step.RECEPTION: mf.FRAMES[Step.RECEPTION].fields,
    Step.OPERATION: mf.FRAMES[Step.OPERATION].fields,
}
TIME_FIELD = {Step.EMISSION: "sent_at", Step.TRANSPORT: "taken_over_at", Step.RECEPTION: "received_at"}
LIVE = ("sent", "in_transit", "received", "processed")  # states in which a manifest draws on quotas


def _issue(code: str, zh: str, en: str, column: str = "", value: object = None, where: str = "") -> dict:
    return own_issue(code, zh, en, TABLE, where, None, column, value)


def _problems(problems: list[mf.Problem], where: str) -> list[dict]:
    return [_issue(p.kind, p.zh, p.en, p.field, None, where) for p in problems]


def _iso_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


# ---- reading ------------------------------------------------------------------------------
def _orgs(m: Manifest) -> tuple[str, ...]:
    return tuple(o for o in (m.generator_org, m.carrier_org, m.receiver_org) if o)


def _provinces(m: Manifest) -> tuple[str, ...]:
    return tuple(p for p in (m.generator_province, m.receiver_province) if p)


def _visible(actor: Actor) -> sa.Select:
    q = sa.select(Manifest)
    where = access.manifest_filter(
        actor, (Manifest.generator_org, Manifest.carrier_org, Manifest.receiver_org),
        (Manifest.generator_province, Manifest.receiver_province))
    return q if where is None else q.where(where)


def _load(db: Session, actor: Actor, manifest_id: int, lock: bool = False) -> Manifest:
    if not actor.signed_in or actor.role == "public":
        raise Denied(actor, "manifests")
    q = sa.select(Manifest).where(Manifest.id == manifest_id)
    if lock and db.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    m = db.scalars(q.execution_options(populate_existing=True)).first()
    if m is None or not access.may_read_manifest(actor, _orgs(m), _provinces(m)):
        raise NotFound(f"manifest {manifest_id}")
    return m


def _signatures(db: Session, manifest_id: int) -> list[mf.Signature]:
    rows = db.scalars(sa.select(ManifestSignature).where(ManifestSignature.manifest_id == manifest_id)
                      .order_by(ManifestSignature.seq)).all()
    return [mf.Signature(r.seq, r.frame, r.org, r.role, r.signer, r.signed_at, dict(r.fields), r.prev_hash, r.hash)
            for r in rows]


def _party_roles(actor: Actor, m: Manifest) -> list[str]:
    if actor.role != "enterprise":
        return []
    return [role for role, org in (("generator", m.generator_org), ("carrier", m.carrier_org),
                                   ("receiver", m.receiver_org)) if org and org == actor.org_uscc]


def actor_steps(actor: Actor, m: Manifest) -> list[str]:
    """The steps ``actor`` may take on ``m`` now (for the pages' buttons)."""
    mine = _party_roles(actor, m)
    out = []
    for step in mf.allowed_steps(m.state):
        frame = mf.FRAMES.get(step)
        role = frame.role.value if frame else "generator"
        if role in mine:
            out.append(step.value)
    return out


def _head(m: Manifest) -> dict:
    """What every answer about a manifest starts with: its identity, state (in words) and version."""
    zh, en = mf.STATE_TEXT[mf.State(m.state)]
    return {"id": m.id, "number": m.number, "state": m.state, "state_zh": zh, "state_en": en,
            "row_version": m.row_version, "deal_id": m.deal_id}


def view(db: Session, actor: Actor, m: Manifest, sigs: list[mf.Signature] | None = None) -> dict:
    sigs = _signatures(db, m.id) if sigs is None else sigs
    state = mf.State(m.state)
    return {**_head(m), "parent_id": m.parent_id, "fields": dict(m.fields),
            "locked": sorted(mf.locked_fields(state)), "signatures": [s.as_dict() for s in sigs],
            "next_steps": [s.value for s in mf.allowed_steps(state)], "my_steps": actor_steps(actor, m),
            "created_at": m.created_at.isoformat(), "updated_at": m.updated_at.isoformat()}


def get(db: Session, actor: Actor, manifest_id: int) -> dict:
    return view(db, actor, _load(db, actor, manifest_id))


def list_manifests(db: Session, actor: Actor, *, state: str = "", to_sign: bool = False,
                   limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
    """Visible manifests, newest first; ``to_sign``: those waiting for the actor's signature."""
    if not actor.signed_in or actor.role == "public":
        raise Denied(actor, "manifests")
    q = _visible(actor)
    if state:
        q = q.where(Manifest.state == state)
    if to_sign:
        rows = [m for m in db.scalars(q.order_by(Manifest.id.desc())).all() if actor_steps(actor, m)]
        total, rows = len(rows), rows[offset:offset + limit]
    else:
        rows, total = database.page(db, q, Manifest.id.desc(), limit=limit, offset=offset)
    return [summary(actor, m) for m in rows], total


def summary(actor: Actor, m: Manifest) -> dict:
    f = m.fields
    return {**_head(m), "material": f.get("material", ""), "declared_kg": f.get("declared_kg"),
            "received_kg": f.get("received_kg"), "from_site": f.get("from_site", ""), "to_site": f.get("to_site", ""),
            "generator_org": m.generator_org, "receiver_org": m.receiver_org, "carrier_org": m.carrier_org,
            "my_steps": actor_steps(actor, m)}


def layout() -> list[tuple[str, tuple[str, str], str]]:
    """(block words, field words (zh, en), field) in the order of the printed form."""
    return [(f"{zh} {en}", (mf.FIELD[n].label_zh, mf.FIELD[n].label_en), n)
            for _, zh, en, names in mf.BLOCKS for n in names]


# ---- creating and editing -----------------------------------------------------------------
def _site(db: Session, site_id: str) -> dict:
    t = REGISTRY["sites"]
    row = db.execute(sa.select(t.c.id, t.c.org_uscc, t.c.region).where(t.c.id == site_id)).mappings().first()
    if row is None:
        raise Rejected([_issue("unknown_ref", f"未知站点 {site_id}", f"unknown site {site_id}", "to_site", site_id)])
    return dict(row)


def _org_name(db: Session, uscc: str) -> str:
    t = REGISTRY["organisations"]
    return db.scalar(sa.select(t.c.name_zh).where(t.c.uscc == uscc)) or ""


def _blank() -> dict[str, Any]:
    return {f.name: (None if f.kind in ("kg", "int") else "") for f in mf.FIELDS}


def _check_input(values: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    problems = mf.check_values(values, allowed)
    if problems:
        raise Rejected(_problems(problems, where))


def _insert(db: Session, actor: Actor, fields: dict, deal_id: int | None, parent_id: int | None) -> Manifest:
    m = Manifest(number=f"tmp-{uuid.uuid4().hex[:24]}", deal_id=deal_id, parent_id=parent_id,
                 state="draft", generator_org=fields["generator_org"], carrier_org=fields.get("carrier_org") or "",
                 receiver_org=fields["receiver_org"], generator_province=fields["generator_province"],
                 receiver_province=fields["receiver_province"], fields=fields, created_by=actor.user_id)
    db.add(m)
    db.flush()
    # 联单编号: year, origin province (2 digits of GB/T 2260), serial — shaped like the official 14-digit number
    m.number = f"{utcnow().year}{fields['generator_province'][:2]}{m.id:08d}"
    m.fields = {**fields, "number": m.number}
    db.flush()
    audit.record(db, actor, "create", TABLE, m.id, after={"number": m.number, **m.fields})
    return m


def create_from_deal(db: Session, actor: Actor, deal_id: int, values: Mapping[str, Any] | None = None) -> dict:
    """A draft manifest for one shipment of an accepted deal, written by the seller (generator)."""
    access.require(actor, access.MANIFEST_CREATORS, "create manifest")
    values = dict(values or {})
    _check_input(values, DRAFT_EDITABLE, "API")
    deal = db.get(Deal, deal_id)
    if deal is None or (actor.role == "enterprise" and actor.org_uscc not in (deal.seller_org, deal.buyer_org)):
        raise NotFound(f"deal {deal_id}")
    if actor.role == "enterprise" and actor.org_uscc != deal.seller_org:
        raise Denied(actor, "only the seller (generator) writes the manifest")
    if deal.state not in ("accepted", "completed"):
        raise Rejected([_issue("deal_not_accepted", f"交易 {deal_id} 状态为“{deal.state}”，接受后才能开联单",
                               f"deal {deal_id} is {deal.state}: a manifest needs an accepted deal", "deal", deal_id)],
                       status=409)
    src, dst = _site(db, deal.from_site), _site(db, deal.to_site)
    fields = _blank() | {
        "deal": str(deal.id), "generator_org": deal.seller_org, "generator_name": _org_name(db, deal.seller_org),
        "generator_province": province_code(src["region"]), "from_site": deal.from_site, "material": deal.material,
        "receiver_org": deal.buyer_org, "receiver_name": _org_name(db, deal.buyer_org),
        "receiver_province": province_code(dst["region"]), "to_site": deal.to_site, "mode": deal.mode or "",
        "code_system": "SW2024",
    }
    fields.update(values)
    if mf.is_hazardous(fields) and fields["code_system"] == "SW2024":
        fields["code_system"] = "HW2021"
    return view(db, actor, _insert(db, actor, fields, deal.id, None), [])


def deals_to_ship(db: Session, actor: Actor) -> list[dict]:
    """Accepted deals the actor sells (an enterprise), with what their manifests already declare."""
    if actor.role != "enterprise" or not actor.org_uscc:
        return []
    deals = db.scalars(sa.select(Deal).where(Deal.seller_org == actor.org_uscc, Deal.state == "accepted")
                       .order_by(Deal.id.desc())).all()
    totals = _deal_totals(db, {d.id for d in deals})
    return [{"id": d.id, "material": d.material, "from_site": d.from_site, "to_site": d.to_site,
             "buyer_org": d.buyer_org, "quantity_t": d.quantity_t, "mode": d.mode,
             "declared_t": totals[d.id].declared_kg / 1000 if d.id in totals else 0.0} for d in deals]


def link(db: Session, actor: Actor, manifest_id: int, *, kind: str, to_site: str = "") -> dict:
    """A linked manifest for the refused part of a load: back to the generator ('return') or on
    to another site ('redirect'); the party holding the load (the receiver) ships it."""
    m = _load(db, actor, manifest_id)
    if actor.role != "enterprise" or actor.org_uscc not in (m.generator_org, m.receiver_org):
        raise Denied(actor, "link manifest")
    f = m.fields
    refused = int(f.get("refused_kg") or 0)
    if m.state not in ("refused", "received", "processed") or refused <= 0:
        raise Rejected([_issue("nothing_refused", f"联单 {m.number} 没有拒收数量，无需关联联单",
                               f"manifest {m.number} has no refused quantity to send on", "refused_kg")], status=409)
    child = db.scalar(sa.select(Manifest.number).where(Manifest.parent_id == m.id, Manifest.state != "cancelled"))
    if child is not None:
        raise Rejected([_issue("already_linked", f"拒收部分已开关联联单 {child}（作废后才能另开）",
                               f"the refused part already travels on manifest {child} (cancel it to open another)",
                               "parent", child)], status=409)
    if kind not in ("return", "redirect"):
        raise Rejected([_issue("bad_choice", "关联类型应为 return（退回）或 redirect（转送）",
                               "link must be 'return' or 'redirect'", "link", kind)])
    if kind == "return":
        dest = {"receiver_org": m.generator_org, "receiver_province": m.generator_province, "to_site": f["from_site"]}
    else:
        site = _site(db, to_site)
        dest = {"receiver_org": site["org_uscc"], "receiver_province": province_code(site["region"]), "to_site": to_site}
    fields = _blank() | {
        "deal": f.get("deal", ""), "parent": m.number, "link": kind, "generator_org": m.receiver_org,
        "generator_name": f.get("receiver_name", ""), "generator_province": m.receiver_province,
        "from_site": f["to_site"], "material": f["material"], "waste_name": f.get("waste_name", ""),
        "code_system": f.get("code_system", ""), "waste_code": f.get("waste_code", ""), "hazard": f.get("hazard", ""),
        "declared_kg": refused, "receiver_name": _org_name(db, dest["receiver_org"]), **dest,
    }
    return view(db, actor, _insert(db, actor, fields, m.deal_id, m.id), [])


def _stale(m_number: str) -> Rejected:
    return Rejected([_issue("stale", f"联单 {m_number} 已被他人修改或签字，未保存；请重新打开后再操作",
                            f"manifest {m_number} was changed or signed by someone else since you read it; "
                            "nothing was saved — reload it and try again", "row_version")], status=412)


def _check_version(m: Manifest, version: int | None) -> None:
    if version is None:
        raise Rejected([_issue("precondition_required", "请提供读取联单时的版本号（row_version / If-Match）",
                               "send the manifest's version you read (row_version / If-Match)", "row_version")],
                       status=428)
    if version != m.row_version:
        raise _stale(m.number)


def _write(db: Session, m: Manifest, version: int, fields: dict, state: str) -> None:
    """One conditional UPDATE: the manifest as read at ``version``, or nothing (a lost race)."""
    t = Manifest.__table__
    hit = db.execute(sa.update(t).where(t.c.id == m.id, t.c.row_version == version).values(
        fields=fields, state=state, row_version=version + 1, carrier_org=fields.get("carrier_org") or "",
        updated_at=utcnow())).rowcount
    if hit != 1:
        db.rollback()
        raise _stale(m.number)


def edit(db: Session, actor: Actor, manifest_id: int, version: int | None, values: Mapping[str, Any]) -> dict:
    """Change a draft (the generator only); signed fields can never be changed this way."""
    begin_write(db)
    m = _load(db, actor, manifest_id, lock=True)
    if "generator" not in _party_roles(actor, m):
        raise Denied(actor, "edit manifest")
    locked = [k for k in values if k in mf.locked_fields(m.state)]
    if locked:
        raise Rejected([_issue("locked", f"“{mf.FIELD[k].label_zh}”({k}) 已签字锁定，不能修改",
                               f"{mf.FIELD[k].label_en} ({k}) is locked by a signature and cannot change", k)
                        for k in locked], status=409)
    if m.state != mf.State.DRAFT:
        raise Rejected([_issue("not_draft", f"联单处于“{mf.STATE_TEXT[mf.State(m.state)][0]}”状态，只有草稿可以修改",
                               f"the manifest is {m.state}: only a draft can be edited", "state")], status=409)
    _check_input(values, DRAFT_EDITABLE, f"manifest {m.number}")
    _check_version(m, version)
    before = dict(m.fields)
    fields = {**before, **values}
    _write(db, m, m.row_version, fields, m.state)
    audit.record(db, actor, "update", TABLE, m.id, before=before, after=fields)
    db.flush()
    return get(db, actor, m.id)


# ---- licences and approvals as the core sees them -----------------------------------------
def _licences(db: Session, org: str) -> list[mf.Licence]:
    rows = db.scalars(sa.select(Licence).where(Licence.org == org, Licence.active.is_(True))).all()
    return [mf.Licence(r.org, r.number, tuple(c for c in r.codes.split("|") if c), r.valid_from, r.valid_to)
            for r in rows]


def _approval(db: Session, ref: str) -> mf.Approval | None:
    if not str(ref or "").strip().isdigit():
        return None
    r = db.get(TransferApproval, int(ref))
    if r is None:
        return None
    return mf.Approval(str(r.id), r.kind, r.status, r.origin_province, r.dest_province, r.generator_org,
                       r.receiver_org, r.material, r.waste_code, int(r.quantity_kg), r.valid_from, r.valid_to)


def _approval_loads(db: Session) -> dict[str, list[tuple[int, int]]]:
    """(manifest id, declared kg) of the sent manifests drawing on each approval."""
    out: dict[str, list[tuple[int, int]]] = {}
    for m in db.scalars(sa.select(Manifest).where(Manifest.state.in_(LIVE))).all():
        ref = str(m.fields.get("approval") or "")
        if ref:
            out.setdefault(ref, []).append((m.id, int(m.fields.get("declared_kg") or 0)))
    return out


def _approval_used(db: Session, ref: str, except_id: int, loads: dict[str, list[tuple[int, int]]] | None = None
                   ) -> int:
    """What other sent manifests have already drawn on approval ``ref`` (kg)."""
    loads = _approval_loads(db) if loads is None else loads
    return sum(kg for mid, kg in loads.get(str(ref), []) if mid != except_id)


# ---- steps --------------------------------------------------------------------------------
def step(db: Session, actor: Actor, manifest_id: int, step_name: str, version: int | None,
         values: Mapping[str, Any] | None = None) -> dict:
    """Take one step (seal, unseal, cancel, or a signature: emission, transport, reception,
    operation) on a manifest the actor may act on, at the version the actor read."""
    values = dict(values or {})
    begin_write(db)  # SQLite: writers queue here; PostgreSQL: the row lock and the version settle races
    m = _load(db, actor, manifest_id, lock=True)
    where = f"manifest {m.number}"
    try:
        st = Step(step_name)
    except ValueError:
        raise Rejected([_issue("bad_choice", f"未知操作 {step_name}（应为：{'、'.join(s.value for s in Step)}）",
                               f"unknown step {step_name} (expected one of: {', '.join(s.value for s in Step)})",
                               "step", step_name)]) from None
    frame = mf.FRAMES.get(st)
    role = frame.role.value if frame else "generator"
    if role not in _party_roles(actor, m):
        zh, en = mf.ROLE_TEXT[mf.Role(role)]
        raise Denied(actor, f"only the {en} ({zh}) may {st.value}")
    try:
        target = mf.transition(m.state, st, str(values.get("acceptance") or "") if st == Step.RECEPTION else "")
    except mf.TransitionError as err:
        raise Rejected([_issue("illegal_transition", err.zh, err.en, "state", m.state, where)], status=409) from None
    except ValueError as err:
        zh, _, en = str(err).partition(" / ")
        raise Rejected([_issue("bad_choice", zh, en or zh, "acceptance", values.get("acceptance"), where)]) from None
    _check_version(m, version)
    allowed = SIGN_INPUT.get(st, ())
    locked = [k for k in values if k in mf.locked_fields(m.state)]
    if locked:
        raise Rejected([_issue("locked", f"“{mf.FIELD[k].label_zh}”({k}) 已签字锁定，不能修改",
                               f"{mf.FIELD[k].label_en} ({k}) is locked by a signature and cannot change", k)
                        for k in locked], status=409)
    _check_input(values, allowed, where)
    fields = {**m.fields, **values}
    now = _iso_now()
    if st in TIME_FIELD and not fields.get(TIME_FIELD[st]):
        fields[TIME_FIELD[st]] = now
    if st == Step.OPERATION and not fields.get("processed_at"):
        fields["processed_at"] = now[:10]
    if st == Step.RECEPTION:
        fields = _reception_defaults(fields)
    problems = _rules(db, m, st, fields)
    if problems:
        raise Rejected(_problems(problems, where))
    before = {"state": m.state, "row_version": m.row_version}
    sig: mf.Signature | None = None
    if frame is not None:
        previous = _signatures(db, m.id)
        sig = mf.sign(m.number, fields, st, previous, org=actor.org_uscc, signer=actor.username, signed_at=now)
    _write(db, m, m.row_version, fields, target.value)
    if sig is not None:
        db.add(ManifestSignature(manifest_id=m.id, seq=sig.seq, frame=sig.frame, org=sig.org, role=sig.role,
                                 signer=sig.signer, user_id=actor.user_id, signed_at=sig.signed_at,
                                 fields=sig.fields, prev_hash=sig.prev, hash=sig.hash))
    try:
        db.flush()
    except sa.exc.IntegrityError:
        db.rollback()
        raise _stale(m.number) from None
    audit.record(db, actor, f"manifest_{st.value}", TABLE, m.id, before=before,
                 after={"state": target.value, "row_version": m.row_version + 1,
                        **({"seq": sig.seq, "hash": sig.hash, "fields": sig.fields} if sig else {})})
    if target == mf.State.PROCESSED:
        _record_actual(db, actor, m.number, fields)
    db.flush()
    return get(db, actor, m.id)


def _reception_defaults(fields: dict) -> dict:
    out = dict(fields)
    if out.get("acceptance") == mf.Acceptance.REFUSED and out.get("refused_kg") is None:
        out["refused_kg"] = out.get("received_kg")
    if out.get("acceptance") == mf.Acceptance.ACCEPTED and out.get("refused_kg") is None:
        out["refused_kg"] = 0
    return out


def _rules(db: Session, m: Manifest, st: Step, fields: dict) -> list[mf.Problem]:
    """What must hold before ``st``: required fields, the HW licence, the cross-province approval."""
    out: list[mf.Problem] = []
    if st == Step.SEAL:
        out += [p for p in mf.missing(fields, Step.EMISSION) if p.field not in ("sent_at", "approval")]
        if not fields.get("carrier_org"):
            out.append(mf.Problem("required", "定稿前须指定承运人（承运人统一社会信用代码）",
                                  "name the carrier (carrier USCC) before sealing", "carrier_org"))
        out += mf.licence_problems(fields, _licences(db, m.receiver_org), _iso_now()[:10])
    elif st in mf.FRAMES:
        out += mf.missing(fields, st)
        out += mf.order_problems(fields, st)
        if st == Step.EMISSION:
            day = str(fields["sent_at"])[:10]
            if m.deal_id and db.scalar(sa.select(Deal.state).where(Deal.id == m.deal_id)) == "cancelled":
                out.append(mf.Problem("deal_cancelled", f"交易 {m.deal_id} 已撤销，不能移出",
                                      f"deal {m.deal_id} was cancelled: nothing can be sent under it", "deal"))
            out += mf.licence_problems(fields, _licences(db, m.receiver_org), day)
            out += mf.approval_problems(fields, _approval(db, fields.get("approval", "")),
                                        used_kg=_approval_used(db, fields.get("approval", ""), m.id), on=day)
        if st == Step.TRANSPORT and fields.get("mode") and fields["mode"] not in mf.modes():
            out.append(mf.Problem("bad_choice", f"运输方式应为：{'、'.join(mf.modes())}",
                                  f"mode must be one of: {', '.join(mf.modes())}", "mode"))
        if st == Step.RECEPTION:
            out += mf.licence_problems(fields, _licences(db, m.receiver_org), str(fields["received_at"])[:10])
            if fields.get("acceptance") not in tuple(a.value for a in mf.Acceptance):
                out.append(mf.Problem("bad_choice", "接收结论应为：accepted、partially_accepted、refused",
                                      "acceptance must be accepted, partially_accepted or refused", "acceptance"))
            rec, ref = fields.get("received_kg"), fields.get("refused_kg")
            if isinstance(rec, int) and isinstance(ref, int) and ref > rec:
                out.append(mf.Problem("above_max", f"拒收数量 {ref} 千克大于过磅数量 {rec} 千克",
                                      f"refused {ref} kg is more than the {rec} kg weighed", "refused_kg"))
    return out


def _record_actual(db: Session, actor: Actor, number: str, fields: dict) -> None:
    """The processed manifest becomes an actual flow (issue #12 item 6): the accepted tonnes."""
    try:  # owned by the `actuals` branch; the lead wires it at merge if this tree lacks it
        from resynergy.services.actuals import record_flow
    except ImportError:  # pragma: no cover - SEAM: services.actuals.record_flow not in this tree
        return
    accepted_kg = int(fields.get("received_kg") or 0) - int(fields.get("refused_kg") or 0)
    record_flow(db, actor, manifest=number, year=int(str(fields["processed_at"])[:4]),
                from_site=fields["from_site"], to_site=fields["to_site"], material=fields["material"],
                mode=fields.get("mode") or "", t=accepted_kg / 1000, distance_km=None,
                source=f"联单 manifest {number}")


# ---- verification and export --------------------------------------------------------------
def problem_dict(p: mf.Problem) -> dict:
    return {"kind": p.kind, "seq": p.seq, "frame": p.frame, "field": p.field, "zh": p.zh, "en": p.en}


def verify(db: Session, actor: Actor, manifest_id: int) -> dict:
    """Re-derive the chain from the database: ok, and every located problem."""
    m = _load(db, actor, manifest_id)
    sigs = _signatures(db, m.id)
    problems = mf.verify(m.number, m.fields, sigs, m.state)
    return {"id": m.id, "number": m.number, "state": m.state, "ok": not problems, "signatures": len(sigs),
            "head": sigs[-1].hash if sigs else mf.GENESIS, "problems": [problem_dict(p) for p in problems]}


def export(db: Session, actor: Actor, manifest_id: int) -> dict:
    """The manifest and its signatures as the JSON ``resynergy manifest verify FILE`` checks."""
    m = _load(db, actor, manifest_id)
    return mf.export(m.number, m.state, m.fields, _signatures(db, m.id))


def verify_document(text: str | bytes) -> dict:
    """Verify an exported manifest without the database (the offline verifier)."""
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"不是有效的 JSON：{err} / not valid JSON: {err}") from None
    number, state, fields, sigs = mf.read_export(doc)
    problems = mf.verify(number, fields, sigs, state)
    return {"number": number, "state": state.value, "ok": not problems, "signatures": len(sigs),
            "problems": [problem_dict(p) for p in problems]}


def workbook(m: dict) -> bytes:
    """The manifest in the official blocks (移出人, 废物, 承运人, 接受人, 利用处置) and its signatures."""
    from openpyxl import Workbook

    from resynergy.schema.cells import formula_like

    def safe(v: Any) -> Any:
        return "'" + v if isinstance(v, str) and formula_like(v) else v

    wb = Workbook()
    ws = wb.active
    ws.title = "联单 manifest"
    ws.append(["栏目 block", "项目", "field", "值 value"])
    for block, (zh, en), field in layout():
        ws.append([block, zh, en, safe(m["fields"].get(field))])
    ws.append([])
    ws.append(["状态 state", m["state_zh"], m["state_en"], m["state"]])
    sigs = wb.create_sheet("签字 signatures")
    sigs.append(["序号 seq", "环节 frame", "单位 org", "角色 role", "签字人 signer", "时间 signed at",
                 "上一哈希 prev", "哈希 SHA-256"])
    for s in m["signatures"]:
        sigs.append([s["seq"], s["frame"], s["org"], s["role"], safe(s["signer"]), s["signed_at"], s["prev"], s["hash"]])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ---- alerts -------------------------------------------------------------------------------
def policy_of(settings: Settings) -> al.Policy:
    """The alert policy: the defaults with the platform's settings (weight tolerance, receipt days)."""
    base = al.DEFAULT_POLICY
    w, d = settings.manifest_weight_tolerance, settings.manifest_receipt_days
    return al.Policy(base.weight_tolerance if w is None else w, base.weight_tolerance_kg,
                     base.receipt_days if d is None else d, base.receipt_working_days)


class _Facts:
    """What the alert rules consult, read once per listing of alerts (not once per manifest)."""

    def __init__(self, db: Session):
        self.db = db
        self.loads = _approval_loads(db)
        self._licences: dict[str, list[mf.Licence]] = {}
        self._approvals: dict[str, mf.Approval | None] = {}

    def licences(self, org: str) -> list[mf.Licence]:
        if org not in self._licences:
            self._licences[org] = _licences(self.db, org)
        return self._licences[org]

    def approval(self, ref: str) -> mf.Approval | None:
        if ref not in self._approvals:
            self._approvals[ref] = _approval(self.db, ref)
        return self._approvals[ref]


@dataclass
class _DealLoad:
    """A deal's agreed kg and what its live manifests declare: in all, and per period of the deal
    (by handover date, :func:`~resynergy.services.exchange.delivery_period`) on a recurring deal."""
    deal: Deal
    agreed_kg: int
    declared_kg: int = 0
    by_period: dict[str, int] = dataclasses.field(default_factory=dict)

    def period_of(self, fields: Mapping[str, Any]) -> tuple[str, int, int] | None:
        """(label, agreed kg, declared kg) of the period of a manifest's handover; None on a
        one-off deal or before the handover is dated."""
        rec, sent = self.deal.recurrence or "", str(fields.get("sent_at") or "")
        if not rec or not sent:
            return None
        key = delivery_period(self.deal, sent)
        return period_label(rec, key), round(self.deal.quantity_t * 1000), self.by_period.get(key, 0)


def _manifest_alerts(facts: _Facts, m: Manifest, now: datetime, policy: al.Policy,
                     deal_loads: dict[int, _DealLoad]) -> list[al.Alert]:
    f = m.fields
    ref = str(f.get("approval") or "")
    load = deal_loads.get(m.deal_id) if m.deal_id else None
    return al.alerts(m.number, m.state, f, now=now, licences=facts.licences(m.receiver_org),
                     approval=facts.approval(ref), approval_used_kg=_approval_used(facts.db, ref, m.id, facts.loads),
                     deal_kg=load.agreed_kg if load else None, deal_total_kg=load.declared_kg if load else 0,
                     deal_period=load.period_of(f) if load else None, policy=policy)


def _deal_totals(db: Session, deal_ids: set[int]) -> dict[int, _DealLoad]:
    if not deal_ids:
        return {}
    out = {d.id: _DealLoad(d, round(total_t(d.quantity_t, d.recurrence, d.start, d.end) * 1000))  # per period × periods
           for d in db.scalars(sa.select(Deal).where(Deal.id.in_(deal_ids))).all()}
    rows = db.scalars(sa.select(Manifest).where(Manifest.deal_id.in_(deal_ids), Manifest.parent_id.is_(None),
                                                Manifest.state != "cancelled")).all()
    for r in rows:
        load, kg = out[r.deal_id], int(r.fields.get("declared_kg") or 0)
        load.declared_kg += kg
        if load.deal.recurrence and r.fields.get("sent_at"):
            key = delivery_period(load.deal, str(r.fields["sent_at"]))
            load.by_period[key] = load.by_period.get(key, 0) + kg
    return out


def alerts(db: Session, actor: Actor, *, policy: al.Policy = al.DEFAULT_POLICY, now: datetime | None = None,
           manifest_id: int | None = None, kind: str = "") -> list[dict]:
    """The alerts the actor may see: parties their manifests', staff those concerning their
    province (the regulators of both provinces), newest manifest first."""
    if manifest_id is not None:
        rows = [_load(db, actor, manifest_id)]
    else:
        if not actor.signed_in or actor.role == "public":
            raise Denied(actor, "alerts")
        rows = list(db.scalars(_visible(actor).where(Manifest.state.notin_(("draft", "cancelled")))
                               .order_by(Manifest.id.desc())).all())
    now = now or utcnow()
    totals = _deal_totals(db, {m.deal_id for m in rows if m.deal_id and m.parent_id is None})
    out = []
    facts = _Facts(db)
    for m in rows:
        for a in _manifest_alerts(facts, m, now, policy, totals if m.parent_id is None else {}):
            if kind and a.kind != kind:
                continue
            out.append({"manifest_id": m.id, "number": m.number, "state": m.state, "kind": a.kind,
                        "kind_zh": al.KINDS[a.kind][0], "kind_en": al.KINDS[a.kind][1], "severity": a.severity,
                        "zh": a.zh, "en": a.en, "provinces": list(a.provinces),
                        "generator_org": m.generator_org, "receiver_org": m.receiver_org})
    return out


# ---- approvals and licences (regulators) ---------------------------------------------------
def _approval_dict(r: TransferApproval) -> dict:
    out = {c: getattr(r, c) for c in ("id", "row_version", "kind", "status", "reference", "origin_province",
                                       "dest_province", "generator_org", "receiver_org", "material",
                                       "waste_code", "quantity_kg", "valid_from", "valid_to", "reason")}
    out["decided_at"] = r.decided_at.isoformat() if r.decided_at else None
    return out


def _licence_dict(r: Licence) -> dict:
    return {"id": r.id, "row_version": r.row_version, "org": r.org, "number": r.number,
            "codes": [c for c in r.codes.split("|") if c], "province": r.province, "valid_from": r.valid_from,
            "valid_to": r.valid_to, "active": r.active}


def _dates(values: Mapping[str, Any], *names: str, required: bool = True) -> list[dict]:
    out = []
    for n in names:
        v = str(values.get(n) or "")
        if not v and not required:
            continue
        try:
            datetime.strptime(v, "%Y-%m-%d")
        except ValueError:
            out.append(_issue("not_date", f"{n} 应为日期 YYYY-MM-DD", f"{n} must be a date YYYY-MM-DD", n, v))
    return out


def _approval_issues(values: Mapping[str, Any]) -> list[dict]:
    """What is wrong with an approval's or a request's values (located, zh/en)."""
    issues = _dates(values, "valid_from", "valid_to")
    if values.get("kind") not in ("approval", "filing"):
        issues.append(_issue("bad_choice", "kind 应为 approval（商请批准）或 filing（备案）",
                             "kind must be 'approval' or 'filing'", "kind", values.get("kind")))
    if not issues and values["valid_from"] > values["valid_to"]:
        issues.append(_issue("year_order", "有效期起始晚于截止", "valid_from is after valid_to", "valid_to"))
    if values.get("waste_code") and not mf.HW_CODE.match(str(values["waste_code"])):
        issues.append(_issue("bad_hw_code", "危险废物代码应为 ddd-ddd-dd", "the HW code must be ddd-ddd-dd",
                             "waste_code", values["waste_code"]))
    qk = values.get("quantity_kg")
    if isinstance(qk, bool) or not isinstance(qk, int) or not 0 < qk <= 10**13:
        issues.append(_issue("not_number", "数量应为大于 0 的整数（千克）", "the quantity must be a whole number of kg "
                             "above 0", "quantity_kg", qk))
    return issues


def create_approval(db: Session, actor: Actor, values: Mapping[str, Any]) -> dict:
    """Record a cross-province approval or filing: a regulator of the origin province (or an
    unscoped regulator / the admin)."""
    access.require(actor, access.LICENSORS, "record transfer approval")
    origin = str(values.get("origin_province") or "")
    if not access.in_province(actor, origin):
        raise Denied(actor, "approval outside the regulator's province")
    issues = _approval_issues(values)
    if issues:
        raise Rejected(issues)
    r = TransferApproval(kind=values["kind"], status=values.get("status") or "approved",
                         reference=values.get("reference") or "", origin_province=origin,
                         dest_province=values["dest_province"], generator_org=values["generator_org"],
                         receiver_org=values["receiver_org"], material=values.get("material") or "",
                         waste_code=values.get("waste_code") or "", quantity_kg=int(values["quantity_kg"]),
                         valid_from=values["valid_from"], valid_to=values["valid_to"], created_by=actor.user_id)
    db.add(r)
    db.flush()
    audit.record(db, actor, "create", "transfer_approval", r.id, after=_approval_dict(r))
    return _approval_dict(r)


def _org_province(db: Session, uscc: str) -> str:
    t = REGISTRY["organisations"]
    return province_code(db.scalar(sa.select(t.c.region).where(t.c.uscc == uscc)) or "")


def request_approval(db: Session, actor: Actor, values: Mapping[str, Any]) -> dict:
    """The generator's enterprise files a cross-province transfer request (跨省转移商请, or a
    filing 备案): status 'pending' until a regulator of the origin province decides
    (:func:`decide_approval`); the regulators of both provinces see it. The admin may file for
    a generator it names."""
    if actor.role not in ("enterprise", "admin"):
        raise Denied(actor, "only the generating enterprise files a transfer request")
    values = {"kind": "approval", **values}
    generator = str(values.get("generator_org") or "") if actor.role == "admin" else actor.org_uscc
    issues = _approval_issues(values)
    if actor.role == "enterprise" and values.get("generator_org") not in (None, "", actor.org_uscc):
        issues.append(_issue("not_own", "只能以本单位作为移出人申请", "you can only file for your own organisation "
                             "as the generator", "generator_org", values.get("generator_org")))
    if not generator:
        issues.append(_issue("required", "须指定移出人（统一社会信用代码）", "name the generator (USCC)", "generator_org"))
    origin, dest = str(values.get("origin_province") or ""), str(values.get("dest_province") or "")
    for col, code in (("origin_province", origin), ("dest_province", dest)):
        if province_code(code) != code:
            issues.append(_issue("bad_region", f"{col} 应为省级行政区划代码（如 130000）",
                                 f"{col} must be a province code (e.g. 130000)", col, code))
    if origin and origin == dest:
        issues.append(_issue("same_province", "移出地与接受地同省，无需跨省转移商请",
                             "origin and destination are in the same province: no cross-province request is needed",
                             "dest_province", dest))
    home = _org_province(db, generator) if generator else ""
    if home and origin and home != origin:
        issues.append(_issue("origin_mismatch", f"移出人登记在 {home}，移出地应为该省",
                             f"the generator is registered in {home}: the origin must be that province",
                             "origin_province", origin))
    if not values.get("receiver_org"):
        issues.append(_issue("required", "须指定接受人（统一社会信用代码）", "name the receiver (USCC)", "receiver_org"))
    if not values.get("material") and not values.get("waste_code"):
        issues.append(_issue("required", "须填写物料或危险废物代码", "give the material or the HW code", "material"))
    if issues:
        raise Rejected(issues)
    r = TransferApproval(kind=values["kind"], status="pending", origin_province=origin, dest_province=dest,
                         generator_org=generator, receiver_org=values["receiver_org"],
                         material=values.get("material") or "", waste_code=values.get("waste_code") or "",
                         quantity_kg=int(values["quantity_kg"]), valid_from=values["valid_from"],
                         valid_to=values["valid_to"], created_by=actor.user_id)
    db.add(r)
    db.flush()
    audit.record(db, actor, "request", "transfer_approval", r.id, after=_approval_dict(r))
    return _approval_dict(r)


DECISIONS = {"approve": "approved", "refuse": "refused"}


def decide_approval(db: Session, actor: Actor, approval_id: int, version: int | None, decision: str,
                    reason: str = "", reference: str = "") -> dict:
    """A regulator of the origin province approves or refuses a pending request (a reason is
    required to refuse; the official document number may be given on approval). The
    destination's regulators see the request but do not decide it (the origin province decides
    after the destination agrees: Solid Waste Law art. 82, notes/manifests.md §1.1)."""
    r = _origin_approval(db, actor, approval_id, "decide transfer request")
    reason, reference = (reason or "").strip(), (reference or "").strip()
    issues = []
    if decision not in DECISIONS:
        issues.append(_issue("bad_choice", "决定应为 approve（批准）或 refuse（不予批准）",
                             "decision must be 'approve' or 'refuse'", "decision", decision))
    if decision == "refuse" and not reason:
        issues.append(_issue("required", "不予批准须说明理由", "give the reason for refusing", "reason"))
    if len(reason) > 500 or len(reference) > 64:
        issues.append(_issue("too_long", "理由不超过 500 字、文号不超过 64 字",
                             "the reason is at most 500 characters, the reference 64", "reason"))
    if issues:
        raise Rejected(issues)
    if r.status != "pending":
        raise Rejected([_issue("illegal_transition", f"商请 {r.id} 已处理（{r.status}），不能再次审批",
                               f"request {r.id} was already decided ({r.status})", "status", r.status)], status=409)
    if version is None or version != r.row_version:
        raise Rejected([_issue("stale", "商请已被他人修改，请重新读取", "the request changed since you read it",
                               "row_version")], status=412 if version is not None else 428)
    t = TransferApproval.__table__
    before = _approval_dict(r)
    values: dict[str, Any] = {"status": DECISIONS[decision], "reason": reason, "decided_at": utcnow(),
                              "row_version": version + 1, "updated_at": utcnow()}
    if reference:
        values["reference"] = reference
    if db.execute(sa.update(t).where(t.c.id == r.id, t.c.row_version == version, t.c.status == "pending")
                  .values(**values)).rowcount != 1:
        db.rollback()
        raise Rejected([_issue("stale", "商请已被他人处理", "the request was decided meanwhile", "row_version")],
                       status=412)
    db.refresh(r)
    audit.record(db, actor, decision, "transfer_approval", r.id, before=before, after=_approval_dict(r))
    return _approval_dict(r)


def may_decide(actor: Actor, approval: dict) -> bool:
    """Does ``actor`` decide this request now (what the pages offer; the service checks again)?"""
    return (approval["status"] == "pending" and actor.role in access.LICENSORS
            and access.in_province(actor, approval["origin_province"]))


def list_approvals(db: Session, actor: Actor) -> list[dict]:
    if not actor.signed_in or actor.role == "public":
        raise Denied(actor, "approvals")
    q = sa.select(TransferApproval).order_by(TransferApproval.id.desc())
    if actor.role == "enterprise":
        q = q.where(sa.or_(TransferApproval.generator_org == actor.org_uscc,
                           TransferApproval.receiver_org == actor.org_uscc))
    elif actor.role != "admin" and actor.province:
        q = q.where(sa.or_(TransferApproval.origin_province == actor.province,
                           TransferApproval.dest_province == actor.province))
    return [_approval_dict(r) for r in db.scalars(q).all()]


def _origin_approval(db: Session, actor: Actor, approval_id: int, what: str) -> TransferApproval:
    """An approval record the actor's province decides: 404 outside both provinces, 403 for the
    destination's regulators (they see it; the origin province decides)."""
    access.require(actor, access.LICENSORS, what)
    r = db.get(TransferApproval, approval_id)
    if r is None or not access.in_province(actor, r.origin_province, r.dest_province):
        raise NotFound(f"approval {approval_id}")
    if not access.in_province(actor, r.origin_province):
        raise Denied(actor, "only the origin province decides")
    return r


def set_approval_status(db: Session, actor: Actor, approval_id: int, version: int | None, status: str) -> dict:
    r = _origin_approval(db, actor, approval_id, "change transfer approval")
    if status not in ("pending", "approved", "refused", "revoked"):
        raise Rejected([_issue("bad_choice", "状态应为 pending、approved、refused 或 revoked",
                               "status must be pending, approved, refused or revoked", "status", status)])
    before = _approval_dict(r)
    _update_read(db, r, version, ("批准记录", "approval"), status=status)
    audit.record(db, actor, "update", "transfer_approval", r.id, before=before, after=_approval_dict(r))
    return _approval_dict(r)


def _update_read(db: Session, r: TransferApproval | Licence, version: int | None, what: tuple[str, str],
                 **values: Any) -> None:
    """Write ``values`` into ``r`` as read at ``version`` with one conditional UPDATE (412 when it
    changed since, or meanwhile; 428 without a version), then refresh ``r``."""
    zh, en = what
    if version is None or version != r.row_version:
        raise Rejected([_issue("stale", f"{zh}已被他人修改，请重新读取", f"the {en} changed since you read it",
                               "row_version")], status=412 if version is not None else 428)
    t = type(r).__table__
    if db.execute(sa.update(t).where(t.c.id == r.id, t.c.row_version == version).values(
            **values, row_version=version + 1, updated_at=utcnow())).rowcount != 1:
        db.rollback()
        raise Rejected([_issue("stale", f"{zh}已被他人修改", f"the {en} changed meanwhile", "row_version")],
                       status=412)
    db.refresh(r)


def create_licence(db: Session, actor: Actor, values: Mapping[str, Any]) -> dict:
    access.require(actor, access.LICENSORS, "record licence")
    codes = [str(c).strip() for c in (values.get("codes") or []) if str(c).strip()]
    bad = [c for c in codes if not (mf.HW_CODE.match(c) or (c.startswith("HW") and c[2:].isdigit() and len(c) == 4))]
    issues = _dates(values, "valid_from", "valid_to", required=False)
    if not codes or bad:
        issues.append(_issue("bad_hw_code", f"许可类别应为 HWxx 或 ddd-ddd-dd：{'、'.join(bad) or '（空）'}",
                             f"licence codes must be HWxx or ddd-ddd-dd: {', '.join(bad) or '(none)'}", "codes"))
    if not str(values.get("org") or "").strip() or not str(values.get("number") or "").strip():
        issues.append(_issue("required", "须填写持证单位和许可证号", "org and licence number are required", "number"))
    if issues:
        raise Rejected(issues)
    r = Licence(org=values["org"], number=values["number"], codes="|".join(codes), province=actor.province,
                valid_from=values.get("valid_from") or "", valid_to=values.get("valid_to") or "",
                created_by=actor.user_id)
    db.add(r)
    db.flush()
    audit.record(db, actor, "create", "licence", r.id, after=_licence_dict(r))
    return _licence_dict(r)


def list_licences(db: Session, actor: Actor) -> list[dict]:
    if not actor.signed_in or actor.role == "public":
        raise Denied(actor, "licences")
    q = sa.select(Licence).order_by(Licence.id.desc())
    if actor.role == "enterprise":
        q = q.where(Licence.org == actor.org_uscc)
    return [_licence_dict(r) for r in db.scalars(q).all()]


def revoke_licence(db: Session, actor: Actor, licence_id: int, version: int | None) -> dict:
    access.require(actor, access.LICENSORS, "revoke licence")
    r = db.get(Licence, licence_id)
    if r is None or not access.in_province(actor, r.province):
        raise NotFound(f"licence {licence_id}")
    before = _licence_dict(r)
    _update_read(db, r, version, ("许可证记录", "licence"), active=False)
    audit.record(db, actor, "update", "licence", r.id, before=before, after=_licence_dict(r))
    return _licence_dict(r)


def verify_stored(database_url: str, ref: str) -> dict:
    """Verify a stored manifest by id or number from the command line (whoever can open the
    database reads it all: no platform user is involved). Raises NotFound."""
    with database.session(database_url) as db:
        cond = Manifest.number == ref
        if ref.isdigit() and len(ref) < 10:
            cond = sa.or_(cond, Manifest.id == int(ref))
        try:
            m = db.scalars(sa.select(Manifest).where(cond)).first()
        except sa.exc.DBAPIError as err:
            raise ValueError(f"无法读取数据库（未迁移或无法连接，可运行 resynergy db upgrade）：{err.orig} / "
                             f"cannot read the database (not migrated or unreachable; try resynergy db upgrade): "
                             f"{err.orig}") from None
        if m is None:
            raise NotFound(f"manifest {ref}")
        sigs = _signatures(db, m.id)
        problems = mf.verify(m.number, m.fields, sigs, m.state)
        return {"id": m.id, "number": m.number, "state": m.state, "ok": not problems, "signatures": len(sigs),
                "problems": [problem_dict(p) for p in problems]}


# ---- deals being cancelled (services.exchange.step) ---------------------------------------
UNSENT = ("draft", "sealed")


def void_unsent_of_deal(db: Session, actor: Actor, deal_id: int) -> list[str]:
    """In the caller's transaction: refuse (409) when a manifest of the deal has been sent;
    otherwise cancel its draft and sealed manifests (audited) and return their numbers. The
    rows are locked (PostgreSQL) so a signature racing the cancellation waits and then finds
    the manifest cancelled, or the cancellation finds it sent."""
    q = sa.select(Manifest).where(Manifest.deal_id == deal_id).order_by(Manifest.id)
    if db.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    rows = db.scalars(q.execution_options(populate_existing=True)).all()
    sent = [m.number for m in rows if m.state not in (*UNSENT, "cancelled")]
    if sent:
        db.rollback()
        shown = "、".join(sent[:5]) + ("…" if len(sent) > 5 else "")
        raise Rejected([_issue("manifest_sent",
                               f"交易 {deal_id} 已有联单移出（{shown}），不能撤销；已移出的货物请按联单接收或拒收处理",
                               f"deal {deal_id} cannot be cancelled: manifest(s) {', '.join(sent[:5])} were already "
                               "sent; the goods under way are settled on their manifests (receive or refuse)",
                               "state", "accepted", f"deal {deal_id}")], status=409)
    voided = []
    for m in rows:
        if m.state not in UNSENT:
            continue
        _write(db, m, m.row_version, dict(m.fields), mf.State.CANCELLED.value)
        audit.record(db, actor, f"manifest_{mf.Step.CANCEL.value}", TABLE, m.id,
                     before={"state": m.state, "row_version": m.row_version},
                     after={"state": "cancelled", "row_version": m.row_version + 1, "deal_cancelled": deal_id})
        voided.append(m.number)
    return voided
