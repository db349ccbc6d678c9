"""Server-rendered pages (Jinja2), zh-CN first with an English switch."""

from __future__ import annotations

from fastapi import APIRouter, Request

from resynergy.services.access import ANONYMOUS
from resynergy.web.errors import ApiError
from resynergy.web.pages import admin, auth, dashboard, registry, runs
from resynergy.web.pages import batteries as battery_pages
from resynergy.web.pages.templates import render

router = APIRouter(include_in_schema=False)
for _module in (auth, dashboard, registry, runs, admin):
    router.include_router(_module.router)
router.include_router(battery_pages.router)  # issue 14


def render_error(request: Request, err: ApiError):
    """The HTML page for an error on a page route."""
    actor = getattr(request.state, "actor", None) or ANONYMOUS
    return render(request, actor, "error.html", status=err.status, error=err)
