"""Prediction: train -> predict round trip, native resolution, streaming, bad checkpoints."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from pourbench.benchmark.predict import predict
from pourbench.benchmark.synthetic import write_synthetic_dataset
from pourbench.benchmark.train import train
from pourbench.core.errors import PourbenchError

TINY = dict(epochs=1, clip_len=4, batch_size=2, progress=False, width=0.5)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return write_synthetic_dataset(
        root, {"train": 2, "val": 1, "test": 2}, num_frames=7, height=32, width=24
    )


@pytest.fixture(scope="module")
def runs(data, tmp_path_factory):
    """One 1-epoch run per model; the LSTM one trains at a smaller size for all tasks."""
    root = tmp_path_factory.mktemp("runs")
    return {
        "cnn": train(model="cnn", data=data, out=root / "cnn", **TINY),
        "multiframe": train(model="multiframe", data=data, out=root / "mf", **TINY),
        "lstm": train(
            model="lstm", data=data, out=root / "lstm", task="all", size=(16, 12), **TINY
        ),
    }


def read_predictions(path):
    with h5py.File(path, "r") as h5:
        return dict(h5.attrs), {name: h5[name][()] for name in h5}


def test_round_trip_writes_the_submission_format(data, runs, tmp_path):
    out = tmp_path / "predictions.h5"
    assert predict(runs["cnn"].best_checkpoint, data / "test", out, progress=False) == [out]
    attrs, preds = read_predictions(out)
    assert sorted(preds) == ["seq_000003", "seq_000004"]
    for p in preds.values():
        assert p.shape == (7, 32, 24) and p.dtype == np.float16
        assert np.isfinite(p).all() and p.min() >= 0 and p.max() <= 1
    assert attrs["model"] == "cnn" and attrs["task"] == "detection"
    assert attrs["modality"] == "rgb" and attrs["num_parameters"] == runs["cnn"].num_parameters
    assert attrs["checkpoint"].endswith("best.pt") and attrs["created"].startswith("20")
    assert not list(tmp_path.glob("*.tmp-*"))


def test_all_tasks_at_training_size_give_one_native_file_each(data, runs, tmp_path):
    paths = predict(runs["lstm"].best_checkpoint, data / "test", tmp_path / "p.h5", progress=False)
    assert [p.name for p in paths] == ["p.h5", "p_tracking.h5", "p_volume.h5"]
    tasks = []
    for path in paths[:2]:
        attrs, preds = read_predictions(path)
        tasks.append(attrs["task"])
        assert all(p.shape == (7, 32, 24) for p in preds.values())  # upsampled from 16x12
    attrs, volumes = read_predictions(paths[2])
    assert tasks + [attrs["task"]] == ["detection", "tracking", "volume"]
    assert sorted(volumes) == ["seq_000003", "seq_000004"]
    for v in volumes.values():  # ml in the source and target container per frame
        assert v.shape == (7, 2) and v.dtype == np.float32 and (v >= 0).all()
        assert np.isfinite(v).all() and 1.0 < float(v.mean()) < 1000.0


@pytest.mark.parametrize("name", ["multiframe", "lstm"])
def test_chunked_streaming_equals_one_pass(data, runs, tmp_path, name):
    ckpt = runs[name].best_checkpoint
    results = {}
    for chunk in (64, 3):
        out = predict(
            ckpt, data / "test", tmp_path / f"{chunk}.h5", progress=False, chunk_len=chunk
        )
        results[chunk] = [read_predictions(path)[1] for path in out]
    for chunked, whole in zip(results[3], results[64], strict=True):
        for seq in whole:
            np.testing.assert_allclose(
                chunked[seq].astype(np.float32), whole[seq].astype(np.float32), atol=1e-3,
                rtol=1e-4,
            )


class NotData:
    pass


def test_rejects_checkpoints_that_are_not_ours(data, runs, tmp_path):
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(2)}, plain)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    pickled = tmp_path / "pickled.pt"
    torch.save({"format": "pourbench-checkpoint", "x": NotData()}, pickled)
    for bad, message in [
        (plain, "not a pourbench checkpoint"),
        (garbage, "not a loadable pourbench checkpoint"),
        (pickled, "not a loadable pourbench checkpoint"),
        (tmp_path / "missing.pt", "no such checkpoint"),
    ]:
        with pytest.raises(PourbenchError, match=message):
            predict(bad, data / "test", tmp_path / "out.h5", progress=False)
    with pytest.raises(PourbenchError, match="pass a split"):
        predict(runs["cnn"].best_checkpoint, data, tmp_path / "out.h5", progress=False)
    assert not (tmp_path / "out.h5").exists()


def test_failure_midway_leaves_no_file(data, runs, tmp_path):
    test = tmp_path / "test"
    test.mkdir()
    (test / "seq_000000.h5").write_bytes((data / "test" / "seq_000003.h5").read_bytes())
    (test / "seq_000001.h5").write_bytes(b"corrupt")
    with pytest.raises(PourbenchError, match="cannot open"):
        predict(runs["cnn"].best_checkpoint, test, tmp_path / "out.h5", progress=False)
    assert list(tmp_path.glob("out.h5*")) == []
