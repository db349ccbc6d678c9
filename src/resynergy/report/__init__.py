"""Reports of plans: terminal summary, report.html, flows.csv/parquet, plan.xlsx, plan.json."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from resynergy.report.exports import write_flows, write_json, write_xlsx
from resynergy.report.summary import PlanSummary, summarize

__all__ = ["PlanSummary", "summarize", "write_outputs"]


def write_outputs(s: PlanSummary, out: Path, *,
                  progress: Callable[[str, float], None] | None = None) -> dict[str, Path]:
    """Write every output file of a plan into ``out``; returns {kind: path}."""
    from resynergy.report.html import write_report  # plotly is only needed here

    out.mkdir(parents=True, exist_ok=True)
    steps: list[tuple[str, Callable[[], list[Path]]]] = [
        ("flows", lambda: write_flows(s, out)),
        ("xlsx", lambda: [write_xlsx(s, out / "plan.xlsx")]),
        ("html", lambda: [write_report(s, out / "report.html")]),
    ]
    paths: dict[str, Path] = {}
    for i, (name, step) in enumerate(steps):
        if progress:
            progress(f"write {name}", i / (len(steps) + 1))
        for p in step():
            paths[p.name] = p
    paths["plan.json"] = write_json(s, out / "plan.json",
                                    {k: str(v) for k, v in paths.items()})
    if progress:
        progress("done", 1.0)
    return paths
