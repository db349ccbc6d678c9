"""Electronic transfer manifests (联单): states, the fields each signature locks, the SHA-256 chain.

A manifest moves only by steps: the generator seals a draft, then four signatures (frames, after
Trackdéchets' EMISSION/TRANSPORT/RECEPTION/OPERATION) move it on, each by one party:

    draft ─seal→ sealed ─emission (generator)→ sent ─transport (carrier)→ in_transit
          ─reception (receiver)→ received | refused ─operation (receiver)→ processed

A signature *locks the fields of its frame* (``FIELDS`` declares, once, which frame locks each
field): it stores who signed, in which role, when, the values of exactly those fields and a
SHA-256 over their canonical JSON chained to the previous signature's hash, so that any later
change — of a signed field on the manifest or of a stored signature — is found by ``verify``.
A refused load (or the refused part of a partially accepted one) goes back to the generator or
on to a new destination on a *linked* manifest (``parent``, ``link``).

Quantities are whole kilograms (never floats in a signed frame); dates are ISO strings.
Hazardous wastes carry their HW code (``ddd-ddd-dd``, 《国家危险废物名录》) and need a receiver
whose licence covers the code; a transfer between provinces needs an approval (跨省转移商请,
Solid Waste Law 2020 art. 82) or, for general industrial solid waste sent for use, a filing
(备案) before the generator signs. Sources and tags: /work/shared/notes/manifests.md §1–§4.
This package imports no web, store or services code.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from resynergy.scenario import uscc
from resynergy.schema.cells import has_control


class State(StrEnum):
    DRAFT = "draft"
    SEALED = "sealed"
    SENT = "sent"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    REFUSED = "refused"
    PROCESSED = "processed"
    CANCELLED = "cancelled"


class Step(StrEnum):
    SEAL = "seal"
    UNSEAL = "unseal"
    CANCEL = "cancel"
    EMISSION = "emission"  # the generator signs: sent
    TRANSPORT = "transport"  # the carrier signs: in transit
    RECEPTION = "reception"  # the receiver signs: received / refused
    OPERATION = "operation"  # the receiver signs: processed


class Role(StrEnum):
    GENERATOR = "generator"  # 移出人
    CARRIER = "carrier"  # 承运人
    RECEIVER = "receiver"  # 接受人


class Acceptance(StrEnum):
    ACCEPTED = "accepted"
    PARTIAL = "partially_accepted"
    REFUSED = "refused"


STATE_TEXT: dict[State, tuple[str, str]] = {
    State.DRAFT: ("草稿", "draft"),
    State.SEALED: ("已定稿", "sealed"),
    State.SENT: ("已移出", "sent"),
    State.IN_TRANSIT: ("运输中", "in transit"),
    State.RECEIVED: ("已接收", "received"),
    State.REFUSED: ("已拒收", "refused"),
    State.PROCESSED: ("已利用处置", "processed"),
    State.CANCELLED: ("已作废", "cancelled"),
}
STEP_TEXT: dict[Step, tuple[str, str]] = {
    Step.SEAL: ("定稿", "seal"),
    Step.UNSEAL: ("退回草稿", "return to draft"),
    Step.CANCEL: ("作废", "cancel"),
    Step.EMISSION: ("移出人签字（移出）", "generator signs (send)"),
    Step.TRANSPORT: ("承运人签字（起运）", "carrier signs (take over)"),
    Step.RECEPTION: ("接受人签字（接收）", "receiver signs (receive)"),
    Step.OPERATION: ("接受人签字（利用处置）", "receiver signs (processed)"),
}
ROLE_TEXT: dict[Role, tuple[str, str]] = {
    Role.GENERATOR: ("移出人", "generator"),
    Role.CARRIER: ("承运人", "carrier"),
    Role.RECEIVER: ("接受人", "receiver"),
}


@dataclass(frozen=True)
class Transition:
    source: State
    step: Step
    target: State
    when: str = ""  # reception only: which acceptance leads here


# The transition table, as data: every legal move; anything else is refused.
TRANSITIONS: tuple[Transition, ...] = (
    Transition(State.DRAFT, Step.SEAL, State.SEALED),
    Transition(State.DRAFT, Step.CANCEL, State.CANCELLED),
    Transition(State.SEALED, Step.UNSEAL, State.DRAFT),
    Transition(State.SEALED, Step.CANCEL, State.CANCELLED),
    Transition(State.SEALED, Step.EMISSION, State.SENT),
    Transition(State.SENT, Step.TRANSPORT, State.IN_TRANSIT),
    Transition(State.IN_TRANSIT, Step.RECEPTION, State.RECEIVED, Acceptance.ACCEPTED),
    Transition(State.IN_TRANSIT, Step.RECEPTION, State.RECEIVED, Acceptance.PARTIAL),
    Transition(State.IN_TRANSIT, Step.RECEPTION, State.REFUSED, Acceptance.REFUSED),
    Transition(State.RECEIVED, Step.OPERATION, State.PROCESSED),
)
FINAL: frozenset[State] = frozenset({State.REFUSED, State.PROCESSED, State.CANCELLED})


class TransitionError(ValueError):
    """An illegal step: names the state and the steps allowed from it (zh and en)."""

    def __init__(self, state: State, step: str):
        self.state, self.step = state, step
        self.allowed = allowed_steps(state)
        s_zh, s_en = STATE_TEXT[state]
        st = STEP_TEXT[Step(step)] if step in Step._value2member_map_ else (step, step)
        if self.allowed:
            nxt_zh = "、".join(STEP_TEXT[a][0] for a in self.allowed)
            nxt_en = ", ".join(STEP_TEXT[a][1] for a in self.allowed)
            self.zh = f"联单处于“{s_zh}”状态，不能“{st[0]}”；此时只能：{nxt_zh}"
            self.en = f"the manifest is {s_en}: cannot {st[1]}; allowed next: {nxt_en}"
        else:
            self.zh = f"联单处于“{s_zh}”状态（已结束），不能“{st[0]}”"
            self.en = f"the manifest is {s_en} (final): cannot {st[1]}; no further step is allowed"
        super().__init__(f"{self.zh} / {self.en}")


def allowed_steps(state: State | str) -> tuple[Step, ...]:
    state = State(state)
    out: list[Step] = []
    for t in TRANSITIONS:
        if t.source == state and t.step not in out:
            out.append(t.step)
    return tuple(out)


def transition(state: State | str, step: Step | str, acceptance: str = "") -> State:
    """The state after ``step`` from ``state``; raises ``TransitionError`` if it is not legal."""
    state = State(state)
    rows = [t for t in TRANSITIONS if t.source == state and t.step == step]
    if not rows:
        raise TransitionError(state, str(step))
    if len(rows) == 1:
        return rows[0].target
    for t in rows:
        if t.when == acceptance:
            return t.target
    raise ValueError(f"接收结论应为：{'、'.join(a.value for a in Acceptance)} / "
                     f"acceptance must be one of: {', '.join(a.value for a in Acceptance)}")


# ---------------------------------------------------------------------------------------------
# Fields and frames


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # 'str' | 'kg' (whole kilograms) | 'int' | 'date' | 'datetime'
    locked_by: Step  # the signature (frame) that locks it
    label_zh: str
    label_en: str
    required: bool = True  # required at its frame's signature (see ``missing``)


F = Field
# Declared once: every manifest field, the frame whose signature locks it, its labels.
# Emission fields are written in the draft by the generator; the other frames' fields are given
# by their signer with the signature (a draft may pre-fill the planned carrier).
FIELDS: tuple[Field, ...] = (
    F("number", "str", Step.EMISSION, "联单编号", "manifest number"),
    F("deal", "str", Step.EMISSION, "交易编号", "deal", required=False),
    F("parent", "str", Step.EMISSION, "关联原联单", "linked (parent) manifest", required=False),
    F("link", "str", Step.EMISSION, "关联类型（退回/转送）", "link (return / redirect)", required=False),
    F("generator_org", "str", Step.EMISSION, "移出人统一社会信用代码", "generator USCC"),
    F("generator_name", "str", Step.EMISSION, "移出人名称", "generator name", required=False),
    F("generator_province", "str", Step.EMISSION, "移出地省份", "origin province"),
    F("from_site", "str", Step.EMISSION, "移出地点", "origin site"),
    F("handler", "str", Step.EMISSION, "经办人", "handler", required=False),
    F("material", "str", Step.EMISSION, "物料代码", "material"),
    F("waste_name", "str", Step.EMISSION, "废物名称", "waste name", required=False),
    F("code_system", "str", Step.EMISSION, "代码体系", "code system", required=False),
    F("waste_code", "str", Step.EMISSION, "危险废物代码", "HW waste code", required=False),
    F("hazard", "str", Step.EMISSION, "危险特性", "hazard characteristics", required=False),
    F("packaging", "str", Step.EMISSION, "包装方式", "packaging", required=False),
    F("packages", "int", Step.EMISSION, "包装件数", "number of packages", required=False),
    F("declared_kg", "kg", Step.EMISSION, "移出数量（千克）", "quantity sent (kg)"),
    F("purpose", "str", Step.EMISSION, "转移目的", "purpose", required=False),
    F("receiver_org", "str", Step.EMISSION, "接受人统一社会信用代码", "receiver USCC"),
    F("receiver_name", "str", Step.EMISSION, "接受人名称", "receiver name", required=False),
    F("receiver_province", "str", Step.EMISSION, "接受地省份", "destination province"),
    F("to_site", "str", Step.EMISSION, "接受地点", "destination site"),
    F("approval", "str", Step.EMISSION, "跨省转移批准/备案编号", "cross-province approval", required=False),
    F("sent_at", "datetime", Step.EMISSION, "交付时间", "handover time"),
    F("carrier_org", "str", Step.TRANSPORT, "承运人统一社会信用代码", "carrier USCC"),
    F("carrier_name", "str", Step.TRANSPORT, "承运人名称", "carrier name", required=False),
    F("carrier_licence", "str", Step.TRANSPORT, "道路运输证号", "transport licence no.", required=False),
    F("mode", "str", Step.TRANSPORT, "运输方式", "transport mode"),
    F("vehicle", "str", Step.TRANSPORT, "车牌号/车次", "vehicle plate / train"),
    F("taken_over_at", "datetime", Step.TRANSPORT, "起运时间", "taken over at"),
    F("receiver_licence", "str", Step.RECEPTION, "经营许可证号", "receiver licence no.", required=False),
    F("received_at", "datetime", Step.RECEPTION, "接收时间", "received at"),
    F("received_kg", "kg", Step.RECEPTION, "过磅数量（千克）", "weighed quantity (kg)"),
    F("acceptance", "str", Step.RECEPTION, "接收结论", "acceptance"),
    F("refused_kg", "kg", Step.RECEPTION, "拒收数量（千克）", "refused quantity (kg)", required=False),
    F("refusal_reason", "str", Step.RECEPTION, "拒收原因", "refusal reason", required=False),
    F("treatment", "str", Step.OPERATION, "利用处置方式", "treatment process"),
    F("processed_at", "date", Step.OPERATION, "利用处置日期", "processed on"),
)
FIELD: dict[str, Field] = {f.name: f for f in FIELDS}


@dataclass(frozen=True)
class Frame:
    step: Step
    role: Role  # who signs it
    org_field: str  # the field naming the signing organisation
    fields: tuple[str, ...]  # the fields this signature locks


def _frame(step: Step, role: Role, org_field: str) -> Frame:
    return Frame(step, role, org_field, tuple(f.name for f in FIELDS if f.locked_by == step))


FRAMES: dict[Step, Frame] = {
    Step.EMISSION: _frame(Step.EMISSION, Role.GENERATOR, "generator_org"),
    Step.TRANSPORT: _frame(Step.TRANSPORT, Role.CARRIER, "carrier_org"),
    Step.RECEPTION: _frame(Step.RECEPTION, Role.RECEIVER, "receiver_org"),
    Step.OPERATION: _frame(Step.OPERATION, Role.RECEIVER, "receiver_org"),
}
FRAME_ORDER: tuple[Step, ...] = tuple(FRAMES)
# Fields a draft may hold before any signature: the emission frame and the planned carrier.
DRAFT_FIELDS: tuple[str, ...] = (*FRAMES[Step.EMISSION].fields, "carrier_org", "carrier_name")
# The blocks of the printed form (after the 2021 form's parties, notes/manifests.md §1.3).
BLOCKS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("header", "联单", "Manifest", ("number", "deal", "parent", "link", "approval")),
    ("generator", "移出人", "Generator", ("generator_org", "generator_name", "generator_province", "from_site",
                                         "handler", "sent_at")),
    ("waste", "废物", "Waste", ("material", "waste_name", "code_system", "waste_code", "hazard", "packaging",
                               "packages", "declared_kg", "purpose")),
    ("carrier", "承运人", "Carrier", ("carrier_org", "carrier_name", "carrier_licence", "mode", "vehicle",
                                     "taken_over_at")),
    ("receiver", "接受人", "Receiver", ("receiver_org", "receiver_name", "receiver_province", "to_site",
                                       "receiver_licence", "received_at", "received_kg", "acceptance", "refused_kg",
                                       "refusal_reason")),
    ("operation", "利用处置", "Treatment", ("treatment", "processed_at")),
)
HW_CODE = re.compile(r"^\d{3}-\d{3}-\d{2}$")


def modes() -> tuple[str, ...]:
    """The transport modes a carrier may name: the catalog's modes (road_diesel, rail, …)."""
    from resynergy import catalog

    return tuple(catalog.table("modes")["id"])

