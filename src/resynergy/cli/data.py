"""``resynergy data …``: validate, export, template and describe scenarios."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from resynergy.cli import console
from resynergy.cli.console import Lang, say

if TYPE_CHECKING:  # imported where used: ``--help`` loads no pandas
    from resynergy.scenario import Scenario, ScenarioError

app = typer.Typer(rich_markup_mode=None, help="Scenario data: validate, export, template, info. 情景数据。", no_args_is_help=True)

LangOption = Annotated[Lang, typer.Option("--lang", help="zh | en")]


class Format(StrEnum):
    csv = "csv"
    parquet = "parquet"
    xlsx = "xlsx"


def print_issues(exc: ScenarioError, lang: Lang, limit: int = 200) -> None:
    """Every issue (up to ``limit``) on stderr, one per line, in the user's language."""
    console.err.print(f"[bold red]{say(lang, f'无效：发现 {len(exc.issues)} 个问题', f'Invalid: {len(exc.issues)} issues')}[/]")
    for issue in exc.issues[:limit]:
        hint = issue.hint(lang.value)
        console.err.print(f"  • {issue.message(lang.value)}" + (f" → {hint}" if hint else ""), markup=False,
                          highlight=False, soft_wrap=True)
    if len(exc.issues) > limit:
        console.err.print(say(lang, f"  …另有 {len(exc.issues) - limit} 个", f"  … and {len(exc.issues) - limit} more"))


def open_or_exit(ref: str, lang: Lang) -> Scenario:
    """Open a scenario (:func:`resynergy.api.open_scenario`) or print every issue and exit with code 1."""
    from resynergy.api import open_scenario
    from resynergy.scenario import ScenarioError

    try:
        return open_scenario(ref)
    except ScenarioError as exc:
        print_issues(exc, lang)
        raise typer.Exit(1) from None
    except KeyError as exc:
        console.err.print(f"[red]{exc.args[0]}[/]")
        raise typer.Exit(2) from None


@app.command()
def validate(ref: Annotated[str, typer.Argument(help="Built-in name, folder or .xlsx")],
             lang: LangOption = Lang.zh) -> None:
    """Check a scenario; list every problem (file/sheet, row, column, value). Exit 1 if invalid."""
    from resynergy.scenario import ScenarioError

    s = open_or_exit(ref, lang)
    issues = s.plan_issues()
    if issues:  # valid tables that still cannot be planned (e.g. an empty template)
        print_issues(ScenarioError(issues), lang)
        raise typer.Exit(1)
    counts = ", ".join(f"{t} {len(f)}" for t, f in s.tables.items() if len(f))
    console.out.print(say(lang, f"有效：{s.name}（{counts}）", f"Valid: {s.name} ({counts})"))


@app.command()
def export(ref: Annotated[str, typer.Argument(help="Built-in name, folder or .xlsx")],
           out_dir: Annotated[Path, typer.Argument(help="Output folder")],
           format: Annotated[Format, typer.Option("--format", "-f")] = Format.csv,
           lang: LangOption = Lang.zh) -> None:
    """Write a scenario as a folder of CSV or Parquet files, or as DIR/NAME.xlsx."""
    s = open_or_exit(ref, lang)
    target = out_dir / f"{s.name}.xlsx" if format is Format.xlsx else out_dir
    s.save(target, format=format.value)
    console.out.print(say(lang, f"已写出 {target}", f"Wrote {target}"))


@app.command()
def template(file: Annotated[Path, typer.Argument(help="Workbook to create (.xlsx)")],
             source: Annotated[str | None, typer.Option(
                 "--from", help="Fill it with this scenario's rows (built-in name, folder or .xlsx)")] = None,
             lang: LangOption = Lang.zh) -> None:
    """A workbook to fill in: the sheets a user fills (and actual flows), each with an example row
    and drop-down lists, then look-up sheets of valid codes."""
    if file.suffix.lower() != ".xlsx":
        console.err.print(say(lang, "文件名应以 .xlsx 结尾", "the file name should end in .xlsx"))
        raise typer.Exit(2)
    from resynergy import schema
    from resynergy.scenario.template import FILLABLE, write_template

    filled = dict(open_or_exit(source, lang).tables) if source else None
    write_template(file, (*FILLABLE, *schema.RECORD_TABLES), filled)
    console.out.print(say(lang, f"已写出模板 {file}", f"Wrote template {file}"))


