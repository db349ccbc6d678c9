"""Exchange listings: offers (a lot of a material at a site) and wants (a need at a delivery site).

A listings frame has the columns of :data:`LISTING_COLUMNS`:

- ``id`` (text), ``side`` ('offer' | 'want'), ``organisation`` (USCC, '' = none), ``site``
  (sites.id), ``material`` (materials.code);
- ``accepts``: a want's accepted substitutes, '|'-joined material codes or ``process:<id>``
  tokens (every input of that process, read from process_io: see :mod:`.compat`); '' = its
  material only; always '' on an offer;
- ``quantity_t`` (> 0), ``start`` / ``end`` (ISO dates, '' = open);
- ``price_yuan_t``: an offer's ask (may be negative: a gate fee paid to the user), a want's cap
  on the ask; NaN = negotiable (no cap);
- ``hazardous_code``: an offer's HW code ``ddd-ddd-dd`` ('' = not hazardous); a want lists the
  codes it may receive, '|'-joined codes or HW categories ``HWnn`` (a category covers every code
  that ends in its two digits);
- quality specs, for each name in :data:`SPECS`: an offer states ``spec_<name>`` (NaN = not
  stated), a want bounds ``spec_<name>_min`` / ``spec_<name>_max`` (NaN = no bound).

Optional columns the matcher reads when present: ``reserved_t`` (what accepted deals already
hold; the remaining quantity is quantity_t − reserved_t) and ``active`` (false = not matched).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from resynergy import catalog
from resynergy.exchange.compat import PROCESS_PREFIX, accept_tokens
from resynergy.schema.issues import Issue, ScenarioError

TABLE = "listings"
SIDES = ("offer", "want")
SPECS: tuple[str, ...] = ("moisture_pct", "fineness_m2_kg", "cao_pct", "so3_pct", "cl_pct")
OFFER_SPECS: tuple[str, ...] = tuple(f"spec_{s}" for s in SPECS)
WANT_SPECS: tuple[str, ...] = tuple(f"spec_{s}_{b}" for s in SPECS for b in ("min", "max"))
LISTING_COLUMNS: tuple[str, ...] = (
    "id", "side", "organisation", "site", "material", "accepts", "quantity_t", "start", "end",
    "price_yuan_t", "hazardous_code", *OFFER_SPECS, *WANT_SPECS,
)
REQUIRED: tuple[str, ...] = ("id", "side", "site", "material", "quantity_t")
TEXT = ("id", "side", "organisation", "site", "material", "accepts", "start", "end",
        "hazardous_code")
HW_CODE = re.compile(r"^\d{3}-\d{3}-\d{2}$")
HW_CATEGORY = re.compile(r"^HW\d{2}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SIDE_ZH = {"offer": "供应", "want": "需求"}


class ListingsError(ScenarioError):
    """Listings that cannot be matched; ``issues`` locates every problem (row, column, value)."""


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """The listing columns in order, missing optional ones filled (text '', numbers NaN), text
    stripped; extra columns (reserved_t, active, …) kept after them."""
    out = frame.reset_index(drop=True).copy()
    for col in LISTING_COLUMNS:
        if col not in out:
            out[col] = "" if col in TEXT else np.nan
    for col in TEXT:
        out[col] = out[col].map(_text)
    extra = [c for c in out.columns if c not in LISTING_COLUMNS]
    return out[[*LISTING_COLUMNS, *extra]]


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()


def _number(value: object) -> float | None:
    """A float (NaN for blank), or None when the value is not a number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return float("nan")
    if isinstance(value, bool):
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def parse_date(text: str) -> pd.Timestamp | None:
    """An ISO date ``YYYY-MM-DD`` (None when it is not one); '' is open and also None."""
    if not _DATE.match(text):
        return None
    try:
        return pd.Timestamp(text)
    except ValueError:
        return None


def hw_tokens(text: str) -> list[str]:
    """The '|'-separated codes or categories of a hazardous_code cell."""
    return [t.strip() for t in text.split("|") if t.strip()]


