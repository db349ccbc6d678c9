"""Rules as data (#13 item 1) and one definition with the planner (#13: "the planner's incentives
and the engine agree on the same product"): every row sourced and tagged as the note tags it,
the families table maps material codes, EPT rates agree with the catalog, and the planner's
per-tonne incentive equals what ``assess`` computes for a ledger of the same recipe."""

from __future__ import annotations

from datetime import date
from importlib.resources import files
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from resynergy import catalog
from resynergy.evaluation import Period, Verdict, assess, load_rules
from resynergy.evaluation.rules import CONFIDENCES, planner_incentives
from resynergy.planner.data import _incentives
from support.evaluation import ledger, received


def test_every_rule_row_has_an_id_dates_a_source_and_a_tag():
    r = load_rules()
    for name in ("vat", "eit", "ept", "screens", "procedure"):
        frame = getattr(r, name)
        assert frame["rule_id"].is_unique and frame["confidence"].isin(CONFIDENCES).all(), name
        assert (frame["source"].str.len() > 12).all(), name
        assert frame["valid_from"].map(lambda d: isinstance(d, date)).all(), name
    assert r.filing_days() == 30 and r.rule("EVAL-FILE-30D")["confidence"] == "S"
    assert r.catalogue["confidence"].eq("U").all()  # the MIIT conditions were not readable (note §8)
    # tags copied from note §7, never upgraded
    tags = r.vat.set_index("rule_id")["confidence"]
    assert tags["VAT22-2.1"] == "S" and tags["VAT22-CDW-GANGUE-AGG"] == "P" and tags["VAT22-3-PLASTICS"] == "U"
    assert r.eit.set_index("rule_id").loc["EIT21-ITEM-BLDG", "share_confidence"] == "U"


def test_rules_on_a_day_pick_the_catalogue_in_force():
    r = load_rules()
    before, after = r.on(date(2022, 2, 28)), r.on(date(2022, 3, 1))
    assert not after.vat["catalogue"].eq("2015").any() and before.vat["catalogue"].eq("2015").any()
    assert "VAT15-2.1" in set(before.vat["rule_id"]) and "VAT22-2.1" not in set(before.vat["rule_id"])
    assert "VAT22-2.1" in set(after.vat["rule_id"]) and "VAT15-2.1" not in set(after.vat["rule_id"])
    assert r.on(date(2017, 6, 1)).ept.empty  # the environmental-protection tax starts in 2018


def test_families_map_material_codes_and_ept_rates_agree_with_the_catalog():
    r = load_rules()
    materials = catalog.table("materials").set_index("code")
    assert set(r.families["material"]) <= set(materials.index)
    wastes = materials.index[materials["kind"] != "product"]
    assert set(wastes) <= set(r.families["material"])  # every waste has a family row
    for code in wastes:
        assert r.ept_rate(code)[1] == pytest.approx(materials.loc[code, "env_tax"]), code


def test_the_planner_incentives_are_the_evaluation_rows():
    inc = catalog.table("incentives").set_index("id")
    r = load_rules()
    row = r.rule("VAT22-2.1")
    assert inc.loc["vat2_1_fly_ash_blocks", "min_waste_share"] == row["min_share"]
    assert inc.loc["vat2_1_fly_ash_blocks", "rate"] == row["refund_pct"]
    assert inc.loc["vat2_2_scm_cement", "min_waste_share"] == r.rule("VAT22-2.2a")["min_share"]
    assert inc.loc["cit_fly_ash_blocks", "rate"] == 0.1 and inc.loc["cit_fly_ash_blocks", "tax_rate"] == 0.25
    assert "VAT22-2.1" in inc.loc["vat2_1_fly_ash_blocks", "source"]
    # a changed rule row changes the planner's figure (one definition, not a copy)
    changed = r.vat.copy()
    changed.loc[changed["rule_id"] == "VAT22-2.1", "refund_pct"] = 0.5
    with files("resynergy.catalog").joinpath("data/incentives.csv").open(encoding="utf-8") as fh:
        mapping = pd.read_csv(fh, dtype=str, keep_default_na=False)
    out = planner_incentives(mapping, type(r)(**{**r.__dict__, "vat": changed})).set_index("id")
    assert float(out.loc["vat2_1_fly_ash_blocks", "rate"]) == 0.5
    bad = mapping.assign(rule_id=lambda m: m["rule_id"].where(m["id"] != "vat2_1_ceramsite", "VAT22-2.2a"))
    with pytest.raises(ValueError, match="does not list product"):
        planner_incentives(bad)


@pytest.mark.parametrize(("process", "product", "grade"), [("fly_ash_blocks", "bricks_blocks", ""),
                                                          ("scm_cement", "cement", "42.5")])
def test_planner_and_assess_agree_on_the_same_product(process, product, grade):
    """1,000 t of the process's recipe, its output sold at the planner's price: the planner's VAT
    incentive per t of input × 1,000 t = the refund ``assess`` estimates (no input VAT given)."""
    io = catalog.table("process_io")
    materials = catalog.table("materials").set_index("code")
    recipe = io[(io["process"] == process)]
    out = recipe[recipe["direction"] == "out"].iloc[0]
    price = 300.0
    scenario = SimpleNamespace(table=lambda name: (lambda t: t[t["kind"] == "vat_refund"])(catalog.table(name)))
    fac = pd.DataFrame({"process": [process]})
    demands = pd.DataFrame({"material": [out["material"]], "value": [price], "quantity_t": [1.0]})
    per_t = _incentives(scenario, fac, catalog.table("processes"), io, materials, demands)
    assert per_t.shape == (1,) and per_t[0] > 0
    inputs = recipe[recipe["direction"] == "in"]
    raw_t = 1000.0
    waste, receipts, use = [], [], []
    for _, i in inputs.iterrows():
        if materials.loc[i["material"], "kind"] == "product":
            continue  # a bought product (binder, clinker) is raw material but not waste
        w, r = received("2022-06", i["material"], raw_t * i["rate"])
        waste.append(w)
        receipts.append(r)
        use.append({"month": "2022-06", "material": i["material"], "product": product, "grade": grade,
                    "t": raw_t * i["rate"]})
    sold = raw_t * out["rate"]
    lg = ledger(waste, receipts, use, [{"month": "2022-06", "product": product, "grade": grade,
                                        "raw_materials_t": raw_t, "sold_t": sold, "sales_yuan": sold * price}])
    a = assess(lg, Period.parse("2022-06"))
    vat = a.vat.iloc[0]
    assert vat["status"] == Verdict.ELIGIBLE
    assert vat["refund_yuan"] == pytest.approx(per_t[0] * raw_t)
    assert np.isclose(vat["refund_pct"] * vat["vat_rate"] * out["rate"] * price, per_t[0])
