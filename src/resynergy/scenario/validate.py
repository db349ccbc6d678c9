"""Checks that span tables: references, USCC check digits, roles, recipes and material kinds."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from resynergy import schema
from resynergy.indicators.definitions import INDICATORS
from resynergy.scenario import uscc
from resynergy.schema import units
from resynergy.schema.coerce import RawTable
from resynergy.schema.issues import Issue

# where row ``i`` of a table came from: (file or sheet, row number)
Locate = Callable[[str, int], tuple[str, int | None]]

ROLES = ("generator", "facility", "demand", "terminal", "disposal")
_BALANCE_TOL = 1e-6


def check_refs(name: str, frame: pd.DataFrame, tables: dict[str, pd.DataFrame],
               raw: RawTable | None = None) -> list[Issue]:
    """Codes in ``frame`` (table ``name``) that the tables they reference do not hold."""
    issues: list[Issue] = []
    for col in schema.columns(name):
        if not col.ref or frame.empty:
            continue
        ref_table, ref_col = col.ref.split(".")
        known = set(tables[ref_table][ref_col]) if ref_table in tables else set()
        bad = (~frame[col.name].isin(known) & (frame[col.name] != "")).to_numpy()
        for i in np.flatnonzero(bad).tolist():
            src, row = (raw.source, raw.rows[i]) if raw else (name, i + 2)
            issues.append(Issue("unknown_ref", name, src, row, col.name, frame[col.name].iloc[i],
                                {"ref_table": ref_table, "ref_column": ref_col}))
    return issues


def check_cross(tables: dict[str, pd.DataFrame], raws: dict[str, RawTable]) -> list[Issue]:
    """References between tables and the domain rules that span columns or tables."""
    issues: list[Issue] = []

    def at(name: str, i: int) -> tuple[str, int | None]:
        raw = raws.get(name)
        return (raw.source, raw.rows[i]) if raw else (name, i + 2)

    for name, frame in tables.items():
        issues += check_refs(name, frame, tables, raws.get(name))
    for name, column in (("organisations", "uscc"), ("sites", "org_uscc"),
                         ("programmes", "org_uscc")):
        frame = tables[name]
        for i, code in enumerate(frame[column]):
            if code and not uscc.is_valid(code):
                src, row = at(name, i)
                check = uscc.check_char(code[:17]) if len(code) >= 17 and all(
                    ch in uscc.ALPHABET for ch in code[:17].upper()) else "?"
                issues.append(Issue("bad_uscc", name, src, row, column, code, {"check": check}))
    for i, roles in enumerate(tables["sites"]["roles"]):
        for role in (r.strip() for r in roles.split(";") if r.strip()):
            if role not in ROLES:
                src, row = at("sites", i)
                issues.append(Issue("bad_role", "sites", src, row, "roles", role, {"choices": ", ".join(ROLES)}))
    issues += _check_recipes(tables, at)
    issues += _check_programmes(tables, at)
    issues += _check_kinds(tables, at)
    fac = tables["facilities"]
    short = (fac["expandable"] & (fac["max_capacity_t"] < fac["capacity_t"])).to_numpy()
    for i in np.flatnonzero(short).tolist():
        src, row = at("facilities", i)
        issues.append(Issue("max_below_capacity", "facilities", src, row, "max_capacity_t",
                            fac["max_capacity_t"].iloc[i], {"capacity": fac["capacity_t"].iloc[i]}))
    return issues


def _check_recipes(tables: dict[str, pd.DataFrame], at: Locate) -> list[Issue]:
    io = tables["process_io"]
    sums = io.pivot_table(index="process", columns="direction", values="rate", aggfunc="sum", fill_value=0.0)
    issues = []
    for i, (pid, declared) in enumerate(zip(tables["processes"]["id"], tables["processes"]["mass_yield"], strict=True)):
        inputs = float(sums["in"].get(pid, 0.0)) if "in" in sums else 0.0
        outputs = float(sums["out"].get(pid, 0.0)) if "out" in sums else 0.0
        if abs(inputs - 1.0) > _BALANCE_TOL or abs(outputs - declared) > _BALANCE_TOL:
            src, row = at("processes", i)
            issues.append(Issue("unbalanced", "processes", src, row, "mass_yield", pid,
                                {"inputs": round(inputs, 6), "outputs": round(outputs, 6), "mass_yield": declared}))
    return issues


def _check_kinds(tables: dict[str, pd.DataFrame], at: Locate) -> list[Issue]:
    kind = dict(zip(tables["materials"]["code"], tables["materials"]["kind"], strict=True))
    issues = []
    for name, want_product in (("supplies", False), ("demands", True)):
        for i, mat in enumerate(tables[name]["material"]):
            if mat in kind and (kind[mat] == "product") != want_product:
                src, row = at(name, i)
                expected = "product" if want_product else "industrial_waste | recycled_resource | urban_waste"
                issues.append(Issue("wrong_kind", name, src, row, "material", mat,
                                    {"expected": expected, "actual": kind[mat]}))
    return issues


# Stages of a programme, in order; a status needs the year of its own stage and of every
# earlier stage except ``approved`` (a programme may be recognised without a recorded approval).
PROGRAMME_STAGES = (("approved", "approved_year"), ("built", "built_year"),
                    ("accepted", "accepted_year"))
PROGRAMME_STATUSES = ("proposed", "approved", "built", "accepted")


def _check_programmes(tables: dict[str, pd.DataFrame], at: Locate) -> list[Issue]:
    """Linked sites and facilities exist; the year of the status is given; years are in order."""
    prog = tables.get("programmes")
    if prog is None or prog.empty:
        return []
    issues = []
    known = {"sites": set(tables["sites"]["id"]), "facilities": set(tables["facilities"]["id"])}
    for i, row in enumerate(prog.to_dict("records")):
        src, r = at("programmes", i)
        for column, ids in known.items():
            for ref in (x.strip() for x in str(row[column]).split(";") if x.strip()):
                if ref not in ids:
                    issues.append(Issue("unknown_ref", "programmes", src, r, column, ref,
                                        {"ref_table": column, "ref_column": "id"}))
        status = row["status"]
        if status in PROGRAMME_STATUSES:
            rank = PROGRAMME_STATUSES.index(status)
            for stage, column in PROGRAMME_STAGES[1:]:
                if PROGRAMME_STATUSES.index(stage) <= rank and not 2000 <= row[column] <= 2100:
                    issues.append(Issue("status_year", "programmes", src, r, column, row[column],
                                        {"status": status}))
        if row["approved_year"] and not 2000 <= row["approved_year"] <= 2100:
            issues.append(Issue("status_year", "programmes", src, r, "approved_year",
                                row["approved_year"], {"status": status}))
        dated = [(c, row[c]) for _, c in PROGRAMME_STAGES if row[c]]
        for (c1, y1), (c2, y2) in zip(dated, dated[1:], strict=False):
            if y1 > y2:
                issues.append(Issue("year_order", "programmes", src, r, c2, y2,
                                    {"earlier": c1, "earlier_year": y1, "later": c2,
                                     "later_year": y2}))
    return issues


def check_targets(targets: pd.DataFrame, raw: RawTable | None = None) -> list[Issue]:
    """Targets whose indicator is unknown or whose unit is not of the indicator's dimension.

    Runs with the per-table checks (not only once the scenario is otherwise valid), so that
    ``data validate`` reports these in the same pass as everything else."""
    issues: list[Issue] = []
    for i, (iid, unit) in enumerate(zip(targets["indicator"], targets["unit"], strict=True)):
        src, row = (raw.source, raw.rows[i]) if raw else ("targets", i + 2)
        ind = INDICATORS.get(iid)
        if ind is None:
            if iid:
                issues.append(Issue("unknown_indicator", "targets", src, row, "indicator", iid,
                                    {"choices": ", ".join(INDICATORS)}))
            continue
        if unit in units.UNITS and units.dimension(unit) != units.dimension(ind.unit):
            dim = units.dimension(ind.unit)
            issues.append(Issue("unit_dimension", "targets", src, row, "unit", unit, {
                "indicator": iid, "indicator_unit": ind.unit, "dimension": dim,
                "dimension_zh": units.DIMENSION_ZH.get(dim, dim),
                "choices": ", ".join(units.same_dimension(ind.unit))}))
    return issues


def normalise_targets(targets: pd.DataFrame) -> pd.DataFrame:
    """Targets in the unit of their indicator: ``value`` converted, ``penalty`` per indicator
    unit, ``unit`` the indicator's. The only place target units are converted; assumes
    :func:`check_targets` found nothing (rows it would flag are left as they are)."""
    t = targets.copy()
    if t.empty:
        return t
    to = t["indicator"].map(lambda i: INDICATORS[i].unit if i in INDICATORS else "")
    ok = to.ne("") & t["unit"].isin(list(units.UNITS))
    ok &= t["unit"].map(units.dimension) == to.map(units.dimension)
    f = pd.Series(1.0, index=t.index)
    f[ok] = [units.factor(u, v) for u, v in zip(t.loc[ok, "unit"], to[ok], strict=True)]
    t["value"] = t["value"].astype(float) * f
    t["penalty"] = t["penalty"].astype(float) / f
    t.loc[ok, "unit"] = to[ok]
    return t


def check_plannable(tables: Mapping[str, pd.DataFrame]) -> list[Issue]:
    """What a valid scenario still needs before it can be planned: at least one year."""
    if tables["supplies"].empty and tables["demands"].empty:
        return [Issue("no_years", "supplies")]
    return []
