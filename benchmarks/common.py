"""Shared helpers of the benchmarks: scenarios, isolated runs, peak memory, tables."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def lp_scenario(sites: int, seed: int = 1):
    """A synthetic scenario reduced to a pure LP (no candidates, no expansion), one year."""
    from resynergy import synth

    s = synth.scenario(sites, seed)
    fac = s.table("facilities")
    return s.with_tables(facilities=fac.assign(candidate=False, expandable=False, fixed_cost=0.0))


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def isolated(script: str, args: list[str], timeout: float) -> dict:
    """Run ``script --one args…`` in a fresh interpreter; its last stdout line is JSON."""
    cmd = [sys.executable, str(HERE / script), "--one", *args]
    env = {**os.environ, "PYTHONPATH": str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    if res.returncode != 0 or not lines:
        return {"error": (res.stderr.strip().splitlines() or ["failed"])[-1][:200]}
    return json.loads(lines[-1])


def emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    from importlib.metadata import version

    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB; Python {platform.python_version()}, "
            f"linopy {version('linopy')}, highspy {version('highspy')}, pyomo {version('pyomo')}")


def markdown(rows: list[dict], cols: list[tuple[str, str]]) -> str:
    """A markdown table of ``rows`` with (key, header) columns."""
    def fmt(v):
        if isinstance(v, float):
            return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
        return "–" if v is None else str(v)

    head = "| " + " | ".join(h for _, h in cols) + " |"
    sep = "|" + "|".join("---" for _ in cols) + "|"
    body = ["| " + " | ".join(fmt(r.get(k)) for k, _ in cols) + " |" for r in rows]
    return "\n".join([head, sep, *body])
