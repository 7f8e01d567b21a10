"""Train, predict and score every baseline on a dataset, over several seeds: one leaderboard.

The loop behind ``pourbench demo`` and the README's results table: for each model and seed,
one training run on every task of the Task table at once (detection and tracking mask
heads, the volume head), predictions on the test split for each task, a score per task;
the constant predictor (training-split statistics, no image) is scored beside them as the
floor; then a leaderboard of mean and spread over seeds.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pourbench.benchmark.constant import write_constant_predictions
from pourbench.benchmark.leaderboard import Leaderboard, build_leaderboard
from pourbench.benchmark.plots import plot_learning_curves
from pourbench.benchmark.predict import TBPTT_SUFFIX, predict
from pourbench.benchmark.score import RESULTS_JSON, score
from pourbench.benchmark.significance import compare, to_markdown
from pourbench.benchmark.train import train
from pourbench.core.atomic import write_text_atomic
from pourbench.core.errors import PourbenchError
from pourbench.core.schema import MODALITY_CHANNELS
from pourbench.core.tasks import parse_tasks

log = logging.getLogger(__name__)

MODELS = ("cnn", "multiframe", "lstm")
MODALITIES = tuple(MODALITY_CHANNELS)
#: The differences a study reports (a - b): what memory buys over a single frame and a window.
PAIRS = (("lstm", "cnn"), ("multiframe", "cnn"), ("lstm", "multiframe"))
#: Validation metrics of the learning-curve figure.
CURVE_METRICS = ("val_f1_detection", "val_f1_tracking")


@dataclass(frozen=True)
class StudySettings:
    """Training settings shared by every run of a study: every model gets the same budget
    (epochs over the same clips, batch size and learning rate)."""

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


@dataclass(frozen=True)
class ModelSpec:
    """What a study label trains: the registry model, its constructor arguments and
    whether its state is carried across a sequence's windows (``None``: the settings')."""

    name: str
    kwargs: dict
    stateful: bool | None = None


def model_spec(label: str) -> ModelSpec:
    """The model of a study label: ``cnn``, ``lstm``, ``multiframe`` (its default window),
    ``multiframe-k8`` (a window of 8 frames); ``-tbptt`` at the end trains it on whole
    sequences with its state carried (truncated back-propagation through time)."""
    tbptt = label.endswith(TBPTT_SUFFIX) or None
    base = label.removesuffix(TBPTT_SUFFIX)
    name, _, window = base.partition("-k")
    if name == "multiframe" and window:
        if not window.isdigit() or int(window) < 1:
            raise PourbenchError(f"bad model {label!r}: the window of multiframe-kN is N >= 1")
        return ModelSpec(name, {"num_frames": int(window)}, tbptt)
    if name not in MODELS or window:
        valid = ", ".join(MODELS)
        raise PourbenchError(f"unknown model {label!r}; valid: {valid}, multiframe-kN, "
                             f"and any of them with {TBPTT_SUFFIX}")  # fmt: skip
    return ModelSpec(name, {}, tbptt)


def run_name(label: str, modality: str, seed: int) -> str:
    """Folder name of one run: ``lstm_s0`` for RGB, ``lstm_thermal_s0`` otherwise."""
    return f"{label}_s{seed}" if modality == "rgb" else f"{label}_{modality}_s{seed}"


def study_pairs(models: Sequence[str], modalities: Sequence[str]) -> list:
    """The differences a study reports, as ((model, modality), (model, modality)) pairs: in
    each modality the PAIRS, and each variant (``multiframe-k8``, ``lstm-tbptt``) against
    the CNN and against its own base model; for each model, each other modality against RGB
    (what thermal buys)."""
    models = list(models)
    by_model = [(a, b) for a, b in PAIRS if a in models and b in models]
    for label in models:
        if label in MODELS:
            continue
        base = model_spec(label).name
        by_model += [(label, b) for b in dict.fromkeys(("cnn", base)) if b in models]
    pairs = [((a, mod), (b, mod)) for mod in modalities for a, b in by_model]
    if "rgb" in modalities:
        pairs += [((m, mod), (m, "rgb")) for m in models for mod in modalities if mod != "rgb"]
    return pairs


def learning_curves(
    runs: Mapping[str, Sequence[str | Path]], metrics: Sequence[str] = CURVE_METRICS
) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """Per metric and label: the epochs every run of the label reached, and the mean and
    sample standard deviation (0 for one run) over those runs of the metric at each epoch,
    from each run folder's ``metrics.json``."""
    curves: dict[str, dict] = {metric: {} for metric in metrics}
    for label, folders in runs.items():
        histories = [json.loads((Path(f) / "metrics.json").read_text()) for f in folders]
        epochs = min(len(h) for h in histories)
        for metric in metrics:
            values = np.array([[row[metric] for row in h[:epochs]] for h in histories], float)
            std = values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(epochs)
            curves[metric][label] = (np.arange(1, epochs + 1), values.mean(axis=0), std)
    return curves


