"""End-to-end scoring of tiny splits: hand-computed values, outputs, provenance, freshness."""

import csv
import json

import numpy as np
import pytest

from pourbench.benchmark import submission
from pourbench.benchmark.score import score
from pourbench.benchmark.submission import file_sha256
from pourbench.core.errors import PourbenchError

from fixtures import write_mask_sequence, write_predictions


def masks():
    """seq_000000 (2, 3, 4): 3 visible pixels, 5 in mask/full; seq_000001 (1, 3, 4): no water."""
    vis = np.zeros((2, 3, 4), bool)
    vis[0, 0, 0] = vis[0, 0, 1] = vis[1, 1, 1] = True
    full = vis.copy()
    full[:, 2, 3] = True
    return {"seq_000000": (vis, full), "seq_000001": (np.zeros((1, 3, 4), bool),) * 2}


@pytest.fixture(scope="module")
def gt(tmp_path_factory):
    folder = tmp_path_factory.mktemp("split") / "test"
    folder.mkdir()
    for name, (vis, full) in masks().items():
        write_mask_sequence(folder / f"{name}.h5", vis, full)
    return folder


def perfect_detection(path, **attrs):
    """uint8 predictions equal to mask/visible (255 = water)."""
    arrays = {n: vis.astype(np.uint8) * 255 for n, (vis, _) in masks().items()}
    return write_predictions(path, arrays, model="oracle", modality="rgb", num_parameters=7,
                             **attrs)


def inverted_detection(path, **attrs):
    """float16 predictions 1 - mask/visible."""
    arrays = {n: (1 - vis).astype(np.float16) for n, (vis, _) in masks().items()}
    return write_predictions(path, arrays, model="contrarian", modality="thermal", **attrs)


def test_perfect_detection_scores_one_everywhere(gt, tmp_path):
    r = score(perfect_detection(tmp_path / "p.h5"), gt, progress=False)
    assert r.task == "detection"
    for agg in (r.all_pixels, r.sequence_mean):
        assert all(agg[k] == 1.0 for k in ("precision", "recall", "f1", "iou", "ap", "best_f1"))
    empty = r.per_sequence[1]
    assert (empty["sequence"], empty["positives"], empty["f1"]) == ("seq_000001", 0, 1.0)


def test_tracking_scores_against_mask_full(gt, tmp_path):
    r = score(perfect_detection(tmp_path / "p.h5"), gt, task="tracking", progress=False)
    seq = r.per_sequence[0]
    # 3 of the 5 full-mask pixels predicted at score 1, the other 21 pixels at 0
    assert (seq["positives"], seq["predicted_positives"]) == (5, 3)
    assert (seq["precision"], seq["recall"], seq["f1"], seq["iou"]) == (1.0, 0.6, 0.75, 0.6)
    # points (P, R): (1, .6) at 1; (5/24, 1) at 0 -> AP = .6 + .4 * 5/24
    assert seq["ap"] == pytest.approx(0.6 + 0.4 * 5 / 24)
    assert (seq["best_f1"], seq["best_threshold"]) == (0.75, 1.0)
    # pooled: the empty sequence adds 12 negatives at score 0 -> last point (5/36, 1)
    assert r.all_pixels["ap"] == pytest.approx(0.6 + 0.4 * 5 / 36)
    assert r.all_pixels["f1"] == 0.75
    assert r.sequence_mean["f1"] == pytest.approx((0.75 + 1.0) / 2)
    assert r.sequence_mean["ap"] == pytest.approx((0.6 + 0.4 * 5 / 24 + 1.0) / 2)


def test_inverted_predictions_score_zero(gt, tmp_path):
    r = score(inverted_detection(tmp_path / "p.h5"), gt, progress=False)
    for agg in (r.all_pixels, r.sequence_mean):
        assert (agg["precision"], agg["f1"], agg["iou"]) == (0.0, 0.0, 0.0)
    assert r.per_sequence[1]["recall"] == 1.0  # nothing to miss in the empty sequence
    assert r.per_sequence[1]["ap"] == 0.0  # but it claims water everywhere


def test_chunked_reading_gives_the_same_numbers(gt, tmp_path, monkeypatch):
    path = inverted_detection(tmp_path / "p.h5")
    whole = score(path, gt, progress=False)
    monkeypatch.setattr(submission, "CHUNK_PIXELS", 12)  # one frame per chunk
    chunked = score(path, gt, progress=False)
    assert chunked.all_pixels == whole.all_pixels
    assert chunked.per_sequence == whole.per_sequence


def test_outputs_and_provenance(gt, tmp_path):
    pred = perfect_detection(tmp_path / "p.h5")
    out = tmp_path / "results"
    score(pred, gt, out_dir=out, task="tracking", progress=False)
    doc = json.loads((out / "results.json").read_text())
    assert doc["task"] == "tracking" and doc["target"] == "mask/full"
    assert (doc["model"], doc["modality"], doc["num_parameters"]) == ("oracle", "rgb", 7)
    assert doc["predictions"]["sha256"] == file_sha256(pred)
    assert len(doc["ground_truth"]["files_sha256"]) == 64
    assert doc["ground_truth"]["num_sequences"] == 2
    assert doc["pourbench_version"] and doc["date"].endswith("+00:00")
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [r["aggregation"] for r in rows] == ["all_pixels", "sequence_mean"]
    assert float(rows[0]["f1"]) == 0.75
    seqs = list(csv.DictReader((out / "per_sequence.csv").open()))
    assert [s["sequence"] for s in seqs] == ["seq_000000", "seq_000001"]
    assert (out / "pr_tracking.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name, digest in doc["outputs"].items():
        assert file_sha256(out / name) == digest


def test_results_are_never_stale(gt, tmp_path):
    out = tmp_path / "results"
    score(perfect_detection(tmp_path / "a.h5"), gt, out_dir=out, progress=False)
    b = inverted_detection(tmp_path / "b.h5", task="detection")
    score(b, gt, out_dir=out, progress=False)
    doc = json.loads((out / "results.json").read_text())
    assert doc["predictions"]["sha256"] == file_sha256(b) and doc["model"] == "contrarian"
    assert doc["all_pixels"]["f1"] == 0.0
    seqs = list(csv.DictReader((out / "per_sequence.csv").open()))
    assert [float(s["f1"]) for s in seqs] == [0.0, 0.0]
    for name, digest in doc["outputs"].items():
        assert file_sha256(out / name) == digest
    # a tracking run into the same folder removes the detection plot
    score(perfect_detection(tmp_path / "a.h5"), gt, out_dir=out, task="tracking",
          progress=False)
    assert sorted(p.name for p in out.iterdir()) == [
        "per_sequence.csv", "pr_tracking.png", "results.csv", "results.json"]


def test_task_attribute_is_the_default_and_must_agree(gt, tmp_path):
    pred = perfect_detection(tmp_path / "p.h5", task="tracking")
    assert score(pred, gt, progress=False).task == "tracking"
    with pytest.raises(PourbenchError, match="holds tracking predictions"):
        score(pred, gt, task="detection", progress=False)
    with pytest.raises(PourbenchError, match="unknown task 'segmentation'"):
        score(perfect_detection(tmp_path / "q.h5"), gt, task="segmentation", progress=False)


def test_bad_ground_truth_folder(tmp_path):
    pred = perfect_detection(tmp_path / "p.h5")
    with pytest.raises(PourbenchError, match="not found"):
        score(pred, tmp_path / "nowhere", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(PourbenchError, match="no seq_"):
        score(pred, tmp_path / "empty", progress=False)
