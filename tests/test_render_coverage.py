"""Labels equal the simulation: every particle centre in view lies in mask/full (+-1 px).

Drops far below a pixel (r = 0.3 mm is 0.2-0.3 px here: without the spheres' minimum on-screen
size, 11 of the 60 spray drops below reach a pixel centre), two-particle filaments and
scattered spray must all reach ``mask/full``; on a pour, every frame
is fully covered and ``FramePasses.coverage`` says so; what the reconstruction misses, the
renderer's fallback spheres add, to the labels and the image alike.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pourbench.core.coverage import frame_coverage
from pourbench.render import RenderSettings, TrackRenderer, sample_variant
from pourbench.render.synthetic import synthetic_pour

W, H = 320, 240
R = 0.0009
R_DROP = 0.0003  # sub-pixel at this camera
ABOVE_BOWL = np.array([0.0, 0.11, 0.0])


@pytest.fixture(scope="module")
def header():
    h, _ = synthetic_pour(num_frames=1, num_particles=1, particle_radius=R_DROP)
    return h


def _render(header, pos, fallback=True, surface_fn=None, seed=0):
    h = dataclasses.replace(header, num_particles=len(pos))
    v = sample_variant(RenderSettings(width=W, height=H), seed)
    with TrackRenderer(W, H, surface_fn=surface_fn, fallback=fallback) as r:
        p = next(r.render_track(h, np.asarray(pos, np.float32)[None], v, frames=[0]))
        return p, r.K


def _drops(n: int, seed: int = 0) -> np.ndarray:
    """``n`` drops scattered over a 12 cm box above the bowl, at least 1 cm apart."""
    rng = np.random.default_rng(seed)
    pts = []
    while len(pts) < n:
        q = ABOVE_BOWL + rng.uniform(-0.06, 0.06, 3)
        if all(np.linalg.norm(q - p) > 0.01 for p in pts):
            pts.append(q)
    return np.array(pts)


@pytest.mark.parametrize("case", ["lone", "filament", "spray"])
def test_drops_and_filaments_reach_mask_full_without_the_fallback(header, case):
    pos = {"lone": ABOVE_BOWL[None],
           "filament": ABOVE_BOWL + np.array([[0.0, 0.0, 0.0], [2 * R_DROP, 0.0, 0.0]]),
           "spray": _drops(60)}[case]
    p, _ = _render(header, pos, fallback=False)  # the reconstruction's spheres alone
    c = p.coverage
    assert c.in_view == len(pos), "the test's particles are in view"
    assert c.covered == c.in_view and not c.mask_empty
    assert p.fallback_particles == 0
    # sub-pixel drops: the spheres are enlarged to ~0.75 px, not more
    assert p.mask_full.sum() <= 9 * len(pos)


def test_every_frame_of_a_pour_is_fully_covered():
    header, positions = synthetic_pour(num_frames=3, num_particles=6000, particle_radius=R,
                                       spray_fraction=0.2)
    # and a mist of drops between the cup and the bowl
    mist = np.random.default_rng(2).uniform([-0.12, 0.02, -0.05], [0.05, 0.15, 0.05],
                                            (3, 300, 3))
    positions = np.concatenate([positions, mist.astype(np.float32)], axis=1)
    header = dataclasses.replace(header, num_particles=positions.shape[1])
    v = sample_variant(RenderSettings(width=W, height=H), 4)
    with TrackRenderer(W, H) as r:
        frames = list(r.render_track(header, positions, v))
        K = r.K
    for f, p in enumerate(frames):
        c = p.coverage
        assert c.in_view > 1000 and c.covered == c.in_view and not c.mask_empty
        again = frame_coverage(p.mask_full, positions[f], K, p.camera_pose)
        assert again == c, "FramePasses.coverage is the coverage of its own mask"


def test_the_fallback_adds_what_the_reconstruction_misses_to_labels_and_image(header):
    pos = _drops(40, seed=1)
    nothing, _ = _render(header, pos[:0])

    def no_surface(*args):
        return None

    bare, _ = _render(header, pos, fallback=False, surface_fn=no_surface)
    assert bare.coverage.covered == 0 and bare.coverage.mask_empty
    fixed, _ = _render(header, pos, surface_fn=no_surface)
    c = fixed.coverage
    assert c.covered == c.in_view == len(pos) and not c.mask_empty
    assert fixed.fallback_particles == len(pos)
    drawn = np.any(fixed.rgb != nothing.rgb, axis=2)
    assert drawn[fixed.mask_visible].mean() > 0.9, "the colour pass draws the same drops"
    assert not drawn[~fixed.mask_full].any() or drawn[~fixed.mask_full].mean() < 0.01
