"""Physics checks of the DFSPH solver: free fall, dam break, hydrostatic tank, determinism."""

import math

import numpy as np
import pytest

from pourbench.sim.scenario import SolverSettings
from pourbench.sim.validation import (
    MARTIN_MOYCE_A,
    HydrostaticResult,
    dam_break,
    free_fall,
    front_rms_difference,
    front_rms_error,
    hydrostatic_fits,
    hydrostatic_tank,
    read_reference,
)

G = 9.81


def test_free_fall_drops_g_t2_over_2():
    t, dt = 0.5, 1e-3
    drop, vy, t_done = free_fall(t_end=t, max_dt=dt, arch="cpu")
    assert t_done == pytest.approx(t)
    assert vy == pytest.approx(-G * t, rel=1e-4)
    # symplectic Euler: g t^2 / 2 plus g dt t / 2
    assert drop == pytest.approx(0.5 * G * t * t + 0.5 * G * dt * t, rel=1e-3)


@pytest.mark.parametrize("axis, side, at", [(0, 1, -0.002), (0, -1, 0.2), (2, 1, 0.0),
                                            (2, -1, 0.05)])
def test_a_plane_wall_grid_holds_the_signed_distance_to_its_solid(axis, side, at):
    """The validation tank's walls given by signed distance: positive on the water's side,
    negative in the solid, exact anywhere in the grid's slab (a plane's distance is linear,
    so trilinear interpolation reproduces it)."""
    from pourbench.sim.containers import sample_sdf
    from pourbench.sim.validation import _plane_wall

    r = 0.001
    wall = _plane_wall("w", axis, side, at, (-0.01, 0.0, -0.01), (0.21, 0.1, 0.06), r)
    grid = wall.sdf
    assert wall.sdf_wall and len(wall.points) == 0
    lo = grid.origin
    hi = grid.hi
    ends = side * (np.array([lo[axis], hi[axis]]) - at)  # from 4 r in the solid to 10 r out
    assert ends.min() <= -3.99 * r and ends.max() >= 9.99 * r
    p = np.random.default_rng(0).uniform(lo, hi, (500, 3))
    np.testing.assert_allclose(sample_sdf(grid, p), side * (p[:, axis] - at), atol=1e-6)


def test_front_error_helpers_on_the_reference_itself():
    T, Z = read_reference()
    assert front_rms_error(T, Z) == pytest.approx(0.0, abs=1e-12)
    assert front_rms_error(T, Z * 1.1) == pytest.approx(0.1, rel=1e-6)
    assert front_rms_difference(T, Z * 1.05, T, Z) == pytest.approx(0.05, rel=1e-6)


@pytest.mark.parametrize("boundary", ["particles", "sdf"])
def test_coarse_dam_break_follows_martin_moyce(boundary):
    """With Akinci wall particles (as the peer's) and with the walls pours use (signed
    distance, no boundary particles at all)."""
    a = MARTIN_MOYCE_A
    res = dam_break(a, particle_radius=a / 16, arch="cpu", boundary=boundary)
    assert res.num_particles == 8 * 16 * 8
    if boundary == "sdf":
        assert res.num_boundary == 1  # the inert placeholder sample: no wall particles
    assert res.T[-1] >= 2.9
    assert np.isfinite(res.Z).all()
    assert np.all(np.diff(res.Z) > -0.02), "surge front must not retreat"
    assert res.Z[-1] > 3.0
    err = front_rms_error(res.T, res.Z)
    assert err < 0.2, f"RMS relative error {err:.3f} vs Martin & Moyce"
    assert res.stats["wall_corrections"] == 0


@pytest.mark.parametrize("max_dt", [0.005, 0.002])
def test_hydrostatic_tank_pressure_and_rest(max_dt):
    """At rest, dp/dy = -rho g within 5 % at two time-step caps. One step's stiffness is not
    the pressure (at max_dt = 2 ms its slope is 1.19 rho g, 0.62-1.66 from step to step); the
    solver's read-out averages it over ~0.1 s, and the fits of five read-outs 0.1 s apart are
    averaged (the residual slosh moves one read-out's fit by a few per cent).

    The weight ratio (pressure against the weight of the particles above) is held to 4 %, not
    the issue's 2 %: it depends on how the particles happen to pack. Jittering the starting
    lattice by 1e-7 m (2e-5 r) gives 0.994-1.026 / 1.014-1.031 at 2 / 5 ms over five
    arrangements (means 1.012 / 1.021), and a change that only rounds differently picks
    another arrangement. The means: ``test_hydrostatic_pressure_over_arrangements``."""
    r = 0.005
    res = hydrostatic_tank(particle_radius=r, counts=(8, 16, 8), t_end=1.0, arch="cpu",
                           settings=SolverSettings(max_dt=max_dt),
                           readout_times=(0.6, 0.7, 0.8, 0.9))
    assert res.speed.mean() < 0.02 and res.speed.max() < 0.1, "the water must come to rest"
    assert res.max_speed_history[-1] < res.max_speed_history[:20].max()
    fits = hydrostatic_fits(res)
    assert fits.slope == pytest.approx(1.0, rel=0.05), "dp/dy must be -rho g"
    assert fits.surface_offset < 2 * r
    assert fits.weight_ratio == pytest.approx(1.0, rel=0.04)
    assert res.mean_density_error <= SolverSettings().density_tol + 1e-9


