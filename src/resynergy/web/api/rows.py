"""Pydantic models of registry rows, generated from the scenario schema (one definition of the
columns), strict and closed (``extra="forbid"``), with an OpenAPI example per table."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from resynergy import schema
from resynergy.schema import REGISTRY_TABLES
from resynergy.schema.cells import CONTROL_CHARS
from resynergy.services.registry import EXTRA_COLUMNS, VERSION

_PY = {"str": str, "float": float, "int": int, "bool": bool}
# Text may hold tabs and line breaks but no other control characters (they break spreadsheets).
NO_CONTROL = f"^[^{CONTROL_CHARS}]*$"
# Example values by column name, for the OpenAPI documentation.
_EXAMPLE = {
    "code": "130800", "name_zh": "承德市", "name_en": "Chengde", "level": "prefecture", "parent": "130000",
    "lat": 40.95, "lon": 117.96, "uscc": "91130800MA0A000008", "region": "130800",
    "id": "cd-tailings-01", "org_uscc": "91130800MA0A000008", "roles": "generator",
    "designation": "base:chengde", "site": "cd-tailings-01", "material": "tailings", "year": 2022,
    "generation_t": 1_200_000.0, "stock_t": 5_000_000.0, "quantity_t": 300_000.0, "value": 60.0,
    "capacity_t": 500_000.0, "process": "tailings_aggregate", "handling_cost": 8.0,
    "from_site": "cd-tailings-01", "to_site": "bj-demand-01", "mode": "rail", "distance_km": 210.0,
    "from_region": "130800", "to_region": "110000", "min_rail_share": 0.5, "indicator": "isw_utilized",
    "unit": "t", "kind": "report", "key": "carbon_price", "source": "示例 example",
    "contact_name": "张三", "contact_phone": "0314-0000000", "contact_email": "contact@example.cn",
}


def _field(col: schema.Column) -> tuple[Any, Any]:
    typ: Any = _PY[col.dtype]
    if col.choices:
        typ = Literal[tuple(col.choices) if col.required else (*col.choices, "")]  # type: ignore[misc]
    kw: dict[str, Any] = {"description": f"{col.label_zh} / {col.label_en}"
                          + (f" [{col.unit}]" if col.unit else "") + f". {col.description}"}
    if col.dtype in ("float", "int"):
        if col.min is not None:
            kw["ge"] = col.min
        if col.max is not None:
            kw["le"] = col.max
    if col.dtype == "str" and not col.choices:
        kw["max_length"] = 2000
        kw["pattern"] = NO_CONTROL
    if col.required and col.default == "":
        return typ, Field(..., **kw)
    default = col.default_value()
    if default is None:
        return typ | None, Field(None, **kw)
    return typ, Field(default, **kw)


def _example(table: str) -> dict[str, Any]:
    out = {}
    for col in schema.columns(table):
        if col.required and col.default == "":
            value = _EXAMPLE.get(col.name)
            if value is None:
                value = col.choices[0] if col.choices else {"str": "x", "float": 1.0, "int": 1, "bool": False}[col.dtype]
            out[col.name] = value
    if table == "supplies":
        out["material"] = "tailings"
    if table == "demands":
        out["material"] = "coarse_aggregate"
    return out


_STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


@cache
def row_in(table: str) -> type[BaseModel]:
    """Body of POST and PUT for ``table``."""
    fields = {c.name: _field(c) for c in schema.columns(table)}
    for extra in EXTRA_COLUMNS.get(table, ()):
        fields[extra] = (str, Field("", max_length=256, pattern=NO_CONTROL,
                                    description="联系信息（保密）/ contact (confidential)"))
    config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False,  # JSON Infinity/NaN → 422
                        json_schema_extra={"examples": [_example(table)]})
    return create_model(f"{table.title()}In", __config__=config, **fields)  # type: ignore[call-overload]


@cache
def row_out(table: str) -> type[BaseModel]:
    """A stored row: the schema columns plus ``pk`` (its id in paths), ``row_version`` (also its
    ETag) and ``updated_at``."""
    fields: dict[str, Any] = {"pk": (int, Field(..., description="记录编号 / row id"))}
    for col in schema.columns(table):
        typ = _PY[col.dtype]
        fields[col.name] = (typ | None, None) if col.dtype in ("float", "int") else (typ, ...)
    for extra in EXTRA_COLUMNS.get(table, ()):
        fields[extra] = (str, "")
    fields[VERSION] = (int, Field(..., description="记录版本（修改、删除时以 If-Match 回传）/ row version "
                                                   "(send it back as If-Match to change or delete the row)"))
    fields["updated_at"] = (datetime, ...)
    config = ConfigDict(json_schema_extra={"examples": [{"pk": 1, **_example(table), VERSION: 1,
                                                          "updated_at": "2026-01-01T00:00:00Z"}]})
    return create_model(f"{table.title()}Row", __config__=config, **fields)  # type: ignore[call-overload]


@cache
def page_of(table: str) -> type[BaseModel]:
    return create_model(f"{table.title()}Page", items=(list[row_out(table)], ...), total=(int, ...),  # type: ignore[valid-type]
                        limit=(int, ...), offset=(int, ...))


__all__ = ["REGISTRY_TABLES", "page_of", "row_in", "row_out"]
