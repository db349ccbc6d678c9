"""Named generator plants in the built-in dataset (#15 item 2): real plants take their share of a
prefecture-sector aggregate generator, the aggregate keeps the rest, every plant names its
operator and cites its source."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path

import pytest
from tests.support.dataset import load_build_script

ROOT = Path(__file__).resolve().parents[1]
PLANTS = ROOT / "scripts" / "dataset" / "plants-generators.csv"
SOURCES = sorted((ROOT / "scripts" / "dataset").glob("sources*.csv"))  # the sources table, one file per owner


@pytest.fixture(scope="module")
def build_module():
    return load_build_script("build_dataset_plants")


@pytest.fixture(scope="module")
def built(build_module):
    return build_module.build()


@pytest.fixture(scope="module")
def unsplit(build_module):
    """The same build without named plants (the aggregates as they were)."""
    keep = build_module.PLANTS_GENERATORS
    build_module.PLANTS_GENERATORS = ROOT / "no-such-file.csv"
    try:
        return build_module.build()
    finally:
        build_module.PLANTS_GENERATORS = keep


def plant_rows() -> list[dict]:
    with PLANTS.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def totals(tables: dict) -> dict[tuple[str, str, int], float]:
    region = {s["id"]: s["region"] for s in tables["sites"]}
    out: dict[tuple[str, str, int], float] = defaultdict(float)
    for s in tables["supplies"]:
        out[(region[s["site"]], s["material"], s["year"])] += s["generation_t"]
    return out


def test_named_plants_and_the_remainder_sum_to_the_prefecture_total(built, unsplit):
    named = {r["id"] for r in plant_rows()}
    sites = {s["id"] for s in built["sites"]}
    assert named <= sites and not named & {s["id"] for s in unsplit["sites"]}
    assert totals(built) == totals(unsplit)  # tonnes moved from the aggregate, none made or lost
    plant_t = sum(s["generation_t"] for s in built["supplies"] if s["site"] in named and s["year"] == 2020)
    assert plant_t > 10e6  # the plants carry real tonnage (Mt scale), not empty rows


def test_no_negative_remainder_and_the_aggregate_keeps_the_rest(built, unsplit):
    before = {(s["site"], s["material"], s["year"]): s["generation_t"] for s in unsplit["supplies"]}
    after = {(s["site"], s["material"], s["year"]): s["generation_t"] for s in built["supplies"]}
    assert min(after.values()) >= 0
    shrunk = [k for k, v in before.items() if after[k] < v]
    assert shrunk and all(k[0].startswith("G-") for k in shrunk)
    for key in shrunk:  # the aggregate's rows say they gave a share away
        row = next(s for s in built["supplies"] if (s["site"], s["material"], s["year"]) == key)
        assert "named plants' share" in row["source"]


def test_every_named_plant_has_an_operator_and_a_cited_source(built):
    keys = {}
    for path in SOURCES:
        with path.open(encoding="utf-8", newline="") as fh:
            keys |= {r["key"]: r for r in csv.DictReader(fh)}
    sites = {s["id"]: s for s in built["sites"]}
    supplies = defaultdict(list)
    for s in built["supplies"]:
        supplies[s["site"]].append(s)
    rows = plant_rows()
    assert len({r["operator"] for r in rows}) >= 40
    for r in rows:
        site = sites[r["id"]]
        assert site["operator"] == r["operator"].strip() != ""
        assert "generator" in site["roles"]
        cited = set(re.findall(r"\[([a-z0-9.-]+)\]", site["source"]))
        assert set(r["source"].split(";")) <= cited and cited & set(keys), r["id"]
        assert all(keys[k]["url"] or keys[k]["method"] for k in r["source"].split(";"))
        assert supplies[r["id"]], r["id"]
        for s in supplies[r["id"]]:
            assert "[pg-gen-factors]" in s["source"] and f"[{r['source'].split(';')[0]}]" in s["source"]
    assert keys["pg-gen-factors"]["confidence"] == "U" and keys["pg-gen-factors"]["method"]


def test_plants_exceeding_the_aggregate_are_scaled_down(build_module, tmp_path):
    path = tmp_path / "plants.csv"
    cols = build_module.PLANT_COLUMNS
    row = dict.fromkeys(cols, "") | {
        "id": "G-150200-huge", "operator": "测试电厂", "operator_en": "Test plant", "region": "150200",
        "kind": "power_plant", "materials": "fly_ash", "activity": "10000000", "activity_unit": "MW",
        "status": "operating", "source": "pg-gem-greengen", "confidence": "P"}
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, cols)
        w.writeheader()
        w.writerow(row)
    keep = build_module.PLANTS_GENERATORS
    build_module.PLANTS_GENERATORS = path
    try:
        tables = build_module.build()
    finally:
        build_module.PLANTS_GENERATORS = keep
    note = next(n for n in tables["_plants"] if n["aggregate"] == "G-150200-power")
    assert note["scale"] < 0.01 and note["wanted"] > 100 * note["total"]
    gen = {(s["site"], s["year"]): s["generation_t"] for s in tables["supplies"] if s["material"] == "fly_ash"}
    for year in (2020, 2021, 2022):
        assert gen[("G-150200-power", year)] >= note["reserved"] * 1e6 - 1  # kept for its routes
        assert gen[("G-150200-huge", year)] > 0
    assert "scaled" in next(s["source"] for s in tables["supplies"] if s["site"] == "G-150200-huge")
    assert "G-150200-power | fly_ash" in build_module.plants_markdown(tables["_plants"])


@pytest.mark.parametrize(("column", "value", "expected"), [
    ("kind", "brewery", "kind"), ("materials", "red_mud", "materials"), ("activity", "-3", "activity"),
    ("uscc", "91110000000000000X", "uscc"), ("region", "140000", "region"), ("operator", " ", "operator"),
])
def test_bad_plant_rows_are_refused_with_their_place(build_module, tmp_path, column, value, expected):
    path = tmp_path / "plants.csv"
    cols = build_module.PLANT_COLUMNS
    row = dict.fromkeys(cols, "") | {
        "id": "G-120000-x", "operator": "测试", "region": "120000", "kind": "power_plant",
        "materials": "fly_ash", "activity": "100", "status": "operating", "source": "pg-x", "confidence": "P"}
    row[column] = value
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, cols)
        w.writeheader()
        w.writerow(row)
    with pytest.raises(ValueError, match=rf"第 2 行 {expected} 列.*row 2, column {expected}"):
        build_module.read_generator_plants(path)
