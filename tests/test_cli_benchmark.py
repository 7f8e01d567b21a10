"""The benchmark verbs call the library functions directly, with options parsed by the CLI:
``--size`` WIDTHxHEIGHT, ``--task`` from the Task table (any ``+`` join for training), and
the torchrun entry ``pourbench.cli.train`` takes the same options."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import pourbench.benchmark.leaderboard as leaderboard_lib
import pourbench.benchmark.predict as predict_lib
import pourbench.benchmark.score as score_lib
import pourbench.benchmark.train as train_lib
from pourbench.cli import main
from pourbench.cli import train as train_entry
from pourbench.cli.benchmark import parse_size
from pourbench.core.errors import PourbenchError
from pourbench.core.tasks import TASKS, TRAIN_TASK_CHOICES


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return (0 if e.value.code is None else e.value.code), out.out, out.err


@pytest.fixture
def fake_train(monkeypatch):
    """Replace the library's train(); record its keyword arguments."""
    calls = []

    def fake(**kwargs):
        calls.append(kwargs)
        return SimpleNamespace(best_metric="val_f1_detection", best_score=0.5, best_epoch=2,
                               best_checkpoint=Path(kwargs["out"]) / "best.pt")

    monkeypatch.setattr(train_lib, "train", fake)
    return calls


def test_parse_size_is_width_by_height():
    assert parse_size("160x120") == (120, 160)
    assert parse_size("64X48") == (48, 64)
    assert parse_size(None) is None
    for bad in ("big", "160x", "0x10", "1x2x3"):
        with pytest.raises(PourbenchError, match="--size"):
            parse_size(bad)


@pytest.mark.parametrize("task", ["detection", "volume", "both", "detection+volume",
                                  "tracking+volume", "all"])
def test_train_passes_any_task_set_through(fake_train, capsys, tmp_path, task):
    code, out, err = _cli(capsys, "train", "--model", "cnn", "--data", tmp_path, "--out",
                          tmp_path / "run", "--task", task, "--size", "160x120")
    assert code == 0, err
    (kwargs,) = fake_train
    assert kwargs["task"] == task and kwargs["size"] == (120, 160)
    assert kwargs["num_workers"] == 0 and kwargs["model"] == "cnn"
    assert out.strip() == f"best val_f1_detection 0.5 at epoch 2: {tmp_path / 'run' / 'best.pt'}"


@pytest.mark.parametrize("args, message", [
    (("--task", "detektion"), "unknown task 'detektion'"),
    (("--task", "detection+mass"), "unknown task 'mass' in 'detection+mass'"),
    (("--size", "big"), "--size must be WIDTHxHEIGHT like 160x120, got 'big'"),
])
def test_train_bad_option_is_one_line(fake_train, capsys, tmp_path, args, message):
    code, out, err = _cli(capsys, "train", "--model", "cnn", "--data", tmp_path, "--out",
                          tmp_path / "run", *args)
    assert code == 2 and fake_train == []
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in err


def test_train_help_lists_the_task_table_choices(capsys):
    _, out, _ = _cli(capsys, "train", "--help")
    text = " ".join(out.replace("│", " ").split())
    assert f"{', '.join(TRAIN_TASK_CHOICES)}, or several joined by +" in text


def test_torchrun_entry_takes_the_same_options(fake_train, capsys, tmp_path):
    argv = ["--model", "lstm", "--data", str(tmp_path), "--out", str(tmp_path / "r"),
            "--task", "volume+detection", "--size", "32x24", "--no-progress"]
    assert train_entry.main(argv) == 0
    (kwargs,) = fake_train
    assert kwargs["task"] == "volume+detection" and kwargs["size"] == (24, 32)
    assert kwargs["progress"] is False
    assert "best val_f1_detection 0.5 at epoch 2" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        train_entry.main([*argv[:6], "--task", "everything"])
    assert e.value.code == 2
    assert "argument --task: unknown task 'everything'" in capsys.readouterr().err
    assert train_entry.main([*argv[:6], "--size", "x"]) == 2
    assert capsys.readouterr().err.strip() == \
        "error: --size must be WIDTHxHEIGHT like 160x120, got 'x'"


def test_score_task_choices_are_the_task_table(monkeypatch, capsys, tmp_path):
    calls = []

    def fake_score(predictions, gt, out_dir=None, task=None, progress=True):
        calls.append((Path(predictions), Path(gt), out_dir, task))
        return SimpleNamespace(summary=lambda: "scored")

    monkeypatch.setattr(score_lib, "score", fake_score)
    for task in TASKS:
        code, out, _ = _cli(capsys, "score", tmp_path / "p.h5", "--gt", tmp_path, "--task", task)
        assert code == 0 and out.strip() == "scored"
    assert [c[3] for c in calls] == list(TASKS)
    code, out, _ = _cli(capsys, "score", tmp_path / "p.h5", "--gt", tmp_path)
    assert code == 0 and calls[-1][3] is None  # the file's own task attribute
    code, _, err = _cli(capsys, "score", tmp_path / "p.h5", "--gt", tmp_path, "--task", "both")
    assert code == 2 and len(calls) == len(TASKS) + 1
    assert "'both' is not one of 'detection', 'tracking', 'volume'" in " ".join(
        err.replace("│", " ").split())


def test_predict_and_leaderboard_call_the_library(monkeypatch, capsys, tmp_path):
    seen = {}

    def fake_predict(checkpoint, data, out, device="auto", progress=True):
        seen["predict"] = (Path(checkpoint), Path(data), Path(out), device)
        return [Path(out)]

    def fake_board(results, out, aggregation="all_pixels"):
        seen["leaderboard"] = ([Path(r) for r in results], Path(out), aggregation)
        return SimpleNamespace(to_markdown=lambda: "| board |")

    monkeypatch.setattr(predict_lib, "predict", fake_predict)
    monkeypatch.setattr(leaderboard_lib, "build_leaderboard", fake_board)
    code, out, _ = _cli(capsys, "predict", "--checkpoint", tmp_path / "best.pt", "--data",
                        tmp_path, "--out", tmp_path / "p.h5", "--device", "cpu")
    assert code == 0 and out.strip() == f"wrote {tmp_path / 'p.h5'}"
    assert seen["predict"] == (tmp_path / "best.pt", tmp_path, tmp_path / "p.h5", "cpu")
    code, out, _ = _cli(capsys, "leaderboard", tmp_path / "a", tmp_path / "b", "--out",
                        tmp_path / "lb", "--aggregation", "sequence_mean")
    assert code == 0 and out.strip() == "| board |"
    assert seen["leaderboard"] == ([tmp_path / "a", tmp_path / "b"], tmp_path / "lb",
                                   "sequence_mean")