MAX_TEXT = 500  # characters of one text field


def locked_fields(state: State | str) -> frozenset[str]:
    """Fields no one may change any more in ``state`` (those of the frames already signed)."""
    done = signed_frames(state)
    return frozenset(name for step in done for name in FRAMES[step].fields)


def signed_frames(state: State | str) -> tuple[Step, ...]:
    """The frames a manifest in ``state`` has signed, in order."""
    n = {State.SENT: 1, State.IN_TRANSIT: 2, State.RECEIVED: 3, State.REFUSED: 3, State.PROCESSED: 4}
    return FRAME_ORDER[: n.get(State(state), 0)]


def frame_for(step: Step | str) -> Frame:
    try:
        return FRAMES[Step(step)]
    except (KeyError, ValueError):
        raise ValueError(f"不是签字环节：{step} / not a signature: {step}") from None


def is_hazardous(fields: Mapping[str, Any]) -> bool:
    return bool(str(fields.get("waste_code") or "").strip()) or str(fields.get("code_system") or "").startswith("HW")


def hw_category(code: str) -> str:
    """'900-044-49' → 'HW49' (the last two digits are the HW category)."""
    return f"HW{code[-2:]}" if HW_CODE.match(code) else ""


# ---------------------------------------------------------------------------------------------
# Problems: one located message type for missing fields, rule breaches and chain failures


