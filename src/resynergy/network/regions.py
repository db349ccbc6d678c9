"""Which administrative region a site lies in (a prefecture lies in its province)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def ancestors(regions: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """Each region code with itself and every parent up the chain.

    Codes missing from the table still resolve to their GB/T 2260 province (first two digits)."""
    parent = dict(zip(regions["code"], regions["parent"].fillna(""), strict=True))
    out: dict[str, tuple[str, ...]] = {}
    for code in parent:
        chain, cur = [code], parent[code]
        while cur and cur not in chain:
            chain.append(cur)
            cur = parent.get(cur, "")
        out[code] = tuple(chain)
    return out


def within(site_regions: pd.Series | np.ndarray, region: str, regions: pd.DataFrame) -> np.ndarray:
    """Boolean mask: which of ``site_regions`` lie in ``region`` ('' = everywhere)."""
    codes = pd.Series(np.asarray(site_regions, dtype=object)).fillna("").astype(str)
    if not region:
        return np.ones(len(codes), dtype=bool)
    chains = ancestors(regions)

    def inside(code: str) -> bool:
        chain = chains.get(code, (code, code[:2] + "0000") if len(code) == 6 else (code,))
        return region in chain

    uniq = {c: inside(c) for c in codes.unique()}
    return codes.map(uniq).to_numpy(dtype=bool)
