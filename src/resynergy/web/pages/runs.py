"""Scenario and run pages: snapshot, submit, watch progress, results, publish, compare."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from resynergy.services import access, plans, runs, scenarios
from resynergy.services.registry import Rejected
from resynergy.states import RunState
from resynergy.web import i18n
from resynergy.web.api.runs import RunOptions
from resynergy.web.deps import DB, CurrentActor, platform
from resynergy.web.pages.templates import lang_of, render

router = APIRouter()
RUN_FIGURES = ("map", "sankey", "attainment", "trajectory", "costs", "co2")


def _index(request, db, actor, msg="", issues=None, status=200):
    snaps, _ = scenarios.listing(db, actor, limit=50)
    items, _ = runs.listing(db, actor, limit=50)
    # the run form checks the years against the chosen scenario before it is sent (the newest few)
    years = {s.id: scenarios.years(db, s) for s in snaps[:10]}
    lang = lang_of(request)
    labels = {p: runs.scope_label(db, p) for p in {r.scenario.province for r in items}}
    return render(request, actor, "runs.html", status=status, scenarios=snaps, runs=items, msg=msg, years=years,
                  run_params={r.id: parameters(r.options, lang) for r in items},
                  scope_names={r.id: labels[r.scenario.province] for r in items},
                  issues=issues or [], can_edit=actor.role in access.EDITORS,
                  succeeded=[r for r in items if r.state == RunState.SUCCEEDED])


@router.get("/runs")
def index(request: Request, db: DB, actor: CurrentActor, msg: str = ""):
    access.require(actor, access.STAFF, "runs")
    return _index(request, db, actor, msg)


@router.post("/scenarios")
def snapshot(request: Request, db: DB, actor: CurrentActor, name: Annotated[str, Form(min_length=1, max_length=128)],
             description: Annotated[str, Form(max_length=2000)] = ""):
    try:
        snap, created = scenarios.create(db, actor, name.strip(), description)
    except Rejected as err:
        return _index(request, db, actor, issues=err.issues, status=422)
    return RedirectResponse(f"/runs?msg={'snapshot_created' if created else 'snapshot_unchanged'}&scenario={snap.id}",
                            status_code=303)


def _years(text: str) -> list[int] | None:
    years = [int(y) for y in text.replace("，", ",").split(",") if y.strip()]
    return years or None


@router.post("/runs")
def submit(request: Request, db: DB, actor: CurrentActor, scenario_id: Annotated[int, Form(ge=1)],
           objective: Annotated[str, Form()] = "cost", years: Annotated[str, Form(pattern=r"^[\d,， ]*$")] = "",
           carbon_price: Annotated[str, Form(pattern=r"^(\d+(\.\d*)?)?$")] = "",
           time_limit_s: Annotated[float, Form(gt=0, le=3600)] = 60.0, title: Annotated[str, Form(max_length=128)] = "",
           from_actuals: Annotated[bool, Form()] = False,
           actuals_through: Annotated[str, Form(pattern=r"^(\d{4})?$")] = ""):
    try:
        options = RunOptions.model_validate({
            "objective": objective, "years": _years(years), "time_limit_s": time_limit_s,
            "policies": {"carbon_price": float(carbon_price)} if carbon_price else {},
            "from_actuals": from_actuals, "actuals_through": int(actuals_through) if actuals_through else None},
            strict=False)
    except ValidationError as err:
        raise RequestValidationError(err.errors()) from None
    try:
        run = runs.submit(db, actor, scenario_id, options.model_dump(), title, settings=platform(request).settings)
    except Rejected as err:  # options that do not fit the scenario, or a full queue
        return _index(request, db, actor, issues=err.issues, status=err.status)
    if platform(request).supervisor is not None:
        platform(request).supervisor.wake()
    return RedirectResponse(f"/runs/{run.id}", status_code=303)


@router.get("/runs/compare")
def compare(request: Request, db: DB, actor: CurrentActor, a: Annotated[int, Query(ge=1)],
            b: Annotated[int, Query(ge=1)]):
    ra, rb = runs.get(db, actor, a), runs.get(db, actor, b)
    if ra.state != RunState.SUCCEEDED or rb.state != RunState.SUCCEEDED:
        return _index(request, db, actor, msg="nothing_to_compare", status=409)
    lang = lang_of(request)
    cmp = plans.compare(runs.result(db, ra, plans.OVERVIEW).data, runs.result(db, rb, plans.OVERVIEW).data, lang)
    sections = [(("status", "total", "cost", "co2"), i18n.t("totals", lang)),
                (("indicator",), i18n.t("indicators", lang)), (("attainment",), i18n.t("targets", lang))]
    return render(request, actor, "compare.html", a=ra, b=rb, cmp=cmp, sections=sections,
                  params={"A": parameters(ra.options, lang), "B": parameters(rb.options, lang)},
                  scopes={"A": runs.scope_label(db, ra.scenario.province),
                          "B": runs.scope_label(db, rb.scenario.province)})


def parameters(options: dict, lang: str) -> str:
    """A run's options as a planner reads them: objective, years, policy values, time limit."""
    words = []
    objective = options.get("objective", "cost")
    words.append(f"{i18n.t('objective', lang)}：{i18n.t('obj_' + objective, lang)}" if lang == "zh"
                 else f"{i18n.t('objective', lang)}: {i18n.t('obj_' + objective, lang)}")
    years = options.get("years") or []
    words.append(("、".join(map(str, years)) + " 年") if lang == "zh" and years else
                 (", ".join(map(str, years)) if years else i18n.t("all_years", lang)))
    for key, value in (options.get("policies") or {}).items():
        words.append(f"{i18n.t('policy_' + key, lang)} {value:g}")
    if options.get("time_limit_s") is not None:
        words.append(f"{i18n.t('time_limit', lang)} {float(options['time_limit_s']):g}")
    stored = options.get("actuals") if options.get("from_actuals") else None
    if stored:  # a re-plan from actuals: which years are fixed, on how many records
        n = len(stored.get("records", []))
        words.append(f"{i18n.t('actuals_through', lang)} {stored['through']}（{n} 条联单记录）" if lang == "zh"
                     else f"{i18n.t('actuals_through', lang)} {stored['through']} ({n} records)")
    return " · ".join(words)