@dataclass(frozen=True)
class Problem:
    kind: str
    zh: str
    en: str
    field: str = ""
    seq: int | None = None  # the signature concerned (1-based), when there is one
    frame: str = ""

    def text(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en


def _label(name: str) -> tuple[str, str]:
    f = FIELD.get(name)
    return (f.label_zh, f.label_en) if f else (name, name)


def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def check_values(values: Mapping[str, Any], allowed: Sequence[str]) -> list[Problem]:
    """Unknown or not-allowed field names and values of the wrong type, each located."""
    out: list[Problem] = []
    for name, v in values.items():
        if name not in FIELD:
            out.append(Problem("unknown_field", f"未知字段 {name}", f"unknown field {name}", name))
            continue
        if name not in allowed:
            zh, en = _label(name)
            out.append(Problem("not_editable", f"此时不能填写或修改“{zh}”({name})",
                               f"{en} ({name}) cannot be set at this step", name))
            continue
        problem = _type_problem(FIELD[name], v)
        if problem:
            out.append(problem)
    return out


def _type_problem(f: Field, v: Any) -> Problem | None:
    zh, en = f.label_zh, f.label_en
    if v is None:
        return None
    if f.kind in ("kg", "int"):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            return Problem("not_integer", f"“{zh}”({f.name}) 应为非负整数，实为 {v!r}",
                           f"{en} ({f.name}) must be a whole number ≥ 0, got {v!r}", f.name)
        return None
    if not isinstance(v, str):
        return Problem("not_text", f"“{zh}”({f.name}) 应为文本，实为 {v!r}",
                       f"{en} ({f.name}) must be text, got {v!r}", f.name)
    if has_control(v) or len(v) > MAX_TEXT:
        return Problem("bad_text", f"“{zh}”({f.name}) 含不可见控制字符或超过 {MAX_TEXT} 个字符",
                       f"{en} ({f.name}) holds control characters or is longer than {MAX_TEXT} characters", f.name)
    if v and f.name.endswith("_org") and not uscc.is_valid(v):
        return Problem("bad_uscc", f"“{zh}”({f.name}) 不是有效的统一社会信用代码（GB 32100，18 位）：{v!r}",
                       f"{en} ({f.name}) is not a valid unified social credit code (GB 32100, 18 characters): {v!r}",
                       f.name)
    if v and f.kind == "date":
        try:
            date.fromisoformat(v)
        except ValueError:
            return Problem("not_date", f"“{zh}”({f.name}) 应为日期 YYYY-MM-DD，实为 {v!r}",
                           f"{en} ({f.name}) must be a date YYYY-MM-DD, got {v!r}", f.name)
    if v and f.kind == "datetime":
        try:
            datetime.fromisoformat(v)
        except ValueError:
            return Problem("not_datetime", f"“{zh}”({f.name}) 应为时间 YYYY-MM-DDTHH:MM，实为 {v!r}",
                           f"{en} ({f.name}) must be a time YYYY-MM-DDTHH:MM, got {v!r}", f.name)
    return None


def missing(fields: Mapping[str, Any], step: Step | str) -> list[Problem]:
    """Fields required at ``step`` that are empty (and conditional requirements)."""
    frame = frame_for(step)
    out: list[Problem] = []
    for name in frame.fields:
        f = FIELD[name]
        need = f.required
        if name == "waste_code" and str(fields.get("code_system") or "").startswith("HW"):
            need = True
        if name == "approval" and _cross_province(fields):
            need = True
        if name == "refusal_reason" and fields.get("acceptance") in (Acceptance.PARTIAL, Acceptance.REFUSED):
            need = True
        if name == "refused_kg" and fields.get("acceptance") == Acceptance.PARTIAL:
            need = True
        if name == "receiver_licence" and is_hazardous(fields):
            need = True
        if need and _empty(fields.get(name)):
            out.append(Problem("required", f"签字前须填写“{f.label_zh}”({name})",
                               f"{f.label_en} ({name}) is required before this signature", name,
                               frame=frame.step.value))
    return out


# Each signature's time comes after the one before it (a field of a later frame, then an earlier one).
TIME_ORDER: tuple[tuple[str, str], ...] = (("sent_at", "taken_over_at"), ("taken_over_at", "received_at"),
                                          ("received_at", "processed_at"))
CST = timezone(timedelta(hours=8))  # a time written without a zone is China Standard Time


def _instant(value: str) -> datetime | None:
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=CST)


