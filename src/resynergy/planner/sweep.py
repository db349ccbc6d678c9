"""Solve many scenarios at once: one after another, or spread over a Dask cluster.

A cluster is a ``LocalCluster`` of worker processes on this machine (``workers`` > 1) or an
existing scheduler (``scheduler="tcp://host:8786"``). Each job is an independent solve, so a
sweep of policy variants or Monte-Carlo draws scales with the workers; results come back in the
order the jobs were given.

Serially, a job that differs from the first one planned only in numbers the model can change in
place (prices such as the carbon price and the tax-incentive switch, the CO2 cap:
:data:`resynergy.planner.resolve.IN_PLACE_POLICY`; the objective and its weights:
``IN_PLACE_OPTIONS``) re-uses its network, model and HiGHS instance and is re-solved warm; every
other job is planned cold. Pass a :class:`~resynergy.planner.resolve.Sweep` to read how many
points were which (``sweep.warm``, ``sweep.cold``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from resynergy.planner.options import PlanOptions
from resynergy.planner.plan import Plan
from resynergy.planner.resolve import Sweep
from resynergy.planner.solve import solve
from resynergy.scenario import Scenario

Progress = Callable[[str, float], None]


def solve_many(jobs: Mapping[str, tuple[Scenario, PlanOptions]], *, workers: int = 1,
               scheduler: str | None = None, progress: Progress | None = None,
               sweep: Sweep | None = None) -> dict[str, Plan]:
    """Solve every ``label: (scenario, options)`` job; ``progress(label, fraction_done)``;
    ``sweep`` (serial only): the one to re-solve in place with, which counts the points."""
    report = progress or (lambda label, fraction: None)
    if workers <= 1 and scheduler is None:
        plans = {}
        sweep = sweep if sweep is not None else Sweep()
        for i, (label, (scenario, options)) in enumerate(jobs.items()):
            def step(_stage: str, f: float, i: int = i, label: str = label) -> None:
                report(label, (i + f) / len(jobs))

            plans[label] = solve(scenario, options, progress=step, sweep=sweep)
        return plans
    return _on_dask(jobs, workers, scheduler, report)


def _on_dask(jobs: Mapping[str, tuple[Scenario, PlanOptions]], workers: int, scheduler: str | None,
             report: Progress) -> dict[str, Plan]:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None if scheduler else LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
        host="127.0.0.1")
    try:
        with Client(scheduler or cluster) as client:
            futures = {client.submit(solve, scenario, options, pure=False): label
                       for label, (scenario, options) in jobs.items()}
            done: dict[str, Plan] = {}
            for future in as_completed(futures):
                label = futures[future]
                done[label] = future.result()
                report(label, len(done) / len(jobs))
    finally:
        if cluster is not None:
            cluster.close()
    return {label: done[label] for label in jobs}
