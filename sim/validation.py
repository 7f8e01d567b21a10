"""Physics validation scenes: dam break (Martin & Moyce 1952), hydrostatic tank, free fall.

The dam break uses the geometry shared with the SPlisHSPlasH peer benchmark: a water column
x in [0, a], y in [0, 2a], z in [0, a] in a tank x in [0, 4a], z in [0, a], y from 0 up;
the surge front is the largest x of any fluid particle.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pourbench.sim.scenario import SolverSettings

logger = logging.getLogger(__name__)

MARTIN_MOYCE_A = 0.05715  # m, 2.25 in
REFERENCE_CSV = Path(__file__).parent / "data" / "martin_moyce_1952.csv"  # package data
T_WINDOW = (0.8, 2.8)


@dataclass
class DamBreakResult:
    """Surge front of a dam break.

    Attributes:
        T: (K,) dimensionless time t sqrt(2 g / a).
        Z: (K,) dimensionless front position (max x of fluid) / a.
        particle_steps_per_s: fluid particles x steps / solver wall time.
        num_particles: fluid particles; num_boundary: boundary particles.
    """

    T: np.ndarray
    Z: np.ndarray
    particle_steps_per_s: float
    num_particles: int
    num_boundary: int
    steps: int
    wall_s: float
    mean_iterations: float
    arch: str
    a: float
    particle_radius: float
    stats: dict = field(default_factory=dict)


def column_lattice(lo, counts, spacing: float) -> np.ndarray:
    """Cubic lattice (N, 3) with ``counts`` points per axis, first centre at lo + spacing/2."""
    axes = [lo[k] + spacing * (0.5 + np.arange(counts[k])) for k in range(3)]
    X, Y, Z = np.meshgrid(*axes, indexing="ij")
    return np.stack([X.ravel(), Y.ravel(), Z.ravel()], 1)


WALL_OFFSET = 1.2  # in particle radii: Akinci walls sampled this far outside the tank
SDF_WALL_OFFSET = 0.4  # in particle radii: walls given by signed distance hold a lattice's
# first layer 1.4 r off (``wall_profile``), so this far outside puts it r inside the tank
RELAX_TIME = -1.0  # clock reading while the seeded fluid relaxes behind the gate


def _gate_pose(t: float) -> np.ndarray:
    """The dam's gate: in place before the release (t < 0), far above the tank after."""
    m = np.eye(4)
    if t > 0.5 * RELAX_TIME:
        m[1, 3] = 100.0
    return m


BOUNDARIES = ("particles", "sdf")


def validation_settings(settings: SolverSettings, boundary: str) -> SolverSettings:
    """The validation scenes (dam break, hydrostatic tank) compare against inviscid, metre-
    scale water: surface tension, adhesion and wall drag are off there. Their walls are
    ``boundary``: Akinci particles (``particles``, as SPlisHSPlasH's reference runs) or signed
    distance (``sdf``, as in pours)."""
    if boundary not in BOUNDARIES:
        raise ValueError(f"boundary={boundary!r}; allowed: {', '.join(BOUNDARIES)}")
    return settings.model_copy(update={"surface_tension": 0.0, "adhesion": 0.0,
                                       "wall_friction": 0.0, "boundary": boundary})


def _tank(size, r: float, settings: SolverSettings, fluid_lo, fluid_counts, top: float,
          gate_x: float | None = None):
    """Fluid lattice, bodies and grid box of an open tank [0, size_x] x [0, top] x [0, size_z]
    (optionally with a gate at x = ``gate_x`` that lifts away at t = 0), its walls as the
    solver's ``boundary`` setting says: signed distance (as in pours) or Akinci particles."""
    from pourbench.sim.bodies import KinematicBodies

    h = 4 * r
    if settings.boundary == "sdf":
        o = SDF_WALL_OFFSET * r
        body_list = _sdf_tank_walls(size, r, top, o, gate_x)
        table_y, floor_y = -o, -o - r
    else:
        o = WALL_OFFSET * r
        body_list = _particle_tank_walls(size, r, settings, top, o, gate_x)
        table_y, floor_y = None, 0.0
    bodies = KinematicBodies(
        body_list,
        clamp_lo=(-o, -1.0, -o),
        clamp_hi=(size[0] + o, top + 1.0, size[2] + o),
        floor_y=floor_y,
        particle_radius=r,
        table_y=table_y,
        kernel=settings.kernel,
    )
    fluid = column_lattice(fluid_lo, fluid_counts, 2 * r)
    grid_lo = (-h - o, -h - o, -h - o)
    grid_hi = (size[0] + h + o, top + h, size[2] + h + o)
    return fluid, bodies, grid_lo, grid_hi


