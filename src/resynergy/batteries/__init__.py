"""Retired traction batteries (issue 14): GB/T 34014 codes, lifecycle events with upload
deadlines in working days, triage to second life or recycling with firm compliance, and a
dynamic-stock retirement forecast that feeds the planner's ``retired_batteries`` supplies.

A core package: it imports no web, store, services, cli or report module, so the platform
only stores what these functions return and calls them.
"""
