"""Exchange matching (#12 item 2): ``Market.top`` (k-d tree + lower-bound widening) against the
full scan (``Market.scan``: every counterpart filtered and costed, vectorised) in the same run.

A synthetic market of N listings (default 10^5) on the built-in scenario's sites, modes and
rail terminals (``--sites S`` puts it on a ``resynergy.synth`` scenario of S sites instead):
offers at generating sites, materials drawn as often as the registry's supplies rows name them;
wants at facility and demand sites, half for one material, half for a process's inputs
(``process:<id>``, as ``listings.from_registry`` makes them for facilities); asks uniform in
−10…80 yuan/t with a fifth negotiable, periods (quarters of 2022 or open), a chloride spec on
most offers and a chloride cap on a fifth of the wants, 2 000 organisations. Every number here
is synthetic.

For 200 random listings it times ``top(id, k=10)`` and ``scan(id, k=10)`` (each over all the
queries in turn; both return the same ``Matches`` of MATCH_COLUMNS — breakdown, route text,
plan flag — checked equal as pandas frames), prints p50 / p99 ms of each, the ratio of the
medians, the same for the search alone (``best``: ids and delivered cost, no breakdown), the
p50 of ``top(id).frame()`` (what a caller that wants pandas pays) and of ``top(id).records()``
(the rows ``services.exchange.matches`` turns into JSON, route text in zh and en included:
``top`` writes that text only when it is first read), the candidates ``top`` costed, and repeats the whole timing ``--repeat`` times (min and median over repeats, with
the load average; the machine is shared).

    python benchmarks/matching.py [--listings 100000] [--queries 200] [--repeat 3] [--sites 0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import pandas as pd


def market_frame(scenario, n: int, seed: int = 7) -> pd.DataFrame:
    """N synthetic listings on the scenario's sites (see the module text)."""
    rng = np.random.default_rng(seed)
    sites = scenario.table("sites")
    roles = sites["roles"].fillna("")
    gen = sites.loc[roles.str.contains("generator"), "id"].to_numpy()
    use = sites.loc[roles.str.contains("facility|demand"), "id"].to_numpy()
    supplies = scenario.table("supplies")
    mats = supplies.loc[supplies["material"] != "hazardous_waste", "material"]
    weights = mats.value_counts(normalize=True)
    pio = scenario.table("process_io")
    ins = pio[pio["direction"] == "in"]
    procs = sorted(set(ins.loc[ins["material"].isin(weights.index), "process"]))
    n_offer = n // 2
    n_want = n - n_offer
    side = np.array(["offer"] * n_offer + ["want"] * n_want)
    offer_mat = rng.choice(weights.index.to_numpy(), n_offer, p=weights.to_numpy())
    proc = rng.choice(procs, n_want)
    main = ins.sort_values("rate", ascending=False).drop_duplicates("process").set_index(
        "process")["material"]
    single = rng.random(n_want) < 0.5
    want_mat = np.where(single, rng.choice(weights.index.to_numpy(), n_want, p=weights.to_numpy()),
                        main.reindex(proc).to_numpy())
    quarter = rng.integers(0, 5, n)  # 0 = open
    starts = np.array(["", "2022-01-01", "2022-04-01", "2022-07-01", "2022-10-01"])
    ends = np.array(["", "2022-03-31", "2022-06-30", "2022-09-30", "2022-12-31"])
    offer = side == "offer"
    frame = pd.DataFrame({
        "id": [f"L{i:06d}" for i in range(n)], "side": side,
        "organisation": [f"ORG{j:04d}" for j in rng.integers(0, 2000, n)],
        "site": np.where(offer, rng.choice(gen, n), rng.choice(use, n)),
        "material": np.concatenate([offer_mat, want_mat]),
        "accepts": np.concatenate([np.full(n_offer, ""), np.where(
            single, "", np.char.add("process:", proc.astype(str)))]),
        "quantity_t": rng.uniform(100, 50_000, n).round(0),
        "start": starts[quarter], "end": ends[quarter],
        "price_yuan_t": np.where(offer & (rng.random(n) < 0.8), rng.uniform(-10, 80, n).round(1),
                                 np.nan),
        "spec_cl_pct": np.where(offer & (rng.random(n) < 0.8), rng.uniform(0, 0.1, n), np.nan),
        "spec_cl_pct_max": np.where(~offer & (rng.random(n) < 0.2), 0.06, np.nan),
    })
    return frame


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--listings", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sites", type=int, default=0, help="synthetic sites (0: built-in jjj-2022)")
    args = ap.parse_args()

    from resynergy import synth
    from resynergy.exchange.matching import Market
    from resynergy.scenario import Scenario

    scenario = synth.scenario(args.sites, seed=1) if args.sites else Scenario.from_builtin(
        "jjj-2022")
    print(f"scenario: {scenario!r}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    frame = market_frame(scenario, args.listings)
    t = time.perf_counter()
    market = Market(frame, scenario)
    print(f"Market of {len(frame):,} listings built in {time.perf_counter() - t:.2f} s "
          "(listing checks, trees, terminal access)")
    rng = np.random.default_rng(11)
    ids = rng.choice(frame["id"].to_numpy(), args.queries, replace=False)
    for lid in ids[:20]:  # warm-up, and the two must agree
        pd.testing.assert_frame_equal(market.top(lid).frame(), market.scan(lid).frame())
    runs = []
    for r in range(args.repeat):
        load = os.getloadavg()[0]
        def timed(call) -> tuple[list[float], list[int]]:
            """ms of ``call(id)`` for every query id, one method at a time (each sees the
            caches as it leaves them, not as another method left them), and the candidates
            ``top`` costed for each."""
            out, seen = [], []
            for lid in ids:
                t = time.perf_counter()
                call(lid)
                out.append((time.perf_counter() - t) * 1e3)
                seen.append(market.costed)
            return out, seen

        fast, costed = timed(market.top)
        full, _ = timed(market.scan)
        s_fast, _ = timed(market.best)
        s_full, _ = timed(lambda lid: market.best(lid, full_scan=True))
        framed, _ = timed(lambda lid: market.top(lid).frame())
        api, _ = timed(lambda lid: market.top(lid).records())
        pairs = [b / a for a, b in zip(fast, full, strict=True)]
        if r == 0:
            for lid in ids:
                pd.testing.assert_frame_equal(market.top(lid).frame(), market.scan(lid).frame())
        rec = {"top_p50": pct(fast, 50), "top_p99": pct(fast, 99), "top_max": max(fast),
               "scan_p50": pct(full, 50), "scan_p99": pct(full, 99),
               "ratio_median": statistics.median(full) / statistics.median(fast),
               "ratio_per_query_median": statistics.median(pairs),
               "search_p50": pct(s_fast, 50), "search_scan_p50": pct(s_full, 50),
               "search_ratio": statistics.median(s_full) / statistics.median(s_fast),
               "top_frame_p50": pct(framed, 50), "top_records_p50": pct(api, 50),
               "costed_median": statistics.median(costed), "costed_p99": pct(costed, 99),
               "load": (round(load, 2), round(os.getloadavg()[0], 2))}
        runs.append(rec)
        print(f"run {r + 1}: top p50 {rec['top_p50']:.2f} ms, p99 {rec['top_p99']:.2f} ms "
              f"(max {rec['top_max']:.1f}); scan p50 {rec['scan_p50']:.1f} ms, p99 "
              f"{rec['scan_p99']:.1f} ms; ratio of medians {rec['ratio_median']:.1f}×, median "
              f"per-query ratio {rec['ratio_per_query_median']:.1f}×; search only (best(), no "
              f"frame): {rec['search_p50']:.2f} vs {rec['search_scan_p50']:.2f} ms p50, "
              f"{rec['search_ratio']:.1f}×; top + .frame() p50 {rec['top_frame_p50']:.2f} "
              f"ms; top + .records() (the API's rows, route text included) p50 "
              f"{rec['top_records_p50']:.2f} ms; candidates costed by top: "
              f"median {rec['costed_median']:.0f}, p99 {rec['costed_p99']:.0f}; "
              f"load {rec['load'][0]}→{rec['load'][1]}")
    print("\nover repeats (min / median):")
    for key in ("top_p50", "top_p99", "scan_p50", "scan_p99", "ratio_median",
                "ratio_per_query_median", "search_p50", "search_scan_p50", "search_ratio",
                "top_frame_p50", "top_records_p50", "costed_median", "costed_p99"):
        vals = [r[key] for r in runs]
        print(f"  {key}: {min(vals):.2f} / {statistics.median(vals):.2f}")
    print(f"  all {len(ids)} queries: top == scan (checked in run 1)")


if __name__ == "__main__":
    main()
