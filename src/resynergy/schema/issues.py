"""Validation issues: where a problem is (file or sheet, row, column, value) and what was expected.

Messages exist in Chinese and English; ``ScenarioError`` carries every issue found at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

_MESSAGES: dict[str, tuple[str, str]] = {
    "unreadable": ("无法读取：{detail}", "cannot be read: {detail}"),
    "unknown_table": ("未知的表（应为：{choices}）", "unknown table (expected one of: {choices})"),
    "unknown_column": ("未知的列（本表的列：{choices}）", "unknown column (columns of this table: {choices})"),
    "unknown_columns": ("{count} 个未知的列（本表的列：{choices}）", "{count} unknown columns (columns of this table: {choices})"),
    "missing_column": ("缺少必填列", "required column is missing"),
    "required": ("必填项为空", "required value is empty"),
    "control_chars": ("含有不可见控制字符（表格无法保存）", "contains invisible control characters (a worksheet cannot hold them)"),
    "not_number": ("应为数字", "expected a number"),
    "not_finite": ("应为有限数值（不能是无穷大或 NaN）", "expected a finite number (not infinity or NaN)"),
    "not_integer": ("应为整数", "expected a whole number"),
    "not_bool": ("应为 是/否（true/false）", "expected true or false (是/否)"),
    "below_min": ("应不小于 {min}", "expected a value of at least {min}"),
    "above_max": ("应不大于 {max}", "expected a value of at most {max}"),
    "outside_china": ("坐标不在中国境内（纬度 18–54，经度 73–136）",
                      "coordinate outside China (latitude 18–54, longitude 73–136)"),
    "bad_choice": ("应为以下之一：{choices}", "expected one of: {choices}"),
    "duplicate": ("重复：与第 {other} 行的键相同", "duplicate: same key as row {other}"),
    "unknown_ref": ("未知代码：在表 {ref_table} 的 {ref_column} 中不存在",
                    "unknown code: not found in {ref_table}.{ref_column}"),
    "bad_uscc": ("统一社会信用代码无效（GB 32100：18 位，校验位应为 {check}）",
                 "invalid unified social credit code (GB 32100: 18 characters, check character should be {check})"),
    "unbalanced": ("工艺不平衡：投入合计 {inputs}（应为 1），产出合计 {outputs}（应等于产出率 {mass_yield}）",
                   "recipe does not balance: inputs sum to {inputs} (expected 1), outputs to {outputs} (expected the declared mass yield {mass_yield})"),
    "wrong_kind": ("物料类别应为 {expected}，实为 {actual}", "material kind should be {expected}, not {actual}"),
    "bad_role": ("未知角色（应为：{choices}）", "unknown role (expected: {choices})"),
    "max_below_capacity": ("最大能力应不小于现有能力 {capacity}", "max capacity should be at least the current capacity {capacity}"),
    "year_order": ("年份先后不对：{earlier}（{earlier_year}）应不晚于 {later}（{later_year}）",
                   "years out of order: {earlier} ({earlier_year}) should not be after {later} ({later_year})"),
    "status_year": ("状态为 {status} 时须填写该年份（2000–2100）", "status {status} needs this year (2000–2100)"),
    "unknown_indicator": ("未知指标（应为：{choices}）", "unknown indicator (expected one of: {choices})"),
    "unit_dimension": ("单位与指标 {indicator}（{dimension_zh}，{indicator_unit}）不符；应为以下之一：{choices}",
                       "unit does not fit indicator {indicator} ({dimension}, {indicator_unit}); expected one of: {choices}"),
    "no_years": ("没有可规划的年份：供给表（supplies）和需求表（demands）均为空",
                 "no years to plan: the supplies and demands tables are empty"),
    "unsupported": ("不支持的文件格式（应为 .xlsx、.csv、.parquet 或文件夹）",
                    "unsupported input (expected .xlsx, .csv, .parquet or a folder)"),
    # exchange listings (#12, resynergy.exchange.listings)
    "not_positive": ("应大于 0", "expected a value above 0"),
    "bad_date": ("应为日期「YYYY-MM-DD」（如 2022-03-01），或留空表示不限",
                 "expected a date YYYY-MM-DD (e.g. 2022-03-01), or blank for open"),
    "period_order": ("开始日期 {start} 晚于结束日期 {end}", "start {start} is after end {end}"),
    "spec_range": ("下限 {min} 大于上限 {max}", "minimum {min} is above maximum {max}"),
    "bad_hw_code": ("危险废物代码应为「ddd-ddd-dd」（如 900-041-49），或留空",
                    "a hazardous-waste code looks like ddd-ddd-dd (e.g. 900-041-49), or is blank"),
    "bad_hw_codes": ("应为危险废物代码「ddd-ddd-dd」或类别「HWnn」（如 HW08），多个用 | 分隔",
                     "expected hazardous-waste codes ddd-ddd-dd or categories HWnn (e.g. HW08), separated by |"),
    "hw_required": ("{material} 是危险废物：供应须填写危险废物代码",
                    "{material} is hazardous waste: an offer needs its hazardous-waste code"),
    "side_column": ("该列只用于{side_zh}，请留空", "this column is for {side} listings only; leave it blank"),
    "unknown_accept": ("未知的可接受物料（应为物料代码，或「process:工艺代码」表示该工艺的全部投入）",
                       "unknown accepted material (expected a material code, or process:<process id> for every input of that process)"),
    # recurring listings (#12 item 1, resynergy.exchange.listings.periods)
    "bad_recurrence": ("重复周期应为 monthly（每月）、quarterly（每季度）或 yearly（每年）；一次性的留空",
                       "recurrence is monthly, quarterly or yearly; leave it blank for a one-off listing"),
    "recurrence_dates": ("{recurrence_zh}重复的信息须填写开始和结束日期",
                         "a {recurrence} listing needs both a start and an end date"),
    "recurrence_start": ("{recurrence_zh}重复的信息应从一个周期的第一天开始（如 {expected}）",
                         "a {recurrence} listing starts on the first day of a period (e.g. {expected})"),
    "recurrence_end": ("{recurrence_zh}重复的信息应在一个周期的最后一天结束（如 {expected}）",
                       "a {recurrence} listing ends on the last day of a period (e.g. {expected})"),
    "too_many_periods": ("共 {count} 个周期，最多 {max} 个；请缩短期限或改用更长的周期",
                         "{count} periods, at most {max}; shorten the term or use a longer recurrence"),
}


# How to fix it, where a message alone does not say (zh, en); shown next to the message.
_HINTS: dict[str, tuple[str, str]] = {
    "unknown_column": ("请勿修改第 1、2 行的列名；多余的列请删除", "do not edit the headers in rows 1–2; delete extra columns"),
    "unknown_columns": ("请勿修改第 1、2 行的列名；多余的列请删除", "do not edit the headers in rows 1–2; delete extra columns"),
    "missing_column": ("请使用空白模板中的列，不要删除必填列", "use the blank template's columns; do not delete required columns"),
    "required": ("请填写该单元格", "fill in this cell"),
    "not_number": ("只填数字，不要带单位或文字（单位见第 1 行）", "enter a number only, without units or words (the unit is in row 1)"),
    "not_integer": ("只填整数，如 2022", "enter a whole number, e.g. 2022"),
    "not_bool": ("填“是”或“否”（或 true/false）", "enter 是/否 or true/false"),
    "bad_choice": ("请从下拉列表中选择", "pick from the drop-down list"),
    "unknown_ref": ("请使用已登记的代码（见“参考”工作表或登记库），或先在被引用的表中登记", "use a registered code (see the look-up sheets or the registry), or register it first in the table referred to"),
    "duplicate": ("每行的键应唯一：删除或合并重复行", "each row's key must be unique: delete or merge the duplicate rows"),
    "unknown_indicator": ("请从“参考 指标”工作表中选择指标代码", "pick an indicator id from the look-up sheet of indicators"),
    "unit_dimension": ("请从下拉列表中选择与指标量纲一致的单位", "pick a unit of the indicator's dimension from the drop-down list"),
    "outside_china": ("检查是否把经纬度填反，或坐标是否为 WGS-84 十进制度", "check that latitude and longitude are not swapped and are WGS-84 decimal degrees"),
    "below_min": ("检查数值和单位（第 1 行）", "check the value and its unit (row 1)"),
    "above_max": ("检查数值和单位（第 1 行）；比例请填 0–1 之间的小数", "check the value and its unit (row 1); enter shares as decimals between 0 and 1"),
}


def column_text(table: str, column: str, lang: str) -> str:
    """A column as the user sees it in a workbook: its Chinese label (and key) in zh, its key in en."""
    from resynergy import schema  # the schema package imports this module's users, not this module

    if lang != "zh" or not table:
        return column
    try:
        col = next((c for c in schema.columns(table) if c.name == column), None)
    except KeyError:
        return column
    return f"「{col.label_zh}」({column})" if col is not None else column


@dataclass(frozen=True)
class Issue:
    """One problem in the input, located as precisely as the input allows."""

    code: str
    table: str = ""
    source: str = ""  # file name, sheet name or folder
    row: int | None = None  # row number as the user sees it (header = 1)
    column: str = ""
    value: object = None
    params: dict[str, object] = field(default_factory=dict)
    # The message and hint tables {code: (zh, en)}: a subclass for another domain names its own.
    messages: ClassVar[dict[str, tuple[str, str]]] = _MESSAGES
    hints: ClassVar[dict[str, tuple[str, str]]] = _HINTS

    def text(self, lang: str = "zh") -> str:
        """What is wrong, in ``lang`` (``zh`` or ``en``), without the location."""
        zh, en = self.messages[self.code]
        return (zh if lang == "zh" else en).format(**self.params)

    def hint(self, lang: str = "zh") -> str:
        """How to fix it, or "" when the message says it all."""
        zh, en = self.hints.get(self.code, ("", ""))
        return zh if lang == "zh" else en

    def location(self, lang: str = "zh") -> str:
        """Where it is: source, row, column and value."""
        parts = [self.source or self.table]
        if lang == "zh":
            if self.row is not None:
                parts.append(f"第 {self.row} 行")
            if self.column:
                text = column_text(self.table, self.column, lang)
                parts.append(f"列{text}" if text.startswith("「") else f"列 {text}")
            if self.value not in (None, ""):
                parts.append(f"值「{self.value}」")
        else:
            if self.row is not None:
                parts.append(f"row {self.row}")
            if self.column:
                parts.append(f"column {self.column}")
            if self.value not in (None, ""):
                parts.append(f"value {self.value!r}")
        return ", ".join(p for p in parts if p)

    def message(self, lang: str = "zh") -> str:
        """Location and problem in one line."""
        return f"{self.location(lang)}: {self.text(lang)}"


class ScenarioError(ValueError):
    """Raised when input is invalid; ``issues`` lists every problem found (not just the first)."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        super().__init__(self.report("en", limit=20))

    def report(self, lang: str = "zh", limit: int | None = None) -> str:
        shown = self.issues if limit is None else self.issues[:limit]
        lines = [i.message(lang) for i in shown]
        if limit is not None and len(self.issues) > limit:
            more = len(self.issues) - limit
            lines.append(f"…另有 {more} 个问题" if lang == "zh" else f"… and {more} more issues")
        return "\n".join(lines)
