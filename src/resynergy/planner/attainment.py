"""Target attainment of a plan, evaluated with the shared indicator definitions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from resynergy.indicators import attainment
from resynergy.indicators.evaluate import evaluate_once
from resynergy.planner.data import ModelData
from resynergy.scenario.protocol import ScenarioLike
from resynergy.schema import outputs
from resynergy.states import TargetStatus

if TYPE_CHECKING:
    from resynergy.planner.plan import Plan
    from resynergy.planner.results import Solution

COLUMNS = outputs.column_names("targets")


def attainment_table(data: ModelData, scenario: ScenarioLike, plan: Plan,
                     sol: Solution | None) -> pd.DataFrame:
    """Every scenario target against the plan's indicator values, with the shadow price (yuan
    per unit of the indicator) of those the model constrains. Targets in years the plan does not
    cover have status 'not_planned'.

    Every indicator is evaluated here, once (``evaluate_once``, kept on ``plan.evaluated``), so
    that the report reuses these values instead of evaluating the plan a second time."""
    targets = data.report_targets
    if targets is None or targets.empty:
        return pd.DataFrame(columns=COLUMNS)
    planned = targets[targets["year"].isin(data.years)]
    if len(planned) and sol is not None:
        values = evaluate_once(plan, scenario)
        out = attainment(planned, values)
    else:
        out = attainment(planned, pd.DataFrame(columns=["indicator", "region", "material",
                                                        "year", "value"]))
    rest = targets[~targets["year"].isin(data.years)].rename(columns={"value": "target"})
    rest = rest.assign(value=np.nan, shortfall=np.nan, attainment=np.nan,
                       status=TargetStatus.NOT_PLANNED)
    out = pd.concat([out, rest[[c for c in out.columns if c in rest]]], ignore_index=True)
    out["shadow_price"] = np.nan
    if sol is not None and sol.target_dual is not None and data.targets is not None:
        # Targets are in indicator units (the scenario converted them), as are the duals.
        price = pd.Series(sol.target_dual, index=data.targets.table["id"])
        out["shadow_price"] = out["id"].map(price)
    return out[[c for c in COLUMNS if c in out]].reset_index(drop=True)
