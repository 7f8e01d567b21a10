"""Water at rest: the pour stops stepping once nothing moves, and says so."""

import numpy as np
import pytest

from pourbench.core.track import TrackReader
from pourbench.sim import Scenario, simulate_pour
from pourbench.sim.motion import motion_end_s, tilt_angle
from pourbench.sim.rest import RestDetector
from pourbench.sim.scenario import PourMotion


@pytest.mark.parametrize("profile, end", [("steady", 0.5 + 1.2), ("fast", 0.5 + 0.4),
                                          ("pour_and_return", 0.5 + 1.2 + 0.4 + 1.2)])
def test_the_source_stands_still_from_the_motions_end(profile, end):
    m = PourMotion(profile=profile, max_angle_deg=90, start_s=0.5, tilt_duration_s=1.2, hold_s=0.4)
    assert motion_end_s(m) == pytest.approx(end)
    last = tilt_angle(m, end)
    assert all(tilt_angle(m, end + dt) == last for dt in (0.0, 0.3, 7.0))
    assert tilt_angle(m, end - 0.05) != pytest.approx(last, abs=1e-4)


def _frames(detector, positions, fps=10.0):
    """Feed frames at ``fps``; the time of the first frame found at rest, or None."""
    for f, p in enumerate(positions):
        if detector.update(f / fps, np.asarray(p, float)):
            return detector.rest_from_s
    return None


def test_jitter_within_the_drift_is_rest_after_one_window():
    rng = np.random.default_rng(0)
    frames = [rng.uniform(-0.25, 0.25, (50, 3)) for _ in range(30)]  # apart < 0.87 < 1
    # the first frame is the reference; 1 s later (frame 10 at 10 fps) the water is at rest
    assert _frames(RestDetector(drift=1.0, window_s=1.0, still_from_s=0.0), frames) == 1.0
    # while the containers still move, every frame is a new reference: the last is frame 4
    assert _frames(RestDetector(drift=1.0, window_s=1.0, still_from_s=0.45), frames) == 1.4


def test_creep_of_more_than_one_percent_keeps_the_water_awake():
    frames = np.zeros((40, 100, 3))
    frames[:, :5, 0] = np.minimum(np.arange(40), 20)[:, None] * 0.3  # 5 % creep until frame 20
    # every frame up to 16 is left (drift 1) 4 frames later (1.2); from frame 17 on they move
    # 0.9 until they stop at frame 20 (6.0), so frame 17's window of 1 s ends at frame 27
    assert _frames(RestDetector(drift=1.0, window_s=1.0, still_from_s=0.0), frames) == 2.7
    # a drift of 0 never finds rest; nor does any drift while a container moves
    assert _frames(RestDetector(drift=0.0, window_s=1.0, still_from_s=0.0), frames) is None
    assert _frames(RestDetector(drift=1.0, window_s=1.0, still_from_s=9.0), frames) is None


def test_one_particle_in_a_thousand_is_held_to_eight_drifts():
    frames = np.zeros((40, 1000, 3))
    steps = np.minimum(np.arange(40), 20)
    frames[:, 0, 0] = steps * 0.3  # 6.0 in all: never 8 drifts from any reference
    assert _frames(RestDetector(drift=1.0, window_s=1.0, still_from_s=0.0), frames) == 1.0
    # 1.5 a frame: each frame up to 14 is left 6 frames later (9 > 8); it stops at frame 20
    # (30.0), 7.5 from frame 15, so frame 15's window ends at frame 25
    frames[:, 0, 0] = steps * 1.5
    assert _frames(RestDetector(drift=1.0, window_s=1.0, still_from_s=0.0), frames) == 2.5