def _particle_tank_walls(size, r: float, settings: SolverSettings, top: float, o: float,
                         gate_x: float | None) -> list:
    """Akinci boundary particles on the floor and walls, sampled ``o`` outside the tank."""
    from pourbench.sim.bodies import RigidBody, constant_pose
    from pourbench.sim.boundary import akinci_volumes, open_box, sample_plane

    h = 4 * r
    spacing = settings.boundary_spacing * 2 * r
    walls = open_box(np.array([-o, -o, -o]), np.array([size[0] + o, top, size[2] + o]), spacing)
    vols = akinci_volumes(walls, h, settings.kernel)
    body_list = [RigidBody("tank", walls, vols, constant_pose(np.eye(4)), static=True)]
    if gate_x is not None:
        g = sample_plane((0.0, 0.0), (top, size[2]), spacing)
        gate = np.stack([np.full(len(g), gate_x + o), g[:, 0], g[:, 1]], 1)
        body_list.append(RigidBody("gate", gate, akinci_volumes(gate, h, settings.kernel),
                                   _gate_pose, static=True))
    return body_list


def _plane_wall(name: str, axis: int, side: int, at: float, lo, hi, r: float,
                pose=None):
    """A flat wall given by signed distance: the solid is where side * (x[axis] - at) < 0.
    Its grid is a slab from 4 r inside the solid to 10 r into the fluid (the walls act within
    3.2 r), spanning [lo, hi] on the other axes; a plane's distance is linear, so a grid of
    pitch r interpolates it exactly."""
    from pourbench.sim.bodies import RigidBody, constant_pose
    from pourbench.sim.containers import SdfGrid, grid_axes

    pitch = r
    lo = np.asarray(lo, float).copy()
    hi = np.asarray(hi, float).copy()
    ends = (at - side * 4 * r, at + side * 10 * r)
    lo[axis], hi[axis] = min(ends), max(ends)
    grid = np.meshgrid(*grid_axes(lo, hi, pitch), indexing="ij")
    values = (side * (grid[axis] - at)).astype(np.float32)
    sdf = SdfGrid(origin=lo, pitch=pitch, values=values)
    return RigidBody(name, np.zeros((0, 3)), np.zeros(0), pose or constant_pose(np.eye(4)),
                     sdf=sdf, static=True, sdf_wall=True)


def _sdf_tank_walls(size, r: float, top: float, o: float, gate_x: float | None) -> list:
    """The tank's four side walls (and the gate) as planes given by signed distance, ``o``
    outside the tank; the floor is the solver's table plane. Walls meet as planes sampled
    with Akinci particles would: each adds its own share near a corner."""
    lo = (-o - 4 * r, -o - 4 * r, -o - 4 * r)
    hi = (size[0] + o + 4 * r, top, size[2] + o + 4 * r)
    walls = [_plane_wall("wall x-", 0, 1, -o, lo, hi, r),
             _plane_wall("wall x+", 0, -1, size[0] + o, lo, hi, r),
             _plane_wall("wall z-", 2, 1, -o, lo, hi, r),
             _plane_wall("wall z+", 2, -1, size[2] + o, lo, hi, r)]
    if gate_x is not None:
        walls.append(_plane_wall("gate", 0, -1, gate_x + o, lo, hi, r, pose=_gate_pose))
    return walls


