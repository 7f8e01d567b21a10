"""Score a predictions file against a ground-truth split, and write the results.

``score`` validates the whole submission first (nothing is scored if any problem is found),
then streams every sequence frame chunk by chunk into score histograms (memory does not
grow with the split) and reports each metric twice: pooled over all pixels of the split,
and as the mean of per-sequence values.

Outputs in ``out_dir`` (each written atomically; ``results.json`` is removed first and
written last, with the sha256 of its sibling outputs, so a complete ``results.json`` always
belongs to the files next to it and to the predictions named in it):

* ``results.json``: everything, with provenance (sha256 of the predictions, fingerprint of
  the ground-truth files, model attributes, date, pourbench version);
* ``results.csv``: the global metrics, one row per aggregation;
* ``per_sequence.csv``: one row per sequence;
* ``pr_<task>.png``: the pooled precision-recall curve, AP in the legend.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tqdm import tqdm

from pourbench import __version__
from pourbench.benchmark.groundtruth import TASK_TARGETS, GroundTruth, target_of
from pourbench.benchmark.metrics import (
    METRIC_NAMES,
    THRESHOLD,
    PRCurve,
    ScoreHistogram,
    confusion_at,
    histogram,
    mean_of,
    pr_curve,
    summarize,
)
from pourbench.benchmark.plots import plot_pr_curves
from pourbench.benchmark.submission import (
    Predictions,
    SubmissionInfo,
    file_sha256,
    frames_per_chunk,
    validate_submission,
)
from pourbench.core.atomic import write_text_atomic
from pourbench.core.errors import PourbenchError

log = logging.getLogger(__name__)

RESULTS_JSON = "results.json"
RESULTS_CSV = "results.csv"
PER_SEQUENCE_CSV = "per_sequence.csv"
RESULTS_FORMAT = 1

_EMPTY_RULE = (
    "precision=1 when nothing is predicted; recall=1 when the truth is empty; F1 and IoU=1 "
    "when both are empty; AP and best F1 without a positive in the truth equal F1 at 0.5"
)


def pr_plot_name(task: str) -> str:
    return f"pr_{task}.png"


@dataclass
class Results:
    """The scores of one predictions file on one task.

    Attributes:
        task: ``detection`` or ``tracking``.
        all_pixels: metrics pooled over every pixel of the split (see ``metrics.summarize``).
        sequence_mean: unweighted mean over sequences of each metric.
        per_sequence: one dict per sequence: ``sequence``, ``frames``, ``pixels``,
            ``positives``, ``predicted_positives`` and the metrics.
        curve: the pooled precision-recall curve.
        provenance: predictions sha256, ground-truth fingerprint, model attributes, date,
            pourbench version.
    """

    task: str
    all_pixels: dict[str, float]
    sequence_mean: dict[str, float]
    per_sequence: list[dict[str, Any]]
    curve: PRCurve
    provenance: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": RESULTS_FORMAT,
            "task": self.task,
            "target": TASK_TARGETS[self.task],
            "threshold": THRESHOLD,
            "empty_rule": _EMPTY_RULE,
            **self.provenance,
            "all_pixels": self.all_pixels,
            "sequence_mean": self.sequence_mean,
            "per_sequence": self.per_sequence,
        }

    def summary(self) -> str:
        """A few lines for a terminal: the two aggregations side by side."""
        p = self.provenance
        head = (
            f"{p.get('model') or '?'} ({p.get('modality') or '?'}), {self.task}, "
            f"{len(self.per_sequence)} sequences"
        )
        lines = [head, f"{'':14}" + "".join(f"{k:>10}" for k in METRIC_NAMES)]
        for label, m in (("all pixels", self.all_pixels), ("sequence mean", self.sequence_mean)):
            lines.append(f"{label:14}" + "".join(f"{m[k]:10.4f}" for k in METRIC_NAMES))
        return "\n".join(lines)


def resolve_task(asked: str | None, declared: str | None, label: str) -> str:
    """The task to score: the one asked, else the file's ``task`` attribute, else detection.

    Raises:
        PourbenchError: the asked task is unknown, or contradicts the file's attribute.
    """
    if asked is not None:
        target_of(asked)  # validates the name
        if declared is not None and declared != asked:
            raise PourbenchError(
                f"{label}: holds {declared} predictions (attribute 'task') but task "
                f"{asked!r} was asked; score it as {declared} or fix the attribute"
            )
        return asked
    return declared or "detection"


def score(
    predictions: str | os.PathLike,
    gt_dir: str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
    task: str | None = None,
    progress: bool = True,
) -> Results:
    """Validate and score a predictions file; write the outputs if ``out_dir`` is given.

    Args:
        predictions: HDF5 file, one (T, H, W) float16/uint8 dataset per sequence.
        gt_dir: folder of ``seq_*.h5`` ground-truth sequences (e.g. ``DIR/test``).
        out_dir: where to write results (created if missing); None writes nothing.
        task: ``detection`` (``mask/visible``) or ``tracking`` (``mask/full``); None takes
            the file's ``task`` attribute, else detection.
        progress: show a progress bar over sequences.

    Raises:
        PourbenchError: bad ground truth, or a submission problem (all of them listed).
    """
    gt = GroundTruth(gt_dir)
    info = validate_submission(predictions, {n: gt.shape(n) for n in gt.names})
    task = resolve_task(task, info.task, str(predictions))
    log.info("scoring %s on %d sequences (%s)", predictions, len(gt.names), task)

    pooled = ScoreHistogram.empty()
    rows: list[dict[str, Any]] = []
    with Predictions(predictions) as preds:
        bar = tqdm(gt.names, desc=f"score {task}", unit="seq", disable=not progress)
        for name in bar:
            T, H, W = gt.shape(name)
            hist = ScoreHistogram.empty()
            for frames, truth in gt.iter_masks(name, task, frames_per_chunk(H, W)):
                hist = hist + histogram(preds.read(name, frames), truth)
            pooled = pooled + hist
            rows.append(_sequence_row(name, T * H * W, T, hist))

    results = Results(
        task=task,
        all_pixels=summarize(pooled),
        sequence_mean=mean_of(rows),
        per_sequence=rows,
        curve=pr_curve(pooled),
        provenance=_provenance(info, gt),
    )
    if out_dir is not None:
        write_results(results, out_dir)
    return results


def _sequence_row(name: str, pixels: int, frames: int, hist: ScoreHistogram) -> dict[str, Any]:
    c = confusion_at(hist)
    return {
        "sequence": name,
        "frames": frames,
        "pixels": pixels,
        "positives": hist.num_positive,
        "predicted_positives": c.tp + c.fp,
        **summarize(hist),
    }


def _provenance(info: SubmissionInfo, gt: GroundTruth) -> dict[str, Any]:
    return {
        "model": info.model,
        "modality": info.modality,
        "num_parameters": info.num_parameters,
        "seed": info.seed,
        "predictions": {
            "path": str(info.path),
            "sha256": info.sha256,
            "size_bytes": info.size_bytes,
        },
        "ground_truth": {
            "dir": str(gt.folder),
            "num_sequences": len(gt.names),
            "files_sha256": gt.fingerprint(),
        },
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "pourbench_version": __version__,
    }


# --------------------------------------------------------------------------- writers


def _csv_text(header: list[str], rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: f"{v:.6f}" if isinstance(v, float) else v for k, v in row.items()})
    return buf.getvalue()


def write_results(results: Results, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write results.json, results.csv, per_sequence.csv and pr_<task>.png into ``out_dir``.

    Returns:
        Output name -> path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    marker = out / RESULTS_JSON
    marker.unlink(missing_ok=True)  # no complete-looking result while we write
    for other in TASK_TARGETS:
        if other != results.task:  # a plot of another run's task would be stale here
            (out / pr_plot_name(other)).unlink(missing_ok=True)

    metric_cols = [*METRIC_NAMES, "best_threshold"]
    global_rows = [
        {"task": results.task, "aggregation": "all_pixels", **results.all_pixels},
        {"task": results.task, "aggregation": "sequence_mean", **results.sequence_mean},
    ]
    paths = {
        RESULTS_CSV: out / RESULTS_CSV,
        PER_SEQUENCE_CSV: out / PER_SEQUENCE_CSV,
        pr_plot_name(results.task): out / pr_plot_name(results.task),
    }
    write_text_atomic(
        paths[RESULTS_CSV], _csv_text(["task", "aggregation", *metric_cols], global_rows)
    )
    write_text_atomic(
        paths[PER_SEQUENCE_CSV],
        _csv_text(list(results.per_sequence[0]), results.per_sequence),
    )
    label = results.provenance.get("model") or Path(results.provenance["predictions"]["path"]).stem
    plot_pr_curves(
        [(label, results.curve, results.all_pixels["ap"])],
        paths[pr_plot_name(results.task)],
        title=f"{results.task} ({TASK_TARGETS[results.task]}), all pixels",
    )
    doc = results.to_json()
    doc["outputs"] = {name: file_sha256(p) for name, p in paths.items()}
    write_text_atomic(marker, json.dumps(doc, indent=2) + "\n")
    paths[RESULTS_JSON] = marker
    log.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    return paths


def score_command(
    predictions: str | os.PathLike,
    gt: str | os.PathLike,
    out: str | os.PathLike | None = None,
    task: str | None = None,
) -> Results:
    """The ``pourbench score`` verb: score, write if ``out`` is given; the CLI prints
    ``results.summary()``."""
    return score(predictions, gt, out_dir=out, task=task, progress=True)
