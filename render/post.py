"""Image-space touches on the colour pass, from the exact geometry passes.

Both are cheap stand-ins for what a rasteriser without ray tracing cannot do: smoothing
silhouettes (instead of 4x multisampling) and bending what is seen through the liquid
(instead of refraction).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def smooth_silhouettes(rgb: np.ndarray, labels: np.ndarray, liquid: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 with a 3x3 box blur applied where the label or liquid mask changes.

    Jaggies sit on object outlines, which the flat geometry passes give exactly; texture
    interiors are already filtered by mipmaps.
    """
    key = labels.astype(np.int16) + 256 * liquid
    edge = np.zeros(key.shape, bool)
    dy = key[1:] != key[:-1]
    dx = key[:, 1:] != key[:, :-1]
    edge[1:] |= dy
    edge[:-1] |= dy
    edge[:, 1:] |= dx
    edge[:, :-1] |= dx
    if not edge.any():
        return rgb
    blurred = ndimage.uniform_filter(rgb, size=(3, 3, 1), mode="nearest")
    out = rgb.copy()
    out[edge] = blurred[edge]
    return out


def refract_liquid(
    rgb: np.ndarray,
    liquid_depth: np.ndarray,
    visible: np.ndarray,
    focal_px: float,
    strength_px: float,
    max_px: float = 6.0,
) -> np.ndarray:
    """Resample the colour image inside the visible liquid along the surface slope.

    The screen-space slope of the liquid's depth (metres per metre, from the liquid-only
    depth, lightly smoothed) stands in for the surface normal; each visible liquid pixel takes
    the colour ``strength_px * slope`` pixels away (at most ``max_px``). Flat, face-on water
    is left alone; edges, the meniscus and the stream's sides bend what lies behind them.

    Args:
        rgb: (H, W, 3) uint8 colour pass.
        liquid_depth: (H, W) metres, 0 where no liquid.
        visible: (H, W) bool, liquid front-most.
        focal_px: focal length in pixels.
        strength_px: displacement in pixels per unit slope.
    """
    if strength_px <= 0 or not visible.any():
        return rgb
    z = liquid_depth.astype(np.float32)
    weight = ndimage.gaussian_filter((z > 0).astype(np.float32), 1.0)
    smooth = ndimage.gaussian_filter(z, 1.0) / np.maximum(weight, 1e-3)
    gy, gx = np.gradient(smooth)
    scale = strength_px * focal_px / np.maximum(smooth, 1e-3)
    ys, xs = np.nonzero(visible)
    sy = np.clip(gy[ys, xs] * scale[ys, xs], -max_px, max_px)
    sx = np.clip(gx[ys, xs] * scale[ys, xs], -max_px, max_px)
    out = rgb.copy()
    coords = [ys + sy, xs + sx]
    for c in range(3):
        out[ys, xs, c] = ndimage.map_coordinates(rgb[..., c], coords, order=1, mode="nearest")
    return out
