"""Tiny synthetic schema-v1 datasets for tests, demos of the training loop and perf checks.

Not a simulation: a blue, warm stream falls from a glass cup, whose water level drops in
view, into a grey bowl whose front wall hides the pool filling behind it, so ``mask/full``
(tracking) holds water that ``mask/visible`` (detection) does not, and the volumes
(source + target = 200 ml) can be read from the cup in every frame. Cheap to write at any
size, and learnable in a few steps.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pourbench.datasets.sequence import write_sequence

ROOM_CK = 29315  # 20 °C in centi-kelvin
WATER_CK = 31815  # 45 °C


def synthetic_sequence(
    num_frames: int, height: int, width: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Frames dict for :func:`pourbench.datasets.sequence.write_sequence`."""
    T, H, W = num_frames, height, width
    yy, xx = np.mgrid[0:H, 0:W]
    base = rng.uniform(60, 200, size=3)
    ramp = (xx / max(W - 1, 1))[..., None] * rng.uniform(-40, 40, size=3)
    background = np.clip(base + ramp + rng.normal(0, 6, (H, W, 3)), 0, 255)
    bowl_top = int(H * rng.uniform(0.55, 0.7))
    bowl_left, bowl_right = int(W * rng.uniform(0.15, 0.3)), int(W * rng.uniform(0.7, 0.85))
    bowl = (yy >= bowl_top) & (xx >= bowl_left) & (xx < bowl_right)
    stream_x = int(rng.integers(bowl_left + 2, max(bowl_right - 2, bowl_left + 3)))
    cup_top, cup_bottom = max(1, H // 16), max(3, int(H * 0.4))
    cup = (yy >= cup_top) & (yy < cup_bottom) & (xx >= max(1, W // 16)) & (xx < max(3, W // 4))
    stream_w = max(1, W // 20)
    rgb = np.empty((T, H, W, 3), np.uint8)
    thermal = np.empty((T, H, W), np.uint16)
    visible = np.zeros((T, H, W), bool)
    full = np.zeros((T, H, W), bool)
    for t in range(T):
        progress = (t + 1) / T
        stream = (
            (yy < bowl_top + 2) & (yy < int(progress * 2 * H)) & (np.abs(xx - stream_x) <= stream_w)
        )
        level = H - 1 - int(progress * (H - bowl_top) * 0.8)
        pool = bowl & (yy >= level)
        left = 1.0 - t / max(T - 1, 1)  # the cup's share of the 200 ml, as in `volume`
        in_cup = cup & (yy >= cup_bottom - round(left * (cup_bottom - cup_top)))
        water = stream | pool | in_cup
        full[t] = water
        visible[t] = stream | in_cup  # the pool is behind the bowl's front wall
        img = background.copy()
        img[bowl] = (120, 120, 125)
        img[visible[t]] = 0.4 * img[visible[t]] + 0.6 * np.array([40, 90, 220])
        rgb[t] = np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)
        th = ROOM_CK + rng.normal(0, 30, (H, W))
        th[visible[t]] = WATER_CK
        th[pool & ~visible[t]] = ROOM_CK + 300  # the wall warms a little
        thermal[t] = th.astype(np.uint16)
    eye = np.broadcast_to(np.eye(4), (T, 4, 4)).copy()
    fill = np.linspace(0, 200, T, dtype=np.float32)
    volume = np.stack([200 - fill, fill, np.zeros(T, np.float32)], axis=1)
    return {
        "rgb": rgb,
        "thermal": thermal,
        "mask/visible": visible,
        "mask/full": full,
        "depth": np.ones((T, H, W), np.float16),
        "volume": volume,
        "camera/pose": eye,
        "poses/source": eye,
        "poses/target": eye,
    }


def write_synthetic_dataset(
    root: str | os.PathLike,
    splits: dict[str, int] | None = None,
    num_frames: int = 8,
    height: int = 32,
    width: int = 32,
    seed: int = 0,
) -> Path:
    """Write ``root/{split}/seq_XXXXXX.h5`` with ``splits[split]`` sequences each.

    Returns ``root``. Same seed, same files.
    """
    splits = {"train": 2, "val": 1, "test": 1} if splits is None else splits
    root = Path(root)
    rng = np.random.default_rng(seed)
    K = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1]], float)
    index = 0
    for split, count in splits.items():
        for _ in range(count):
            frames = synthetic_sequence(num_frames, height, width, rng)
            attrs = {
                "seed": seed,
                "fps": 30.0,
                "recipe": {"synthetic": True},
                "scenario": {"index": index},
                "render_variant": {},
                "sim_id": f"sim_{index:06d}",
            }
            write_sequence(root / split / f"seq_{index:06d}.h5", frames, K, attrs)
            index += 1
    return root
