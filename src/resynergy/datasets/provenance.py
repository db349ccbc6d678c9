"""Provenance you can query (#15 item 4): which rows of a scenario are backed by a cited source.

Every ``source`` cell of a scenario table cites keys in square brackets (``[nbs-prov]``) and may
carry inline confidence tags (``[V]``, ``[P]``, ``[U: estimate]``, ``[V band, U default]``). The
keys resolve to a **sources table** (``key,title,publisher,date,url,taken,confidence,method``;
the built-in dataset ships one, :func:`resynergy.datasets.sources`).

The rule, defined once here: a row's confidence is the **weakest** of the confidences of the keys
its cell cites and of its inline tags (V verified > P partly verified > U estimate). A cell that
cites no key, or a key the sources table lacks, is **unsourced** (nothing to follow back). A row
is *backed* when its confidence is V or P.

:func:`coverage` measures the share of tonnage (``supplies.generation_t``, ``demands.quantity_t``)
and of existing capacity (``facilities.capacity_t``, ``candidate`` false, in operation by the
year) that backed rows hold, by table, province and material, and counts the real organisations
(distinct ``org_uscc``, else ``operator``, of sites with a facility or supply row).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from resynergy import schema

COLUMNS = ("key", "title", "publisher", "date", "url", "taken", "confidence", "method")
LEVELS = ("V", "P", "U")  # strongest first
UNSOURCED = "unsourced"
RANK = {"V": 0, "P": 1, "U": 2, UNSOURCED: 3}
BACKED = frozenset({"V", "P"})
DEFAULT_YEAR = 2020

# The figures #15 asks of the built-in data (measured by ``resynergy data info --sources``).
GOALS: tuple[tuple[str, float], ...] = (
    ("generation", 0.70),    # share of the year's generation tonnage backed by V/P
    ("capacity", 0.60),      # share of existing utilization capacity backed by V/P
    ("organisations", 150),  # real organisations (named operators) with facilities or supplies
)

# The tables whose rows are data (the reference tables and the plan's targets and policy come from
# the catalog for a built-in dataset, which cites them in catalog/SOURCES.md).
DATA_TABLES: tuple[str, ...] = tuple(t for t in schema.REGISTRY_TABLES if t not in ("targets", "policy"))

# Words for users (zh, en), shared by ``resynergy data info --sources`` and the report.
LEVEL_NAMES = {"V": ("已核实", "verified"), "P": ("部分核实", "partly verified"),
               "U": ("估计", "estimate"), UNSOURCED: ("无来源", "unsourced")}
MEASURE_NAMES = {
    "generation": ("已核实/部分核实来源支撑的产生量占比", "share of generation tonnage backed by V/P sources"),
    "demand": ("已核实/部分核实来源支撑的需求量占比", "share of demand tonnage backed by V/P sources"),
    "capacity": ("已核实/部分核实来源支撑的现有利用能力占比", "share of existing utilization capacity backed by V/P sources"),
    "organisations": ("有具名设施或产废点的真实单位数", "real organisations with named facilities or supplies"),
}

MEASURE_SHORT = {"generation": ("产生量", "generation"), "demand": ("需求量", "demand"),
                 "capacity": ("现有利用能力", "existing capacity"), "organisations": ("真实单位数", "organisations")}


def words(names: Mapping[str, tuple[str, str]], key: str, lang: str) -> str:
    zh, en = names[key]
    return zh if lang == "zh" else en


KEY = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
_BRACKET = re.compile(r"\[([^\[\]]*)\]")
_TAG = re.compile(r"(?<![A-Za-z])[VPU](?![A-Za-z])")
_DATE = re.compile(r"^(\d{4}(-\d{2}(-\d{2})?)?)?$")


class SourcesError(ValueError):
    """A sources table that cannot be read: the message names the file, row, column and value."""


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    publisher: str
    date: str
    url: str
    taken: str
    confidence: str
    method: str
    file: str = ""


def read_sources(files: Iterable[Path]) -> dict[str, Source]:
    """The sources of one or more CSV files (columns :data:`COLUMNS`, exactly), by key.

    Raises :class:`SourcesError` (zh and en) for a wrong header, a bad key, confidence or date,
    or a key defined twice (naming both files and rows)."""
    out: dict[str, Source] = {}
    where: dict[str, str] = {}
    for file in files:
        file = Path(file)
        with file.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            if tuple(header) != COLUMNS:
                raise SourcesError(
                    f"{file.name} 第 1 行：表头应为 {','.join(COLUMNS)}，实际为 {','.join(header)} / "
                    f"{file.name} row 1: the header must be {','.join(COLUMNS)}, got {','.join(header)}")
            for n, cells in enumerate(reader, start=2):
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) != len(COLUMNS):
                    raise SourcesError(
                        f"{file.name} 第 {n} 行：应有 {len(COLUMNS)} 列，实际 {len(cells)} 列 / "
                        f"{file.name} row {n}: expected {len(COLUMNS)} columns, got {len(cells)}")
                row = dict(zip(COLUMNS, (c.strip() for c in cells), strict=True))
                here = f"{file.name} row {n}"
                for column, ok, expected in (
                        ("key", bool(KEY.match(row["key"])), "lower-case letters, digits, '-' and '.' / 小写字母、数字、连字符"),
                        ("confidence", row["confidence"] in LEVELS, "V, P or U / V、P 或 U"),
                        ("date", bool(_DATE.match(row["date"])), "YYYY, YYYY-MM, YYYY-MM-DD or blank / 年份或日期，可空"),
                        ("title", bool(row["title"]), "a title / 标题不能为空")):
                    if not ok:
                        raise SourcesError(
                            f"{file.name} 第 {n} 行 {column} 列：值 {row[column]!r} 无效，应为 {expected} / "
                            f"{here}, column {column}: {row[column]!r} is not valid; expected {expected}")
                if row["key"] in out:
                    raise SourcesError(
                        f"来源键 {row['key']!r} 重复定义：{where[row['key']]} 与 {here} / "
                        f"source key {row['key']!r} is defined twice: {where[row['key']]} and {here}")
                out[row["key"]] = Source(**row, file=file.name)
                where[row["key"]] = here
    return out


def write_sources(sources: Mapping[str, Source], path: Path) -> None:
    """The sources as one CSV (columns :data:`COLUMNS`), sorted by key."""
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLUMNS)
        for key in sorted(sources):
            s = sources[key]
            w.writerow([getattr(s, c) for c in COLUMNS])


@dataclass(frozen=True)
class Citation:
    """What one ``source`` cell cites: keys in order of appearance, and inline tags."""
    keys: tuple[str, ...]
    tags: tuple[str, ...]


def parse(cell: object) -> Citation:
    """The ``[key]`` citations and inline ``[V]``/``[P]``/``[U…]`` tags of a source cell.

    A cell without brackets whose ';'-separated parts are all keys (``_calibration.csv``'s
    ``est-prov; mee-trend``) cites those keys."""
    text = "" if cell is None or (isinstance(cell, float) and pd.isna(cell)) else str(cell)
    keys: list[str] = []
    tags: list[str] = []
    inside = _BRACKET.findall(text)
    if not inside:
        parts = [p.strip() for p in text.split(";") if p.strip()]
        if parts and all(KEY.match(p) for p in parts):
            keys = parts
    for part in inside:
        part = part.strip()
        if KEY.match(part):
            if part not in keys:
                keys.append(part)
        else:  # any V/P/U word in other brackets is a tag ("[U: estimate]", "[2020 V, trend U]"):
            tags.extend(_TAG.findall(part))  # reading too many tags can only weaken a row
    return Citation(tuple(keys), tuple(tags))


def weakest(levels: Iterable[str]) -> str:
    """The weakest of confidence levels (V > P > U > unsourced); no level at all is unsourced."""
    return max(levels, key=RANK.__getitem__, default=UNSOURCED)


def confidence(cell: object, sources: Mapping[str, Source] | None) -> tuple[str, tuple[str, ...]]:
    """A cell's confidence under the weakest-tag rule, and the keys it cites that do not resolve."""
    cited = parse(cell)
    sources = sources or {}
    unresolved = tuple(k for k in cited.keys if k not in sources)
    if not cited.keys or unresolved:
        return UNSOURCED, unresolved
    return weakest([sources[k].confidence for k in cited.keys] + list(cited.tags)), ()


