"""One definition per idea (issue 11, item 9): the numpy → Python helper, the bilingual name
lookup, a region's province and the list of result tables each live in one place, and the
places that used to hold copies now agree with it."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from resynergy.network.regions import within
from resynergy.scenario.names import Names
from resynergy.scenario.regions import province_code, province_of
from resynergy.schema.cells import plain

SRC = Path(__file__).resolve().parents[1] / "src" / "resynergy"


def test_plain_turns_numpy_scalars_into_python_and_nan_into_none():
    for value, expected in ((np.int64(3), 3), (np.float32(0.5), 0.5), (np.bool_(True), True),
                            (np.str_("砂"), "砂"), ("=1+1", "=1+1"), (None, None), (7, 7)):
        got = plain(value)
        assert got == expected and type(got) is type(expected), (value, got)
    assert plain(np.float64("nan")) is None and plain(float("nan")) is None
    assert plain(np.float64("inf")) == math.inf  # kept unless asked for finite values
    assert plain(np.float64("-inf"), finite=True) is None
    assert plain({"a": 1}) == {"a": 1}


def test_the_copies_are_gone_and_their_callers_use_plain():
    from resynergy.report.exports import safe_cell_value
    from resynergy.services import audit, plans

    assert safe_cell_value(np.int64(2)) == 2 and safe_cell_value(np.nan) is None
    assert plans.records(pd.DataFrame({"x": [np.inf, 1.5]})) == [{"x": None}, {"x": 1.5}]
    # the audit log keeps infinity as text (the row it records was refused for it)
    assert audit.snapshot({"v": np.float64("inf"), "n": np.int32(4)}) == {"v": "inf", "n": 4}
    copies = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
              if p.name != "cells.py" and re.search(r"\.item\(\)", p.read_text(encoding="utf-8"))]
    assert copies == [], "numpy → Python belongs in resynergy.schema.cells.plain"


def test_names_are_looked_up_in_one_place(builtin_scenario):
    from resynergy.planner.data import prepare
    from resynergy.planner.diagnosis import _Names
    from resynergy.report.labels import Names as ReportNames

    assert ReportNames is Names
    names = Names(builtin_scenario)
    sites = builtin_scenario.table("sites")
    first = sites.iloc[0]
    assert names("site", first["id"], "zh") == first["name_zh"]
    assert names("site", first["id"], "en") == first["name_en"]
    assert names("region", "", "en") == "whole region" and names("material", "", "zh") == "全部物料"
    assert names("site", "no-such-site", "en") == "no-such-site"
    data = prepare(builtin_scenario, [2022], None)
    diag = _Names(data)
    assert isinstance(diag, Names)
    assert diag.site(first["id"], "en") == first["name_en"]
    assert diag.region("", "en") == "the whole region"  # sentence wording, not a lookup


def test_planner_and_indicators_place_every_site_in_the_same_province(builtin_scenario):
    """network.regions.within (the planner's region scopes) and scenario.regions.province_of
    (the indicators' rollup) agree for every site, also where a prefecture's parent is blank
    or a code is missing from the regions table."""
    regions = builtin_scenario.table("regions")
    codes = builtin_scenario.table("sites")["region"]
    blank = regions.copy()
    blank.loc[blank["level"] == "prefecture", "parent"] = ""
    unknown = pd.concat([codes, pd.Series(["131099", "410100", "abc", ""])], ignore_index=True)
    for table, sites in ((regions, codes), (blank, codes), (regions, unknown)):
        province = province_of(sites, table)
        for code in sorted(set(province) | set(table.loc[table["level"] == "province", "code"])):
            if code:
                np.testing.assert_array_equal(within(sites, code, table),
                                              (province == code).to_numpy(), err_msg=code)


def test_a_user_province_must_be_a_province_code(sqlite_app):
    from resynergy.services.access import Actor
    from resynergy.services.accounts import AccountError

    p = sqlite_app.state.platform
    system = Actor(None, "test", "admin")
    with p.sessions() as db:
        for bad in ("130800", "13000", "1300000", "abcdef", " 130000"):
            with pytest.raises(AccountError):
                p.accounts.create_user(db, system, f"u{bad.strip()}", "correct horse battery staple",
                                       "planner", "", bad)
        assert p.accounts.create_user(db, system, "hebei", "correct horse battery staple",
                                      "planner", "", "130000").province == province_code("130800")


def test_result_tables_are_listed_once():
    """The output declaration (schema/output_tables.csv) is the one list: the planner's Plan
    holds its plan tables, the platform stores them and the exports write every table."""
    from resynergy.planner.plan import TABLES, Plan
    from resynergy.schema import outputs
    from resynergy.services import plans

    assert plans.PLAN_TABLES == TABLES == outputs.plan_tables()
    frames = {f for f, v in Plan.__dataclass_fields__.items() if "DataFrame" in str(v.type)}
    assert frames == set(TABLES)
