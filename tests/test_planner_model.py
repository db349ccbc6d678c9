"""The planner's model is readable: every row belongs to one named family (issue 11 item 7)."""

from __future__ import annotations

import pytest

from resynergy import synth
from resynergy.planner import model, names
from resynergy.planner.data import HOST_ELEMENTS, prepare
from resynergy.planner.options import PlanOptions


@pytest.fixture(scope="module")
def data():
    return prepare(synth.scenario(60, seed=1, years=(2021, 2022)))


@pytest.mark.parametrize("elastic", [False, True])
def test_every_row_is_in_exactly_one_family(data, elastic):
    built = model.build(data, PlanOptions().blend(), elastic=elastic)
    assert set(built.rows) == set(names.FAMILIES)
    listed = [r for rows in built.rows.values() for r in rows]
    assert len(listed) == len(set(listed))
    assert set(listed) == set(built.model.constraints)
    # each family has rows on this scenario (targets, a corridor, candidates, terminals)
    assert all(built.rows[f] for f in names.FAMILIES), built.rows


def test_row_names_come_from_the_names_module(data):
    built = model.build(data, PlanOptions().blend())
    fixed = {v for k, v in vars(names).items() if k.isupper() and isinstance(v, str)}
    nt = len(data.targets.table) if data.targets is not None else 0
    made = ({names.target(i) for i in range(nt)}
            | {f(i) for f in (names.corridor, names.corridor_nev)
               for i in range(len(data.corridors.table))}
            | {names.host_limit(c) for c, _ in HOST_ELEMENTS})
    assert set(built.model.constraints) <= fixed | made
    assert names.CAPACITY in built.rows[names.SITING]
    assert names.target(0) in built.rows[names.TARGETS]


def test_each_family_states_its_maths():
    for fn in (model.define_balances, model.define_capacity_and_siting,
               model.define_shared_capacities, model.define_policy, model.define_targets,
               model.define_objective):
        doc = fn.__doc__ or ""
        assert any(op in doc for op in ("≤", "≥", "=")), fn.__name__
