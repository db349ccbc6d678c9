"""REST resources for the registry tables: /api/v1/sites, /api/v1/supplies, … (list with
filters and paging, create, read, replace, delete, export).

Optimistic locking: a row's ETag is its ``row_version``; PUT and DELETE must send it back as
``If-Match`` (428 without it, 412 when the row changed meanwhile), so no edit is silently lost."""

import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Body, Header, Path, Query, Response

from resynergy import schema
from resynergy.scenario import io as scenario_io
from resynergy.schema import REGISTRY_TABLES
from resynergy.schema.cells import formula_like
from resynergy.services import registry
from resynergy.services.registry import VERSION, Change
from resynergy.web.api.rows import page_of, row_in, row_out
from resynergy.web.deps import DB, CurrentActor
from resynergy.web.errors import COMMON_RESPONSES, CONFLICT, NOT_FOUND, PRECONDITION, error_for

router = APIRouter()

Province = Annotated[str, Query(pattern=r"^\d{6}$", description="省级行政区划代码 / province code, e.g. 130000")]
Pk = Annotated[int, Path(ge=1, le=2**31 - 1, description="记录编号 / row id (pk)")]
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IfMatch = Annotated[str, Header(alias="If-Match", max_length=200, description='记录版本 / the ETag read with the row, e.g. "3" '
                                '(required to change or delete; * replaces whatever is stored)')]


def etag(row: dict) -> str:
    """The row's ETag: its row version (strong: the version changes with every write)."""
    return f'"{row[VERSION]}"'


def if_match(value: str) -> int | None:
    """The row version an If-Match header names; None when absent; 400 when unreadable."""
    value = value.strip()
    if not value:
        return None
    if value == "*":
        return registry.ANY_VERSION
    tag = value.split(",")[0].strip().removeprefix("W/").strip('"')
    if not tag.isdigit() or len(tag) > 12:
        raise error_for(400, field="If-Match", zh="If-Match 请求头应为读取记录时得到的 ETag（如 \"3\"）",
                        en='If-Match must be the ETag the row was read with (e.g. "3")')
    return int(tag)


def tagged(response: Response, row: dict) -> dict:
    """``row``, with its ETag set on the response (what If-Match must name to change it)."""
    response.headers["ETag"] = etag(row)
    return row


def export_bytes(frame: pd.DataFrame, table: str, fmt: str) -> bytes:
    """One table as CSV (UTF-8 with BOM, formula-like text defused) or as a scenario workbook."""
    if fmt == "xlsx":
        with tempfile.TemporaryDirectory() as tmp:
            return scenario_io.write_xlsx({table: frame}, FilePath(tmp) / f"{table}.xlsx",
                                          include_empty=False).read_bytes()
    safe = frame.map(lambda v: "'" + v if formula_like(v) else v)
    return safe.to_csv(index=False).encode("utf-8-sig")


def _resource(table: str) -> None:
    In, Out, Page = row_in(table), row_out(table), page_of(table)  # noqa: N806 - model classes
    tag = f"registry: {table}"
    has_material = any(c.name == "material" for c in schema.columns(table))
    has_year = any(c.name == "year" for c in schema.columns(table))
    has_site = any(c.name == "site" for c in schema.columns(table))

    @router.get(f"/{table}", response_model=Page, tags=[tag], name=f"list_{table}",
                summary=f"List {table} / 查询", responses=COMMON_RESPONSES)
    def list_rows(db: DB, actor: CurrentActor,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50,
                  offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
                  province: Province = "",
                  material: Annotated[str, Query(max_length=64, include_in_schema=has_material)] = "",
                  year: Annotated[int | None, Query(ge=2000, le=2100, include_in_schema=has_year)] = None,
                  site: Annotated[str, Query(max_length=128, include_in_schema=has_site)] = "",
                  q: Annotated[str, Query(max_length=100, description="全文检索 / text search")] = ""):
        rows, total = registry.list_rows(db, actor, table, province=province, material=material, year=year,
                                         site=site, q=q, limit=limit, offset=offset)
        return {"items": rows, "total": total, "limit": limit, "offset": offset}

    @router.post(f"/{table}", response_model=Out, status_code=201, tags=[tag], name=f"create_{table}",
                 summary=f"Create a {table} row / 新增", responses={**COMMON_RESPONSES, **CONFLICT})
    def create(db: DB, actor: CurrentActor, body: Annotated[In, Body()], response: Response):  # type: ignore[valid-type]
        done = registry.apply(db, actor, [Change(table, "create", body.model_dump(), source="API")])
        db.commit()
        return tagged(response, registry.get_row(db, actor, table, done.pks[0]))

    @router.get(f"/{table}/export", tags=[tag], name=f"export_{table}", summary=f"Export {table} / 导出",
                responses={**COMMON_RESPONSES, 200: {"content": {"text/csv": {}, _XLSX: {}},
                                                     "description": "CSV or XLSX file"}})
    def export(db: DB, actor: CurrentActor, format: Literal["csv", "xlsx"] = "csv",
               province: Province = ""):
        rows, _ = registry.list_rows(db, actor, table, province=province, limit=10**9)
        frame = pd.DataFrame(rows, columns=registry.schema_columns(table) + ["pk"])[registry.schema_columns(table)]
        data = export_bytes(frame, table, format)
        media = _XLSX if format == "xlsx" else "text/csv; charset=utf-8"
        return Response(data, media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="{table}.{format}"'})

    @router.get(f"/{table}/{{pk}}", response_model=Out, tags=[tag], name=f"get_{table}",
                summary=f"One {table} row / 查看", responses={**COMMON_RESPONSES, **NOT_FOUND})
    def get_row(db: DB, actor: CurrentActor, pk: Pk, response: Response):
        return tagged(response, registry.get_row(db, actor, table, pk))

    @router.put(f"/{table}/{{pk}}", response_model=Out, tags=[tag], name=f"replace_{table}",
                summary=f"Replace a {table} row / 修改",
                responses={**COMMON_RESPONSES, **NOT_FOUND, **CONFLICT, **PRECONDITION})
    def replace(db: DB, actor: CurrentActor, pk: Pk, body: Annotated[In, Body()], response: Response,  # type: ignore[valid-type]
                if_match_: IfMatch = ""):
        registry.apply(db, actor, [Change(table, "update", body.model_dump(), pk=pk, source="API",
                                          version=if_match(if_match_), require_version=True)])
        db.commit()
        return tagged(response, registry.get_row(db, actor, table, pk))

    @router.delete(f"/{table}/{{pk}}", status_code=204, tags=[tag], name=f"delete_{table}",
                   summary=f"Delete a {table} row / 删除",
                   responses={**COMMON_RESPONSES, **NOT_FOUND, **CONFLICT, **PRECONDITION})
    def delete(db: DB, actor: CurrentActor, pk: Pk, if_match_: IfMatch = ""):
        registry.apply(db, actor, [Change(table, "delete", pk=pk, source="API", version=if_match(if_match_),
                                          require_version=True)])
        db.commit()
        return Response(status_code=204)


for _table in REGISTRY_TABLES:
    _resource(_table)
