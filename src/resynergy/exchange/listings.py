"""Exchange listings: offers (a lot of a material at a site) and wants (a need at a delivery site).

A listings frame has the columns of :data:`LISTING_COLUMNS`:

- ``id`` (text), ``side`` ('offer' | 'want'), ``organisation`` (USCC, '' = none), ``site``
  (sites.id), ``material`` (materials.code);
- ``accepts``: a want's accepted substitutes, '|'-joined material codes or ``process:<id>``
  tokens (every input of that process, read from process_io: see :mod:`.compat`); '' = its
  material only; always '' on an offer;
- ``quantity_t`` (> 0), ``start`` / ``end`` (ISO dates, '' = open);
- ``recurrence``: '' (a one-off lot or need: ``quantity_t`` in all) or 'monthly' | 'quarterly' |
  'yearly': the listing recurs every calendar period from ``start`` to ``end`` and
  ``quantity_t`` is per period ("5 000 t of steel slag every month from 2022-01 to 2022-12").
  A recurring listing needs both dates, ``start`` on the first day of a period and ``end`` on
  the last (its periods are whole calendar months, quarters or years: :func:`periods`), and at
  most :data:`MAX_PERIODS` periods;
- ``price_yuan_t``: an offer's ask (may be negative: a gate fee paid to the user), a want's cap
  on the ask; NaN = negotiable (no cap);
- ``hazardous_code``: an offer's HW code ``ddd-ddd-dd`` ('' = not hazardous); a want lists the
  codes it may receive, '|'-joined codes or HW categories ``HWnn`` (a category covers every code
  that ends in its two digits);
- quality specs, for each name in :data:`SPECS`: an offer states ``spec_<name>`` (NaN = not
  stated), a want bounds ``spec_<name>_min`` / ``spec_<name>_max`` (NaN = no bound).

Optional columns the matcher reads when present: ``reserved_t`` (what accepted deals already
hold; the remaining quantity is quantity_t − reserved_t, :func:`remaining_t`; on a recurring
listing, per period: what its least-reserved period holds, so the remaining quantity is the most
one of its periods still offers) and ``active`` (false = not matched).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from resynergy import catalog
from resynergy.exchange.compat import PROCESS_PREFIX, accept_tokens
from resynergy.schema.cells import plain
from resynergy.schema.issues import Issue, ScenarioError

TABLE = "listings"
SIDES = ("offer", "want")
SPECS: tuple[str, ...] = ("moisture_pct", "fineness_m2_kg", "cao_pct", "so3_pct", "cl_pct")
OFFER_SPECS: tuple[str, ...] = tuple(f"spec_{s}" for s in SPECS)
WANT_SPECS: tuple[str, ...] = tuple(f"spec_{s}_{b}" for s in SPECS for b in ("min", "max"))
LISTING_COLUMNS: tuple[str, ...] = (
    "id", "side", "organisation", "site", "material", "accepts", "quantity_t", "start", "end",
    "price_yuan_t", "hazardous_code", *OFFER_SPECS, *WANT_SPECS, "recurrence",
)
REQUIRED: tuple[str, ...] = ("id", "side", "site", "material", "quantity_t")
TEXT = ("id", "side", "organisation", "site", "material", "accepts", "start", "end",
        "hazardous_code", "recurrence")
# How often a recurring listing (or deal) repeats, and the months of one period ('' = one-off).
RECURRENCES: tuple[str, ...] = ("", "monthly", "quarterly", "yearly")
MONTHS: dict[str, int] = {"monthly": 1, "quarterly": 3, "yearly": 12}
PER_PERIOD: dict[str, tuple[str, str]] = {"": ("", ""), "monthly": ("每月", "per month"),
                                          "quarterly": ("每季度", "per quarter"),
                                          "yearly": ("每年", "per year")}
RECURRENCE_WORDS: dict[str, tuple[str, str]] = {"": ("一次性", "one-off"), "monthly": ("按月", "monthly"),
                                                "quarterly": ("按季度", "quarterly"),
                                                "yearly": ("按年", "yearly")}
# At most this many periods (ten years by month): each period of a recurring lot is a reservation row.
MAX_PERIODS = 120
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
        col_ = out[col]
        if col_.dtype.kind in "fiub":  # numbers (or all blank): one cell at a time
            out[col] = col_.map(_text)
        else:
            blank = col_.isna().to_numpy()
            text = col_.astype(object).where(~blank, "").astype(str).str.strip()
            out[col] = text.to_numpy(dtype=object)
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


# ---- recurrence: periods and per-period quantities ------------------------------------------
def _month(text: str) -> int:
    """An ISO date's month as a count (year × 12 + month − 1)."""
    return int(text[:4]) * 12 + int(text[5:7]) - 1


