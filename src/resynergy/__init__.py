"""resynergy: plan and coordinate regional comprehensive utilization of industrial solid waste and recycled resources."""

__version__ = "0.1.0"
