"""Words of the pages in Chinese (default) and English. Column and table labels come from the
scenario schema; everything else is here, keyed by a short id."""

from __future__ import annotations

from resynergy import schema
from resynergy.catalog import workdays
from resynergy.report.labels import LANGS  # noqa: F401 - the pages speak the report's languages

DEFAULT_LANG = "zh"
LANG_COOKIE = "lang"

TABLES: dict[str, tuple[str, str]] = {
    "regions": ("行政区划", "Regions"), "organisations": ("单位", "Organisations"), "sites": ("站点", "Sites"),
    "supplies": ("产废", "Supplies"), "facilities": ("利用设施", "Facilities"), "demands": ("产品需求", "Demands"),
    "terminals": ("铁路货场", "Rail terminals"), "lanes": ("运输线路", "Lanes"), "corridors": ("运输通道", "Corridors"),
    "virgin_supply": ("原生砂石等供应能力", "Virgin supply"),
    "programmes": ("规划项目（基地、园区、中心）", "Programmes (bases, parks, centres)"),
    "targets": ("目标", "Targets"), "policy": ("政策参数", "Policy"),
}
ROLES: dict[str, tuple[str, str]] = {
    "admin": ("管理员", "administrator"), "planner": ("规划人员", "planner"), "regulator": ("监管人员", "regulator"),
    "evaluator": ("评价机构", "evaluator"), "enterprise": ("企业", "enterprise"), "public": ("公众", "public"),
}
STATES: dict[str, tuple[str, str]] = {
    "queued": ("排队中", "queued"), "running": ("计算中", "running"), "cancelling": ("正在取消", "cancelling"),
    "succeeded": ("已完成", "succeeded"), "failed": ("失败", "failed"), "cancelled": ("已取消", "cancelled"),
}
# What a run's worker is doing (the planner's and the worker's stage names), as users read it.
STAGES: dict[str, tuple[str, str]] = {
    "": ("等待开始", "waiting"), "starting": ("正在启动", "starting"), "model": ("准备模型", "preparing the model"),
    "network": ("生成运输网络", "building the transport network"), "build": ("建立优化模型", "building the model"),
    "solve": ("求解中", "solving"), "relax": ("放宽目标后重新求解", "solving again with relaxed targets"),
    "duals": ("计算边际价值", "pricing the constraints"), "results": ("整理结果", "collecting the results"),
    "diagnosis": ("分析未达成原因", "explaining the misses"), "report": ("生成报告", "writing the report"),
    "saving": ("保存结果", "saving the results"), "done": ("完成", "done"),
    "cancelled": ("已取消", "cancelled"), "failed": ("失败", "failed"),
    # a background load of the built-in dataset
    "reading": ("读取数据集", "reading the dataset"), "checking": ("校验数据", "checking the data"),
    "writing": ("写入登记库", "writing the registry"),
}
# Choices of registry columns in words (stored as their codes; a code without words shows itself).
CHOICES: dict[str, dict[str, tuple[str, str]]] = {
    "level": {"province": ("省级", "province"), "prefecture": ("地市级", "prefecture")},
    "status": {"proposed": ("拟建", "proposed"), "approved": ("已批复", "approved"), "built": ("已建成", "built"),
               "accepted": ("已验收", "accepted")},
    "kind": {"hard": ("约束性", "binding"), "soft": ("预期性（可有缺口）", "indicative (may fall short)"),
             "report": ("仅报告", "reported only"), "isw_base": ("工业资源综合利用基地", "industrial resource utilization base"),
             "recycling_park": ("再生资源产业园", "recycling park"), "cluster": ("产业集群", "industrial cluster"),
             "innovation_centre": ("创新中心", "innovation centre"), "backbone_enterprise": ("骨干企业", "backbone enterprise"),
             "co_utilization_base": ("协同利用基地", "co-utilization base"), "paper_centre": ("废纸回收分拣中心", "waste-paper centre")},
    "roles": {"generator": ("产废", "generator"), "facility": ("利用设施", "facility"), "demand": ("产品需求", "demand")},
}
MESSAGES: dict[str, tuple[str, str]] = {
    "app": ("工业固废资源综合利用协同规划平台", "Industrial solid-waste utilization planning platform"),
    "dashboard": ("总览", "Dashboard"), "registry": ("登记库", "Registry"), "import": ("批量导入", "Import"),
    "runs": ("情景与运行", "Scenarios & runs"), "enterprise": ("本单位", "My organisation"),
    "admin": ("用户管理", "Users"), "audit": ("审计日志", "Audit log"),
    "login": ("登录", "Sign in"), "logout": ("退出", "Sign out"), "username": ("用户名", "Username"),
    "password": ("密码", "Password"), "switch_lang": ("English", "中文"),
    "bad_login": ("用户名或密码错误", "Wrong username or password"),
    "no_plan": ("尚未发布规划。", "No plan has been published yet."),
    "load_builtin": ("载入内置数据集（京津冀 2022）", "Load the built-in dataset (JJJ 2022)"),
    "builtin_loaded": ("已载入内置数据集", "Built-in dataset loaded"),
    "builtin_loading": ("正在后台载入内置数据集", "Loading the built-in dataset in the background"),
    "builtin_wait": ("载入需要十几秒，可离开本页，完成后在导入记录中可见。",
                     "Loading takes a few seconds; you may leave this page, the result is kept in the import history."),
    "builtin_failed": ("内置数据集载入失败", "Loading the built-in dataset failed"),
    "to_registry": ("查看登记库", "Open the registry"),
    "published_plan": ("已发布规划", "Published plan"), "plan_scope": ("范围", "covers"), "latest_run": ("最近运行", "Latest run"),
    "map": ("区域地图", "Regional map"), "sankey": ("物料流", "Material flows"),
    "attainment": ("目标完成", "Target attainment"), "trajectory": ("目标轨迹", "Trajectory"),
    "costs": ("费用", "Costs"), "co2": ("碳排放", "CO2"),
    "search": ("搜索", "Search"), "province": ("省份", "Province"), "material": ("物料", "Material"),
    "all": ("全部", "all"), "new": ("新增", "New"), "edit": ("编辑", "Edit"), "save": ("保存", "Save"),
    "delete": ("删除", "Delete"), "confirm_delete": ("确定删除？", "Delete this record?"),
    "export": ("导出", "Export"), "rows": ("条", "rows"), "prev": ("上一页", "Previous"), "next": ("下一页", "Next"),
    "no_rows": ("没有记录", "No records"), "saved": ("已保存", "Saved"), "deleted": ("已删除", "Deleted"),
    "errors": ("错误", "Errors"), "nothing_written": ("数据有误，未写入任何内容。", "Invalid data; nothing was written."),
    "file": ("文件", "File"), "table": ("表", "Table"), "table_for_csv": ("CSV 对应的表", "Table (for a CSV file)"),
    "upload": ("上传并导入", "Upload and import"),
    "import_help": ("上传 .xlsx 工作簿（每个工作表一张表）或单表 .csv；任一错误则整体拒绝。",
                    "Upload an .xlsx workbook (one sheet per table) or one table as .csv; any error rejects the whole file."),
    "import_ok": ("导入成功", "Import accepted"), "import_rejected": ("导入被拒绝", "Import rejected"),
    "error_workbook": ("下载错误标注工作簿", "Download the workbook with the errors marked"),
    "created": ("新增", "created"), "updated": ("更新", "updated"), "history": ("导入记录", "History"),
    "template": ("下载空白模板", "Download a blank template"),
    "scenarios": ("情景", "Scenarios"), "snapshot": ("保存当前登记库为情景", "Snapshot the registry as a scenario"),
    "name": ("名称", "Name"), "description": ("说明", "Description"), "version": ("版本", "Version"),
    "submit_run": ("提交规划运行", "Submit a planning run"), "scenario": ("情景", "Scenario"),
    "objective": ("目标函数", "Objective"), "obj_cost": ("总费用最低", "least cost"),
    "obj_co2": ("碳排放最低", "least CO2"), "obj_utilization": ("利用量最大", "most utilization"),
    "years": ("年份（逗号分隔，空=全部）", "Years (comma-separated, blank = all)"),
    "carbon_price": ("碳价（元/吨CO₂，空=情景值）", "Carbon price (yuan/t CO₂, blank = scenario)"),
    "time_limit": ("求解时限（秒）", "Time limit (s)"), "submit": ("提交", "Submit"),
    "state": ("状态", "State"), "progress": ("进度", "Progress"), "cancel": ("取消", "Cancel"),
    "publish": ("发布", "Publish"), "unpublish": ("撤回发布", "Withdraw"), "published": ("已发布", "published"),
    "report": ("报告", "Report"), "log": ("日志", "Log"), "inputs": ("输入", "Inputs"),
    "compare": ("对比", "Compare"), "run": ("运行", "Run"), "created_at": ("创建时间", "Created"),
    "finished_at": ("完成时间", "Finished"), "plan_status": ("求解状态", "Solver status"),
    "objective_value": ("目标函数值（费用）", "Objective (cost)"), "error": ("错误", "Error"),
    "totals": ("合计", "Totals"), "indicator": ("指标", "Indicator"), "target": ("目标", "Target"),
    "value": ("数值", "Value"), "status": ("状态", "Status"), "headline": ("主要指标", "Headline indicators"),
    "targets": ("目标", "Targets"),
    "users": ("用户", "Users"), "role": ("角色", "Role"), "organisation": ("所属单位", "Organisation"),
    "scope": ("省级范围", "Province scope"), "active": ("启用", "Active"), "add_user": ("新建用户", "Add user"),
    "revoke": ("强制下线", "Revoke sessions"), "display_name": ("显示名称", "Display name"),
    "when": ("时间", "When"), "who": ("用户", "Who"), "action": ("操作", "Action"), "object": ("对象", "Object"),
    "change": ("变更", "Change"), "ip": ("地址", "Address"),
    "own_records": ("本单位的记录", "Your organisation's records"),
    "no_org": ("您的账户未关联单位。", "Your account is not linked to an organisation."),
    "forbidden": ("无权访问此页面。", "You may not open this page."),
    "not_found": ("页面或记录不存在。", "Page or record not found."),
    "back": ("返回", "Back"), "yes": ("是", "yes"), "no": ("否", "no"),
    "public_note": ("公众仅可查看已发布规划的汇总数据。", "The public sees aggregates of the published plan only."),
    "nothing_to_compare": ("需要两个已完成的运行。", "Two succeeded runs are needed."),
    "run_a": ("运行 A", "Run A"), "run_b": ("运行 B", "Run B"),
    "read_only_regional": ("这是已发布的全区域规划，本省人员只读：不能修改、撤回或以省级规划替换。",
                           "This is the published region-wide plan: read-only for province staff, who cannot change, "
                           "withdraw or replace it."),
    "confirm_publish": ("发布后，公众无需登录即可看到本规划（范围：{scope}）的汇总：主要指标、目标完成情况，以及图表：{figures}。"
                        "站点、流向明细与地图仍只对登录人员可见。",
                        "Once published, anyone can see this plan's aggregates without signing in (covers: {scope}): "
                        "headline indicators, target attainment and the figures {figures}. Sites, flows and the map "
                        "stay for signed-in staff. "),
    "confirm_publish_region": ("它将成为公开的全区域规划，替换此前发布的全区域规划。确定发布？",
                               "It becomes the public region-wide plan, replacing the one published before. Publish?"),
    "confirm_publish_province": ("它作为省级规划与全区域规划并列公开，不会替换全区域规划。确定发布？",
                                 "It is shown beside the region-wide plan as a provincial plan and never replaces it. Publish?"),
    "confirm_withdraw": ("撤回后公众将看不到本规划。确定撤回？", "Once withdrawn the public no longer sees this plan. Withdraw?"),
    "own_province_targets": ("{province}的目标", "Targets of {province}"),
    "own_province_indicators": ("{province}的指标", "Indicators of {province}"),
    "no_province_targets": ("本规划没有为本省设定目标。", "The plan sets no target for this province."),
    "region_targets": ("全区域及其他省份的目标", "Targets of the whole region and other provinces"),
    "parameters": ("运行参数", "Parameters"), "year": ("年份", "Year"),
    "plan_sends": ("规划中本单位固废的去向", "Where the plan sends your waste"),
    "plan_sends_none": ("已发布规划中没有从本单位站点运出的流向。", "The published plan moves nothing from your sites."),
    "from_site": ("起点站点", "From site"), "to_site": ("去向站点", "To site"), "to_region": ("去向地区", "To region"),
    "mode": ("运输方式", "Mode"), "tonnes": ("数量", "Quantity"), "item": ("项目", "Item"), "indicators": ("指标（全区域）", "Indicators (whole region)"),
    "all_years": ("全部年份", "all years"), "policy_carbon_price": ("碳价（元/吨CO₂）", "carbon price (yuan/t CO₂)"),
    "title": ("标题", "Title"), "title_hint": ("如：2022 年碳价 200 元方案", "e.g. 2022, carbon price 200"),
    "stage": ("阶段", "Stage"),
    "snapshot_created": ("已保存新的情景版本", "New scenario version saved"),
    "snapshot_unchanged": ("登记库未变化，沿用最新情景版本", "Registry unchanged; the latest scenario version is kept"),
    # #12 electronic manifests (联单) and alerts
    "manifests": ("转移联单", "Manifests"), "alerts": ("联单预警", "Manifest alerts"),
    "manifest_created": ("已创建联单草稿", "Manifest draft created"), "manifest_saved": ("联单已保存", "Manifest saved"),
    "manifest_step_done": ("已完成签字/操作", "Step done"),
    # #12 leftovers: enterprise-filed cross-province transfer requests (跨省转移商请)
    "request_filed": ("已提交跨省转移商请，待移出地生态环境部门审批", "Transfer request filed; the origin province decides"),
    "request_decided": ("已处理跨省转移商请", "Transfer request decided"),
}