def order_problems(fields: Mapping[str, Any], step: Step | str) -> list[Problem]:
    """The time ``step`` records is not earlier than the previous frame's (a date: its day)."""
    out: list[Problem] = []
    for before, after in TIME_ORDER:
        if FIELD[after].locked_by != Step(step) or not fields.get(before) or not fields.get(after):
            continue
        a, b = _instant(str(fields[before])), _instant(str(fields[after]))
        if a is None or b is None:
            continue
        earlier = b.date() < a.astimezone(CST).date() if FIELD[after].kind == "date" else b < a
        if earlier:
            zb, eb = _label(before)
            za, ea = _label(after)
            out.append(Problem("time_order", f"“{za}”{fields[after]} 早于“{zb}”{fields[before]}",
                               f"{ea} {fields[after]} is before {eb} {fields[before]}", after))
    return out


def _cross_province(fields: Mapping[str, Any]) -> bool:
    a, b = str(fields.get("generator_province") or ""), str(fields.get("receiver_province") or "")
    return bool(a and b and a != b)


# ---------------------------------------------------------------------------------------------
# Licences and approvals (plain records; the platform stores them)


@dataclass(frozen=True)
class Licence:
    """A receiver's hazardous-waste operating licence: the HW codes or categories it covers."""

    org: str
    number: str
    codes: tuple[str, ...]  # '900-044-49' or a whole category 'HW49'
    valid_from: str = ""  # ISO date; '' = open
    valid_to: str = ""

    def covers(self, code: str, on: str = "") -> bool:
        if code not in self.codes and hw_category(code) not in self.codes:
            return False
        day = on[:10]
        return not day or ((not self.valid_from or self.valid_from <= day) and
                           (not self.valid_to or day <= self.valid_to))


