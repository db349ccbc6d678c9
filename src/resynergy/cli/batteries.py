"""``resynergy batteries …``: traction-battery codes, event files, triage and the retirement
forecast (issue 14). Each command calls one function of :mod:`resynergy.batteries`; imports are
made where used, so ``--help`` loads no numerical package."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from resynergy.cli import console
from resynergy.cli.console import Lang, say
from resynergy.cli.data import print_issues

app = typer.Typer(rich_markup_mode=None, no_args_is_help=True,
                  help="Retired traction batteries: codes, events, triage, forecast. 退役动力电池：编码、溯源事件、分级、退役预测。")

LangOption = Annotated[Lang, typer.Option("--lang", help="zh | en")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout only")]


def _print(line: str) -> None:
    console.out.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command("code")
def code(value: Annotated[str, typer.Argument(help="A GB/T 34014 code (24 characters, or 19 for a re-coded cascade product)")],
         as_json: JsonOption = False, lang: LangOption = Lang.zh) -> None:
    """Parse a battery code: its fields, or every problem with its position. 解析电池编码。"""
    from resynergy.batteries import codes

    parsed, issues = codes.check(value)
    if as_json:
        doc = parsed.as_dict(lang=lang.value) if parsed else {
            "code": value, "valid": False,
            "issues": [{"code": i.code, "field": i.column, "value": i.value, "position": i.params.get("position"),
                        "message": i.message(lang.value)} for i in issues]}
        print(json.dumps(doc, ensure_ascii=False, indent=1))
        raise typer.Exit(0 if parsed else 1)
    if parsed is None:
        from resynergy.batteries.issues import ScenarioError

        print_issues(ScenarioError(list(issues)), lang)
        raise typer.Exit(1)
    rules = codes.default_rules()
    layout = rules.layout(len(parsed.raw))
    d = parsed.as_dict(rules, lang.value)
    _print(say(lang, f"有效编码 {parsed.raw}（{parsed.scheme}，编码规则标注 {parsed.tag}）",
               f"Valid code {parsed.raw} ({parsed.scheme}, layout tag {parsed.tag})"))
    for f in layout.fields if layout else ():
        label = f.zh if lang is Lang.zh else f.en
        _print(f"  {f.positions():>5}  {label}: {parsed.fields[f.name]}")
    _print(say(lang, f"  产品类型：{d['product_type']}；电池类型：{d['battery_type']}（{d['battery_type_tag']}）；生产日期：{d['production_date']}",
               f"  product type: {d['product_type']}; battery type: {d['battery_type']} ({d['battery_type_tag']}); produced: {d['production_date']}"))
    if parsed.recoded:
        _print(say(lang, "  梯次利用重新编码：原编码应在溯源记录中保留并关联", "  re-coded cascade product: keep and link the original code"))


@app.command("events")
def events_cmd(file: Annotated[Path, typer.Argument(help="Event file (.csv or .xlsx, sheet battery_events)")],
               as_of: Annotated[str | None, typer.Option("--as-of", help="Date the deadlines are checked on (default today), YYYY-MM-DD")] = None,
               unit: Annotated[str | None, typer.Option("--unit", help="Show one battery: its pack → module → cell tree and its history")] = None,
               as_json: JsonOption = False, lang: LangOption = Lang.zh) -> None:
    """Check a bulk event file: codes, order rules, upload deadlines (working days), overdue list,
    firm compliance. Nothing is accepted when any row is wrong. 检查溯源事件文件。"""
    from resynergy.batteries import events, triage
    from resynergy.batteries.issues import ScenarioError

    day = _date(as_of, lang)
    try:
        frame = events.read_events(file, today=day)
    except ScenarioError as exc:
        print_issues(exc, lang)
        raise typer.Exit(1) from None
    d = events.with_deadlines(frame, day)
    late = events.overdue(d, day)
    counts = d["status"].value_counts().to_dict()
    cascade, recovery = triage.compliance_batches(d)
    comp = {"cascade": triage.cascade_compliance(cascade), "recovery": triage.recovery_compliance(recovery)}
    if unit:
        _unit(d, unit, as_json, lang)
        return
    if as_json:
        cols = ["row", "unit_code", "event", "actor", "actor_role", "when", "deadline", "deadline_estimated", "working_days",
                "uploaded_on", "status", "days_late", "rules"]
        print(json.dumps({"file": str(file), "as_of": day.isoformat(), "events": len(d), "units": int(d["unit_code"].nunique()),
                          "status": counts, "calendar": f"chinesecalendar {events.calendar_version()}",
                          "records": json.loads(d[cols].to_json(orient="records", date_format="iso", force_ascii=False)),
                          "overdue": json.loads(late[cols].to_json(orient="records", date_format="iso", force_ascii=False)),
                          "compliance": {k: json.loads(v.to_json(orient="records", force_ascii=False)) for k, v in comp.items()}},
                         ensure_ascii=False, indent=1))
        return
    _print(say(lang, f"有效：{len(d)} 条事件，{d['unit_code'].nunique()} 个电池；截至 {day}（工作日历 chinesecalendar {events.calendar_version()}）",
               f"Valid: {len(d)} events of {d['unit_code'].nunique()} units; as of {day} (calendar chinesecalendar {events.calendar_version()})"))
    _print("  " + "；".join(f"{_status(k, lang)} {v}" for k, v in counts.items()))
    _compliance(comp, lang)
    if late.empty:
        _print(say(lang, "没有逾期事件", "No overdue events"))
        return
    _print(say(lang, "逾期清单（供监管部门）：", "Overdue list (for regulators):"))
    for r in late.itertuples(index=False):
        _print(say(lang,
                   f"  第 {r.row} 行 {r.unit_code} {events.event_types()[r.event].zh}（{r.actor}）：{r.working_days} 个工作日内应于 {r.deadline}{_estimate(r, lang)} 前上传，"
                   + (f"实际 {r.uploaded_on} 上传，晚 {r.days_late} 天" if r.status == "late" else f"尚未上传，已逾期 {r.days_late} 天"),
                   f"  row {r.row} {r.unit_code} {r.event} ({r.actor}): due by {r.deadline} ({r.working_days} working days){_estimate(r, lang)}; "
                   + (f"uploaded {r.uploaded_on}, {r.days_late} days late" if r.status == "late" else f"not uploaded, {r.days_late} days overdue")))


STATUS_WORDS = {"on_time": ("按时上传", "on time"), "late": ("逾期上传", "uploaded late"), "overdue": ("逾期未上传", "overdue"),
                "pending": ("期限未到", "not yet due"), "no_rule": ("无上传时限", "no upload deadline")}


def _estimate(r, lang: Lang) -> str:  # noqa: ANN001 - a row of with_deadlines
    """The estimate note of a deadline counted Monday–Friday beyond the working-day calendar ('' when exact)."""
    from resynergy.catalog import workdays

    if not r.deadline_estimated:
        return ""
    note = workdays.ESTIMATE_NOTE[0 if lang is Lang.zh else 1].format(year=r.deadline.year)
    return note if lang is Lang.zh else " " + note


def _status(key: str, lang: Lang) -> str:
    return STATUS_WORDS[key][0 if lang is Lang.zh else 1]


def _compliance(comp: dict, lang: Lang) -> None:
    """Firm compliance per year: cascade users' reuse rate and recyclers' element recoveries."""
    _print(say(lang, "企业规范条件（按年）：", "Firms against the norms (by year):"))
    for r in comp["cascade"].dropna(subset=["rate"]).itertuples(index=False):
        verdict = say(lang, "达标" if r.ok else "未达标", "meets" if r.ok else "below")
        _print(say(lang, f"  {r.firm} {r.period} 年梯次再利用率 {r.rate:.1%}（要求 ≥ {r.threshold:.0%}，{'征求意见稿' if r.status == 'draft' else '正式'}）：{verdict}",
                   f"  {r.firm} {r.period}: cascade reuse {r.rate:.1%} (norm ≥ {r.threshold:.0%}, {r.status}): {verdict}"))
    for r in comp["recovery"].dropna(subset=["rate"]).itertuples(index=False):
        if r.threshold != r.threshold:  # no norm for this element
            continue
        verdict = say(lang, "达标" if r.ok else "未达标", "meets" if r.ok else "below")
        _print(say(lang, f"  {r.firm} {r.period} 年 {r.element} 回收率 {r.rate:.1%}（要求 ≥ {r.threshold:.0%}）：{verdict}",
                   f"  {r.firm} {r.period}: {r.element} recovery {r.rate:.1%} (norm ≥ {r.threshold:.0%}): {verdict}"))


def _unit(d, code: str, as_json: bool, lang: Lang) -> None:  # noqa: ANN001 - a DataFrame (pandas imported lazily)
    """One battery: its tree (from parent codes) and its history with deadlines, re-codings included."""
    from resynergy.batteries import codes, events

    code = code.strip().upper()
    tree = codes.build_tree(events.links(d))
    recoded = events.recodings(d)
    hist = events.history_of(d, code, recoded)
    if hist.empty:
        console.err.print(say(lang, f"文件中没有电池 {code} 的事件", f"No events of {code} in the file"), markup=False)
        raise typer.Exit(1)
    related = [x.new for x in recoded if x.original == code] + [x.original for x in recoded if x.new == code]
    cols = ["row", "unit_code", "event", "actor", "actor_role", "place", "when", "deadline", "deadline_estimated", "uploaded_on",
            "status", "days_late"]
    if as_json:
        print(json.dumps({"unit": code, "ancestors": tree.ancestors(code), "descendants": tree.descendants(code),
                          "recoded": related,
                          "history": json.loads(hist[cols].to_json(orient="records", date_format="iso", force_ascii=False))},
                         ensure_ascii=False, indent=1))
        return
    _print(say(lang, f"电池 {code}", f"Battery {code}"))
    if tree.ancestors(code):
        _print(say(lang, "  上级：", "  part of: ") + " → ".join(tree.ancestors(code)))
    if tree.descendants(code):
        _print(say(lang, "  下级：", "  contains: ") + ", ".join(tree.descendants(code)))
    if related:
        _print(say(lang, "  梯次利用编码关联：", "  re-coded as / from: ") + ", ".join(related))
    types = events.event_types()
    for r in hist.itertuples(index=False):
        due = f"{r.deadline}{_estimate(r, lang)}" if r.deadline else "-"
        _print(f"  {str(r.when)[:16]}  {types[r.event].zh if lang is Lang.zh else r.event:<8} {r.unit_code}  {r.actor}（{r.place}）"
               f"  {say(lang, '期限', 'due')} {due}  {_status(r.status, lang)}")


@app.command("triage")
def triage_cmd(file: Annotated[Path, typer.Argument(help="Test records (.csv or .xlsx, sheet battery_tests)")],
               as_json: JsonOption = False, lang: LangOption = Lang.zh) -> None:
    """Decide reuse, repurpose (second life) or recycling for each tested battery, with the
    reason and the rules' sources. 电池分级：再利用、梯次利用或再生利用。"""
    from resynergy.batteries import triage
    from resynergy.batteries.issues import ScenarioError

    try:
        tests = triage.read_tests(file)
    except ScenarioError as exc:
        print_issues(exc, lang)
        raise typer.Exit(1) from None
    decisions = triage.triage(tests)
    if as_json:
        print(json.dumps([d.as_dict(lang.value) for d in decisions], ensure_ascii=False, indent=1))
        return
    apps = {a.application: (a.zh if lang is Lang.zh else a.en) for a in triage.default_rules().applications}
    for row, d in zip(tests["row"], decisions, strict=True):
        doc = d.as_dict(lang.value)
        uses = "、".join(apps[u] for u in d.uses) if lang is Lang.zh else ", ".join(apps[u] for u in d.uses)
        _print(say(lang, f"第 {row} 行 {d.unit_code}（{d.chemistry or '类型未知'}）→ {doc['outcome_text']}：{doc['reason']}"
                   + (f"；可用于：{uses}" if uses else ""),
                   f"row {row} {d.unit_code} ({d.chemistry or 'unknown'}) → {doc['outcome_text']}: {doc['reason']}"
                   + (f"; uses: {uses}" if uses else "")))
        for w in doc["warnings"]:
            _print(say(lang, f"    注意：{w}", f"    note: {w}"))
    counts = {o: sum(d.outcome == o for d in decisions) for o in triage.OUTCOMES}
    _print(say(lang, "合计：" + "；".join(f"{triage.OUTCOME_TEXT[o][0]} {n}" for o, n in counts.items())
               + "（阈值均为可配置的行业惯例，非法定标准，见 data/triage_rules.csv）",
               "Total: " + "; ".join(f"{o} {n}" for o, n in counts.items())
               + " (thresholds are configurable industry conventions, not legal rules: data/triage_rules.csv)"))