@app.command()
def info(ref: Annotated[str, typer.Argument(help="Built-in name, folder or .xlsx")],
         year: Annotated[int | None, typer.Option(help="Year (default: the latest; with --sources 2020)")] = None,
         as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
         with_sources: Annotated[bool, typer.Option(
             "--sources", help="Share of tonnage and capacity backed by verified (V) or partly verified (P) "
                               "sources, by table, province and material. 来源支撑情况。")] = False,
         lang: LangOption = Lang.zh) -> None:
    """Row counts and totals by province and material (--sources: how much is backed by sources)."""
    import pandas as pd
    from rich.table import Table

    from resynergy import catalog
    from resynergy.scenario.inventory import inventory

    s = open_or_exit(ref, lang)
    if with_sources:
        sources_info(s, year, as_json, lang)
        return
    summary = inventory(s, year)
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=1))
        return
    counts = Table(title=say(lang, f"{s.name}：各表行数", f"{s.name}: rows per table"))
    counts.add_column(say(lang, "表", "table"))
    counts.add_column(say(lang, "行数", "rows"), justify="right")
    for t, n in summary["counts"].items():
        if n:
            counts.add_row(t, str(n))
    console.out.print(counts)
    regions = s.table("regions").set_index("code")
    name_col = "name_zh" if lang is Lang.zh else "name_en"
    for key, zh, en in (("generation_t", "年产生量", "generation"), ("stock_t", "历史堆存", "legacy stock"),
                        ("demand_t", "需求量", "demand")):
        frame = pd.DataFrame(summary[key]).fillna(0.0)
        if frame.empty:
            continue
        t = Table(title=say(lang, f"{zh}（百万吨，{summary['year']}年）", f"{en} (Mt, {summary['year']})"))
        t.add_column(say(lang, "物料", "material"))
        provinces = sorted(frame.columns)
        for p in provinces:
            t.add_column(regions[name_col].get(p, p), justify="right")
        t.add_column(say(lang, "合计", "total"), justify="right")
        for material, row in frame.sort_index().iterrows():
            t.add_row(catalog.material_name(str(material), lang.value),
                      *(f"{row[p] / 1e6:,.2f}" for p in provinces), f"{row.sum() / 1e6:,.2f}")
        t.add_row(say(lang, "合计", "total"), *(f"{frame[p].sum() / 1e6:,.2f}" for p in provinces),
                  f"{frame.to_numpy().sum() / 1e6:,.2f}", style="bold")
        console.out.print(t)


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share:.1%}"


