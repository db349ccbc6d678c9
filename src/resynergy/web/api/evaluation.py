"""REST resources for enterprise evaluations (#13): /api/v1/ledgers, /api/v1/evaluators,
/api/v1/evaluations (+ transitions, evidence, checks, report, the public list, the regional view
and its XLSX) and /api/v1/eligibility.

Every change of an evaluation names the version it read: ``If-Match: "<row_version>"`` (428
without it, 412 when it changed meanwhile). Illegal steps answer 409 with the state and the steps
allowed next, in Chinese and English."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Body, File, Form, Header, Path, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from resynergy.services import evaluation
from resynergy.web.api.imports import read_capped
from resynergy.web.api.registry import if_match, tagged
from resynergy.web.deps import DB, CurrentActor, platform
from resynergy.web.errors import COMMON_RESPONSES, CONFLICT, NOT_FOUND, PRECONDITION, TOO_LARGE

router = APIRouter(tags=["evaluation"])

Id = Annotated[int, Path(ge=1, le=2**31 - 1, description="评价编号 / evaluation id")]
FileId = Annotated[int, Path(ge=1, le=2**31 - 1, description="证明材料编号 / evidence id")]
IfMatch = Annotated[str, Header(alias="If-Match", max_length=200,
                                description='评价版本 / the ETag read with the evaluation, e.g. "3"')]
Uscc = Annotated[str, Field(max_length=18, pattern=r"^[0-9A-HJ-NPQRTUWXY]{0,18}$")]
WRITE = {**COMMON_RESPONSES, **NOT_FOUND, **CONFLICT, **PRECONDITION}
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class FromFlows(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"org_uscc": ""}]})
    org_uscc: Uscc = ""


class NewEvaluator(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"username": "eval_hebei", "province": "130000", "name": "河北省某资源综合利用评价中心"}]})
    username: str = Field(min_length=1, max_length=64)
    province: str = Field(pattern=r"^\d{6}$")
    name: str = Field("", max_length=200)


class NewEvaluation(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"period": "2022Q1", "ledger_id": 1, "products": ["aac_block"], "evaluator_id": 5}]})
    org_uscc: Uscc = ""
    period: str = Field(min_length=4, max_length=16, description="2022Q1 | 2022-03 | 2022H1 | 2022")
    ledger_id: int | None = Field(None, ge=1, le=2**31 - 1)
    products: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=100)
    evaluator_id: int | None = Field(None, ge=1, le=2**31 - 1)


class EditEvaluation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ledger_id: int | None = Field(None, ge=1, le=2**31 - 1)
    products: list[Annotated[str, Field(max_length=64)]] | None = Field(None, max_length=100)
    evaluator_id: int | None = Field(None, ge=1, le=2**31 - 1)


class Transition(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"action": "submit"}, {"action": "request_corrections", "message": "请补充 3 月地磅单"},
        {"action": "approve"}, {"action": "file", "filed_with": "承德市工业和信息化局", "filing_number": "承工信备〔2022〕3号"},
        {"action": "publish"}, {"action": "revise"}]})
    action: Literal["submit", "request_corrections", "approve", "file", "publish", "revise"]
    message: str = Field("", max_length=4000)
    filed_with: str = Field("", max_length=200)
    filing_number: str = Field("", max_length=64)


# ---- ledgers -----------------------------------------------------------------------------------
@router.get("/ledgers", summary="Ledgers / 固废台账", responses=COMMON_RESPONSES)
def ledgers(db: DB, actor: CurrentActor, org: Annotated[str, Query(max_length=18)] = ""):
    items = evaluation.list_ledgers(db, actor, org)
    return {"items": items, "total": len(items)}


@router.get("/ledgers/template.xlsx", summary="The ledger template / 台账模板",
            responses={**COMMON_RESPONSES, 200: {"content": {_XLSX: {}}, "description": "XLSX"}})
def ledger_template(db: DB, actor: CurrentActor):
    return Response(evaluation.ledger_template(db, actor), media_type=_XLSX,
                    headers={"Content-Disposition": 'attachment; filename="ledger-template.xlsx"'})


@router.post("/ledgers", status_code=201, summary="Upload a ledger (the XLSX template) / 上传台账",
             description="All or nothing: every problem located (sheet, row, column, value, what was expected). / "
                         "全部通过才保存。", responses={**WRITE, **TOO_LARGE})
async def upload_ledger(request: Request, db: DB, actor: CurrentActor,
                        file: Annotated[UploadFile, File(description=".xlsx (模板 template)")],
                        org_uscc: Annotated[str, Form(max_length=18)] = ""):
    data = await read_capped(request, file)
    out = await run_in_threadpool(evaluation.upload_ledger, db, actor, data, file.filename or "", org_uscc,
                                  platform(request).settings)
    db.commit()
    return out


@router.post("/ledgers/from-flows", status_code=201, summary="Build a ledger from actual flows / 由实际流向生成台账",
             responses=WRITE)
def ledger_from_flows(db: DB, actor: CurrentActor, body: Annotated[FromFlows, Body()]):
    out = evaluation.ledger_from_actual_flows(db, actor, body.org_uscc)
    db.commit()
    return out


@router.get("/ledgers/{ledger_id}", summary="One ledger with its frames / 查看台账",
            responses={**COMMON_RESPONSES, **NOT_FOUND})
def ledger(db: DB, actor: CurrentActor, ledger_id: Annotated[int, Path(ge=1, le=2**31 - 1)]):
    return evaluation.get_ledger(db, actor, ledger_id)


# ---- evaluator lists ---------------------------------------------------------------------------
@router.get("/evaluators", summary="Evaluators listed per province / 评价机构名单", responses=COMMON_RESPONSES)
def evaluators(db: DB, actor: CurrentActor, province: Annotated[str, Query(pattern=r"^(\d{6})?$")] = ""):
    items = evaluation.list_evaluators(db, actor, province)
    return {"items": items, "total": len(items)}


@router.post("/evaluators", status_code=201, summary="List an evaluator (admin, the province's regulator) / 列入评价机构名单",
             responses=WRITE)
def add_evaluator(db: DB, actor: CurrentActor, body: Annotated[NewEvaluator, Body()]):
    out = evaluation.list_evaluator(db, actor, province=body.province, username=body.username, name=body.name)
    db.commit()
    return out


# ---- evaluations (fixed paths before /evaluations/{id}) -----------------------------------------
@router.get("/evaluations/published", summary="Published evaluations (public) / 评价结果公示",
            responses=COMMON_RESPONSES)
def published(db: DB):
    items = evaluation.published(db)
    return {"items": items, "total": len(items)}


@router.get("/evaluations/regional", summary="Regional view for departments / 区域汇总（主管部门）",
            responses=COMMON_RESPONSES)
def regional(db: DB, actor: CurrentActor, province: Annotated[str, Query(pattern=r"^(\d{6})?$")] = ""):
    return evaluation.regional(db, actor, province)


@router.get("/evaluations/regional.xlsx", summary="Regional view as XLSX / 区域汇总导出",
            responses={**COMMON_RESPONSES, 200: {"content": {_XLSX: {}}, "description": "XLSX"}})
def regional_xlsx(db: DB, actor: CurrentActor, province: Annotated[str, Query(pattern=r"^(\d{6})?$")] = ""):
    body = evaluation.regional_workbook(evaluation.regional(db, actor, province))
    return Response(body, media_type=_XLSX,
                    headers={"Content-Disposition": 'attachment; filename="evaluations-regional.xlsx"'})


@router.get("/evaluations", summary="Evaluations / 评价申请", responses=COMMON_RESPONSES)
def list_evaluations(db: DB, actor: CurrentActor, state: Annotated[str, Query(max_length=24)] = "",
                     org: Annotated[str, Query(max_length=18)] = "", queue: bool = False,
                     limit: Annotated[int, Query(ge=1, le=500)] = 50,
                     offset: Annotated[int, Query(ge=0, le=10**9)] = 0):
    items, total = evaluation.list_evaluations(db, actor, state=state, org=org, queue=queue, limit=limit,
                                               offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.post("/evaluations", status_code=201, summary="Apply for a period (the firm) / 申请评价", responses=WRITE)
def create(db: DB, actor: CurrentActor, body: Annotated[NewEvaluation, Body()], response: Response):
    ev = evaluation.create(db, actor, body.model_dump())
    db.commit()
    return tagged(response, ev)


@router.get("/evaluations/{evaluation_id}", summary="One evaluation / 查看评价",
            responses={**COMMON_RESPONSES, **NOT_FOUND})
def read(db: DB, actor: CurrentActor, evaluation_id: Id, response: Response):
    return tagged(response, evaluation.get(db, actor, evaluation_id))


@router.patch("/evaluations/{evaluation_id}", summary="Change a draft (the firm) / 修改申请", responses=WRITE)
def edit(db: DB, actor: CurrentActor, evaluation_id: Id, body: Annotated[EditEvaluation, Body()],
         response: Response, if_match_: IfMatch = ""):
    ev = evaluation.update(db, actor, evaluation_id, if_match(if_match_), body.model_dump(exclude_unset=True))
    db.commit()
    return tagged(response, ev)


@router.post("/evaluations/{evaluation_id}/transitions", summary="Take a workflow step / 办理",
             description="submit (firm) · request_corrections, approve (the evaluator) · file (firm or evaluator) · "
                         "publish (the province's departments) · revise (firm: a new version of a frozen one).",
             responses=WRITE)
def transition(db: DB, actor: CurrentActor, evaluation_id: Id, body: Annotated[Transition, Body()],
               response: Response, if_match_: IfMatch = ""):
    ev = evaluation.transition(db, actor, evaluation_id, body.action, if_match(if_match_), message=body.message,
                               filed_with=body.filed_with, filing_number=body.filing_number)
    db.commit()
    return tagged(response, ev)


@router.get("/evaluations/{evaluation_id}/checks", summary="Computed checks with their evidence / 计算核查",
            responses={**COMMON_RESPONSES, **NOT_FOUND, **CONFLICT})
def checks(db: DB, actor: CurrentActor, evaluation_id: Id):
    return evaluation.checks(db, actor, evaluation_id)


@router.get("/evaluations/{evaluation_id}/report", summary="The report frozen at approval (HTML) / 评价报告",
            responses={**COMMON_RESPONSES, **NOT_FOUND, **CONFLICT,
                       200: {"content": {"text/html": {}}, "description": "HTML"}})
def report(db: DB, actor: CurrentActor, evaluation_id: Id, lang: Literal["zh", "en"] = "zh"):
    return HTMLResponse(evaluation.report(db, actor, evaluation_id, lang))


@router.post("/evaluations/{evaluation_id}/evidence", status_code=201, summary="Add an evidence file / 上传证明材料",
             responses={**WRITE, **TOO_LARGE})
async def add_evidence(request: Request, db: DB, actor: CurrentActor, evaluation_id: Id,
                       file: Annotated[UploadFile, File(description=".pdf .png .jpg .xlsx .csv")],
                       figure: Annotated[str, Form(max_length=100)] = "",
                       note: Annotated[str, Form(max_length=500)] = ""):
    data = await read_capped(request, file)
    out = await run_in_threadpool(evaluation.add_evidence, db, actor, evaluation_id, data, file.filename or "",
                                  figure=figure, note=note, settings=platform(request).settings)
    db.commit()
    return out


@router.get("/evaluations/{evaluation_id}/evidence/{evidence_id}", summary="Download an evidence file / 下载证明材料",
            responses={**COMMON_RESPONSES, **NOT_FOUND})
def evidence(db: DB, actor: CurrentActor, evaluation_id: Id, evidence_id: FileId):
    name, content_type, data = evaluation.evidence_file(db, actor, evaluation_id, evidence_id)
    return Response(data, media_type=content_type, headers={
        "Content-Disposition": f"attachment; filename=\"evidence-{evidence_id}\"; filename*=UTF-8''{quote(name, safe='')}"})


@router.delete("/evaluations/{evaluation_id}/evidence/{evidence_id}", status_code=204,
               summary="Remove an evidence file / 删除证明材料", responses=WRITE)
def remove_evidence(db: DB, actor: CurrentActor, evaluation_id: Id, evidence_id: FileId):
    evaluation.remove_evidence(db, actor, evaluation_id, evidence_id)
    db.commit()
    return Response(status_code=204)


# ---- eligibility ---------------------------------------------------------------------------------
@router.get("/eligibility", summary="Eligibility with the rule behind each figure / 优惠资格",
            description="`evaluation=ID`, or `org` and `period`: the VAT refund, EIT income and environmental-tax "
                        "figures of the core's assessment, each with its rule id, source and confidence, and a "
                        "reason for each no. / 每项结果附规则编号、来源与可信度。",
            responses={**COMMON_RESPONSES, **NOT_FOUND, **CONFLICT})
def eligibility(db: DB, actor: CurrentActor,
                evaluation_id: Annotated[int | None, Query(alias="evaluation", ge=1, le=2**31 - 1)] = None,
                org: Annotated[str, Query(max_length=18)] = "",
                period: Annotated[str, Query(max_length=16)] = ""):
    return evaluation.eligibility(db, actor, evaluation_id=evaluation_id, org=org, period=period)