@router.get("/runs/{run_id}")
def detail(request: Request, db: DB, actor: CurrentActor, run_id: int):
    run = runs.get(db, actor, run_id)
    summary = runs.result(db, run, plans.OVERVIEW).data if run.state == RunState.SUCCEEDED else None
    figures = [(n, f"/api/v1/runs/{run.id}/figures/{n}") for n in RUN_FIGURES] if summary else []
    # a province-scoped planner reads the published region-wide plan, but may not change it
    in_scope = access.can_read_scope(actor, run.scenario.province)
    # a province-scoped reader sees its own province's targets first (the provincial breakdown)
    mine = plans.province_view(summary, actor.province) if summary and actor.province else None
    lang = lang_of(request)
    return render(request, actor, "run.html", run=run, summary=summary, figures=figures, mine=mine,
                  province_name=runs.scope_label(db, actor.province) if actor.province else None,
                  public_figures=[i18n.t(n, lang) for n in plans.PUBLIC_FIGURES],
                  params=parameters(run.options, lang_of(request)),
                  can_edit=actor.role in access.EDITORS and in_scope, in_scope=in_scope,
                  scope_name=runs.scope_label(db, run.scenario.province))


@router.post("/runs/{run_id}/cancel")
def cancel(request: Request, db: DB, actor: CurrentActor, run_id: int):
    try:
        runs.cancel(db, actor, run_id)
    except Rejected:
        pass  # finished meanwhile: the page shows the final state
    if platform(request).supervisor is not None:
        platform(request).supervisor.wake()
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@router.post("/runs/{run_id}/publish")
def publish(db: DB, actor: CurrentActor, run_id: int, published: Annotated[str, Form()] = "true"):
    runs.publish(db, actor, run_id, published == "true")
    return RedirectResponse(f"/runs/{run_id}", status_code=303)