@dataclass(frozen=True)
class Approval:
    """A cross-province transfer approval (跨省转移商请, kind 'approval') or filing (备案, 'filing')."""

    id: str
    kind: str  # 'approval' | 'filing'
    status: str  # 'approved' | 'pending' | 'refused' | 'revoked'
    origin_province: str
    dest_province: str
    generator_org: str
    receiver_org: str
    material: str
    waste_code: str
    quantity_kg: int
    valid_from: str
    valid_to: str


def licence_problems(fields: Mapping[str, Any], licences: Sequence[Licence], on: str = "") -> list[Problem]:
    """A hazardous waste needs a valid HW code and a receiver licence covering it on ``on``."""
    if not is_hazardous(fields):
        return []
    code = str(fields.get("waste_code") or "")
    if not HW_CODE.match(code):
        return [Problem("bad_hw_code", f"危险废物代码应为 8 位“ddd-ddd-dd”，实为 {code!r}",
                        f"the HW code must be 8 digits 'ddd-ddd-dd', got {code!r}", "waste_code")]
    receiver = str(fields.get("receiver_org") or "")
    if any(lic.org == receiver and lic.covers(code, on) for lic in licences):
        return []
    return [Problem("unlicensed", f"接受人 {receiver} 没有覆盖 {code}（{hw_category(code)}）的有效危险废物经营许可证",
                    f"receiver {receiver} holds no valid licence covering {code} ({hw_category(code)})",
                    "receiver_org")]