def test_the_percentile_test_is_numpys_interpolated_quantile():
    """The drift test counts particles beyond the drift and interpolates only where the 99th
    percentile falls between the last one within it and the first beyond: the same answer as
    ``np.quantile`` on the distances, also where 1 % of the particles lie just either side."""
    rng = np.random.default_rng(3)
    n = 203  # the percentile lies at 0.99 * 202 = 199.98: 0.98 of the way from the 200th
    reference = np.zeros((n, 3))  # smallest distance to the 201st
    detector = RestDetector(drift=1.0, window_s=1.0, still_from_s=0.0)
    answers = set()
    for _ in range(400):
        dist = rng.uniform(0.0, 0.9, n)
        beyond = int(rng.integers(0, 6))  # 3 beyond is the case that needs the interpolation
        dist[:beyond] = rng.uniform(1.0, 1.3, beyond) if rng.random() < 0.5 else \
            1.0 + rng.uniform(0.0, 0.02, beyond)
        dist[beyond:beyond + 1] = rng.uniform(0.95, 1.0)
        frame = np.zeros((n, 3))
        frame[:, 1] = dist
        expected = bool(np.quantile(np.linalg.norm(frame, axis=1), 0.99) > 1.0)
        assert detector._moved(frame, reference) == expected
        answers.add((beyond, expected))
    assert {(3, True), (3, False)} <= answers  # both sides of the interpolated case were met


def test_a_still_cup_stops_stepping_once_its_water_rests(tmp_path):
    """A cup tipped by 10 degrees in 0.1 s: its water comes to rest. The pour with the rest test
    equals the pour stepped to the end frame for frame until the rest, then repeats that frame,
    in fewer steps. The water stepped on creeps (SPH never rests exactly), but over the window
    after the rest it stays within the rest test's own bounds of the frozen frame (99 % within
    the drift, none beyond 8 drifts) and moves half the drift on average at most. Measured
    (2026-12-07, this scene with seeds 1-8): it rests at 1.5-2.75 s or not by 3 s; over the
    0.5 s after the rest 99 % moved 0.04-0.28 r, the mean 0.02-0.10 r, and on at 0.01-0.15 r a
    second, depending on the last bits of rounding (a still state or a slow slide). Since the
    solves skip the error pass after an iteration that only their floor asks for (the same but
    for rounding), 4 of seeds 1-8 rest, at 1.7-2.35 s, where 5 rested at 1.7-2.85 s before;
    the seed is the one with the most room (seed 1 rested at 2.85 s, now not by 3 s). On
    2026-12-08's machine (other bits: Taichi compiles for the CPU it runs on) and with the
    sliding window, seeds 1-8 but 4 rest, at 1.8-2.7 s; seed 6 at 2.5 s."""
    base = dict(particle_radius=0.004, duration_s=3.0, fps=20, seed=6,
                motion={"profile": "fast", "max_angle_deg": 10, "start_s": 0.0,
                        "tilt_duration_s": 0.3})
    rest = Scenario(**base, solver={"rest_window_s": 0.5})
    full = Scenario(**base, solver={"rest_drift": 0.0})
    res_rest = simulate_pour(rest, tmp_path / "rest.h5", arch="cpu", progress=False)
    res_full = simulate_pour(full, tmp_path / "full.h5", arch="cpu", progress=False)
    t_rest = res_rest.stats["rest_from_s"]
    assert res_full.stats["rest_from_s"] is None
    assert t_rest is not None and 0.6 <= t_rest <= 2.9
    assert res_rest.stats["steps"] < res_full.stats["steps"]
    r = rest.particle_radius
    k = round(t_rest * rest.fps)
    with TrackReader(tmp_path / "rest.h5") as a, TrackReader(tmp_path / "full.h5") as b:
        for f in range(k + 1):
            np.testing.assert_array_equal(a.positions(f), b.positions(f))
        frozen = a.positions(k)
        drift = rest.solver.rest_drift * r
        window = round(rest.solver.rest_window_s * rest.fps)
        for f in range(k + 1, len(a)):
            np.testing.assert_array_equal(a.positions(f), frozen)
            if f <= k + window:
                creep = np.linalg.norm(b.positions(f) - frozen, axis=1)
                assert np.quantile(creep, 0.99) < drift and creep.max() < 8 * drift
                assert creep.mean() < 0.5 * drift
        np.testing.assert_array_equal(a.header.volume, b.header.volume)
        assert a.header.scenario["solver"]["rest_drift"] == 0.25