def check_listings(frame: pd.DataFrame, scenario: object | None = None) -> list[Issue]:
    """Every problem of a listings frame, located (row as a user counts it: header = row 1,
    column, value) with zh/en text. With a ``scenario`` (anything with ``table(name)``), sites,
    materials and accepted substitutes are checked against its sites, materials and processes,
    and a hazardous material's offer must carry its HW code."""
    issues: list[Issue] = []
    missing = [c for c in REQUIRED if c not in frame.columns]
    for col in missing:
        issues.append(Issue("missing_column", table=TABLE, source=TABLE, column=col))
    unknown = [c for c in frame.columns if c not in LISTING_COLUMNS
               and c not in ("reserved_t", "active")]
    for col in unknown:
        issues.append(Issue("unknown_column", table=TABLE, source=TABLE, column=str(col),
                            params={"choices": ", ".join(LISTING_COLUMNS)}))
    if missing:
        return issues
    raw = frame.reset_index(drop=True)
    f = normalise(raw)
    sites = materials = processes = hazardous = None
    if scenario is not None:
        table = scenario.table  # type: ignore[attr-defined]
        sites = set(table("sites")["id"])
        mats = table("materials")
        materials = set(mats["code"])
        hazardous = set(mats.loc[mats["hazardous"].fillna(False).astype(bool), "code"])
        processes = set(table("processes")["id"])
    seen: dict[str, int] = {}
    for i, r in f.iterrows():
        row = int(i) + 2  # type: ignore[call-overload]

        def add(code: str, column: str, value: object = None, **params: object) -> None:
            issues.append(Issue(code, table=TABLE, source=TABLE, row=row,  # noqa: B023
                                column=column, value=value, params=params))

        for col in ("id", "side", "site", "material"):
            if not r[col]:
                add("required", col)
        if r["id"]:
            if r["id"] in seen:
                add("duplicate", "id", r["id"], other=seen[r["id"]])
            else:
                seen[r["id"]] = row
        side = r["side"]
        if side and side not in SIDES:
            add("bad_choice", "side", side, choices=", ".join(SIDES))
        if sites is not None and r["site"] and r["site"] not in sites:
            add("unknown_ref", "site", r["site"], ref_table="sites", ref_column="id")
        if materials is not None and r["material"] and r["material"] not in materials:
            add("unknown_ref", "material", r["material"], ref_table="materials",
                ref_column="code")
        q = _number(raw.at[i, "quantity_t"])
        if q is None or np.isnan(q):
            add("not_number", "quantity_t", raw.at[i, "quantity_t"])
        elif not np.isfinite(q):
            add("not_finite", "quantity_t", q)
        elif q <= 0:
            add("not_positive", "quantity_t", q)
        for col in ("reserved_t", "price_yuan_t", *OFFER_SPECS, *WANT_SPECS):
            if col not in raw:
                continue
            v = _number(raw.at[i, col])
            if v is None:
                add("not_number", col, raw.at[i, col])
            elif np.isinf(v):
                add("not_finite", col, v)
        dates = {}
        for col in ("start", "end"):
            if r[col]:
                dates[col] = parse_date(r[col])
                if dates[col] is None:
                    add("bad_date", col, r[col])
        if dates.get("start") is not None and dates.get("end") is not None \
                and dates["start"] > dates["end"]:
            add("period_order", "start", r["start"], start=r["start"], end=r["end"])
        if side not in SIDES:
            continue
        other = "want" if side == "offer" else "offer"
        own_specs, other_specs = (OFFER_SPECS, WANT_SPECS) if side == "offer" else (
            WANT_SPECS, OFFER_SPECS)
        for col in (*other_specs, *(("accepts",) if side == "offer" else ())):
            if col in raw and _present(raw.at[i, col]):
                add("side_column", col, raw.at[i, col], side=other, side_zh=_SIDE_ZH[other])
        for col in own_specs:
            v = _number(raw.at[i, col]) if col in raw else float("nan")
            if v is not None and v < 0:
                add("below_min", col, v, min=0)
        if side == "want":
            for s in SPECS:
                lo = _number(raw.at[i, f"spec_{s}_min"]) if f"spec_{s}_min" in raw else None
                hi = _number(raw.at[i, f"spec_{s}_max"]) if f"spec_{s}_max" in raw else None
                if lo is not None and hi is not None and lo > hi:
                    add("spec_range", f"spec_{s}_min", lo, min=lo, max=hi)
            for token in accept_tokens(r["accepts"]):
                known = (token.startswith(PROCESS_PREFIX)
                         and (processes is None or token[len(PROCESS_PREFIX):] in processes)) or (
                    not token.startswith(PROCESS_PREFIX)
                    and (materials is None or token in materials))
                if not known:
                    add("unknown_accept", "accepts", token)
        code = r["hazardous_code"]
        if side == "offer":
            if code and not HW_CODE.match(code):
                add("bad_hw_code", "hazardous_code", code)
            if hazardous is not None and r["material"] in hazardous and not code:
                add("hw_required", "hazardous_code", material=r["material"])
        elif any(not (HW_CODE.match(t) or HW_CATEGORY.match(t)) for t in hw_tokens(code)):
            add("bad_hw_codes", "hazardous_code", code)
    return issues


