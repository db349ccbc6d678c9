"""Bilingual words of the reports: names from the scenario, labels of result columns, units."""

from __future__ import annotations

from resynergy.scenario.names import Names  # the one bilingual name lookup, re-exported

__all__ = ["COLUMNS", "STATUS", "COMPONENTS", "Names", "bilingual", "column",
           "component", "status", "pick"]

# Result-table columns (the planner's Plan contract and the report's own tables): zh, en.
COLUMNS: dict[str, tuple[str, str]] = {
    "year": ("年份", "Year"),
    "from_site": ("起点", "From"),
    "to_site": ("终点", "To"),
    "from_name": ("起点名称", "From (name)"),
    "to_name": ("终点名称", "To (name)"),
    "material": ("物料", "Material"),
    "material_name": ("物料名称", "Material (name)"),
    "mode": ("运输方式", "Mode"),
    "leg": ("运输段", "Leg"),
    "route": ("联运线路", "Route"),
    "t": ("吨", "Tonnes"),
    "distance_km": ("距离（公里）", "Distance (km)"),
    "tkm": ("吨公里", "Tonne-km"),
    "cost_yuan": ("费用（元）", "Cost (yuan)"),
    "co2_kg": ("二氧化碳（千克）", "CO2 (kg)"),
    "facility": ("设施", "Facility"),
    "site": ("站点", "Site"),
    "process": ("工艺", "Process"),
    "direction": ("投入/产出", "In/out"),
    "candidate": ("候选", "Candidate"),
    "built": ("建设", "Built"),
    "capacity_t": ("能力（吨/年）", "Capacity (t/yr)"),
    "new_capacity_t": ("新增能力（吨/年）", "New capacity (t/yr)"),
    "input_t": ("投入量（吨）", "Input (t)"),
    "utilisation": ("负荷率", "Utilisation"),
    "capacity_dual": ("每增加1吨能力的边际价值（元/吨）", "Value of one more t of capacity (yuan/t)"),
    "generation_t": ("产生量（吨）", "Generated (t)"),
    "stock_drawn_t": ("存量消纳（吨）", "Stock drawn (t)"),
    "shipped_t": ("外运量（吨）", "Shipped (t)"),
    "disposed_t": ("处置量（吨）", "Disposed (t)"),
    "demand_t": ("需求量（吨）", "Demand (t)"),
    "delivered_t": ("供应量（吨）", "Delivered (t)"),
    "unmet_t": ("未满足（吨）", "Unmet (t)"),
    "value": ("数值", "Value"),
    "component": ("构成", "Component"),
    "yuan": ("元", "Yuan"),
    "kg": ("千克", "kg"),
    "id": ("代码", "Id"),
    "indicator": ("指标", "Indicator"),
    "indicator_name": ("指标名称", "Indicator (name)"),
    "level": ("层级", "Level"),
    "region": ("地区", "Region"),
    "province": ("省份", "Province"),
    "region_name": ("地区名称", "Region (name)"),
    "kind": ("类型", "Kind"),
    "unit": ("单位", "Unit"),
    "name_zh": ("中文名称", "Chinese name"),
    "name_en": ("英文名称", "English name"),
    "target": ("目标值", "Target"),
    "shortfall": ("缺口", "Shortfall"),
    "attainment": ("完成率", "Attainment"),
    "shadow_price": ("每多完成1单位的边际成本", "Marginal cost of one more unit"),
    "status": ("状态", "Status"),
    "subject": ("对象", "Subject"),
    "amount": ("数量", "Amount"),
    "message_zh": ("说明（中文）", "Message (Chinese)"),
    "message_en": ("说明（英文）", "Message (English)"),
    "key": ("项目", "Key"),
    "scenario": ("情景", "Scenario"),
    "variant": ("方案", "Variant"),
    "method": ("方法", "Method"),
    "projected": ("预测值", "Projected"),
    "projected_year": ("预测年份", "Projected year"),
    "gap": ("差距", "Gap"),
    "action": ("措施", "Action"),
    "basis": ("依据", "Basis"),
    # flows: names, handling and the facilities at either end
    "handling_yuan": ("装卸费用（元）", "Handling (yuan)"),
    "from_facility": ("起点设施", "From facility"),
    "to_facility": ("终点设施", "To facility"),
    "from_site_zh": ("起点名称（中文）", "From (Chinese name)"),
    "from_site_en": ("起点名称（英文）", "From (English name)"),
    "to_site_zh": ("终点名称（中文）", "To (Chinese name)"),
    "to_site_en": ("终点名称（英文）", "To (English name)"),
    "material_zh": ("物料名称（中文）", "Material (Chinese name)"),
    "material_en": ("物料名称（英文）", "Material (English name)"),
    "site_zh": ("站点名称（中文）", "Site (Chinese name)"),
    "site_en": ("站点名称（英文）", "Site (English name)"),
    "site_name": ("站点名称", "Site (name)"),
    "running_capacity_t": ("在用能力（吨/年）", "Capacity in use (t/yr)"),
    # shortages: demand met by neither recycled nor virgin supply
    "virgin_t": ("外购原生（吨）", "Virgin bought (t)"),
    "shortage_t": ("供应短缺（吨）", "Shortage (t)"),
    "shortage_cost": ("短缺折算单价（元/吨）", "Shortage price (yuan/t)"),
    # corridor shares
    "corridor": ("通道", "Corridor"),
    "corridor_name": ("通道名称", "Corridor (name)"),
    "corridor_zh": ("通道名称（中文）", "Corridor (Chinese name)"),
    "corridor_en": ("通道名称（英文）", "Corridor (English name)"),
    "rail_t": ("铁路运量（吨）", "By rail (t)"),
    "rail_share": ("铁路占比（吨）", "Rail share (t)"),
    "min_rail_share": ("最低铁路占比", "Min rail share"),
    "road_tkm": ("公路吨公里", "Road tonne-km"),
    "nev_tkm": ("新能源货车吨公里", "New-energy truck tonne-km"),
    "nev_share": ("新能源货车占比（公路吨公里）", "New-energy share (road t·km)"),
    "min_nev_share": ("最低新能源占比", "Min new-energy share"),
}

