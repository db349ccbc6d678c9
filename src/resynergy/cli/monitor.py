"""``resynergy monitor``: the plan's targets against actual, manifested flows."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from resynergy.cli import console
from resynergy.cli.console import Lang, say
from resynergy.cli.data import open_or_exit, print_issues
from resynergy.cli.plan import no_traceback


def monitor(flows: Annotated[Path, typer.Argument(
                help="Actual flows (.csv, .parquet or .xlsx): year, from_site, to_site, material, t "
                     "[, mode, distance_km, manifest], or a plan's own flows.csv / 实际流向（联单）或规划输出的 flows.csv")],
            scenario: Annotated[str, typer.Option(
                "--scenario", help="Scenario or registry export the flows refer to")] = "jjj-2022",
            as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout only")] = False,
            lang: Annotated[Lang, typer.Option("--lang", help="zh | en")] = Lang.zh) -> None:
    """Monitor every target on actual flows: value, gap and status by year; years not yet
    reported are projected (method stated). 按实际流向监测目标进展。"""
    from resynergy.monitor import status_lines
    from resynergy.monitor.actuals import load_actual_flows, monitor_actuals
    from resynergy.report.labels import Names
    from resynergy.report.terminal import targets_table
    from resynergy.scenario import ScenarioError

    s = open_or_exit(scenario, lang)
    try:
        actual = load_actual_flows(flows, s)
    except ScenarioError as exc:
        print_issues(exc, lang)
        raise typer.Exit(1) from None
    with no_traceback(lang, Path(tempfile.gettempdir()) / "resynergy-monitor"):
        m = monitor_actuals(actual, s)
    names = Names(s)
    if as_json:
        doc = {"scenario": s.name, "flows": str(flows), "counts": m.counts(),
               "targets": json.loads(m.table.to_json(orient="records", force_ascii=False)),
               "summary": status_lines(m, lang.value, names),
               "notes": [{"zh": zh, "en": en} for zh, en in m.notes]}
        print(json.dumps(doc, ensure_ascii=False, indent=1))
        return
    console.out.print(targets_table(m.table, names, lang.value))
    for line in status_lines(m, lang.value, names):
        console.out.print(line, markup=False, highlight=False)
    console.err.print(say(lang, f"实际流向 {len(actual)} 条，年份 {sorted(actual['year'].unique().tolist())}",
                  f"{len(actual)} actual flows, years {sorted(actual['year'].unique().tolist())}"))
