"""pourbench.sim: DFSPH (divergence-free SPH) water in Taichi, pouring from a tilting cup.

Public API::

    from pourbench.sim import Scenario, simulate_pour, load_scenario, PRESETS

Scenario models import without Taichi; the solver modules (and Taichi) load on first use of
``simulate_pour``. ``ti.init`` happens only in :func:`pourbench.sim.backend.init_taichi`.
"""

import os

# Taichi prints a version banner when it is imported; the simulator reports its backend in
# its own log line (set ENABLE_TAICHI_HEADER_PRINT=1 to see the banner).
os.environ.setdefault("ENABLE_TAICHI_HEADER_PRINT", "0")

from pourbench.sim.errors import SimulationUnstable
from pourbench.sim.scenario import (
    PRESETS,
    ContainerSpec,
    LiquidSpec,
    Placement,
    PourMotion,
    Scenario,
    SolverSettings,
    load_scenario,
)

__all__ = [
    "PRESETS",
    "ContainerSpec",
    "LiquidSpec",
    "Placement",
    "PourMotion",
    "Scenario",
    "SimResult",
    "SimulationUnstable",
    "SolverSettings",
    "load_scenario",
    "simulate_pour",
]


def __getattr__(name: str):
    if name in ("simulate_pour", "SimResult"):
        from pourbench.sim import pour

        return getattr(pour, name)
    raise AttributeError(f"module 'pourbench.sim' has no attribute {name!r}")
