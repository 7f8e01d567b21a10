"""DFSPH: divergence-free SPH (Bender & Koschier 2015, "Divergence-free smoothed particle
hydrodynamics"; 2017, "Divergence-free SPH for incompressible and viscous fluids", [BK17]).

Densities are normalised by the rest density (rho_hat = rho / rho0 = sum_j V_j W_ij, fluid
volume V = (2 r)^3); boundaries are Akinci et al. 2012 particles with volumes V_b. The
pressure "stiffness" kappa_i (m^2/s^2, i.e. p_i / rho0) of each solver is accumulated over
its iterations and reused as the warm start of the next step.

Pressure read-out: the kappa a step applies is the impulse of that one step. Besides the part
that balances gravity it holds the correction of the density error left by earlier steps,
(rho_hat - 1) alpha / dt^2, which has zero mean at rest but grows as 1 / dt^2; at dt = 1 ms the
slope of one step's kappa over depth swings between 0.5 and 2.4 rho0 g. The pressure is
therefore reported as a running time average of the per-step stiffness (``pressures``).
"""


import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np
import taichi as ti
from taichi.lang.util import to_numpy_type

from pourbench.sim.bodies import KinematicBodies
from pourbench.sim.containers import OFF_GRID
from pourbench.sim.errors import SimulationUnstable
from pourbench.sim.grid import NeighbourSearch
from pourbench.sim.kernels import (
    cubic_gradient_scale,
    cubic_kernel,
    wendland_gradient_scale,
    wendland_kernel,
)
from pourbench.sim.scenario import SolverSettings

logger = logging.getLogger(__name__)

GRAVITY = 9.81
REST_DENSITY = 1000.0  # kg/m^3; densities are normalised, this scales the surface forces
PRESSURE_AVERAGE_S = 0.1  # time constant of the pressure read-out's running average, s
MIN_NEIGHBOURS_DIVERGENCE = 20  # too few neighbours: divergence unreliable (free surface)
FULL_NEIGHBOURS = 26  # neighbours of a lattice particle (spacing 2r) within the support 4r: a
# wall given by signed distance counts as its density share f (1 on its sample layer) of them
FEW_NEIGHBOURS = 10  # a drop or spray: no warm start (``_warm_start``); ``drop_cfl``
PRESSURE_RELAXATION = 0.5  # Jacobi weight of the two-sided density iterations (IISPH's omega)
XSPH_REFERENCE_CFL = 0.4  # ``xsph`` smooths this much per step of up to this CFL step
HYDROSTATIC_CFL = 0.9  # dt <= this * 2 r / sqrt(max p / rho0) (``cfl_time_step``)
IMPACT_SPEED = 0.3  # m/s: closing speed on a neighbour or wall above which a particle may
# rebound from an over-corrected impact (``pressure_clamp = "pressure"``: two-sided iterations)
ERROR_SCALE = 2.0 ** 24  # errors are summed as integers of 2^-24: exact, so in any order
ERROR_CAP = 1000.0  # per particle (and NaN): keeps a blown-up step's integer sum from overflowing


def chebyshev_weights(radius: float):
    """Weights of the Chebyshev semi-iterative method for a Jacobi iteration whose spectral
    radius is ``radius`` (Golub & Varga 1961; Wang 2015 for position-based dynamics): 1, then
    2 / (2 - rho^2), then each next one 4 / (4 - rho^2 w); they fall towards 2 / (1 +
    sqrt(1 - rho^2)) (1.20 at rho = 0.75). Radius 0: all 1 (plain Jacobi)."""
    rho2 = float(radius) ** 2
    w = 1.0
    yield w
    w = 2.0 / (2.0 - rho2)
    while True:
        yield w
        w = 4.0 / (4.0 - rho2 * w)


@dataclass
class StepStats:
    """Running totals over all steps of one solver."""

    steps: int = 0
    density_iterations: int = 0
    divergence_iterations: int = 0
    max_density_error: float = 0.0
    max_divergence_error: float = 0.0
    neighbour_overflow: int = 0
    solve_seconds: float = 0.0
    last_dt: float = 0.0
    history: list = field(default_factory=list)

    def as_dict(self, num_fluid: int) -> dict:
        n = max(self.steps, 1)
        return {
            "steps": self.steps,
            "mean_density_iterations": self.density_iterations / n,
            "mean_divergence_iterations": self.divergence_iterations / n,
            "mean_iterations": (self.density_iterations + self.divergence_iterations) / n,
            "max_density_error": self.max_density_error,
            "max_divergence_error": self.max_divergence_error,
            "neighbour_overflow": self.neighbour_overflow,
            "solve_seconds": self.solve_seconds,
            "particle_steps_per_s": num_fluid * self.steps / max(self.solve_seconds, 1e-9),
        }


