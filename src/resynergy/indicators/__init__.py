"""Indicators: versioned definitions and their evaluation on plans and actual flows."""

from resynergy.states import TargetStatus

from .definitions import INDICATORS, Indicator, get
from .evaluate import attainment, evaluate, evaluate_all, evaluate_plan

__all__ = ["INDICATORS", "Indicator", "get", "TargetStatus", "attainment", "evaluate",
           "evaluate_all", "evaluate_plan"]
