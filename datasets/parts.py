"""Validation of recipe tables that belong to other parts (solver and render settings).

The simulator and the renderer own their settings models; a recipe only carries the
tables, and this module checks them against those models so a typo fails at load time.
"""

from __future__ import annotations

from pydantic import BaseModel

from pourbench.core.errors import PourbenchError


def sim_settings_model() -> type[BaseModel]:
    """The simulator's model of the recipe's ``[sim]`` table."""
    from pourbench.sim.scenario import SolverSettings

    return SolverSettings


def render_settings_model() -> type[BaseModel]:
    """The renderer's model of the recipe's ``[render]`` table."""
    from pourbench.render.variant import RenderSettings

    return RenderSettings


def validate_presets(names: list[str], key: str) -> None:
    """Every container name must be one of the simulator's presets."""
    from pourbench.sim.scenario import PRESETS

    for i, name in enumerate(names):
        if name not in PRESETS:
            raise PourbenchError(
                f"{key}.{i}: unknown container {name!r} (allowed: {', '.join(sorted(PRESETS))})"
            )