@pytest.mark.parametrize("max_dt", [0.005, 0.002])
def test_hydrostatic_tank_with_the_walls_pours_use(max_dt):
    """The tank's walls given by signed distance (``boundary = "sdf"``, the floor the table
    plane): the water comes to rest and its pressure is hydrostatic. Measured over five
    arrangements (``hydrostatic_spread --boundary sdf``, 2026-12-06) at 5 / 2 ms: weight ratio
    1.011-1.023 / 1.004-1.039 (means 1.019 / 1.019; with wall particles 1.021 / 1.012), slope
    1.028-1.039 / 1.022-1.054 (held to 6 %), fastest particle at the end 0.029-0.037 /
    0.038-0.055 m/s. Before the walls counted as neighbours in the divergence solve's
    free-surface test (``DFSPHSolver._neighbour_count``), particles on the contact line kept
    moving at 0.13-0.25 m/s at 2 ms."""
    r = 0.005
    res = hydrostatic_tank(particle_radius=r, counts=(8, 16, 8), t_end=1.0, arch="cpu",
                           settings=SolverSettings(max_dt=max_dt),
                           readout_times=(0.6, 0.7, 0.8, 0.9), boundary="sdf")
    assert res.speed.mean() < 0.02 and res.speed.max() < 0.1, "the water must come to rest"
    fits = hydrostatic_fits(res)
    assert fits.slope == pytest.approx(1.0, rel=0.06), "dp/dy must be -rho g"
    assert fits.surface_offset < 2 * r
    assert fits.weight_ratio == pytest.approx(1.0, rel=0.04)


def _block(n: int, r: float) -> np.ndarray:
    """An n^3 lattice of spacing 2 r from the origin, (n^3, 3) m."""
    return np.stack(np.meshgrid(*[np.arange(n) * 2 * r] * 3, indexing="ij"), -1).reshape(-1, 3)


def _free_solver(x: np.ndarray, r: float, settings: SolverSettings, **solver_args):
    """A solver for particles ``x`` with no walls (``solver_args``: the solver's velocities,
    gravity), after one step (its neighbour lists and DFSPH factors built)."""
    from pourbench.sim.backend import init_taichi
    from pourbench.sim.bodies import KinematicBodies
    from pourbench.sim.solver import DFSPHSolver

    init_taichi("cpu")
    bodies = KinematicBodies([], clamp_lo=(-1, -1, -1), clamp_hi=(1, 1, 1), floor_y=None,
                             particle_radius=r)
    solver = DFSPHSolver(x, r, bodies, (-0.1, -0.1, -0.1), (0.3, 0.3, 0.3), settings,
                         **solver_args)
    solver.step()
    return solver


def test_steady_warm_start_saves_iterations_in_still_water():
    """Reusing 0.9 of a still tank's steady pressure (``warm_start``), not 0.8, leaves the
    iterations a tenth of it to rebuild, not a fifth: measured (2026-12-07, 5-ms steps)
    16.2 against 28.7 iterations a step once the water is at rest, as still (mean speed
    0.009 m/s both). Held to three quarters; the water must stay at rest."""
    r = 0.005
    runs = {w: hydrostatic_tank(particle_radius=r, counts=(8, 16, 8), t_end=1.0, arch="cpu",
                                settings=SolverSettings(max_dt=0.005, warm_start=w),
                                boundary="sdf")
            for w in (0.8, 0.9)}
    assert runs[0.9].rest_iterations < 0.75 * runs[0.8].rest_iterations
    for res in runs.values():
        assert res.speed.mean() < 0.02 and res.speed.max() < 0.1, "the water must stay at rest"


