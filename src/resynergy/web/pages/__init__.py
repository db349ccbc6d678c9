"""Server-rendered pages (Jinja2), zh-CN first with an English switch."""

from __future__ import annotations

from fastapi import APIRouter, Request

from resynergy.services.access import ANONYMOUS
from resynergy.web.errors import ApiError
from resynergy.web.pages import admin, auth, dashboard, registry, runs
from resynergy.web.pages import batteries as battery_pages
from resynergy.web.pages import evaluation as evaluation_pages
from resynergy.web.pages import exchange as exchange_pages
from resynergy.web.pages import manifests as manifest_pages
from resynergy.web.pages import monitor as monitor_page
from resynergy.web.pages.templates import render

router = APIRouter(include_in_schema=False)
for _module in (auth, dashboard, registry, runs, admin,
                monitor_page, exchange_pages, manifest_pages, battery_pages,
                evaluation_pages):
    router.include_router(_module.router)


def render_error(request: Request, err: ApiError):
    """The HTML page for an error on a page route."""
    actor = getattr(request.state, "actor", None) or ANONYMOUS
    return render(request, actor, "error.html", status=err.status, error=err)
