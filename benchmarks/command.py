"""The whole command as users run it (issue 11, goal 1).

Measures, each ``--repeat`` times (≥ 3) in fresh processes, one after another:

- ``resynergy plan jjj-2022 --quiet --out TMP`` end to end (network, model, HiGHS, duals,
  indicators, report.html, plan.xlsx, flows.csv/parquet, plan.json);
- the import floor ``python -c "import numpy, pandas, xarray, linopy, highspy"``;
- HiGHS's own solve time, from the plan's ``timings_s`` in plan.json (every ``*highs*`` entry:
  the MILP, and the duals re-solve when it reports one);
- ``resynergy --help`` against ``python -c "import typer, rich"``;

and prints min and median of each, the load average before and after, and the ratios of the
goals: plan ≤ 2 × (import floor + HiGHS) and ``--help`` ≤ 2 × typer + rich. The ratios use the
medians. ``--profile`` also writes a cProfile of one plan run and prints its top entries.

Run: ``python benchmarks/command.py [--repeat 3] [--scenario jjj-2022] [--profile]``.
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
    """HiGHS's own time in a plan's timings: every entry whose key names HiGHS."""
    return sum(float(v) for k, v in timings.items() if "highs" in k and v is not None)


def stats(xs: list[float]) -> dict[str, float]:
    return {"min": min(xs), "median": statistics.median(xs), "runs": len(xs)}


def measure(repeat: int, scenario: str) -> dict:
    res: dict[str, list[float]] = {k: [] for k in (
        "plan", "highs", "floor", "help", "typer_rich")}
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scenario", default="jjj-2022")
    ap.add_argument("--profile", action="store_true", help="also profile one plan run")
    ap.add_argument("--top", type=int, default=60)
    args = ap.parse_args()
    r = measure(max(3, args.repeat), args.scenario)
    f = r["figures"]
    print(f"scenario {r['scenario']}; load average before {r['load_before'][0]:.2f}, "
          f"after {r['load_after'][0]:.2f} (1 min)")
    print("| figure | min s | median s |\n|---|---:|---:|")
    for key, label in (("plan", "`resynergy plan` end to end"), ("highs", "HiGHS's own solve"),
                       ("floor", "import numpy, pandas, xarray, linopy, highspy"),
                       ("help", "`resynergy --help`"), ("typer_rich", "import typer, rich")):
        print(f"| {label} | {f[key]['min']:.2f} | {f[key]['median']:.2f} |")
    print(f"\nplan / (import floor + HiGHS) = {r['plan_over_floor_plus_highs']:.2f} (goal ≤ 2)")
    print(f"--help / (import typer, rich) = {r['help_over_typer_rich']:.2f} (goal ≤ 2)")
    print(f"outside planner.solve (imports, loading, indicators, outputs): "
          f"{r['outside_planner_median']:.2f} s (median)")
    print("planner timings (median s): " + ", ".join(
        f"{k} {v:.2f}" for k, v in r["planner_timings_median"].items()))
    print(json.dumps(r))
    if args.profile:
        print(profile(args.scenario, args.top))


if __name__ == "__main__":
    main()
