"""The whole command as users run it (issue 11, goal 1).

Measures, each ``--repeat`` times (≥ 3) in fresh processes, one after another:

- ``resynergy plan jjj-2022 --quiet --out TMP`` end to end (network, model, HiGHS, duals,
  indicators, report.html, plan.xlsx, flows.csv/parquet, plan.json);
- the import floor ``python -c "import numpy, pandas, xarray, linopy, highspy"``;
- HiGHS's own time, from the plan's ``timings_s`` in plan.json, two ways: ``solve_highs``, the
  MILP's solve alone (the issue's definition of "HiGHS's own solve time"), and
  ``highs_all_solves``, HiGHS's time summed over every solve the command needs (the MILP, the
  duals' fixed-build LP, each LP/MILP of the diagnosis of missed targets); the diagnosis' first
  probes run beside the duals' LP on a second core, and each solve counts in full, so this sum
  can exceed the wall time those solves took;
- ``resynergy --help`` against ``python -c "import typer, rich"``;

and prints min and median of each, the load average before and after, and the ratios:
plan / (import floor + MILP HiGHS), the goal (≤ 2); plan / (import floor + all HiGHS solves),
for information only (it credits the command with solves the issue does not count, so it is
never the goal met); and ``--help`` / typer + rich (goal ≤ 2). The ratios use the medians.
``--profile`` also writes a cProfile of one plan run and prints its top entries. ``--stages``
(or ``--stages-only``) also runs the command in process ``--repeat`` times with its stages
timed — opening the scenario, the planner (with its own ``timings_s``), findings, each output
file, the wait for the forked plan.xlsx writer — as wall time and the main thread's CPU, with
the CPU of the process and of its forked writer: on a loaded machine the wall times stretch,
the CPU much less.

The command keeps the validated built-in dataset in the user's cache after its first run
(scenario/model.py); the first run of a new version pays ≈ 0.5 s more.

Run: ``python benchmarks/command.py [--repeat 3] [--scenario jjj-2022] [--profile] [--stages]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def command() -> list[str]:
    """The ``resynergy`` console script next to this interpreter (what users run), else
    ``python -m resynergy``."""
    script = Path(sys.executable).parent / "resynergy"
    return [str(script)] if script.exists() else [sys.executable, "-m", "resynergy"]


def timed(cmd: list[str], timeout: float = 600) -> float:
    t = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr[-2000:]}")
    return wall


def highs_seconds(timings: dict[str, float]) -> float:
    """HiGHS's own time for the MILP (the plan's one solve; issue 11's definition)."""
    return float(timings.get("solve_highs") or 0.0)


def highs_all_seconds(timings: dict[str, float]) -> float:
    """HiGHS's own time over every solve of the command (planner/clock.py); NaN for a version
    that does not report it (its other keys do not cover the duals and the diagnosis)."""
    v = timings.get("highs_all_solves")
    return float("nan") if v is None else float(v)


def stats(xs: list[float]) -> dict[str, float]:
    return {"min": min(xs), "median": statistics.median(xs), "runs": len(xs)}