def add_words(block: dict[str, tuple[str, str]]) -> None:
    """Add a feature's words to MESSAGES; a key already there with other words is refused, so
    two features can never silently take each other's word (one definition per word)."""
    clash = sorted(k for k, v in block.items() if k in MESSAGES and MESSAGES[k] != v)
    if clash:
        raise ValueError(f"i18n words defined twice with different text: {clash}")
    MESSAGES.update(block)



def pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def t(key: str, lang: str) -> str:
    """The word ``key`` in ``lang`` (the key itself when missing, so a gap shows but never breaks)."""
    pair = MESSAGES.get(key)
    return pick(pair, lang) if pair else key


def choice(column: str, value: str, lang: str) -> str:
    """A registry column's choice in words, with its code when the words differ."""
    pair = CHOICES.get(column, {}).get(value)
    if not pair or not value:
        return value
    word = pick(pair, lang)
    return word if word == value else f"{word} ({value})"


def stage(name: str, lang: str) -> str:
    """A run stage in words (the name itself when it is new)."""
    return pick(STAGES[name], lang) if name in STAGES else name


def column_label(table: str, column: str, lang: str) -> str:
    for col in schema.columns(table):
        if col.name == column:
            return col.label(lang)
    return column


# ---- the monitor page (issue 12 item 6) ----------------------------------------------------
add_words({
    "monitor": ("目标进展监测", "Target monitor"),
    "monitor_help": ("按实际流向（已处置的电子联单和导入的实际数据）评估规划目标：已有数据的年份给出实际值，之后的目标年份按趋势预测（方法见每行）。",
                     "The plan's targets assessed on actual flows (processed electronic manifests and imported records): "
                     "years with records show the actual value, later target years are projected (method on each row)."),
    "monitor_flows": ("已登记实际流向 {n} 条，共 {t}；年份：{years}", "{n} actual flows recorded, {t} in all; years: {years}"),
    "monitor_actual": ("实际值", "Actual"), "monitor_projected": ("预测值", "Projected"),
    "monitor_method": ("依据", "Basis"), "monitor_all": ("全部", "all"),
    "monitor_import": ("导入实际流向", "Import actual flows"),
    "monitor_import_help": ("上传 .xlsx（工作表 actual_flows）或 .csv；任一错误则整体拒绝；已登记的联单编号不重复计入。",
                            "Upload an .xlsx (sheet actual_flows) or a .csv; any error rejects the whole file; "
                            "a manifest already recorded is not counted twice."),
    "monitor_unchanged": ("已登记（未重复计入）", "already recorded (not counted twice)"),
    "monitor_recent": ("最近的实际流向", "Recent actual flows"), "monitor_manifest": ("联单编号", "Manifest"),
    "from_actuals": ("从实际流向开始：已过去的年份按已登记的联单固定，之后的年份重新规划",
                     "Start from the actual flows: past years fixed to the recorded manifests, later years planned"),
    "actuals_through": ("按实际固定至（年）", "Fixed to actuals through (year)"),
    "actuals_through_hint": ("空=最后有记录的年份", "blank = last recorded year"),
    "monitor_by_year": ("逐年实际值与预测值", "Actual and projected values by year"), "monitor_kind": ("类别", "Kind"),
})
# ---- #12 exchange pages (listings, matches, deals) -----------------------------------------
add_words({
    "exchange": ("供需对接", "Exchange"),
    "my_listings": ("我的供需信息", "My listings"), "listings_in_scope": ("辖区内的供需信息", "Listings in your scope"),
    "new_listing": ("发布供需信息", "Publish a listing"), "side": ("类型", "Type"),
    "side_offer": ("供应（本单位产生的固废）", "Offer (waste you generate)"),
    "side_want": ("需求（本单位可利用的原料）", "Want (material you can use)"),
    "site": ("站点", "Site"), "quantity_t": ("数量（吨）", "Quantity (t)"),
    "available_t": ("尚可成交（吨）", "Still available (t)"), "period": ("期限", "Period"),
    "start": ("开始日期", "Start"), "end": ("结束日期", "End"), "open_period": ("不限", "open"),
    "price_yuan_t": ("价格（元/吨，空=面议）", "Price (yuan/t, blank = negotiable)"),
    "negotiable": ("面议", "negotiable"),
    "plus_negotiated": ("另加面议价格", "plus the negotiated price"),
    "accepts": ("可接受的替代物料（用 | 分隔）", "Accepted substitutes ('|'-separated)"),
    "hazardous_code": ("危险废物代码（如 900-041-49）", "Hazardous-waste code (e.g. 900-041-49)"),
    "specs": ("质量指标（供应填实测值，需求填范围）", "Quality specs (offer: values; want: ranges)"),
    "spec_moisture_pct": ("含水率 %", "Moisture %"), "spec_fineness_m2_kg": ("比表面积 m²/kg", "Fineness m²/kg"),
    "spec_cao_pct": ("CaO %", "CaO %"), "spec_so3_pct": ("SO₃ %", "SO₃ %"), "spec_cl_pct": ("Cl %", "Cl %"),
    "spec_min": ("下限", "min"), "spec_max": ("上限", "max"),
    "publish_listing": ("发布", "Publish"), "from_registry": ("由登记数据一键发布", "List my registry records"),
    "from_registry_note": ("把本单位登记的产废量发布为供应、产品需求与利用设施原料需求发布为需求（最近一年；已发布的不重复）。",
                           "Lists your registered waste generation as offers, and your demands and facilities' "
                           "inputs as wants (latest year; nothing listed twice)."),
    "listed_from_registry": ("已由登记数据发布供需信息", "Listings made from the registry"),
    "listing_created": ("已发布", "Published"), "listing_withdrawn": ("已下架", "Withdrawn"),
    "listing_relisted": ("已重新上架", "Listed again"), "withdraw": ("下架", "Withdraw"), "relist": ("重新上架", "List again"),
    "listed": ("在架", "listed"), "withdrawn": ("已下架", "withdrawn"),
    "matches": ("匹配对象", "Matches"), "matches_of": ("匹配对象：", "Matches for: "),
    "matches_note": ("按到厂成本排序：价格 + 运输（含经铁路货场的公铁联运）+ 装卸 + 按政策碳价计的碳排放成本；面议价格的到厂成本只含物流费用，另加议定价格。",
                     "Ranked by delivered cost: price + transport (including road–rail through terminals) + "
                     "handling + CO₂ at the policy carbon price. For a negotiable price the delivered cost is "
                     "logistics only, plus the price agreed."),
    "no_matches": ("暂无符合物料、指标、数量与期限的匹配对象。", "No counterpart fits the material, specs, quantity and period yet."),
    "inactive_no_matches": ("该信息已下架，不参与匹配。", "This listing is withdrawn and is not matched."),
    "counterpart": ("对方", "Counterpart"), "route": ("路线", "Route"), "distance_km": ("距离（公里）", "Distance (km)"),
    "price": ("价格", "Price"), "transport_yuan_t": ("运输", "Transport"), "handling_yuan_t": ("装卸", "Handling"),
    "co2_kg_t": ("CO₂（千克/吨）", "CO₂ (kg/t)"), "co2_yuan_t": ("碳成本", "CO₂ cost"),
    "delivered_yuan_t": ("到厂成本（元/吨）", "Delivered (yuan/t)"),
    "plan_recommended": ("规划推荐", "Plan recommends"),
    "plan_basis": ("「规划推荐」依据已发布的全区域规划", "“Plan recommends” follows the published region-wide plan"),
    "no_published_plan": ("尚无已发布的全区域规划，不标注规划推荐。", "No region-wide plan is published: no pairing is marked."),
    "start_deal": ("发起洽谈", "Start a deal"), "deal_quantity": ("洽谈数量（吨）", "Quantity (t)"),
    "deals": ("洽谈", "Deals"), "deal_inbox": ("洽谈与成交", "Deals"), "no_deals": ("暂无洽谈。", "No deals yet."),
    "seller": ("供应方", "Seller"), "buyer": ("需求方", "Buyer"), "deal_state": ("状态", "State"),
    "deal_created": ("已发起洽谈", "Deal started"), "deal_updated": ("洽谈已更新", "Deal updated"),
    "step_offer": ("报价", "Make offer"), "step_accept": ("确认成交", "Accept"), "step_decline": ("谢绝", "Decline"),
    "step_cancel": ("撤销", "Cancel"), "step_complete": ("标记完成", "Mark completed"),
    "exchange_summary": ("供需汇总", "Exchange totals"),
    "exchange_summary_note": ("在架供需信息按省份和物料汇总；少于 {n} 家单位的格子只显示条数，不显示吨数，以免推算出单家企业的数量。",
                              "Listed offers and wants by province and material; a cell of fewer than {n} organisations "
                              "shows counts only, not tonnes, so no single firm's quantity can be read from it."),
    "listings_count": ("信息条数", "Listings"), "organisations_count": ("单位数", "Organisations"),
    "not_shown": ("不公开", "not shown"), "no_listings": ("暂无在架的供需信息。", "Nothing is listed yet."),
    "confirm_accept": ("确认成交后将锁定该批次的相应数量。确定？", "Accepting reserves the quantity on the lot. Accept?"),
})