def test_warm_start_reuses_the_steady_part_of_the_pressure():
    """By hand: a particle's first guess is 0.8 of last step's stiffness kappa plus
    (warm_start - 0.8) of min(kappa, its running average): all steady pressure is reused at
    warm_start, a spike above the average at 0.8; drops (few neighbours) start from zero."""
    r = 0.005
    x = np.concatenate([_block(4, r), [[0.2, 0.2, 0.2]]])  # a 4^3 block and a lone drop
    solver = _free_solver(x, r, SolverSettings(warm_start=0.9))
    rng = np.random.default_rng(0)
    kappa = rng.uniform(0.0, 2.0, len(x)).astype(np.float32)
    mean = rng.uniform(0.0, 2.0, len(x)).astype(np.float32)
    solver.kappa_density.from_numpy(kappa)
    solver.kappa_mean.from_numpy(mean)
    solver._warm_start(solver.kappa_density, 0.8, 0.9, 0.5)  # average = kappa_mean / 2
    got = solver.kappa_density.to_numpy()
    many = solver.grid.fluid_nb_count.to_numpy() >= 10
    assert many.sum() >= 8 and not many.all()
    want = 0.8 * kappa + 0.1 * np.minimum(kappa, 0.5 * mean)
    np.testing.assert_allclose(got[many], want[many], rtol=1e-6)
    assert (got[~many] == 0).all()
    np.testing.assert_array_equal(solver.kappa.to_numpy(), got)


def test_chebyshev_iterations_save_iterations_in_still_water():
    """Chebyshev-accelerated density iterations (``chebyshev_radius`` 0.6, as `standard`)
    in the still tank of the test above (warm start 0.9): measured (2026-12-07) 11.5 against
    16.2 iterations a step at rest, mean speed 0.013 against 0.010 m/s, fastest 0.05 against
    0.04 m/s, weight ratio 1.018 against 1.026. Held to 0.8x; the water must stay at rest and
    its pressure hydrostatic. One arrangement's weight ratio moves with rounding alone: at
    c = 0 it was 1.003-1.042 over the lattice and five jittered by 1e-7 m (means 1.029 and
    1.030 for two builds that sum in different orders, 2026-12-08), so it is held to 5 %."""
    r = 0.005
    runs = {c: hydrostatic_tank(particle_radius=r, counts=(8, 16, 8), t_end=1.0, arch="cpu",
                                settings=SolverSettings(max_dt=0.005, warm_start=0.9,
                                                        chebyshev_radius=c),
                                boundary="sdf")
            for c in (0.0, 0.6)}
    assert runs[0.6].rest_iterations < 0.8 * runs[0.0].rest_iterations
    for res in runs.values():
        assert res.speed.mean() < 0.02 and res.speed.max() < 0.1, "the water must stay at rest"
        fits = hydrostatic_fits(res)
        assert fits.weight_ratio == pytest.approx(1.0, abs=0.05)


def test_chebyshev_weights_by_hand():
    """Golub & Varga's weights for a spectral radius of 0.75: 1, 2 / (2 - 0.5625) = 1.39130,
    4 / (4 - 0.5625 * 1.39130) = 1.24324, ..., falling to 2 / (1 + sqrt(1 - 0.5625)) =
    1.20376; radius 0 gives plain Jacobi (all 1)."""
    from itertools import islice

    from pourbench.sim.solver import chebyshev_weights

    w = list(islice(chebyshev_weights(0.75), 30))
    assert w[:3] == pytest.approx([1.0, 1.391304, 1.243243], rel=1e-5)
    assert w[-1] == pytest.approx(2.0 / (1.0 + math.sqrt(1.0 - 0.5625)), rel=1e-6)
    assert all(a >= b for a, b in zip(w[1:-1], w[2:], strict=True))
    assert list(islice(chebyshev_weights(0.0), 5)) == [1.0] * 5


def test_chebyshev_increment_by_hand():
    """With ``chebyshev_radius`` > 0 a compressed particle's increment is w times the Jacobi
    increment (rho* - 1) alpha / dt^2 plus (w - 1) times its last increment; a particle that
    is not compressed gets none. Weight 1 is the Jacobi increment itself."""
    r = 0.005
    blob = _block(5, r)
    solver = _free_solver(blob, r, SolverSettings(chebyshev_radius=0.75))
    rng = np.random.default_rng(1)
    solver.v.from_numpy(rng.normal(0.0, 0.05, (len(blob), 3)).astype(np.float32))
    dt, w = 1e-3, 1.3
    solver._density_error(dt, 1.0)
    jacobi = solver.kappa.to_numpy()
    compressed = jacobi > 0
    assert 10 <= compressed.sum() < len(blob)
    last = rng.uniform(0.0, 3.0, len(blob)).astype(np.float32)
    solver.kappa.from_numpy(last)
    total = solver.kappa_density.to_numpy()
    solver._density_error(dt, w)
    got = solver.kappa.to_numpy()
    np.testing.assert_allclose(got[compressed], w * jacobi[compressed]
                               + (w - 1.0) * last[compressed], rtol=1e-5)
    assert (got[~compressed] == 0).all()
    np.testing.assert_allclose(solver.kappa_density.to_numpy(), total + got, rtol=1e-6)


