"""Retired traction batteries (issue 14): GB/T 34014 codes, lifecycle events with upload
deadlines in working days, triage to second life or recycling with firm compliance, and a
dynamic-stock retirement forecast that feeds the planner's ``retired_batteries`` supplies.

A core package: it imports no web, store, services, cli or report module, so the platform
only stores what these functions return and calls them.
"""

from __future__ import annotations

import csv
from importlib.resources import files


def data_rows(name: str) -> list[dict[str, str]]:
    """The rows of the packaged table ``data/<name>`` (a CSV with a header), as text."""
    with files("resynergy.batteries").joinpath(f"data/{name}").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
