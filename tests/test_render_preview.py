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


def test_animate_gif(tmp_path):
    import imageio.v3 as iio

    out = animate(*_seq(T=3), tmp_path / "a.gif")
    frames = iio.imread(out, index=None)
    assert frames.shape[0] == 3 and frames.shape[1:3] == (2 * 24 + 2, 2 * 32 + 2)


def _smooth_seq(T=4, H=24, W=32):
    """Panels with large flat areas (lossy video keeps them): left half water, right dry."""
    rgb = np.zeros((T, H, W, 3), np.uint8)
    rgb[..., 0] = np.linspace(0, 255, T, dtype=np.uint8)[:, None, None]  # red ramps over time
    thermal = np.full((T, H, W), 30_000, np.uint16)
    full = np.zeros((T, H, W), bool)
    full[:, :, : W // 2] = True
    return rgb, thermal, full.copy(), full


def test_animate_mp4_with_ffmpeg(tmp_path):
    """The .mp4 path with ffmpeg at hand (imageio-ffmpeg, a dev dependency): a real video of
    T frames of the 2 x 2 panel tile whose content follows the input."""
    pytest.importorskip("imageio_ffmpeg")
    import imageio.v3 as iio

    T, H, W = 4, 24, 32
    out = animate(*_smooth_seq(T, H, W), tmp_path / "a.mp4", fps=10)
    assert out == tmp_path / "a.mp4" and sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4"]
    assert out.read_bytes()[4:8] == b"ftyp"  # an MP4 container
    frames = iio.imread(out, index=None, extension=".mp4")
    assert frames.shape == (T, 2 * H + 2, 2 * W + 2, 3)
    # the rgb panel (top left) ramps up in red over time, as the input does
    red = frames[:, 4 : H - 4, 4 : W - 4, 0].mean(axis=(1, 2))
    assert np.all(np.diff(red) > 20) and red[0] < 40 and red[-1] > 215


def test_animate_mp4_without_ffmpeg_is_one_clear_error(tmp_path, monkeypatch):
    """Without imageio-ffmpeg (simulated: the import fails) an .mp4 is refused with a line
    that names the package and the .gif alternative, and nothing is written."""
    import sys

    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import raises ImportError
    with pytest.raises(PourbenchError, match=r"needs the imageio-ffmpeg package.*\.gif") as e:
        animate(*_seq(T=3), tmp_path / "a.mp4")
    assert "\n" not in str(e.value)
    assert list(tmp_path.iterdir()) == []


def test_grid_of_sequences(tmp_path):
    import imageio.v3 as iio

    out = grid_of_sequences([_seq(seed=s) for s in range(5)], tmp_path / "grid.png", n_cols=2)
    img = iio.imread(out)
    assert img.shape == (3 * 24 + 2 * 4, 2 * 64 + 4, 3)


def test_mismatched_shapes_are_reported(tmp_path):
    rgb, thermal, vis, full = _seq()
    with pytest.raises(PourbenchError, match="thermal"):
        contact_sheet(rgb, thermal[:, :10], vis, full, tmp_path / "x.png")
