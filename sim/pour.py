"""A pour, end to end: scene from a Scenario, settle, simulate, write a ParticleTrack.

Stages (one log line each): build containers and boundary samples, seed the source,
relax and settle with the containers still, simulate the pour frame by frame, write the track.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pourbench.sim.boundary import (
    akinci_volumes,
    sample_mesh_surface,
    sample_profile_surface,
)
from pourbench.sim.containers import ContainerGeometry, build_container, fill_lattice, sample_sdf
from pourbench.sim.errors import SimulationUnstable
from pourbench.sim.motion import motion_end_s, tilting_pose, translation
from pourbench.sim.rest import RestDetector
from pourbench.sim.scenario import Scenario

logger = logging.getLogger(__name__)

TABLE_Y = 0.0  # the table is the solid y < TABLE_Y (a plane wall, see ``wall_profile``)
FLOOR_SAFETY = 1.0  # safety net: no centre deeper than this many radii below the table top
DOMAIN_MARGIN = 0.3  # m of table around the containers' swept volume
SETTLE_DAMPING = 30.0  # 1/s: velocity decay while the water settles (before the clock starts)
LEAK_FRACTION_UNSTABLE = 0.01  # wall corrections in one step above this fraction: unstable


@dataclass
class SimResult:
    """What :func:`simulate_pour` wrote."""

    path: Path
    num_particles: int
    num_frames: int
    stats: dict = field(default_factory=dict)


@dataclass
class PourScene:
    """Containers, their poses and boundary samples, the seeded fluid and the domain."""

    source: ContainerGeometry
    target: ContainerGeometry
    source_pose: object  # t -> (4, 4)
    target_pose: np.ndarray  # (4, 4)
    fluid: np.ndarray  # (N, 3) world positions at t = 0
    bodies: list  # list[RigidBody]
    grid_lo: np.ndarray
    grid_hi: np.ndarray


def _samples(geom: ContainerGeometry, spacing: float, seed: int) -> np.ndarray:
    if geom.profile is not None:
        return sample_profile_surface(geom.profile, spacing)
    import trimesh

    return sample_mesh_surface(trimesh.Trimesh(geom.vertices, geom.faces), spacing, seed)


def _world_bounds(geom: ContainerGeometry, poses: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    v = np.concatenate([geom.vertices, np.ones((len(geom.vertices), 1))], 1)
    pts = np.concatenate([(P @ v.T).T[:, :3] for P in poses])
    return pts.min(0), pts.max(0)


def build_scene(scenario: Scenario) -> PourScene:
    """Geometry, placement, boundary particles and seeded fluid of a pour."""
    from pourbench.sim.bodies import RigidBody, constant_pose

    r = scenario.particle_radius
    h = 4 * r
    s = scenario.solver
    spacing = s.boundary_spacing * 2 * r
    src = build_container(scenario.source, r)
    tgt = build_container(scenario.target, r)
    pl = scenario.placement
    base = np.array([pl.lip_offset - src.lip[0], tgt.rim_height + pl.clearance, pl.lateral_offset])
    source_pose = tilting_pose(scenario.motion, base, src.lip)
    target_pose = np.eye(4)
    times = np.linspace(0.0, scenario.duration_s, 25)
    lo_s, hi_s = _world_bounds(src, [source_pose(t) for t in times])
    lo_t, hi_t = _world_bounds(tgt, [target_pose])
    lo = np.minimum(lo_s, lo_t) - DOMAIN_MARGIN
    hi = np.maximum(hi_s, hi_t) + DOMAIN_MARGIN
    lo[1] = TABLE_Y - FLOOR_SAFETY * r - h
    hi[1] = max(hi_s[1], hi_t[1]) + 0.05
    bodies = []
    for name, geom, pose, static in (("source", src, source_pose, False),
                                     ("target", tgt, constant_pose(target_pose), True)):
        if s.boundary == "sdf":
            pts = np.zeros((0, 3))
            vols = np.zeros(0)
        else:
            pts = _samples(geom, spacing, scenario.seed)
            vols = akinci_volumes(pts, h, s.kernel)
        bodies.append(RigidBody(name, pts, vols, pose, geom.sdf, static,
                                sdf_wall=s.boundary == "sdf"))
    local = fill_lattice(src, r, scenario.fill_fraction)
    if len(local) == 0:
        from pourbench.core.errors import PourbenchError

        raise PourbenchError(
            f"particle_radius={r} is too coarse to fill the source; use a smaller radius"
        )
    rng = np.random.default_rng(scenario.seed)
    local = local + rng.uniform(-0.05 * r, 0.05 * r, local.shape)
    P0 = source_pose(0.0)
    fluid = (P0[:3, :3] @ local.T).T + P0[:3, 3]
    return PourScene(src, tgt, source_pose, target_pose, fluid, bodies, lo, hi)


def particle_volume_ml(radius: float) -> float:
    """ml of water one particle stands for: a cube of edge 2 r (the solver's rest volume)."""
    return (2.0 * radius) ** 3 * 1e6


def count_volumes(positions: np.ndarray, scene: PourScene, source_pose: np.ndarray,
                  particle_volume_ml: float) -> np.ndarray:
    """(3,) ml of water in the source, in the target and spilled (the rest).

    A particle belongs to a container when it lies inside the container's cavity (convex hull)
    in that container's local frame; the source is checked first.
    """
    def local(P):
        Pi = np.linalg.inv(P)
        return positions @ Pi[:3, :3].T + Pi[:3, 3]

    in_src = scene.source.contains(local(source_pose))
    in_tgt = scene.target.contains(local(scene.target_pose)) & ~in_src
    n_src, n_tgt = int(in_src.sum()), int(in_tgt.sum())
    n_spill = len(positions) - n_src - n_tgt
    return np.array([n_src, n_tgt, n_spill], np.float64) * particle_volume_ml


def particles_in_walls(positions: np.ndarray, scene: PourScene, source_pose: np.ndarray,
                       tol: float = 0.0) -> int:
    """How many particles lie inside any container's wall material (should be 0)."""
    n = 0
    for geom, P in ((scene.source, source_pose), (scene.target, scene.target_pose)):
        Pi = np.linalg.inv(P)
        loc = positions @ Pi[:3, :3].T + Pi[:3, 3]
        n += int((sample_sdf(geom.sdf, loc) < -tol).sum())
    return n


def make_solver(scenario: Scenario, scene: PourScene, dt_scale: float = 1.0):
    """A DFSPH solver over the scene's fluid and bodies (Taichi must be initialised)."""
    from pourbench.sim.bodies import KinematicBodies
    from pourbench.sim.solver import DFSPHSolver

    r = scenario.particle_radius
    s = scenario.solver
    settings = s.model_copy(update={"max_dt": s.max_dt * dt_scale, "cfl": s.cfl * dt_scale})
    lo, hi = scene.grid_lo, scene.grid_hi
    bodies = KinematicBodies(scene.bodies, clamp_lo=(lo[0], -1.0, lo[2]),
                             clamp_hi=(hi[0], hi[1] + 1.0, hi[2]),
                             floor_y=TABLE_Y - FLOOR_SAFETY * r, particle_radius=r,
                             table_y=TABLE_Y, kernel=s.kernel)
    h = 4 * r
    return DFSPHSolver(scene.fluid, r, bodies, lo - 2 * h, hi + 2 * h, settings,
                       kinematic_viscosity=scenario.liquid.kinematic_viscosity)


def rest_detector(scenario: Scenario) -> RestDetector:
    """The scenario's test for water at rest (``solver.rest_drift``, ``rest_window_s``)."""
    s = scenario.solver
    return RestDetector(s.rest_drift * scenario.particle_radius, s.rest_window_s,
                        motion_end_s(scenario.motion))


def settle(solver, seconds: float, damping: float = SETTLE_DAMPING) -> None:
    """Before the clock starts: remove the seeding overlap (``relax``), then let the water
    come to rest in the still containers for ``seconds``, its velocities damped at
    ``damping`` (1/s). Undamped, the loosely seeded lattice falls into place and sloshes,
    and wall jets fling drops far above the cup (at r = 0.9 mm 1.4 m/s at t = 0, 746 steps
    for 0.3 s); those drops then set the pour's CFL step as they fall back. Ends at t = 0."""
    solver.time = -seconds
    solver.relax()
    while solver.time < -1e-9:
        solver.step(dt_cap=-solver.time, damping=damping)
    solver.time = 0.0


def simulate_pour(scenario: Scenario, out_path: str | Path, *, arch: str = "auto",
                  progress: bool = True, dt_scale: float = 1.0,
                  threads: int | None = None) -> SimResult:
    """Simulate one pour and write its particle track to ``out_path`` (HDF5, atomic).

    Args:
        scenario: the pour.
        out_path: track file to write.
        arch: Taichi backend, ``auto`` | ``cpu`` | ``cuda``.
        progress: show a tqdm bar over simulated seconds.
        dt_scale: multiplies the CFL number and the step cap (0.5 after an unstable run).
        threads: CPU threads for Taichi (None: all).

    Raises:
        SimulationUnstable: NaN, runaway speed or leakage; retry with a smaller dt_scale.

    Once the water is at rest for good (``rest_detector``), the remaining frames repeat the
    last one without stepping; ``sim_stats["rest_from_s"]`` says from when (None: never).
    """
    from pourbench.core.track import ContainerMesh, TrackHeader, TrackWriter
    from pourbench.sim.backend import init_taichi

    arch_used = init_taichi(arch, threads)
    t_wall = time.perf_counter()
    out_path = Path(out_path)
    r = scenario.particle_radius
    scene = build_scene(scenario)
    solver = make_solver(scenario, scene, dt_scale)
    n = solver.n
    logger.info("pour scene: %d fluid, %d boundary particles, r=%.4g m", n, solver.bodies.num, r)
    settle(solver, scenario.solver.settle_s)
    settle_steps = solver.stats.steps
    logger.info("settled in %d steps", settle_steps)

    num_frames = int(math.floor(scenario.duration_s * scenario.fps + 1e-9)) + 1
    particle_ml = particle_volume_ml(r)
    volumes = np.zeros((num_frames, 3))
    src_poses = np.zeros((num_frames, 4, 4))
    tgt_poses = np.repeat(scene.target_pose[None], num_frames, axis=0)
    bar = None
    if progress:
        from tqdm import tqdm

        fmt = "{l_bar}{bar}| {n:.2f}/{total:.2f} s [{elapsed}<{remaining}{postfix}]"
        bar = tqdm(total=round(scenario.duration_s, 3), unit="sim s", desc="pour", bar_format=fmt)
    steps0 = solver.stats.steps
    leaks_seen = 0
    rest = rest_detector(scenario)
    pos = None  # the last frame's positions: repeated once the water is at rest
    t_sim = time.perf_counter()
    try:
        with TrackWriter(out_path, num_frames=num_frames, num_particles=n) as writer:
            for f in range(num_frames):
                t_frame = f / scenario.fps
                P = scene.source_pose(t_frame)
                src_poses[f] = P
                if rest.rest_from_s is not None:  # at rest: the frame repeats
                    volumes[f] = volumes[f - 1]
                    writer.write_positions(f, pos)
                    if bar is not None:
                        bar.update(t_frame - bar.n)
                    continue
                while solver.time < t_frame - 1e-7:
                    before = solver.time
                    solver.step(dt_cap=t_frame - solver.time)
                    leaks = solver.bodies.wall_corrections[None]
                    if leaks - leaks_seen > LEAK_FRACTION_UNSTABLE * n:
                        raise SimulationUnstable(
                            f"{leaks - leaks_seen} particles crossed walls in one step at "
                            f"t={solver.time:.3f} s"
                        )
                    leaks_seen = leaks
                    if bar is not None:
                        bar.update(solver.time - before)
                        rate = (solver.stats.steps - steps0) / max(time.perf_counter() - t_sim,
                                                                   1e-9)
                        bar.set_postfix_str(f"{rate:.0f} steps/s", refresh=False)
                pos = solver.positions()
                volumes[f] = count_volumes(pos, scene, P, particle_ml)
                inside = particles_in_walls(pos, scene, P)
                if inside:
                    raise SimulationUnstable(
                        f"{inside} particles inside a container wall at t={t_frame:.3f} s"
                    )
                writer.write_positions(f, pos)
                if rest.update(t_frame, pos):
                    logger.info("water at rest from t=%.2f s: the remaining frames repeat it",
                                t_frame)
                    if bar is not None:
                        bar.set_postfix_str("at rest", refresh=False)
            stats = solver.stats.as_dict(n)
            wall = time.perf_counter() - t_wall
            stats.update(solver.leak_counts())
            stats.update(
                arch=arch_used,
                num_particles=n,
                num_boundary=solver.bodies.num,
                settle_steps=settle_steps,
                leak_corrections=stats["wall_corrections"],
                wall_time_s=wall,
                dt_scale=dt_scale,
                rest_from_s=rest.rest_from_s,
            )
            header = TrackHeader(
                fps=scenario.fps,
                particle_radius=r,
                num_frames=num_frames,
                num_particles=n,
                containers=[
                    ContainerMesh("source", "source", scenario.source.material,
                                  scene.source.vertices, scene.source.faces, src_poses),
                    ContainerMesh("target", "target", scenario.target.material,
                                  scene.target.vertices, scene.target.faces, tgt_poses),
                ],
                volume=volumes.astype(np.float32),
                table_height=TABLE_Y,
                scenario=scenario.model_dump(mode="json"),
                sim_stats=stats,
            )
            writer.finish(header)
    finally:
        if bar is not None:
            bar.close()
    logger.info("pour done: %d frames, %d steps, %.1f s wall, %.3g particle-steps/s",
                num_frames, stats["steps"], stats["wall_time_s"], stats["particle_steps_per_s"])
    return SimResult(path=out_path, num_particles=n, num_frames=num_frames, stats=stats)


__all__ = ["SimResult", "simulate_pour", "build_scene", "count_volumes", "translation"]
