"""resynergy: plan and coordinate regional comprehensive utilization of industrial solid waste and recycled resources.

The Python API (``import resynergy as rs``; :mod:`resynergy.api`)::

    s = rs.open_scenario("jjj-2022")          # built-in name, folder or .xlsx workbook
    p = rs.plan(s)                            # a Plan: its tables are pandas DataFrames
    f = rs.evaluate(p, s)                     # indicators and targets
    rs.write_outputs(f, "out")                # the files `resynergy plan` writes

Names are resolved on first use, so ``import resynergy`` loads nothing else (the command's
start-up time, issue #11); their types are in ``__init__.pyi`` for editors and type checkers.
"""

__version__ = "0.1.0"

# name → module defining it; the public API, each documented where it is defined
_PUBLIC = {
    # scenarios
    "builtin_scenarios": "resynergy.api",
    "open_scenario": "resynergy.api",
    "modify": "resynergy.api",
    "variant": "resynergy.api",
    "Scenario": "resynergy.scenario.model",
    "ScenarioError": "resynergy.schema.issues",
    # planning
    "plan": "resynergy.api",
    "PlanOptions": "resynergy.planner.options",
    "Plan": "resynergy.planner.plan",
    "PlanStatus": "resynergy.states",
    "evaluate": "resynergy.api",
    "PlanFindings": "resynergy.report.findings",
    "write_outputs": "resynergy.api",
    # comparing
    "compare": "resynergy.api",
    "Comparison": "resynergy.api",
    # monitoring
    "actual_flows": "resynergy.api",
    "monitor_flows": "resynergy.api",
    "Monitor": "resynergy.monitor.track",
    "TargetStatus": "resynergy.states",
    # reference
    "indicator_table": "resynergy.api",
}

__all__ = [
    "builtin_scenarios", "open_scenario", "modify", "variant", "Scenario", "ScenarioError",
    "plan", "PlanOptions", "Plan", "PlanStatus", "evaluate", "PlanFindings", "write_outputs",
    "compare", "Comparison", "actual_flows", "monitor_flows", "Monitor", "TargetStatus",
    "indicator_table",
]

def __getattr__(name: str) -> object:
    """A public name, imported from its module on first use (then kept here)."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'resynergy' has no attribute {name!r}")
    value = getattr(__import__(module, fromlist=[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
