"""Reports of plans: terminal summary, report.html, flows.csv/parquet, plan.xlsx, plan.json."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from resynergy.report.exports import result_tables, write_flows, write_json, write_xlsx
from resynergy.report.findings import PlanFindings, findings

__all__ = ["PlanFindings", "findings", "write_outputs"]


def write_outputs(s: PlanFindings, out: Path, *,
                  progress: Callable[[str, float], None] | None = None,
                  parallel: bool | None = False, ready: Any = None) -> dict[str, Path]:
    """Write every output file of a plan into ``out``; returns {file name: path}.

    Files are written to a temporary folder inside ``out`` and moved in only when all of them
    succeeded, so a failure leaves the previous outputs untouched. The result tables are made
    once and shared by plan.xlsx and plan.json.

    With ``parallel`` (None: where :func:`resynergy.report.background.can_fork`), plan.xlsx is
    written in a forked child while this process writes report.html and the rest; its error,
    if any, is raised here as it was. The files are the same either way. ``ready``: the
    report's parts made beforehand from the scenario alone (:class:`resynergy.report.html.Ready`).
    """
    from resynergy.report import background
    from resynergy.report.html import write_report  # plotly is only needed here

    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".resynergy-", dir=out))
    tables = result_tables(s)
    started: list[background.Job] = []
    import xlsxwriter  # noqa: F401 - imported before a fork, not in the child
    try:
        xlsx = background.start(lambda path: write_xlsx(s, path, tables), tmp / "plan.xlsx",
                                parallel)
        started.append(xlsx)
        steps: list[tuple[str, Callable[[], list[Path]]]] = [
            ("flows", lambda: write_flows(s, tmp, tables["flows"] if "flows" in tables else None)),
            ("html", lambda: [write_report(s, tmp / "report.html",
                                           **({"ready": ready} if ready is not None else {}))]),
            ("xlsx", lambda: [xlsx.wait()]),  # written by now when forked, else here
        ]
        names: list[str] = []
        for i, (name, step) in enumerate(steps):
            if progress:
                progress(name, i / len(steps))
            names += [p.name for p in step()]
        names.append("plan.json")
        write_json(s, tmp / "plan.json", {n: str(out / n) for n in sorted(names, key=ORDER.index)},
                   tables)
        for n in names:
            os.replace(tmp / n, out / n)
    finally:
        for job in started:
            job.cancel()  # a no-op once waited for; stops the child when this process failed
        shutil.rmtree(tmp, ignore_errors=True)
    if progress:
        progress("done", 1.0)
    return {n: out / n for n in sorted(names, key=ORDER.index)}


# The output files in the order they are listed (plan.json's ``outputs``, the CLI's "Wrote:").
ORDER = ["flows.csv", "flows.parquet", "plan.xlsx", "report.html", "plan.json"]