@app.command("forecast")
def forecast_cmd(to: Annotated[int, typer.Option("--to", help="Last year of the forecast")] = 2035,
                 draws: Annotated[int, typer.Option("--draws", help="Monte Carlo draws for the bands (0: central only)", min=0, max=20000)] = 500,
                 seed: Annotated[int, typer.Option("--seed")] = 14,
                 out: Annotated[Path | None, typer.Option("--out", help="Write forecast.csv, sales.csv (inputs) and, with --apply, the scenario here")] = None,
                 apply: Annotated[str | None, typer.Option("--apply", help="Scenario (built-in name, folder or .xlsx) whose retired-battery supplies the forecast replaces; needs --out")] = None,
                 years: Annotated[str | None, typer.Option("--years", help="Years to write with --apply, e.g. 2026,2030,2035 (default: the scenario's years)")] = None,
                 collection_rate: Annotated[float, typer.Option("--collection-rate", help="Share of retired mass collected by the formal channel", min=0.01, max=1.0)] = 1.0,
                 as_json: JsonOption = False, lang: LangOption = Lang.zh) -> None:
    """Retired traction batteries by province, chemistry and year (dynamic stock model, Weibull
    lifetimes, 5–95 % bands); optionally the planner's supplies for a scenario. 退役量预测。"""
    if apply and out is None:
        console.err.print(say(lang, "--apply 需要 --out 目录", "--apply needs --out DIR"))
        raise typer.Exit(2)
    from resynergy.batteries import forecast as fc

    try:
        f = fc.run(to=to, draws=draws, seed=seed)
    except ValueError as exc:
        console.err.print(str(exc), markup=False)
        raise typer.Exit(2) from None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        f.table.round(1).to_csv(out / "forecast.csv", index=False)
        fc.sales_by_province(to).to_csv(out / "sales.csv", index=False)
    if apply:
        _apply(f, apply, years, collection_rate, out, lang)  # type: ignore[arg-type]
    if as_json:
        print(json.dumps({"to": to, "draws": draws, "seed": seed, "unit": "t",
                          "summary": f.summary(lang.value),
                          "totals": json.loads(f.totals().round(1).to_json(orient="records")),
                          "table": json.loads(f.table.round(1).to_json(orient="records"))}, ensure_ascii=False, indent=1))
        return
    from rich.table import Table

    shown = sorted({y for y in (2025, 2030, to) if y <= to and y >= fc.FIRST_COHORT})
    names = fc.province_shares()["name_zh" if lang is Lang.zh else "name_en"]
    t = Table(title=say(lang, "退役动力电池（千吨；中值，括号内为 5%–95% 区间）", "Retired traction batteries (kt; central, 5–95 % band)"))
    t.add_column(say(lang, "省份", "province"))
    t.add_column(say(lang, "类型", "chemistry"))
    for y in shown:
        t.add_column(str(y), justify="right")
    tab = f.table.set_index(["province", "chemistry", "year"])
    for p in names.index:
        for c in fc.CHEMISTRIES:
            cells = []
            for y in shown:
                r = tab.loc[(p, c, y)]
                cells.append(f"{r['retired_t'] / 1e3:,.1f} ({r['p05_t'] / 1e3:,.1f}–{r['p95_t'] / 1e3:,.1f})")
            t.add_row(names[p], c, *cells)
    console.out.print(t)
    for line in f.summary(lang.value, shown):
        _print(line)
    if out is not None:
        console.err.print(say(lang, f"已写出 {out / 'forecast.csv'}、{out / 'sales.csv'}", f"Wrote {out / 'forecast.csv'}, {out / 'sales.csv'}"))