def _dam_break_solver(a: float, r: float, settings: SolverSettings,
                      grid_pad: tuple[float, float] = (0.0, 0.0), boundary: str = "particles"):
    """A relaxed dam-break solver at t = 0 (column a x 2a x a behind a gate, tank 4a long);
    ``grid_pad`` widens the neighbour grid's box below and above, m."""
    from pourbench.sim.solver import DFSPHSolver

    n = max(2, int(round(a / (2 * r))))
    settings = validation_settings(settings, boundary)
    fluid, bodies, lo, hi = _tank((4 * a, 0, a), r, settings, (0.0, 0.0, 0.0), (n, 2 * n, n),
                                  top=3 * a, gate_x=n * 2 * r)
    lo = np.asarray(lo) - grid_pad[0]
    hi = np.asarray(hi) + grid_pad[1]
    solver = DFSPHSolver(fluid, r, bodies, lo, hi, settings)
    solver.time = RELAX_TIME
    solver.relax()
    solver.time = 0.0
    return solver, bodies


def dam_break(
    a: float = MARTIN_MOYCE_A,
    particle_radius: float | None = None,
    t_end: float | None = None,
    arch: str = "auto",
    settings: SolverSettings | None = None,
    threads: int | None = None,
    boundary: str = "particles",
) -> DamBreakResult:
    """Collapse of a water column a wide, 2a high, a deep in a tank 4a long (Martin & Moyce).

    Args:
        a: column width, m.
        particle_radius: r, m (default a / 20); the column holds round(a / 2r) particles
            across.
        t_end: simulated time, s (default: T = 3.0).
        arch: Taichi backend (``auto``, ``cpu``, ``cuda``).
        settings: solver settings (defaults: SolverSettings()); surface forces are off and
            the walls are ``boundary``'s, whatever ``settings.boundary`` says.
        boundary: the tank's and gate's walls: ``particles`` (Akinci, as the peer's) or
            ``sdf`` (signed distance, as in pours; the floor is the table plane).
    """
    from pourbench.sim.backend import init_taichi
    from pourbench.sim.solver import GRAVITY

    arch_used = init_taichi(arch, threads)
    r = float(particle_radius or a / 20)
    t_scale = math.sqrt(2 * GRAVITY / a)
    t_end = float(t_end if t_end is not None else 3.0 / t_scale)
    solver, bodies = _dam_break_solver(a, r, settings or SolverSettings(), boundary=boundary)
    fluid = solver.positions()
    ts, fronts = [0.0], [float(fluid[:, 0].max())]
    t0 = time.perf_counter()
    while solver.time < t_end - 1e-9:
        solver.step(dt_cap=t_end - solver.time)
        ts.append(solver.time)
        fronts.append(float(solver.x.to_numpy()[:, 0].max()))
    wall = time.perf_counter() - t0
    st = solver.stats.as_dict(solver.n)
    st.update(solver.leak_counts())
    logger.info("dam break r=%.4g N=%d steps=%d %.1f s", r, solver.n, st["steps"], wall)
    return DamBreakResult(
        T=np.array(ts) * t_scale,
        Z=np.array(fronts) / a,
        particle_steps_per_s=st["particle_steps_per_s"],
        num_particles=solver.n,
        num_boundary=bodies.num,
        steps=st["steps"],
        wall_s=wall,
        mean_iterations=st["mean_iterations"],
        arch=arch_used,
        a=a,
        particle_radius=r,
        stats=st,
    )


