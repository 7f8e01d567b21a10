"""Train, predict and score every baseline on a dataset, over several seeds: one leaderboard.

The loop behind ``pourbench demo`` and the README's results table: for each model and seed,
one training run on every task of the Task table at once (detection and tracking mask
heads, the volume head), predictions on the test split for each task, a score per task;
the constant predictor (training-split statistics, no image) is scored beside them as the
floor; then a leaderboard of mean and spread over seeds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pourbench.benchmark.constant import write_constant_predictions
from pourbench.benchmark.leaderboard import Leaderboard, build_leaderboard
from pourbench.benchmark.predict import predict
from pourbench.benchmark.score import RESULTS_JSON, score
from pourbench.benchmark.significance import compare, to_markdown
from pourbench.benchmark.train import train
from pourbench.core.atomic import write_text_atomic
from pourbench.core.tasks import parse_tasks

log = logging.getLogger(__name__)

MODELS = ("cnn", "multiframe", "lstm")
#: The differences a study reports (a - b): what memory buys over a single frame and a window.
PAIRS = (("lstm", "cnn"), ("multiframe", "cnn"), ("lstm", "multiframe"))


@dataclass(frozen=True)
class StudySettings:
    """Training settings shared by every run of a study."""

    epochs: int = 20
    batch_size: int = 4
    clip_len: int = 8
    lr: float = 2e-3
    modality: str = "rgb"
    width: float = 1.0
    size: tuple[int, int] | None = None  # (height, width) to train at; None: native
    pos_weight: str | None = "auto"
    device: str = "auto"
    task: str = "all"  # tasks trained together (pourbench.core.tasks.parse_tasks)
    stateful: bool = False  # carry the model's state across a sequence's windows


def run_study(
    data: str | Path,
    out: str | Path,
    models: Sequence[str] = MODELS,
    seeds: Sequence[int] = (0,),
    settings: StudySettings = StudySettings(),
    progress: bool = True,
) -> Leaderboard:
    """Train/predict/score ``models`` x ``seeds`` on ``data``; write runs, results, leaderboard.

    Layout under ``out``: ``runs/<model>_s<seed>/`` (checkpoints, metrics),
    ``predictions/<model>_s<seed>[_<task>].h5`` (the main task's file has no suffix),
    ``results/<model>_s<seed>_<task>/``, ``predictions/constant_<task>.h5``,
    ``results/constant_<task>/``, ``leaderboard.{md,html,json}`` and ``differences.md``
    (paired bootstrap intervals of the model differences, ``benchmark.significance``).
    """
    data, out = Path(data), Path(out)
    results = []
    constant = write_constant_predictions(data, out / "predictions")
    for task, path in constant.items():
        folder = out / "results" / f"constant_{task}"
        score(path, data / "test", folder, task=task, progress=False)
        results.append(folder / RESULTS_JSON)
    for seed in seeds:
        for model in models:
            name = f"{model}_s{seed}"
            log.info("training %s", name)
            run = train(
                model=model, data=data, out=out / "runs" / name, modality=settings.modality,
                task=settings.task, epochs=settings.epochs, batch_size=settings.batch_size,
                lr=settings.lr, clip_len=settings.clip_len, size=settings.size, seed=seed,
                pos_weight=settings.pos_weight, device=settings.device, progress=progress,
                width=settings.width, stateful=settings.stateful,
            )
            paths = predict(
                run.best_checkpoint, data / "test", out / "predictions" / f"{name}.h5",
                device=settings.device, progress=progress,
            )
            for task, path in zip(parse_tasks(settings.task), paths, strict=True):
                folder = out / "results" / f"{name}_{task.name}"
                score(path, data / "test", folder, task=task.name, progress=False)
                results.append(folder / RESULTS_JSON)
    board = build_leaderboard(results, out)
    pairs = [(a, b) for a, b in PAIRS if a in models and b in models]
    write_text_atomic(out / "differences.md", to_markdown(compare(results, pairs)))
    return board
