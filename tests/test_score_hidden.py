"""Hidden-water metrics of the tracking task, on a hand-worked example."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pourbench.benchmark.score import score

from fixtures import write_mask_sequence, write_predictions

VISIBLE = np.array([[[1, 0, 0], [0, 0, 0]]], bool)
FULL = np.array([[[1, 1, 0], [1, 0, 0]]], bool)  # hidden water at (0,1) and (1,0)
PRED = np.array([[[1, 1, 1], [0, 0, 0]]], np.float16)


def test_hidden_metrics_by_hand(tmp_path):
    gt = tmp_path / "test"
    gt.mkdir()
    write_mask_sequence(gt / "seq_000000.h5", VISIBLE, FULL)
    path = write_predictions(tmp_path / "p.h5", {"seq_000000": PRED}, task="tracking")
    results = score(path, gt, tmp_path / "res", progress=False)
    m = results.pooled
    # all pixels: predicted (0,0) (0,1) (0,2); truth (0,0) (0,1) (1,0): TP 2, FP 1, FN 1
    assert m["f1"] == pytest.approx(2 / 3)
    # without the visible pixel (0,0): predicted (0,1) (0,2), hidden truth (0,1) (1,0)
    assert (m["hidden_precision"], m["hidden_recall"], m["hidden_f1"]) == (0.5, 0.5, 0.5)
    # PR: score 1 -> P 1/2 at R 1/2; score 0 -> P 2/5 at R 1: AP = 0.5*0.5 + 0.5*0.4
    assert m["hidden_ap"] == pytest.approx(0.45)
    doc = json.loads((tmp_path / "res" / "results.json").read_text())
    assert doc["per_sequence"][0]["hidden_f1"] == 0.5
    assert doc["sequence_mean"]["hidden_ap"] == pytest.approx(0.45)
    # detection has no hidden part
    det = score(path, gt, task="tracking", progress=False)
    assert "hidden_f1" in det.pooled
    write_predictions(tmp_path / "d.h5", {"seq_000000": PRED}, task="detection")
    assert "hidden_f1" not in score(tmp_path / "d.h5", gt, progress=False).pooled


def test_nothing_hidden_and_nothing_claimed_scores_one(tmp_path):
    gt = tmp_path / "test"
    gt.mkdir()
    write_mask_sequence(gt / "seq_000000.h5", VISIBLE, VISIBLE)
    path = write_predictions(tmp_path / "p.h5", {"seq_000000": VISIBLE.astype(np.float16)},
                             task="tracking")  # fmt: skip
    m = score(path, gt, progress=False).pooled
    assert m["hidden_f1"] == 1.0 and m["hidden_ap"] == 1.0 and m["f1"] == 1.0
