"""Registry pages: browse and search each table, edit a record, bulk import, the enterprise's own
records. Forms send text; the scenario validators type and check it, exactly as for imports."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from resynergy import schema
from resynergy.scenario.template import write_template
from resynergy.schema import REGISTRY_TABLES
from resynergy.services import access, imports, registry
from resynergy.services.enterprise import overview
from resynergy.services.registry import EXTRA_COLUMNS, VERSION, Change, Rejected
from resynergy.web.api.imports import read_capped
from resynergy.web.deps import DB, CurrentActor, platform
from resynergy.web.pages.templates import render

router = APIRouter()
PAGE = 25
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _table(table: str) -> str:
    if table not in REGISTRY_TABLES:
        raise HTTPException(404)
    return table


def _page_actor(actor, what: str) -> None:
    if not actor.signed_in or actor.role == "public":
        raise access.Denied(actor, what)


@router.get("/registry")
def index(request: Request, db: DB, actor: CurrentActor, msg: str = ""):
    _page_actor(actor, "registry")
    return render(request, actor, "registry.html", counts=registry.counts(db, actor), msg=msg)


@router.get("/registry/{table}")
def browse(request: Request, db: DB, actor: CurrentActor, table: str,
           q: Annotated[str, Query(max_length=100)] = "", province: Annotated[str, Query(pattern=r"^(\d{6})?$")] = "",
           material: Annotated[str, Query(max_length=64)] = "", page: Annotated[int, Query(ge=1, le=10**6)] = 1,
           year: Annotated[str, Query(pattern=r"^(\d{4})?$")] = "", sort: Annotated[str, Query(max_length=64)] = "",
           desc: Annotated[bool, Query()] = False, msg: str = ""):
    _page_actor(actor, "registry")
    table = _table(table)
    columns = registry.schema_columns(table)
    sort = sort if sort in columns else ""
    rows, total = registry.list_rows(db, actor, table, q=q, province=province, material=material,
                                     year=int(year) if year else None, sort=sort, descending=desc,
                                     limit=PAGE, offset=(page - 1) * PAGE)
    # what the codes on this page stand for: site, material, region, organisation, process names
    refs = {c.name: registry.ref_names(db, actor, c.ref, {r[c.name] for r in rows})
            for c in schema.columns(table) if c.ref}
    query = {"q": q, "province": province, "material": material, "year": year, "sort": sort,
             "desc": "true" if desc else ""}
    return render(request, actor, "registry_table.html", table=table, rows=rows, total=total, columns=columns,
                  q=q, province=province, material=material, page=page, pages=max(1, -(-total // PAGE)),
                  year=year, sort=sort, desc=desc, refs=refs, query={k: v for k, v in query.items() if v},
                  materials=registry.ref_names(db, actor, "materials.code") if "material" in columns else {},
                  has_year="year" in columns,
                  can_write=access.can_write_registry(actor, table, "update"),
                  can_create=access.can_write_registry(actor, table, "create"),
                  has_material="material" in columns, msg=msg)


def _fields(table: str) -> list[dict]:
    out = []
    for col in schema.columns(table):
        kind = "select" if col.choices or col.dtype == "bool" else "number" if col.dtype in ("float", "int") else "text"
        choices = list(col.choices) if col.choices else (["true", "false"] if col.dtype == "bool" else [])
        if choices and not col.required:
            choices = ["", *choices]
        out.append({"name": col.name, "kind": kind, "choices": choices, "required": col.required and col.default == "",
                    "unit": col.unit, "zh": col.label_zh, "en": col.label_en, "key": col.key,
                    "step": "1" if col.dtype == "int" else "any"})
    for extra in EXTRA_COLUMNS.get(table, ()):
        out.append({"name": extra, "kind": "text", "choices": [], "required": False, "unit": "", "key": False,
                    "zh": {"contact_name": "联系人", "contact_phone": "联系电话", "contact_email": "电子邮箱"}[extra],
                    "en": extra.replace("_", " ").capitalize(), "step": ""})
    return out


def _shown(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _defaults(table: str) -> dict[str, str]:
    return {c.name: _shown(c.default_value()) for c in schema.columns(table)}


def _form_page(request, actor, table, values, pk=None, issues=None, status=200, msg="", version=None, db=None):
    """The edit form: references offered as lists of names (the ones the actor may read), each
    problem shown at its field as well as in the list on top."""
    if issues and db is not None:
        db.rollback()  # a refused change wrote nothing; the names below are read afresh
    fields = _fields(table)
    refs = {c.name: c.ref for c in schema.columns(table) if c.ref}
    for f in fields:
        f["options"] = registry.ref_names(db, actor, refs[f["name"]]) if db is not None and f["name"] in refs else {}
    at_field: dict[str, list[dict]] = {}
    for i in issues or []:
        if i.get("column"):
            at_field.setdefault(i["column"], []).append(i)
    return render(request, actor, "registry_form.html", status=status, table=table, fields=fields,
                  values=values, pk=pk, issues=issues or [], msg=msg, version=version, at_field=at_field,
                  can_delete=pk is not None and access.can_write_registry(actor, table, "delete"))


@router.get("/registry/{table}/new")
def new_form(request: Request, db: DB, actor: CurrentActor, table: str):
    table = _table(table)
    if not access.can_write_registry(actor, table, "create"):
        raise access.Denied(actor, f"create {table}")
    values = _defaults(table)
    if actor.role == "enterprise" and table == "sites":
        values["org_uscc"] = actor.org_uscc
    return _form_page(request, actor, table, values, db=db)


async def _submitted(request: Request, table: str) -> dict[str, str]:
    form = await request.form()
    names = [f["name"] for f in _fields(table)]
    return {n: str(form.get(n, "")) for n in names}


@router.post("/registry/{table}/new")
async def create(request: Request, db: DB, actor: CurrentActor, table: str):
    table = _table(table)
    values = await _submitted(request, table)
    try:
        done = await run_in_threadpool(registry.apply, db, actor, [Change(table, "create", values, source="表单 form")])
    except Rejected as err:
        return _form_page(request, actor, table, values, issues=err.issues, status=err.status, db=db)
    db.commit()
    return RedirectResponse(f"/registry/{table}/{done.pks[0]}?msg=saved", status_code=303)


@router.get("/registry/{table}/{pk}")
def edit_form(request: Request, db: DB, actor: CurrentActor, table: str, pk: int, msg: str = ""):
    _page_actor(actor, "registry")
    table = _table(table)
    row = registry.get_row(db, actor, table, pk)
    values = {f["name"]: _shown(row.get(f["name"])) for f in _fields(table)}
    return _form_page(request, actor, table, values, pk=pk, msg=msg, version=row[VERSION], db=db)


async def _version(request: Request) -> int | None:
    """The row version the edit form was drawn with (its hidden field)."""
    value = str((await request.form()).get(VERSION, "")).strip()
    return int(value) if value.isdigit() and len(value) <= 12 else None


def _status(err: Rejected) -> int:
    """Pages answer a stale form (412/428 on the API) as a conflict."""
    return 409 if err.status in (412, 428) else err.status


@router.post("/registry/{table}/{pk}")
async def update(request: Request, db: DB, actor: CurrentActor, table: str, pk: int):
    table = _table(table)
    values = await _submitted(request, table)
    version = await _version(request)
    change = Change(table, "update", values, pk=pk, source="表单 form", version=version, require_version=True)
    try:
        await run_in_threadpool(registry.apply, db, actor, [change])
    except Rejected as err:
        return _form_page(request, actor, table, values, pk=pk, issues=err.issues, status=_status(err),
                          version=version, db=db)
    db.commit()
    return RedirectResponse(f"/registry/{table}?msg=saved", status_code=303)


@router.post("/registry/{table}/{pk}/delete")
async def delete(request: Request, db: DB, actor: CurrentActor, table: str, pk: int):
    table = _table(table)
    version = await _version(request)
    try:
        await run_in_threadpool(registry.apply, db, actor, [Change(table, "delete", pk=pk, version=version,
                                                                   require_version=True)])
    except Rejected as err:
        db.rollback()
        row = await run_in_threadpool(registry.get_row, db, actor, table, pk)
        values = {f["name"]: _shown(row.get(f["name"])) for f in _fields(table)}
        return _form_page(request, actor, table, values, pk=pk, issues=err.issues, status=_status(err),
                          version=row[VERSION], db=db)
    db.commit()
    return RedirectResponse(f"/registry/{table}?msg=deleted", status_code=303)


# ---- import -------------------------------------------------------------------------------
def _can_import(actor) -> None:
    if not (actor.signed_in and actor.role in ("admin", "planner", "enterprise")):
        raise access.Denied(actor, "import")


@router.get("/import")
def import_page(request: Request, db: DB, actor: CurrentActor):
    _can_import(actor)
    history, _ = imports.listing(db, actor, limit=10)
    return render(request, actor, "import.html", result=None, history=history, tables=REGISTRY_TABLES)


@router.post("/import")
async def import_upload(request: Request, db: DB, actor: CurrentActor, file: Annotated[UploadFile, File()],
                        table: Annotated[str, Form(max_length=32)] = ""):
    _can_import(actor)
    data = await read_capped(request, file)
    outcome = await run_in_threadpool(imports.import_file, db, actor, data, file.filename or "upload", table,
                                      platform(request).settings)
    history, _ = imports.listing(db, actor, limit=10)
    return render(request, actor, "import.html", status=200 if outcome.record.accepted else 422,
                  result=outcome.record, issues=outcome.issues, history=history, tables=REGISTRY_TABLES)


@router.get("/import/template.xlsx")
def template(actor: CurrentActor):
    _can_import(actor)
    with tempfile.TemporaryDirectory() as tmp:
        # the registry's tables, then the actual flows (imported on the monitor page)
        data = write_template(Path(tmp) / "template.xlsx", (*REGISTRY_TABLES, *schema.RECORD_TABLES)).read_bytes()
    return Response(data, media_type=_XLSX, headers={"Content-Disposition": 'attachment; filename="registry-template.xlsx"'})


# ---- enterprise ----------------------------------------------------------------------------
@router.get("/enterprise")
def enterprise(request: Request, db: DB, actor: CurrentActor):
    access.require(actor, ("enterprise",), "enterprise page")
    return render(request, actor, "enterprise.html", **overview(db, actor))