def _dam_break_positions(a: float, particle_radius: float, t_end: float,
                         arch: str = "cpu",
                         grid_pad: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Fluid positions (N, 3), stable id order, after a dam break of t_end seconds (for
    determinism checks; ``grid_pad`` as in ``_dam_break_solver``)."""
    from pourbench.sim.backend import init_taichi

    init_taichi(arch)
    solver, _ = _dam_break_solver(a, particle_radius, SolverSettings(), grid_pad)
    while solver.time < t_end - 1e-9:
        solver.step(dt_cap=t_end - solver.time)
    return solver.positions()


def read_reference(reference_csv: str | Path = REFERENCE_CSV) -> tuple[np.ndarray, np.ndarray]:
    """(T, Z) columns of the Martin & Moyce table (comment lines start with #)."""
    lines = [ln.strip() for ln in Path(reference_csv).read_text().splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    cols = [c.strip() for c in lines[0].split(",")]
    rows = np.array([[float(c) for c in ln.split(",")] for ln in lines[1:]])
    return rows[:, cols.index("T")], rows[:, cols.index("Z")]


def front_rms_error(T: np.ndarray, Z: np.ndarray, reference_csv: str | Path = REFERENCE_CSV,
                    window: tuple[float, float] = T_WINDOW) -> float:
    """RMS of (Z_sim - Z_exp) / Z_exp at the experiment's times T in ``window``."""
    Tr, Zr = read_reference(reference_csv)
    sel = (Tr >= window[0]) & (Tr <= window[1])
    if T.max() < Tr[sel].max():
        raise ValueError(f"simulated front ends at T={T.max():.2f} < {Tr[sel].max():.2f}")
    Zs = np.interp(Tr[sel], T, Z)
    return float(np.sqrt(np.mean(((Zs - Zr[sel]) / Zr[sel]) ** 2)))


def front_rms_difference(T1, Z1, T2, Z2, window: tuple[float, float] = T_WINDOW) -> float:
    """RMS relative difference of front 1 from front 2 on 41 points of T in ``window``."""
    Tg = np.linspace(window[0], window[1], 41)
    z1 = np.interp(Tg, T1, Z1)
    z2 = np.interp(Tg, T2, Z2)
    return float(np.sqrt(np.mean(((z1 - z2) / z2) ** 2)))


@dataclass
class HydrostaticResult:
    """A tank at rest: particle heights (N,) m, pressures (N,) Pa, speeds (N,) m/s."""

    y: np.ndarray
    x: np.ndarray
    pressure: np.ndarray
    speed: np.ndarray
    water_height: float
    max_speed_history: np.ndarray
    mean_density_error: float
    size: tuple
    readouts: list = field(default_factory=list)  # (t, x (N, 3), pressure (N,)) on the way
    particle_radius: float = 0.005
    rest_iterations: float = 0.0  # density iterations a step over the run's second half


@dataclass
class HydrostaticFits:
    """Linear fits of an interior particle's pressure against its height, averaged over the
    read-outs: ``slope`` of -dp/dy in units of rho g; ``weight_ratio``, the slope against that
    of the weight of the particles above per floor area (the sharper check: the settled fluid
    packs ~2 % more particles per volume than 1 / (2r)^3); ``surface_offset``, m, the largest
    gap between a fit's p = 0 height and the water's top."""

    slope: float
    weight_ratio: float
    surface_offset: float


def hydrostatic_fits(res: HydrostaticResult, rest_density: float = 1000.0,
                     gravity: float = 9.81) -> HydrostaticFits:
    """Fit every read-out of ``res`` (and its final state) over the particles at least 3 r
    from the floor and side walls and 4 r below the top."""
    r = res.particle_radius
    sx, _, sz = res.size
    slopes, weight_ratios, surfaces = [], [], []
    for _, x, pressure in [*res.readouts, (None, res.x, res.pressure)]:
        h = x[:, 1]
        interior = ((h > 3 * r) & (h < h.max() - 4 * r) & (x[:, 0] > 3 * r)
                    & (x[:, 0] < sx - 3 * r) & (x[:, 2] > 3 * r) & (x[:, 2] < sz - 3 * r))
        y, p = h[interior], pressure[interior]
        slope, intercept = np.polyfit(y, p, 1)
        slopes.append(-slope / (rest_density * gravity))
        surfaces.append(abs(intercept / -slope - (h.max() + r)))
        above = len(h) - np.searchsorted(np.sort(h), y, side="right")
        weight = rest_density * (2 * r) ** 3 * gravity * above / (sx * sz)
        weight_ratios.append(slope / np.polyfit(y, weight, 1)[0])
    return HydrostaticFits(float(np.mean(slopes)), float(np.mean(weight_ratios)),
                           float(np.max(surfaces)))


def hydrostatic_tank(particle_radius: float = 0.005, counts=(10, 20, 10), t_end: float = 1.5,
                     arch: str = "auto", settings: SolverSettings | None = None,
                     rest_density: float = 1000.0,
                     readout_times: tuple = (), jitter: float = 0.0,
                     seed: int = 0, boundary: str = "particles") -> HydrostaticResult:
    """A column of water that fills a tank's floor, left to come to rest; positions and
    pressures are also read out at ``readout_times`` (s; the residual slosh makes any one
    read-out's pressure fit wander by a few per cent). ``jitter`` (m) moves each starting
    particle by a seeded uniform offset of at most that much: another arrangement at rest.
    ``boundary``: the tank's walls, as in :func:`dam_break`."""
    from pourbench.sim.backend import init_taichi
    from pourbench.sim.solver import DFSPHSolver

    init_taichi(arch)
    r = particle_radius
    settings = validation_settings(settings or SolverSettings(), boundary)
    size = (counts[0] * 2 * r, counts[1] * 2 * r, counts[2] * 2 * r)
    fluid, bodies, lo, hi = _tank(size, r, settings, (0.0, 0.0, 0.0), counts,
                                  top=size[1] * 1.5)
    if jitter > 0.0:
        fluid = fluid + np.random.default_rng(seed).uniform(-jitter, jitter, fluid.shape)
    solver = DFSPHSolver(fluid, r, bodies, lo, hi, settings)
    solver.relax()
    speeds, readouts = [], []
    half = None  # (steps, density iterations) at t_end / 2
    for t_stop in [*sorted(t for t in readout_times if t < t_end), t_end]:
        while solver.time < t_stop - 1e-9:
            solver.step(dt_cap=t_stop - solver.time)
            speeds.append(float(np.linalg.norm(solver.v.to_numpy(), axis=1).max()))
            if half is None and solver.time >= 0.5 * t_end:
                half = (solver.stats.steps, solver.stats.density_iterations)
        if t_stop < t_end:
            readouts.append((solver.time, solver.positions(), solver.pressures(rest_density)))
    x = solver.positions()
    # pressure: the solver's running time average over the last ~0.1 s (one step's stiffness
    # also holds the zero-mean density-error correction, which grows as 1 / dt^2)
    err = solver.stats.max_density_error
    h_steps, h_iterations = half or (0, 0)
    return HydrostaticResult(
        y=x[:, 1], x=x, pressure=solver.pressures(rest_density),
        speed=np.linalg.norm(solver.velocities(), axis=1), water_height=size[1],
        max_speed_history=np.array(speeds), mean_density_error=err, size=size,
        readouts=readouts, particle_radius=r,
        rest_iterations=(solver.stats.density_iterations - h_iterations)
        / max(solver.stats.steps - h_steps, 1),
    )


def free_fall(t_end: float = 0.5, max_dt: float = 1e-3, arch: str = "auto") -> tuple:
    """One particle, no boundaries: returns (drop, m; vertical velocity, m/s) after t_end."""
    from pourbench.sim.backend import init_taichi
    from pourbench.sim.bodies import KinematicBodies
    from pourbench.sim.solver import DFSPHSolver

    init_taichi(arch)
    r = 0.01
    bodies = KinematicBodies([], clamp_lo=(-10, -10, -10), clamp_hi=(10, 10, 10), floor_y=None,
                             particle_radius=r)
    settings = SolverSettings(max_dt=max_dt, speed_limit=100.0)
    solver = DFSPHSolver(np.array([[0.0, 2.0, 0.0]]), r, bodies, (-0.5, -1.0, -0.5),
                         (0.5, 2.5, 0.5), settings)
    while solver.time < t_end - 1e-9:
        solver.step(dt_cap=t_end - solver.time)
    p = solver.positions()[0]
    return 2.0 - float(p[1]), float(solver.velocities()[0, 1]), solver.time
