"""SPlisHSPlasH (pysplishsplash) as a reference peer: the same dam break, run by its DFSPH.

The benchmark compares pourbench's DFSPH against SPlisHSPlasH on one scene (Martin & Moyce
square column, a x 2a x a of water in a 4a-long tank), particle radius, tolerances and
machine. pysplishsplash is an optional extra (`pip install pourbench[peers]`); importing it
in this process can crash (its bundled libGLdispatch clashes with the system's libGLX), so
the simulation runs in a subprocess (`_peer_worker`) with the system library preloaded and
`OMP_NUM_THREADS` set. This module never imports pysplishsplash.

Scene choices (recorded in `PeerResult.settings`):
- fluid: a regular lattice of spacing 2r, n_x * n_y * n_z particles with n = floor(L / 2r),
  the first centre r from x = 0, y = 0, z = 0 (so a = 2r * n_x fills [0, a] exactly when
  a / 2r is a whole number, as at r = a/10 or a/50);
- tank: SPlisHSPlasH's Akinci 2012 boundary particles sampled on a box (regular triangle
  sampling, deterministic), or its volume maps (Bender et al. 2019; ``boundary =
  "volume_maps"``, cells of 4 r as in SPlisHSPlasH's own DamBreakModel scene). Each wall is
  moved out by (wall_gap - 1) * r so the nearest fluid centres start wall_gap * r from it.
  With wall_gap = 1 (walls exactly at x, y, z = 0) SPlisHSPlasH (particles) starts ~80 %
  over-dense at the walls and blows up within a few steps; with 2 it is ~13 % over-dense at
  the floor edges and blows up at r = a/50 (a/20 survives); 3 (default) lets the column drop
  2r onto the floor and stays stable. The front is still measured from x = 0, the nominal
  back wall;
- DFSPH (method 4), SPlisHSPlasH's precomputed cubic-spline kernel (support 4r), CFL
  adaptive step (standard method) capped at max_dt, no viscosity by default, no surface
  tension, no XSPH.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import logging
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pourbench.core.errors import PourbenchError

log = logging.getLogger(__name__)

GRAVITY = 9.81  # m/s^2, along -y
MARTIN_MOYCE_A = 0.05715  # m, column width of Martin & Moyce (1952)
PEER_MODULE = "pysplishsplash"
WORKER_MODULE = "pourbench.benchmark.perf._peer_worker"

PEER_BOUNDARIES = {"particles": 0, "volume_maps": 2}  # SPlisHSPlasH's boundaryHandlingMethod
BOUNDARY_NAMES = {"particles": "Akinci2012, regular triangle sampling",
                  "volume_maps": "Bender2019 volume maps, cells of 4 r"}
VOLUME_MAP_CELL = 4.0  # in r: SPlisHSPlasH's DamBreakModel scene (r = 0.025, 10 cells a metre)

# A unit cube centred at the origin (8 corners, 12 outward-facing triangles), scaled and
# translated into the tank by the scene.
_UNIT_BOX_VERTICES = [(x, y, z) for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)]
_UNIT_BOX_FACES = [  # 1-based vertex indices, counter-clockwise seen from outside
    (1, 2, 4), (1, 4, 3),  # x = -0.5
    (5, 7, 8), (5, 8, 6),  # x = +0.5
    (1, 5, 6), (1, 6, 2),  # y = -0.5
    (3, 4, 8), (3, 8, 7),  # y = +0.5
    (1, 3, 7), (1, 7, 5),  # z = -0.5
    (2, 6, 8), (2, 8, 4),  # z = +0.5
]  # fmt: skip


@dataclass
class PeerResult:
    """One SPlisHSPlasH dam-break run.

    Attributes:
        T: (S,) dimensionless time t * sqrt(2 g / a) of each sample (one per time step).
        Z: (S,) surge front / a, front = max x over fluid particles (m from x = 0).
        Z_p995: (S,) the same with the 99.5th percentile of x (robust to lone splashes).
        num_particles: fluid particles.
        steps: time steps taken to reach t_end (the first one included).
        wall_s: wall time of steps 2..steps (s): set-up, boundary sampling and the first
            step (which SPlisHSPlasH runs together with its deferred set-up) excluded.
        particle_steps_per_s: num_particles * (steps - 1) / wall_s.
        version: pysplishsplash version.
        settings: everything that defines the run, as read back from SPlisHSPlasH.
    """

    T: np.ndarray
    Z: np.ndarray
    Z_p995: np.ndarray
    num_particles: int
    steps: int
    wall_s: float
    particle_steps_per_s: float
    version: str
    settings: dict[str, Any] = field(default_factory=dict)


def peer_available() -> bool:
    """Whether pysplishsplash is installed (checked without importing it)."""
    return importlib.util.find_spec(PEER_MODULE) is not None


def peer_version() -> str | None:
    try:
        return importlib.metadata.version(PEER_MODULE)
    except importlib.metadata.PackageNotFoundError:
        return None


def find_system_gldispatch() -> str | None:
    """Path of the system's libGLdispatch.so.0 from the linker cache, or None.

    Preloading it makes pysplishsplash use the same GL dispatch library as the system's
    libGLX instead of its bundled copy (which segfaults on import otherwise).
    """
    for ldconfig in ("ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"):
        try:
            out = subprocess.run(
                [ldconfig, "-p"], capture_output=True, text=True, timeout=30, check=False
            ).stdout
        except (OSError, subprocess.TimeoutExpired):
            continue
        found = []
        for line in out.splitlines():
            name, _, path = line.strip().partition(" => ")
            if name.startswith("libGLdispatch.so.0 ") and Path(path).exists():
                found.append((name, path))
        # prefer the 64-bit library (flags like "(libc6,x86-64)") on a multi-arch system
        found.sort(key=lambda item: "64" not in item[0])
        return found[0][1] if found else None
    return None


def lattice_counts(a: float, particle_radius: float) -> tuple[int, int, int]:
    """Particles per axis of the a x 2a x a column at spacing 2r: floor(L / 2r)."""
    diam = 2.0 * particle_radius
    counts = tuple(int(math.floor(length / diam + 1e-6)) for length in (a, 2.0 * a, a))
    if min(counts) < 2:
        raise PourbenchError(
            f"particle_radius {particle_radius} m is too coarse for a = {a} m: "
            f"needs at least 2 particles across (r <= a/4)"
        )
    return counts  # type: ignore[return-value]


def build_dambreak_scene(
    a: float,
    particle_radius: float,
    density_tol: float,
    divergence_tol: float,
    max_dt: float,
    cfl_factor: float = 0.5,
    viscosity: float = 0.0,
    wall_gap: float = 3.0,
    tank_height: float = 3.0,
    box_file: str = "tank_box.obj",
    boundary: str = "particles",
) -> dict[str, Any]:
    """The SPlisHSPlasH scene (JSON-ready dict) of the square-column dam break.

    Args:
        a: column width (m); the column is a x 2a x a, the tank 4a x tank_height*a x a.
        particle_radius: r (m); kernel support 4r.
        density_tol: allowed mean density error, fraction (0.0005 = 0.05 %).
        divergence_tol: allowed divergence error, fraction per second (0.001 = 0.1 %).
        max_dt: CFL step cap (s).
        cfl_factor: SPlisHSPlasH's CFL factor (dt = factor * 0.4 * 2r / v_max).
        viscosity: 0 disables viscosity; otherwise SPlisHSPlasH "Standard" viscosity with
            this coefficient.
        wall_gap: distance from every wall to the nearest fluid centres, in r (1 = walls
            exactly at x = 0, y = 0, z = 0; see the module docstring for why 3).
        tank_height: tank height in a, measured from y = 0.
        box_file: tank mesh path relative to the scene file (a unit box).
        boundary: the tank's walls, ``particles`` (Akinci 2012) or ``volume_maps``.
    """
    r = particle_radius
    if not (r > 0 and a > 0 and max_dt > 0 and density_tol > 0 and divergence_tol > 0):
        raise PourbenchError(
            f"peer scene needs positive a, r, max_dt and tolerances (got a={a}, r={r}, "
            f"max_dt={max_dt}, density_tol={density_tol}, divergence_tol={divergence_tol})"
        )
    if wall_gap < 1.0:
        raise PourbenchError(f"wall_gap must be >= 1 (in r), got {wall_gap}")
    if boundary not in PEER_BOUNDARIES:
        raise PourbenchError(f"boundary={boundary!r}; allowed: {', '.join(PEER_BOUNDARIES)}")
    nx, ny, nz = lattice_counts(a, r)
    shift = (wall_gap - 1.0) * r  # how far each wall moves out of the nominal tank
    lo = np.array([-shift, -shift, -shift])
    hi = np.array([4.0 * a + shift, tank_height * a, a + shift])
    # FluidBlocks (mode 0) put round(L / 2r) - 1 particles per axis, the first 2r inside
    # `start`: start at -r and span 2r (n + 1) to get n centres r, 3r, ..., (2n - 1) r.
    start = [-r, -r, -r]
    end = [-r + 2.0 * r * (n + 1) for n in (nx, ny, nz)]
    material: dict[str, Any] = {
        "id": "Fluid",
        "density0": 1000.0,
        "viscosityMethod": 0 if viscosity == 0.0 else 1,
        "surfaceTensionMethod": 0,
        "vorticityMethod": 0,
        "dragMethod": 0,
        "xsph": 0.0,
        "maxEmitterParticles": 0,
    }
    if viscosity:
        material["viscosity"] = viscosity
        material["Standard viscosity"] = {"viscosity": viscosity}
    dfsph = {
        "minIterations": 2,
        "maxIterations": 100,
        "maxError": 100.0 * density_tol,  # SPlisHSPlasH takes percent
        "maxIterationsV": 100,
        "maxErrorV": 100.0 * divergence_tol,
        "enableDivergenceSolver": True,
    }
    tank: dict[str, Any] = {
        "geometryFile": box_file,
        "translation": ((lo + hi) / 2.0).tolist(),
        "scale": (hi - lo).tolist(),
        "rotationAxis": [1.0, 0.0, 0.0],
        "rotationAngle": 0.0,
        "isDynamic": False,
        "isWall": True,
        "samplingMode": 1,  # regular triangle sampling: deterministic
        "mapInvert": True,
    }
    if boundary == "volume_maps":
        tank["mapThickness"] = 0.0
        tank["mapResolution"] = [int(math.ceil(v / (VOLUME_MAP_CELL * r))) for v in hi - lo]
    return {
        "Configuration": {
            "particleRadius": r,
            "simulationMethod": 4,  # DFSPH
            "boundaryHandlingMethod": PEER_BOUNDARIES[boundary],
            "gravitation": [0.0, -GRAVITY, 0.0],
            "timeStepSize": max_dt,
            "cflMethod": 1,
            "cflFactor": cfl_factor,
            "cflMaxTimeStepSize": max_dt,
            "enableZSort": True,
            **dfsph,  # read flat by some SPlisHSPlasH versions, nested by others
            "DFSPH": dict(dfsph),
        },
        "Materials": [material],
        "RigidBodies": [tank],
        "FluidBlocks": [{"id": "Fluid", "denseMode": 0, "start": start, "end": end}],
    }


def write_unit_box_obj(path: Path) -> None:
    """Write a unit cube (Wavefront OBJ) centred at the origin."""
    lines = ["# unit box, centred at the origin"]
    lines += [f"v {x} {y} {z}" for x, y, z in _UNIT_BOX_VERTICES]
    lines += [f"f {i} {j} {k}" for i, j, k in _UNIT_BOX_FACES]
    path.write_text("\n".join(lines) + "\n")


def run_peer_dambreak(
    a: float = MARTIN_MOYCE_A,
    particle_radius: float | None = None,
    t_end: float | None = None,
    density_tol: float = 0.0005,
    divergence_tol: float = 0.001,
    max_dt: float = 0.005,
    timeout_s: float = 1800.0,
    threads: int = 2,
    cfl_factor: float = 0.5,
    viscosity: float = 0.0,
    wall_gap: float = 3.0,
    work_dir: str | os.PathLike | None = None,
    boundary: str = "particles",
) -> PeerResult | None:
    """Run the dam break in SPlisHSPlasH's DFSPH (subprocess) and return its surge front.

    Args:
        a: column width (m).
        particle_radius: r (m); default a / 50 (~31 k particles).
        t_end: simulated time (s); default T = 3, i.e. 3 * sqrt(a / (2 g)).
        density_tol, divergence_tol: DFSPH tolerances as fractions.
        max_dt: CFL step cap (s).
        timeout_s: wall-clock limit for the whole subprocess (s).
        threads: OpenMP threads of the peer.
        cfl_factor, viscosity, wall_gap: see `build_dambreak_scene`.
        work_dir: keep the scene, SPlisHSPlasH's log and the raw result here; default a
            temporary folder that is removed afterwards.
        boundary: the tank's walls, ``particles`` (Akinci 2012) or ``volume_maps``.

    Returns:
        The result, or None (logged) when pysplishsplash is not installed.

    Raises:
        PourbenchError: the peer crashed, timed out or produced a different particle count.
    """
    if not peer_available():
        log.warning("SPlisHSPlasH peer skipped: %s is not installed (extra 'peers')", PEER_MODULE)
        return None
    r = a / 50.0 if particle_radius is None else particle_radius
    t_end = 3.0 * math.sqrt(a / (2.0 * GRAVITY)) if t_end is None else t_end
    if threads < 1 or t_end <= 0 or timeout_s <= 0:
        raise PourbenchError(
            f"threads >= 1, t_end > 0 and timeout_s > 0 needed "
            f"(got threads={threads}, t_end={t_end}, timeout_s={timeout_s})"
        )
    scene = build_dambreak_scene(
        a, r, density_tol, divergence_tol, max_dt, cfl_factor, viscosity, wall_gap,
        boundary=boundary,
    )
    settings = {
        "a": a,
        "particle_radius": r,
        "t_end": t_end,
        "threads": threads,
        "lattice": list(lattice_counts(a, r)),
        "wall_gap_r": wall_gap,
        "boundary": BOUNDARY_NAMES[boundary],
        "viscosity": viscosity,
        "cfl_factor": cfl_factor,
        "max_dt": max_dt,
        "density_tol": density_tol,
        "divergence_tol": divergence_tol,
    }
    if work_dir is not None:
        return _run_in(Path(work_dir), scene, settings, timeout_s)
    with tempfile.TemporaryDirectory(prefix="pourbench_peer_") as tmp:
        return _run_in(Path(tmp), scene, settings, timeout_s)


def _run_in(
    folder: Path, scene: dict[str, Any], settings: dict[str, Any], timeout_s: float
) -> PeerResult:
    """Write the scene into `folder`, run the worker there and collect its result."""
    r, t_end, threads = settings["particle_radius"], settings["t_end"], settings["threads"]
    folder.mkdir(parents=True, exist_ok=True)
    write_unit_box_obj(folder / scene["RigidBodies"][0]["geometryFile"])
    scene_file = folder / "scene.json"
    scene_file.write_text(json.dumps(scene, indent=1))
    tank = scene["RigidBodies"][0]
    centre, size = np.asarray(tank["translation"]), np.asarray(tank["scale"])
    tank_min, tank_max = (centre - size / 2).tolist(), (centre + size / 2).tolist()
    request = {
        "tank_min": tank_min,
        "tank_max": tank_max,
        "scene_file": str(scene_file),
        "output_dir": str(folder / "splishsplash_out"),
        "t_end": t_end,
        "dfsph": scene["Configuration"]["DFSPH"],
        "cfl": {
            "factor": scene["Configuration"]["cflFactor"],
            "max_dt": scene["Configuration"]["cflMaxTimeStepSize"],
        },
    }
    request_file, result_file, log_file = (
        folder / "request.json",
        folder / "result.json",
        folder / "worker.log",
    )
    request_file.write_text(json.dumps(request, indent=1))
    result_file.unlink(missing_ok=True)

    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    gldispatch = find_system_gldispatch()
    if gldispatch:
        env["LD_PRELOAD"] = " ".join(p for p in (gldispatch, env.get("LD_PRELOAD")) if p)
    else:
        log.warning("system libGLdispatch.so.0 not found; running pysplishsplash without it")
    cmd = [sys.executable, "-m", WORKER_MODULE, str(request_file), str(result_file)]
    log.info("SPlisHSPlasH peer: r=%.5g m, t_end=%.4g s, %d threads", r, t_end, threads)
    started = time.perf_counter()
    with open(log_file, "w") as out:
        try:
            proc = subprocess.run(
                cmd, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout_s
            )
        except subprocess.TimeoutExpired as e:
            raise PourbenchError(
                f"SPlisHSPlasH peer timed out after {timeout_s:.0f} s (r={r:.5g} m)"
            ) from e
    if proc.returncode != 0 or not result_file.exists():
        tail = _tail(log_file)
        raise PourbenchError(
            f"SPlisHSPlasH peer failed (exit code {proc.returncode}); last output: {tail}"
        )
    raw = json.loads(result_file.read_text())
    expected = int(np.prod(settings["lattice"]))
    if raw["num_particles"] != expected:
        raise PourbenchError(
            f"SPlisHSPlasH made {raw['num_particles']} fluid particles, "
            f"expected {expected} (lattice {settings['lattice']})"
        )
    log.info("SPlisHSPlasH peer done in %.1f s", time.perf_counter() - started)
    if raw["read_back"]["escaped_particles_end"]:
        log.warning(
            "SPlisHSPlasH run is unstable: %d particles left the tank (peak speed %.3g m/s)",
            raw["read_back"]["escaped_particles_end"],
            raw["read_back"]["max_speed_peak"],
        )
    settings = {
        **settings,
        "tank_min": tank_min,
        "tank_max": tank_max,
        "setup_s": raw["setup_s"],
        "timed_steps": raw["steps"] - 1,
        **raw["read_back"],
    }
    return _to_result(raw, settings)


def _tail(path: Path, lines: int = 6) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) or "(empty log)"


def _to_result(raw: dict[str, Any], settings: dict[str, Any]) -> PeerResult:
    """Dimensionless front curve and speed figures from the worker's raw output."""
    a = settings["a"]
    time_scale = math.sqrt(2.0 * GRAVITY / a)
    wall_s = float(raw["wall_s"])
    timed_steps = raw["steps"] - 1
    rate = raw["num_particles"] * timed_steps / wall_s if wall_s > 0 else float("nan")
    return PeerResult(
        T=np.asarray(raw["t"], dtype=np.float64) * time_scale,
        Z=np.asarray(raw["front"], dtype=np.float64) / a,
        Z_p995=np.asarray(raw["front_p995"], dtype=np.float64) / a,
        num_particles=int(raw["num_particles"]),
        steps=int(raw["steps"]),
        wall_s=wall_s,
        particle_steps_per_s=rate,
        version=peer_version() or "unknown",
        settings=settings,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the peer once and print its figures (and save them as JSON with --out)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", type=float, default=MARTIN_MOYCE_A)
    parser.add_argument("--radius-div", type=float, default=50.0, help="r = a / this")
    parser.add_argument("--T-end", type=float, default=3.0, help="end time, dimensionless")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout-s", type=float, default=1800.0)
    parser.add_argument("--wall-gap", type=float, default=3.0, help="in r")
    parser.add_argument("--viscosity", type=float, default=0.0)
    parser.add_argument("--boundary", default="particles", choices=list(PEER_BOUNDARIES))
    parser.add_argument("--reference", type=Path, default=None, help="Martin & Moyce CSV")
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="write the result as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    t_end = args.T_end * math.sqrt(args.a / (2.0 * GRAVITY))
    result = run_peer_dambreak(
        a=args.a,
        particle_radius=args.a / args.radius_div,
        t_end=t_end,
        timeout_s=args.timeout_s,
        threads=args.threads,
        viscosity=args.viscosity,
        wall_gap=args.wall_gap,
        work_dir=args.work_dir,
        boundary=args.boundary,
    )
    if result is None:
        print("pysplishsplash is not installed")
        return 1
    summary = {
        "num_particles": result.num_particles,
        "steps": result.steps,
        "wall_s": round(result.wall_s, 3),
        "particle_steps_per_s": round(result.particle_steps_per_s),
        "Z_end": round(float(result.Z[-1]), 4),
        "version": result.version,
    }
    if args.reference is not None:
        from pourbench.sim.validation import front_rms_error

        for key, curve in (("rms_rel_error", result.Z), ("rms_rel_error_p995", result.Z_p995)):
            try:
                summary[key] = round(front_rms_error(result.T, curve, args.reference), 4)
            except ValueError as e:
                summary[key] = f"n/a: {e}"
    print(json.dumps(summary))
    if args.out is not None:
        from pourbench.core.atomic import write_text_atomic

        payload = asdict(result)
        for key in ("T", "Z", "Z_p995"):
            payload[key] = payload[key].tolist()
        write_text_atomic(args.out, json.dumps({"summary": summary, "result": payload}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
