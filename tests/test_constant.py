"""The constant predictor (training statistics, no image) and volume on the leaderboard."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pourbench.benchmark.constant import ConstantPredictor, write_constant_predictions
from pourbench.benchmark.leaderboard import build_leaderboard
from pourbench.benchmark.score import RESULTS_JSON, score
from pourbench.benchmark.synthetic import write_synthetic_dataset
from pourbench.core.tasks import TASKS
from pourbench.datasets.sequence import SequenceReader


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_synthetic_dataset(
        tmp_path_factory.mktemp("d"), {"train": 2, "test": 2}, num_frames=5, height=16, width=12
    )


def test_statistics_are_the_training_means(data):
    predictor = ConstantPredictor.fit(data / "train")
    readers = [SequenceReader(p) for p in sorted((data / "train").glob("seq_*.h5"))]
    volumes = np.concatenate([r.read("volume")[:, :2] for r in readers])
    np.testing.assert_allclose(predictor.volume_ml, volumes.mean(0))
    full = np.concatenate([r.read("mask/full") for r in readers])
    np.testing.assert_allclose(predictor.frequency["tracking"], full.mean(0))
    assert predictor.predict(TASKS["volume"], 3, 16, 12).shape == (3, 2)
    frame = predictor.predict(TASKS["detection"], 3, 8, 6)  # other sizes: resized
    assert frame.shape == (3, 8, 6) and frame.dtype == np.float16


def test_constant_rows_score_and_rank_on_the_leaderboard(data, tmp_path):
    paths = write_constant_predictions(data, tmp_path / "pred")
    assert sorted(paths) == sorted(TASKS)
    results = []
    for task, path in paths.items():
        folder = tmp_path / "res" / f"constant_{task}"
        score(path, data / "test", folder, progress=False)  # task from the file's attribute
        results.append(folder / RESULTS_JSON)
    doc = json.loads(results[-1].read_text())
    truth = np.concatenate([SequenceReader(p).read("volume")[:, 1]
                            for p in sorted((data / "test").glob("seq_*.h5"))])  # fmt: skip
    mean = ConstantPredictor.fit(data / "train").volume_ml[1]
    assert doc["mae_target_ml"] == pytest.approx(np.abs(truth - mean).mean(), rel=1e-5)
    board = build_leaderboard(results, tmp_path / "board")
    header = board.header()
    assert "Volume MAE target ml" in header and header[-2] == "Runs (det/trk/vol)"
    row = board.table()[0]
    assert row[0][0] == "constant" and row[-2][0] == "1/1/1"
    md = (tmp_path / "board" / "leaderboard.md").read_text()
    assert "Volume Final target ml" in md and "constant" in md


def test_lowest_volume_error_is_bold(data, tmp_path):
    from fixtures import write_predictions

    paths = write_constant_predictions(data, tmp_path / "pred")
    truth = {p.stem: SequenceReader(p).read("volume")[:, :2]
             for p in sorted((data / "test").glob("seq_*.h5"))}  # fmt: skip
    oracle = write_predictions(tmp_path / "oracle.h5", truth, task="volume", model="oracle")
    results = []
    for name, path in (("constant", paths["volume"]), ("oracle", oracle)):
        score(path, data / "test", tmp_path / name, progress=False)
        results.append(tmp_path / name / RESULTS_JSON)
    board = build_leaderboard(results, tmp_path / "board")
    assert [r.model for r in board.rows] == ["oracle", "constant"]  # lower error ranks first
    at = board.header().index("Volume MAE target ml")
    oracle_row, constant_row = board.table()
    assert oracle_row[at] == ("0.0", True) and constant_row[at][1] is False
