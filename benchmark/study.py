"""Train, predict and score every baseline on a dataset, over several seeds: one leaderboard.

The loop behind ``pourbench demo`` and the README's results table: for each model and seed,
one training run on both targets (detection and tracking heads), predictions on the test
split for each task, a score per task, then a leaderboard of mean and spread over seeds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pourbench.benchmark.leaderboard import Leaderboard, build_leaderboard
from pourbench.benchmark.predict import predict
from pourbench.benchmark.score import RESULTS_JSON, score
from pourbench.benchmark.train import train

log = logging.getLogger(__name__)

MODELS = ("cnn", "multiframe", "lstm")


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
    ``predictions/<model>_s<seed>_<task>.h5``, ``results/<model>_s<seed>_<task>/`` and
    ``leaderboard.{md,html,json}``.
    """
    data, out = Path(data), Path(out)
    results = []
    for seed in seeds:
        for model in models:
            name = f"{model}_s{seed}"
            log.info("training %s", name)
            run = train(
                model=model, data=data, out=out / "runs" / name, modality=settings.modality,
                task="both", epochs=settings.epochs, batch_size=settings.batch_size,
                lr=settings.lr, clip_len=settings.clip_len, size=settings.size, seed=seed,
                pos_weight=settings.pos_weight, device=settings.device, progress=progress,
                width=settings.width,
            )
            detection, tracking = predict(
                run.best_checkpoint, data / "test", out / "predictions" / f"{name}.h5",
                device=settings.device, progress=progress,
            )
            for task, path in (("detection", detection), ("tracking", tracking)):
                folder = out / "results" / f"{name}_{task}"
                score(path, data / "test", folder, task=task, progress=False)
                results.append(folder / RESULTS_JSON)
    return build_leaderboard(results, out)
