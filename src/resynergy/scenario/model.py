"""The Scenario: an immutable, validated bundle of the tables the planner needs."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from resynergy import catalog, datasets, schema
from resynergy.scenario import io
from resynergy.scenario.protocol import ScenarioLike
from resynergy.scenario.regions import province_of
from resynergy.scenario.validate import (
    check_cross,
    check_plannable,
    check_targets,
    normalise_targets,
)
from resynergy.schema.coerce import RawTable, check_keys, coerce
from resynergy.schema.issues import Issue, ScenarioError

FORMATS = ("csv", "parquet", "xlsx")


class Scenario:
    """Validated tables (one per schema table). Build with ``from_tables``, ``load`` or ``from_builtin``.

    ``sources`` is the sources table the rows' ``[key]`` citations resolve to
    (:class:`resynergy.datasets.provenance.Source` by key): a built-in dataset's, the
    ``sources.csv`` of a loaded folder, or what the caller hands in; derived scenarios keep it."""

    def __init__(self, tables: Mapping[str, pd.DataFrame], name: str,
                 sources: Mapping[str, Any] | None = None):
        self._tables = MappingProxyType(dict(tables))
        self.name = name
        self.sources: Mapping[str, Any] = MappingProxyType(dict(sources or {}))

    # ---- constructors -------------------------------------------------------------------
    @classmethod
    def from_tables(cls, tables: Mapping[str, pd.DataFrame], name: str = "scenario",
                    sources: Mapping[str, Any] | None = None) -> Scenario:
        """Validate plain DataFrames (columns named as in the schema); raise ScenarioError on any issue."""
        unknown = [Issue("unknown_table", source=t, params={"choices": ", ".join(schema.TABLE_NAMES)})
                   for t in tables if t not in schema.TABLE_NAMES]
        raws = {t: RawTable.of(t, f) for t, f in tables.items() if t in schema.TABLE_NAMES}
        return cls._from_raw(raws, name, unknown, sources)

    @classmethod
    def load(cls, path: str | Path, name: str | None = None) -> Scenario:
        """Load a folder of CSV/Parquet files (and its ``sources.csv``, when it has one) or an XLSX
        workbook; all-or-nothing."""
        from resynergy.datasets.provenance import SourcesError, read_sources

        path = Path(path)
        raws, issues = io.read(path)
        sources = {}
        if path.is_dir() and (path / datasets.SOURCES_FILE).is_file():
            try:
                sources = read_sources([path / datasets.SOURCES_FILE])
            except SourcesError as err:
                issues.append(Issue("unreadable", source=datasets.SOURCES_FILE, params={"detail": str(err)}))
        return cls._from_raw(raws, name or path.stem, issues, sources)

    @classmethod
    def from_builtin(cls, name: str) -> Scenario:
        """A built-in dataset. Built-in datasets implement the plan, so the catalog's plan targets
        apply unless the dataset brings its own ``targets`` table.

        Read and validated once per process while its files stay unchanged: a Scenario is
        immutable (tables are handed out as copies), so every caller may share one."""
        folder = datasets.path(name)
        stamp = tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                             for p in folder.iterdir() if p.is_file()))
        return _builtin(name, stamp)

    @classmethod
    def open(cls, ref: str | Path) -> Scenario:
        """A built-in name, a folder or a workbook — whichever ``ref`` names."""
        if isinstance(ref, str) and ref in datasets.names():
            return cls.from_builtin(ref)
        return cls.load(ref)

    @classmethod
    def _from_raw(cls, raws: dict[str, RawTable], name: str, issues: list[Issue],
                  sources: Mapping[str, Any] | None = None) -> Scenario:
        issues = list(issues)
        for ref in schema.REFERENCE_TABLES:
            if ref not in raws:
                raws[ref] = RawTable.of(ref, catalog.table(ref), f"catalog/{ref}.csv")
        tables: dict[str, pd.DataFrame] = {}
        for table in schema.TABLE_NAMES:
            raw = raws.get(table) or RawTable.of(table, pd.DataFrame())
            frame, found = coerce(raw)
            issues += found
            issues += check_keys(table, frame, raw)
            tables[table] = frame
        issues += check_targets(tables["targets"], raws.get("targets"))
        issues += check_cross(tables, raws)  # in the same pass: every problem at once
        if issues:
            raise ScenarioError(issues)
        tables["targets"] = normalise_targets(tables["targets"])
        return cls(tables, name, sources)

    # ---- access -------------------------------------------------------------------------
    def table(self, name: str) -> pd.DataFrame:
        """A copy of one table with every schema column."""
        if name not in self._tables:
            raise KeyError(f"unknown table {name!r}; known: {', '.join(schema.TABLE_NAMES)}")
        return self._tables[name].copy()

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {k: v.copy() for k, v in self._tables.items()}

    @property
    def years(self) -> list[int]:
        years: set[int] = set()
        for t in ("supplies", "demands"):
            years.update(int(y) for y in self._tables[t]["year"].unique())
        return sorted(years)

    def plan_issues(self) -> list[Issue]:
        """What keeps this (valid) scenario from being planned, e.g. no years (empty template)."""
        return check_plannable(self._tables)

    def site_province(self) -> pd.Series:
        """Province code of every site (a prefecture's parent, or the region itself), by site id."""
        sites = self._tables["sites"]
        province = province_of(sites["region"], self._tables["regions"])
        return pd.Series(province.to_numpy(), index=sites["id"], name="province")

    def policy(self, key: str, default: float | None = None) -> float | None:
        """A policy value: the scenario's own, else the catalog default, else ``default``."""
        for frame in (self._tables["policy"], catalog.table("policy")):
            hit = frame.loc[frame["key"] == key, "value"]
            if len(hit):
                return float(hit.iloc[0])
        return default

    # ---- derived scenarios ------------------------------------------------------------
    def with_tables(self, name: str | None = None, **frames: pd.DataFrame) -> Scenario:
        """A new, re-validated scenario with some tables replaced."""
        tables = {**self.tables, **frames}
        return Scenario.from_tables(tables, name or self.name, self.sources)

    def with_policy(self, name: str | None = None, **values: float) -> Scenario:
        """A new scenario with policy values set (added or replaced)."""
        policy = self.table("policy")
        policy = policy[~policy["key"].isin(values)]
        rows = pd.DataFrame({"key": list(values), "value": [float(v) for v in values.values()]})
        return self.with_tables(name=name, policy=pd.concat([policy, rows], ignore_index=True))

    # ---- output -------------------------------------------------------------------------
    def save(self, path: str | Path, format: str = "csv") -> Path:
        """Write as a folder of CSV or Parquet files (with the ``sources.csv`` its citations resolve
        to, when it has one), or as one XLSX workbook (``path`` is the file)."""
        from resynergy.datasets.provenance import write_sources

        if format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, not {format!r}")
        path = Path(path)
        if format == "xlsx":
            return io.write_xlsx(self.tables, path)
        io.write_folder(self.tables, path, format)
        if self.sources:
            write_sources(self.sources, path / datasets.SOURCES_FILE)
        return path

    def equals(self, other: ScenarioLike, ignore: Collection[str] = ()) -> bool:
        """Same tables, same values (names may differ), apart from the tables in ``ignore``."""
        return all(self._tables[t].equals(other._tables[t] if isinstance(other, Scenario)
                                          else other.table(t))  # no copies of our own kind
                   for t in schema.TABLE_NAMES if t not in ignore)

    def __repr__(self) -> str:
        counts = ", ".join(f"{t}={len(f)}" for t, f in self._tables.items() if len(f))
        return f"Scenario({self.name!r}: {counts})"


@lru_cache(maxsize=4)
def _builtin(name: str, stamp: tuple) -> Scenario:
    """The built-in dataset ``name`` as its files were when ``stamp`` (names, times, sizes) was
    taken; a changed file changes the stamp and so is read afresh. Read from the validated
    copy in the user's cache when there is one for these very files (:func:`_cached`)."""
    key = _cache_key(name)
    found = _read_cached(name, key)
    if found is not None:
        return found
    raws, issues = io.read(datasets.path(name))
    if "targets" not in raws:
        raws["targets"] = RawTable.of("targets", catalog.table("targets"), "catalog/targets.csv")
    scenario = Scenario._from_raw(raws, name, issues, datasets.sources(name))
    _write_cached(name, key, scenario)
    return scenario


# --- the validated built-in datasets, kept between runs ----------------------------------------
# Reading and validating the built-in dataset takes ~0.5 s of every command; its result depends
# only on the dataset's files, the code that reads and checks them (scenario, schema, catalog,
# indicator definitions, provenance) and the library versions, so it is kept, pickled, in the
# user's cache folder under a hash of exactly those: any change to them is a different key, read
# and validated afresh. RESYNERGY_CACHE_DIR names the folder ("" or "off": no cache); by default
# $XDG_CACHE_HOME/resynergy or ~/.cache/resynergy. A cache that cannot be read or written is
# ignored (the dataset is read as without it). The file is this user's own, as trusted as
# their Python installation.
_CODE = ("scenario", "schema", "catalog", "indicators/definitions.py", "datasets/__init__.py",
         "datasets/provenance.py", "__init__.py", "states.py")
_CACHE_FORMAT = 1
_CACHE_KEEP = 4


def _cache_dir() -> Path | None:
    import os

    env = os.environ.get("RESYNERGY_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in ("", "off", "0", "no") else Path(env)
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except (RuntimeError, KeyError):  # no home folder: no cache
            return None
    return Path(base) / "resynergy"


def _cache_key(name: str) -> str:
    """A hash of everything the validated dataset depends on: its files' names and bytes, the
    code that reads and validates them, and the Python and library versions."""
    import hashlib
    import sys

    import numpy
    import pyarrow

    h = hashlib.sha256(f"{_CACHE_FORMAT}|{sys.version}|{pd.__version__}|{numpy.__version__}|"
                       f"{pyarrow.__version__}".encode())
    root = Path(__file__).resolve().parents[1]  # the resynergy package
    files: list[tuple[str, Path]] = []
    for part in _CODE:
        p = root / part
        found = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        files += [(str(f.relative_to(root)), f) for f in found]
    folder = datasets.path(name)
    files += [("dataset/" + str(f.relative_to(folder)), f)
              for f in sorted(folder.rglob("*")) if f.is_file()]
    for label, f in files:
        if f.suffix == ".pyc" or "__pycache__" in f.parts:
            continue
        h.update(label.encode() + b"\0")
        h.update(f.read_bytes() + b"\0")
    return h.hexdigest()[:32]


def _cache_file(name: str, key: str) -> Path | None:
    folder = _cache_dir()
    return None if folder is None else folder / "datasets" / f"{name}-{key}.pickle"


def _read_cached(name: str, key: str) -> Scenario | None:
    import pickle

    file = _cache_file(name, key)
    if file is None or not file.is_file():
        return None
    try:
        tables, sources = pickle.loads(file.read_bytes())
        return Scenario(tables, name, sources)
    except Exception:  # noqa: BLE001 - a damaged or foreign file: read the dataset instead
        return None


def _write_cached(name: str, key: str, scenario: Scenario) -> None:
    import os
    import pickle
    import tempfile

    file = _cache_file(name, key)
    if file is None:
        return
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        blob = pickle.dumps((dict(scenario._tables), dict(scenario.sources)), protocol=5)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}-", dir=file.parent)
        with os.fdopen(fd, "wb") as out:
            out.write(blob)
        os.replace(tmp, file)
        # the few newest versions stay (several checkouts may share the folder), older go
        kept = sorted(file.parent.glob(f"{name}-*.pickle"), key=lambda f: f.stat().st_mtime,
                      reverse=True)
        for old in kept[_CACHE_KEEP:]:
            old.unlink(missing_ok=True)
    except Exception:  # noqa: BLE001 - no cache where none can be written; the plan goes on
        pass
