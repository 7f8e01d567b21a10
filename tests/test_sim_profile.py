"""The pour profiler (`benchmark/perf/sim_profile.py`): its per-window timeline adds up to the
pour it ran, and it profiles a recipe's scenario as the generator would simulate it."""

import json
import math

import numpy as np
import pytest

from pourbench.benchmark.perf.sim_profile import load_profile_scenario, profile_pour
from pourbench.core.errors import PourbenchError

COARSE_CUP = ('source = "cup"\nduration_s = 0.2\nparticle_radius = 0.003\nseed = 0\n'
              '[motion]\nprofile = "fast"\nstart_s = 0.0\ntilt_duration_s = 0.6\n')


def test_windows_add_up_to_the_pour(tmp_path):
    scene = tmp_path / "coarse.toml"
    scene.write_text(COARSE_CUP)
    res = profile_pour(str(scene), None, arch="cpu", window=0.1)
    rows, pour = res["windows"], res["pour"]
    assert len(rows) == 2
    assert rows[0]["t_start"] == 0.0 and rows[1]["t_start"] == rows[0]["t_end"]
    assert rows[-1]["t_end"] == pytest.approx(0.2, abs=1e-6)
    assert sum(w["steps"] for w in rows) == pour["steps"]
    for w in rows:
        assert w["mean_dt"] * w["steps"] == pytest.approx(w["t_end"] - w["t_start"], rel=1e-6)
        assert w["density_iterations"] >= 2 and w["divergence_iterations"] >= 2
        assert w["wall_s_per_sim_s"] == pytest.approx(w["wall_s"] / (w["t_end"] - w["t_start"]))
        assert math.isfinite(w["vmax_median"]) and w["vmax_median"] >= 0.0
    assert sum(pour["dt_limited_by"].values()) == pour["steps"]  # each step, one bound
    iterations = sum(w["density_iterations"] * w["steps"] for w in rows) / pour["steps"]
    assert iterations == pytest.approx(pour["mean_density_iterations"])
    assert pour["rest_from_s"] is None  # the cup tilts to the end
    end = pour["end"]  # the water at the last frame: every particle in one of three places
    assert end["t"] == pytest.approx(0.2)
    total = res["num_particles"] * (2 * res["particle_radius"]) ** 3 * 1e6
    assert end["source_ml"] + end["target_ml"] + end["spilled_ml"] == pytest.approx(total)
    assert end["source_ml"] > 0.5 * total  # 0.2 s into the tilt, most of it still in the cup
    assert end["kinetic_energy_mj_per_kg"] > 0.0


def test_the_profile_stops_where_the_water_rests(tmp_path, capsys):
    """A cup barely tipped (10 degrees in 0.05 s) holds still water: stepping stops once it
    is at rest (`solver.rest_window_s` 0.1 s here), and the windows end there. When it rests
    depends on the last bits of rounding, which differ between CPUs: t = 1.3 s where this test
    was written, 1.73 s on a machine whose CPU rounds otherwise (its fastest particle already
    0.015 m/s from t = 1.3 s), so the pour runs long enough for either."""
    scene = tmp_path / "still.toml"
    scene.write_text('source = "cup"\nduration_s = 3.0\nparticle_radius = 0.003\nseed = 0\n'
                     '[motion]\nprofile = "fast"\nstart_s = 0.0\ntilt_duration_s = 0.15\n'
                     'max_angle_deg = 10\n[solver]\nrest_window_s = 0.1\n')
    late = tmp_path / "late.npz"  # after the rest: never stepped to, so not saved
    res = profile_pour(str(scene), None, arch="cpu", window=0.1, save_states=[(2.95, late)])
    pour, rows = res["pour"], res["windows"]
    assert pour["rest_from_s"] is not None and 0.1 <= pour["rest_from_s"] < 2.9
    assert not late.exists() and "not saved, the water is at rest" in capsys.readouterr().err
    assert pour["sim_seconds"] == pytest.approx(pour["rest_from_s"], abs=1e-6)
    assert rows[-1]["t_end"] == pytest.approx(pour["rest_from_s"], abs=1e-6)
    assert sum(w["steps"] for w in rows) == pour["steps"]
    assert pour["wall_s_per_pour_s"] == pytest.approx(pour["wall_s"] / 3.0)


def test_a_recipe_scenario_is_the_generators():
    from pourbench.datasets.recipe import load_recipe
    from pourbench.datasets.sampler import sample_scenario

    assert load_profile_scenario(None, "tiny", 1) == sample_scenario(load_recipe("tiny"), 1)
    with pytest.raises(PourbenchError, match="outside 0..1"):
        load_profile_scenario(None, "tiny", 2)
    with pytest.raises(PourbenchError, match="not both"):
        load_profile_scenario(None)
    with pytest.raises(PourbenchError, match="not both"):
        load_profile_scenario("x.toml", "tiny")