def test_an_iteration_only_the_floor_asks_for_skips_its_error_pass():
    """Once the mean error is within the tolerance, the iteration that only the floor
    (``min_iterations``) asks for is applied without an error pass after it: the velocities are
    the full iterations' bit for bit, the warm-start total the same up to rounding (the full
    ones add a last kappa and take it away), and one error pass fewer runs. While the error is
    not met every iteration still measures it."""
    r = 0.005
    blob = _block(5, r)
    solver = _free_solver(blob, r, SolverSettings(max_iterations=3))
    v0 = np.random.default_rng(2).normal(0.0, 0.05, (len(blob), 3)).astype(np.float32)
    dt = 1e-3
    calls = []

    def error_pass(t, weight):
        calls.append(weight)
        return solver._density_error(t, weight)

    def start():
        """The density solve's start: these velocities, no pressure yet, the first error pass."""
        calls.clear()
        solver.v.from_numpy(v0)
        solver.kappa_density.fill(0.0)
        return error_pass(dt, 1.0)

    start()  # the full iterations, by hand: apply, measure, apply, measure, undo
    for _ in range(2):
        solver._apply_pressure(solver.kappa, dt)
        error_pass(dt, 1.0)
    solver._undo_last_kappa(solver.kappa_density)
    v_full, total_full = solver.v.to_numpy(), solver.kappa_density.to_numpy()
    assert (total_full > 0).sum() >= 10 and len(calls) == 3

    it, _ = solver._iterate(error_pass, solver.kappa_density, 1.0, dt, 2, start())
    assert it == 2 and len(calls) == 2  # the first error pass and one between the applies
    np.testing.assert_array_equal(solver.v.to_numpy(), v_full)
    np.testing.assert_allclose(solver.kappa_density.to_numpy(), total_full, rtol=1e-5,
                               atol=1e-6 * np.abs(total_full).max())

    it, _ = solver._iterate(error_pass, solver.kappa_density, 1e-12, dt, 2, start())
    assert it == 3 and len(calls) == 4  # never met: stopped by max_iterations, each measured


@pytest.mark.slow
@pytest.mark.parametrize("boundary", ["particles", "sdf"])
@pytest.mark.parametrize("max_dt", [0.005, 0.002])
def test_hydrostatic_pressure_over_arrangements(max_dt, boundary):
    """The pressure measured above the arrangement's noise: the tank of the test above and
    four with the starting lattice jittered by 1e-7 m. Measured (2026-12-06), wall particles:
    mean weight ratio 1.012 at 2 ms (the issue's 2 % holds) and 1.021 at 5 ms (it does not
    quite); each arrangement 0.994-1.031; mean slope 1.034 / 1.041 rho g. The walls pours use
    (``sdf``): means 1.019 / 1.019 at 2 / 5 ms, each 1.004-1.039; slopes 1.036 / 1.036. Held
    to 2.5 %, 4 % and 5 %."""
    from pourbench.benchmark.perf.hydrostatic_spread import spread

    out = spread(max_dt, seeds=4, jitter=1e-7, boundary=boundary)
    assert out["weight_ratio"]["mean"] == pytest.approx(1.0, abs=0.025)
    assert 0.96 <= out["weight_ratio"]["min"] and out["weight_ratio"]["max"] <= 1.04
    assert out["slope"]["mean"] == pytest.approx(1.0, abs=0.05)


def _exact_column(slope: float) -> HydrostaticResult:
    """A perfect lattice (8 x 16 x 8, r = 5 mm) whose pressure rises by ``slope`` rho g with
    depth below the water's top (top particle's centre + r)."""
    r, n = 0.005, (8, 16, 8)
    axes = [(np.arange(k) + 0.5) * 2 * r for k in n]
    x = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    top = x[:, 1].max() + r
    pressure = slope * 1000 * G * (top - x[:, 1])
    return HydrostaticResult(y=x[:, 1], x=x, pressure=pressure, speed=np.zeros(len(x)),
                             water_height=top, max_speed_history=np.zeros(1),
                             mean_density_error=0.0, size=tuple(k * 2 * r for k in n),
                             particle_radius=r)


