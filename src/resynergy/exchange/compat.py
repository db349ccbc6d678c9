"""What an offer must be for a want to take it: material, hazardous-waste code and quality specs
— each rule defined once, here, for the matcher and anyone who checks a pairing (periods, the
price cap and, through :func:`spec_limits`, the specs are one array comparison in
:mod:`.matching`).

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


def spec_limits(is_offer: np.ndarray, values: np.ndarray, lo: np.ndarray, hi: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """The spec rule as columns of one array comparison (what the matcher applies): an offer's
    specs lie within the want's bounds (NaN bound = none), and a spec the offer does not state
    (NaN) fails every bound on it — a want that bounds chloride takes no offer of unknown
    chloride. Rows are listings (``is_offer`` per row; ``values``, ``lo``, ``hi``: (n, specs)).

    Answers (as a candidate, as the asking side), each (n, 2·specs): a pairing fails where a
    column of the candidate's block exceeds the asking listing's (a NaN compares false:
    passes). On a want: lo and −hi, against the offer's value and −value (unstated: −inf, so
    any bound fails); on an offer: −value and value (unstated: +inf), against the want's −lo
    and hi (no bound: +inf)."""
    o = np.asarray(is_offer, dtype=bool)[:, None]
    missing = np.isnan(values)
    candidate = np.hstack([np.where(o, np.where(missing, np.inf, -values), lo),
                           np.where(o, np.where(missing, np.inf, values), -hi)])
    asking = np.hstack([np.where(o, np.where(missing, -np.inf, values),
                                 np.where(np.isnan(lo), np.inf, -lo)),
                        np.where(o, np.where(missing, -np.inf, -values),
                                 np.where(np.isnan(hi), np.inf, hi))])
    return candidate, asking
