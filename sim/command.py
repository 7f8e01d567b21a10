"""The ``pourbench simulate`` verb: one scenario file in, one particle track out."""

from __future__ import annotations

import logging
from pathlib import Path

from pourbench.sim.scenario import Scenario

logger = logging.getLogger(__name__)


def simulate_command(scenario: Scenario, out: Path, arch: str, radius: float | None) -> None:
    """Simulate ``scenario`` (particle radius overridden by ``radius`` when given) into ``out``.

    Retries once with half the time step when the run is unstable.
    """
    from pourbench.sim.errors import SimulationUnstable
    from pourbench.sim.pour import simulate_pour

    if radius is not None:
        scenario = Scenario.model_validate({**scenario.model_dump(), "particle_radius": radius})
    try:
        result = simulate_pour(scenario, out, arch=arch)
    except SimulationUnstable as e:
        logger.warning("%s; retrying with half the time step", e)
        result = simulate_pour(scenario, out, arch=arch, dt_scale=0.5)
    logger.info("wrote %s: %d particles, %d frames", result.path, result.num_particles,
                result.num_frames)
