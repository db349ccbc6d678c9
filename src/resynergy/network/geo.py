"""Great-circle geometry on the WGS-84 sphere, vectorised over numpy arrays."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)


def great_circle_km(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike,
                    lon2: ArrayLike) -> np.ndarray:
    """Haversine distance in km between points given in degrees (broadcasts)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def unit_xyz(lat: ArrayLike, lon: ArrayLike) -> np.ndarray:
    """Points on the unit sphere, shape (n, 3): chord length orders points as great-circle distance does,
    so a k-d tree over these answers nearest-neighbour and radius queries."""
    p, lam = np.radians(np.asarray(lat, dtype=float)), np.radians(np.asarray(lon, dtype=float))
    return np.column_stack([np.cos(p) * np.cos(lam), np.cos(p) * np.sin(lam), np.sin(p)])


def chord(km: float) -> float:
    """Chord length on the unit sphere for a great-circle distance in km (inf stays inf)."""
    if not np.isfinite(km):
        return np.inf
    return float(2 * np.sin(min(km / EARTH_RADIUS_KM, np.pi) / 2))