def measure(repeat: int, scenario: str) -> dict:
    res: dict[str, list[float]] = {k: [] for k in (
        "plan", "highs", "highs_all", "floor", "help", "typer_rich")}
    stages: list[dict[str, float]] = []
    floor = [sys.executable, "-c", "import numpy, pandas, xarray, linopy, highspy"]
    typer_rich = [sys.executable, "-c", "import typer, rich"]
    load_before = os.getloadavg()
    for _ in range(repeat):
        out = Path(tempfile.mkdtemp(prefix="resynergy-bench-"))
        try:
            res["plan"].append(timed([*command(), "plan", scenario, "--quiet", "--out", str(out)]))
            timings = json.loads((out / "plan.json").read_text(encoding="utf-8"))["timings_s"]
        finally:
            shutil.rmtree(out, ignore_errors=True)
        res["highs"].append(highs_seconds(timings))
        res["highs_all"].append(highs_all_seconds(timings))
        stages.append(timings)
        res["floor"].append(timed(floor))
        res["help"].append(timed([*command(), "--help"]))
        res["typer_rich"].append(timed(typer_rich))
    load_after = os.getloadavg()
    figures = {k: stats(v) for k, v in res.items()}
    med = {k: v["median"] for k, v in figures.items()}
    return {
        "scenario": scenario, "figures": figures,
        "plan_over_floor_plus_highs": med["plan"] / (med["floor"] + med["highs"]),
        "plan_over_floor_plus_all_highs": med["plan"] / (med["floor"] + med["highs_all"]),
        "help_over_typer_rich": med["help"] / med["typer_rich"],
        "planner_timings_median": {k: statistics.median(t.get(k, 0.0) for t in stages)
                                   for k in stages[0]},
        # imports, scenario loading, indicators and outputs: the command less planner.solve
        "outside_planner_median": statistics.median(
            p - t.get("total", 0.0) for p, t in zip(res["plan"], stages, strict=True)),
        "load_before": load_before, "load_after": load_after,
    }


def profile(scenario: str, top: int) -> str:
    """cProfile of one plan run (in a subprocess), the top entries by cumulative time."""
    prof = Path(tempfile.mkdtemp(prefix="resynergy-prof-"))
    script = prof / "plan.py"
    script.write_text("import sys\nfrom resynergy.cli.main import app\n"
                      f"sys.argv = ['resynergy', 'plan', {scenario!r}, '--quiet', '--out', "
                      f"{str(prof / 'out')!r}]\napp()\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof / "plan.prof"), str(script)],
                   capture_output=True, text=True, timeout=600)
    import io
    import pstats

    buf = io.StringIO()
    pstats.Stats(str(prof / "plan.prof"), stream=buf).sort_stats("cumulative").print_stats(top)
    return f"profile: {prof / 'plan.prof'}\n" + buf.getvalue()


STAGES_SCRIPT = r"""
import json, resource, sys, time
T0 = time.perf_counter()
from resynergy.cli.main import app
import resynergy.cli.plan as cli_plan
import resynergy.report as report
import resynergy.report.background as background
import resynergy.report.html as html
stages = {"import resynergy.cli": time.perf_counter() - T0}
cpu = {}

def timed(owner, attr, label):
    real = getattr(owner, attr)
    def wrapper(*a, **k):
        t, c = time.perf_counter(), time.thread_time()
        try:
            return real(*a, **k)
        finally:
            stages[label] = stages.get(label, 0.0) + time.perf_counter() - t
            cpu[label] = cpu.get(label, 0.0) + time.thread_time() - c
    setattr(owner, attr, wrapper)

timed(cli_plan, "open_or_exit", "open the scenario (with the imports it needs)")
timed(cli_plan, "solve_scenario", "planner (api.plan, with its imports)")
timed(report, "findings", "findings (indicators reused, attainment, monitor)")
timed(report, "write_outputs", "write_outputs (all files)")
timed(report, "result_tables", "  result tables")
timed(report, "write_flows", "  flows.csv + flows.parquet")
timed(html, "write_report", "  report.html")
timed(report, "write_json", "  plan.json")
timed(background.Job, "wait", "  plan.xlsx: waiting for the forked writer")
out = sys.argv[2]
sys.argv = ["resynergy", "plan", sys.argv[1], "--quiet", "--out", out]
try:
    app()
except SystemExit as exc:
    if exc.code:
        raise
stages["total (in process)"] = time.perf_counter() - T0
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
timings = json.load(open(out + "/plan.json", encoding="utf-8"))["timings_s"]
print(json.dumps({"wall": stages, "thread_cpu": cpu, "planner": timings,
                  "cpu_self": me.ru_utime + me.ru_stime, "cpu_children": kids.ru_utime + kids.ru_stime}))
"""


