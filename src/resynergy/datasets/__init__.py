"""Built-in datasets shipped with the package: one folder of scenario tables per dataset.

``boundaries/`` holds the map outlines (GeoJSON) and is not a dataset.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

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