def approval_problems(fields: Mapping[str, Any], approval: Approval | None, *, used_kg: int = 0,
                      on: str = "") -> list[Problem]:
    """A cross-province transfer needs an approved record matching it, valid on ``on``, whose
    quota (less ``used_kg`` already sent on it by other manifests) covers the declared quantity;
    a hazardous waste needs an approval (商请), not a mere filing (备案)."""
    if not _cross_province(fields):
        return []
    where = f"{fields.get('generator_province')}→{fields.get('receiver_province')}"
    if approval is None:
        return [Problem("no_approval", f"跨省转移（{where}）须先取得跨省转移批准或备案，方可移出",
                        f"a cross-province transfer ({where}) needs an approval or filing before sending",
                        "approval")]
    out: list[Problem] = []

    def bad(what_zh: str, what_en: str) -> None:
        out.append(Problem("approval_mismatch", f"跨省转移批准 {approval.id}：{what_zh}",
                           f"cross-province approval {approval.id}: {what_en}", "approval"))

    if approval.status != "approved":
        bad(f"状态为 {approval.status}，未批准", f"status is {approval.status}, not approved")
    if is_hazardous(fields) and approval.kind != "approval":
        bad("危险废物须经跨省转移商请批准，备案不足", "a hazardous waste needs an approval, a filing is not enough")
    if (approval.origin_province, approval.dest_province) != (fields.get("generator_province"),
                                                             fields.get("receiver_province")):
        bad(f"省份为 {approval.origin_province}→{approval.dest_province}，联单为 {where}",
            f"provinces {approval.origin_province}→{approval.dest_province}, manifest {where}")
    if approval.generator_org != fields.get("generator_org") or approval.receiver_org != fields.get("receiver_org"):
        bad("移出人或接受人与批准不符", "generator or receiver differs from the approval")
    if approval.material and approval.material != fields.get("material"):
        bad(f"物料为 {approval.material}，联单为 {fields.get('material')}",
            f"material {approval.material}, manifest {fields.get('material')}")
    if approval.waste_code and approval.waste_code != fields.get("waste_code"):
        bad(f"废物代码为 {approval.waste_code}，联单为 {fields.get('waste_code')}",
            f"waste code {approval.waste_code}, manifest {fields.get('waste_code')}")
    day = on[:10]
    if day and not (approval.valid_from <= day <= approval.valid_to):
        bad(f"有效期 {approval.valid_from}–{approval.valid_to} 不含 {day}",
            f"valid {approval.valid_from}–{approval.valid_to}, not on {day}")
    declared = int(fields.get("declared_kg") or 0)
    if used_kg + declared > approval.quantity_kg:
        bad(f"批准数量 {approval.quantity_kg} 千克，已用 {used_kg} 千克，本单 {declared} 千克，超出",
            f"approved {approval.quantity_kg} kg, {used_kg} kg used, this manifest {declared} kg: over the quota")
    return out