class _HasTables(Protocol):
    @property
    def tables(self) -> Mapping[str, pd.DataFrame]: ...


def _frames(data: _HasTables | Mapping[str, pd.DataFrame]) -> Mapping[str, pd.DataFrame]:
    return data if isinstance(data, Mapping) else data.tables


def _site_province(tables: Mapping[str, pd.DataFrame]) -> pd.Series:
    """Province of every site of plain tables (as Scenario.site_province does for a scenario)."""
    from resynergy.scenario.regions import province_of

    sites = tables["sites"]
    regions = tables.get("regions", pd.DataFrame(columns=["code", "parent", "level"]))
    return pd.Series(province_of(sites["region"].astype(str), regions).to_numpy(),
                     index=sites["id"].astype(str))


def _truthy(col: pd.Series) -> pd.Series:
    if col.dtype == bool:
        return col
    return col.astype(str).str.strip().str.lower().isin(("true", "1", "yes"))


def row_confidence(frame: pd.DataFrame, sources: Mapping[str, Source] | None,
                   memo: dict[str, tuple[str, tuple[str, ...]]] | None = None) -> pd.Series:
    """The confidence of every row of a table (its ``source`` column; unsourced without one).
    ``memo`` keeps :func:`confidence` by cell text across calls with the same sources."""
    if "source" not in frame:
        return pd.Series(UNSOURCED, index=frame.index)
    memo = {} if memo is None else memo
    cells = frame["source"].astype(str)
    for cell in cells.unique():
        if cell not in memo:
            memo[cell] = confidence(cell, sources)
    return cells.map(lambda c: memo[c][0])