def sources_info(s: Scenario, year: int | None, as_json: bool, lang: Lang) -> None:
    """``data info --sources``: :func:`resynergy.datasets.provenance.coverage` as tables or JSON."""
    from rich.table import Table

    from resynergy.datasets import provenance as pv

    table = s.sources
    cov = pv.coverage(s, table, year)
    if as_json:  # the coverage and the sources table its citations resolve to
        print(json.dumps({"name": s.name, **cov, "sources": pv.as_dicts(table)}, ensure_ascii=False, indent=1))
        return
    lg = lang.value
    y = cov["year"]
    if not cov["sourced"]:
        console.out.print(say(lang, f"{s.name} 没有来源表：各行引用的来源无法解析，均计为“无来源”。",
                              f"{s.name} has no sources table: its citations resolve to nothing and "
                              "every row counts as unsourced."))
    levels = (*pv.LEVELS, pv.UNSOURCED)
    head = Table(title=say(lang, f"{s.name}：来源支撑情况（{y}年；已核实 V + 部分核实 P 计为有来源支撑）",
                           f"{s.name}: provenance ({y}; backed = verified V + partly verified P)"))
    head.add_column(say(lang, "项目", "measure"))
    head.add_column(say(lang, "合计（百万吨）", "total (Mt)"), justify="right")
    for lv in levels:
        head.add_column(f"{pv.words(pv.LEVEL_NAMES, lv, lg)} {lv if lv in pv.LEVELS else ''}".strip(),
                        justify="right")
    head.add_column(say(lang, "支撑占比", "share backed"), justify="right")
    for name, m in cov["measures"].items():
        head.add_row(pv.words(pv.MEASURE_NAMES, name, lg), f"{m['total'] / 1e6:,.2f}",
                     *(f"{m['by_confidence'][lv] / 1e6:,.2f}" for lv in levels), _pct(m["share"]))
    console.out.print(head)

    goals = Table(title=say(lang, "内置数据的来源建设目标", "Provenance goals for the built-in data"))
    goals.add_column(say(lang, "目标", "goal"))
    goals.add_column(say(lang, "要求", "required"), justify="right")
    goals.add_column(say(lang, "现值", "now"), justify="right")
    goals.add_column(say(lang, "是否达到", "met"))
    for g in cov["goals"]:
        fmt = (lambda v: str(v)) if g["id"] == "organisations" else _pct
        goals.add_row(pv.words(pv.MEASURE_NAMES, g["id"], lg), "≥ " + fmt(g["target"]), fmt(g["value"]),
                      say(lang, "达到", "met") if g["met"] else say(lang, "未达到", "not met"),
                      style=None if g["met"] else "red")
    console.out.print(goals)

    tables = Table(title=say(lang, "各表行数（按可信度）", "Rows per table, by confidence"))
    tables.add_column(say(lang, "表", "table"))
    tables.add_column(say(lang, "行数", "rows"), justify="right")
    for lv in levels:
        tables.add_column(lv if lv in pv.LEVELS else pv.words(pv.LEVEL_NAMES, lv, lg), justify="right")
    tables.add_column(say(lang, "有支撑行占比", "rows backed"), justify="right")
    for name, t in cov["tables"].items():
        tables.add_row(name, str(t["rows"]), *(str(t[lv]) for lv in levels), _pct(t["share"]))
    console.out.print(tables)

    regions = s.table("regions").set_index("code")
    measures = cov["measures"]
    prov = Table(title=say(lang, f"分省来源支撑占比（{y}年）", f"Share backed by province ({y})"))
    prov.add_column(say(lang, "省份", "province"))
    for name in measures:
        prov.add_column(pv.words(pv.MEASURE_SHORT, name, lg), justify="right")
    prov.add_column(pv.words(pv.MEASURE_SHORT, "organisations", lg), justify="right")
    codes = sorted({c for m in measures.values() for c in m["by_province"]}
                   | set(cov["organisations"]["by_province"]))
    for code in codes:
        label = f"{regions['name_zh'].get(code, code)} {regions['name_en'].get(code, '')}".strip()
        prov.add_row(label or "—", *(_pct(m["by_province"].get(code, {}).get("share")) for m in measures.values()),
                     str(cov["organisations"]["by_province"].get(code, 0)))
    console.out.print(prov)

    def namer(table: str, id_col: str):
        frame = s.table(table).set_index(id_col)
        return lambda code: str(frame[f"name_{lg}"].get(code, code))

    for name, key, ref, id_col, by in (("generation", "by_material", "materials", "code", ("按物料", "by material")),
                                       ("demand", "by_material", "materials", "code", ("按物料", "by material")),
                                       ("capacity", "by_process", "processes", "id", ("按工艺", "by process"))):
        if name not in measures:
            continue
        label = namer(ref, id_col)
        t = Table(title=pv.words(pv.MEASURE_NAMES, name, lg) + say(lang, f"（{by[0]}）", f" ({by[1]})"))
        t.add_column(say(lang, by[0][1:], by[1][3:]))
        t.add_column(say(lang, "合计（百万吨）", "total (Mt)"), justify="right")
        t.add_column(say(lang, "支撑占比", "share backed"), justify="right")
        for code, row in measures[name][key].items():
            t.add_row(label(code), f"{row['total'] / 1e6:,.2f}", _pct(row["share"]))
        console.out.print(t)
    if cov["unresolved"]:
        console.out.print(say(lang, "来源表中找不到的引用键（行数）：", "Cited keys missing from the sources table (rows): ")
                          + ", ".join(f"{k} ({n})" for k, n in cov["unresolved"].items()),
                          markup=False, highlight=False)
