"""REST resources for electronic manifests (联单): /api/v1/manifests, their steps and signatures,
chain verification and exports; /api/v1/alerts; cross-province approvals and HW licences.

Every change names the manifest version it read: ``If-Match: "<row_version>"`` (428 without it,
412 when the manifest changed meanwhile). Illegal steps answer 409 with the state and the steps
allowed next, in Chinese and English."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from resynergy.services import manifests
from resynergy.web.api.registry import if_match, tagged
from resynergy.web.deps import DB, CurrentActor, platform
from resynergy.web.errors import COMMON_RESPONSES, CONFLICT, NOT_FOUND, PRECONDITION

router = APIRouter(tags=["manifests"])

Id = Annotated[int, Path(ge=1, le=2**31 - 1, description="联单编号（内部） / manifest id")]
IfMatch = Annotated[str, Header(alias="If-Match", max_length=200,
                                description='联单版本 / the ETag read with the manifest, e.g. "3"')]
Value = StrictStr | StrictInt | None
Values = Annotated[dict[Annotated[str, Field(max_length=64)], Value], Field(max_length=64)]
WRITE = {**COMMON_RESPONSES, **NOT_FOUND, **CONFLICT, **PRECONDITION}
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class NewManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "deal_id": 1, "fields": {"declared_kg": 30000, "carrier_org": "91130800MA0C000002", "waste_name": "钢渣",
                                 "purpose": "利用"}}]})
    deal_id: int = Field(ge=1, le=2**31 - 1)
    fields: Values = {}


class EditManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"fields": {"declared_kg": 29500}}]})
    fields: Values


class SignManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"frame": "transport", "fields": {"mode": "rail", "vehicle": "K1234"}},
        {"frame": "reception", "fields": {"received_kg": 31900, "acceptance": "accepted"}},
        {"frame": "operation", "fields": {"treatment": "钢渣微粉（水泥掺合料）", "processed_at": "2022-06-01"}}]})
    frame: Literal["emission", "transport", "reception", "operation"]
    fields: Values = {}


class LinkManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["return", "redirect"]
    to_site: str = Field("", max_length=128)


class _Transfer(BaseModel):
    """What a cross-province transfer record names, whoever files it."""
    model_config = ConfigDict(extra="forbid")
    origin_province: str = Field(pattern=r"^\d{6}$")
    dest_province: str = Field(pattern=r"^\d{6}$")
    receiver_org: str = Field(min_length=1, max_length=18)
    material: str = Field("", max_length=64)
    waste_code: str = Field("", max_length=16)
    quantity_kg: int = Field(gt=0, le=10**13)
    valid_from: str = Field(max_length=10)
    valid_to: str = Field(max_length=10)


class NewApproval(_Transfer):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "kind": "filing", "origin_province": "130000", "dest_province": "110000",
        "generator_org": "91130800MA0A00000W", "receiver_org": "91110000MA0B00000X", "material": "steel_slag",
        "quantity_kg": 50000000, "valid_from": "2022-01-01", "valid_to": "2022-12-31", "reference": "冀环固备〔2022〕1号"}]})
    kind: Literal["approval", "filing"]
    generator_org: str = Field(min_length=1, max_length=18)
    reference: str = Field("", max_length=64)


class ApprovalStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["pending", "approved", "refused", "revoked"]


class NewRequest(_Transfer):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "kind": "approval", "origin_province": "130000", "dest_province": "110000",
        "receiver_org": "91110000MA0B00000X", "waste_code": "900-041-49", "quantity_kg": 20000000,
        "valid_from": "2022-01-01", "valid_to": "2022-12-31"}]})
    kind: Literal["approval", "filing"] = "approval"
    generator_org: str = Field("", max_length=18, description="移出人；企业用户为本单位 / the generator (an enterprise: its own)")


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"decision": "approve", "reference": "冀环函〔2022〕12号"},
        {"decision": "refuse", "reason": "接受人许可证不含该废物代码"}]})
    decision: Literal["approve", "refuse"]
    reason: str = Field("", max_length=500, description="不予批准的理由（必填）/ the reason (required to refuse)")
    reference: str = Field("", max_length=64, description="批准文号 / the official document number")


class NewLicence(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "org": "91110000MA0B00000X", "number": "京危经第001号", "codes": ["HW49", "900-041-49"],
        "valid_from": "2022-01-01", "valid_to": "2026-12-31"}]})
    org: str = Field(min_length=1, max_length=18)
    number: str = Field(min_length=1, max_length=64)
    codes: list[Annotated[str, Field(max_length=16)]] = Field(min_length=1, max_length=100)
    valid_from: str = Field("", max_length=10)
    valid_to: str = Field("", max_length=10)


@router.get("/manifests", summary="List manifests / 联单列表", responses=COMMON_RESPONSES)
def list_manifests(db: DB, actor: CurrentActor, state: Annotated[str, Query(max_length=16)] = "",
                   to_sign: bool = False, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                   offset: Annotated[int, Query(ge=0, le=10**9)] = 0):
    items, total = manifests.list_manifests(db, actor, state=state, to_sign=to_sign, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.post("/manifests", status_code=201, summary="Create a manifest from an accepted deal / 依交易开联单",
             responses=WRITE)
def create(db: DB, actor: CurrentActor, body: Annotated[NewManifest, Body()], response: Response):
    m = manifests.create_from_deal(db, actor, body.deal_id, body.fields)
    db.commit()
    return tagged(response, m)


@router.get("/manifests/{manifest_id}", summary="One manifest / 查看联单", responses={**COMMON_RESPONSES, **NOT_FOUND})
def read(db: DB, actor: CurrentActor, manifest_id: Id, response: Response):
    return tagged(response, manifests.get(db, actor, manifest_id))


@router.patch("/manifests/{manifest_id}", summary="Edit a draft / 修改草稿", responses=WRITE)
def edit(db: DB, actor: CurrentActor, manifest_id: Id, body: Annotated[EditManifest, Body()], response: Response,
         if_match_: IfMatch = ""):
    m = manifests.edit(db, actor, manifest_id, if_match(if_match_), body.fields)
    db.commit()
    return tagged(response, m)


def _step(db, actor, manifest_id: int, step: str, version: str, values: dict[str, Any], response: Response) -> dict:
    m = manifests.step(db, actor, manifest_id, step, if_match(version), values)
    db.commit()
    return tagged(response, m)


@router.post("/manifests/{manifest_id}/seal", summary="Seal a draft (generator) / 定稿", responses=WRITE)
def seal(db: DB, actor: CurrentActor, manifest_id: Id, response: Response, if_match_: IfMatch = ""):
    return _step(db, actor, manifest_id, "seal", if_match_, {}, response)


@router.post("/manifests/{manifest_id}/unseal", summary="Back to draft (generator) / 退回草稿", responses=WRITE)
def unseal(db: DB, actor: CurrentActor, manifest_id: Id, response: Response, if_match_: IfMatch = ""):
    return _step(db, actor, manifest_id, "unseal", if_match_, {}, response)


@router.post("/manifests/{manifest_id}/cancel", summary="Cancel before sending (generator) / 作废", responses=WRITE)
def cancel(db: DB, actor: CurrentActor, manifest_id: Id, response: Response, if_match_: IfMatch = ""):
    return _step(db, actor, manifest_id, "cancel", if_match_, {}, response)


@router.post("/manifests/{manifest_id}/sign", summary="Sign a frame (the party it names) / 签字", responses=WRITE)
def sign(db: DB, actor: CurrentActor, manifest_id: Id, body: Annotated[SignManifest, Body()], response: Response,
         if_match_: IfMatch = ""):
    return _step(db, actor, manifest_id, body.frame, if_match_, body.fields, response)


@router.post("/manifests/{manifest_id}/link", status_code=201,
             summary="Linked manifest for a refused load (return / redirect) / 拒收部分的关联联单", responses=WRITE)
def link(db: DB, actor: CurrentActor, manifest_id: Id, body: Annotated[LinkManifest, Body()], response: Response):
    m = manifests.link(db, actor, manifest_id, kind=body.kind, to_site=body.to_site)
    db.commit()
    return tagged(response, m)


@router.get("/manifests/{manifest_id}/verify", summary="Verify the signature chain / 校验签字链",
            responses={**COMMON_RESPONSES, **NOT_FOUND})
def verify(db: DB, actor: CurrentActor, manifest_id: Id):
    return manifests.verify(db, actor, manifest_id)


@router.get("/manifests/{manifest_id}/export.json", summary="Export for offline verification / 导出（JSON）",
            responses={**COMMON_RESPONSES, **NOT_FOUND})
def export_json(db: DB, actor: CurrentActor, manifest_id: Id):
    doc = manifests.export(db, actor, manifest_id)
    return Response(json.dumps(doc, ensure_ascii=False, indent=1), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="manifest-{doc["manifest"]}.json"'})


@router.get("/manifests/{manifest_id}/export.xlsx", summary="Export as a workbook / 导出（XLSX）",
            responses={**COMMON_RESPONSES, **NOT_FOUND, 200: {"content": {_XLSX: {}}, "description": "XLSX"}})
def export_xlsx(db: DB, actor: CurrentActor, manifest_id: Id):
    m = manifests.get(db, actor, manifest_id)
    return Response(manifests.workbook(m), media_type=_XLSX,
                    headers={"Content-Disposition": f'attachment; filename="manifest-{m["number"]}.xlsx"'})



@router.get("/alerts", summary="Manifest alerts for the parties and both provinces' regulators / 联单预警",
            responses=COMMON_RESPONSES)
def alerts(request: Request, db: DB, actor: CurrentActor, kind: Annotated[str, Query(max_length=32)] = ""):
    items = manifests.alerts(db, actor, policy=manifests.policy_of(platform(request).settings), kind=kind)
    return {"items": items, "total": len(items)}


@router.get("/transfer-approvals", summary="Cross-province approvals and filings / 跨省转移批准与备案",
            responses=COMMON_RESPONSES)
def list_approvals(db: DB, actor: CurrentActor):
    return manifests.list_approvals(db, actor)


@router.post("/transfer-approvals", status_code=201, summary="Record an approval (regulator) / 登记跨省转移批准",
             responses=WRITE)
def create_approval(db: DB, actor: CurrentActor, body: Annotated[NewApproval, Body()]):
    out = manifests.create_approval(db, actor, body.model_dump())
    db.commit()
    return out


@router.post("/transfer-approvals/{approval_id}/status", summary="Change an approval's status / 变更批准状态",
             responses=WRITE)
def approval_status(db: DB, actor: CurrentActor, approval_id: Id, body: Annotated[ApprovalStatus, Body()],
                    if_match_: IfMatch = ""):
    out = manifests.set_approval_status(db, actor, approval_id, if_match(if_match_), body.status)
    db.commit()
    return out


@router.get("/licences", summary="HW operating licences / 危险废物经营许可证", responses=COMMON_RESPONSES)
def list_licences(db: DB, actor: CurrentActor):
    return manifests.list_licences(db, actor)


@router.post("/licences", status_code=201, summary="Record a licence (regulator) / 登记许可证", responses=WRITE)
def create_licence(db: DB, actor: CurrentActor, body: Annotated[NewLicence, Body()]):
    out = manifests.create_licence(db, actor, body.model_dump())
    db.commit()
    return out


@router.post("/licences/{licence_id}/revoke", summary="Revoke a licence (regulator) / 注销许可证", responses=WRITE)
def revoke_licence(db: DB, actor: CurrentActor, licence_id: Id, if_match_: IfMatch = ""):
    out = manifests.revoke_licence(db, actor, licence_id, if_match(if_match_))
    db.commit()
    return out


# ---- enterprise-filed transfer requests (跨省转移商请; #12 leftovers) ---------------------------
@router.post("/transfer-approvals/requests", status_code=201, responses=WRITE,
             summary="File a cross-province transfer request (the generator) / 移出人提交跨省转移商请")
def request_approval(db: DB, actor: CurrentActor, body: Annotated[NewRequest, Body()]):
    out = manifests.request_approval(db, actor, body.model_dump())
    db.commit()
    return out


@router.post("/transfer-approvals/{approval_id}/decision", responses=WRITE,
             summary="Approve or refuse a request (origin province's regulator) / 移出地生态环境部门批准或不予批准")
def decide_approval(db: DB, actor: CurrentActor, approval_id: Id, body: Annotated[Decision, Body()],
                    if_match_: IfMatch = ""):
    out = manifests.decide_approval(db, actor, approval_id, if_match(if_match_), body.decision, body.reason,
                                    body.reference)
    db.commit()
    return out