def _present(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, float):
        return not np.isnan(value)
    return str(value).strip() != ""


def from_registry(sites: pd.DataFrame, supplies: pd.DataFrame | None = None,
                  demands: pd.DataFrame | None = None, facilities: pd.DataFrame | None = None,
                  process_io: pd.DataFrame | None = None, year: int | None = None,
                  materials: pd.DataFrame | None = None) -> pd.DataFrame:
    """Listings made from registry rows in one action. The organisation is the site's
    ``org_uscc``; the period is the row's calendar year; ``year`` keeps one year.

    - a supplies row (site, material, year, generation_t) → an offer of that year's generation,
      price negotiable;
    - a demands row (site, material, year, quantity_t, value) → a want of that quantity, capped at
      ``value`` (the delivered price of the virgin alternative: no buyer pays more at the gate);
    - a facilities row that is built (not a candidate; site, process, year, capacity_t; needs
      ``process_io``) → a want of its input capacity for its process's inputs: material = the
      process's largest input, accepts = ``process:<id>`` (every input of the process).

    Supplies of hazardous materials (``materials.hazardous``; default: the catalog's) are left
    out: an offer of hazardous waste needs its HW code, which the registry does not hold.

    Ids are ``offer:<site>:<material>:<year>``, ``want:<site>:<material>:<year>`` and
    ``want:<facility id>[:<year>]``; the platform may replace them with its own."""
    org = (sites.set_index("id")["org_uscc"] if "org_uscc" in sites
           else pd.Series(dtype=object)).fillna("")
    if materials is None:
        materials = catalog.table("materials")
    hazardous = set(materials.loc[materials["hazardous"].fillna(False).astype(bool), "code"])
    parts = []
    for frame, side, qty in ((supplies, "offer", "generation_t"), (demands, "want", "quantity_t")):
        if frame is None or frame.empty:
            continue
        f = frame if year is None else frame[frame["year"] == year]
        if side == "offer":
            f = f[~f["material"].isin(hazardous)]
        y = f["year"].astype(int).astype(str)
        parts.append(pd.DataFrame({
            "id": side + ":" + f["site"].astype(str) + ":" + f["material"].astype(str) + ":" + y,
            "side": side,
            "organisation": f["site"].map(org).fillna("").to_numpy(),
            "site": f["site"].to_numpy(), "material": f["material"].to_numpy(),
            "quantity_t": f[qty].to_numpy(dtype=float),
            "start": (y + "-01-01").to_numpy(), "end": (y + "-12-31").to_numpy(),
            "price_yuan_t": f["value"].to_numpy(dtype=float) if side == "want" else np.nan,
        }))
    if facilities is not None and not facilities.empty:
        if process_io is None:
            raise ValueError("wants from facilities need the process_io table")
        parts.append(_facility_wants(facilities, process_io, org, year))
    if not parts:
        return normalise(pd.DataFrame(columns=list(LISTING_COLUMNS)))
    out = normalise(pd.concat(parts, ignore_index=True))
    return out[out["quantity_t"] > 0].reset_index(drop=True)


def _facility_wants(facilities: pd.DataFrame, process_io: pd.DataFrame, org: pd.Series,
                    year: int | None) -> pd.DataFrame:
    f = facilities
    if "candidate" in f:
        f = f[~f["candidate"].fillna(False).astype(bool)]
    if year is not None:
        f = f[f["year"] <= year]
    ins = process_io[process_io["direction"] == "in"].sort_values(
        ["process", "rate"], ascending=[True, False], kind="stable")
    main = ins.drop_duplicates("process").set_index("process")["material"]
    f = f[f["process"].isin(main.index)]
    y = "" if year is None else str(year)
    return pd.DataFrame({
        "id": "want:" + f["id"].astype(str) + (":" + y if y else ""),
        "side": "want",
        "organisation": f["site"].map(org).fillna("").to_numpy(),
        "site": f["site"].to_numpy(),
        "material": f["process"].map(main).to_numpy(),
        "accepts": (PROCESS_PREFIX + f["process"].astype(str)).to_numpy(),
        "quantity_t": f["capacity_t"].to_numpy(dtype=float),
        "start": f"{y}-01-01" if y else "", "end": f"{y}-12-31" if y else "",
        "price_yuan_t": np.nan,
    })
