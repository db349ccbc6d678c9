"""Indicators: versioned definitions and their evaluation on plans and actual flows."""

from .definitions import INDICATORS, Indicator, get
from .evaluate import STATUSES, attainment, evaluate, evaluate_all, evaluate_plan

__all__ = ["INDICATORS", "Indicator", "get", "STATUSES", "attainment", "evaluate",
           "evaluate_all", "evaluate_plan"]
