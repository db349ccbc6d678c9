"""The indicators: one versioned definition each, shared by plans and actual flows.

A definition says *what* counts; :mod:`resynergy.indicators.evaluate` computes values on flow
tables and the planner turns the same definition into linear expressions, so that "utilization"
is defined in exactly one place.

Counting rules (apply to every basis):
- a tonne of waste or recycled resource counts once, when it *enters a utilizing facility*
  (``facility_input``); passing through a rail terminal or a transfer site does not count, and
  products made from it and used again downstream (binder → concrete) are not counted again,
  because their material kind is ``product``;
- legacy stock drawn down and utilized counts as utilized in the year it is drawn;
- capacity (``facility_capacity``, ``capacity_added``) and actual output are kept apart;
- a programme (``programmes``: base, park, cluster, centre, enterprise) counts in year Y when it
  stands, not when it is announced: its status is ``built`` or ``accepted`` with a built year
  ≤ Y (the plan's 建设/形成/培育 read as "exists and works"), or the plan itself builds it (it
  links a candidate facility); every candidate facility it links must be built and run (input
  > 0) in Y. ``proposed`` and ``approved`` programmes do not count.
- capacity added in year Y is cumulative: everything built or expanded after the plan's base
  year (:func:`base_year`, the year before the scenario's first) up to and including Y, so that a
  plant opened in 2021 counts toward a 2022 target, whichever years a run plans.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

BASES = (
    "facility_input",     # t of matching materials entering facilities (by origin region)
    "facility_capacity",  # t/yr of output capacity of matching processes (by facility region)
    "capacity_added",     # t/yr of input capacity added since the base year (by facility region)
    "output_value",       # yuan of products made, valued at the virgin-alternative price
    "programmes",         # number of programmes of a kind that are built (bases, parks, centres…)
    "rail_share",         # share of t·km moved by rail modes
    "co2",                # kg CO2 emitted by transport and processes
    "co2_avoided",        # kg CO2 of virgin products displaced minus CO2 emitted
    "disposal",           # t sent to disposal
    "stock_drawn",        # t of legacy stock drawn down
)


@dataclass(frozen=True)
class Indicator:
    """What an indicator counts. ``version`` changes whenever the counting rule changes."""

    id: str
    name_zh: str
    name_en: str
    unit: str
    basis: str
    material_kinds: tuple[str, ...] = ()
    process_flag: str = ""  # a boolean column of the processes table, e.g. "aggregate"
    programme_kind: str = ""  # programmes.kind counted by the programmes basis
    version: int = 1
    better: str = "higher"  # "higher": a target is a floor; "lower": a target is a ceiling

    def name(self, lang: str = "zh") -> str:
        return self.name_zh if lang == "zh" else self.name_en

    def material_mask(self, materials: pd.DataFrame) -> pd.Series:
        """Which materials (rows of the materials table) this indicator counts."""
        if not self.material_kinds:
            return pd.Series(True, index=materials.index)
        return materials["kind"].isin(self.material_kinds)

    def process_mask(self, processes: pd.DataFrame) -> pd.Series:
        """Which processes (rows of the processes table) this indicator counts."""
        if not self.process_flag:
            return pd.Series(True, index=processes.index)
        return processes[self.process_flag].astype(bool)


_ALL = (
    Indicator("isw_utilized", "工业固废综合利用量", "Industrial solid waste utilized", "t",
              "facility_input", material_kinds=("industrial_waste",)),
    Indicator("recycled_resources", "主要再生资源回收利用量", "Main recycled resources recovered",
              "t", "facility_input", material_kinds=("recycled_resource",)),
    # version 2: only kiln co-processing lines count (v1 also counted C&D waste into aggregate plants)
    Indicator("urban_waste_coprocessed", "协同处置城市废弃物量", "Urban waste co-processed", "t",
              "facility_input", material_kinds=("urban_waste",), process_flag="co_processing",
              version=2),
    Indicator("co_utilization", "冶金与煤电固废协同利用量", "Metallurgical and coal-power waste co-utilized",
              "t", "facility_input", material_kinds=("industrial_waste",), process_flag="co_utilization"),
    Indicator("aggregate_capacity", "固废砂石骨料替代能力", "Aggregate substitution capacity", "t",
              "facility_capacity", process_flag="aggregate"),
    Indicator("high_value_capacity_added", "新增高值化利用能力", "New high-value utilization capacity",
              "t", "capacity_added", process_flag="high_value", version=2),
    Indicator("output_value", "产业总产值", "Industry output value", "yuan", "output_value"),
    Indicator("isw_bases", "工业固废综合利用基地", "Industrial solid waste utilization bases", "count",
              "programmes", programme_kind="isw_base", version=2),
    Indicator("recycling_parks", "再生资源产业园区", "Recycled-resource industrial parks", "count",
              "programmes", programme_kind="recycling_park", version=2),
    Indicator("clusters", "产业集聚区", "Industrial clusters", "count", "programmes",
              programme_kind="cluster", version=2),
    Indicator("innovation_centres", "产业创新中心", "Industrial innovation centres", "count",
              "programmes", programme_kind="innovation_centre", version=2),
    Indicator("backbone_enterprises", "创新型骨干企业", "Innovative backbone enterprises", "count",
              "programmes", programme_kind="backbone_enterprise", version=2),
    Indicator("co_utilization_bases", "冶金煤电固废协同利用基地", "Co-utilization production bases",
              "count", "programmes", programme_kind="co_utilization_base", version=2),
    Indicator("paper_centres", "废纸分拣加工中心", "Waste-paper sorting centres", "count",
              "programmes", programme_kind="paper_centre", version=2),
    Indicator("rail_share", "铁路运输占比（吨公里）", "Rail share of tonne-km", "share", "rail_share"),
    Indicator("co2", "二氧化碳排放", "CO2 emitted", "kg", "co2", better="lower"),
    Indicator("co2_avoided", "二氧化碳减排量", "CO2 avoided", "kg", "co2_avoided"),
    Indicator("disposal", "处置量", "Disposed", "t", "disposal", better="lower"),
    Indicator("stock_drawn", "历史堆存消纳量", "Legacy stock drawn down", "t", "stock_drawn"),
)

INDICATORS: dict[str, Indicator] = {i.id: i for i in _ALL}


def base_year(years: Iterable[int]) -> int:
    """The plan's base year, after which capacity counts as added: the year before the
    scenario's first year (2019 for a 2020–2022 scenario); 0 without years."""
    ys = [int(y) for y in years]
    return min(ys) - 1 if ys else 0


def get(indicator_id: str) -> Indicator:
    """The indicator with this id (KeyError names the known ones)."""
    try:
        return INDICATORS[indicator_id]
    except KeyError:
        raise KeyError(f"unknown indicator {indicator_id!r}; known: {', '.join(INDICATORS)}") from None
