"""Names of the planning model's variables and constraint families.

One definition, shared by the model (:mod:`resynergy.planner.model`) and every reader of its
results (:mod:`resynergy.planner.solve`, the diagnosis, re-solves). Nothing here imports linopy,
so readers stay light.

A *family* is a group of rows one ``define_*`` function of the model adds; ``Built.rows[family]``
lists the constraint names it added for a given scenario (a family may add none).
"""

from __future__ import annotations

ELASTIC_PENALTY = 1e6  # yuan per t of relaxation: above any real cost, so relaxation comes first

# --- variables ---
FLOW = "flow"
ACTIVITY = "activity"
DISPOSAL = "disposal"
STOCK_DRAW = "stock_draw"
UNMET = "unmet"
SHORTAGE = "shortage"
MARKET = "market"
EXPANSION = "expansion"
BUILD = "build"  # integer (0/1): candidate built in the year
EXPANDED = "expanded"  # integer (0/1): existing facility expanded by the year
CO2_SLACK = "co2_slack"
INTEGER_VARIABLES = (BUILD, EXPANDED)


def target_slack(i: int) -> str:
    """Slack of modelled target ``i`` (soft targets, or any target when elastic)."""
    return f"target_slack_{i}"


def corridor_slack(i: int) -> str:
    return f"corridor_slack_{i}"


def corridor_nev_slack(i: int) -> str:
    return f"corridor_nev_slack_{i}"


# --- constraints ---
SUPPLY_BALANCE = "supply_balance"
OUTPUT_BALANCE = "output_balance"
INPUT_BALANCE = "input_balance"
DEMAND_BALANCE = "demand_balance"
VIRGIN_SUPPLY = "virgin_supply"
STOCK_LEFT = "stock_left"
CAPACITY = "capacity"
OPEN_BIGM = "open_bigm"
EXPANSION_LIMIT = "expansion_limit"
CANDIDATE_LINK = "candidate_link"
BUILD_ONCE = "build_once"
EXPANSION_SWITCH = "expansion_switch"
MIN_LOAD = "min_load"
HOST_SHARE = "host_share"
TERMINAL_CAPACITY = "terminal_capacity"
LANE_CAPACITY = "lane_capacity"
CO2_CAP = "co2_cap"


def host_limit(content: str) -> str:
    """Row of a host plant's limit on one element (chlorine, sulphur, alkali) of its inputs."""
    return f"host_{content}"


def target(i: int) -> str:
    """Row of modelled target ``i`` (row ``i`` of ``ModelData.targets.table``)."""
    return f"target_{i}"


def corridor(i: int) -> str:
    """Rail-share row of corridor ``i``."""
    return f"corridor_{i}"


def corridor_nev(i: int) -> str:
    """New-energy road-share row of corridor ``i``."""
    return f"corridor_nev_{i}"


# --- families: what Built.rows is keyed by, one per define_* function of the model ---
BALANCES = "balances"
SITING = "capacity_and_siting"
SHARED = "shared_capacities"
POLICY = "policy"
TARGETS = "targets"
FAMILIES = (BALANCES, SITING, SHARED, POLICY, TARGETS)
