"""Simulator errors."""

from pourbench.core.errors import PourbenchError


class SimulationUnstable(PourbenchError):
    """The simulation blew up (NaN, runaway speed or leakage); retry with a smaller time step."""
