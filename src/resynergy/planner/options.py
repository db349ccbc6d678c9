"""What a planning run is asked to do."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from resynergy.network.arcs import NetworkOptions
from resynergy.planner.actuals import Actuals

OBJECTIVES = ("cost", "co2", "utilization")

# Blend weights per objective: yuan per yuan of cost, per kg CO2 and per t utilized. The small
# cost weight under co2/utilization breaks ties towards the cheaper of equally good plans.
DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {
    "cost": {"cost": 1.0},
    "co2": {"co2": 1.0, "cost": 1e-4},
    "utilization": {"utilization": 1.0, "cost": 1e-4},
}

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class PlanOptions:
    """Options of :func:`resynergy.planner.solve`.

    - ``objective``: 'cost' (least total cost), 'co2' (least CO2: transport + processes + the
      virgin products bought for unmet demand) or 'utilization' (most waste and recycled
      resources entering facilities);
    - ``weights``: a blend instead, e.g. ``{"cost": 1, "co2": 0.05}`` (yuan per yuan, per kg CO2,
      per t utilized; utilization is rewarded);
    - ``years``: the years to plan (default: every year of the scenario); capacity built or
      expanded in one year is available in later years;
    - ``time_limit`` (s, for each HiGHS run: the MILP, and each re-solve for the duals or the
      diagnosis; a MILP stopped without a plan gives the plan from its greedy start
      ``solve.LAST_RESORT_LIMITS`` times it) and ``mip_gap`` (relative) bound the solver;
    - ``relax_on_infeasible``: when the plan is infeasible, re-solve with elastic slacks and
      explain what to relax, instead of returning no plan;
    - ``iis``: also ask HiGHS for an irreducible infeasible subset (slow: minutes on big models);
    - ``network``: arc pruning (default: k_nearest / max_distance_km from the scenario policy);
    - ``solver``: HiGHS 'simplex', 'ipm' or None (simplex below ~5×10⁴ variables, else ipm);
    - ``linking``: how candidate facilities are tied to their build decision: 'disaggregated'
      (per-arc linking, tight) or 'bigm' (one big-M row per facility; for benchmarks);
    - ``duals``: after a MILP, fix its integer decisions in the solved HiGHS model and re-solve
      the LP for shadow prices (none, and the diagnosis says so, unless that LP is optimal);
    - ``highs_options``: further HiGHS options (e.g. ``mip_max_nodes``, a limit that does not
      depend on the machine's speed);
    - ``actuals``: recorded flows (:class:`resynergy.planner.actuals.Actuals`); the planned years
      up to its ``through`` year are fixed to them, later years planned on top.
    """

    objective: str = "cost"
    weights: Mapping[str, float] | None = None
    years: Sequence[int] | None = None
    time_limit: float = 60.0
    mip_gap: float = 0.01
    relax_on_infeasible: bool = True
    iis: bool = False
    network: NetworkOptions | None = None
    solver: str | None = None
    linking: str = "disaggregated"
    duals: bool = True
    highs_options: Mapping[str, object] | None = None
    actuals: Actuals | None = None

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, "
                             f"not {self.objective!r}")
        if self.weights is not None:
            bad = sorted(set(self.weights) - set(OBJECTIVES))
            if bad:
                raise ValueError(f"unknown weight(s) {bad}; expected keys among {OBJECTIVES}")
        if self.linking not in ("disaggregated", "bigm"):
            raise ValueError(f"linking must be 'disaggregated' or 'bigm', not {self.linking!r}")
        if self.solver not in (None, "simplex", "ipm", "pdlp"):
            raise ValueError(f"solver must be simplex, ipm, pdlp or None, not {self.solver!r}")
        if self.time_limit <= 0 or not 0 <= self.mip_gap < 1:
            raise ValueError("time_limit must be > 0 and mip_gap in [0, 1)")

    def blend(self) -> dict[str, float]:
        """The objective as weights on cost, co2 and utilization."""
        return dict(self.weights) if self.weights is not None else DEFAULT_WEIGHTS[self.objective]