# ---------------------------------------------------------------------------------------------
# Signatures: canonical JSON, SHA-256 chain, verification

GENESIS = "0" * 64


def canonical(obj: Any) -> bytes:
    """Sorted-key compact UTF-8 JSON; floats are refused (quantities are whole kilograms)."""

    def check(o: Any) -> None:
        if isinstance(o, float):
            raise TypeError(f"签名内容不能含浮点数：{o!r} / a signed frame cannot hold a float: {o!r}")
        if isinstance(o, Mapping):
            for v in o.values():
                check(v)
        elif isinstance(o, list | tuple):
            for v in o:
                check(v)

    check(obj)
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Signature:
    seq: int  # 1, 2, … within the manifest
    frame: str  # a Step value (emission, transport, reception, operation)
    org: str  # the signing organisation (USCC)
    role: str  # a Role value
    signer: str  # the user who signed
    signed_at: str  # ISO time (UTC)
    fields: dict[str, Any] = field(default_factory=dict)  # the values this signature locks
    prev: str = GENESIS
    hash: str = ""

    def content(self, manifest: str) -> dict[str, Any]:
        return {"manifest": manifest, "seq": self.seq, "frame": self.frame, "org": self.org,
                "role": self.role, "signer": self.signer, "signed_at": self.signed_at,
                "fields": dict(self.fields), "prev": self.prev}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def digest(manifest: str, sig: Signature) -> str:
    return hashlib.sha256(canonical(sig.content(manifest))).hexdigest()


def sign(manifest: str, fields: Mapping[str, Any], step: Step | str, previous: Sequence[Signature], *,
         org: str, signer: str, signed_at: str) -> Signature:
    """The signature of ``step`` over the current values of its frame's fields, chained to
    ``previous``. Checks the order of frames only; the caller checks state and rules first."""
    frame = frame_for(step)
    expected = FRAME_ORDER[len(previous)] if len(previous) < len(FRAME_ORDER) else None
    if expected != frame.step:
        raise ValueError(f"签字顺序不对：应为 {expected}，实为 {frame.step} / "
                         f"signature out of order: expected {expected}, got {frame.step}")
    payload = {name: fields.get(name) for name in frame.fields}
    sig = Signature(len(previous) + 1, frame.step.value, org, frame.role.value, signer, signed_at,
                    payload, previous[-1].hash if previous else GENESIS)
    return Signature(**{**asdict(sig), "hash": digest(manifest, sig)})


