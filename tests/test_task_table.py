"""Every stage reads the Task table: a task added there alone trains, predicts, scores and
shows on the leaderboard (the render pass behind it is a schema row and a renderer output)."""

from __future__ import annotations

import dataclasses

import pytest

from pourbench.benchmark.constant import write_constant_predictions
from pourbench.benchmark.leaderboard import build_leaderboard
from pourbench.benchmark.predict import predict
from pourbench.benchmark.score import RESULTS_JSON, score
from pourbench.benchmark.synthetic import write_synthetic_dataset
from pourbench.benchmark.train import train
from pourbench.core.tasks import TASKS, parse_tasks


@pytest.fixture
def wet_task(monkeypatch):
    """A new mask task, one row in the table (its truth: an existing mask dataset)."""
    wet = dataclasses.replace(TASKS["detection"], name="wet", truth="mask/full", label="Wet",
                              short="wet")  # fmt: skip
    monkeypatch.setitem(TASKS, "wet", wet)
    return wet


def test_a_new_task_is_one_table_row(wet_task, tmp_path):
    data = write_synthetic_dataset(
        tmp_path / "d", {"train": 2, "val": 1, "test": 1}, num_frames=6, height=16, width=16
    )
    assert [t.name for t in parse_tasks("wet+volume")] == ["wet", "volume"]
    run = train(model="cnn", data=data, out=tmp_path / "run", task="wet+volume", epochs=1,
                clip_len=3, batch_size=2, progress=False, width=0.5)  # fmt: skip
    assert run.best_metric == "val_f1_wet"
    paths = predict(run.best_checkpoint, data / "test", tmp_path / "p.h5", progress=False)
    assert [p.name for p in paths] == ["p.h5", "p_volume.h5"]
    results = []
    for name, path in [("cnn_wet", paths[0]), ("cnn_volume", paths[1]),
                       *write_constant_predictions(data, tmp_path / "c").items()]:  # fmt: skip
        folder = tmp_path / "res" / str(name)
        score(path, data / "test", folder, progress=False)
        results.append(folder / RESULTS_JSON)
    board = build_leaderboard(results, tmp_path / "board")
    header = board.header()
    assert "Wet F1" in header and "Volume MAE target ml" in header
    assert header[-2] == "Runs (det/trk/vol/wet)"
