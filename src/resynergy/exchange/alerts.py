"""Alerts on manifests: flags for the parties and the regulators of both provinces, not states.

Rules (each a pure function of a manifest's fields, its state and what the platform knows):

- ``weight_deviation``: the weighed quantity at reception differs from the quantity sent by more
  than the tolerance. Policy default 5 % (the figure issue #12 sets as the default; no Chinese
  rule fixing a tolerance was found — notes/manifests.md §1.6 [U] — so it is a policy setting,
  with an optional absolute floor in kg for small loads).
- ``overdue_receipt``: sent (or in transit) and not received within N days. Policy default 5
  working days, after the 2021 Measures' receipt-confirmation limit as recalled in
  notes/manifests.md §1.5 ([U], to be checked against the MEE text); working days follow the
  State Council holiday notices with their make-up working days (调休), from
  :mod:`resynergy.catalog.workdays`. Days in a year whose notice is not yet in the calendar are
  counted Monday–Friday, and the alert says that this part is an estimate.
- ``unlicensed_receiver``: a hazardous waste whose receiver holds no licence covering its code.
- ``no_approval``: a cross-province transfer sent without a matching approval or filing.
- ``over_deal``: the manifests of a deal declare more than the deal's quantity (high); on a
  recurring deal, also the manifests handed over in one period declare more than that period's
  quantity while the deal's total still holds (a warning: the lot was reserved for that period only).

Each alert names its kind, severity, manifest, zh/en message and the provinces it concerns
(both parties' provinces), so the platform can show it to the regulators of each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from resynergy.catalog import workdays
from resynergy.exchange.manifests import (
    Approval,
    Licence,
    State,
    approval_problems,
    licence_problems,
)

KINDS: dict[str, tuple[str, str]] = {
    "weight_deviation": ("过磅偏差", "weight deviation"),
    "overdue_receipt": ("逾期未接收", "overdue receipt"),
    "unlicensed_receiver": ("接受人无相应许可证", "receiver not licensed"),
    "no_approval": ("跨省转移未经批准", "transfer without approval"),
    "over_deal": ("超出交易数量", "quantity beyond the deal"),
}
SEVERITIES = ("warning", "high")


@dataclass(frozen=True)
class Policy:
    weight_tolerance: float = 0.05  # relative, of the quantity sent (issue #12 default; see above)
    weight_tolerance_kg: int = 0  # absolute floor: deviations up to this many kg never alert
    receipt_days: int = 5  # N: sent and not received within N days (see above)
    receipt_working_days: bool = True  # count working days (holidays and 调休 included), else calendar days

    def __post_init__(self) -> None:
        if not (0 <= self.weight_tolerance < 1):
            raise ValueError(f"过磅偏差容差应在 0–1 之间，实为 {self.weight_tolerance} / "
                             f"weight tolerance must be within 0–1, got {self.weight_tolerance}")
        if self.receipt_days < 1 or self.weight_tolerance_kg < 0:
            raise ValueError("接收期限应至少 1 天、绝对容差不能为负 / receipt days must be ≥ 1 and the kg floor ≥ 0")


DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class Alert:
    kind: str
    severity: str
    manifest: str
    zh: str
    en: str
    provinces: tuple[str, ...]

    def text(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en


def _provinces(fields: Mapping[str, Any]) -> tuple[str, ...]:
    out: list[str] = []
    for key in ("generator_province", "receiver_province"):
        p = str(fields.get(key) or "")
        if p and p not in out:
            out.append(p)
    return tuple(out)


def _alert(kind: str, severity: str, manifest: str, fields: Mapping[str, Any], zh: str, en: str) -> Alert:
    return Alert(kind, severity, manifest, f"{KINDS[kind][0]}：{zh}", f"{KINDS[kind][1]}: {en}", _provinces(fields))


def weight_deviation(manifest: str, fields: Mapping[str, Any], policy: Policy = DEFAULT_POLICY) -> Alert | None:
    sent, received = fields.get("declared_kg"), fields.get("received_kg")
    if not isinstance(sent, int) or not isinstance(received, int) or sent <= 0:
        return None
    dev = received - sent
    limit = max(policy.weight_tolerance * sent, policy.weight_tolerance_kg)
    if abs(dev) <= limit:
        return None
    share = dev / sent
    return _alert("weight_deviation", "warning", manifest, fields,
                  f"移出 {sent} 千克，过磅 {received} 千克，偏差 {share:+.1%}（容差 ±{policy.weight_tolerance:.0%}）",
                  f"sent {sent} kg, weighed {received} kg, deviation {share:+.1%} (tolerance ±{policy.weight_tolerance:.0%})")


def days_since(start: date, today: date, working: bool) -> tuple[int, bool]:
    """Days after ``start`` up to ``today`` (working days when ``working``: see
    :mod:`resynergy.catalog.workdays`), and whether the count is an estimate (beyond the calendar)."""
    if not working:
        return max((today - start).days, 0), False
    return workdays.workdays_between_or_estimate(start, today)


def overdue_receipt(manifest: str, state: State | str, fields: Mapping[str, Any], now: datetime,
                    policy: Policy = DEFAULT_POLICY) -> Alert | None:
    if State(state) not in (State.SENT, State.IN_TRANSIT) or not fields.get("sent_at"):
        return None
    sent = datetime.fromisoformat(str(fields["sent_at"])).date()
    n, estimated = days_since(sent, now.date(), policy.receipt_working_days)
    if n <= policy.receipt_days:
        return None
    unit_zh, unit_en = ("个工作日", "working days") if policy.receipt_working_days else ("天", "days")
    last = workdays.calendar_years()[1]
    note_zh = f"（{last} 年以后的放假安排尚未收录，按周一至周五估算）" if estimated else ""
    note_en = f" (holidays after {last} are not yet in the calendar: counted Monday–Friday, an estimate)" if estimated else ""
    return _alert("overdue_receipt", "warning", manifest, fields,
                  f"{sent} 移出，{n} {unit_zh}仍未接收（期限 {policy.receipt_days} {unit_zh}）{note_zh}",
                  f"sent on {sent}, not received after {n} {unit_en} (limit {policy.receipt_days} {unit_en}){note_en}")


def unlicensed_receiver(manifest: str, state: State | str, fields: Mapping[str, Any],
                        licences: Sequence[Licence], on: str = "") -> Alert | None:
    if State(state) in (State.DRAFT, State.CANCELLED):
        return None
    problems = licence_problems(fields, licences, on)
    if not problems:
        return None
    p = problems[0]
    return _alert("unlicensed_receiver", "high", manifest, fields, p.zh, p.en)


def no_approval(manifest: str, state: State | str, fields: Mapping[str, Any], approval: Approval | None, *,
                used_kg: int = 0, on: str = "") -> Alert | None:
    """Only once sent: before sending, the missing approval blocks the generator's signature."""
    if State(state) in (State.DRAFT, State.SEALED, State.CANCELLED):
        return None
    problems = approval_problems(fields, approval, used_kg=used_kg, on=on)
    if not problems:
        return None
    return _alert("no_approval", "high", manifest, fields, "；".join(p.zh for p in problems),
                  "; ".join(p.en for p in problems))


