"""Monitoring: targets against plan or actual values — gaps, statuses, trajectories, summary."""

from resynergy.monitor.track import Monitor, monitor, status_lines

__all__ = ["Monitor", "monitor", "status_lines"]
