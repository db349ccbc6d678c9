"""The tax and evaluation rules as data (``evaluation/data/*.csv``): one row per rule with its
``rule_id``, effective dates, source and confidence tag, copied from the research note
(``notes/evaluation.md`` §7) without upgrading any tag.

Tags: V = primary text seen; S = secondary source seen; P = partly verified; U = not verified.
A row (or its threshold) tagged P or U never yields "eligible": the engine answers
"indeterminate — needs legal review" and says why.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Any

import pandas as pd

CONFIDENCES: tuple[str, ...] = ("V", "S", "P", "U")  # most to least trusted
SOLID: frozenset[str] = frozenset({"V", "S"})  # tags an "eligible" verdict may rest on
_TABLES: tuple[str, ...] = ("families", "products", "vat", "eit", "ept", "screens", "catalogue", "procedure")
_DATED: tuple[str, ...] = ("vat", "eit", "ept", "screens", "procedure")
_LISTS = ("families", "products")  # '|'-joined columns of vat and eit


def weakest(*tags: str) -> str:
    """The least trusted of ``tags`` (V > S > P > U); a blank counts as U."""
    return max((t or "U" for t in tags), key=lambda t: CONFIDENCES.index(t) if t in CONFIDENCES else 3)


def data_rows(name: str) -> list[dict[str, str]]:
    """The rows of ``evaluation/data/<name>`` as text."""
    with files("resynergy.evaluation").joinpath(f"data/{name}").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _num(text: str) -> float | None:
    return float(text) if text.strip() else None


def _frame(name: str) -> pd.DataFrame:
    frame = pd.DataFrame(data_rows(f"{name}.csv")).fillna("")
    for col in ("valid_from", "valid_to"):
        if col in frame:
            frame[col] = pd.Series([_day(v) for v in frame[col]], index=frame.index, dtype=object)
    for col in ("min_share", "refund_pct", "income_share", "eit_rate", "rate_yuan_t", "vat_rate",
                "grade_min", "grade_below"):
        if col in frame:
            frame[col] = pd.Series([_num(v) for v in frame[col]], index=frame.index, dtype=object)
    for col in _LISTS:
        if col in frame and name in ("vat", "eit"):
            frame[col] = frame[col].map(lambda s: tuple(x for x in s.split("|") if x))
    if name == "screens":
        frame["fail_values"] = frame["fail_values"].map(lambda s: tuple(s.split("|")))
    if name == "products":
        frame["grade_required"] = frame["grade_required"] == "true"
    return frame


@dataclass(frozen=True)
class Rules:
    """Every rule family as a frame; ``day`` is set when the rows were cut to one day."""

    families: pd.DataFrame  # material (materials.code) → waste family, EPT rule
    products: pd.DataFrame  # product code → names, catalog material, VAT rate
    vat: pd.DataFrame  # VAT catalogue rows (2015 and 2022), refund and not-listed rows
    eit: pd.DataFrame  # EIT 2021: the 90 % mechanism and item rows
    ept: pd.DataFrame  # environmental-protection tax: rates, base formula, exemption
    screens: pd.DataFrame  # taxpayer screens (gates) for VAT and EIT
    catalogue: pd.DataFrame  # MIIT 2018 evaluation catalogue technical conditions
    procedure: pd.DataFrame  # the evaluation's procedure (filing deadline, period, reporting) and formulas
    day: date | None = None

    def on(self, day: date) -> Rules:
        """The rows in force on ``day`` (e.g. the 2015 VAT catalogue before 2022-03-01)."""
        cut = {}
        for name in _DATED:
            frame: pd.DataFrame = getattr(self, name)
            start = frame["valid_from"].map(lambda d: d is None or d <= day)
            end = frame["valid_to"].map(lambda d: d is None or d >= day)
            cut[name] = frame[(start & end).astype(bool)].reset_index(drop=True)
        return replace(self, day=day, **cut)

    def rule(self, rule_id: str) -> dict[str, Any]:
        """One row of any rule table by its id (KeyError when unknown)."""
        for name in ("vat", "eit", "ept", "screens", "catalogue", "procedure"):
            frame: pd.DataFrame = getattr(self, name)
            hit = frame[frame["rule_id"] == rule_id]
            if not hit.empty:
                return {"table": name, **hit.iloc[0].to_dict()}
        raise KeyError(f"unknown rule {rule_id!r}")

    def family(self, material: str) -> str:
        """The waste family of a material code ('' when the material has none)."""
        hit = self.families.loc[self.families["material"] == material, "family"]
        return str(hit.iloc[0]) if not hit.empty else ""

    def ept_rate(self, material: str) -> tuple[str, float]:
        """(rule id, CNY per t) of the environmental-protection tax on a material; ('', 0) when
        it is not a taxable solid-waste item."""
        hit = self.families.loc[self.families["material"] == material, "ept_rule_id"]
        rule_id = str(hit.iloc[0]) if not hit.empty else ""
        if not rule_id:
            return "", 0.0
        rate = self.ept.loc[self.ept["rule_id"] == rule_id, "rate_yuan_t"]
        return (rule_id, float(rate.iloc[0])) if not rate.empty else ("", 0.0)

    def filing_days(self) -> int:
        """Days from a completed report to its filing (EVAL-FILE-30D)."""
        return int(float(self.rule("EVAL-FILE-30D")["value"]))

    def product(self, code: str) -> dict[str, Any] | None:
        hit = self.products[self.products["product"] == code]
        return None if hit.empty else hit.iloc[0].to_dict()


@cache
def _load() -> Rules:
    rules = Rules(**{name: _frame(name) for name in _TABLES})
    _check(rules)
    return rules


def load_rules() -> Rules:
    """The packaged rules (all dates); cut to one day with :meth:`Rules.on`."""
    return _load()


def _check(rules: Rules) -> None:
    """The tables agree with each other and with the catalog (a broken data file fails loudly)."""
    from resynergy import catalog

    problems = []
    known = set(catalog.table("materials")["code"])
    problems += [f"families.csv: unknown material {m!r}" for m in rules.families["material"] if m not in known]
    families = set(rules.families["family"])
    products = set(rules.products["product"])
    ids: list[str] = []
    for name in ("vat", "eit", "ept", "screens", "catalogue", "procedure"):
        frame: pd.DataFrame = getattr(rules, name)
        ids += list(frame["rule_id"])
        problems += [f"{name}.csv {r}: confidence {c!r} not one of V/S/P/U"
                     for r, c in zip(frame["rule_id"], frame["confidence"], strict=True) if c not in CONFIDENCES]
    for name in ("vat", "eit"):
        frame = getattr(rules, name)
        for r in frame.itertuples(index=False):
            problems += [f"{name}.csv {r.rule_id}: unknown family {f!r}" for f in r.families if f not in families]
            problems += [f"{name}.csv {r.rule_id}: unknown product {p!r}" for p in r.products if p not in products]
    problems += [f"families.csv: unknown EPT rule {e!r}" for e in rules.families["ept_rule_id"]
                 if e and e not in set(rules.ept["rule_id"])]
    dup = {i for i in ids if ids.count(i) > 1}
    problems += [f"duplicate rule id {i!r}" for i in sorted(dup)]
    if problems:
        raise ValueError("evaluation rules: " + "; ".join(problems))


# --- the planner's incentives: the same rows (one definition) ------------------------------------

MAPPING_COLUMNS: tuple[str, ...] = ("id", "kind", "process", "rule_id", "product", "confidence", "note")
_PLANNER_TAGS = {"V": "V", "S": "P", "P": "P", "U": "U"}  # the planner table knows V/P/U: S counts as P


def planner_incentives(mapping: pd.DataFrame, rules: Rules | None = None) -> pd.DataFrame:
    """The planner's incentives table (the schema's ``incentives`` columns as text) from its
    process → rule mapping (``catalog/data/incentives.csv``): the minimum share, refund or income
    share and tax rate are the VAT and EIT rows of these rules, so the planner and :func:`assess`
    read the same figures. VAT rows take the product's VAT rate (its own tag is named in the
    source); EIT rows exclude 1 − income share (10 %) at the EIT rate. The confidence is the
    weakest of the mapping's and the rule's tags (row, share, refund); S, which the planner's
    table does not know, becomes P: never an upgrade."""
    from decimal import Decimal

    rules = rules or load_rules()
    missing = [c for c in MAPPING_COLUMNS if c not in mapping]
    if missing:
        raise ValueError(f"incentives mapping: missing columns {missing}")
    products = rules.products.set_index("product")
    out = []
    for m in mapping.itertuples(index=False):
        row = rules.rule(str(m.rule_id))
        if m.product not in products.index:
            raise ValueError(f"incentives mapping {m.id}: unknown product {m.product!r}")
        if m.product not in row.get("products", ()):
            raise ValueError(f"incentives mapping {m.id}: rule {m.rule_id} does not list product {m.product!r}")
        if m.kind == "vat_refund":
            if row["table"] != "vat":
                raise ValueError(f"incentives mapping {m.id}: {m.rule_id} is not a VAT row")
            rate, tax_rate, item, key = row["refund_pct"], products.loc[m.product, "vat_rate"], row["item"], "vat-2022"
            conf = weakest(str(m.confidence), str(row["confidence"]), str(row["share_confidence"]),
                           str(row["refund_confidence"]))
        else:
            if row["table"] != "eit":
                raise ValueError(f"incentives mapping {m.id}: {m.rule_id} is not an EIT row")
            rate = float(Decimal(1) - Decimal(str(row["income_share"])))
            tax_rate, item, key = row["eit_rate"], "", "cit-2021"
            conf = weakest(str(m.confidence), str(row["confidence"]), str(row["share_confidence"]))
        source = f"[{key}] evaluation rule {m.rule_id}: {row['source']}"
        if key == "vat-2022":
            source += (f"; VAT {float(tax_rate):.0%} on {m.product} [{products.loc[m.product, 'vat_rate_confidence']}]"
                       f" ({products.loc[m.product, 'vat_rate_source']})")
        if m.note:
            source += f"; {m.note}"
        out.append({"id": m.id, "kind": m.kind, "process": m.process, "item": item,
                    "min_waste_share": "" if row["min_share"] is None else repr(float(row["min_share"])),
                    "rate": repr(float(rate)), "tax_rate": repr(float(tax_rate)),
                    "name_zh": row["name_zh"], "name_en": row["name_en"], "source": source,
                    "confidence": _PLANNER_TAGS[conf]})
    return pd.DataFrame(out, columns=["id", "kind", "process", "item", "min_waste_share", "rate", "tax_rate",
                                      "name_zh", "name_en", "source", "confidence"])
