"""GB/T 34014 codes: the shipped layout on worked examples, located errors, hierarchy, re-coding."""

from __future__ import annotations

import json
from datetime import date
from importlib.resources import files

import pytest

from resynergy.batteries import codes
from resynergy.batteries.issues import ScenarioError

TODAY = date(2026, 11, 30)
NIO = "03UPE01000011C85A00FTY45"  # notes §1.2, source D: 2018-05-10
CATL = "001PF000000000B110000001"  # notes §1.2, source D's maker 001 sample: 2021-01-01


def issues(code: str, **kw):
    parsed, found = codes.check(code, today=TODAY, **kw)
    assert parsed is None
    return found


def test_worked_examples_decode_to_the_dates_the_sources_give():
    a = codes.parse(NIO, today=TODAY)
    assert (a.scheme, a.level, a.fields["maker"], a.fields["spec"], a.fields["trace"], a.fields["serial"]) == (
        "GBT34014", "P", "03U", "01", "000011C", "00FTY45")
    assert a.production_date == date(2018, 5, 10)
    assert codes.parse(CATL, today=TODAY).production_date == date(2021, 1, 1)
    assert codes.parse(" " + NIO.lower() + " ", today=TODAY).raw == NIO  # scanners add case and blanks
    assert codes.parse("０３ＵＰＥ01000011C85A00FTY45", today=TODAY).raw == NIO  # full-width typing


def test_the_shipped_layout_tiles_24_and_19_characters_and_names_its_source():
    rules = codes.default_rules()
    full = rules.layout(24)
    assert full is not None and full.tag == "P" and "§1.1" in full.source
    assert [(f.name, f.start, f.length) for f in full.fields] == [
        ("maker", 1, 3), ("product_type", 4, 1), ("battery_type", 5, 1), ("spec", 6, 2),
        ("trace", 8, 7), ("date", 15, 3), ("serial", 18, 7)]
    assert rules.layout(19) is not None


@pytest.mark.parametrize("code", [NIO[:-1], NIO + "1", "", "03UPE01"])
def test_wrong_length_is_one_located_error(code):
    (issue,) = issues(code)
    assert issue.code == "code_length" and issue.params["length"] == len(code)
    assert "24 / 19" in issue.message("zh") and "characters" in issue.message("en")


def test_bad_characters_are_located_by_position_and_field():
    found = issues("03UPE0#000011C85A00FTY45")
    assert [(i.code, i.params["position"], i.column, i.params["char"]) for i in found] == [
        ("code_charset", 7, "spec", "#")]
    assert "第 7 位（规格代码）" in found[0].message("zh")
    assert "position 7 (specification code)" in found[0].message("en")


def test_product_type_and_battery_type_must_be_known_letters():
    found = issues("03UXH01000011C85A00FTY45")
    assert [(i.column, i.params["position"], i.value) for i in found] == [
        ("product_type", "4", "X"), ("battery_type", "5", "H")]
    assert "P|M|C" in found[0].message("en")


@pytest.mark.parametrize(("date_code", "position", "part"), [
    ("8D5", 16, "month"),  # D is no month (A, B, C = Oct–Dec)
    ("I55", 15, "year"),  # I is skipped in the symbol table
    ("82U", 17, "day"),  # U = 27, February 2018 has 28 days: ok; V = 28; W = 29 is not
])
def test_dates_out_of_the_symbol_table_are_located(date_code, position, part):
    code = NIO[:14] + date_code + NIO[17:]
    if part == "day":
        assert codes.parse(code, today=TODAY).production_date == date(2018, 2, 27)
        code = NIO[:14] + "82W" + NIO[17:]
    (issue,) = issues(code)
    assert issue.code == "code_date" and issue.params["position"] == position
    assert issue.params["part_en"] == part


def test_future_and_too_early_dates_are_decoding_errors():
    (issue,) = issues("X12MCPM27KLPCLX2M2382320")  # Catena-X's example decodes to 2040
    assert issue.code == "code_future" and issue.params["date"] == "2040-02-21"
    early = codes.CodeRules.from_dict({**json.loads(files("resynergy.batteries").joinpath(
        "data/code_layouts.json").read_text(encoding="utf-8")), "date_symbols": {"year_base": 2000}})
    (issue,) = issues(NIO, rules=early)  # 8 → 2008 with another anchor: before 2011
    assert issue.code == "code_early"


def test_the_layout_is_configuration():
    doc = json.loads(files("resynergy.batteries").joinpath("data/code_layouts.json").read_text(encoding="utf-8"))
    old = {**doc["layouts"][0], "fields": [  # facts.md §5.5's superseded 3/1/1/4/7/3/5 split
        {"name": "maker", "start": 1, "length": 3, "charset": "0-9A-Z"},
        {"name": "product_type", "start": 4, "length": 1, "choices": ["P", "M", "C"]},
        {"name": "battery_type", "start": 5, "length": 1, "choices": list("ABCDEFGZ")},
        {"name": "spec", "start": 6, "length": 4, "charset": "0-9A-Z"},
        {"name": "trace", "start": 10, "length": 7, "charset": "0-9A-Z"},
        {"name": "date", "start": 17, "length": 3, "charset": "0-9A-Z"},
        {"name": "serial", "start": 20, "length": 5, "charset": "0-9A-Z"}]}
    rules = codes.CodeRules.from_dict({**doc, "layouts": [old]})
    # under the old split NIO's date would be "A00": A is a year, 0 is no month
    (issue,) = issues(NIO, rules=rules)
    assert issue.code == "code_date" and issue.value == "A00"
    with pytest.raises(ValueError, match="cover"):
        codes.CodeRules.from_dict({**doc, "layouts": [{**old, "length": 25}]})


def test_short_recoded_form_and_recoding_keep_both_codes():
    new = "001PB01B110000001RM"
    parsed = codes.parse(new, today=TODAY)
    assert parsed.scheme == "GBT34014_R19" and parsed.recoded and parsed.fields["original_level"] == "M"
    link = codes.recode(NIO, new, today=TODAY)
    assert link.codes() == (NIO, new)
    with pytest.raises(ScenarioError):
        codes.recode(NIO, NIO, today=TODAY)
    with pytest.raises(ScenarioError) as exc:
        codes.parse("001PB01B11000000ARM", today=TODAY)  # the short form's serial is digits only
    assert exc.value.issues[0].params["position"] == 17


def test_pack_module_cell_tree_and_its_errors():
    pack, module, cell = NIO, "03UME01000011C85A0000001", "03UCE01000011C85A0000002"
    tree = codes.build_tree([codes.Link(pack, module), codes.Link(module, cell)], today=TODAY)
    assert tree.ancestors(cell) == [module, pack] and tree.descendants(pack) == [module, cell]
    with pytest.raises(ScenarioError) as exc:
        codes.build_tree([codes.Link(cell, module), codes.Link(pack, module),
                          codes.Link(CATL, module)], today=TODAY)
    assert [i.code for i in exc.value.issues] == ["tree_level", "tree_two_parents"]
    assert [i.row for i in exc.value.issues] == [1, 3]
