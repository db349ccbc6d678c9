"""What an offer must be for a want to take it: material, hazardous-waste code and quality specs
— each rule defined once, here, for the matcher and anyone who checks a pairing (periods and the
price cap are one array comparison in :mod:`.matching`).

Material: a want takes its own material and the substitutes in its ``accepts`` cell: material
codes, or ``process:<id>`` for every input of that process as the scenario's process_io table
lists it (a binder plant's want for ``process:co_binder`` takes granulated blast-furnace slag,
steel slag and FGD gypsum), so substitutes come from the catalog's recipes, never from a hand
list.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PROCESS_PREFIX = "process:"


def accept_tokens(accepts: str) -> list[str]:
    """The '|'-separated tokens of an ``accepts`` cell (material codes or process:<id>)."""
    return [t.strip() for t in str(accepts or "").split("|") if t.strip()]


def process_inputs(process_io: pd.DataFrame) -> dict[str, frozenset[str]]:
    """Input materials of every process (process_io rows with direction 'in')."""
    ins = process_io[process_io["direction"] == "in"]
    return {p: frozenset(g) for p, g in ins.groupby("process")["material"]}


def accepted_materials(material: str, accepts: str, inputs: dict[str, frozenset[str]]
                       ) -> frozenset[str]:
    """Materials a want for ``material`` with this ``accepts`` cell takes; ``inputs`` from
    :func:`process_inputs` (an unknown process contributes nothing)."""
    out = {material} if material else set()
    for token in accept_tokens(accepts):
        if token.startswith(PROCESS_PREFIX):
            out |= inputs.get(token[len(PROCESS_PREFIX):], frozenset())
        else:
            out.add(token)
    return frozenset(out)


def hazard_ok(offer_code: str, want_codes: str) -> bool:
    """An offer without an HW code suits any want; one with a code only a want that lists the
    code or its category ``HWnn`` (the code's last two digits)."""
    if not offer_code:
        return True
    tokens = {t.strip() for t in str(want_codes or "").split("|") if t.strip()}
    return offer_code in tokens or f"HW{offer_code[-2:]}" in tokens


def spec_ok(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Rows whose offer specs lie within the want's bounds (arrays broadcast to (n, specs); NaN
    bound = none). A spec the offer does not state (NaN) fails every bound on it: a want that
    bounds chloride takes no offer of unknown chloride."""
    with np.errstate(invalid="ignore"):
        ok = (np.isnan(lo) | (values >= lo)) & (np.isnan(hi) | (values <= hi))
    return np.asarray(np.asarray(ok).all(axis=-1))

