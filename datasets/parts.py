"""Validation of recipe tables that belong to other parts (solver and render settings).

The simulator and the renderer own their settings models; a recipe only carries the
tables, and this module checks them against those models so a typo fails at load time.
"""

from __future__ import annotations

from typing import Any

from pourbench.errors import PourbenchError


def validate_sim_settings(table: dict[str, Any]) -> Any:
    """The recipe's ``[sim]`` table as the simulator's solver settings model."""
    from pourbench.sim.scenario import SolverSettings

    return SolverSettings.model_validate(table)


def validate_render_settings(table: dict[str, Any]) -> Any:
    """The recipe's ``[render]`` table as the renderer's settings model."""
    from pourbench.render.variant import RenderSettings

    return RenderSettings.model_validate(table)


def validate_presets(names: list[str], key: str) -> None:
    """Every container name must be a simulator preset."""
    from pourbench.sim.scenario import PRESETS

    unknown = [n for n in names if n not in PRESETS]
    if unknown:
        raise PourbenchError(
            f"{key}: unknown container {unknown[0]!r} (allowed: {', '.join(sorted(PRESETS))})"
        )