def verify(manifest: str, fields: Mapping[str, Any], signatures: Sequence[Signature],
           state: State | str | None = None) -> list[Problem]:
    """Every problem in a manifest's chain, located: a stored signature altered (its hash no
    longer matches), the chain broken or out of order, a signed field changed on the manifest
    (which signature, which field, signed and current values), signatures missing for the state.
    An empty list means the chain holds."""
    out: list[Problem] = []
    prev = GENESIS
    for i, sig in enumerate(signatures):
        seq = i + 1
        where_zh, where_en = f"第 {seq} 个签字（{sig.frame}）", f"signature {seq} ({sig.frame})"
        if sig.seq != seq:
            out.append(Problem("sequence", f"{where_zh}序号为 {sig.seq}，应为 {seq}",
                               f"{where_en} has number {sig.seq}, expected {seq}", seq=seq, frame=sig.frame))
        expected_frame = FRAME_ORDER[i].value if i < len(FRAME_ORDER) else ""
        if sig.frame != expected_frame:
            out.append(Problem("order", f"{where_zh}应为 {expected_frame or '（无）'}",
                               f"{where_en} should be {expected_frame or '(none)'}", seq=seq, frame=sig.frame))
        if sig.prev != prev:
            out.append(Problem("chain_broken", f"{where_zh}未接续上一个签字的哈希",
                               f"{where_en} does not chain to the previous signature's hash",
                               seq=seq, frame=sig.frame))
        if digest(manifest, sig) != sig.hash:
            out.append(Problem("signature_altered", f"{where_zh}的内容已被改动（哈希不符）",
                               f"{where_en} was altered after signing (hash mismatch)", seq=seq, frame=sig.frame))
        prev = sig.hash
        if sig.frame in FRAMES:
            frame = FRAMES[Step(sig.frame)]
            if set(sig.fields) != set(frame.fields):
                out.append(Problem("frame_fields", f"{where_zh}签署的字段与规定不符",
                                   f"{where_en} does not hold exactly its frame's fields", seq=seq, frame=sig.frame))
            for name in frame.fields:
                if name in sig.fields and fields.get(name) != sig.fields[name]:
                    zh, en = _label(name)
                    out.append(Problem("field_changed",
                                       f"{where_zh}签署后“{zh}”({name}) 被改动：签署时为 {sig.fields[name]!r}，现为 {fields.get(name)!r}",
                                       f"{en} ({name}) changed after {where_en}: signed {sig.fields[name]!r}, now {fields.get(name)!r}",
                                       field=name, seq=seq, frame=sig.frame))
    if state is not None:
        need = signed_frames(state)
        if len(signatures) != len(need):
            s_zh, s_en = STATE_TEXT[State(state)]
            out.append(Problem("signatures_missing",
                               f"状态“{s_zh}”应有 {len(need)} 个签字，实有 {len(signatures)} 个",
                               f"state {s_en} needs {len(need)} signatures, found {len(signatures)}"))
    return out


# ---------------------------------------------------------------------------------------------
# Export (the JSON file ``resynergy manifest verify FILE`` reads)

EXPORT_FORMAT = "resynergy-manifest/1"


def export(manifest: str, state: State | str, fields: Mapping[str, Any],
           signatures: Sequence[Signature]) -> dict[str, Any]:
    return {"format": EXPORT_FORMAT, "manifest": manifest, "state": State(state).value,
            "fields": {f.name: fields.get(f.name) for f in FIELDS},
            "signatures": [s.as_dict() for s in signatures]}


def read_export(doc: Mapping[str, Any]) -> tuple[str, State, dict[str, Any], list[Signature]]:
    """(manifest id, state, fields, signatures) of an exported manifest; ValueError when the
    document is not one (says what is missing)."""
    if not isinstance(doc, Mapping) or doc.get("format") != EXPORT_FORMAT:
        raise ValueError(f"不是联单导出文件（format 应为 {EXPORT_FORMAT}） / "
                         f"not an exported manifest (format should be {EXPORT_FORMAT})")
    try:
        sigs = [Signature(**s) for s in doc["signatures"]]
        return str(doc["manifest"]), State(doc["state"]), dict(doc["fields"]), sigs
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"联单导出文件不完整：{exc} / incomplete manifest export: {exc}") from None
