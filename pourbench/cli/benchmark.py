"""Benchmark verbs: ``train``, ``predict``, ``score``, ``leaderboard``, ``bench``.

Each parses its options, calls the library function of ``pourbench.benchmark`` directly
(``train``, ``predict``, ``score``, ``build_leaderboard``), prints the outcome and picks the
exit code.
"""

from __future__ import annotations

import enum
import importlib
from pathlib import Path
from typing import Any

import typer

from pourbench.cli.common import DEVICE_HELP
from pourbench.core.errors import PourbenchError
from pourbench.core.tasks import TASKS, TRAIN_TASK_CHOICES, parse_tasks

TRAIN_TASK_HELP = (
    f"{', '.join(TRAIN_TASK_CHOICES)}, or several joined by + (e.g. detection+volume)."
)

#: ``pourbench score --task``: the tasks of the Task table.
ScoreTask = enum.Enum("ScoreTask", {name: name for name in TASKS}, type=str)

#: ``pourbench bench PART``: the module whose ``main(argv)`` runs it.
BENCHMARKS = {
    "sim": "pourbench.benchmark.perf.sim_dambreak",
    "render": "pourbench.benchmark.perf.render_fps",
    "loader": "pourbench.benchmark.perf.loader_models",
    "peer": "pourbench.benchmark.perf.peer_splishsplash",
    "memory": "pourbench.benchmark.perf.render_memory",
    "device": "pourbench.benchmark.perf.device_check",
}


def parse_size(text: str | None) -> tuple[int, int] | None:
    """``"160x120"`` (width x height, as resolutions are written) -> (H, W) = (120, 160)."""
    if text is None or text == "":
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise PourbenchError(f"--size must be WIDTHxHEIGHT like 160x120, got {text!r}") from None
    if w < 1 or h < 1:
        raise PourbenchError(f"--size must be positive, got {text!r}")
    return h, w


def check_train_task(text: str) -> str:
    """``text`` unchanged when it names a task set (``detection``, ``both``,
    ``detection+volume``...); a one-line PourbenchError otherwise."""
    parse_tasks(text)
    return text


def run_train(*, size: str | None = None, task: str = "detection", **options: Any):
    """Train through :func:`pourbench.benchmark.train.train`: ``size`` is ``WIDTHxHEIGHT``,
    ``task`` a task set name; every other option goes to ``train`` unchanged."""
    from pourbench.benchmark.train import train as train_model

    return train_model(size=parse_size(size), task=check_train_task(task), **options)


def train_summary(result) -> str:
    """The one line a finished training run prints."""
    return (f"best {result.best_metric} {result.best_score:.4g} at epoch {result.best_epoch}: "
            f"{result.best_checkpoint}")


def train(
    model: str = typer.Option(..., help="cnn, multiframe or lstm."),
    data: Path = typer.Option(..., help="Dataset folder (with train/ and val/)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder for checkpoints and logs."),
    modality: str = typer.Option("rgb", help="rgb, thermal or rgb+thermal."),
    task: str = typer.Option("detection", help=TRAIN_TASK_HELP),
    epochs: int = typer.Option(10, min=1),
    batch_size: int = typer.Option(4, min=1),
    lr: float = typer.Option(1e-3, min=0),
    seed: int = typer.Option(0, min=0),
    resume: bool = typer.Option(False, help="Continue from RUN/last.pt."),
    workers: int = typer.Option(0, min=0, help="DataLoader worker processes."),
    device: str = typer.Option("auto", help=DEVICE_HELP),
    clip_len: int = typer.Option(8, min=1, help="Frames per training clip."),
    size: str | None = typer.Option(None, help="Resize frames to WIDTHxHEIGHT, e.g. 160x120."),
    pos_weight: str | None = typer.Option(None, help="Positive-class weight: a number or auto."),
    width: float = typer.Option(1.0, min=0.05, help="Channel-width multiplier of the model."),
) -> None:
    """Train a baseline on a generated dataset (several processes: pourbench.cli.train)."""
    result = run_train(
        model=model, data=data, out=out, modality=modality, task=task, epochs=epochs,
        batch_size=batch_size, lr=lr, seed=seed, resume=resume, num_workers=workers,
        device=device, clip_len=clip_len, size=size, pos_weight=pos_weight, width=width,
    )
    typer.echo(train_summary(result))


def predict(
    checkpoint: Path = typer.Option(..., help="RUN/best.pt from `pourbench train`."),
    data: Path = typer.Option(..., help="Folder of test sequences (e.g. DIR/test)."),
    out: Path = typer.Option(..., "--out", "-o", help="predictions.h5 to write."),
    device: str = typer.Option("auto", help=DEVICE_HELP),
) -> None:
    """Write a model's predictions for every sequence of a folder."""
    from pourbench.benchmark.predict import predict as predict_folder

    for path in predict_folder(checkpoint, data, out, device=device):
        typer.echo(f"wrote {path}")


def score(
    predictions: Path = typer.Argument(..., help="predictions.h5"),
    gt: Path = typer.Option(..., help="Ground-truth folder (e.g. DIR/test)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Results folder."),
    task: ScoreTask | None = typer.Option(
        None, help="The task scored (default: the file's `task` attribute)."
    ),
) -> None:
    """Score predictions against ground truth: the leaderboard evaluation script."""
    from pourbench.benchmark.score import score as score_predictions

    if out is not None and out.exists() and not out.is_dir():
        raise PourbenchError(f"{out}: exists and is not a folder; --out must be a results folder")
    results = score_predictions(predictions, gt, out_dir=out,
                                task=None if task is None else task.value, progress=True)
    typer.echo(results.summary())


def leaderboard(
    results: list[Path] = typer.Argument(..., help="results.json files or results folders."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for leaderboard.md/.html."),
    aggregation: str = typer.Option("all_pixels", help="all_pixels or sequence_mean."),
) -> None:
    """Merge several score results into a leaderboard (Markdown and HTML)."""
    from pourbench.benchmark.leaderboard import build_leaderboard

    typer.echo(build_leaderboard(results, out, aggregation).to_markdown())


def bench(
    part: str = typer.Argument(
        ..., help="sim, render, loader, peer (SPlisHSPlasH), memory (of a long render) or "
        "device (the simulator on a GPU: a million-particle dam break and a 15-s pour)."),
    args: list[str] | None = typer.Argument(None, help="Arguments for the benchmark."),
) -> None:
    """Run a benchmark: speed (simulator, renderer, loader and models) or memory."""
    if part not in BENCHMARKS:
        raise PourbenchError(f"unknown benchmark {part!r} (allowed: {', '.join(BENCHMARKS)})")
    importlib.import_module(BENCHMARKS[part]).main(list(args or []))
