"""SequenceDataset: exact frames, clip indexing, seeded augmentations, workers, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from pourbench.benchmark.loader import (
    RGB_MEAN,
    RGB_STD,
    SequenceDataset,
    normalise_frames,
)
from pourbench.benchmark.synthetic import synthetic_sequence, write_synthetic_dataset
from pourbench.core.errors import PourbenchError
from pourbench.datasets.sequence import write_sequence

ATTRS = {"seed": 0, "fps": 30.0, "recipe": {}, "scenario": {}, "render_variant": {}, "sim_id": "s"}


def write_random(path, T=10, H=12, W=16, seed=0):
    rng = np.random.default_rng(seed)
    seq = synthetic_sequence(T, H, W, rng)
    seq["rgb"] = rng.integers(0, 256, (T, H, W, 3), dtype=np.uint8)
    seq["thermal"] = rng.integers(27000, 33000, (T, H, W), dtype=np.uint16)
    seq["mask/full"] = rng.random((T, H, W)) < 0.5
    seq["mask/visible"] = seq["mask/full"] & (rng.random((T, H, W)) < 0.5)
    write_sequence(path, seq, np.eye(3), ATTRS)
    return seq


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_synthetic_dataset(
        tmp_path_factory.mktemp("data"), {"train": 3, "val": 1}, num_frames=8, height=32, width=32
    )


def test_returns_exactly_the_frames_written(tmp_path):
    seq = write_random(tmp_path / "seq_000000.h5")
    ds = SequenceDataset(
        tmp_path, clip_len=4, stride=3, modality="rgb+thermal", tasks=("tracking", "detection")
    )
    assert [(c[1], c[2]) for c in ds.clips] == [(0, 4), (3, 4), (6, 4)]
    item = ds[1]
    assert item["sequence"] == "seq_000000" and item["start"] == 3
    x, y = item["frames"], item["masks"]
    assert x.dtype == y.dtype == torch.float32
    assert x.shape == (4, 4, 12, 16) and y.shape == (4, 2, 12, 16)
    mean, std = torch.tensor(RGB_MEAN).view(3, 1, 1), torch.tensor(RGB_STD).view(3, 1, 1)
    rgb = (x[:, :3] * std + mean) * 255  # undo the documented normalisation
    np.testing.assert_allclose(rgb.permute(0, 2, 3, 1).numpy(), seq["rgb"][3:7], atol=1e-3)
    centi_kelvin = ((x[:, 3] * 20 + 30) + 273.15) * 100
    np.testing.assert_allclose(centi_kelvin.numpy(), seq["thermal"][3:7], atol=0.1)
    np.testing.assert_array_equal(y[:, 0].numpy(), seq["mask/full"][3:7])
    np.testing.assert_array_equal(y[:, 1].numpy(), seq["mask/visible"][3:7])


def test_thermal_scaling_hand_worked():
    ck = np.array([[[29315, 30315, 32315]]], np.uint16)  # 20, 30, 50 °C
    x = normalise_frames(None, ck, "thermal")
    torch.testing.assert_close(x.flatten(), torch.tensor([-0.5, 0.0, 1.0]))


def test_whole_sequences_and_short_ones(tmp_path):
    write_random(tmp_path / "seq_000000.h5", T=6)
    write_random(tmp_path / "seq_000001.h5", T=3)
    whole = SequenceDataset(tmp_path, clip_len=None)
    assert [whole[i]["frames"].shape[0] for i in range(len(whole))] == [6, 3]
    assert len(SequenceDataset(tmp_path, clip_len=4)) == 1  # the 3-frame file has no clip


def test_resize_gives_coverage_fractions(tmp_path):
    write_random(tmp_path / "seq_000000.h5", H=12, W=16)
    item = SequenceDataset(tmp_path, clip_len=2, size=(6, 8))[0]
    assert item["frames"].shape == (2, 3, 6, 8) and item["masks"].shape == (2, 1, 6, 8)
    raw = SequenceDataset(tmp_path, clip_len=2)[0]["masks"]
    torch.testing.assert_close(item["masks"], raw.reshape(2, 1, 6, 2, 8, 2).mean((3, 5)))


def test_augmentations_are_seeded_and_consistent(data):
    plain = SequenceDataset(data, "train", clip_len=4, tasks=("detection", "tracking"))
    aug = SequenceDataset(
        data, "train", clip_len=4, tasks=("detection", "tracking"), crop=(24, 20), hflip=True,
        seed=3,
    )
    again = SequenceDataset(
        data, "train", clip_len=4, tasks=("detection", "tracking"), crop=(24, 20), hflip=True,
        seed=3,
    )
    layouts = set()
    for epoch in range(4):
        aug.set_epoch(epoch)
        again.set_epoch(epoch)
        for i in (0, 3):
            a, b = aug[i], again[i]
            torch.testing.assert_close(a["frames"], b["frames"], rtol=0, atol=0)
            layouts.add(_find_layout(plain[i], a))  # frames and targets moved together
    assert len(layouts) > 1  # epochs differ


def _find_layout(base, aug):
    h, w = aug["frames"].shape[-2:]
    for flip in (False, True):
        x, y = base["frames"], base["masks"]
        if flip:
            x, y = x.flip(-1), y.flip(-1)
        for top in range(x.shape[-2] - h + 1):
            for left in range(x.shape[-1] - w + 1):
                window = (..., slice(top, top + h), slice(left, left + w))
                if torch.equal(x[window], aug["frames"]) and torch.equal(y[window], aug["masks"]):
                    return flip, top, left
    raise AssertionError("augmented clip is not a crop/flip of the original")


def test_dataloader_with_two_workers_matches_in_process(data):
    ds = SequenceDataset(data, "train", clip_len=4, hflip=True, crop=(24, 24), seed=1)
    ds.set_epoch(2)
    serial = list(DataLoader(ds, batch_size=2, num_workers=0))
    parallel = list(DataLoader(ds, batch_size=2, num_workers=2))
    assert len(serial) == len(parallel) == 3
    for a, b in zip(serial, parallel, strict=True):
        torch.testing.assert_close(a["frames"], b["frames"], rtol=0, atol=0)
        torch.testing.assert_close(a["masks"], b["masks"], rtol=0, atol=0)
        assert a["sequence"] == b["sequence"]


def test_ignores_debris_and_reports_bad_folders(tmp_path, data):
    (data / "train" / "seq_000099.h5.tmp-1234").write_bytes(b"half written")
    assert len(SequenceDataset(data, "train", clip_len=8).files) == 3
    with pytest.raises(PourbenchError, match="no such data folder"):
        SequenceDataset(data, "test")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PourbenchError, match="no sequence files"):
        SequenceDataset(tmp_path / "empty")
    with pytest.raises(PourbenchError, match="pass a split"):
        SequenceDataset(data)
    with pytest.raises(PourbenchError, match="unknown modality"):
        SequenceDataset(data, "train", modality="depth")
    with pytest.raises(PourbenchError, match="unknown task 'wet'"):
        SequenceDataset(data, "train", tasks=("wet",))