def _key(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def period_of(recurrence: str, day: str) -> str:
    """The key of the period of ``recurrence`` holding the ISO date ``day``: the period's first
    month as 'YYYY-MM' (a quarter starts in January, April, July or October; a year in January)."""
    m = _month(day)
    return _key(m - m % MONTHS[recurrence])


def periods(recurrence: str, start: str, end: str) -> list[str]:
    """The period keys (:func:`period_of`) of a recurring listing or deal from ``start`` to
    ``end`` (ISO dates), in order; [] for a one-off ('') or an open end."""
    if not recurrence or not start or not end:
        return []
    step = MONTHS[recurrence]
    first, last = _month(period_of(recurrence, start) + "-01"), _month(end)
    return [_key(m) for m in range(first, last + 1, step)]


def period_label(recurrence: str, key: str) -> str:
    """A period as people write it: 2022-03 (month), 2022-Q1 (quarter), 2022 (year)."""
    if recurrence == "quarterly":
        return f"{key[:4]}-Q{(int(key[5:7]) - 1) // 3 + 1}"
    return key[:4] if recurrence == "yearly" else key


def period_bounds(recurrence: str, key: str) -> tuple[str, str]:
    """First and last day (ISO) of a period."""
    first = pd.Timestamp(key + "-01")
    last = first + pd.DateOffset(months=MONTHS[recurrence]) - pd.Timedelta(days=1)
    return first.strftime("%Y-%m-%d"), last.strftime("%Y-%m-%d")


def aligned(recurrence: str, start: str, end: str) -> tuple[bool, bool]:
    """Whether ``start`` is the first day of a period of ``recurrence`` and ``end`` the last."""
    s_ok = bool(start) and period_bounds(recurrence, period_of(recurrence, start))[0] == start
    e_ok = bool(end) and period_bounds(recurrence, period_of(recurrence, end))[1] == end
    return s_ok, e_ok


def total_t(quantity_t: float, recurrence: str, start: str, end: str) -> float:
    """All the tonnes of a listing or deal: ``quantity_t`` once, or per period × its periods."""
    return float(quantity_t) * (len(periods(recurrence, start, end)) if recurrence else 1)


def allocate(recurrence: str, amounts: Mapping[str, float], lot_recurrence: str) -> dict[str, float]:
    """Tonnes per period of a deal (``amounts``: period key of ``recurrence`` → t; a one-off
    deal: {'': t}) as what they draw on a lot: per period of the lot's ``lot_recurrence`` (a
    deal's period spread evenly over its months when the lot's periods are shorter, summed when
    they are longer), or {'': total} on a one-off lot. Exact fractions, so a quarter split into
    three months and added up again gives back the same tonnes."""
    if not lot_recurrence:
        return {"": float(sum(Fraction(v) for v in amounts.values()))}
    if recurrence == lot_recurrence:
        return {k: float(v) for k, v in amounts.items()}
    if not recurrence:
        raise ValueError("a one-off deal cannot draw on a recurring lot per period")
    out: dict[str, Fraction] = {}
    step = MONTHS[recurrence]
    for key, t in amounts.items():
        share = Fraction(t) / step
        first = _month(key + "-01")
        for m in range(first, first + step):
            lot = period_of(lot_recurrence, _key(m) + "-01")
            out[lot] = out.get(lot, Fraction(0)) + share
    return {k: float(v) for k, v in out.items()}


def deal_recurrence(offer_recurrence: str, want_recurrence: str) -> str:
    """How a deal between an offer and a want recurs: as the offer (the lot) when it recurs,
    else as the want; '' (one-off) when neither does."""
    return offer_recurrence or want_recurrence or ""


def common_quantity(offer_t: float, offer_recurrence: str, want_t: float, want_recurrence: str
                    ) -> tuple[float, str]:
    """What an offer and a want can trade, per period of the deal they would make
    (:func:`deal_recurrence`): (tonnes, recurrence). Two one-off listings: the lesser quantity;
    a one-off side caps each period at its quantity; two recurring sides of different
    recurrences: the want's quantity converted to the offer's periods (spread evenly over its
    months, as :func:`allocate` draws it)."""
    rec = deal_recurrence(offer_recurrence, want_recurrence)
    if offer_recurrence and want_recurrence:
        want_t = want_t * MONTHS[offer_recurrence] / MONTHS[want_recurrence]
    return min(offer_t, want_t), rec


def remaining_t(frame: pd.DataFrame) -> np.ndarray:
    """What each listing of a (normalised) frame can still trade: quantity_t − reserved_t
    (reserved_t 0 when the column is absent; on a recurring listing both are per period), 0
    where ``active`` is false."""
    reserved = (frame["reserved_t"].fillna(0).to_numpy(dtype=float) if "reserved_t" in frame
                else np.zeros(len(frame)))
    remaining = frame["quantity_t"].to_numpy(dtype=float) - reserved
    if "active" in frame:
        remaining = np.where(frame["active"].fillna(True).astype(bool), remaining, 0.0)
    return remaining


def check_listings(frame: pd.DataFrame, scenario: object | None = None) -> list[Issue]:
    """Every problem of a listings frame, located (row as a user counts it: header = row 1,
    column, value) with zh/en text, in row order. With a ``scenario`` (anything with
    ``table(name)``), sites, materials and accepted substitutes are checked against its sites,
    materials and processes, and a hazardous material's offer must carry its HW code.
    Vectorised: 10^5 listings take well under a second."""
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
    found: list[tuple[int, int, Issue]] = []
    order = {c: n for n, c in enumerate([*LISTING_COLUMNS, "reserved_t", "active"])}

    def add(mask: ArrayLike, code: str, column: str, values: Any = None, **params: object) -> None:
        """One issue per row where ``mask`` holds; ``params`` values may be per-row arrays."""
        for r in np.flatnonzero(np.asarray(mask, dtype=bool)):
            value = None if values is None else plain(values[r])
            p = {k: plain(v[r]) if isinstance(v, np.ndarray) else v for k, v in params.items()}
            found.append((int(r), order.get(column, 99), Issue(
                code, table=TABLE, source=TABLE, row=int(r) + 2, column=column, value=value,
                params=p)))

    text = {c: f[c].to_numpy(dtype=object) for c in TEXT}
    for col in ("id", "side", "site", "material"):
        add(text[col] == "", "required", col)
    ids = f["id"]
    first = pd.Series(np.arange(len(f)) + 2).groupby(ids.to_numpy()).transform("min").to_numpy()
    add(ids.duplicated().to_numpy() & (text["id"] != ""), "duplicate", "id", text["id"],
        other=first)
    side = text["side"]
    add((side != "") & ~_isin(side, SIDES), "bad_choice", "side", side,
        choices=", ".join(SIDES))
    materials = hazardous = processes = None
    if scenario is not None:
        table = scenario.table  # type: ignore[attr-defined]
        mats = table("materials")
        materials = set(mats["code"])
        hazardous = set(mats.loc[mats["hazardous"].fillna(False).astype(bool), "code"])
        processes = set(table("processes")["id"])
        site = text["site"]
        add((site != "") & ~_isin(site, list(set(table("sites")["id"]))), "unknown_ref",
            "site", site, ref_table="sites", ref_column="id")
        mat = text["material"]
        add((mat != "") & ~_isin(mat, list(materials)), "unknown_ref", "material", mat,
            ref_table="materials", ref_column="code")
    qty, bad = _numbers(raw["quantity_t"])
    raw_q = raw["quantity_t"].to_numpy(dtype=object)
    add(bad, "not_number", "quantity_t", raw_q)
    add(~bad & np.isnan(qty), "required", "quantity_t")
    with np.errstate(invalid="ignore"):
        add(np.isinf(qty), "not_finite", "quantity_t", qty)
        add(np.isfinite(qty) & (qty <= 0), "not_positive", "quantity_t", qty)
    num: dict[str, np.ndarray] = {}
    for col in ("reserved_t", "price_yuan_t", *OFFER_SPECS, *WANT_SPECS):
        if col not in raw:
            num[col] = np.full(len(f), np.nan)
            continue
        num[col], bad = _numbers(raw[col])
        add(bad, "not_number", col, raw[col].to_numpy(dtype=object))
        add(np.isinf(num[col]), "not_finite", col, num[col])
    with np.errstate(invalid="ignore"):
        res = num["reserved_t"]
        add(res < 0, "below_min", "reserved_t", res, min=0)
        add(res > qty, "above_max", "reserved_t", res, max=qty)
    days = {}
    for col in ("start", "end"):
        t = text[col]
        given = t != ""
        parsed = pd.to_datetime(pd.Series(t).where(given & pd.Series(t).str.match(
            _DATE.pattern).to_numpy()), format="%Y-%m-%d", errors="coerce")
        days[col] = parsed.to_numpy()
        add(given & parsed.isna().to_numpy(), "bad_date", col, t)
    later = ~pd.isna(days["start"]) & ~pd.isna(days["end"])
    later[later] = days["start"][later] > days["end"][later]
    add(later, "period_order", "start", text["start"], start=text["start"], end=text["end"])
    rec = text["recurrence"]
    add((rec != "") & ~_isin(rec, RECURRENCES[1:]), "bad_recurrence", "recurrence", rec)
    dated = ~pd.isna(days["start"]) & ~pd.isna(days["end"]) & ~later
    for col in ("start", "end"):
        add(_isin(rec, RECURRENCES[1:]) & (text[col] == ""), "recurrence_dates", col,
            recurrence=rec, recurrence_zh=np.array([RECURRENCE_WORDS.get(r, ("", ""))[0] for r in rec],
                                                   dtype=object))
    for r in np.flatnonzero(dated & _isin(rec, RECURRENCES[1:])):
        kind, start, end = str(rec[r]), str(text["start"][r]), str(text["end"][r])
        s_ok, e_ok = aligned(kind, start, end)
        one = np.arange(len(f)) == r
        words = {"recurrence": kind, "recurrence_zh": RECURRENCE_WORDS[kind][0]}
        if not s_ok:
            add(one, "recurrence_start", "start", text["start"],
                expected=period_bounds(kind, period_of(kind, start))[0], **words)
        if not e_ok:
            add(one, "recurrence_end", "end", text["end"],
                expected=period_bounds(kind, period_of(kind, end))[1], **words)
        n = len(periods(kind, start, end))
        if s_ok and e_ok and n > MAX_PERIODS:
            add(one, "too_many_periods", "end", text["end"], count=n, max=MAX_PERIODS)
    offer, want = side == "offer", side == "want"
    for col in WANT_SPECS:
        add(offer & _given(raw, col), "side_column", col, _col(raw, col), side="want",
            side_zh=_SIDE_ZH["want"])
    add(offer & (text["accepts"] != ""), "side_column", "accepts", text["accepts"],
        side="want", side_zh=_SIDE_ZH["want"])
    for col in OFFER_SPECS:
        add(want & _given(raw, col), "side_column", col, _col(raw, col), side="offer",
            side_zh=_SIDE_ZH["offer"])
    with np.errstate(invalid="ignore"):
        for col in OFFER_SPECS:
            add(offer & (num[col] < 0), "below_min", col, num[col], min=0)
        for col in WANT_SPECS:
            add(want & (num[col] < 0), "below_min", col, num[col], min=0)
        for s in SPECS:
            lo, hi = num[f"spec_{s}_min"], num[f"spec_{s}_max"]
            add(want & (lo > hi), "spec_range", f"spec_{s}_min", lo, min=lo, max=hi)
    accepts = text["accepts"]
    for cell in set(accepts[want & (accepts != "")]):
        rows = want & (accepts == cell)
        for token in accept_tokens(cell):
            if token.startswith(PROCESS_PREFIX):
                known = processes is None or token[len(PROCESS_PREFIX):] in processes
            else:
                known = materials is None or token in materials
            if not known:
                add(rows, "unknown_accept", "accepts", np.full(len(f), token, dtype=object))
    code = text["hazardous_code"]
    add(offer & (code != "") & ~pd.Series(code).str.match(HW_CODE.pattern).to_numpy(dtype=bool),
        "bad_hw_code", "hazardous_code", code)
    if hazardous is not None:
        add(offer & (code == "") & _isin(text["material"], list(hazardous)), "hw_required",
            "hazardous_code", material=text["material"])
    bad_cells = {c for c in set(code[want & (code != "")]) if any(
        not (HW_CODE.match(t) or HW_CATEGORY.match(t)) for t in hw_tokens(c))}
    add(want & _isin(code, list(bad_cells)), "bad_hw_codes", "hazardous_code", code)
    found.sort(key=lambda x: (x[0], x[1]))
    return issues + [x[2] for x in found]


def _isin(values: np.ndarray, allowed: Iterable[object]) -> np.ndarray:
    """Membership by hashing (``np.isin`` compares object arrays pairwise: minutes at 10^5)."""
    return pd.Index(list(allowed)).get_indexer(pd.Index(values)) >= 0 if len(values) else \
        np.zeros(0, dtype=bool)


def _col(raw: pd.DataFrame, col: str) -> np.ndarray:
    return raw[col].to_numpy(dtype=object) if col in raw else np.full(len(raw), None, object)


def _given(raw: pd.DataFrame, col: str) -> np.ndarray:
    """Cells holding something (not blank, not NaN)."""
    if col not in raw:
        return np.zeros(len(raw), dtype=bool)
    if raw[col].dtype.kind in "fiu":
        return ~np.isnan(raw[col].to_numpy(dtype=float))
    return np.array([_present(v) for v in raw[col].to_numpy(dtype=object)], dtype=bool)


def _present(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, float):
        return not np.isnan(value)
    return str(value).strip() != ""


def _numbers(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A column as floats (blank = NaN) and where a cell is not a number (text, true/false)."""
    if col.dtype.kind in "fiu":
        return col.to_numpy(dtype=float), np.zeros(len(col), dtype=bool)
    vals = [_number(v) for v in col.to_numpy(dtype=object)]
    bad = np.array([v is None for v in vals], dtype=bool)
    return np.array([np.nan if v is None else v for v in vals], dtype=float), bad


def from_registry(sites: pd.DataFrame, supplies: pd.DataFrame | None = None,
                  demands: pd.DataFrame | None = None, facilities: pd.DataFrame | None = None,
                  process_io: pd.DataFrame | None = None, year: int | None = None,
                  materials: pd.DataFrame | None = None, recurrence: str = "") -> pd.DataFrame:
    """Listings made from registry rows in one action. The organisation is the site's
    ``org_uscc``; the period is the row's calendar year; ``year`` keeps one year.

    Registry quantities are annual flows (t/a). ``recurrence`` '' lists each as one lot of the
    year's tonnes; 'monthly' | 'quarterly' | 'yearly' as a recurring listing over the year of
    the annual tonnes spread evenly over its periods (monthly = annual / 12): the registry
    gives no seasonality, so an even spread is the estimate. A facility without a year filter
    (``year`` None) has no period and stays one-off.

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
    out = out[out["quantity_t"] > 0].reset_index(drop=True)
    if recurrence:
        if recurrence not in MONTHS:
            raise ValueError(f"recurrence {recurrence!r} is not one of {RECURRENCES}")
        dated = (out["start"] != "") & (out["end"] != "")
        out.loc[dated, "recurrence"] = recurrence
        out.loc[dated, "quantity_t"] = out.loc[dated, "quantity_t"] * MONTHS[recurrence] / 12
    return out


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
