"""The volume task's scorer: hand-worked errors, strict checks, outputs."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from pourbench.benchmark.score import score
from pourbench.core.errors import PourbenchError

from fixtures import write_mask_sequence, write_predictions

# ml in (source, target, spilled) per frame; the scorer reads source and target.
TRUTH = {
    "seq_000000": [[100, 0, 0], [80, 20, 0], [60, 40, 0]],
    "seq_000001": [[50, 10, 0], [50, 10, 0]],
}
# predicted (source, target)
PRED = {
    "seq_000000": [[90, 0], [80, 30], [70, 30]],
    "seq_000001": [[50, 20], [40, 10]],
}


@pytest.fixture
def gt(tmp_path):
    folder = tmp_path / "test"
    folder.mkdir()
    for name, volume in TRUTH.items():
        v = np.asarray(volume, np.float32)
        write_mask_sequence(folder / f"{name}.h5", np.zeros((len(v), 4, 5), bool), volume=v)
    return folder


def predictions(path, dtype=np.float32, **override):
    arrays = {k: np.asarray(v, dtype) for k, v in PRED.items()}
    arrays.update(override)
    return write_predictions(path, arrays, task="volume", model="hand")


def test_errors_equal_a_hand_computation(gt, tmp_path):
    results = score(predictions(tmp_path / "p.h5"), gt, tmp_path / "res", progress=False)
    pooled = results.pooled
    # |errors| source: 10 0 10 | 0 10 -> 30 over 5 frames; target: 0 10 10 | 10 0 -> 30
    assert pooled["mae_source_ml"] == pytest.approx(6.0)
    assert pooled["mae_target_ml"] == pytest.approx(6.0)
    # last frames: source |70-60|, |40-50|; target |30-40|, |10-10|
    assert pooled["final_mae_source_ml"] == pytest.approx(10.0)
    assert pooled["final_mae_target_ml"] == pytest.approx(5.0)
    # mean true target (0+20+40+10+10)/5 = 16; source (100+80+60+50+50)/5 = 68
    assert pooled["rel_mae_target"] == pytest.approx(6.0 / 16.0)
    assert pooled["rel_mae_source"] == pytest.approx(6.0 / 68.0)
    assert results.sequence_mean["mae_target_ml"] == pytest.approx((20 / 3 + 5) / 2)
    # and an independent computation over the arrays, frame-weighted
    truth = np.concatenate([np.asarray(v, float)[:, :2] for v in TRUTH.values()])
    pred = np.concatenate([np.asarray(v, float) for v in PRED.values()])
    assert pooled["mae_source_ml"] == pytest.approx(np.abs(pred - truth)[:, 0].mean())

    doc = json.loads((tmp_path / "res" / "results.json").read_text())
    assert doc["task"] == "volume" and doc["target"] == "volume"
    assert doc["mae_target_ml"] == pytest.approx(6.0) and doc["mae_source_ml"] == pytest.approx(6)
    assert doc["all_frames"]["final_mae_target_ml"] == pytest.approx(5.0)
    rows = list(csv.DictReader(open(tmp_path / "res" / "per_sequence.csv")))
    assert [r["sequence"] for r in rows] == list(TRUTH)
    assert float(rows[1]["mae_target_ml"]) == pytest.approx(5.0)
    assert (tmp_path / "res" / "volume_target.png").stat().st_size > 1000
    assert "mae_target_ml" in results.summary()


def test_float16_is_accepted(gt, tmp_path):
    results = score(predictions(tmp_path / "p.h5", np.float16), gt, task="volume", progress=False)
    assert results.pooled["mae_target_ml"] == pytest.approx(6.0)


def test_every_problem_is_listed(gt, tmp_path):
    bad = {
        "seq_000000": np.array([[np.nan, 0], [80, np.inf], [-3, 30]], np.float32),
        "seq_000001": np.zeros((2, 3), np.float32),  # three columns, expected two
        "seq_000009": np.zeros((2, 2), np.float32),
    }
    path = write_predictions(tmp_path / "p.h5", bad, task="volume")
    with pytest.raises(PourbenchError) as e:
        score(path, gt, progress=False)
    text = str(e.value)
    for needle in ("seq_000000: 1 NaN", "seq_000000: 1 infinite", "1 negative volumes",
                   "seq_000001: wrong shape (2, 3), expected (2, 2)",
                   "seq_000009: extra entry"):  # fmt: skip
        assert needle in text, text
    missing = write_predictions(tmp_path / "m.h5", {"seq_000000": np.zeros((3, 2))}, task="volume")
    with pytest.raises(PourbenchError) as e:
        score(missing, gt, progress=False)
    assert "seq_000001: missing sequence" in str(e.value)
    assert "wrong dtype float64, allowed for volume: float32, float16" in str(e.value)


def test_task_must_agree_with_the_file(gt, tmp_path):
    path = predictions(tmp_path / "p.h5")
    with pytest.raises(PourbenchError, match="holds volume predictions"):
        score(path, gt, task="detection", progress=False)
    plain = write_predictions(tmp_path / "q.h5", {k: np.asarray(v, np.float32)
                                                   for k, v in PRED.items()})  # fmt: skip
    with pytest.raises(PourbenchError, match="wrong shape"):  # no attribute: detection
        score(plain, gt, progress=False)
    assert score(plain, gt, task="volume", progress=False).pooled["mae_source_ml"] == 6.0