@ti.data_oriented
class DFSPHSolver:
    """DFSPH for one fluid phase against kinematic boundaries.

    Args:
        positions: (N, 3) initial fluid particle centres, m.
        particle_radius: r, m; kernel support h = 4 r.
        bodies: boundary particles and their poses (may be empty).
        grid_lo, grid_hi: box covered by the neighbour grid, m.
        settings: tolerances, CFL, viscosity, kernel.
        kinematic_viscosity: m^2/s (used by the 'standard' viscosity).
        velocities: optional (N, 3) initial velocities, m/s.
    """

    name = "dfsph"

    def __init__(self, positions: np.ndarray, particle_radius: float, bodies: KinematicBodies,
                 grid_lo, grid_hi, settings: SolverSettings | None = None,
                 kinematic_viscosity: float = 1e-6, velocities: np.ndarray | None = None,
                 gravity: float = GRAVITY):
        self.settings = settings or SolverSettings()
        s = self.settings
        n = len(positions)
        self.n = n
        self.r = float(particle_radius)
        self.h = 4.0 * self.r
        self.V0 = (2.0 * self.r) ** 3
        self.gravity = ti.Vector([0.0, -float(gravity), 0.0])
        self.g = abs(float(gravity))  # m/s^2: the speed a step of free fall adds (CFL)
        self.nu = float(kinematic_viscosity)
        self.bodies = bodies
        self.time = 0.0
        self.stats = StepStats()
        self.grid = NeighbourSearch(grid_lo, grid_hi, self.h, n,
                                    bodies.num if bodies.has_samples else 0)
        # particle state (kept sorted by cell; `ids` are the stable particle ids)
        self.x = ti.Vector.field(3, ti.f32, n)
        self.v = ti.Vector.field(3, ti.f32, n)
        self.ids = ti.field(ti.i32, n)
        self.x_prev = ti.Vector.field(3, ti.f32, n)
        # per-particle solver state [BK17]
        self.density = ti.field(ti.f32, n)  # rho_hat
        self.factor = ti.field(ti.f32, n)  # alpha_i / rho_i^2 in normalised form (eq. 11)
        self.kappa = ti.field(ti.f32, n)  # this iteration's stiffness
        self.kappa_density = ti.field(ti.f32, n)  # accumulated over the step: warm start
        self.kappa_divergence = ti.field(ti.f32, n)
        self.kappa_mean = ti.field(ti.f32, n)  # running time average of the step's stiffness
        self.v_tmp = ti.Vector.field(3, ti.f32, n)
        # V_j grad W_ij = grad_scale[i, k] (x_i - x_j) for i's k-th fluid neighbour j, this step
        self.grad_scale = ti.field(ti.f32, (n, self.grid.max_fluid))
        self.grad_b_sum = ti.Vector.field(3, ti.f32, n)  # sum_b V_b grad W_ib
        self.boundary_flux = ti.field(ti.f32, n)  # sum_b V_b grad W_ib . v_b
        nb = bodies.num_bodies + 1  # the table plane is the last slot
        self.num_walls = nb
        self.wall_grad = ti.Vector.field(3, ti.f32, (n, nb))  # f'(d) n per wall (wall_profile)
        self.wall_f = ti.field(ti.f32, (n, nb))  # f(d) per wall
        # a lower bound of each body's distance at the step's start (the leak check skips a
        # particle that cannot have come within reach; -1: no bound, always checked)
        self.wall_clearance = ti.field(ti.f32, (n, nb))
        self.normal = ti.Vector.field(3, ti.f32, n)  # Akinci 2013 surface normal h sum V grad W
        self.wall_adhesion = ti.Vector.field(3, ti.f32, n)  # sum over walls of g(d) (-n)
        self.impacting = ti.field(ti.i32, n)  # 1: two-sided density iterations this step
        self.err_sum = ti.field(ti.i64, ())  # this iteration's error, in units of 1/ERROR_SCALE
        self.max_bulk_speed = ti.field(ti.f32, ())  # fastest fluid particle of the bulk, m/s
        self.max_drop_speed = ti.field(ti.f32, ())  # ... of the drops in flight
        self.max_speed = ti.field(ti.f32, ())  # ... of all: the larger of the two
        self.max_kappa_mean = ti.field(ti.f32, ())
        self._pressure_speed = 0.0  # sqrt(max p / rho0) of the pressure read-out, m/s
        self.dt_bound = 0.0  # the last step's CFL bound, s, before the cap for a frame ...
        self.dt_limited_by = ""  # ... and which bound it was (a key of cfl_time_step's bounds)
        self.nan_count = ti.field(ti.i32, ())
        self.speed_capped = ti.field(ti.i32, ())
        self.x.from_numpy(np.asarray(positions, np.float32))
        vel = np.zeros((n, 3)) if velocities is None else velocities
        self.v.from_numpy(np.asarray(vel, np.float32))
        self.ids.from_numpy(np.arange(n, dtype=np.int32))
        self._prev_dt = 0.0
        self._divergence_dt = 0.0  # the step the last divergence solve applied its kappa over
        self._kappa_mean_weight = 0.0  # sum of the running average's weights (bias correction)
        # warm starts ([BK17] sec. 4.3) reuse a fraction of the last step's kappa: the full
        # value ratchets up (densities are clamped at rho0, so kappa only grows in a step)
        self.warm_density = 0.8
        self.warm_divergence = 0.5
        self.chebyshev = float(s.chebyshev_radius)  # 0: plain Jacobi density iterations
        self.initial_dt = min(s.max_dt, 1e-3)
        self.use_cubic = s.kernel == "cubic"
        self.use_xsph = s.viscosity == "xsph"
        self.xsph = float(s.xsph)
        self.xsph_step = self.xsph  # this step's smoothing (``cfl_time_step``)
        self.gamma = float(s.surface_tension)
        self.beta = float(s.adhesion)
        self.use_tension = self.gamma > 0.0 or self.beta > 0.0
        self.wall_friction = float(s.wall_friction)
        self.clamp_pressure = s.pressure_clamp == "pressure"
        self.drop_cfl = float(s.drop_cfl)  # 0: drops bound the step as the bulk does
        self.has_walls = bodies.has_walls
        self.timers: dict | None = None  # stage -> seconds when profiling (see ``_lap``)
        self._lap_t = 0.0

    # ================================================================= recipe
    def relax(self, steps: int = 40, dt: float = 1e-3) -> None:
        """Remove the initial overlap of a seeded fluid without giving it momentum: solver
        steps whose displacement is capped at 0.2 r and whose velocities are then zeroed.
        Used before the clock starts (behind a gate, or in a container held still)."""
        cap = 0.1 * 2.0 * self.r / dt
        for _ in range(steps):
            self.step(dt_cap=dt, speed_cap=cap, advance_clock=False)
            self.speed_capped[None] = 0
            self.v.fill(0.0)
            self.kappa_density.fill(0.0)
            self.kappa_divergence.fill(0.0)
        self.kappa_mean.fill(0.0)
        self._kappa_mean_weight = 0.0
        self._pressure_speed = 0.0
        self.stats = StepStats()
        self._prev_dt = 0.0

    def _lap(self, stage: str) -> None:
        """Profiling (``self.timers`` is a dict): charge the time since the last lap to
        ``stage``, after waiting for the device (``ti.sync``). A no-op when not profiling."""
        if self.timers is None:
            return
        ti.sync()
        now = time.perf_counter()
        self.timers[stage] = self.timers.get(stage, 0.0) + now - self._lap_t
        self._lap_t = now

    def step(self, dt_cap: float | None = None, speed_cap: float | None = None,
             advance_clock: bool = True, damping: float = 0.0) -> float:
        """Advance one time step (Algorithm 1 of [BK17]); returns the step used, s.

        ``damping`` (1/s, settling only): the velocities are multiplied by exp(-damping dt)
        after the pressure solve (a uniform scale keeps a divergence-free field so)."""
        t0 = time.perf_counter()
        self._lap_t = t0
        s = self.settings
        # 1. Neighbourhood: sort fluid by cell, bin boundary at time t, build lists.
        self.bodies.set_state(self.time)
        self._lap("bodies")
        self.grid.sort_fluid(self.x, self.ids, [self.v, self.kappa_density,
                                                 self.kappa_divergence, self.kappa_mean])
        self.grid.bin_boundary(self.bodies.x, self.bodies.ids)
        self._lap("sort")
        self.grid.build_lists(self.x, self.bodies.x)
        self.stats.neighbour_overflow += int(self.grid.overflow[None])
        self._lap("neighbour_lists")
        # 2. Densities and DFSPH factors alpha_i (eqs. 9, 11); the divergence solve's warm
        # start is applied in the same pass over the neighbours.
        dt = self.stats.last_dt or self.initial_dt
        self._divergence_dt = dt
        self._warm_start(self.kappa_divergence, self.warm_divergence, 0.0, 0.0)
        self.compute_density_and_factor(dt)
        self._lap("density_factor")
        # 3. Divergence-free solver (Algorithm 2): make D rho / Dt = 0 with the current v.
        it_v, err_v = self.divergence_solve(dt)
        self._lap("divergence_solve")
        # 4. CFL time step, bodies' velocities included.
        dt = self.cfl_time_step(dt_cap)
        self._lap("cfl")
        # 5. Non-pressure forces: gravity and viscosity (boundary moving over [t, t+dt]),
        # and the density solve's warm start, in one pass over the neighbours.
        self.bodies.set_interval_velocity(self.time, dt)
        self._lap("bodies")
        self._density_warm_start(dt)
        self.apply_non_pressure_forces(dt, self.xsph_step)
        self._lap("non_pressure")
        # 6. Constant-density solver (Algorithm 3): predicted density error -> 0.
        it_d, err_d = self.density_solve(dt)
        self._average_pressure(dt)
        self._lap("density_solve")
        # 7. Advect positions; 8. safety net: nothing may cross a wall.
        self._cap_speed(min(speed_cap or s.speed_limit, s.speed_limit))
        if damping > 0.0:
            self._scale_velocities(math.exp(-damping * dt))
        self.advect(dt)
        self._lap("advect")
        self.bodies.prepare_leak_check(self.time, self.time + (dt if advance_clock else 0.0))
        self.bodies.correct_leaks(self.x, self.v, self.x_prev, dt, self.wall_clearance)
        self._lap("leak_check")
        if advance_clock:
            self.time += dt
        st = self.stats
        st.steps += 1
        st.density_iterations += it_d
        st.divergence_iterations += it_v
        st.max_density_error = max(st.max_density_error, err_d)
        st.max_divergence_error = max(st.max_divergence_error, err_v)
        st.last_dt = dt
        st.solve_seconds += time.perf_counter() - t0
        return dt

    # ================================================================= stages
    @ti.func
    def kernel_w(self, r):
        w = 0.0
        if ti.static(self.use_cubic):
            w = cubic_kernel(r, self.h)
        else:
            w = wendland_kernel(r, self.h)
        return w

    @ti.func
    def kernel_grad(self, d):
        return self.kernel_grad_scale(d.norm()) * d

    @ti.func
    def kernel_grad_scale(self, r):
        """s(r) with grad W = s(r) d (``kernels.cubic_gradient_scale``)."""
        s = 0.0
        if ti.static(self.use_cubic):
            s = cubic_gradient_scale(r, self.h)
        else:
            s = wendland_gradient_scale(r, self.h)
        return s

    @ti.kernel
    def compute_density_and_factor(self, warm_dt: ti.f32):
        """rho_hat_i = sum_j V_j W_ij + sum_b V_b W_ib; alpha_i from the gradient sums
        ([BK17] eq. 11, in volume form); stores each fluid pair's gradient scalar for the
        step's solver passes (``fluid_grad``). Applies the divergence solve's warm start
        (``kappa``, over ``warm_dt``) and caches its boundary flux in the same pass: a pass
        over the neighbours less."""
        for i in self.x:
            xi = self.x[i]
            rho = self.V0 * self.kernel_w(0.0)
            grad_sum = ti.Vector([0.0, 0.0, 0.0])
            grad_b_sum = ti.Vector([0.0, 0.0, 0.0])
            sq_sum = 0.0
            vi = self.v[i]
            ki = self.kappa[i]
            pressure = ti.Vector([0.0, 0.0, 0.0])  # as ``pressure_acceleration``
            approach = 0.0  # fastest closing speed towards a neighbour or wall, m/s
            # the pair scalars go to a local array first and are copied out after the loop:
            # a store to a field inside it keeps LLVM from vectorising it (it cannot rule
            # out that the store changes x or kappa), and the kernel took 1.6x as long
            scales = ti.Vector.zero(ti.f32, self.grid.max_fluid)
            count = self.grid.fluid_nb_count[i]
            for k in range(count):
                j = self.grid.fluid_nb[i, k]
                d = xi - self.x[j]
                dist = d.norm()
                rho += self.V0 * self.kernel_w(dist)
                scale = self.V0 * self.kernel_grad_scale(dist)
                scales[k] = scale
                g = scale * d
                grad_sum += g
                sq_sum += g.norm_sqr()
                pressure -= (ki + self.kappa[j]) * g
                if ti.static(self.clamp_pressure):
                    approach = ti.max(approach, (self.v[j] - vi).dot(d) / ti.max(dist, 1e-9))
            for k in range(count):
                self.grad_scale[i, k] = scales[k]
            for k in range(self.grid.boundary_nb_count[i]):
                j = self.grid.boundary_nb[i, k]
                d = xi - self.bodies.x[j]
                dist = d.norm()
                vb = self.bodies.volume[j]
                rho += vb * self.kernel_w(dist)
                g = vb * self.kernel_grad(d)
                grad_sum += g
                grad_b_sum += g
                if ti.static(self.clamp_pressure):
                    approach = ti.max(approach, (self.bodies.v[j] - vi).dot(d) / ti.max(dist, 1e-9))
            if ti.static(self.has_walls):
                rw, gw = self._walls(i, xi)
                rho += rw
                grad_sum += gw
                grad_b_sum += gw
                if ti.static(self.clamp_pressure):
                    for b in range(self.num_walls):
                        towards = self.wall_grad[i, b]  # f'(d) n: points into the wall
                        size = towards.norm()
                        if self.wall_f[i, b] > 0.0 and size > 0.0:
                            vw = self._wall_velocity(b, xi)
                            approach = ti.max(approach, (vi - vw).dot(towards) / size)
            if ti.static(self.clamp_pressure):
                self.impacting[i] = ti.select(approach > IMPACT_SPEED, 1, 0)
            self.grad_b_sum[i] = grad_b_sum
            self.density[i] = rho
            denom = grad_sum.norm_sqr() + sq_sum
            self.factor[i] = 1.0 / denom if denom > 1e-6 else 0.0
            pressure -= ki * grad_b_sum
            self._cache_boundary_flux(i)
            self.v_tmp[i] = vi + warm_dt * pressure
        for i in self.x:  # velocities change once all were read (``approach``)
            self.v[i] = self.v_tmp[i]

    @ti.func
    def _walls(self, i, xi):
        """Density and gradient that the walls given by signed distance and the table add
        (``wall_profile``); caches f and f' n per wall for the flux and the viscosity."""
        b_ = self.bodies
        rho = 0.0
        grad = ti.Vector([0.0, 0.0, 0.0])
        adh = ti.Vector([0.0, 0.0, 0.0])
        reach = b_.reach  # m: no wall acts beyond
        for b in range(self.num_walls):
            f = 0.0
            g = ti.Vector([0.0, 0.0, 0.0])
            d = reach
            n = ti.Vector([0.0, 1.0, 0.0])
            clearance = -1.0
            if b == self.num_walls - 1:
                if ti.static(b_.has_table):
                    d = xi[1] - b_.table_y
            elif b_.is_wall[b] != 0:
                d, n = b_.wall_at(b, xi)
                # the smoothed distance never exceeds the exact one; off the body's grid
                # (distance OFF_GRID) there is no bound
                clearance = ti.select(d < OFF_GRID, ti.min(d, reach), -1.0)
            self.wall_clearance[i, b] = clearance
            if d < reach:
                p = b_.profile_at(d)
                f = p[0]
                g = p[1] * n
                adh -= p[2] * n
            self.wall_f[i, b] = f
            self.wall_grad[i, b] = g
            rho += f
            grad += g
        self.wall_adhesion[i] = adh
        return rho, grad

    @ti.func
    def _wall_velocity(self, b, xi):
        """Velocity of wall b at world point xi (the table, the last slot, stands still)."""
        v = ti.Vector([0.0, 0.0, 0.0])
        if b < self.num_walls - 1:
            ph = ti.Vector([xi[0], xi[1], xi[2], 1.0])
            v = (self.bodies.pose_rate[b] @ (self.bodies.inv_pose[b] @ ph)).xyz
        return v

    @ti.func
    def fluid_grad(self, i, k, j):
        """V_j grad W_ij for i's k-th fluid neighbour j: the step's stored scalar (one float a
        pair, ``grad_scale``) times x_i - x_j (in cache). Recomputing the kernel in each of a
        step's 10-40 passes cost more (1.17x the stream's step); a stored (N, 64) table of
        whole gradients (12 B a pair, streamed from memory) cost more still."""
        return self.grad_scale[i, k] * (self.x[i] - self.x[j])

    @ti.func
    def boundary_grad(self, i, j):
        """V_b grad W_ib for boundary particle j."""
        return self.bodies.volume[j] * self.kernel_grad(self.x[i] - self.bodies.x[j])

    @ti.func
    def velocity_divergence(self, i, with_normal: ti.template()):
        """sum_j V_j (v_i - v_j) . grad W_ij over fluid and boundary (= D rho_hat / Dt).
        ``with_normal``: also store i's surface normal (Akinci et al. 2013, eq. 5: n_i =
        h sum_j V_j / rho_hat_j grad W_ij) from the same gradients."""
        vi = self.v[i]
        div = 0.0
        n = ti.Vector([0.0, 0.0, 0.0])
        for k in range(self.grid.fluid_nb_count[i]):
            j = self.grid.fluid_nb[i, k]
            g = self.fluid_grad(i, k, j)
            div += g.dot(vi - self.v[j])
            if ti.static(with_normal):
                n += g / self.density[j]
        if ti.static(with_normal):
            self.normal[i] = self.h * n
        # boundary part: sum_b V_b grad W_ib . (v_i - v_b), with the sums over b cached per step
        div += vi.dot(self.grad_b_sum[i]) - self.boundary_flux[i]
        return div

    @ti.func
    def _cache_boundary_flux(self, i):
        """sum_b V_b grad W_ib . v_b with the boundary velocities of the coming solve (cached by
        the pass before each solve: the density stage, the non-pressure forces)."""
        f = 0.0
        for k in range(self.grid.boundary_nb_count[i]):
            j = self.grid.boundary_nb[i, k]
            f += self.boundary_grad(i, j).dot(self.bodies.v[j])
        if ti.static(self.has_walls):
            for b in range(self.num_walls):
                if self.wall_f[i, b] > 0.0:
                    f += self.wall_grad[i, b].dot(self._wall_velocity(b, self.x[i]))
        self.boundary_flux[i] = f

    @ti.func
    def pressure_acceleration(self, i, kap: ti.template()):
        """-sum_j V_j (k_i + k_j) grad W_ij - sum_b V_b k_i grad W_ib ([BK17] eq. 12)."""
        ki = kap[i]
        a = ti.Vector([0.0, 0.0, 0.0])
        for k in range(self.grid.fluid_nb_count[i]):
            j = self.grid.fluid_nb[i, k]
            a -= (ki + kap[j]) * self.fluid_grad(i, k, j)
        a -= ki * self.grad_b_sum[i]
        return a

    @ti.kernel
    def _apply_pressure(self, kap: ti.template(), dt: ti.f32):
        for i in self.x:
            self.v[i] += dt * self.pressure_acceleration(i, kap)

    @ti.kernel
    def _warm_start(self, total: ti.template(), scale: ti.f32, steady_scale: ti.f32,
                    mean_scale: ti.f32):
        """Start from ``scale`` times last step's stiffness, and ``steady_scale`` times the
        part of it that its running average (``kappa_mean`` times ``mean_scale``) also holds:
        steady pressure (water at rest) is reused almost whole, so the iterations need not
        rebuild it, while an impact's spike above the average is not re-applied at full
        strength (that would fling the water back). Particles with few fluid neighbours
        (drops, spray) start from zero: re-applying the impulse that stopped a drop against a
        wall would fling it back (a lone particle's DFSPH factor is huge), and their solve
        needs no warm start (it converges in an iteration or two)."""
        for i in self.x:
            k = 0.0
            if self.grid.fluid_nb_count[i] >= FEW_NEIGHBOURS:
                steady = ti.max(ti.min(total[i], mean_scale * self.kappa_mean[i]), 0.0)
                k = scale * total[i] + (steady_scale - scale) * steady
            self.kappa[i] = k
            total[i] = k

    @ti.func
    def _add_error(self, err):
        """Add one particle's error (>= 0) to ``err_sum`` as an integer: integer sums do not
        depend on the order of the terms, so the mean error, and with it every iteration
        count, is the same for any thread count or particle order."""
        e = ti.select(err < ERROR_CAP, err, ERROR_CAP)  # NaN compares false: capped too
        self.err_sum[None] += ti.cast(e * ERROR_SCALE, ti.i64)

    @ti.func
    def _neighbour_count(self, i):
        """Fluid and boundary neighbours, a wall given by signed distance counted as the share
        of a full neighbourhood (FULL_NEIGHBOURS) that its density share f says it fills."""
        nn = ti.cast(self.grid.fluid_nb_count[i] + self.grid.boundary_nb_count[i], ti.f32)
        if ti.static(self.has_walls):
            for b in range(self.num_walls):
                nn += FULL_NEIGHBOURS * self.wall_f[i, b]
        return nn

    @ti.kernel
    def _divergence_error(self, dt: ti.f32, with_normals: ti.template()) -> ti.i64:
        """Divergence (clamped >= 0) and this iteration's kappa^v_i = div_i alpha_i / dt;
        returns the summed error div_i dt (``_add_error``). A particle with too few neighbours
        (walls included, ``_neighbour_count``) is at a free surface: its divergence is not
        corrected ([BK17]; SPlisHSPlasH counts boundary particles as neighbours too).
        ``with_normals`` (the first pass of a step): also the surface normals."""
        self.err_sum[None] = 0
        for i in self.x:
            div = self.velocity_divergence(i, with_normals)
            if div < 0.0 or self._neighbour_count(i) < MIN_NEIGHBOURS_DIVERGENCE:
                div = 0.0
            self._add_error(div * dt)
            self.kappa[i] = div * self.factor[i] / dt
            self.kappa_divergence[i] += self.kappa[i]
        return self.err_sum[None]

    @ti.func
    def _one_sided_update(self, i, rho_star, dt, weight):
        """Predicted density clamped >= 1 and kappa_i = (rho*_i - 1) alpha_i / dt^2 added.
        With ``chebyshev_radius`` > 0 a compressed particle's increment is ``weight`` times
        that plus (weight - 1) times its last one (``chebyshev_weights``)."""
        rho_star = ti.max(rho_star, 1.0)
        self._add_error(rho_star - 1.0)
        k = (rho_star - 1.0) * self.factor[i] / (dt * dt)
        if ti.static(self.chebyshev > 0.0):
            if k > 0.0:
                k = weight * k + (weight - 1.0) * self.kappa[i]
        self.kappa[i] = k
        self.kappa_density[i] += k

    @ti.kernel
    def _density_error(self, dt: ti.f32, weight: ti.f32) -> ti.i64:
        """Predicted density (clamped >= 1) and kappa_i = (rho*_i - 1) alpha_i / dt^2
        (``_one_sided_update``); returns the summed error rho*_i - 1 (``_add_error``)."""
        self.err_sum[None] = 0
        for i in self.x:
            self._one_sided_update(i, self.density[i] + dt * self.velocity_divergence(i, False),
                                   dt, weight)
        return self.err_sum[None]

    @ti.kernel
    def _density_error_two_sided(self, dt: ti.f32, weight: ti.f32) -> ti.i64:
        """``pressure_clamp = "pressure"``: as ``_density_error`` for most particles, but a
        particle closing on a neighbour or wall faster than IMPACT_SPEED (``impacting``) moves
        its kappa by PRESSURE_RELAXATION (rho*_i - 1) alpha_i / dt^2 in either direction, its
        total kept >= 0 (as IISPH clamps pressure). An iteration that pushed an impacting pair
        too far apart can so take the push back: the impact stops instead of rebounding. Its
        error is the complementarity residual: |rho* - 1| under pressure, the compression at
        zero pressure. Elsewhere the one-sided iterations stay (the relaxed ones need 2-5x as
        many at long steps), and only they are accelerated by ``chebyshev_radius``."""
        self.err_sum[None] = 0
        for i in self.x:
            rho_star = self.density[i] + dt * self.velocity_divergence(i, False)
            if self.impacting[i] != 0:
                total = self.kappa_density[i]
                step = PRESSURE_RELAXATION * (rho_star - 1.0) * self.factor[i] / (dt * dt)
                new_total = ti.max(total + step, 0.0)
                err = ti.abs(rho_star - 1.0)
                if new_total <= 0.0:
                    err = ti.max(rho_star - 1.0, 0.0)
                self._add_error(err)
                self.kappa[i] = new_total - total
                self.kappa_density[i] = new_total
            else:
                self._one_sided_update(i, rho_star, dt, weight)
        return self.err_sum[None]

    def _iterate(self, error_kernel, total, tol: float, dt: float, min_iterations: int,
                 first_error: int, chebyshev: float = 0.0) -> tuple[int, float]:
        """Jacobi iterations after the warm start (applied by the pass before: the density
        stage for the divergence solve, the non-pressure forces for the density solve) and
        the first error pass (its summed error ``first_error``): apply kappa, then measure
        the error and compute the next kappa (``error_kernel(dt, weight)``, weighted by
        ``chebyshev_weights(chebyshev)``), until at least ``min_iterations`` and the mean
        error is within ``tol``.

        Once the error is within ``tol`` and only ``min_iterations`` asks for more, the last
        iteration it asks for is applied without an error pass after it: that pass would
        measure an error already met and compute a kappa to be undone. The error returned is
        then the last one measured. In the stream of a pour both solves meet their
        tolerances before any iteration, so this saves a pass of each a step."""
        s = self.settings
        it = 0
        err = float(first_error) / (ERROR_SCALE * self.n)
        weights = chebyshev_weights(chebyshev)
        next(weights)  # the first error pass's
        while not ((it >= min_iterations and err <= tol) or it >= s.max_iterations):
            self._apply_pressure(self.kappa, dt)
            it += 1
            if it >= min_iterations and err <= tol:
                return it, err  # every kappa computed was applied: nothing to undo
            # also adds this iteration's kappa into `total`; returns the summed error
            err = float(error_kernel(dt, next(weights))) / (ERROR_SCALE * self.n)
        self._undo_last_kappa(total)
        return it, err

    @ti.kernel
    def _undo_last_kappa(self, total: ti.template()):
        for i in self.x:  # the last kappa computed was not applied
            total[i] -= self.kappa[i]

    def divergence_solve(self, dt: float) -> tuple[int, float]:
        """[BK17] Algorithm 2 with warm start (half the previous kappa^v, applied by
        ``compute_density_and_factor``), at least ``min_divergence_iterations`` iterations.
        Its first error pass also computes the surface normals (one pass over the
        neighbours, not two)."""
        s = self.settings
        first = self._divergence_error(dt, self.use_tension)
        return self._iterate(lambda t, _: self._divergence_error(t, False), self.kappa_divergence,
                             s.divergence_tol, dt, s.min_divergence_iterations, first)

    def _density_warm_start(self, dt: float) -> None:
        """The density solve's first kappa ([BK17] sec. 4.3), applied by
        ``apply_non_pressure_forces``: ``warm_start`` of the part of last step's kappa that its
        running average also holds, 0.8 of any excess (``_warm_start``: above 0.8, still water
        keeps more of its pressure while an impact's spike fades). A kappa that corrected a
        position error over dt_prev would over-push over a shorter step, so it is scaled by
        (dt / dt_prev)^2 when the step shrinks."""
        prev = self._prev_dt or dt
        shrink = min(1.0, (dt / prev) ** 2)
        self._prev_dt = dt
        mean_scale = 1.0 / self._kappa_mean_weight if self._kappa_mean_weight > 0.0 else 0.0
        self._warm_start(self.kappa_density, self.warm_density * shrink,
                         self.settings.warm_start * shrink, mean_scale)

    def density_solve(self, dt: float) -> tuple[int, float]:
        """[BK17] Algorithm 3 from the warm start (``_density_warm_start``), its iterations
        accelerated by ``chebyshev_radius``. With ``pressure_clamp = "pressure"`` the
        iterations of impacting particles are two-sided (``_density_error_two_sided``)."""
        error_kernel = self._density_error
        if self.clamp_pressure:
            error_kernel = self._density_error_two_sided
        return self._iterate(error_kernel, self.kappa_density, self.settings.density_tol, dt,
                             self.settings.min_iterations, error_kernel(dt, 1.0),
                             self.chebyshev)

    def _average_pressure(self, dt: float) -> None:
        """Fold this step's stiffness into the running average (weight 1 - exp(-dt / tau)).
        The divergence solve applied its kappa over the previous step's dt, so its share of
        this step's mean acceleration is scaled by dt_divergence / dt."""
        a = 1.0 - math.exp(-dt / PRESSURE_AVERAGE_S)
        self._kappa_mean_weight = (1.0 - a) * self._kappa_mean_weight + a
        top = float(self._fold_kappa_mean(a, self._divergence_dt / dt))
        self._pressure_speed = math.sqrt(max(top / self._kappa_mean_weight, 0.0))

    @ti.kernel
    def _fold_kappa_mean(self, a: ti.f32, divergence_scale: ti.f32) -> ti.f32:
        """Fold this step's stiffness into kappa_mean; returns the largest kappa_mean."""
        self.max_kappa_mean[None] = 0.0
        for i in self.x:
            k = self.kappa_density[i] + divergence_scale * self.kappa_divergence[i]
            self.kappa_mean[i] += a * (k - self.kappa_mean[i])
            ti.atomic_max(self.max_kappa_mean[None], self.kappa_mean[i])
        return self.max_kappa_mean[None]

    @ti.kernel
    def _max_fluid_speed(self) -> ti.f32:
        """Fastest fluid particle (m/s); also the fastest of the bulk and of the drops in flight
        apart (``drop_cfl`` bounds them apart; ``sim_profile`` reads them). A drop in flight has
        fewer than FEW_NEIGHBOURS fluid neighbours and no wall or boundary particle within
        reach."""
        self.max_bulk_speed[None] = 0.0
        self.max_drop_speed[None] = 0.0
        self.nan_count[None] = 0
        for i in self.v:
            sp = self.v[i].norm()
            if not (sp == sp):  # NaN
                ti.atomic_add(self.nan_count[None], 1)
            else:
                drop = self.grid.fluid_nb_count[i] < FEW_NEIGHBOURS
                drop = drop and self.grid.boundary_nb_count[i] == 0
                if ti.static(self.has_walls):
                    for b in range(self.num_walls):
                        drop = drop and self.wall_f[i, b] <= 0.0
                if drop:
                    ti.atomic_max(self.max_drop_speed[None], sp)
                else:
                    ti.atomic_max(self.max_bulk_speed[None], sp)
        self.max_speed[None] = ti.max(self.max_bulk_speed[None], self.max_drop_speed[None])
        return self.max_speed[None]

    def cfl_time_step(self, dt_cap: float | None) -> float:
        """dt = cfl * 2r / max speed ([BK17] sec. 4 / eq. 22), fluid and bodies; with
        ``drop_cfl`` > 0 the fluid's bound is the bulk's, and drops in flight are held to
        drop_cfl * 2r / their fastest speed (at one diameter a step, half the kernel's support
        and less than a wall's reach of 3.2 r, a drop has any neighbour or wall within reach a
        step before it could touch it, and is then held as the bulk is); at most
        HYDROSTATIC_CFL * 2r / sqrt(p_max / rho0) (a pressure wave's speed in the water at
        rest); capped."""
        s = self.settings
        vmax = float(self._max_fluid_speed())
        if self.nan_count[None] > 0 or not math.isfinite(vmax):
            raise SimulationUnstable(f"NaN velocity at t={self.time:.4f} s")
        if vmax > s.max_speed:
            raise SimulationUnstable(
                f"runaway speed {vmax:.1f} m/s > {s.max_speed} m/s at t={self.time:.4f} s"
            )
        vb = self.bodies.max_speed(self.time, s.max_dt)
        g_dt = self.g * (self.stats.last_dt or self.initial_dt)
        v_fluid = float(self.max_bulk_speed[None]) if self.drop_cfl > 0.0 else vmax
        bounds = {"max_dt": s.max_dt,
                  "fluid": s.cfl * 2.0 * self.r / max(v_fluid + g_dt, 1e-6),
                  "container": s.cfl * 2.0 * self.r / max(vb, 1e-6)}
        if self.drop_cfl > 0.0:
            v_drop = float(self.max_drop_speed[None]) + g_dt
            bounds["drop"] = self.drop_cfl * 2.0 * self.r / max(v_drop, 1e-6)
        if self._pressure_speed > 0.0:
            # water at rest: a column deeper than ~0.5 (2 r)^2 / (g dt^2) (m) boils
            # (the iterations rebuild the fifth of its pressure that the warm start leaves
            # out, and stop on the mean error before its bottom is done); sqrt(g H) =
            # sqrt(p_max / rho0) bounds the step as the flow speed does
            bounds["pressure"] = HYDROSTATIC_CFL * 2.0 * self.r / self._pressure_speed
        self.dt_limited_by = min(bounds, key=bounds.get)  # for profiling (``sim_profile``)
        self.dt_bound = dt = bounds[self.dt_limited_by]
        if not self.stats.steps:
            dt = min(dt, self.initial_dt)
        if dt_cap is not None and dt_cap > 0.0:
            # land exactly on the requested time in equal steps: a sliver of a step would turn
            # the residual density error into a huge velocity (error / dt)
            dt = dt_cap / math.ceil(dt_cap / dt - 1e-6)
        dt = max(dt, 1e-7)
        self.xsph_step = self._xsph_for(dt, v_fluid + g_dt)
        return dt

    def _xsph_for(self, dt: float, speed: float) -> float:
        """XSPH's smoothing for a step of dt: ``xsph`` up to the fluid's CFL step at
        XSPH_REFERENCE_CFL, in proportion beyond it (at most 0.5). A smoothing per step damps
        the more, the more steps a second takes: at r = 0.9 mm the stream's kinetic energy
        in the bowl 1 s on was 0.74x at cfl 0.3 and 1.15x at 0.7 of that at 0.4 (README,
        "The pour's CFL number"). So a larger ``cfl`` leaves the damping per second as it
        was; shorter steps (other bounds, a frame's end, ``cfl`` below the reference) keep
        ``xsph`` per step, as before."""
        reference = XSPH_REFERENCE_CFL * 2.0 * self.r / max(speed, 1e-6)
        if dt <= reference:
            return self.xsph
        return min(self.xsph * dt / reference, max(self.xsph, 0.5))

    @ti.kernel
    def apply_non_pressure_forces(self, dt: ti.f32, xsph: ti.f32):
        """v* = v + dt (g + viscosity + surface tension): XSPH smoothing or the standard SPH
        Laplacian (Monaghan 2005 / [BK17] sec. 5), walls included with their own velocities.
        Adds the density solve's warm start (``kappa``, ``pressure_acceleration``) and caches
        its boundary flux in the same pass over the neighbours."""
        for i in self.x:
            xi = self.x[i]
            vi = self.v[i]
            ki = self.kappa[i]
            visc = ti.Vector([0.0, 0.0, 0.0])  # XSPH's sum, or the Laplacian
            tension = ti.Vector([0.0, 0.0, 0.0])
            pressure = ti.Vector([0.0, 0.0, 0.0])
            eps = 0.01 * self.h * self.h
            for k in range(self.grid.fluid_nb_count[i]):
                j = self.grid.fluid_nb[i, k]
                d = xi - self.x[j]
                r = d.norm()
                g = self.grad_scale[i, k] * d  # ``fluid_grad``
                if ti.static(self.use_xsph):
                    visc += self.V0 * self.kernel_w(r) * (self.v[j] - vi)
                else:
                    visc += (vi - self.v[j]).dot(d) / (d.norm_sqr() + eps) * g
                if ti.static(self.use_tension):
                    tension += self._tension_pair(i, j, d, r)
                pressure -= (ki + self.kappa[j]) * g
            pressure -= ki * self.grad_b_sum[i]
            for k in range(self.grid.boundary_nb_count[i]):
                j = self.grid.boundary_nb[i, k]
                d = xi - self.bodies.x[j]
                if ti.static(self.use_xsph):
                    w = self.bodies.volume[j] * self.kernel_w(d.norm())
                    visc += w * (self.bodies.v[j] - vi)
                else:
                    vij = vi - self.bodies.v[j]
                    visc += (vij.dot(d) / (d.norm_sqr() + eps)) * self.boundary_grad(i, j)
            dv = dt * self.gravity
            if ti.static(self.use_xsph):
                dv += xsph * visc
            else:
                dv += dt * 10.0 * self.nu * visc
            if ti.static(self.use_tension):
                dv += dt * (tension + self._adhesion(i))
            if ti.static(self.has_walls):
                # walls given by signed distance: XSPH towards their velocity, and their drag
                for b in range(self.num_walls):
                    fw = self.wall_f[i, b]
                    if fw > 0.0:
                        rel = self._wall_velocity(b, xi) - vi
                        if ti.static(self.use_xsph):
                            dv += xsph * fw * rel
                        if ti.static(self.wall_friction > 0.0):
                            dv += ti.min(dt * self.wall_friction * ti.min(fw, 1.0), 1.0) * rel
            self._cache_boundary_flux(i)
            self.v_tmp[i] = vi + dv + dt * pressure
        for i in self.x:  # velocities change once all were read
            self.v[i] = self.v_tmp[i]

    @ti.func
    def cohesion_c(self, r):
        """Akinci et al. 2013 cohesion spline C(r) (eq. 2)."""
        h = self.h
        c = 0.0
        if r > 0.0 and r <= h:
            far = (h - r) ** 3 * r ** 3
            c = far if 2.0 * r > h else 2.0 * far - h ** 6 / 64.0
        return 32.0 / (math.pi * h ** 9) * c

    @ti.func
    def adhesion_a(self, r):
        """Akinci et al. 2013 adhesion spline A(r) (eq. 7)."""
        h = self.h
        a = 0.0
        if r > 0.5 * h and r <= h:
            a = 0.007 / h ** 3.25 * ti.max(-4.0 * r * r / h + 6.0 * r - 2.0 * h, 0.0) ** 0.25
        return a

    @ti.func
    def _tension_pair(self, i, j, d, r):
        """Cohesion and curvature of fluid pair (i, j) (Akinci et al. 2013, eqs. 1-6):
        K_ij (-gamma m_j C(r) x_ij / r - gamma (n_i - n_j)), K_ij = 2 / (rho_i + rho_j)."""
        kij = 2.0 / (self.density[i] + self.density[j])
        m = self.V0 * REST_DENSITY
        acc = -self.gamma * (self.normal[i] - self.normal[j])
        if r > 1e-9:
            acc -= self.gamma * m * self.cohesion_c(r) * d / r
        return kij * acc

    @ti.func
    def _adhesion(self, i):
        """Adhesion to boundary samples and walls (Akinci et al. 2013, eqs. 7-8):
        -beta rho0 sum_b V_b A(r) x_ib / r."""
        a = ti.Vector([0.0, 0.0, 0.0])
        for k in range(self.grid.boundary_nb_count[i]):
            j = self.grid.boundary_nb[i, k]
            d = self.x[i] - self.bodies.x[j]
            r = d.norm()
            if r > 1e-9:
                a -= self.beta * REST_DENSITY * self.bodies.volume[j] * self.adhesion_a(r) * d / r
        if ti.static(self.has_walls):
            a += self.beta * REST_DENSITY * self.wall_adhesion[i]
        return a

    @ti.kernel
    def _cap_speed(self, cap: ti.f32):
        """Safety cap: an isolated droplet squeezed against a wall can be flung out by the
        pressure solve (clamped densities have no attraction to hold it); counted."""
        for i in self.v:
            sp = self.v[i].norm()
            if sp > cap:
                self.v[i] *= cap / sp
                ti.atomic_add(self.speed_capped[None], 1)

    @ti.kernel
    def _scale_velocities(self, a: ti.f32):
        for i in self.v:
            self.v[i] *= a

    @ti.kernel
    def advect(self, dt: ti.f32):
        for i in self.x:
            self.x_prev[i] = self.x[i]
            self.x[i] += dt * self.v[i]

    # ================================================================= outputs
    def positions(self) -> np.ndarray:
        """(N, 3) float32 positions in stable id order (un-permuted), m."""
        out = np.empty((self.n, 3), np.float32)
        out[self.ids.to_numpy()] = self.x.to_numpy()
        return out

    def velocities(self) -> np.ndarray:
        """(N, 3) float32 velocities in stable id order, m/s."""
        out = np.empty((self.n, 3), np.float32)
        out[self.ids.to_numpy()] = self.v.to_numpy()
        return out

    def pressures(self, rest_density: float = 1000.0) -> np.ndarray:
        """(N,) pressure, Pa, stable id order: p_i = rho0 <kappa_i + kappa^v_i dt_v / dt>, the
        stiffness both solvers applied per step, averaged over the last ~PRESSURE_AVERAGE_S
        seconds (exponential weights). Its gradient balances gravity at rest; one step's value
        (``step_pressures``) also carries the zero-mean density-error correction."""
        if self._kappa_mean_weight <= 0.0:
            return self.step_pressures(rest_density)
        out = np.empty(self.n, np.float32)
        out[self.ids.to_numpy()] = rest_density * self.kappa_mean.to_numpy()
        return out / np.float32(self._kappa_mean_weight)

    def step_pressures(self, rest_density: float = 1000.0) -> np.ndarray:
        """(N,) pressure, Pa, stable id order, of the last step alone: rho0 (kappa_i +
        kappa^v_i dt_v / dt), the stiffness both solvers applied in that step."""
        out = np.empty(self.n, np.float32)
        scale = self._divergence_dt / self.stats.last_dt if self.stats.last_dt else 1.0
        k = self.kappa_density.to_numpy() + scale * self.kappa_divergence.to_numpy()
        out[self.ids.to_numpy()] = rest_density * k
        return out

    def densities(self) -> np.ndarray:
        """(N,) rho / rho0 at the start of the last step, stable id order."""
        out = np.empty(self.n, np.float32)
        out[self.ids.to_numpy()] = self.density.to_numpy()
        return out

    def leak_counts(self) -> dict:
        b = self.bodies
        return {
            "wall_corrections": int(b.wall_corrections[None]),
            "contact_corrections": int(b.contact_corrections[None]),
            "floor_corrections": int(b.floor_corrections[None]),
            "domain_clamps": int(b.domain_clamps[None]),
            "speed_capped": int(self.speed_capped[None]),
        }

    # ================================================================= state
    STATE_ARRAYS = ("x", "v", "ids", "kappa_density", "kappa_divergence", "kappa_mean")
    STATE_SCALARS = ("time", "steps", "density_iterations", "divergence_iterations",
                     "last_dt", "prev_dt", "kappa_mean_weight", "pressure_speed")

    def state(self) -> dict:
        """What the next step reads of the past: the per-particle arrays in memory order and
        the clock, step count, last step and warm-start scalars. ``load_state`` into a solver
        of the same scene continues the run bit for bit (profiling a pour from its middle)."""
        out = {name: getattr(self, name).to_numpy() for name in self.STATE_ARRAYS}
        st = self.stats
        out.update(time=self.time, steps=st.steps, density_iterations=st.density_iterations,
                   divergence_iterations=st.divergence_iterations, last_dt=st.last_dt,
                   prev_dt=self._prev_dt, kappa_mean_weight=self._kappa_mean_weight,
                   pressure_speed=self._pressure_speed)
        return out

    def load_state(self, state: dict) -> None:
        """Continue from ``state()`` of a solver of the same scene (ValueError if it does
        not fit: missing entries, another particle count)."""
        missing = [k for k in self.STATE_ARRAYS + self.STATE_SCALARS if k not in state]
        if missing:
            raise ValueError(f"solver state lacks {', '.join(missing)}")
        for name in self.STATE_ARRAYS:
            f = getattr(self, name)
            shape = f.shape + ((f.n,) if isinstance(f, ti.MatrixField) else ())
            a = np.asarray(state[name])
            if a.shape != shape:
                raise ValueError(f"solver state {name!r} has shape {a.shape}, this solver "
                                 f"{shape} (another scene or particle count)")
            f.from_numpy(np.ascontiguousarray(a, dtype=to_numpy_type(f.dtype)))
        st = self.stats
        self.time = float(state["time"])
        st.steps = int(state["steps"])
        st.density_iterations = int(state["density_iterations"])
        st.divergence_iterations = int(state["divergence_iterations"])
        st.last_dt = float(state["last_dt"])
        self._prev_dt = float(state["prev_dt"])
        self._kappa_mean_weight = float(state["kappa_mean_weight"])
        self._pressure_speed = float(state["pressure_speed"])

    def zero_velocities(self) -> None:
        self.v.fill(0.0)
