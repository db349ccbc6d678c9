"""The statuses a plan, a target and a platform run can have — one definition each.

They are :class:`enum.StrEnum`, so every member *is* its string: JSON, the database, CSV
exports and comparisons with plain strings see the same values as before (``"optimal"``,
``"met"``, ``"queued"``). This module imports nothing from the project, so every layer — the
core, the store's CHECK constraints, services and the web — may use it.
"""

from __future__ import annotations

from enum import StrEnum


class PlanStatus(StrEnum):
    """How a plan was obtained (``Plan.status``)."""

    OPTIMAL = "optimal"  # proven optimal (within the MIP gap)
    TIME_LIMIT = "time_limit"  # best plan found before the time limit
    RELAXED = "relaxed"  # hard targets could not all be met: solved with them made soft
    INFEASIBLE = "infeasible"  # no plan at all
    HEURISTIC = "heuristic"  # the greedy baseline


#: Statuses whose plan is the solver's own (not relaxed, not the baseline).
SOLVED = (PlanStatus.OPTIMAL, PlanStatus.TIME_LIMIT)


class SolverStatus(StrEnum):
    """How one solver run inside the planner ended (never a plan's status: the planner turns
    ``no_solution`` into a ``time_limit`` plan without a solution, or relaxes an infeasible one)."""

    OPTIMAL = "optimal"
    TIME_LIMIT = "time_limit"  # stopped by a limit with a feasible solution
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"  # stopped (or rejected) without a feasible solution


class TargetStatus(StrEnum):
    """How a target stands (the ``status`` column of attainment and tracking tables)."""

    MET = "met"
    ON_TRACK = "on_track"  # monitoring: the projection meets it
    AT_RISK = "at_risk"  # monitoring: the projection misses it
    MISSED = "missed"
    NOT_PLANNED = "not_planned"  # the plan does not cover the target's year
    NOT_MEASURABLE = "not_measurable"  # monitoring: the values cannot speak to the indicator
    REPORTED = "reported"  # the plan names the indicator but sets no figure: never judged


class RunState(StrEnum):
    """Where a platform planning run is (``runs.state``)."""

    QUEUED = "queued"
    RUNNING = "running"
    CANCELLING = "cancelling"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: Run states that still hold a worker or a place in the queue.
ACTIVE_RUN = (RunState.QUEUED, RunState.RUNNING, RunState.CANCELLING)
#: Run states that are final.
FINISHED_RUN = (RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED)


class ImportState(StrEnum):
    """Where a registry import is (``imports.state``): an upload is checked in its request and
    stored ``succeeded``; a background import (the built-in dataset) goes queued → running →
    succeeded | failed."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


#: Import states that still wait for or hold a worker.
ACTIVE_IMPORT = (ImportState.QUEUED, ImportState.RUNNING)


class EvaluationState(StrEnum):
    """Where an enterprise's comprehensive-utilization evaluation is (``evaluations.state``;
    工信部公告2018年第26号 procedure): the firm drafts and submits it to a listed evaluator, who
    asks for corrections or approves it; the approved report is filed with the department within
    30 days and then published. Approved, filed and published versions never change (a
    correction is a new version)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    CORRECTIONS_REQUESTED = "corrections_requested"
    APPROVED = "approved"
    FILED = "filed"
    PUBLISHED = "published"


#: Evaluation states whose version is frozen (assessment and report kept as approved).
FROZEN_EVALUATION = (EvaluationState.APPROVED, EvaluationState.FILED, EvaluationState.PUBLISHED)
#: Evaluation states the firm may still change (ledger, products, evaluator, evidence).
EDITABLE_EVALUATION = (EvaluationState.DRAFT, EvaluationState.CORRECTIONS_REQUESTED)