def stages(scenario: str, repeat: int) -> dict:
    """Where the command's time goes: one in-process run per repeat with the CLI's stages timed
    (wall, and the main thread's CPU), the planner's own ``timings_s``, and the CPU of the
    process and of its forked plan.xlsx writer; the medians over the runs."""
    work = Path(tempfile.mkdtemp(prefix="resynergy-stages-"))
    script = work / "stages.py"
    script.write_text(STAGES_SCRIPT, encoding="utf-8")
    runs = []
    try:
        for i in range(repeat):
            res = subprocess.run([sys.executable, str(script), scenario, str(work / f"out{i}")],
                                 capture_output=True, text=True, timeout=600)
            if res.returncode != 0:
                raise SystemExit(f"stages run failed:\n{res.stderr[-2000:]}")
            runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def med(part: str) -> dict[str, float]:
        keys = list(dict.fromkeys(k for r in runs for k in r[part]))
        return {k: statistics.median(r[part].get(k, 0.0) for r in runs) for k in keys}

    return {"wall": med("wall"), "thread_cpu": med("thread_cpu"), "planner": med("planner"),
            "cpu_self": statistics.median(r["cpu_self"] for r in runs),
            "cpu_children": statistics.median(r["cpu_children"] for r in runs), "runs": len(runs)}


def print_stages(st: dict) -> None:
    print(f"\nstages (median of {st['runs']} in-process runs; wall s / main thread CPU s):")
    for k, v in st["wall"].items():
        c = st["thread_cpu"].get(k)
        print(f"  {k}: {v:.2f}" + (f" / {c:.2f}" if c is not None else ""))
    print("  planner timings_s: " + ", ".join(f"{k} {v:.2f}" for k, v in st["planner"].items()))
    print(f"  CPU: this process {st['cpu_self']:.2f} s, forked plan.xlsx writer "
          f"{st['cpu_children']:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scenario", default="jjj-2022")
    ap.add_argument("--profile", action="store_true", help="also profile one plan run")
    ap.add_argument("--top", type=int, default=60)
    ap.add_argument("--stages", action="store_true",
                    help="also time the command's stages in process (--repeat runs)")
    ap.add_argument("--stages-only", action="store_true", help="only the stages")
    args = ap.parse_args()
    if args.stages_only:
        st = stages(args.scenario, max(1, args.repeat))
        print_stages(st)
        print(json.dumps(st))
        return
    r = measure(max(3, args.repeat), args.scenario)
    f = r["figures"]
    print(f"scenario {r['scenario']}; load average before {r['load_before'][0]:.2f}, "
          f"after {r['load_after'][0]:.2f} (1 min)")
    print("| figure | min s | median s |\n|---|---:|---:|")
    for key, label in (("plan", "`resynergy plan` end to end"),
                       ("highs", "HiGHS's own time, the MILP (`solve_highs`)"),
                       ("highs_all", "HiGHS's own time, every solve (`highs_all_solves`)"),
                       ("floor", "import numpy, pandas, xarray, linopy, highspy"),
                       ("help", "`resynergy --help`"), ("typer_rich", "import typer, rich")):
        print(f"| {label} | {f[key]['min']:.2f} | {f[key]['median']:.2f} |")
    print(f"\nplan / (import floor + MILP HiGHS) = {r['plan_over_floor_plus_highs']:.2f} "
          "(the goal: ≤ 2)")
    print(f"plan / (import floor + all HiGHS solves) = {r['plan_over_floor_plus_all_highs']:.2f} "
          "(information only, not the goal)")
    print(f"--help / (import typer, rich) = {r['help_over_typer_rich']:.2f} (goal ≤ 2)")
    print(f"outside planner.solve (imports, loading, indicators, outputs): "
          f"{r['outside_planner_median']:.2f} s (median)")
    print("planner timings (median s): " + ", ".join(
        f"{k} {v:.2f}" for k, v in r["planner_timings_median"].items()))
    print(json.dumps(r))
    if args.stages:
        st = stages(args.scenario, max(3, args.repeat))
        print_stages(st)
        print(json.dumps(st))
    if args.profile:
        print(profile(args.scenario, args.top))


if __name__ == "__main__":
    main()
