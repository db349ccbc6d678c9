"""Manifest core (issue #12 items 4, 5): transitions, locked frames, the SHA-256 chain, alerts."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import datetime

import pytest

from resynergy.exchange import alerts as al
from resynergy.exchange import manifests as mf
from resynergy.exchange.manifests import Acceptance, State, Step


def base_fields(**over):
    f = {name.name: ("" if name.kind not in ("kg", "int") else None) for name in mf.FIELDS}
    f.update(number="M-1", generator_org="G", generator_province="130000", from_site="S1",
             material="steel_slag", declared_kg=30_000_000 // 1000, receiver_org="R",
             receiver_province="130000", to_site="S2", sent_at="2026-11-02T08:00:00+00:00",
             carrier_org="C", mode="rail", vehicle="K1234", taken_over_at="2026-11-02T09:00:00+00:00",
             received_at="2026-11-03T10:00:00+00:00", received_kg=30_000, acceptance="accepted",
             treatment="cement clinker", processed_at="2026-11-05")
    f.update(over)
    return f


def chain(fields, n=4, manifest="7"):
    sigs: list[mf.Signature] = []
    for step in mf.FRAME_ORDER[:n]:
        frame = mf.FRAMES[step]
        sigs.append(mf.sign(manifest, fields, step, sigs, org=fields[frame.org_field], signer="u",
                            signed_at="2026-11-02T08:00:00+00:00"))
    return sigs


# --- state machine ------------------------------------------------------------------------

LEGAL = {(t.source, t.step) for t in mf.TRANSITIONS}


@pytest.mark.parametrize("state,step", sorted(itertools.product(State, Step)))
def test_every_transition_is_legal_or_refused_with_words(state, step):
    if (state, step) in LEGAL:
        acceptance = Acceptance.REFUSED if step == Step.RECEPTION else ""
        target = mf.transition(state, step, acceptance)
        assert any(t.target == target for t in mf.TRANSITIONS if (t.source, t.step) == (state, step))
    else:
        with pytest.raises(mf.TransitionError) as err:
            mf.transition(state, step)
        e = err.value
        assert mf.STATE_TEXT[state][0] in e.zh and mf.STATE_TEXT[state][1] in e.en
        for nxt in mf.allowed_steps(state):  # names the allowed next steps
            assert mf.STEP_TEXT[nxt][0] in e.zh and mf.STEP_TEXT[nxt][1] in e.en
        if state in mf.FINAL:
            assert not e.allowed and "final" in e.en


def test_the_happy_path_and_refusal():
    s = State.DRAFT
    for step in (Step.SEAL, Step.EMISSION, Step.TRANSPORT):
        s = mf.transition(s, step)
    assert s == State.IN_TRANSIT
    assert mf.transition(s, Step.RECEPTION, Acceptance.PARTIAL) == State.RECEIVED
    assert mf.transition(s, Step.RECEPTION, Acceptance.REFUSED) == State.REFUSED
    assert mf.transition(State.RECEIVED, Step.OPERATION) == State.PROCESSED
    with pytest.raises(ValueError, match="acceptance"):
        mf.transition(s, Step.RECEPTION, "maybe")


def test_frames_lock_declared_fields_once():
    seen = [name for fr in mf.FRAMES.values() for name in fr.fields]
    assert len(seen) == len(set(seen)) == len(mf.FIELDS)
    assert {"vehicle", "mode"} <= set(mf.FRAMES[Step.TRANSPORT].fields)
    assert {"received_kg", "acceptance", "refusal_reason"} <= set(mf.FRAMES[Step.RECEPTION].fields)
    assert mf.locked_fields(State.SEALED) == frozenset()
    assert "declared_kg" in mf.locked_fields(State.SENT) and "vehicle" not in mf.locked_fields(State.SENT)
    assert mf.locked_fields(State.PROCESSED) == frozenset(f.name for f in mf.FIELDS)


def test_printed_blocks_hold_every_field_once():
    names = [n for _, _, _, fields in mf.BLOCKS for n in fields]
    assert sorted(names) == sorted(f.name for f in mf.FIELDS)


def test_missing_fields_are_named_and_conditional():
    f = base_fields(acceptance="partially_accepted", refusal_reason="", refused_kg=None)
    names = {p.field for p in mf.missing(f, Step.RECEPTION)}
    assert names == {"refusal_reason", "refused_kg"}
    assert {p.field for p in mf.missing(base_fields(vehicle=""), Step.TRANSPORT)} == {"vehicle"}
    hw = base_fields(code_system="HW2021", waste_code="")
    assert "waste_code" in {p.field for p in mf.missing(hw, Step.EMISSION)}
    cross = base_fields(receiver_province="110000")
    assert "approval" in {p.field for p in mf.missing(cross, Step.EMISSION)}


def test_check_values_locates_wrong_types_and_fields():
    probs = mf.check_values({"declared_kg": 1.5, "nope": 1, "vehicle": "x", "sent_at": "yesterday"},
                            mf.FRAMES[Step.EMISSION].fields)
    kinds = {(p.field, p.kind) for p in probs}
    assert kinds == {("declared_kg", "not_integer"), ("nope", "unknown_field"), ("vehicle", "not_editable"),
                     ("sent_at", "not_datetime")}
    bad = mf.check_values({"handler": "a\x00b", "carrier_org": "not-a-uscc", "waste_name": "x" * 501},
                          mf.DRAFT_FIELDS)
    assert {(p.field, p.kind) for p in bad} == {("handler", "bad_text"), ("carrier_org", "bad_uscc"),
                                               ("waste_name", "bad_text")}
    assert mf.check_values({"carrier_org": "91130800MA0C000002"}, mf.DRAFT_FIELDS) == []


# --- chain ----------------------------------------------------------------------------------

def test_chain_verifies_and_detects_a_tampered_field():
    f = base_fields()
    sigs = chain(f)
    assert mf.verify("7", f, sigs, State.PROCESSED) == []
    tampered = {**f, "received_kg": 29_000}
    probs = mf.verify("7", tampered, sigs, State.PROCESSED)
    assert [(p.kind, p.seq, p.field) for p in probs] == [("field_changed", 3, "received_kg")]
    assert "29000" in probs[0].en and "30000" in probs[0].en


def test_chain_detects_an_altered_signature_and_a_broken_link():
    f = base_fields()
    sigs = chain(f)
    # the signed value and the manifest altered together: the stored hash no longer matches
    forged = dataclasses.replace(sigs[0], fields={**sigs[0].fields, "declared_kg": 1})
    probs = mf.verify("7", {**f, "declared_kg": 1}, [forged, *sigs[1:]], State.PROCESSED)
    assert [(p.kind, p.seq) for p in probs] == [("signature_altered", 1)]
    # recomputing the forged hash breaks the link of the next signature
    rehashed = dataclasses.replace(forged, hash=mf.digest("7", forged))
    probs = mf.verify("7", {**f, "declared_kg": 1}, [rehashed, *sigs[1:]], State.PROCESSED)
    assert [(p.kind, p.seq) for p in probs] == [("chain_broken", 2)]
    # a signature of another manifest does not verify here
    assert {p.kind for p in mf.verify("8", f, sigs)} == {"signature_altered"}
    # a missing signature for the state
    assert [p.kind for p in mf.verify("7", f, sigs[:3], State.PROCESSED)] == ["signatures_missing"]


def test_signatures_come_in_frame_order_and_refuse_floats():
    f = base_fields()
    with pytest.raises(ValueError, match="out of order"):
        mf.sign("7", f, Step.TRANSPORT, [], org="C", signer="u", signed_at="t")
    with pytest.raises(TypeError, match="float"):
        mf.sign("7", {**f, "declared_kg": 1.0}, Step.EMISSION, [], org="G", signer="u", signed_at="t")


def test_export_roundtrip():
    f = base_fields()
    sigs = chain(f)
    doc = mf.export("7", State.PROCESSED, f, sigs)
    mid, state, fields, back = mf.read_export(doc)
    assert (mid, state, back) == ("7", State.PROCESSED, sigs)
    assert mf.verify(mid, fields, back, state) == []
    with pytest.raises(ValueError, match="format"):
        mf.read_export({"fields": {}})


# --- licences and approvals ------------------------------------------------------------------

def test_hazardous_needs_a_licence_covering_the_code():
    f = base_fields(code_system="HW2021", waste_code="900-044-49")
    assert [p.kind for p in mf.licence_problems(f, [])] == ["unlicensed"]
    assert mf.licence_problems(f, [mf.Licence("R", "L1", ("HW49",))]) == []
    assert mf.licence_problems(f, [mf.Licence("R", "L1", ("900-044-49",))]) == []
    assert [p.kind for p in mf.licence_problems(f, [mf.Licence("R", "L1", ("HW08",))])] == ["unlicensed"]
    assert [p.kind for p in mf.licence_problems(f, [mf.Licence("X", "L1", ("HW49",))])] == ["unlicensed"]
    expired = mf.Licence("R", "L1", ("HW49",), "2020-01-01", "2026-11-01")
    assert [p.kind for p in mf.licence_problems(f, [expired], on="2026-11-02")] == ["unlicensed"]
    assert mf.licence_problems(f, [expired], on="2026-11-01") == []
    assert [p.kind for p in mf.licence_problems(base_fields(waste_code="900-44-49"), [])] == ["bad_hw_code"]
    assert mf.licence_problems(base_fields(), []) == []  # general waste: no licence needed


def approval(**over):
    a = dict(id="A1", kind="approval", status="approved", origin_province="130000", dest_province="110000",
             generator_org="G", receiver_org="R", material="steel_slag", waste_code="", quantity_kg=100_000,
             valid_from="2026-01-01", valid_to="2026-12-31")
    a.update(over)
    return mf.Approval(**a)


def test_cross_province_needs_a_matching_approval():
    f = base_fields(receiver_province="110000", declared_kg=30_000)
    assert [p.kind for p in mf.approval_problems(f, None)] == ["no_approval"]
    assert mf.approval_problems(f, approval(), on="2026-11-02") == []
    assert mf.approval_problems(base_fields(), None) == []  # same province
    assert mf.approval_problems(f, approval(), used_kg=70_000) == []  # quota boundary: exactly full
    assert len(mf.approval_problems(f, approval(), used_kg=70_001)) == 1
    assert len(mf.approval_problems(f, approval(status="pending"))) == 1
    assert len(mf.approval_problems(f, approval(), on="2027-01-01")) == 1
    assert len(mf.approval_problems(f, approval(receiver_org="X"))) == 1
    hw = {**f, "waste_code": "900-044-49"}
    assert len(mf.approval_problems(hw, approval(kind="filing", waste_code="900-044-49"))) == 1


# --- alerts at their boundaries --------------------------------------------------------------

NOW = datetime.fromisoformat("2026-11-09T12:00:00+00:00")  # a Monday


def test_weight_deviation_boundary():
    assert al.DEFAULT_POLICY.weight_tolerance == 0.05
    assert al.weight_deviation("7", base_fields(declared_kg=30_000, received_kg=31_500)) is None  # exactly 5 %
    a = al.weight_deviation("7", base_fields(declared_kg=30_000, received_kg=31_501))
    assert a is not None and a.kind == "weight_deviation" and "+5.0%" in a.en and "过磅偏差" in a.zh
    assert al.weight_deviation("7", base_fields(declared_kg=30_000, received_kg=28_500)) is None
    assert al.weight_deviation("7", base_fields(declared_kg=30_000, received_kg=28_499)) is not None
    floor = al.Policy(weight_tolerance_kg=2_000)
    assert al.weight_deviation("7", base_fields(declared_kg=30_000, received_kg=32_000), floor) is None
    assert al.weight_deviation("7", base_fields(received_kg=None)) is None


def test_overdue_receipt_boundary_in_working_days():
    f = base_fields(sent_at="2026-11-02T08:00:00+00:00")  # Monday; 5 working days later = next Monday
    assert al.overdue_receipt("7", State.SENT, f, NOW) is None
    late = al.overdue_receipt("7", State.IN_TRANSIT, f, datetime.fromisoformat("2026-11-10T00:00:00+00:00"))
    assert late is not None and "6 working days" in late.en
    assert al.overdue_receipt("7", State.RECEIVED, f, datetime(2027, 1, 1)) is None
    cal = al.Policy(receipt_days=7, receipt_working_days=False)
    assert al.overdue_receipt("7", State.SENT, f, NOW, cal) is None  # 7 calendar days exactly
    assert al.overdue_receipt("7", State.SENT, f, datetime.fromisoformat("2026-11-10T00:00:00+00:00"), cal)


def test_licence_approval_and_deal_alerts_and_provinces():
    hw = base_fields(waste_code="900-044-49", receiver_province="110000")
    a = al.unlicensed_receiver("7", State.SENT, hw, [])
    assert a is not None and a.severity == "high" and a.provinces == ("130000", "110000")
    assert al.unlicensed_receiver("7", State.SENT, hw, [mf.Licence("R", "L", ("HW49",))]) is None
    assert al.unlicensed_receiver("7", State.DRAFT, hw, []) is None
    f = base_fields(receiver_province="110000")
    assert al.no_approval("7", State.SEALED, f, None) is None  # blocks signing instead
    b = al.no_approval("7", State.SENT, f, None)
    assert b is not None and b.provinces == ("130000", "110000") and "跨省" in b.zh
    assert al.over_deal("7", f, deal_kg=60_000, deal_total_kg=60_000) is None
    c = al.over_deal("7", f, deal_kg=60_000, deal_total_kg=60_001)
    assert c is not None and c.provinces == ("130000", "110000") and c.severity == "high"
    # a recurring deal: one period over its quantity while the total holds is a warning naming it
    assert al.over_deal("7", f, 120_000, 80_000, ("2022-04", 40_000, 40_000)) is None
    w = al.over_deal("7", f, 120_000, 80_000, ("2022-04", 40_000, 50_000))
    assert w is not None and w.severity == "warning" and "2022-04" in w.zh and "2022-04" in w.en
    # the total beyond the deal stays the high alert, whatever the period says
    h = al.over_deal("7", f, 120_000, 130_000, ("2022-04", 40_000, 50_000))
    assert h is not None and h.severity == "high"
    everything = al.alerts("7", State.SENT, {**hw, "received_kg": None}, now=NOW, deal_kg=1, deal_total_kg=2)
    assert {x.kind for x in everything} == {"unlicensed_receiver", "no_approval", "over_deal"}


def test_policy_refuses_nonsense():
    with pytest.raises(ValueError):
        al.Policy(weight_tolerance=1.5)
    with pytest.raises(ValueError):
        al.Policy(receipt_days=0)


def test_signature_times_follow_each_other_across_zones():
    f = base_fields(sent_at="2022-06-01T08:00", taken_over_at="2022-06-01T00:00:00+00:00")  # 08:00 in Beijing
    assert mf.order_problems(f, Step.TRANSPORT) == []
    late = {**f, "taken_over_at": "2022-05-31T23:59:00+00:00"}
    assert [(p.kind, p.field) for p in mf.order_problems(late, Step.TRANSPORT)] == [("time_order", "taken_over_at")]
    # a date is compared with the day of the time before it, in Beijing
    f = base_fields(taken_over_at="2022-06-01T09:00", received_at="2022-06-01T17:00:00+00:00",  # 01:00, 2 June, CST
                    processed_at="2022-06-02")
    assert mf.order_problems(f, Step.OPERATION) == []
    assert len(mf.order_problems({**f, "processed_at": "2022-06-01"}, Step.OPERATION)) == 1
    assert mf.order_problems({**f, "processed_at": "2022-06-01"}, Step.RECEPTION) == []  # not this step's time
