"""Training loop: resume equals an uninterrupted run, safe checkpoints, logs, DDP, errors."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from pourbench.baselines import model_from_config
from pourbench.benchmark.loader import SequenceDataset
from pourbench.benchmark.synthetic import write_synthetic_dataset
from pourbench.benchmark.train import _resolve_pos_weight, train
from pourbench.core.errors import PourbenchError
from pourbench.datasets.sequence import SequenceReader

TINY = dict(clip_len=4, batch_size=2, progress=False, width=0.5)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_synthetic_dataset(
        tmp_path_factory.mktemp("data"), {"train": 2, "val": 1}, num_frames=8, height=32, width=32
    )


def test_resume_equals_uninterrupted_run(data, tmp_path):
    kw = dict(model="lstm", data=data, task="both", crop=(24, 24), hflip=True, seed=5, **TINY)
    straight = train(out=tmp_path / "straight", epochs=2, **kw)
    train(out=tmp_path / "resumed", epochs=1, keep_epochs=True, **kw)
    resumed = train(out=tmp_path / "resumed", epochs=2, resume=True, **kw)
    a = torch.load(tmp_path / "straight" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "resumed" / "last.pt", weights_only=True)
    for name, tensor in a["model_state"].items():
        assert torch.equal(tensor, b["model_state"][name]), name
    for pid, state in a["optimizer_state"]["state"].items():
        for key, value in state.items():
            assert torch.equal(value, b["optimizer_state"]["state"][pid][key]), (pid, key)
    assert [r["train_loss"] for r in straight.history] == [r["train_loss"] for r in resumed.history]
    assert b["epoch"] == 2 and len(b["history"]) == 2
    # the resumed epoch did train (equal weights are not two copies of epoch 1)
    first = torch.load(tmp_path / "resumed" / "epoch_001.pt", weights_only=True)
    assert not torch.equal(
        first["model_state"]["cell.gates.weight"], b["model_state"]["cell.gates.weight"]
    )


def test_checkpoint_is_plain_data_and_rebuilds_the_model(data, tmp_path):
    result = train(model="multiframe", data=data, out=tmp_path / "run", epochs=1, **TINY)
    ckpt = torch.load(result.best_checkpoint, weights_only=True)  # no pickled objects
    assert ckpt["format"] == "pourbench-checkpoint" and ckpt["tasks"] == ["detection"]
    assert isinstance(ckpt["rng"]["torch"], torch.Tensor)
    json.dumps({k: ckpt[k] for k in ("model_config", "args", "history", "best_score")})
    model = model_from_config(ckpt["model_config"])
    model.load_state_dict(ckpt["model_state"])
    assert model.num_parameters() == ckpt["num_parameters"] == result.num_parameters
    assert ckpt["model_config"]["num_frames"] == 4


def test_metrics_log_and_validation_on_train_without_val(tmp_path):
    data = write_synthetic_dataset(tmp_path / "d", {"train": 1}, num_frames=4, height=16, width=16)
    result = train(
        model="cnn", data=data, out=tmp_path / "run", epochs=2, task="tracking",
        modality="rgb+thermal", **TINY,
    )  # fmt: skip
    rows = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert {"train_loss", "val_loss", "val_f1_tracking", "best_score"} <= set(rows[0])
    history = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert history == result.history
    assert result.best_metric == "val_f1_tracking"
    assert 0.0 <= result.best_score <= 1.0
    assert result.best_score == max(r["val_f1_tracking"] for r in history)


def test_volume_training_picks_the_lowest_error(data, tmp_path):
    """Volume is the main task: best.pt is the epoch with the lowest target-container error
    (lower is better), and the head's scale is the training set's mean ml."""
    result = train(
        model="cnn", data=data, out=tmp_path / "run", epochs=3, task="volume", **TINY
    )  # fmt: skip
    errors = [r["val_mae_target_ml_volume"] for r in result.history]
    assert result.best_metric == "val_mae_target_ml_volume"
    assert result.best_score == min(errors) and all(0 <= e < 400 for e in errors)
    ckpt = torch.load(result.best_checkpoint, weights_only=True)
    assert ckpt["tasks"] == ["volume"] and ckpt["best_epoch"] == 1 + errors.index(min(errors))
    config = ckpt["model_config"]
    assert config["out_channels"] == 0 and config["volume_outputs"] == 2
    assert config["volume_scale_ml"] == pytest.approx(100.0, rel=0.01)  # mean of 200-f and f


def test_joint_training_reports_every_task(data, tmp_path):
    result = train(model="lstm", data=data, out=tmp_path / "run", epochs=1, task="all", **TINY)
    row = result.history[0]
    for key in ("val_f1_detection", "val_f1_tracking", "val_mae_source_ml_volume",
                "val_mae_target_ml_volume"):  # fmt: skip
        assert key in row and np.isfinite(row[key])
    ckpt = torch.load(result.best_checkpoint, weights_only=True)
    assert ckpt["tasks"] == ["detection", "tracking", "volume"]
    assert result.best_metric == "val_f1_detection"  # the main task is the first named
    assert ckpt["model_config"]["out_channels"] == 2
    later = train(model="cnn", data=data, out=tmp_path / "v", epochs=1, task="volume+tracking",
                  **TINY)  # fmt: skip
    assert later.best_metric == "val_mae_target_ml_volume"


def test_auto_pos_weight_is_negatives_over_positives(data):
    ds = SequenceDataset(data, "train", clip_len=4, tasks=("detection", "tracking"))
    weights = _resolve_pos_weight("auto", ds)
    for i, key in enumerate(("mask/visible", "mask/full")):
        masks = np.concatenate([SequenceReader(p).read(key) for p in ds.files])
        expected = np.clip((masks.size - masks.sum()) / masks.sum(), 1, 100)
        assert weights[i] == pytest.approx(expected)
    assert _resolve_pos_weight(None, ds) == [1.0, 1.0]
    with pytest.raises(PourbenchError, match="number or 'auto'"):
        _resolve_pos_weight("lots", ds)


def test_bad_input_raises_one_clear_error(data, tmp_path):
    with pytest.raises(PourbenchError, match="valid models: cnn, lstm, multiframe"):
        train(model="unet", data=data, out=tmp_path / "r")
    with pytest.raises(PourbenchError, match="no such data folder"):
        train(model="cnn", data=tmp_path / "missing", out=tmp_path / "r")
    with pytest.raises(PourbenchError, match="unknown task 'mass'"):
        train(model="cnn", data=data, out=tmp_path / "r", task="detection+mass")
    train(model="cnn", data=data, out=tmp_path / "r", epochs=1, **TINY)
    with pytest.raises(PourbenchError, match="already holds a run"):
        train(model="cnn", data=data, out=tmp_path / "r", epochs=1, **TINY)
    with pytest.raises(PourbenchError, match="cannot resume, model"):
        train(model="lstm", data=data, out=tmp_path / "r", epochs=2, resume=True, **TINY)


def test_torchrun_two_cpu_processes(data, tmp_path):
    """DDP with gloo on CPU: two ranks train together, only rank 0 writes."""
    out = tmp_path / "ddp"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "pourbench.cli.train", "--model", "cnn", "--data", str(data),
        "--out", str(out), "--epochs", "2", "--clip-len", "4", "--batch-size", "1",
        "--width", "0.5", "--no-progress", "--device", "cpu",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = torch.load(out / "last.pt", weights_only=True)
    assert ckpt["args"]["world_size"] == 2 and ckpt["epoch"] == 2
    assert sorted(p.name for p in out.iterdir()) == [
        "best.pt", "last.pt", "metrics.csv", "metrics.json"
    ]  # fmt: skip
    assert "best val_f1_detection" in proc.stdout


@pytest.mark.parametrize("stateful", [True, False])
def test_stateful_training_carries_memory_across_windows(data, tmp_path, monkeypatch, stateful):
    """Stateful: each batch is whole 8-frame sequences in two 4-frame windows, the second
    starting from the state the first left (cut from the graph); otherwise every clip starts
    from a zero state."""
    from pourbench.baselines.base import SegmentationModel

    seen = []
    original = SegmentationModel.forward

    def spy(self, frames, state=None, **kw):
        if self.training:
            requires_grad = state is not None and any(
                s.requires_grad for s in state if isinstance(s, torch.Tensor))  # fmt: skip
            seen.append((frames.shape[1], state is None, requires_grad))
        return original(self, frames, state, **kw)

    monkeypatch.setattr(SegmentationModel, "forward", spy)
    train(model="lstm", data=data, out=tmp_path / "r", epochs=1, stateful=stateful, **TINY)
    if stateful:  # 2 sequences, batch 2: one batch, two windows
        assert seen == [(4, True, False), (4, False, False)]
    else:  # 2 clips per sequence, batch 2: two batches of independent clips
        assert seen == [(4, True, False), (4, True, False)]
