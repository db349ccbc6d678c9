"""A scenario's inventory: row counts and totals by province and material (what
``resynergy data info`` shows)."""

from __future__ import annotations

import pandas as pd

from resynergy.scenario.model import Scenario


def totals(scenario: Scenario, table: str, value: str, year: int | None) -> pd.DataFrame:
    """``value`` of ``table`` summed by province and material for ``year`` (all years when None)."""
    frame = scenario.table(table)
    if year is not None:
        frame = frame[frame["year"] == year]
    frame = frame.assign(province=frame["site"].map(scenario.site_province()))
    return frame.groupby(["province", "material"], as_index=False)[value].sum()


def inventory(scenario: Scenario, year: int | None = None) -> dict[str, object]:
    """Row counts of every table and totals by province and material, JSON-ready."""
    year = year if year is not None else (scenario.years[-1] if scenario.years else None)

    def nested(frame: pd.DataFrame, value: str) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for row in frame.itertuples(index=False):
            out.setdefault(row.province, {})[row.material] = float(getattr(row, value))
        return out

    facilities = scenario.table("facilities").assign(
        province=lambda f: f["site"].map(scenario.site_province()))
    capacity = facilities[~facilities["candidate"]].groupby(["province", "process"])["capacity_t"].sum()
    capacity_nested: dict[str, dict[str, float]] = {}
    for (prov, proc), t in capacity.items():
        capacity_nested.setdefault(prov, {})[proc] = float(t)
    return {
        "name": scenario.name,
        "year": year,
        "years": scenario.years,
        "counts": {t: len(f) for t, f in scenario.tables.items()},
        "generation_t": nested(totals(scenario, "supplies", "generation_t", year), "generation_t"),
        "stock_t": nested(totals(scenario, "supplies", "stock_t", year), "stock_t"),
        "demand_t": nested(totals(scenario, "demands", "quantity_t", year), "quantity_t"),
        "capacity_t": capacity_nested,
    }
