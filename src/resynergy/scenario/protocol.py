"""What the core needs from a scenario: :class:`ScenarioLike`.

The planner, the indicators, the monitor and the name lookups read a scenario only through
these members. :class:`resynergy.scenario.Scenario` is the implementation (tests build theirs
with ``Scenario.from_tables``); the protocol states the seam so that a type checker holds every
caller to it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

import pandas as pd


class ScenarioLike(Protocol):
    """A validated bundle of schema tables with a name."""

    name: str

    def table(self, name: str) -> pd.DataFrame:
        """A copy of one schema table with every schema column (KeyError for an unknown name)."""
        ...

    @property
    def years(self) -> list[int]:
        """The years that have supplies or demands, ascending."""
        ...

    def policy(self, key: str, default: float | None = None) -> float | None:
        """A policy value: the scenario's own, else the catalog default, else ``default``."""
        ...

    def equals(self, other: ScenarioLike, ignore: Collection[str] = ()) -> bool:
        """Same tables with the same values (names may differ), apart from ``ignore``."""
        ...
