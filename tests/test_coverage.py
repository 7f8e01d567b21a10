"""`pourbench.core.coverage`: the ground-truth invariant on hand-worked cameras and points."""

from __future__ import annotations

import numpy as np
import pytest

from pourbench.core.coverage import (
    MIN_COVERAGE,
    Z_MIN_M,
    FrameCoverage,
    SequenceCoverage,
    frame_coverage,
    project,
    uncovered,
)

W, H = 64, 48
K = np.array([[100.0, 0.0, 32.0], [0.0, 100.0, 24.0], [0.0, 0.0, 1.0]])
EYE = np.eye(4)


def _pose_looking_down_minus_x(at=(2.0, 0.0, 0.0)) -> np.ndarray:
    """Camera at ``at`` looking along world -x (its -z), y up: axes x->-z, y->y, z->+x."""
    pose = np.eye(4)
    pose[:3, :3] = [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]]
    pose[:3, 3] = at
    return pose


def _mask(*pixels) -> np.ndarray:
    m = np.zeros((H, W), bool)
    for r, c in pixels:
        m[r, c] = True
    return m


def test_point_projects_at_the_hand_worked_pixel():
    # u = 100 * 0.1 / 1 + 32 = 42; v = -100 * 0.05 / 1 + 24 = 19 (image rows go down)
    rows, cols, in_view = project(np.array([[0.1, 0.05, -1.0]]), K, EYE, W, H)
    assert (rows[0], cols[0], in_view[0]) == (19, 42, True)
    # at depth 2 the offsets halve: u = 100 * 0.1 / 2 + 32 = 37, v = 24 + 100 * 0.1 / 2 = 29
    rows, cols, _ = project(np.array([[0.1, -0.1, -2.0]]), K, EYE, W, H)
    assert (rows[0], cols[0]) == (29, 37)


def test_camera_to_world_pose_is_inverted():
    # world (0, 0.04, 0.1) from a camera at x=2 looking down -x: camera coordinates
    # (-0.1, 0.04, -2) -> u = 100 * -0.1 / 2 + 32 = 27, v = -100 * 0.04 / 2 + 24 = 22
    rows, cols, in_view = project(np.array([[0.0, 0.04, 0.1]]), K,
                                  _pose_looking_down_minus_x(), W, H)
    assert (rows[0], cols[0], in_view[0]) == (22, 27, True)
    # the world origin lies on its optical axis, at the principal point
    rows, cols, _ = project(np.zeros((1, 3)), K, _pose_looking_down_minus_x(), W, H)
    assert (rows[0], cols[0]) == (24, 32)


def test_rounding_to_the_nearest_pixel():
    # u = 42.4 -> 42, u = 42.6 -> 43
    _, cols, _ = project(np.array([[0.104, 0.0, -1.0], [0.106, 0.0, -1.0]]), K, EYE, W, H)
    assert cols.tolist() == [42, 43]


def test_behind_near_outside_and_nan_are_not_in_view():
    points = np.array([
        [0.0, 0.0, 1.0],                  # behind the camera
        [0.0, 0.0, -0.5 * Z_MIN_M],       # in front, closer than the near plane
        [1.0, 0.0, -1.0],                 # u = 132 > W
        [0.0, 0.3, -1.0],                 # v = -6 < 0
        [-0.326, 0.0, -1.0],              # u = -0.6 -> -1: just outside
        [-0.324, 0.0, -1.0],              # u = -0.4 -> 0: just inside
        [np.nan, 0.0, -1.0],              # not a position
        [0.0, 0.0, -1.0],                 # the principal point
    ])
    rows, cols, in_view = project(points, K, EYE, W, H)
    assert in_view.tolist() == [False, False, False, False, False, True, False, True]
    assert cols[5] == 0 and (rows[7], cols[7]) == (24, 32)


def test_one_pixel_tolerance_includes_diagonals_and_nothing_further():
    p = np.array([[0.1, 0.05, -1.0]])  # pixel (19, 42)
    for pixel, covered in [((19, 42), True), ((19, 43), True), ((20, 41), True),
                           ((18, 43), True), ((19, 44), False), ((21, 42), False),
                           ((17, 40), False)]:
        c = frame_coverage(_mask(pixel), p, K, EYE)
        assert (c.in_view, c.covered) == (1, int(covered)), pixel


def test_uncovered_names_the_particles():
    points = np.array([[0.1, 0.05, -1.0], [0.0, 0.0, -1.0], [0.0, 0.0, 1.0]])
    in_view, covered = uncovered(_mask((24, 32)), points, K, EYE)
    assert in_view.tolist() == [True, True, False]
    assert covered.tolist() == [False, True, False]


def test_empty_mask_with_water_in_view_is_counted():
    water = np.array([[0.0, 0.0, -1.0], [0.05, 0.0, -1.0]])
    empty = np.zeros((H, W), bool)
    c = frame_coverage(empty, water, K, EYE)
    assert c == FrameCoverage(in_view=2, covered=0, mask_empty=True) and c.empty_with_water
    # water only behind the camera: an empty mask is right
    behind = frame_coverage(empty, -water, K, EYE)
    assert behind.in_view == 0 and not behind.empty_with_water
    # a mask somewhere else is wrong but not empty
    elsewhere = frame_coverage(_mask((0, 0)), water, K, EYE)
    assert elsewhere.covered == 0 and not elsewhere.empty_with_water


def test_sequence_sums_frames():
    s = SequenceCoverage()
    assert s.fraction == 1.0  # nothing in view: nothing to miss
    s.add(FrameCoverage(in_view=100, covered=100, mask_empty=False))
    s.add(FrameCoverage(in_view=50, covered=0, mask_empty=True))
    s.add(FrameCoverage(in_view=0, covered=0, mask_empty=True))  # no water, empty: fine
    assert (s.in_view, s.covered, s.frames, s.empty_frames) == (150, 100, 3, 1)
    assert s.fraction == pytest.approx(2 / 3)
    assert s.as_dict() == {"in_view": 150, "covered": 100, "fraction": pytest.approx(2 / 3),
                           "frames": 3, "empty_frames": 1}
    assert s.fraction < MIN_COVERAGE