def _shares(frame: pd.DataFrame, value: str, by: str | None) -> dict[str, Any]:
    """Total, backed total, share backed and the total per confidence level, overall (``by``
    None) or per value of column ``by``."""
    levels = (*LEVELS, UNSOURCED)
    keys = ["_all"] if by is None else [by]
    grid = (frame.assign(_all="")
            .groupby(keys + ["confidence"])[value].sum().unstack("confidence", fill_value=0.0)
            .reindex(columns=list(levels), fill_value=0.0))

    def one(row: pd.Series) -> dict[str, Any]:
        total = float(row.sum())
        backed = float(row["V"] + row["P"])
        return {"total": total, "backed": backed, "share": backed / total if total else None,
                "by_confidence": {lv: float(row[lv]) for lv in levels}}
    if by is None:
        return one(grid.iloc[0]) if len(grid) else one(pd.Series(0.0, index=list(levels)))
    return {str(k): one(row) for k, row in sorted(grid.iterrows(), key=lambda kv: str(kv[0]))}


MEASURES = {  # measure: (table, value column, breakdown column besides province)
    "generation": ("supplies", "generation_t", "material"),
    "demand": ("demands", "quantity_t", "material"),
    "capacity": ("facilities", "capacity_t", "process"),
}


def default_year(data: _HasTables | Mapping[str, pd.DataFrame]) -> int:
    """:data:`DEFAULT_YEAR` when the supplies have it, else their first year."""
    supplies = _frames(data).get("supplies")
    years = sorted(set(pd.to_numeric(supplies["year"], errors="coerce").dropna().astype(int))) \
        if supplies is not None and "year" in supplies else []
    return DEFAULT_YEAR if DEFAULT_YEAR in years or not years else years[0]


