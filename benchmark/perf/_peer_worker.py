"""Subprocess entry that drives SPlisHSPlasH headless for `peer_splishsplash`.

Usage: python -m pourbench.benchmark.perf._peer_worker REQUEST.json RESULT.json

Run it with LD_PRELOAD naming the system's libGLdispatch.so.0 and OMP_NUM_THREADS set (the
parent does both). It loads the scene, enforces the DFSPH / CFL settings through the API
(some SPlisHSPlasH versions ignore parts of the scene file), runs SPlisHSPlasH's deferred
set-up plus the first step, then steps to t_end while timing only the steps, and records
the surge front (max x and 99.5th percentile of x over fluid particles) after every step.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from pourbench.core.atomic import write_text_atomic

log = logging.getLogger("pourbench.benchmark.perf.peer_worker")

# SimulatorBase.timeStepNoGUI stops once the time passes this; it ends the set-up run
# after exactly one step (our own loop decides when to stop afterwards).
_ONE_STEP_STOP_AT = 1e-7


def _positions(fluid: Any) -> np.ndarray:
    """(N, 3) view of the active fluid particle positions (m), no copy."""
    n = fluid.numActiveParticles()
    return np.asarray(fluid.getFieldBuffer("position")).reshape(-1, 3)[:n]


def _speed_max(fluid: Any) -> float:
    n = fluid.numActiveParticles()
    v = np.asarray(fluid.getFieldBuffer("velocity")).reshape(-1, 3)[:n]
    return float(np.sqrt((v.astype(np.float64) ** 2).sum(axis=1).max()))


def _apply_settings(sph: Any, request: dict[str, Any]) -> None:
    """Set the solver parameters through the API, whatever the scene loader read."""
    sim = sph.Simulation.getCurrent()
    step = sim.getTimeStep()
    dfsph = request["dfsph"]
    step.setValueFloat(step.MAX_ERROR, dfsph["maxError"])
    step.setValueFloat(step.MAX_ERROR_V, dfsph["maxErrorV"])
    step.setValueUInt(step.MIN_ITERATIONS, dfsph["minIterations"])
    step.setValueUInt(step.MAX_ITERATIONS, dfsph["maxIterations"])
    step.setValueUInt(step.MAX_ITERATIONS_V, dfsph["maxIterationsV"])
    step.setValueBool(step.USE_DIVERGENCE_SOLVER, dfsph["enableDivergenceSolver"])
    sim.setValueInt(sim.CFL_METHOD, sim.ENUM_CFL_STANDARD)
    sim.setValueFloat(sim.CFL_FACTOR, request["cfl"]["factor"])
    sim.setValueFloat(sim.CFL_MAX_TIMESTEPSIZE, request["cfl"]["max_dt"])


def _read_back(sph: Any, base: Any) -> dict[str, Any]:
    """The settings SPlisHSPlasH actually uses, for the record."""
    sim = sph.Simulation.getCurrent()
    step = sim.getTimeStep()
    fluid = sim.getFluidModel(0)
    models = [sim.getBoundaryModel(i) for i in range(sim.numberOfBoundaryModels())]
    # volume maps (Bender et al. 2019) have no boundary particles
    boundary_particles = sum(m.numberOfParticles() for m in models
                             if hasattr(m, "numberOfParticles"))
    kernels = {
        sim.ENUM_KERNEL_CUBIC: "cubic",
        sim.ENUM_KERNEL_PRECOMPUTED_CUBIC: "precomputed cubic",
        sim.ENUM_KERNEL_WENDLANDQUINTICC2: "Wendland C2",
        sim.ENUM_KERNEL_POLY6: "poly6",
        sim.ENUM_KERNEL_SPIKY: "spiky",
    }
    kernel = sim.getValueInt(sim.KERNEL_METHOD)
    return {
        "simulation_method": step.getMethodName(),
        "kernel": kernels.get(kernel, str(kernel)),
        "support_radius": sim.getSupportRadius(),
        "boundary_handling_method": sim.getValueInt(sim.BOUNDARY_HANDLING_METHOD),
        "boundary_particles": boundary_particles,
        "maxError_percent": step.getValueFloat(step.MAX_ERROR),
        "maxErrorV_percent": step.getValueFloat(step.MAX_ERROR_V),
        "min_iterations": step.getValueUInt(step.MIN_ITERATIONS),
        "max_iterations": step.getValueUInt(step.MAX_ITERATIONS),
        "divergence_solver": step.getValueBool(step.USE_DIVERGENCE_SOLVER),
        "cfl_method": sim.getValueInt(sim.CFL_METHOD),
        "cfl_factor_read": sim.getValueFloat(sim.CFL_FACTOR),
        "cfl_max_dt_read": sim.getValueFloat(sim.CFL_MAX_TIMESTEPSIZE),
        "z_sort": sim.getValueBool(sim.ENABLE_Z_SORT),
        "viscosity_method": fluid.getValueInt(fluid.VISCOSITY_METHOD),
        "surface_tension_method": fluid.getValueInt(fluid.SURFACE_TENSION_METHOD),
        "vorticity_method": fluid.getValueInt(fluid.VORTICITY_METHOD),
        "drag_method": fluid.getValueInt(fluid.DRAG_METHOD),
        "gravity": [float(g) for g in sim.getVec3ValueReal(sim.GRAVITATION)],
    }


def run(request: dict[str, Any]) -> dict[str, Any]:
    """Simulate as the request says; return the raw front curve and timings."""
    import pysplishsplash as sph  # only ever imported in this subprocess

    base = sph.Exec.SimulatorBase()
    base.init(
        sceneFile=request["scene_file"],
        useGui=False,
        outputDir=request["output_dir"],
        useCache=False,
        initialPause=False,
    )
    base.initSimulation()
    _apply_settings(sph, request)
    sim = sph.Simulation.getCurrent()
    fluid = sim.getFluidModel(0)
    clock = sph.TimeManager.getCurrent()
    t_end = float(request["t_end"])

    times, fronts, fronts_p995 = [], [], []
    pressure_iters, divergence_iters = [], []
    step = sim.getTimeStep()

    peak_speeds: list[float] = []

    def sample() -> None:
        x = _positions(fluid)[:, 0]
        times.append(float(clock.getTime()))
        fronts.append(float(x.max()))
        fronts_p995.append(float(np.percentile(x, 99.5)))
        peak_speeds.append(_speed_max(fluid))

    sample()  # initial state, t = 0
    started = time.perf_counter()
    base.setValueFloat(base.STOP_AT, _ONE_STEP_STOP_AT)
    base.runSimulation()  # boundary sampling, neighbour set-up and the first step
    setup_s = time.perf_counter() - started
    steps = 1
    sample()
    log.info("set-up and first step: %.2f s; %d fluid particles", setup_s, len(_positions(fluid)))

    base.setValueFloat(base.STOP_AT, 10.0 * t_end + 1.0)  # our loop stops, not SPlisHSPlasH
    wall_s = 0.0
    next_report = 0.1 * t_end
    while clock.getTime() < t_end:
        tick = time.perf_counter()
        base.timeStepNoGUI()
        wall_s += time.perf_counter() - tick
        steps += 1
        pressure_iters.append(step.getValueInt(step.SOLVER_ITERATIONS))
        divergence_iters.append(step.getValueInt(step.SOLVER_ITERATIONS_V))
        sample()
        if times[-1] >= next_report:
            next_report += 0.1 * t_end
            log.info(
                "t = %.4f s, %d steps, front %.4f m, %.1f s stepping",
                times[-1],
                steps,
                fronts[-1],
                wall_s,
            )

    x = _positions(fluid).astype(np.float64)
    tank_min, tank_max = np.asarray(request["tank_min"]), np.asarray(request["tank_max"])
    escaped = int(np.any((x < tank_min) | (x > tank_max), axis=1).sum())
    result = {
        "t": times,
        "front": fronts,
        "front_p995": fronts_p995,
        "num_particles": int(len(x)),
        "steps": steps,
        "wall_s": wall_s,
        "setup_s": setup_s,
        "read_back": {
            **_read_back(sph, base),
            "mean_pressure_iterations": float(np.mean(pressure_iters or [0])),
            "mean_divergence_iterations": float(np.mean(divergence_iters or [0])),
            "max_speed_end": _speed_max(fluid),
            "max_speed_peak": max(peak_speeds),
            "escaped_particles_end": escaped,
            "bounds_end_min": x.min(axis=0).tolist(),
            "bounds_end_max": x.max(axis=0).tolist(),
        },
    }
    base.cleanup()
    return result


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    request = json.loads(Path(argv[0]).read_text())
    result = run(request)
    write_text_atomic(argv[1], json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
