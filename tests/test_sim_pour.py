"""End-to-end pours: track file, volume bookkeeping, no leakage, bounded speeds."""

import json

import numpy as np
import pytest

from pourbench.core.track import TrackReader
from pourbench.sim import PRESETS, Scenario, SimulationUnstable, simulate_pour


def _check_track(path, scenario: Scenario, result):
    r = scenario.particle_radius
    with TrackReader(path) as tr:
        h = tr.header
        assert h.num_particles == result.num_particles > 50
        assert h.num_frames == result.num_frames == int(scenario.duration_s * scenario.fps) + 1
        assert {c.name: c.role for c in h.containers} == {"source": "source", "target": "target"}
        for c in h.containers:
            assert c.poses.shape == (h.num_frames, 4, 4)
        total = h.num_particles * (2 * r) ** 3 * 1e6
        np.testing.assert_allclose(h.volume.sum(1), total, rtol=1e-5)  # nothing lost
        assert h.volume[0, 0] == pytest.approx(total)  # all in the source before the tilt
        assert json.loads(json.dumps(h.scenario))["liquid"]["temperature_c"] == (
            scenario.liquid.temperature_c)
        stats = h.sim_stats
        assert stats["leak_corrections"] == 0 and stats["arch"] == "cpu"
        assert stats["steps"] > 0 and stats["particle_steps_per_s"] > 0
        # spilled water rests on the table's SPH boundary, not on a safety net
        particle_steps = stats["steps"] * h.num_particles
        assert stats["floor_corrections"] == 0
        # the bottle's jet (at the 4 m/s speed limit) flings spray past the domain's edge,
        # 0.3 m around the containers; the 50-80 drops that land there are clamped again in
        # every step they rest on it. Bottle -> pot, seed 3: 3.9e-4 to 1.6e-3 of
        # particle-steps from one trajectory to another (the same pour stepped to 0.1-s
        # windows or to frames; before and after the changes of 2026-12-06)
        assert stats["domain_clamps"] <= 2e-3 * particle_steps
        assert stats["contact_corrections"] <= 1e-3 * particle_steps
        prev = None
        for f in range(h.num_frames):
            p = tr.positions(f)
            assert np.isfinite(p).all()
            assert p[:, 1].min() > -r  # never under the table
            if prev is not None:  # bounded speed between frames
                assert np.linalg.norm(p - prev, axis=1).max() * h.fps < 6.0
            prev = p
        return h


def test_tiny_pour_conserves_and_pours(tmp_path):
    sc = Scenario(particle_radius=0.0035, duration_s=1.6, fps=20, seed=3,
                  motion={"profile": "fast", "start_s": 0.1, "tilt_duration_s": 0.9,
                          "max_angle_deg": 120})
    res = simulate_pour(sc, tmp_path / "sim.h5", arch="cpu", progress=False)
    h = _check_track(tmp_path / "sim.h5", sc, res)
    assert h.volume[-1, 0] < 0.5 * h.volume[0, 0], "the source must empty"
    assert h.volume[-1, 1] > 0.3 * h.volume[0, 0], "the target must receive water"


def test_unstable_error_is_a_pourbench_error():
    from pourbench.core.errors import PourbenchError

    assert issubclass(SimulationUnstable, PourbenchError)


@pytest.mark.slow
@pytest.mark.parametrize(
    "source,target,seed",
    [("cup", "bowl_hemisphere", 0), ("mug", "bowl_cone", 1), ("glass", "dish", 2),
     ("bottle", "pot", 3), ("cup", "bowl_flat", 4)],
)
def test_pours_over_shapes_and_seeds(tmp_path, source, target, seed):
    sc = Scenario(source=PRESETS[source], target=PRESETS[target], particle_radius=0.003,
                  duration_s=2.5, fps=15, seed=seed,
                  motion={"profile": "pour_and_return", "start_s": 0.2, "tilt_duration_s": 0.8,
                          "hold_s": 0.6, "max_angle_deg": 125})
    res = simulate_pour(sc, tmp_path / "sim.h5", arch="cpu", progress=False)
    _check_track(tmp_path / "sim.h5", sc, res)


@pytest.mark.slow
def test_a_pours_first_frames_do_not_depend_on_its_duration(tmp_path):
    """A longer pour spans a larger box (the cup tilts further), so its neighbour grid covers
    more cells and its particles sit in another order in memory; its first frames must still
    be the shorter pour's, bit for bit (before: 2 mm apart at t = 0.3 s)."""
    tracks = []
    for duration in (0.3, 1.2):
        sc = Scenario(particle_radius=0.0035, duration_s=duration, fps=20, seed=3,
                      motion={"profile": "fast", "start_s": 0.1, "tilt_duration_s": 0.9,
                              "max_angle_deg": 120})
        simulate_pour(sc, tmp_path / f"{duration}.h5", arch="cpu", progress=False)
        with TrackReader(tmp_path / f"{duration}.h5") as tr:
            tracks.append([tr.positions(f) for f in range(tr.header.num_frames)])
    short, long = tracks
    assert len(short) == 7 and len(long) == 25
    for f, p in enumerate(short):
        np.testing.assert_array_equal(p, long[f], err_msg=f"frame {f}")


def test_simulate_with_retries_halves_the_step_after_an_unstable_run(tmp_path, monkeypatch):
    import pourbench.sim.pour as pour
    from pourbench.sim.retry import simulate_with_retries

    calls = []

    def fake(scenario, out, *, arch="auto", progress=True, dt_scale=1.0):
        calls.append((arch, dt_scale))
        if dt_scale == 1.0:
            raise SimulationUnstable("runaway speed")
        return pour.SimResult(path=out, num_particles=1, num_frames=1)

    monkeypatch.setattr(pour, "simulate_pour", fake)
    done = simulate_with_retries(Scenario(), tmp_path / "s.h5", arch="cpu")
    assert calls == [("cpu", 1.0), ("cpu", 0.5)]
    assert (done.attempts, done.dt_scale) == (2, 0.5)
