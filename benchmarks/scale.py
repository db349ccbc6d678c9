"""Scale: time and peak memory of ``resynergy data synth`` → ``resynergy plan`` from 10^3 to 10^5
synthetic sites, and the growth exponent (log-log fit).

Two measurements, both of what users run:

- **command**: ``resynergy data synth DIR --sites N`` and ``resynergy plan DIR`` (every output:
  report, XLSX, CSV, Parquet, JSON), each under ``/usr/bin/time -v``: wall s, CPU s (user +
  system; on a shared machine CPU time is what the work costs, wall time what the user waits),
  peak resident MB, the planner's own stage timings (``plan.json``) and the output sizes.
- **stages** (one fresh interpreter per size): the synthetic tables, their validation
  (``Scenario.from_tables``), ``planner.data.prepare`` (network), ``planner.model.build`` (the
  MILP exactly as ``planner.solve`` builds it) and its hand-off to HiGHS, with CPU time and peak
  memory after each — for sizes where the whole command does not finish in the time allowed.

Escalation stops at the first size whose command exceeds ``--stop-after`` seconds or
``--max-gb`` of memory (it says so). Every figure is repeated ``--repeat`` times where it fits
(min and median printed with the load average).

    python benchmarks/scale.py command --sizes 1000 10000 30000 100000 --repeat 3 --repeat-max 1000 \
        --time-limit 300 --nice 19 --timeout 3600
    python benchmarks/scale.py stages --sizes 1000 3000 10000 30000 100000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import (
    emit,
    isolated,
    load_range,
    loadavg,
    loglog_exponent,
    machine,
    markdown,
    peak_rss_mb,
    repeated,
    stats,
    summary,
    timed_command,
)

SIZES = [1000, 3000, 10000, 30000, 100000]
RESYNERGY = str(Path(sys.executable).with_name("resynergy"))


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def stages_one(sites: int, build: bool) -> dict:
    """In this interpreter: synth, validate, prepare, build + hand-off; CPU s and peak MB after
    each stage."""
    from resynergy import synth
    from resynergy.planner import PlanOptions
    from resynergy.planner.data import prepare
    from resynergy.scenario import Scenario

    rec: dict = {"sites": sites, "load_start": loadavg()}

    def mark(stage: str, t0: float, c0: float) -> None:
        rec[f"{stage}_s"] = time.perf_counter() - t0
        rec[f"{stage}_cpu"] = _cpu() - c0
        rec[f"{stage}_mb"] = peak_rss_mb()

    t, c = time.perf_counter(), _cpu()
    tables = synth.synthesize(sites, 0)
    mark("synth", t, c)
    t, c = time.perf_counter(), _cpu()
    scenario = Scenario.from_tables(tables, name=f"synth-{sites}-0")
    mark("validate", t, c)
    t, c = time.perf_counter(), _cpu()
    data = prepare(scenario)
    mark("prepare", t, c)
    rec["arcs"] = len(data.net.arcs)
    if build:
        from linopy import solvers

        from resynergy.planner.model import build as build_model

        options = PlanOptions()
        t, c = time.perf_counter(), _cpu()
        built = build_model(data, options.blend(), linking=options.linking)
        mark("build", t, c)
        m = built.model
        t, c = time.perf_counter(), _cpu()
        m.constraints.sanitize_zeros()
        m.constraints.sanitize_infinities()
        h = solvers.Solver.from_name("highs", model=m, io_api="direct",
                                     options={"output_flag": False}).solver_model
        mark("handoff", t, c)
        rec.update(nvars=int(h.getNumCol()), ncons=int(h.getNumRow()), nnz=int(h.getNumNz()))
    rec["load_end"] = loadavg()
    return rec


def _bounded(cmd: list[str], timeout: float, nice: int) -> dict:
    """``cmd`` under ``/usr/bin/time -v``, niced, and stopped after ``timeout`` s by GNU
    ``timeout`` (which signals the whole process group: a Python-side timeout would kill only
    ``/usr/bin/time`` and leave the planner running)."""
    wrapped = ["timeout", "-k", "30", f"{timeout:.0f}", "nice", "-n", str(nice), *cmd]
    out = timed_command(wrapped, timeout + 60)
    if out.get("rc") in (124, 137):  # GNU timeout's exit codes (TERM / KILL after -k)
        out["timeout"] = True
    return out


def command_one(sites: int, time_limit: float, timeout: float, keep: Path | None,
                nice: int = 0) -> dict:
    """synth → plan as users run them, each under /usr/bin/time -v."""
    work = Path(tempfile.mkdtemp(prefix=f"scale-{sites}-"))
    try:
        data, out = work / "scenario", work / "out"
        rec: dict = {"sites": sites, "load": [loadavg()]}
        s = _bounded([RESYNERGY, "data", "synth", str(data), "--sites", str(sites)], timeout, nice)
        rec.update({f"synth_{k}": v for k, v in s.items() if k in ("wall", "cpu", "peak_mb")})
        if s.get("rc") != 0:
            rec["error"] = f"synth: {s.get('stderr_tail') or 'timeout'}"
            return rec
        p = _bounded([RESYNERGY, "plan", str(data), "--out", str(out), "--quiet",
                      "--time-limit", str(time_limit)], timeout, nice)
        rec["load"].append(loadavg())
        rec.update({f"plan_{k}": v for k, v in p.items() if k in ("wall", "cpu", "peak_mb")})
        if p.get("timeout"):
            rec["error"] = f"plan stopped after {timeout:.0f} s"
            return rec
        if p.get("rc") != 0:
            rec["error"] = f"plan exit {p['rc']}: {p.get('stderr_tail', '')}"
        summary_file = out / "plan.json"
        if summary_file.exists():
            doc = json.loads(summary_file.read_text(encoding="utf-8"))
            rec["status"], rec["mip_gap"] = doc.get("status"), doc.get("mip_gap")
            rec["timings"] = doc.get("timings_s", {})
        rec["outputs_mb"] = {f.name: f.stat().st_size / 2**20 for f in out.glob("*")
                             if f.is_file()} if out.exists() else {}
        rec["scenario_mb"] = sum(f.stat().st_size for f in data.glob("*")) / 2**20
        if keep is not None and out.exists():
            shutil.copytree(out, keep / f"out-{sites}", dirs_exist_ok=True)
        return rec
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["command", "stages"])
    ap.add_argument("--one", nargs=2, metavar=("SITES", "BUILD"))
    ap.add_argument("--sizes", nargs="*", type=int, default=SIZES)
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs per size (sizes above --repeat-max run once)")
    ap.add_argument("--repeat-max", type=int, default=3000)
    ap.add_argument("--time-limit", type=float, default=600.0, help="plan --time-limit, s")
    ap.add_argument("--stop-after", type=float, default=900.0,
                    help="stop escalating after a size whose run took longer (s)")
    ap.add_argument("--timeout", type=float, default=3600.0,
                    help="command: stop a synth or plan run after this many s")
    ap.add_argument("--nice", type=int, default=0, help="command: run synth and plan niced")
    ap.add_argument("--max-gb", type=float, default=16.0)
    ap.add_argument("--no-build", action="store_true", help="stages: stop after prepare")
    ap.add_argument("--keep", type=Path, help="copy the plan outputs here")
    args = ap.parse_args()
    if args.one:
        emit(stages_one(int(args.one[0]), args.one[1] == "1"))
        return
    print(f"machine: {machine()}; load average now {loadavg()}", flush=True)
    rows, stopped = [], ""
    for sites in args.sizes:
        n = args.repeat if sites <= args.repeat_max else 1
        if args.what == "stages":
            recs = repeated(lambda s=sites: isolated(
                "scale.py", [str(s), "0" if args.no_build else "1", "stages"],
                args.stop_after * 4), n)
            keys = ["synth", "validate", "prepare", "build", "handoff"]
            row = {"sites": sites, "runs": n, "load": load_range(recs),
                   "arcs": recs[-1].get("arcs"), "nvars": recs[-1].get("nvars"),
                   "nnz": recs[-1].get("nnz"), "error": recs[-1].get("error")}
            for k in keys:
                row[f"{k}_s"] = summary(recs, f"{k}_s")
                row[f"{k}_cpu"] = stats([r.get(f"{k}_cpu") for r in recs])["median"]
            row["peak_mb"] = stats([max((r.get(f"{k}_mb") or 0) for k in keys) or None
                                    for r in recs])["median"]
            row["total_cpu"] = sum(row[f"{k}_cpu"] or 0 for k in keys)
            wall = max((r.get("prepare_s", 0) + r.get("build_s", 0) for r in recs), default=0)
        else:
            recs = repeated(lambda s=sites: command_one(s, args.time_limit, args.timeout,
                                                        args.keep, args.nice), n)
            row = {"sites": sites, "runs": n, "load": load_range(recs),
                   "synth_wall": summary(recs, "synth_wall"), "plan_wall": summary(recs, "plan_wall"),
                   "plan_cpu_med": stats([r.get("plan_cpu") for r in recs])["median"],
                   "plan_cpu": summary(recs, "plan_cpu"),
                   "peak_mb": stats([r.get("plan_peak_mb") for r in recs])["median"],
                   "status": recs[-1].get("status"), "error": recs[-1].get("error"),
                   "timings": recs[-1].get("timings"), "outputs_mb": recs[-1].get("outputs_mb")}
            wall = max((r.get("plan_wall") or 0) for r in recs)
        for r in recs:
            print(f"  {sites}: {json.dumps(r)}", flush=True)
        rows.append(row)
        if row.get("error"):
            stopped = f"stopped at {sites} sites: {row['error']}"
        elif wall > args.stop_after:
            stopped = f"stopped after {sites} sites: a run took {wall:.0f} s > {args.stop_after:.0f} s"
        elif (row.get("peak_mb") or 0) > args.max_gb * 1024:
            stopped = f"stopped after {sites} sites: peak {row['peak_mb']:.0f} MB > {args.max_gb} GB"
        if stopped:
            break
    ok = [r for r in rows if not r.get("error")]
    xs = [r["sites"] for r in ok]
    if args.what == "stages":
        print(markdown(rows, [("sites", "sites"), ("runs", "runs"), ("load", "load avg"),
                              ("arcs", "arcs"), ("nvars", "variables"), ("nnz", "nonzeros"),
                              ("synth_s", "synth s"), ("validate_s", "validate s"),
                              ("prepare_s", "prepare s"), ("build_s", "build s"),
                              ("handoff_s", "hand-off s"), ("total_cpu", "CPU s (median)"),
                              ("peak_mb", "peak MB"), ("error", "error")]))
        for k in ("prepare_cpu", "build_cpu", "total_cpu", "peak_mb"):
            print(f"exponent {k}: {loglog_exponent(xs, [r.get(k) for r in ok])}")
    else:
        print(markdown(rows, [("sites", "sites"), ("runs", "runs"), ("load", "load avg"),
                              ("synth_wall", "synth wall s min / median"),
                              ("plan_wall", "plan wall s min / median"),
                              ("plan_cpu", "plan CPU s min / median"),
                              ("peak_mb", "plan peak MB"), ("status", "status"),
                              ("error", "error")]))
        for r in rows:
            print(f"{r['sites']}: timings {r.get('timings')}; outputs MB {r.get('outputs_mb')}")
        for k in ("plan_cpu_med", "peak_mb"):
            print(f"exponent {k}: {loglog_exponent(xs, [r.get(k) for r in ok])}")
    if stopped:
        print(stopped)


if __name__ == "__main__":
    main()
