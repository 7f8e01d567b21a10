"""Preview images and animations of rendered sequences."""

from __future__ import annotations

import numpy as np
import pytest

from pourbench.core.errors import PourbenchError
from pourbench.render.preview import animate, contact_sheet, grid_of_sequences


def _seq(T=5, H=24, W=32, seed=0):
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (T, H, W, 3), dtype=np.uint8)
    thermal = rng.integers(29_000, 34_000, (T, H, W)).astype(np.uint16)
    full = rng.random((T, H, W)) > 0.5
    return rgb, thermal, full & (rng.random((T, H, W)) > 0.5), full


def test_contact_sheet_layout(tmp_path):
    import imageio.v3 as iio

    out = contact_sheet(*_seq(), tmp_path / "sheet.png", n_cols=3)
    img = iio.imread(out)
    assert img.shape == (4 * 24 + 3 * 2, 3 * 32 + 2 * 2, 3)


def test_animate_gif_and_mp4_error(tmp_path):
    import imageio.v3 as iio

    out = animate(*_seq(T=3), tmp_path / "a.gif")
    frames = iio.imread(out, index=None)
    assert frames.shape[0] == 3 and frames.shape[1:3] == (2 * 24 + 2, 2 * 32 + 2)
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        with pytest.raises(PourbenchError, match="gif"):
            animate(*_seq(T=3), tmp_path / "a.mp4")


def test_grid_of_sequences(tmp_path):
    import imageio.v3 as iio

    out = grid_of_sequences([_seq(seed=s) for s in range(5)], tmp_path / "grid.png", n_cols=2)
    img = iio.imread(out)
    assert img.shape == (3 * 24 + 2 * 4, 2 * 64 + 4, 3)


def test_mismatched_shapes_are_reported(tmp_path):
    rgb, thermal, vis, full = _seq()
    with pytest.raises(PourbenchError, match="thermal"):
        contact_sheet(rgb, thermal[:, :10], vis, full, tmp_path / "x.png")
