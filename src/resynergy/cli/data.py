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
         year: Annotated[int | None, typer.Option(help="Year (default: the latest)")] = None,
         as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
         lang: LangOption = Lang.zh) -> None:
    """Row counts and totals by province and material."""
    import pandas as pd
    from rich.table import Table

    from resynergy import catalog
    from resynergy.scenario.inventory import inventory

    s = open_or_exit(ref, lang)
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
