"""Concurrent writers and readers against the live platform: throughput, conflicts, and proof
that nothing is lost or left dangling (issue 9).

Starts ``resynergy serve`` on 127.0.0.1 (load_test's helpers), loads the built-in dataset, then
for a bounded time runs

- N writers: each loops over a small set of shared supply rows, reading a row (GET, ETag) and
  replacing it (PUT with If-Match) with a value unique to that write; every writer also, every
  few rounds, creates a site, then deletes it while another writer posts a supply referring to it;
- M readers: listing and reading rows, timing each request.

Afterwards it checks, independently of the app: **lost updates** (for every shared row, the
number of acknowledged PUTs must equal the row's version increase, and the stored value must be
the one of the last acknowledged PUT), **orphan references** (by query: rows referring to no
row) and **server errors** (500s). Conflicts (409/412) are the expected answer to a stale write.

Runs on SQLite and, when ``RESYNERGY_TEST_PG_URL`` is set, on a throw-away PostgreSQL database.
Each engine is measured ``--repeat`` times; min and median are printed with the load average.

    python benchmarks/concurrency.py [--seconds 60] [--writers 4] [--readers 4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
from load_test import free_port, prepare, start_server  # noqa: E402 - the project's own helpers

from resynergy.store.db import dangling_references  # noqa: E402

SHARED_ROWS = 6
SITE = {"name_zh": "压测站点", "name_en": "Benchmark site", "region": "130100", "lat": 38.0, "lon": 114.5,
        "roles": "generator", "source": "benchmark"}


@dataclass
class Tally:
    writes: int = 0  # acknowledged writes (2xx)
    conflicts: int = 0  # 409 / 412
    errors_5xx: int = 0  # 500 and other server errors (must be 0)
    busy_503: int = 0  # database busy: 503 + Retry-After (not an error, but counted)
    other: dict[int, int] = field(default_factory=dict)
    read_latencies: list[float] = field(default_factory=list)
    acks: dict[int, list[tuple[int, float]]] = field(default_factory=dict)  # pk -> [(version, value)]
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, status: int) -> None:
        with self.lock:
            if 200 <= status < 300:
                self.writes += 1
            elif status in (409, 412):
                self.conflicts += 1
            elif status == 503:
                self.busy_503 += 1
            elif status >= 500:
                self.errors_5xx += 1
            else:
                self.other[status] = self.other.get(status, 0) + 1


def writer(base: str, h: dict, rows: list[int], stop: float, t: Tally, wid: int, partner: list[str]) -> None:
    rnd = random.Random(wid)
    with httpx.Client(base_url=base, headers=h, timeout=60) as c:
        seq = 0
        while time.monotonic() < stop:
            seq += 1
            pk = rnd.choice(rows)
            got = c.get(f"/api/v1/supplies/{pk}")
            if got.status_code != 200:
                t.count(got.status_code)
                continue
            body = {k: v for k, v in got.json().items() if k not in ("pk", "updated_at", "row_version")}
            value = float(wid * 1_000_000 + seq)
            r = c.put(f"/api/v1/supplies/{pk}", json={**body, "generation_t": value},
                      headers={"If-Match": got.headers["ETag"]})
            t.count(r.status_code)
            if r.status_code == 200:
                with t.lock:
                    t.acks.setdefault(pk, []).append((r.json()["row_version"], value))
            if seq % 5 == 0:  # a site that one writer deletes while others post supplies to it
                sid = f"bench-{wid}-{seq}-{uuid.uuid4().hex[:4]}"
                made = c.post("/api/v1/sites", json={**SITE, "id": sid})
                t.count(made.status_code)
                if made.status_code == 201:
                    partner.append(sid)
                    d = c.delete(f"/api/v1/sites/{made.json()['pk']}", headers={"If-Match": made.headers["ETag"]})
                    t.count(d.status_code)
            elif partner:
                sid = partner[-1]
                r = c.post("/api/v1/supplies", json={"site": sid, "material": "steel_slag", "year": 2022,
                                                     "generation_t": 1.0})
                if r.status_code == 422:  # the site was already gone: the expected answer
                    continue
                t.count(r.status_code)


def reader(base: str, h: dict, rows: list[int], stop: float, t: Tally) -> None:
    rnd = random.Random()
    with httpx.Client(base_url=base, headers=h, timeout=60) as c:
        while time.monotonic() < stop:
            path = rnd.choice(["/api/v1/supplies?limit=50&material=steel_slag", f"/api/v1/supplies/{rnd.choice(rows)}",
                               "/api/v1/sites?limit=50"])
            started = time.perf_counter()
            r = c.get(path)
            elapsed = time.perf_counter() - started
            with t.lock:
                t.read_latencies.append(elapsed)
            if r.status_code >= 500:
                t.count(r.status_code)


def lost_updates(base: str, h: dict, start: dict[int, tuple[int, float]], t: Tally) -> int:
    """Acknowledged writes not reflected in the final rows (must be 0)."""
    lost = 0
    with httpx.Client(base_url=base, headers=h, timeout=60) as c:
        for pk, (v0, _) in start.items():
            final = c.get(f"/api/v1/supplies/{pk}").json()
            acks = sorted(t.acks.get(pk, []))
            lost += max(0, len(acks) - (final["row_version"] - v0))  # two acks on one version = one lost
            if acks and final["generation_t"] != acks[-1][1]:
                lost += 1
    return lost


def one_run(base: str, h: dict, url: str, rows: list[int], seconds: float, writers: int, readers: int) -> dict:
    with httpx.Client(base_url=base, headers=h, timeout=60) as c:
        start = {pk: (c.get(f"/api/v1/supplies/{pk}").json()["row_version"], 0.0) for pk in rows}
    t = Tally()
    partner: list[str] = []
    stop = time.monotonic() + seconds
    threads = [threading.Thread(target=writer, args=(base, h, rows, stop, t, i + 1, partner)) for i in range(writers)]
    threads += [threading.Thread(target=reader, args=(base, h, rows, stop, t)) for _ in range(readers)]
    began = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.monotonic() - began
    engine = sa.create_engine(url)
    orphans = len(dangling_references(engine))
    engine.dispose()
    lat = t.read_latencies
    p99 = statistics.quantiles(lat, n=100)[98] * 1000 if len(lat) > 1 else float("nan")
    return {"writes_s": t.writes / elapsed, "writes": t.writes, "conflicts": t.conflicts,
            "lost": lost_updates(base, h, start, t), "errors_5xx": t.errors_5xx, "busy_503": t.busy_503,
            "orphans": orphans, "reads": len(lat), "read_p99_ms": p99, "load": os.getloadavg()[0]}


def shared_rows(base: str, h: dict) -> list[int]:
    with httpx.Client(base_url=base, headers=h, timeout=60) as c:
        items = c.get(f"/api/v1/supplies?limit={SHARED_ROWS}").json()["items"]
    if len(items) < SHARED_ROWS:
        raise SystemExit("the built-in dataset holds too few supplies")
    return [r["pk"] for r in items]


def run_engine(name: str, url: str, folder: Path, args) -> list[dict]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(folder, port, url)
    try:
        h, _ = prepare(base, with_plan=False)
        rows = shared_rows(base, h)
        out = []
        for i in range(args.repeat):
            res = one_run(base, h, url, rows, args.seconds, args.writers, args.readers)
            print(f"{name} run {i + 1}: " + ", ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                                                     for k, v in res.items()), file=sys.stderr)
            out.append(res)
        return out
    finally:
        proc.terminate()
        proc.wait(30)


def pg_database(server_url: str):
    """A throw-away database on the PostgreSQL server (created, yielded, dropped)."""
    name = f"resynergy_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="length of each measured run (bounded)")
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--readers", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not 0 < args.seconds <= 600 or not 0 < args.writers <= 64 or not 0 <= args.readers <= 64 or args.repeat < 1:
        raise SystemExit("--seconds in (0, 600], --writers in 1..64, --readers in 0..64, --repeat ≥ 1")
    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="resynergy-conc-") as tmp:
        results["sqlite"] = run_engine("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", Path(tmp), args)
        pg = os.environ.get("RESYNERGY_TEST_PG_URL", "")
        if pg:
            url, drop = pg_database(pg)
            try:
                results["postgresql"] = run_engine("postgresql", url, Path(tmp), args)
            finally:
                drop()
    print(f"\n{args.writers} writers, {args.readers} readers, {args.seconds:g} s × {args.repeat}; "
          f"load average (1/5/15 min) now: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    keys = ("writes_s", "conflicts", "lost", "errors_5xx", "busy_503", "orphans", "read_p99_ms", "load")
    print(f"{'engine':<11} {'':<6} " + " ".join(f"{k:>11}" for k in keys))
    for engine, runs in results.items():
        for label, fn in (("min", min), ("median", statistics.median)):
            vals = [fn(r[k] for r in runs) for k in keys]
            print(f"{engine:<11} {label:<6} " + " ".join(f"{v:>11.1f}" if isinstance(v, float) else f"{v:>11}"
                                                         for v in vals))
    bad = [(e, r) for e, runs in results.items() for r in runs if r["lost"] or r["errors_5xx"] or r["orphans"]]
    if bad:
        raise SystemExit(f"integrity violated: {bad}")


if __name__ == "__main__":
    main()
