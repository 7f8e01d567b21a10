"""Textures for table, background wall and containers: procedural patterns and shipped images.

Background images come from scikit-image's sample data, restricted to the files the wheel
ships in ``skimage/data`` (no download is ever triggered: loading reads that folder directly).
Procedural textures are built from a ``TextureSpec`` (kind, two colours, scale, angle, seed).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import ndimage

# name -> file in skimage/data shipped with the wheel (checked by tests with the network off)
BACKGROUND_IMAGES = {
    "astronaut": "astronaut.png",
    "brick": "brick.png",
    "camera": "camera.png",
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "coins": "coins.png",
    "grass": "grass.png",
    "gravel": "gravel.png",
    "hubble_deep_field": "hubble_deep_field.jpg",
    "motorcycle_left": "motorcycle_left.png",
    "page": "page.png",
    "rocket": "rocket.jpg",
}

TEXTURE_SIZE = 256


def _skimage_data_dir() -> Path:
    import skimage

    return Path(skimage.__file__).parent / "data"


@lru_cache(maxsize=16)
def load_background_image(name: str) -> np.ndarray:
    """(H, W, 3) uint8 sample image ``name`` read from the installed scikit-image package."""
    from skimage.io import imread

    if name not in BACKGROUND_IMAGES:
        raise ValueError(f"unknown background image {name!r}; allowed: {sorted(BACKGROUND_IMAGES)}")
    path = _skimage_data_dir() / BACKGROUND_IMAGES[name]
    if not path.is_file():
        raise FileNotFoundError(f"{path}: scikit-image sample image not installed")
    img = np.asarray(imread(path))
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = img[..., :3]
    if img.dtype != np.uint8:
        img = (255 * (img.astype(np.float64) / max(float(img.max()), 1.0))).astype(np.uint8)
    return np.ascontiguousarray(img)


def _mix(t: np.ndarray, a, b) -> np.ndarray:
    """Blend colours a, b (RGB in [0, 1]) by t in [0, 1] -> (H, W, 3) uint8."""
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    rgb = a + (b - a) * t[..., None].astype(np.float32)
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


def smooth_noise(size: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """(size, size) tileable smooth noise in [0, 1]; ``scale`` ~ blobs across the texture."""
    field = rng.standard_normal((size, size))
    field = ndimage.gaussian_filter(field, sigma=size / (2.0 * max(scale, 0.5)), mode="wrap")
    field -= field.min()
    return field / max(float(field.max()), 1e-9)


def make_texture(spec, size: int = TEXTURE_SIZE) -> np.ndarray:
    """(size, size, 3) uint8 texture from a ``TextureSpec`` (an image is returned as is)."""
    rng = np.random.default_rng(spec.seed)
    if spec.kind == "image":
        return load_background_image(spec.image)
    if spec.kind == "plain":
        return _mix(np.zeros((size, size)), spec.color_a, spec.color_b)
    n = max(1, round(spec.scale))
    if spec.kind == "checker":
        u, v = np.meshgrid(np.arange(size), np.arange(size))
        t = ((u * n // size + v * n // size) % 2).astype(np.float32)
        return _mix(t, spec.color_a, spec.color_b)
    if spec.kind == "stripes":
        u, _ = np.meshgrid(np.arange(size), np.arange(size))
        t = ((u * 2 * n // size) % 2).astype(np.float32)
        return _mix(t, spec.color_a, spec.color_b)
    if spec.kind == "noise":
        return _mix(smooth_noise(size, spec.scale, rng), spec.color_a, spec.color_b)
    if spec.kind == "wood":
        warp = smooth_noise(size, 3.0, rng)
        _, v = np.meshgrid(np.arange(size) / size, np.arange(size) / size)
        rings = 0.5 + 0.5 * np.sin(2 * np.pi * (n * 2 * v + 1.5 * warp))
        grain = smooth_noise(size, 40.0, rng)
        return _mix(0.75 * rings**3 + 0.25 * grain, spec.color_a, spec.color_b)
    raise ValueError(f"unknown texture kind {spec.kind!r}")
