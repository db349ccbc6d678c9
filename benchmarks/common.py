"""Shared helpers of the benchmarks: scenarios, isolated runs, peak memory, tables."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
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
    from importlib.metadata import PackageNotFoundError, version

    def v(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB; Python {platform.python_version()}, "
            f"numpy {v('numpy')}, pandas {v('pandas')}, linopy {v('linopy')}, "
            f"highspy {v('highspy')}, pyomo {v('pyomo')}")


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


# ---- repetition, load and whole-command measurement (one definition for every benchmark) ----
REPEAT = 3  # every benchmark figure is measured at least this often (min and median reported)


def loadavg() -> float:
    """The 1-minute load average now (the machine is shared: every figure is printed with it)."""
    return round(os.getloadavg()[0], 2)


def stats(values: Sequence[float | None]) -> dict:
    """min, median and count of the measured values (failed runs, None, left out)."""
    v = [float(x) for x in values if x is not None]
    if not v:
        return {"min": None, "median": None, "n": 0}
    return {"min": min(v), "median": statistics.median(v), "n": len(v)}


def repeated(fn: Callable[[], dict], n: int = REPEAT) -> list[dict]:
    """``fn()`` run ``n`` times; each record gets the load average before and after it."""
    out = []
    for _ in range(n):
        before = loadavg()
        rec = fn()
        rec["load"] = (before, loadavg())
        out.append(rec)
    return out


def summary(records: list[dict], key: str) -> str:
    """"min / median (n runs)" of ``key`` over repeated records."""
    s = stats([r.get(key) for r in records])
    if not s["n"]:
        return "–"
    return f"{s['min']:.3g} / {s['median']:.3g} ({s['n']}×)"


def load_range(records: list[dict]) -> str:
    loads = [x for r in records for x in r.get("load", ())]
    return f"{min(loads):.1f}–{max(loads):.1f}" if loads else "–"


def timed_command(cmd: Sequence[str], timeout: float, env: dict | None = None,
                  cwd: str | None = None) -> dict:
    """Run ``cmd`` under ``/usr/bin/time -v``: wall s, CPU s (user + system, children included),
    peak resident MB, exit code; ``timeout`` True when it was stopped after ``timeout`` s."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        t = time.perf_counter()
        try:
            res = subprocess.run(["/usr/bin/time", "-v", "-o", tf.name, *cmd], capture_output=True,
                                 text=True, timeout=timeout, env=env, cwd=cwd)
        except subprocess.TimeoutExpired:
            return {"wall": time.perf_counter() - t, "timeout": True, "rc": None}
        wall = time.perf_counter() - t
        info = {}
        for line in tf.read().splitlines():
            key, _, value = line.strip().rpartition(": ")
            info[key] = value
    out = {"wall": wall, "rc": res.returncode, "timeout": False,
           "stderr_tail": res.stderr.strip()[-300:] if res.returncode else ""}
    try:
        out["cpu"] = float(info["User time (seconds)"]) + float(info["System time (seconds)"])
        out["peak_mb"] = int(info["Maximum resident set size (kbytes)"]) / 1024.0
    except (KeyError, ValueError):
        pass
    return out


def loglog_exponent(x: Sequence[float], y: Sequence[float | None]) -> float | None:
    """Least-squares slope of log y over log x: y ∝ x^slope (None with fewer than 2 points)."""
    import numpy as np

    pts = [(a, b) for a, b in zip(x, y, strict=True) if b is not None and b > 0]
    if len(pts) < 2:
        return None
    lx, ly = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(lx, ly, 1)[0])
