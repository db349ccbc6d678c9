"""The validated built-in dataset kept between runs (issue 11, goal 1): what comes back from the
cache is the scenario that reading and validating the files gives, and any change to the files
(or the code that validates them) is read afresh."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from resynergy import datasets
from resynergy.scenario import Scenario
from resynergy.scenario import model as scenario_model

NAME = "jjj-2022"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("RESYNERGY_CACHE_DIR", str(folder))
    scenario_model._builtin.cache_clear()  # this process's own copy: read through the cache
    yield folder / "datasets"
    scenario_model._builtin.cache_clear()


def same_scenario(a: Scenario, b: Scenario) -> None:
    assert a.name == b.name and a is not b
    assert dict(a.sources) == dict(b.sources)
    assert list(a._tables) == list(b._tables)
    for t in a._tables:
        pd.testing.assert_frame_equal(a._tables[t], b._tables[t], check_exact=True)


def test_cached_dataset_is_the_validated_one(cache):
    fresh = Scenario.from_builtin(NAME)  # read, validated, written to the cache
    files = list(cache.glob(f"{NAME}-*.pickle"))
    assert len(files) == 1
    scenario_model._builtin.cache_clear()
    again = Scenario.from_builtin(NAME)  # from the cache
    same_scenario(again, fresh)
    scenario_model._builtin.cache_clear()
    files[0].write_bytes(b"not a pickle")  # damaged: read the files instead
    same_scenario(Scenario.from_builtin(NAME), fresh)


def test_no_cache_when_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("RESYNERGY_CACHE_DIR", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    scenario_model._builtin.cache_clear()
    try:
        Scenario.from_builtin(NAME)
    finally:
        scenario_model._builtin.cache_clear()
    assert not list(tmp_path.rglob("*.pickle"))


def test_a_changed_file_is_a_different_key(tmp_path, monkeypatch):
    copy = tmp_path / NAME
    shutil.copytree(datasets.path(NAME), copy)
    monkeypatch.setattr(datasets, "path", lambda name: copy)
    before = scenario_model._cache_key(NAME)
    assert scenario_model._cache_key(NAME) == before  # deterministic
    sites = copy / "sites.csv"
    sites.write_bytes(sites.read_bytes().replace(b"\n", b"\r\n", 1))
    assert scenario_model._cache_key(NAME) != before


def test_an_unwritable_cache_is_ignored(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would go")
    monkeypatch.setenv("RESYNERGY_CACHE_DIR", str(blocked))
    scenario_model._builtin.cache_clear()
    try:
        s = Scenario.from_builtin(NAME)
    finally:
        scenario_model._builtin.cache_clear()
    assert len(s.table("sites")) > 0 and blocked.read_text().startswith("a file")
