"""Previews for people: contact sheets, animations and dataset grids of rendered sequences.

Rows of a contact sheet: rgb | thermal (colour-mapped) | visible-mask overlay | full-mask
overlay, columns evenly spaced in time. Files are written atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pourbench.core.atomic import atomic_path
from pourbench.core.errors import PourbenchError

VISIBLE_COLOR = np.array([40, 230, 80], np.float32)  # green
FULL_COLOR = np.array([230, 40, 200], np.float32)  # magenta
OVERLAY_ALPHA = 0.55


def thermal_to_rgb(
    thermal: np.ndarray, lo_k: float | None = None, hi_k: float | None = None
) -> np.ndarray:
    """(..., H, W) uint16 centi-kelvin -> (..., H, W, 3) uint8 with the 'inferno' colormap.

    The range defaults to the 1st-99.5th percentiles of the given frames (one scale for all).
    """
    from matplotlib import colormaps

    k = thermal.astype(np.float32) / 100.0
    lo = float(np.percentile(k, 1)) if lo_k is None else lo_k
    hi = float(np.percentile(k, 99.5)) if hi_k is None else hi_k
    t = np.clip((k - lo) / max(hi - lo, 1e-3), 0, 1)
    lut = (colormaps["inferno"](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)
    return lut[(t * 255).astype(np.uint8)]


def overlay(rgb: np.ndarray, mask: np.ndarray, color=VISIBLE_COLOR) -> np.ndarray:
    """(..., H, W, 3) uint8 with ``mask`` (..., H, W) tinted in ``color``."""
    out = rgb.astype(np.float32)
    m = mask[..., None].astype(np.float32) * OVERLAY_ALPHA
    out = out * (1 - m) + np.asarray(color, np.float32) * m
    return out.astype(np.uint8)


def _check(rgb, thermal, mask_visible, mask_full) -> None:
    if rgb.ndim != 4 or rgb.shape[-1] != 3:
        raise PourbenchError(f"preview: rgb must be (T, H, W, 3), got {rgb.shape}")
    for name, a in (("thermal", thermal), ("mask_visible", mask_visible), ("mask_full", mask_full)):
        if a.shape != rgb.shape[:3]:
            raise PourbenchError(f"preview: {name} has shape {a.shape}, expected {rgb.shape[:3]}")


def frame_rows(rgb, thermal, mask_visible, mask_full) -> np.ndarray:
    """(4, T, H, W, 3) uint8: rgb, thermal, visible overlay, full overlay for each frame."""
    _check(rgb, thermal, mask_visible, mask_full)
    return np.stack(
        [
            rgb,
            thermal_to_rgb(thermal),
            overlay(rgb, mask_visible, VISIBLE_COLOR),
            overlay(rgb, mask_full, FULL_COLOR),
        ]
    )


def _tile(images: np.ndarray, gap: int = 2) -> np.ndarray:
    """(R, C, H, W, 3) -> one (R*(H+gap)-gap, C*(W+gap)-gap, 3) image on white."""
    R, C, H, W, _ = images.shape
    sheet = np.full((R * (H + gap) - gap, C * (W + gap) - gap, 3), 255, np.uint8)
    for r in range(R):
        for c in range(C):
            sheet[r * (H + gap): r * (H + gap) + H, c * (W + gap): c * (W + gap) + W] = images[r, c]
    return sheet


def _write_image(out_path: str | Path, image: np.ndarray) -> Path:
    import imageio.v3 as iio

    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        iio.imwrite(tmp, image, extension=out_path.suffix or ".png")
    return out_path


def contact_sheet(
    rgb: np.ndarray,
    thermal: np.ndarray,
    mask_visible: np.ndarray,
    mask_full: np.ndarray,
    out_path: str | Path,
    n_cols: int = 6,
) -> Path:
    """Write a PNG: rows rgb | thermal | visible overlay | full overlay, n_cols times.

    Args:
        rgb: (T, H, W, 3) uint8; thermal: (T, H, W) uint16 centi-kelvin;
        mask_visible, mask_full: (T, H, W) bool.
        out_path: the .png to write.
        n_cols: frames shown, evenly spaced from first to last (fewer if T is smaller).
    """
    T = rgb.shape[0]
    idx = np.unique(np.linspace(0, T - 1, min(n_cols, T)).round().astype(int))
    rows = frame_rows(rgb[idx], thermal[idx], mask_visible[idx], mask_full[idx])
    return _write_image(out_path, _tile(rows))


def animate(
    rgb: np.ndarray,
    thermal: np.ndarray,
    mask_visible: np.ndarray,
    mask_full: np.ndarray,
    out_path: str | Path,
    fps: float = 15.0,
) -> Path:
    """Write a .gif (imageio) or .mp4 (needs imageio-ffmpeg) of the four panels side by side
    (2 x 2: rgb, thermal / visible overlay, full overlay) over time."""
    import imageio.v3 as iio

    out_path = Path(out_path)
    suffix = out_path.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise PourbenchError(f"{out_path}: animation must be .gif or .mp4, got {suffix!r}")
    if suffix == ".mp4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError as e:
            raise PourbenchError(
                f"{out_path}: writing .mp4 needs the imageio-ffmpeg package "
                "(pip install imageio-ffmpeg); or write a .gif instead"
            ) from e
    rows = frame_rows(rgb, thermal, mask_visible, mask_full)  # (4, T, H, W, 3)
    frames = np.stack([_tile(rows[:, t].reshape(2, 2, *rows.shape[2:])) for t in
                       range(rgb.shape[0])])
    with atomic_path(out_path) as tmp:
        if suffix == ".gif":
            iio.imwrite(tmp, frames, extension=".gif", duration=1000.0 / fps, loop=0)
        else:
            h, w = frames.shape[1] // 2 * 2, frames.shape[2] // 2 * 2  # even sizes for h264
            # the temporary name does not end in .mp4: name the format; keep the size as is
            iio.imwrite(tmp, frames[:, :h, :w], extension=".mp4", fps=fps, macro_block_size=1,
                        output_params=["-f", "mp4"])
    return out_path


def grid_of_sequences(
    sequences: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    out_path: str | Path,
    n_cols: int = 4,
) -> Path:
    """Dataset-level preview: the middle frame of each sequence, rgb over its full mask
    and thermal side by side, in a grid of ``n_cols`` sequences per row.

    Args:
        sequences: one (rgb (T,H,W,3), thermal (T,H,W), mask_visible, mask_full) per sequence,
            all of the same H and W (the caller picks which sequences, e.g. at random).
        out_path: the .png to write.
    """
    if not sequences:
        raise PourbenchError("grid_of_sequences: no sequences given")
    tiles = []
    for rgb, thermal, vis, full in sequences:
        _check(rgb, thermal, vis, full)
        t = rgb.shape[0] // 2
        left = overlay(overlay(rgb[t], full[t] & ~vis[t], FULL_COLOR), vis[t], VISIBLE_COLOR)
        tiles.append(np.concatenate([left, thermal_to_rgb(thermal[t])], axis=1))
    shapes = {tile.shape for tile in tiles}
    if len(shapes) != 1:
        raise PourbenchError(f"grid_of_sequences: frames differ in size: {sorted(shapes)}")
    n_cols = max(1, min(n_cols, len(tiles)))
    n_rows = -(-len(tiles) // n_cols)
    blank = np.full_like(tiles[0], 255)
    tiles += [blank] * (n_rows * n_cols - len(tiles))
    grid = np.stack(tiles).reshape(n_rows, n_cols, *tiles[0].shape)
    return _write_image(out_path, _tile(grid, gap=4))
