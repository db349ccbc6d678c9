"""Names of a scenario's sites, materials, regions, processes and modes, in Chinese and English:
the one bilingual name lookup (report tables, terminal, monitor and the planner's diagnosis)."""

from __future__ import annotations

import pandas as pd

from resynergy.scenario.protocol import ScenarioLike

# kind: (table, key column)
KINDS = {"site": ("sites", "id"), "material": ("materials", "code"), "region": ("regions", "code"),
         "process": ("processes", "id"), "mode": ("modes", "id")}
# what a blank key means
BLANK = {"region": ("全区域", "whole region"), "material": ("全部物料", "all materials")}


class Names:
    """``names(kind, key, lang)``: the name of a site, material, region, process or mode of one
    scenario (anything with ``table(name)``) in ``lang`` ('zh' or 'en'); the key itself when the
    scenario does not know it or gives no name. Each kind's table is read on first use."""

    def __init__(self, scenario: ScenarioLike):
        self._scenario: ScenarioLike | None = scenario
        self._maps: dict[str, dict[str, tuple[str, str]]] = {}

    @classmethod
    def read(cls, scenario: ScenarioLike) -> Names:
        """Every kind's names read now; the lookup keeps no reference to ``scenario`` (the
        planner's :class:`~resynergy.planner.data.ModelData` carries it)."""
        names = cls(scenario)
        for kind in KINDS:
            names._map(kind)
        names._scenario = None
        return names

    def _map(self, kind: str) -> dict[str, tuple[str, str]]:
        if kind not in self._maps:
            if self._scenario is None:
                raise KeyError(f"unknown kind of name {kind!r}; known: {', '.join(KINDS)}")
            table, key = KINDS[kind]
            t = self._scenario.table(table)
            pairs = {str(k): (str(z), str(e)) for k, z, e in
                     zip(t[key], t["name_zh"], t["name_en"], strict=True)}
            if kind in BLANK:
                pairs[""] = BLANK[kind]
            self._maps[kind] = pairs
        return self._maps[kind]

    def __call__(self, kind: str, key: str, lang: str = "zh") -> str:
        pair = self._map(kind).get(str(key))
        name = (pair[0] if lang == "zh" else pair[1]) if pair else ""
        return name or str(key)

    def series(self, kind: str, keys: pd.Series, lang: str = "zh") -> pd.Series:
        return keys.astype(str).map(lambda k: self(kind, k, lang))
