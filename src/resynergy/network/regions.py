"""Which administrative region a site lies in (a prefecture lies in its province)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from resynergy.scenario.regions import province_of


def ancestors(regions: pd.DataFrame, codes: pd.Series | None = None) -> dict[str, tuple[str, ...]]:
    """Each region code (of the table, and of ``codes``) with itself, every parent up the chain
    and its province as :func:`resynergy.scenario.regions.province_of` has it (the one
    definition: a prefecture with a blank parent, or a code the table lacks, lies in its GB/T
    2260 province), so that planner and indicators agree on what lies in a province."""
    parent = dict(zip(regions["code"], regions["parent"].fillna(""), strict=True))
    every = pd.Series(list(dict.fromkeys([*parent, *([] if codes is None else codes)])),
                      dtype=object).astype(str)
    province = dict(zip(every, province_of(every, regions), strict=True))
    out: dict[str, tuple[str, ...]] = {}
    for code in every:
        chain, cur = [code], parent.get(code, "")
        while cur and cur not in chain:
            chain.append(cur)
            cur = parent.get(cur, "")
        if province[code] and province[code] not in chain:
            chain.append(province[code])
        out[code] = tuple(chain)
    return out


def within(site_regions: pd.Series | np.ndarray, region: str, regions: pd.DataFrame) -> np.ndarray:
    """Boolean mask: which of ``site_regions`` lie in ``region`` ('' = everywhere)."""
    codes = pd.Series(np.asarray(site_regions, dtype=object)).fillna("").astype(str)
    if not region:
        return np.ones(len(codes), dtype=bool)
    uniq_codes = codes.unique()
    chains = ancestors(regions, pd.Series(uniq_codes, dtype=object))
    uniq = {c: region in chains[c] for c in uniq_codes}
    return codes.map(uniq).to_numpy(dtype=bool)