def run_study(
    data: str | Path,
    out: str | Path,
    models: Sequence[str] = MODELS,
    seeds: Sequence[int] = (0,),
    settings: StudySettings = StudySettings(),
    progress: bool = True,
    modalities: Sequence[str] | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> Leaderboard:
    """Train/predict/score ``models`` x ``modalities`` x ``seeds`` on ``data``; write runs,
    results, leaderboard and the bootstrap intervals of the differences.

    ``models`` are labels of :func:`model_spec`; ``modalities`` default to
    ``settings.modality``; ``extra`` adds (model, modality) runs beyond that grid (the
    multi-frame window sweep in one modality). Layout under ``out``: ``runs/<run>/``
    (checkpoints, metrics; ``<run>`` from :func:`run_name`), ``predictions/<run>[_<task>].h5``
    (the main task's file has no suffix), ``results/<run>_<task>/``,
    ``predictions/constant_<task>.h5``, ``results/constant_<task>/``,
    ``leaderboard.{md,html,json}``, ``differences.md``
    (``benchmark.significance``), ``timing.json`` (training seconds of each run) and
    ``learning_curves.png`` (validation F1 per epoch: was the budget enough?).
    """
    data, out = Path(data), Path(out)
    modalities = tuple(modalities or (settings.modality,))
    grid = [(label, modality) for modality in modalities for label in models]
    grid += [run for run in extra if run not in grid]
    specs = {label: model_spec(label) for label, _ in grid}  # bad labels fail before training
    results = []
    timing = {}
    folders: dict[str, list[Path]] = {}
    constant = write_constant_predictions(data, out / "predictions")
    for task, path in constant.items():
        folder = out / "results" / f"constant_{task}"
        score(path, data / "test", folder, task=task, progress=False)
        results.append(folder / RESULTS_JSON)
    for seed in seeds:
        for label, modality in grid:
            spec = specs[label]
            stateful = settings.stateful if spec.stateful is None else spec.stateful
            name = run_name(label, modality, seed)
            log.info("training %s", name)
            run = train(
                model=spec.name, data=data, out=out / "runs" / name, modality=modality,
                task=settings.task, epochs=settings.epochs, batch_size=settings.batch_size,
                lr=settings.lr, clip_len=settings.clip_len, size=settings.size, seed=seed,
                pos_weight=settings.pos_weight, device=settings.device, progress=progress,
                width=settings.width, stateful=stateful, model_kwargs=spec.kwargs,
            )
            timing[name] = round(run.seconds, 3)
            folders.setdefault(label if modality == "rgb" else f"{label} {modality}", []).append(
                out / "runs" / name
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
    differences = compare(results, study_pairs(list(specs), modalities))
    write_text_atomic(out / "differences.md", to_markdown(differences))
    write_text_atomic(out / "timing.json", json.dumps({"train_seconds": timing}, indent=2) + "\n")
    plot_learning_curves(learning_curves(folders), out / "learning_curves.png")
    return board