def test_a_pour_shorter_than_a_frame_is_refused():
    """A --duration under one frame has no frame to step to: one line, no traceback."""
    with pytest.raises(PourbenchError, match="shorter than one frame"):
        profile_pour(None, 0.02, arch="cpu", recipe="tiny", scenario=0)
    with pytest.raises(PourbenchError, match="--duration / --fps: duration_s"):
        profile_pour(None, -1.0, arch="cpu", recipe="tiny", scenario=0)


@pytest.mark.parametrize("ball_speed, drop_speed, drop_cfl, limited_by, bound", [
    (0.5, 3.0, 1.0, "drop", 1.0 * 2 * 0.005 / 3.0),  # the drop's own bound, one diameter
    (2.0, 1.0, 1.0, "fluid", 0.4 * 2 * 0.005 / 2.0),  # the bulk is faster: cfl, the bulk's
    (0.5, 3.0, 0.0, "fluid", 0.4 * 2 * 0.005 / 3.0),  # off (the default): cfl, the fastest
])
def test_drops_in_flight_may_take_their_own_bound(ball_speed, drop_speed, drop_cfl,
                                                  limited_by, bound):
    """With ``drop_cfl`` a drop in flight (fewer than FEW_NEIGHBOURS fluid neighbours, no
    wall within reach) bounds the step at drop_cfl diameters a step and the bulk at ``cfl``;
    off, the fastest particle of all sets the step at ``cfl``. The solver says which bound
    set it (`sim_profile` counts them)."""
    from pourbench.sim.backend import init_taichi
    from pourbench.sim.bodies import KinematicBodies
    from pourbench.sim.scenario import SolverSettings
    from pourbench.sim.solver import DFSPHSolver

    init_taichi("cpu")
    r = 0.005
    k = np.arange(-3, 4)
    lattice = np.stack(np.meshgrid(k, k, k, indexing="ij"), -1).reshape(-1, 3)
    # a ball of 81 particles 2 r apart: each has at least 11 fluid neighbours (a cube's
    # corner would have 7, a drop by the count)
    ball = 2 * r * lattice[(lattice ** 2).sum(1) <= 2.5 ** 2]
    x = np.vstack([ball, [[0.3, 0.0, 0.0]]])  # the drop: 0.3 m from the ball, alone
    v = np.zeros_like(x)
    v[:-1, 0] = ball_speed
    v[-1, 1] = drop_speed
    bodies = KinematicBodies([], clamp_lo=(-1, -1, -1), clamp_hi=(1, 1, 1), floor_y=None,
                             particle_radius=r)
    settings = SolverSettings(speed_limit=10.0, drop_cfl=drop_cfl)
    solver = DFSPHSolver(x, r, bodies, (-0.5, -0.5, -0.5), (0.5, 0.5, 0.5), settings,
                         velocities=v, gravity=0.0)
    solver.step()
    in_ball = solver.ids.to_numpy() < len(ball)  # the solver keeps particles sorted by cell
    assert solver.grid.fluid_nb_count.to_numpy()[in_ball].min() >= 10  # the ball is bulk
    assert float(solver.max_drop_speed[None]) == pytest.approx(drop_speed, rel=1e-5)
    assert float(solver.max_bulk_speed[None]) == pytest.approx(ball_speed, rel=1e-5)
    assert float(solver.max_speed[None]) == pytest.approx(max(ball_speed, drop_speed), rel=1e-5)
    assert solver.dt_limited_by == limited_by
    assert solver.dt_bound == pytest.approx(bound, rel=1e-5)  # gravity off: hand-worked


def test_a_solver_state_continues_bit_for_bit(tmp_path):
    """``state()`` then ``load_state`` into a fresh solver of the same scene: the next steps
    are the same, bit for bit, as the original's (so a profile from a saved state times the
    pour's own steps); a state of another particle count is refused."""
    from pourbench.sim.backend import init_taichi
    from pourbench.sim.pour import build_scene, make_solver
    from pourbench.sim.scenario import load_scenario

    init_taichi("cpu")
    path = tmp_path / "coarse.toml"
    path.write_text(COARSE_CUP)
    sc = load_scenario(path)
    scene = build_scene(sc)
    first = make_solver(sc, scene)
    for _ in range(15):
        first.step()
    saved = first.state()
    for _ in range(10):
        first.step()
    second = make_solver(sc, scene)
    second.load_state(saved)
    assert second.time == saved["time"] and second.stats.steps == 15
    for _ in range(10):
        second.step()
    assert second.time == first.time
    assert np.array_equal(second.positions(), first.positions())
    assert np.array_equal(second.velocities(), first.velocities())
    assert np.array_equal(second.pressures(), first.pressures())
    fewer = dict(saved, x=saved["x"][:-1])
    with pytest.raises(ValueError, match="'x' has shape"):
        second.load_state(fewer)
    with pytest.raises(ValueError, match="lacks time"):
        second.load_state({k: v for k, v in saved.items() if k != "time"})


