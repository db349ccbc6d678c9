"""Jinja2 environment of the pages and the ``render`` helper that gives every template the
language, the words, the signed-in actor and the CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from importlib.resources import files
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, Undefined, select_autoescape
from markupsafe import Markup

from resynergy import __version__
from resynergy.report import labels
from resynergy.report.findings import indicator_name
from resynergy.report.html import inline_json
from resynergy.schema import outputs
from resynergy.schema.numbers import quantity
from resynergy.services.access import Actor
from resynergy.states import ACTIVE_IMPORT, ACTIVE_RUN, ImportState, RunState
from resynergy.web import i18n


def _number(value: Any, digits: int = 0) -> str:
    if value is None or value == "" or isinstance(value, Undefined):
        return ""
    try:
        return f"{float(value):,.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


CST = timezone(timedelta(hours=8), "CST")  # the users' clock: China Standard Time


def _cst(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) time as users read it, in China Standard Time."""
    if not isinstance(value, datetime):
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(CST).strftime(fmt)


def _json_attr(value: Any) -> Markup:
    return Markup(inline_json(value))


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(files("resynergy.web") / "templates")),
                      autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["number"] = _number
    env.filters["tojson_safe"] = _json_attr
    env.filters["cst"] = _cst
    env.globals.update(version=__version__, TABLES=i18n.TABLES, ROLES=i18n.ROLES, STATES=i18n.STATES,
                       RunState=RunState, ImportState=ImportState, ACTIVE_RUN=ACTIVE_RUN,
                       ACTIVE_IMPORT=ACTIVE_IMPORT)
    return env


def lang_of(request: Request) -> str:
    lang = request.cookies.get(i18n.LANG_COOKIE, i18n.DEFAULT_LANG)
    return lang if lang in i18n.LANGS else i18n.DEFAULT_LANG


def nav(actor: Actor) -> list[tuple[str, str]]:
    """(path, word key) of the menu entries this actor may use."""
    items = [("/", "dashboard")]
    if actor.signed_in and actor.role != "public":
        items.append(("/registry", "registry"))
    if actor.role in ("admin", "planner", "enterprise"):
        items.append(("/import", "import"))
    if actor.role in ("admin", "planner", "regulator", "evaluator"):
        items.append(("/runs", "runs"))
    if actor.role == "enterprise":
        items.append(("/enterprise", "enterprise"))
    if actor.role == "admin":
        items += [("/admin/users", "admin"), ("/admin/audit", "audit")]
    if actor.role in ("admin", "planner", "regulator", "evaluator"):
        items.append(("/monitor", "monitor"))
    if actor.role in ("enterprise", "planner", "regulator"):  # #12 exchange
        items.append(("/exchange", "exchange"))
    elif actor.role == "public":  # signed in as the public, or not signed in: the anonymised totals
        items.append(("/exchange/summary", "exchange_summary"))
    # #12 electronic manifests: the parties' manifests, the regulators' alerts
    if actor.signed_in and actor.role != "public":
        items.append(("/manifests", "manifests"))
    if actor.role in ("admin", "regulator", "planner"):
        items.append(("/alerts", "alerts"))
    # retired batteries (issue 14): readers get the unit, overdue, triage and compliance pages;
    # regulators land on the overdue list; everyone else sees the public forecast
    if actor.signed_in and actor.role in ("admin", "planner", "evaluator", "enterprise"):
        items.append(("/batteries", "batteries"))
    elif actor.signed_in and actor.role == "regulator":
        items.append(("/batteries/overdue", "batteries"))
    else:
        items.append(("/batteries/forecast", "battery_forecast"))
    # #13 evaluation: firms, evaluators and departments work on /evaluations; the public (and
    # anyone not signed in) sees the published list
    if actor.signed_in and actor.role != "public":
        items.append(("/evaluations", "evaluations"))
    else:
        items.append(("/evaluations/published", "evaluations_published"))
    return items


def render(request: Request, actor: Actor, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    if context.get("msg") not in i18n.MESSAGES:  # flash messages are word keys, never echoed text
        context["msg"] = ""
    session = getattr(request.state, "session", None)
    env: Environment = request.app.state.platform.templates
    html = env.get_template(name).render(
        request=request, actor=actor, lang=lang, t=lambda key: i18n.t(key, lang),
        pick=lambda pair: i18n.pick(pair, lang), label=lambda table, col: i18n.column_label(table, col, lang),
        column=lambda name: outputs.label(name, lang),  # a plan result column's header
        # numbers, statuses and stages as the report writes them (one formatter: schema.numbers)
        quantity=lambda value, unit: quantity(None if isinstance(value, Undefined) else value, unit, lang),
        status_word=lambda s: labels.status(s, lang), stage_word=lambda s: i18n.stage(s, lang),
        indicator_word=lambda iid: indicator_name(iid, lang), choice_word=lambda col, v: i18n.choice(col, v, lang),
        csrf=session.csrf_token if session is not None else "", nav=nav(actor), path=request.url.path,
        **context)
    return HTMLResponse(html, status_code=status)
