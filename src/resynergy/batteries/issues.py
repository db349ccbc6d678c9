"""Located problems of battery codes, event files and test records, in zh and en.

A :class:`BatteryIssue` is a :class:`resynergy.schema.issues.Issue` (same location fields, the
same ``message``), with its own messages; a list of them travels in a ``ScenarioError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from resynergy.schema.issues import Issue, ScenarioError

__all__ = ["BatteryIssue", "ScenarioError", "MESSAGES"]

MESSAGES: dict[str, tuple[str, str]] = {
    "code_length": ("编码长度为 {length} 位，应为 {expected} 位", "the code has {length} characters, expected {expected}"),
    "code_charset": ("字符「{char}」无效，应为 {expected}", "character {char!r} is invalid, expected {expected}"),
    "code_choice": ("应为以下之一：{expected}", "expected one of: {expected}"),
    "code_date": ("{part_zh}字符「{char}」无效，应为 {expected}", "{part_en} character {char!r} is invalid, expected one of {expected}"),
    "code_future": ("生产日期 {date} 晚于今天 {today}，编码或日期表有误", "production date {date} is after today {today}: wrong code or date table"),
    "code_early": ("生产日期 {date} 早于 {earliest} 年，编码或日期表有误", "production date {date} is before {earliest}: wrong code or date table"),
    "tree_level": ("{child}（{child_level}）不能装在 {parent}（{parent_level}）中：包 → 模块 → 单体",
                   "{child} ({child_level}) cannot sit in {parent} ({parent_level}): pack → module → cell"),
    "tree_two_parents": ("{child} 已属于 {other}，不能再属于 {parent}", "{child} already belongs to {other}, not also {parent}"),
    "recode_same": ("新编码与原编码相同", "the new code equals the original code"),
    "unknown_event": ("未知事件类型（应为：{choices}）", "unknown event type (expected one of: {choices})"),
    "order_before": ("「{event_zh}」须在「{needs_zh}」之后，但该电池此前没有「{needs_zh}」记录",
                     "{event_en} needs an earlier {needs_en} of this battery, and there is none"),
    "order_after_final": ("该电池已于 {when}「{final_zh}」，其后不应再有事件",
                          "this battery was {final_en} on {when}; no event may follow"),
    "order_first": ("「生产」应为该电池的第一条事件，但{other_zh}更早", "production should be the unit's first event, but {other_en} is earlier"),
    "bad_time": ("时间无法识别，应为 年-月-日（如 2024-02-08）或 年-月-日 时:分", "cannot read the time; expected YYYY-MM-DD (e.g. 2024-02-08) or YYYY-MM-DD HH:MM"),
    "time_future": ("时间晚于今天 {today}", "the time is after today ({today})"),
    "upload_before_event": ("上传日期早于事件发生日期 {when}", "uploaded before the event happened ({when})"),
    "order_once": ("该事件每个电池只能有一次（已见于{other_zh}）", "this event happens once per battery (already in {other_en})"),
    "needs_value": ("事件「{event_zh}」须填写此列", "event {event_en} needs {what}"),
    "role_for_event": ("「{event_zh}」事件应由以下类别的单位记录：{choices}", "event {event_en} is recorded by: {choices}"),
    "bad_vin": ("车辆识别代号（VIN）应为 17 位字母数字（不含 I、O、Q）", "a VIN has 17 letters and digits (no I, O or Q)"),
    "bad_masses": ("回收元素质量应写成 元素=千克;…，元素为 {choices}", "recovered masses should read element=kg;… with elements {choices}"),
    "below_norm": ("低于规范条件要求 {threshold}（{norm}）", "below the norm's {threshold} ({norm})"),
    "bad_rule": ("规则表有误：{detail}", "rule table is wrong: {detail}"),
}

HINTS: dict[str, tuple[str, str]] = {
    "code_length": ("完整编码 24 位；梯次利用重新编码 19 位；不要包含空格或前缀", "a full code has 24 characters, a re-coded cascade product 19; no spaces or prefixes"),
    "code_charset": ("编码只含数字和大写字母", "codes hold digits and capital letters only"),
    "order_before": ("补报之前的事件，或检查电池编码是否写错", "upload the missing earlier event, or check the battery code"),
}


@dataclass(frozen=True)
class BatteryIssue(Issue):
    """An :class:`Issue` whose message and hint come from the battery tables."""

    messages: ClassVar[dict[str, tuple[str, str]]] = MESSAGES
    hints: ClassVar[dict[str, tuple[str, str]]] = HINTS

    def location(self, lang: str = "zh") -> str:
        """Source, row and column as for any issue; a code's problem also names its position and
        field (the code itself when it stands alone)."""
        if self.row is not None or not self.code.startswith("code_"):
            where = super().location(lang)
        else:
            where = self.source or ("电池编码" if lang == "zh" else "battery code")
            where += f", 值「{self.value}」" if lang == "zh" else f", value {self.value!r}"
        if "position" in self.params:
            pos = self.params["position"]
            field = self.params.get("field_zh" if lang == "zh" else "field_en", "")
            where += f", 第 {pos} 位（{field}）" if lang == "zh" else f", position {pos} ({field})"
        return where
