"""Scenarios: validated bundles of tables, read from and written to CSV, Parquet and XLSX."""

from resynergy.scenario.issues import Issue, ScenarioError
from resynergy.scenario.model import FORMATS, Scenario

__all__ = ["FORMATS", "Issue", "Scenario", "ScenarioError"]
