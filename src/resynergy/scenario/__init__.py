"""Scenarios: validated bundles of tables, read from and written to CSV, Parquet and XLSX."""

from resynergy.scenario.model import FORMATS, Scenario
from resynergy.scenario.protocol import ScenarioLike
from resynergy.schema.issues import Issue, ScenarioError

__all__ = ["FORMATS", "Issue", "Scenario", "ScenarioError", "ScenarioLike"]