def _exchange_words() -> None:
    """Deal states and listing sides in the words the exchange service uses in its messages."""
    from resynergy.services.exchange import SIDE_WORDS, STATE_WORDS

    add_words({f"state_{k}": v for k, v in STATE_WORDS.items()})
    add_words(SIDE_WORDS)


_exchange_words()
# Retired traction batteries (issue 14): page words.
BATTERY_MESSAGES: dict[str, tuple[str, str]] = {
    "batteries": ("动力电池", "Batteries"), "battery_unit": ("电池履历查询", "Battery history"),
    "battery_overdue": ("逾期上报", "Overdue uploads"), "battery_triage": ("检测分拣", "Test and triage"),
    "battery_compliance": ("企业规范条件", "Firm compliance"), "battery_forecast": ("退役量预测", "Retirement forecast"),
    "battery_code": ("电池编码", "Battery code"), "scan_hint": ("扫码或输入 24 位（梯次产品 19 位）编码",
                                                               "scan or type the 24-character code (19 for a re-coded product)"),
    "look_up": ("查询", "Look up"), "code_fields": ("编码信息", "Code fields"), "battery_tree": ("包—模块—单体结构", "Pack → module → cell"),
    "battery_history": ("全生命周期事件", "Lifecycle events"), "deadline": ("上报期限", "Upload deadline"),
    "upload_status": ("上报情况", "Upload status"), "days_late": ("逾期天数", "Days late"),
    "st_on_time": ("按期上报", "on time"), "st_late": ("迟报", "late"), "st_overdue": ("逾期未报", "overdue"),
    "st_pending": ("期限未到", "not yet due"), "st_no_rule": ("无上报要求", "no upload duty"),
    "record_test": ("录入检测结果", "Record a test"), "soh": ("健康状态 SOH（0–1.5）", "State of health (0–1.5)"),
    "resistance_ratio": ("内阻比", "Resistance ratio"), "safety_flags": ("安全检查", "Safety checks"),
    "decision": ("分拣结论", "Decision"), "reason": ("依据", "Reason"), "uses": ("可用于", "Allowed uses"),
    "tests": ("检测记录", "Tests"), "recoded_from": ("原编码", "Original code"), "recoded_to": ("梯次产品编码", "Re-coded product"),
    "event_time": ("发生时间", "Time"), "actor": ("实施单位", "Actor"), "place": ("地点", "Place"),
    "as_of": ("截至", "As of"), "firm": ("企业", "Firm"), "battery_year": ("年度", "Year"), "rate": ("比率", "Rate"),
    "threshold": ("要求", "Threshold"), "meets": ("符合", "Meets"), "cascade_reuse": ("梯次利用率（再利用/接收）", "Cascade reuse (reused / received)"),
    "recovery": ("元素回收率", "Element recovery"), "element": ("元素", "Element"),
    "draft_norm": ("征求意见稿，未见于正式文本", "2024 draft only, not in the final text"),
    "chemistry": ("电池类型", "Chemistry"), "retired_kt": ("退役量（千吨）", "Retired (kt)"), "band_kt": ("90% 区间（千吨）", "90 % band (kt)"),
    "forecast_note": ("估计值：全国销量等有来源，分省占比和寿命参数多为估计（U），见数据表 source/tag 列",
                      "Estimates: national sales etc. are sourced; provincial shares and lifetimes are mostly estimates (U): see the data's source/tag columns"),
    "overdue_scope": ("范围：您所在省份（事件地点或实施单位所在省）",
                                                                    "Scope: your province (the event's place, else its actor's)"),
    "import_events": ("导入事件文件", "Import an event file"), "events_imported": ("事件已导入", "Events imported"),
    "test_recorded": ("检测结果已录入", "Test recorded"), "code_layout": ("编码规则", "Code layout"),
    "production_date": ("生产日期", "Production date"),
    "forecast_apply": ("用预测更新情景的退役电池供给（生成新版本）", "Write the forecast into a scenario's retired-battery supplies (new version)"),
    "collection_rate": ("回收率（0–1）", "Collection rate (0–1)"),
    "forecast_applied": ("已生成含电池预测的情景新版本", "A scenario version with the battery forecast was saved"),
    "battery_matches": ("去向匹配", "Where they go"), "match_from": ("所在站点", "From site"),
    "match_to": ("去向", "To"), "cost_per_t": ("运费（元/吨）", "Freight (yuan/t)"),
    "delivered_cost": ("运费合计（元）", "Freight total (yuan)"),
    "route_second_life": ("梯次利用", "second life"), "route_recycling": ("再生利用", "recycling"),
    "battery_matches_note": ("按道路危险货物运输的最低运费匹配最近的储能、通信基站需求或再生利用企业；未预留产能（估计）",
                     "matched to the cheapest storage / base-station demand or licensed recycler by road (dangerous goods); capacities not reserved (estimate)"), }
