"""Monitoring: targets against plan or actual values — gaps, statuses, trajectories, summary."""

from resynergy.monitor.track import Monitor, monitor, summary_lines

__all__ = ["Monitor", "monitor", "summary_lines"]
