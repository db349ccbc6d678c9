"""The planner: least-cost (or least-CO2, most-utilization) flows, facility use and siting.

``solve(scenario, PlanOptions(...), progress=None)`` returns a :class:`Plan`; ``greedy`` gives a
nearest-feasible baseline with the same tables.
"""

from resynergy.planner.greedy import greedy
from resynergy.planner.options import OBJECTIVES, PlanOptions
from resynergy.planner.plan import TABLES, Plan
from resynergy.planner.solve import solve
from resynergy.states import PlanStatus

__all__ = ["OBJECTIVES", "PlanStatus", "TABLES", "Plan", "PlanOptions", "greedy", "solve"]