add_words(BATTERY_MESSAGES)
# battery upload deadlines beyond the working-day calendar (estimate branch)
add_words({"deadline_estimated": workdays.ESTIMATE_NOTE})
# #12 recurring listings and partial completion of deals (recurring)
add_words({
    "recurrence": ("重复周期", "Recurrence"), "rec_": ("一次性", "one-off"), "rec_monthly": ("每月", "monthly"),
    "rec_quarterly": ("每季度", "quarterly"), "rec_yearly": ("每年", "yearly"),
    "recurrence_note": ("重复的信息：数量填每期数量，起止日期须为整月（季、年），如 2022-01-01 至 2022-12-31",
                        "A recurring listing: the quantity is per period and the dates bound whole months "
                        "(quarters, years), e.g. 2022-01-01 to 2022-12-31"),
    "periods_count": ("期数", "Periods"), "total_t": ("总量（吨）", "Total (t)"),
    "agreed_t": ("约定总量（吨）", "Agreed in all (t)"), "delivered_t": ("已交付（吨）", "Delivered (t)"),
    "open_t": ("尚未交付（吨）", "Still to deliver (t)"), "released_t": ("完成时释放（吨）", "Released at completion (t)"),
    "deal_term": ("洽谈期限", "Term"), "period_free": ("各期剩余", "Left per period"),
    "by_period": ("各期交付", "Delivered per period"),
    "confirm_complete": ("按已处置联单的交付量结束本洽谈？未交付部分将释放给供需双方。",
                         "Close this deal with what its processed manifests delivered? What was not delivered is "
                         "released to both listings."),
})
# #13 enterprise evaluation (综合利用评价) and the incentives it unlocks: page words.
add_words({
    "evaluations": ("综合利用评价", "Utilization evaluation"),
    "evaluations_published": ("评价结果公示", "Published evaluations"),
    "evaluation": ("评价", "Evaluation"), "ev_apply": ("申请评价", "Apply for an evaluation"),
    "ev_period": ("评价期（如 2022Q1、2022-03、2022H1、2022）", "Period (e.g. 2022Q1, 2022-03, 2022H1, 2022)"),
    "ev_ledger": ("台账", "Ledger"), "ev_products": ("申请评价的产品（逗号分隔，空=台账中全部产品）",
                                                  "Products applied for (comma-separated; blank = all products in the ledger)"),
    "ev_evaluator": ("评价机构（本省名单）", "Evaluator (your province's list)"),
    "ev_upload_ledger": ("上传台账（模板 .xlsx）", "Upload a ledger (the .xlsx template)"),
    "ev_upload_help": ("按《一般工业固体废物管理台账》模板填写：产生、接收（来源）、利用（按产品）、贮存、处置、库存，以及产品产量和销售；任一错误则整体拒绝，并逐项指出位置。",
                       "Fill in the template of the general ISW ledger: generated, received (with source), utilized (by product), "
                       "stored, disposed, stock, and products made and sold; any error rejects the whole file, each one located."),
    "ev_from_flows": ("由实际流向生成台账", "Build a ledger from actual flows"),
    "ev_from_flows_help": ("依据已处置的电子联单生成接收和转出量；产生量和产品需另行补充（系统会标注）。",
                           "Received and sent-out tonnes from processed electronic manifests; generation and products "
                           "must be added separately (the ledger says so)."),
    "ev_my": ("本单位的评价申请", "My organisation's applications"), "ev_queue": ("待我办理", "Waiting for me"),
    "ev_all": ("可见的评价", "Evaluations I can see"), "ev_ledgers": ("台账", "Ledgers"),
    "ev_evaluators": ("评价机构名单", "Evaluator lists"), "ev_list_evaluator": ("列入评价机构名单", "List an evaluator"),
    "ev_state": ("状态", "State"), "ev_firm": ("企业", "Firm"), "ev_version": ("版本", "Version"),
    "ev_due": ("备案期限", "Filing due"), "ev_overdue": ("逾期未备案", "Filing overdue"),
    "ev_overdue_filed": ("逾期备案", "Filed late"),
    "ev_due_note": ("评价报告完成后 {n} 日内报企业所在地县级以上工业和信息化主管部门备案（参照广东省办法第十八条；本区域七省市未见专门规定）。",
                    "File the report within {n} days of its completion with the county-level or higher industry department "
                    "where the firm is located (Guangdong rules Art 18 as the model; no rule of the seven plan provinces was found)."),
    "ev_checks": ("计算核查", "Computed checks"), "ev_frozen": ("评价通过时冻结的结果", "Frozen at approval"),
    "ev_live": ("按当前台账计算（评价通过后冻结）", "Computed from the current ledger (frozen at approval)"),
    "ev_shares": ("掺量（资源综合利用产品目录技术条件）", "Blending shares (catalogue technical conditions)"),
    "ev_balance": ("物料平衡", "Mass balance"), "ev_balance_ok": ("物料平衡通过", "The mass balance holds"),
    "ev_vat": ("增值税即征即退", "VAT immediate refund"), "ev_eit": ("企业所得税减计收入", "EIT income reduction"),
    "ev_ept": ("环境保护税（固体废物）", "Environmental-protection tax (solid waste)"),
    "ev_screens": ("纳税人条件", "Taxpayer screens"), "ev_totals": ("合计", "Totals"),
    "ev_evidence": ("证明材料", "Evidence"), "ev_evidence_help": ("可上传 PDF、PNG、JPG、XLSX、CSV；可标注所支撑的产品或物料。",
                                                            "PDF, PNG, JPG, XLSX or CSV; tag the product or material it backs."),
    "ev_figure": ("支撑的产品或物料代码", "Product or material it backs"), "ev_note": ("说明", "Note"),
    "ev_upload": ("上传", "Upload"), "ev_receipts": ("接收来源（联单）", "Receipts (manifests)"),
    "ev_report": ("评价报告（打印）", "Evaluation report (printable)"), "ev_events": ("办理记录", "History"),
    "ev_message": ("补正意见", "Corrections requested"), "ev_filed_with": ("受理备案的主管部门", "Department filed with"),
    "ev_filing_number": ("备案编号", "Filing number"), "ev_eligibility": ("优惠资格", "Eligibility"),
    "ev_rule": ("依据规则", "Rule"), "ev_regional": ("区域汇总", "Regional view"),
    "ev_regional_help": ("按地区（地市）、季度和物料汇总已通过评价（每个企业每个评价期取最新版本）的利用量和税收减免；其他省已备案的评价按互认原则可见。税收减免按评价期末所在季度计。",
                         "Utilized tonnes and tax reductions of approved evaluations (latest version per firm and period) by "
                         "prefecture, quarter and material; evaluations filed in the other provinces are visible (mutual "
                         "recognition). Tax reductions count in the quarter the period ends in."),
    "ev_by_prefecture": ("按地区", "By prefecture"), "ev_by_quarter": ("按地区和季度", "By prefecture and quarter"),
    "ev_by_material": ("按地区、物料和季度的利用量", "Utilized by prefecture, material and quarter"),
    "ev_export": ("导出 XLSX", "Export XLSX"), "ev_utilized_t": ("利用量（吨）", "Utilized (t)"),
    "ev_refund": ("增值税退税（元）", "VAT refund (yuan)"), "ev_eit_income": ("减计收入（元）", "EIT income reduction (yuan)"),
    "ev_ept_exempt": ("环保税免征（元）", "EPT exempt (yuan)"), "ev_count": ("评价数", "Evaluations"),
    "ev_quarter": ("季度", "Quarter"), "ev_region": ("地区", "Region"), "ev_none": ("暂无", "none"),
    "ev_published_help": ("公示内容：企业名称、利用的工业固废种类和数量、产品名称、评价机构（《工业固体废物资源综合利用评价管理暂行办法》）。",
                          "Published fields: firm, ISW types and quantities utilized, products, evaluator (2018 interim measures)."),
    "ev_save": ("保存", "Save"), "ledger_saved": ("台账已保存", "Ledger saved"),
    "evaluator_listed": ("已列入评价机构名单", "Evaluator listed"), "evaluation_created": ("已创建评价申请", "Application created"),
    "evaluation_step_done": ("已办理", "Done"), "evidence_saved": ("证明材料已上传", "Evidence uploaded"),
    "ev_step_submit": ("提交评价机构", "Submit to the evaluator"), "ev_step_request_corrections": ("要求补正", "Request corrections"),
    "ev_step_approve": ("评价通过", "Approve"), "ev_step_file": ("报主管部门备案", "File with the department"),
    "ev_step_publish": ("公示", "Publish"), "ev_step_revise": ("更正（生成新版本）", "Correct (new version)"),
    "ev_total_refund_yuan": ("增值税即征即退（元）", "VAT refund (yuan)"),
    "ev_total_potential_refund_yuan": ("满足纳税人条件时可退（元）", "Refund if the taxpayer screens pass (yuan)"),
    "ev_total_eit_reduction_income_yuan": ("企业所得税减计收入（元）", "EIT income reduction (yuan)"),
    "ev_total_eit_reduction_income_indeterminate_yuan": ("减计收入待核实（元）", "EIT income reduction to be verified (yuan)"),
    "ev_total_eit_saving_yuan": ("企业所得税减少（元）", "EIT saved (yuan)"),
    "ev_total_ept_tax_yuan": ("环境保护税应纳（元）", "Environmental-protection tax due (yuan)"),
    "ev_total_ept_exempt_yuan": ("环境保护税免征（元）", "Environmental-protection tax exempt (yuan)"),
    "ev_total_utilized_t": ("综合利用量（吨）", "Utilized (t)"),
    "ev_template": ("下载台账模板", "Download the ledger template"),
    "ev_report_due": ("季度汇总报送期限", "Quarterly report due"),
    "evidence_removed": ("证明材料已删除", "Evidence removed"),
    "monitor_evaluated": ("其中 {t} 来自已通过的综合利用评价（超出联单已登记部分，不重复计入）",
                          "of which {t} come from approved utilization evaluations (beyond what manifests recorded; "
                          "never counted twice)"),
})
