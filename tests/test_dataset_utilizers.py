"""Named utilizer plants of the built-in dataset (#15 item 2, scripts/dataset/plants-utilizers.csv).

Each named plant is a real firm's site with an existing facility of a catalog process and a cited
source; naming plants takes their capacity out of the calibrated capacity of the same prefecture
and process, so the calibrated totals do not move except where a sourced figure is larger (those
overrides are listed by the build and in SOURCES.md).
"""
from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path

import pytest
from tests.support.dataset import load_build_script

from resynergy import catalog, datasets
from resynergy.scenario import Scenario, uscc

ROOT = Path(__file__).resolve().parents[1]
INPUT = ROOT / "scripts" / "dataset"


@pytest.fixture(scope="module")
def build_module():
    return load_build_script("build_dataset_utilizers")


@pytest.fixture(scope="module")
def plants() -> list[dict[str, str]]:
    with (INPUT / "plants-utilizers.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def built(build_module):
    """The dataset as built with the named plants, and as built without them."""
    with_named = build_module.build()
    original = build_module.read_named_utilizers
    build_module.read_named_utilizers = lambda *a, **k: []
    try:
        without = build_module.build()
    finally:
        build_module.read_named_utilizers = original
    return with_named, without


def test_each_named_facility_has_operator_process_and_cited_source(plants):
    scenario = Scenario.from_builtin("jjj-2022")
    sites = scenario.table("sites").set_index("id")
    facilities = scenario.table("facilities")
    processes = set(catalog.table("processes")["id"])
    with (INPUT / "sources-plantsuse.csv").open(encoding="utf-8", newline="") as fh:
        keys = {r["key"] for r in csv.DictReader(fh)}
    documented = keys | set(re.findall(r"^\| `([a-z0-9.-]+)` \|",
                                       (datasets.path("jjj-2022") / "SOURCES.md").read_text(encoding="utf-8"),
                                       flags=re.M))
    no_haul = set(catalog.table("processes").query("mass_yield == 0 and task == ''")["id"])
    by_id = facilities.set_index("id")
    assert len({p["operator"] for p in plants}) >= 50
    for p in plants:
        assert p["process"] in processes, p
        cited = set(re.findall(r"\[([a-z][a-z0-9.-]+)\]", p["source"]))
        assert cited and cited <= documented, (p["id"], cited - documented)
        if p["uscc"]:
            assert uscc.is_valid(p["uscc"]), p["id"]
        fid = f"F-{p['id'][2:]}-{p['process'].replace('_', '-')}"
        if p["process"] in no_haul:  # on the generator site of its waste, the operator in the source
            assert p["operator"] in by_id.loc[fid, "source"], fid
            assert by_id.loc[fid, "site"].startswith("G-"), fid
        else:
            assert sites.loc[p["id"], "operator"] == p["operator"], p["id"]
        if fid in by_id.index and p["status"] == "operating" and p["capacity_t"]:
            row = by_id.loc[fid]
            assert row["process"] == p["process"] and not row["candidate"]
            assert row["capacity_t"] == pytest.approx(float(p["capacity_t"]), abs=1)
            assert re.search(r"\[[a-z][a-z0-9.-]+\]", row["source"])
        elif p["status"] == "operating" and p["capacity_t"]:  # only an attached existing site
            assert "operator as published" not in sites.loc[p["id"], "source"], p["id"]


def _existing_by_cell(tables, province: bool = False) -> dict[tuple[str, str], float]:
    region = {s["id"]: s["region"] for s in tables["sites"]}
    if province:
        region = {k: v if v[2:] == "0000" else v[:2] + "0000" for k, v in region.items()}
    cells: dict[tuple[str, str], float] = defaultdict(float)
    for f in tables["facilities"]:
        if f["candidate"] == "false":
            cells[(region[f["site"]], f["process"])] += f["capacity_t"]
    return cells


def test_naming_keeps_province_process_totals_except_listed_overrides(built):
    with_named, without = built
    after, before = _existing_by_cell(with_named, True), _existing_by_cell(without, True)
    overrides = {(o["region"], o["process"]): o for o in with_named["_named"]["overrides"]}
    assert overrides, "the build lists no override: the SOURCES.md table would be empty"
    for cell in set(after) | set(before):
        if cell in overrides:
            o = overrides[cell]
            assert o["named_t"] > o["calibrated_t"] == pytest.approx(before.get(cell, 0.0), abs=1)
            assert after[cell] == pytest.approx(o["named_t"], abs=1), cell
        else:  # per-facility rounding to 1 t only
            assert after.get(cell, 0.0) == pytest.approx(before.get(cell, 0.0), abs=50), cell


def test_naming_keeps_prefecture_process_totals_where_the_prefecture_covers_its_plants(built):
    """Only a prefecture whose named plants outgrow its calibrated capacity draws on the rest of
    its province (listed as moved); every other prefecture × process total stays."""
    with_named, without = built
    after, before = _existing_by_cell(with_named), _existing_by_cell(without)
    moved = {(m["region"][:2], m["process"]) for m in with_named["_named"]["moved"]}
    changed = {c for c in set(after) | set(before)
               if after.get(c, 0.0) != pytest.approx(before.get(c, 0.0), abs=50)}
    assert changed, "naming changed no prefecture total: the test would not see a broken shrink"
    assert {c for c in changed if (c[0][:2], c[1]) not in moved} == set()


def test_overrides_are_documented_in_sources_md(built):
    text = (datasets.path("jjj-2022") / "SOURCES.md").read_text(encoding="utf-8")
    for o in built[0]["_named"]["overrides"] + built[0]["_named"]["moved"]:
        assert all(fid in text for fid in o["facilities"]), o


def test_bad_row_gets_a_located_error(build_module, tmp_path, plants):
    path = tmp_path / "plants-utilizers.csv"
    fields = list(plants[0])
    for column, value, expected in (("process", "no_such_process", "catalog"),
                                    ("uscc", "91110000000000000X", "check digit"),
                                    ("region", "999999", "code")):
        rows = [dict(p) for p in plants[:3]]
        rows[1][column] = value
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            w.writeheader()
            w.writerows(rows)
        with pytest.raises(ValueError, match=rf"row 3, column {column}: .*{value}.*{expected}"):
            build_module.read_named_utilizers(path)
