"""Built-in datasets shipped with the package: one folder of scenario tables per dataset.

``boundaries/`` holds the map outlines (GeoJSON) and is not a dataset.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

_NOT_DATASETS = frozenset({"boundaries", "__pycache__"})


def _root() -> Path:
    return Path(str(files("resynergy.datasets")))


def names() -> list[str]:
    """Names of the built-in datasets, sorted."""
    return sorted(
        p.name for p in _root().iterdir()
        if p.is_dir() and p.name not in _NOT_DATASETS and not p.name.startswith(".")
    )


def path(name: str) -> Path:
    """Folder of the built-in dataset ``name`` (KeyError naming the known ones)."""
    if name not in names():
        raise KeyError(f"unknown built-in dataset {name!r}; known: {', '.join(names())}")
    return _root() / name


def boundaries(level: str) -> Path:
    """GeoJSON outlines: ``level`` is 'provinces' or 'prefectures'."""
    if level not in ("provinces", "prefectures"):
        raise KeyError(f"unknown boundary level {level!r}; known: provinces, prefectures")
    return _root() / "boundaries" / f"{level}.geojson"


@cache
def _province_rings() -> dict[str, list[list[tuple[float, float]]]]:
    doc = json.loads(boundaries("provinces").read_text(encoding="utf-8"))
    rings: dict[str, list[list[tuple[float, float]]]] = {}
    for feature in doc["features"]:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        rings[feature["properties"]["code"]] = [[(x, y) for x, y in ring] for poly in polygons for ring in poly]
    return rings


def in_province(code: str, lat: float, lon: float) -> bool:
    """Whether the point lies inside the province's outline (even-odd rule over all rings, so
    holes and exclaves count right). ``code`` is a province code, e.g. '130000'."""
    inside = False
    for ring in _province_rings()[code]:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False):
            if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
    return inside


SOURCES_FILE = "sources.csv"  # the sources table of a built-in dataset (written by its build script)


def sources(name: str) -> dict[str, Any]:
    """The sources table of the built-in dataset ``name`` by key (:class:`provenance.Source`);
    empty when it ships none."""
    from resynergy.datasets.provenance import read_sources

    file = path(name) / SOURCES_FILE
    return dict(read_sources([file])) if file.is_file() else {}


def builtin_sources() -> dict[str, Any]:
    """Every built-in dataset's sources table in one (:class:`provenance.Source` by key): what
    the rows of a platform registry, loaded from the built-in data, cite."""
    return {key: src for name in names() for key, src in sources(name).items()}
