"""Test helpers: tiny ground-truth splits and predictions files, for the scorer's tests.

The sequences are schema-v1 files whose images are blank: only the masks matter to the
scorer. Importable as ``fixtures`` (``pythonpath = ["tests"]`` in pyproject.toml); not part
of the package.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from pourbench.datasets.sequence import write_sequence


def write_mask_sequence(
    path: str | os.PathLike,
    visible: np.ndarray,
    full: np.ndarray | None = None,
    volume: np.ndarray | None = None,
) -> None:
    """Write a sequence file with the given masks (bool (T, H, W)) and blank images.

    ``full`` defaults to ``visible``; it must contain it (schema invariant). ``volume``:
    ml (T, 3) in source, target, spilled; zeros by default.
    """
    visible = np.asarray(visible, bool)
    full = visible.copy() if full is None else np.asarray(full, bool)
    if visible.shape != full.shape or (visible & ~full).any():
        raise ValueError("mask/visible must have the shape of mask/full and lie inside it")
    T, H, W = visible.shape
    eye = np.broadcast_to(np.eye(4), (T, 4, 4))
    frames = {
        "rgb": np.zeros((T, H, W, 3), np.uint8),
        "thermal": np.zeros((T, H, W), np.uint16),
        "mask/visible": visible,
        "mask/full": full,
        "depth": np.full((T, H, W), np.inf, np.float16),
        "volume": np.zeros((T, 3), np.float32) if volume is None else np.asarray(volume),
        "camera/pose": eye,
        "poses/source": eye,
    }
    attrs = {"seed": 0, "fps": 30, "recipe": {}, "scenario": {}, "render_variant": {},
             "sim_id": 0}
    K = np.array([[W, 0, W / 2], [0, W, H / 2], [0, 0, 1]], float)
    write_sequence(path, frames, K, attrs)


def write_predictions(
    path: str | os.PathLike, arrays: Mapping[str, np.ndarray], **attrs: Any
) -> Path:
    """Write a predictions file: one dataset per sequence name, arrays stored as given.

    ``attrs`` become root attributes (``model``, ``modality``, ``task``, ...).
    """
    path = Path(path)
    with h5py.File(path, "w") as f:
        for name, a in arrays.items():
            f.create_dataset(name, data=a)
        for key, value in attrs.items():
            f.attrs[key] = value
    return path