@pytest.mark.parametrize("slope", [1.0, 1.02])
def test_hydrostatic_fits_on_an_exact_column(slope):
    """On a lattice each particle carries (2r)^3 of water, so the weight of the layers above
    grows by exactly rho g per metre: both ratios equal the pressure's slope, and the fitted
    p = 0 lies on the top."""
    fits = hydrostatic_fits(_exact_column(slope))
    assert fits.slope == pytest.approx(slope, rel=1e-9)
    assert fits.weight_ratio == pytest.approx(slope, rel=1e-9)
    assert fits.surface_offset == pytest.approx(0.0, abs=1e-9)


def test_hydrostatic_spread_refuses_bad_arguments(capsys):
    from pourbench.benchmark.perf.hydrostatic_spread import main

    with pytest.raises(SystemExit) as exc:
        main(["--seeds", "-1"])
    assert exc.value.code == 2
    assert "--seeds must be >= 0" in capsys.readouterr().err


def test_same_seed_same_positions_bitwise_on_cpu():
    """Bitwise the same, also when the neighbour grid covers a larger box: cells are anchored
    to the world and the solver's error sums are exact, so neither the box nor the particles'
    order in memory (which follows the cell table) changes a result. Before both, a pour's
    positions at t = 0.3 s moved by 2 mm when its duration (and so its box) changed."""
    a = MARTIN_MOYCE_A
    t_end = 0.4 / math.sqrt(2 * G / a)
    from pourbench.sim.validation import _dam_break_positions

    p1 = _dam_break_positions(a, a / 12, t_end)
    p2 = _dam_break_positions(a, a / 12, t_end, grid_pad=(0.37 * a, 1.13 * a))
    assert np.isfinite(p1).all()
    np.testing.assert_array_equal(p1, p2)


@pytest.mark.slow
def test_dam_break_converges_as_r_shrinks():
    """Self-convergence: refining r moves the front by under 5 % (measured: 2.4 % from a/20 to
    a/32, 2.6 % from a/32 to a/50) and the finest run stays within 12 % of the experiment
    (coarse runs are slowed by numerical dissipation, so their error against the experiment
    is smaller: 7.0 % at a/20, 10.9 % at a/50)."""
    a = MARTIN_MOYCE_A
    runs = [dam_break(a, particle_radius=a / (2 * n), arch="auto") for n in (10, 16, 25)]
    fronts = [(res.T, res.Z) for res in runs]
    d1 = front_rms_difference(*fronts[0], *fronts[1])
    d2 = front_rms_difference(*fronts[1], *fronts[2])
    assert d2 < 0.05 and d2 < 1.5 * d1, f"front changes {d1:.3f} then {d2:.3f}"
    assert front_rms_error(*fronts[-1]) < 0.12


@pytest.mark.parametrize("cfl", [0.4, 0.8])
def test_xsph_damps_as_much_per_second_at_a_larger_cfl(cfl):
    """XSPH smooths `xsph` per step up to the step of the reference CFL (0.4) and in
    proportion beyond it, so that a larger `cfl` (fewer steps a second) damps as much per
    second; by hand: with gravity off the step is cfl * 2r / speed, so at 0.8 the smoothing
    is twice `xsph`, less where a frame's end shortens the step; at most 0.5."""
    from pourbench.sim.solver import XSPH_REFERENCE_CFL

    r = 0.005
    k = np.arange(-3, 4)
    lattice = np.stack(np.meshgrid(k, k, k, indexing="ij"), -1).reshape(-1, 3)
    ball = 2 * r * lattice[(lattice ** 2).sum(1) <= 2.5 ** 2]
    v = np.zeros_like(ball)
    v[:, 0] = 1.0  # the ball flies at 1 m/s: the fluid's CFL bound sets the step
    settings = SolverSettings(cfl=cfl, max_dt=0.01, xsph=0.1, speed_limit=10.0)
    # its first step is short (``initial_dt``)
    solver = _free_solver(ball, r, settings, velocities=v, gravity=0.0)
    for _ in range(3):
        dt = solver.step()
        assert solver.dt_limited_by == "fluid"
        speed = float(solver.max_speed[None])
        reference = XSPH_REFERENCE_CFL * 2 * r / speed
        if cfl <= XSPH_REFERENCE_CFL:
            assert solver.xsph_step == 0.1  # exactly: shorter steps are as before
        else:
            assert dt == pytest.approx(2 * reference, rel=1e-6)
            assert solver.xsph_step == pytest.approx(0.1 * dt / reference, rel=1e-6)
    assert solver._xsph_for(reference / 2, speed) == 0.1
    assert solver._xsph_for(3 * reference, speed) == pytest.approx(0.3)
    assert solver._xsph_for(10 * reference, speed) == 0.5  # the cap