def test_a_profile_from_a_saved_state_repeats_the_pours_steps(tmp_path, capsys):
    """--save-state at t = 0.1 s, then --from-state for 0.1 s: the same steps and iterations
    as the whole pour's second window; bad state files are one-line errors."""
    from pourbench.benchmark.perf.sim_profile import main

    scene = tmp_path / "coarse.toml"
    scene.write_text(COARSE_CUP)
    state = tmp_path / "at_0.1.npz"
    whole = profile_pour(str(scene), None, arch="cpu", window=0.1,
                         save_states=[(0.1, str(state))])
    part = profile_pour(None, 0.1, arch="cpu", window=0.1, from_state=str(state))
    assert part["settle"] is None and part["from_state_s"] == pytest.approx(0.1, abs=1e-9)
    row = whole["windows"][1]
    assert part["pour"]["steps"] == row["steps"] > 0
    assert part["pour"]["sim_seconds"] == pytest.approx(0.1, abs=1e-6)
    assert part["windows"][0]["density_iterations"] == row["density_iterations"]
    assert part["windows"][0]["t_end"] == pytest.approx(row["t_end"], abs=1e-9)
    stages = part["pour"]["stage_seconds"]  # each stage timed from the state on
    assert sum(stages.values()) <= part["pour"]["wall_s"]
    assert stages["density_solve"] > stages["frame_readback"]

    with pytest.raises(PourbenchError, match="no scenario file or --recipe"):
        profile_pour(str(scene), 0.1, arch="cpu", from_state=str(state))
    with pytest.raises(PourbenchError, match="outside the profiled"):
        profile_pour(str(scene), None, arch="cpu", save_states=[(0.5, str(state))])
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    np.savez(tmp_path / "other.npz", meta=np.array('{"format": "something else"}'))
    with np.load(state) as z:  # a state file whose scenario entry is lost
        meta = json.loads(str(z["meta"]))
        del meta["scenario"]
        np.savez(tmp_path / "cut.npz", **{k: z[k] for k in z.files if k != "meta"},
                 meta=np.array(json.dumps(meta)))
    capsys.readouterr()
    for bad, says in ((tmp_path / "junk.npz", "not a readable solver state file"),
                      (tmp_path / "missing.npz", "no such solver state file"),
                      (tmp_path / "other.npz", "not a solver state file (format 'something"),
                      (tmp_path / "cut.npz", "not a readable solver state file (KeyError")):
        with pytest.raises(SystemExit) as e:
            main(["--from-state", str(bad), "--duration", "0.1"])
        assert e.value.code == 2
        err = capsys.readouterr().err.strip()
        assert says in err and "\n" not in err


def test_solver_settings_can_be_changed_for_a_run():
    """--set NAME=VALUE changes one solver setting of the profiled scenario (validated as a
    scenario file's [solver] table is); a typo or a value out of range is one line."""
    from pourbench.benchmark.perf.sim_profile import _with_solver_settings

    sc = load_profile_scenario(None, "tiny", 0)
    changed = _with_solver_settings(sc, {"drop_cfl": 1.0, "viscosity": "standard"})
    assert changed.solver.drop_cfl == 1.0 and changed.solver.viscosity == "standard"
    assert changed.model_dump()["source"] == sc.model_dump()["source"]
    assert sc.solver.drop_cfl == 0.0  # the original is left as it was
    with pytest.raises(PourbenchError, match="drop_cf: not a solver setting"):
        _with_solver_settings(sc, {"drop_cf": 1.0})
    with pytest.raises(PourbenchError, match="drop_cfl"):
        _with_solver_settings(sc, {"drop_cfl": 7.0})


def test_compare_alternates_settings_in_fresh_processes(tmp_path, capsys):
    """--compare 1 --against NAME=VALUE: one run as given and one with the setting changed,
    each in its own process; the medians of each and the pair's ratio are reported."""
    from pourbench.benchmark.perf.sim_profile import main

    out = tmp_path / "cmp.json"
    summary = main(["--recipe", "tiny", "--scenario", "0", "--duration", "0.1", "--compare",
                    "1", "--against", "max_dt=0.001", "--json", str(out)])
    a, b = summary["a"], summary["b"]
    assert b == "with max_dt=0.001"
    for name in (a, b):
        assert len(summary["runs"][name]) == 1
    # a step of 1 ms at most: at least 100 steps for the 0.1 s (the still water takes 20)
    assert summary["medians"][b]["pour"]["steps"] >= 100 > summary["medians"][a]["pour"]["steps"]
    ratio = summary["pair_ratios_b_over_a"]["pour"][0]
    assert ratio == pytest.approx(summary["ratio_wall_s_per_sim_s_b_over_a"]["pour"])
    assert "solver seconds per simulated second" in capsys.readouterr().out
    assert out.exists()
    with pytest.raises(SystemExit) as e:
        main(["--recipe", "tiny", "--against", "cfl=0.2"])
    assert e.value.code == 2