def coverage(data: _HasTables | Mapping[str, pd.DataFrame], sources: Mapping[str, Source] | None,
             year: int | None = None) -> dict[str, Any]:
    """Share of tonnage and capacity backed by V/P sources, JSON-ready.

    ``data`` is a :class:`~resynergy.scenario.Scenario` or a mapping of table name → frame;
    ``sources`` the sources table by key (``None`` or empty: every row is unsourced).
    Returns ``year``, ``sourced`` (a sources table was given), ``measures`` (generation,
    demand, capacity: total, backed, share, by_confidence, by_province, by_material or
    by_process), ``tables`` (rows per confidence of every :data:`DATA_TABLES` table with a ``source`` column),
    ``organisations`` (count, by_province), ``unresolved`` (key → rows citing it) and ``goals``
    (:data:`GOALS` with value and met). ``year`` defaults to :func:`default_year`."""
    tables = _frames(data)
    year = default_year(data) if year is None else year
    if hasattr(data, "site_province"):  # a Scenario: its own definition
        province = data.site_province()
    else:
        province = _site_province(tables) if "sites" in tables else pd.Series(dtype=str)
    memo: dict[str, tuple[str, tuple[str, ...]]] = {}
    measures: dict[str, Any] = {}
    for name, (table, value, other) in MEASURES.items():
        frame = tables.get(table)
        if frame is None or value not in frame:
            continue
        frame = frame.assign(confidence=row_confidence(frame, sources, memo),
                             **{value: pd.to_numeric(frame[value], errors="coerce").fillna(0.0)})
        years = pd.to_numeric(frame["year"], errors="coerce")
        if table == "facilities":  # existing capacity in operation by the year
            keep = (years <= year)
            if "candidate" in frame:
                keep &= ~_truthy(frame["candidate"])
        else:
            keep = years == year
        frame = frame[keep]
        frame = frame.assign(province=frame["site"].astype(str).map(province).fillna(""))
        measures[name] = {"table": table, "column": value, **_shares(frame, value, None),
                          "by_province": _shares(frame, value, "province"),
                          f"by_{other}": _shares(frame, value, other)}

    per_table: dict[str, Any] = {}
    unresolved: dict[str, int] = {}
    for name in DATA_TABLES:
        frame = tables.get(name)
        if frame is None or "source" not in frame or frame.empty:
            continue
        conf = row_confidence(frame, sources, memo)
        counts = {lv: int((conf == lv).sum()) for lv in (*LEVELS, UNSOURCED)}
        per_table[name] = {"rows": len(frame), **counts,
                           "share": (counts["V"] + counts["P"]) / len(frame)}
        for cell, n in frame["source"].astype(str).value_counts().items():
            for key in memo[str(cell)][1]:
                unresolved[key] = unresolved.get(key, 0) + int(n)

    organisations = _organisations(tables, province)
    values = {"generation": measures.get("generation", {}).get("share"),
              "capacity": measures.get("capacity", {}).get("share"),
              "organisations": organisations["count"]}
    goals = [{"id": goal, "target": target, "value": values[goal],
              "met": values[goal] is not None and values[goal] >= target} for goal, target in GOALS]
    return {"year": year, "sourced": bool(sources), "measures": measures, "tables": per_table,
            "organisations": organisations, "unresolved": dict(sorted(unresolved.items())),
            "goals": goals}


def _organisations(tables: Mapping[str, pd.DataFrame], province: pd.Series) -> dict[str, Any]:
    """Distinct real organisations: ``org_uscc`` (else ``operator``) of sites that have a facility
    or a supply row."""
    sites = tables.get("sites")
    if sites is None or sites.empty:
        return {"count": 0, "by_province": {}}
    used: set[str] = set()
    for table in ("facilities", "supplies"):
        if table in tables and "site" in tables[table]:
            used |= set(tables[table]["site"].astype(str))
    sites = sites[sites["id"].astype(str).isin(used)]
    blank = pd.Series("", index=sites.index)
    uscc = sites.get("org_uscc", blank).fillna("").astype(str).str.strip()
    operator = sites.get("operator", blank).fillna("").astype(str).str.strip()
    org = uscc.where(uscc != "", operator)
    named = pd.DataFrame({"org": org, "province": sites["id"].astype(str).map(province).fillna("")})
    named = named[named["org"] != ""]
    by_province = {str(k): int(v) for k, v in named.groupby("province")["org"].nunique().items()}
    return {"count": int(named["org"].nunique()), "by_province": by_province}


def as_dicts(sources: Mapping[str, Source]) -> list[dict[str, str]]:
    """The sources as JSON-ready rows, sorted by key."""
    return [asdict(sources[k]) for k in sorted(sources)]
