"""The one retry policy for unstable simulations, used by ``pourbench simulate`` and by the
dataset generator alike.

- **What counts as unstable**: :class:`~pourbench.sim.errors.SimulationUnstable` (NaN in the
  positions, runaway speed, leakage through a wall). Any other error is a bug or bad input
  and is raised at once, never retried.
- **What changes on a retry**: only the time step. Attempt *k* runs with ``dt_scale =
  DT_SCALES[k]`` (the CFL number and the step cap are multiplied by it: 1, then 0.5, then
  0.25); the scenario, and therefore the seed and the particle set, stay the same.
- **How many attempts**: ``len(dt_scales)``, three by default.
- **What is logged**: one warning per unstable attempt, naming the run, the dt_scale, the
  reason and the next dt_scale. When every attempt is unstable,
  :class:`UnstableAfterRetries` is raised: its message starts with the last attempt's reason
  and names the scales tried; ``attempts`` says how many runs were made.

The track file is written atomically by the simulator, so a failed attempt leaves nothing
under the final name.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pourbench.sim.errors import SimulationUnstable
from pourbench.sim.scenario import Scenario

log = logging.getLogger(__name__)

#: Time-step scales tried in turn.
DT_SCALES = (1.0, 0.5, 0.25)


class UnstableAfterRetries(SimulationUnstable):
    """Every attempt of the retry policy was unstable."""

    def __init__(self, message: str, attempts: int):
        super().__init__(message)
        self.attempts = attempts


@dataclass(frozen=True)
class RetryPolicy:
    """Which errors are retried and with which time-step scales."""

    dt_scales: tuple[float, ...] = DT_SCALES
    retry_on: tuple[type[Exception], ...] = (SimulationUnstable,)

    def __post_init__(self) -> None:
        if not self.dt_scales or any(not 0 < s <= 1 for s in self.dt_scales):
            raise ValueError(f"dt_scales must be non-empty, each in (0, 1]: {self.dt_scales}")

    @property
    def attempts(self) -> int:
        return len(self.dt_scales)


DEFAULT_POLICY = RetryPolicy()


@dataclass
class RetriedSimulation:
    """A simulation that succeeded, and what it took."""

    result: Any  # pourbench.sim.pour.SimResult
    attempts: int
    dt_scale: float
    seconds: float


def simulate_with_retries(
    scenario: Scenario,
    out_path: str | Path,
    *,
    arch: str = "auto",
    progress: bool = True,
    threads: int | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    label: str | None = None,
) -> RetriedSimulation:
    """Simulate ``scenario`` into ``out_path``, retrying unstable runs under ``policy``.

    Args:
        label: how the warnings name the run (default: the output file's stem).

    Raises:
        UnstableAfterRetries: every attempt was unstable (a ``SimulationUnstable``, so one
            line and a non-zero exit at the CLI).
    """
    import pourbench.sim as sim  # looked up per call: simulate_pour loads Taichi lazily

    label = label or Path(out_path).stem
    extra = {} if threads is None else {"threads": threads}
    start = time.perf_counter()
    scales = policy.dt_scales
    for attempt, scale in enumerate(scales, 1):
        try:
            result = sim.simulate_pour(
                scenario, out_path, arch=arch, progress=progress, dt_scale=scale, **extra
            )
        except policy.retry_on as e:
            if attempt == len(scales):
                tried = ", ".join(f"{s:g}" for s in scales)
                raise UnstableAfterRetries(
                    f"{e} (unstable at every dt_scale tried: {tried})", attempt
                ) from e
            log.warning("%s: unstable at dt_scale %g (%s); retrying at dt_scale %g",
                        label, scale, e, scales[attempt])
            continue
        return RetriedSimulation(result, attempt, scale, time.perf_counter() - start)
    raise AssertionError("unreachable")


__all__ = [
    "DEFAULT_POLICY",
    "DT_SCALES",
    "RetriedSimulation",
    "RetryPolicy",
    "UnstableAfterRetries",
    "simulate_with_retries",
]