def over_deal(manifest: str, fields: Mapping[str, Any], deal_kg: int, deal_total_kg: int,
              period: tuple[str, int, int] | None = None) -> Alert | None:
    """``deal_total_kg``: what all live manifests of the deal declare (this one included);
    ``period``: on a recurring deal, (label, agreed kg, declared kg) of the period of this
    manifest's handover."""
    deal = fields.get("deal")
    if deal_total_kg > deal_kg:
        return _alert("over_deal", "high", manifest, fields,
                      f"交易 {deal} 约定 {deal_kg} 千克，其联单合计 {deal_total_kg} 千克",
                      f"deal {deal} is for {deal_kg} kg, its manifests declare {deal_total_kg} kg")
    if period is not None and period[2] > period[1]:
        label, agreed, declared = period
        return _alert("over_deal", "warning", manifest, fields,
                      f"交易 {deal} 在 {label} 期约定 {agreed} 千克，该期交付的联单合计 {declared} 千克"
                      f"（全部期数合计 {deal_total_kg} 千克，未超出约定的 {deal_kg} 千克）",
                      f"deal {deal} is for {agreed} kg in {label}, the manifests handed over in that period "
                      f"declare {declared} kg (all periods: {deal_total_kg} of {deal_kg} kg)")
    return None


def alerts(manifest: str, state: State | str, fields: Mapping[str, Any], *, now: datetime,
           licences: Sequence[Licence] = (), approval: Approval | None = None, approval_used_kg: int = 0,
           deal_kg: int | None = None, deal_total_kg: int = 0, deal_period: tuple[str, int, int] | None = None,
           policy: Policy = DEFAULT_POLICY) -> list[Alert]:
    """Every alert that holds for one manifest now."""
    on = str(fields.get("sent_at") or "")[:10]
    found = [
        weight_deviation(manifest, fields, policy),
        overdue_receipt(manifest, state, fields, now, policy),
        unlicensed_receiver(manifest, state, fields, licences, str(fields.get("received_at") or on)[:10]),
        no_approval(manifest, state, fields, approval, used_kg=approval_used_kg, on=on),
        over_deal(manifest, fields, deal_kg, deal_total_kg, deal_period) if deal_kg is not None else None,
    ]
    return [a for a in found if a is not None]