def _apply(f: object, ref: str, years_text: str | None, rate: float, out: Path, lang: Lang) -> None:
    from resynergy.batteries import forecast as fc
    from resynergy.cli.data import open_or_exit
    from resynergy.scenario import ScenarioError

    s = open_or_exit(ref, lang)
    try:
        years = [int(y) for y in years_text.replace("，", ",").split(",") if y.strip()] if years_text else s.years
        new = fc.apply_to_scenario(s, f, years, rate)  # type: ignore[arg-type]
    except ScenarioError as exc:
        print_issues(exc, lang)
        raise typer.Exit(1) from None
    except ValueError as exc:
        console.err.print(say(lang, f"无法写入供给：{exc}", f"Cannot write the supplies: {exc}"), markup=False)
        raise typer.Exit(2) from None
    target = new.save(out / "scenario")
    console.err.print(say(lang, f"已用预测替换 {s.name} 中 {sorted(years)} 年的退役电池供给，写出 {target}",
                          f"Replaced {s.name}'s retired-battery supplies for {sorted(years)} with the forecast: wrote {target}"))


def _date(text: str | None, lang: Lang) -> date:
    if not text:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        console.err.print(say(lang, f"--as-of 应为 年-月-日，而不是 {text!r}", f"--as-of should be YYYY-MM-DD, not {text!r}"))
        raise typer.Exit(2) from None
