"""Shared test helpers: small synthetic sequences that follow schema v1."""

from __future__ import annotations

import numpy as np
import pytest


def synthetic_frames(T: int = 4, H: int = 12, W: int = 16, seed: int = 0) -> dict[str, np.ndarray]:
    """A valid, random sequence of T frames: masks nested, volumes conserved."""
    rng = np.random.default_rng(seed)
    full = rng.random((T, H, W)) > 0.6
    visible = full & (rng.random((T, H, W)) > 0.3)
    depth = rng.uniform(0.3, 1.5, (T, H, W)).astype(np.float16)
    depth[0, 0, 0] = np.inf  # nothing along that ray: allowed
    poured = np.linspace(0, 60, T, dtype=np.float32)
    volume = np.stack([100 - poured, poured * 0.9, poured * 0.1], axis=1).astype(np.float32)
    eye = np.tile(np.eye(4), (T, 1, 1))
    return {
        "rgb": rng.integers(0, 256, (T, H, W, 3), dtype=np.uint8),
        "thermal": rng.integers(29_000, 34_000, (T, H, W)).astype(np.uint16),
        "mask/visible": visible,
        "mask/full": full,
        "depth": depth,
        "volume": volume,
        "camera/pose": eye,
        "poses/source": eye,
        "poses/target": eye,
    }


def sequence_attrs(seed: int = 0) -> dict:
    return {
        "seed": seed,
        "fps": 30.0,
        "recipe": {"name": "test"},
        "scenario": {"fill_fraction": 0.5},
        "render_variant": {"seed": seed},
        "sim_id": "sim_000000",
    }


K_TEST = np.array([[20.0, 0, 8], [0, 20.0, 6], [0, 0, 1]])


@pytest.fixture
def sequence_file(tmp_path):
    """Path of one valid sequence file and the arrays written into it."""
    from pourbench.datasets.sequence import write_sequence

    frames = synthetic_frames()
    path = tmp_path / "seq_000000.h5"
    write_sequence(path, frames, K_TEST, sequence_attrs())
    return path, frames