STATUS: dict[str, tuple[str, str]] = {
    "met": ("达成", "met"),
    "on_track": ("进度正常", "on track"),
    "at_risk": ("存在风险", "at risk"),
    "missed": ("未达成", "missed"),
    "not_measurable": ("无法从流向数据计量", "not measurable from flows"),
    "reported": ("仅报告（计划未设数量）", "reported only (no figure in the plan)"),
    "optimal": ("最优", "optimal"),
    "time_limit": ("达到时限（可行解）", "time limit (feasible)"),
    "relaxed": ("放宽目标后求解", "solved with relaxed targets"),
    "infeasible": ("不可行", "infeasible"),
    "heuristic": ("启发式（贪心基线）", "heuristic (greedy baseline)"),
    "not_planned": ("未纳入规划年份", "year not planned"),
}

# Cost and emission components the planner reports; others are shown by their id.
COMPONENTS: dict[str, tuple[str, str]] = {
    "transport": ("运输", "transport"),
    "transport_road": ("公路运输", "road transport"),
    "transport_rail": ("铁路运输", "rail transport"),
    "process": ("加工过程", "processing"),
    "virgin_purchase": ("外购原生替代品", "virgin alternatives bought"),
    "virgin_alternative": ("外购原生替代品", "virgin alternatives bought"),
    "target_penalty": ("目标缺口折算", "target shortfall, priced"),
    "shortage": ("供应短缺折算", "shortage, priced"),
    "onsite_handling": ("同址利用短驳", "on-site handling"),
    "handling": ("货场装卸", "terminal handling"),
    "processing": ("加工运行", "processing"),
    "opex": ("运行成本", "operating cost"),
    "capex": ("投资年金", "capital (annuity)"),
    "fixed": ("固定成本", "fixed cost"),
    "disposal": ("处置", "disposal"),
    "env_tax": ("环境保护税", "environmental tax"),
    "carbon": ("碳成本", "carbon cost"),
    "incentives": ("税收优惠", "tax incentives"),
    "revenue": ("产品收入", "product revenue"),
    "penalty": ("目标缺口折算", "target shortfall, priced"),
    "unmet_demand": ("需求未满足", "unmet demand"),
}

LANGS = ("zh", "en")  # the languages of every report and page: Chinese first


def pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def column(name: str, lang: str) -> str:
    return pick(COLUMNS[name], lang) if name in COLUMNS else name


def bilingual(name: str) -> str:
    """``中文 / English`` header of a result column."""
    zh, en = COLUMNS.get(name, (name, name))
    return zh if zh == en else f"{zh} / {en}"


def status(s: str, lang: str) -> str:
    return pick(STATUS[s], lang) if s in STATUS else s


def component(c: str, lang: str) -> str:
    return pick(COMPONENTS[c], lang) if c in COMPONENTS else c
