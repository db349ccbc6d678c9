"""Bounded loopback load test of the platform with the built-in dataset loaded.

Starts ``resynergy serve`` (the platform's own command) on 127.0.0.1 with a fresh SQLite file,
loads the built-in dataset, solves and publishes one plan, then hits each endpoint with a fixed
number of concurrent clients for a fixed time and reports requests/s and p50/p99 latency, each
measured ``--repeat`` times (min and median, with the load average). Pages are measured both
anonymous (the public dashboard) and signed in (a session cookie from the sign-in form, as a
browser has): the dashboard and the run page of the plan. The client and the server share the
machine's cores: compare numbers from the same machine only.

    python benchmarks/load_test.py [--duration 5] [--concurrency 8] [--repeat 3] [--no-plan] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from common import REPEAT, load_range, repeated, stats

PASSWORD = "load test passphrase 2024"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(folder: Path, port: int, database_url: str = "") -> subprocess.Popen:
    """`resynergy serve` on 127.0.0.1:port with a fresh database (a SQLite file in ``folder``
    unless ``database_url`` names another, empty, database)."""
    env = {**os.environ, "RESYNERGY_DATABASE_URL": database_url or f"sqlite:///{folder / 'load.db'}",
           "RESYNERGY_ADMIN_PASSWORD": PASSWORD}
    code = "from resynergy.cli.main import app; app()"  # `resynergy serve`
    proc = subprocess.Popen([sys.executable, "-c", code, "serve", "--port", str(port)], cwd=folder, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
            return proc
        except httpx.TransportError:
            if proc.poll() is not None:
                raise SystemExit("server exited during start-up") from None
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("server did not start within 60 s")


def prepare(base: str, with_plan: bool) -> tuple[dict[str, str], int | None]:
    """Sign in, load the built-in dataset, and (optionally) solve and publish one plan."""
    c = httpx.Client(base_url=base, timeout=600)
    token = c.post("/api/v1/auth/token", json={"username": "admin", "password": PASSWORD}).json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    t = time.perf_counter()
    job = c.post("/api/v1/imports/builtin", json={"name": "jjj-2022"}, headers=h).raise_for_status().json()
    while (job := c.get(f"/api/v1/imports/{job['id']}", headers=h).json())["state"] in ("queued", "running"):
        time.sleep(0.5)  # a background job since #11 item 4
    if job["state"] != "succeeded":
        raise SystemExit(f"loading the built-in dataset failed: {job['error']}")
    print(f"built-in dataset loaded in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    if not with_plan:
        return h, None
    scenario = c.post("/api/v1/scenarios", json={"name": "jjj-2022"}, headers=h).json()
    run = c.post("/api/v1/runs", json={"scenario_id": scenario["id"]}, headers=h).json()
    t = time.perf_counter()
    while (state := c.get(f"/api/v1/runs/{run['id']}", headers=h).json()["state"]) not in (
            "succeeded", "failed", "cancelled"):
        time.sleep(0.5)
    if state != "succeeded":
        raise SystemExit(f"the plan run ended {state}")
    print(f"plan solved and stored in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    c.post(f"/api/v1/runs/{run['id']}/publish", json={"published": True}, headers=h).raise_for_status()
    return h, run["id"]


def signed_in(base: str) -> dict[str, str]:
    """A browser's session as the admin: the sign-in form (with its CSRF token), then the
    session cookie it sets, as a Cookie header."""
    c = httpx.Client(base_url=base, timeout=60)
    form = c.get("/login")
    csrf = form.cookies.get("resynergy_login_csrf") or next(
        (v for k, v in c.cookies.items() if "csrf" in k), "")
    r = c.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": csrf,
                               "next": "/"}, follow_redirects=False)
    token = r.cookies.get("resynergy_session")
    if r.status_code != 303 or not token:
        raise SystemExit(f"sign-in through the form failed: HTTP {r.status_code}")
    return {"Cookie": f"resynergy_session={token}"}


async def hammer(base: str, path: str, headers: dict[str, str], duration: float, concurrency: int) -> dict:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + duration

    async def client() -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as c:
            while time.perf_counter() < stop:
                t = time.perf_counter()
                try:
                    r = await c.get(path)
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t)
                errors += not ok

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [latencies[0]] * 99
    return {"path": path, "requests": len(latencies), "errors": errors, "rps": len(latencies) / elapsed,
            "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per endpoint (bounded)")
    ap.add_argument("--concurrency", type=int, default=8, help="concurrent clients")
    ap.add_argument("--no-plan", action="store_true", help="skip solving a plan (dashboard without figures)")
    ap.add_argument("--json", action="store_true", help="print results as JSON")
    ap.add_argument("--repeat", type=int, default=REPEAT, help="runs per endpoint (min and median)")
    args = ap.parse_args()
    if not 0 < args.duration <= 60 or not 0 < args.concurrency <= 64:
        raise SystemExit("--duration must be in (0, 60] and --concurrency in (0, 64]")
    with tempfile.TemporaryDirectory(prefix="resynergy-load-") as tmp:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = start_server(Path(tmp), port)
        try:
            admin, run_id = prepare(base, not args.no_plan)
            browser = signed_in(base)
            targets = [("/", {}, "anonymous"), ("/", browser, "signed in"),
                       ("/api/v1/sites?limit=50", admin, "token"),
                       ("/api/v1/supplies?province=130000&material=steel_slag&limit=100", admin, "token"),
                       ("/api/v1/facilities?q=slag&limit=50", admin, "token")]
            if run_id is not None:
                targets += [(f"/runs/{run_id}", browser, "signed in"),
                            ("/api/v1/public/plan", {}, "anonymous"),
                            (f"/api/v1/runs/{run_id}/results/flows?limit=200", admin, "token"),
                            (f"/api/v1/runs/{run_id}/results/flows?limit=200&offset=2000", admin, "token")]
            results = []
            for path, h, who in targets:
                recs = repeated(lambda p=path, h=h: asyncio.run(
                    hammer(base, p, h, args.duration, args.concurrency)), args.repeat)
                rps = stats([r["rps"] for r in recs])
                results.append({"path": path, "as": who, "rps_min": rps["min"], "rps_median": rps["median"],
                                "p50_ms": stats([r["p50_ms"] for r in recs])["median"],
                                "p99_ms": stats([r["p99_ms"] for r in recs])["median"],
                                "errors": sum(r["errors"] for r in recs), "load": load_range(recs),
                                "runs": len(recs)})
        finally:
            proc.terminate()
            proc.wait(30)
    if args.json:
        print(json.dumps(results, indent=1))
        return
    print(f"{'endpoint':<70} {'as':<10} {'req/s min/med':>15} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'load':>10}")
    for r in results:
        print(f"{r['path']:<70} {r['as']:<10} {r['rps_min']:>7.1f}/{r['rps_median']:<7.1f} "
              f"{r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['errors']:>7} {r['load']:>10}")

if __name__ == "__main__":
    main()
