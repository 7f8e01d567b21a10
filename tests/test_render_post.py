"""Image-space touches on the colour pass: silhouette smoothing and liquid refraction."""

from __future__ import annotations

import numpy as np

from pourbench.render.post import refract_liquid, smooth_silhouettes


def _stripes(H=40, W=60):
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[:, ::4] = 255  # vertical stripes, period 4 px
    return rgb


def test_smooth_silhouettes_touches_only_outlines():
    rgb = _stripes()
    labels = np.zeros((40, 60), np.uint8)
    labels[:, 30:] = 3
    out = smooth_silhouettes(rgb, labels, np.zeros((40, 60), bool))
    changed = np.any(out != rgb, axis=2)
    assert changed[:, 29:31].any()
    assert not changed[:, :29].any() and not changed[:, 31:].any()
    same = smooth_silhouettes(rgb, np.zeros_like(labels), np.zeros((40, 60), bool))
    assert same is rgb


def test_refraction_shifts_along_the_slope_inside_visible_liquid_only():
    H, W = 40, 60
    rgb = _stripes(H, W)
    visible = np.zeros((H, W), bool)
    visible[10:30, 10:50] = True
    # a liquid surface sloping in x: depth grows 1 mm per pixel at 0.5 m, f = 500 px
    depth = np.where(visible, 0.5 + 0.001 * np.arange(W)[None, :], 0.0)
    out = refract_liquid(rgb, depth, visible, focal_px=500.0, strength_px=2.0)
    assert np.array_equal(out[~visible], rgb[~visible])
    # slope = 0.001 m/px * 500 px / z ~ 1 -> a shift of about 2 px to the right, by hand:
    x = np.arange(20, 40)
    shift = 2.0 * 0.001 * 500.0 / depth[20, x]
    expected = np.interp(x + shift, np.arange(W), rgb[20, :, 0].astype(float))
    assert np.abs(out[20, x, 0] - expected).max() <= 1.0
    assert refract_liquid(rgb, depth, visible, 500.0, 0.0) is rgb
