"""Helpers shared by the tests (imported as ``support.<module>``; ``tests/`` is on the path).

- ``cases``: hand-worked planner scenarios (``tiny``, ``transport_case``, ``rail_case`` …);
- ``toys``: a hand-made scenario and plan for the indicator, monitor and report tests;
- ``platform``: the test registry, users of every role, signing in, a live server.

Tests import helpers from here, never from ``conftest`` or from one another.
"""
