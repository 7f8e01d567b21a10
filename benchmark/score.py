"""Score a predictions file against a ground-truth split, and write the results.

``score`` validates the whole submission first (nothing is scored if any problem is found).
Mask tasks (detection, tracking) stream every sequence frame chunk by chunk into score
histograms (memory does not grow with the split); the volume task compares ml per frame
(``pourbench.benchmark.volume_score``). Each metric is reported twice: pooled over the split
(``all_pixels`` for masks, ``all_frames`` for volume) and as the mean of per-sequence
values (``sequence_mean``).

Outputs in ``out_dir`` (each written atomically; ``results.json`` is removed first and
written last, with the sha256 of its sibling outputs, so a complete ``results.json`` always
belongs to the files next to it and to the predictions named in it):

* ``results.json``: everything, with provenance (sha256 of the predictions, fingerprint of
  the ground-truth files, model attributes, date, pourbench version);
* ``results.csv``: the global metrics, one row per aggregation;
* ``per_sequence.csv``: one row per sequence;
* ``pr_<task>.png`` (masks): the pooled precision-recall curve, AP in the legend;
  ``volume_target.png`` (volume): predicted against true ml in the target container over
  time for a few sequences.
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

import numpy as np
from tqdm import tqdm

from pourbench import __version__
from pourbench.benchmark import volume_score
from pourbench.benchmark.groundtruth import GroundTruth
from pourbench.benchmark.metrics import (
    HIDDEN_METRIC_NAMES,
    METRIC_NAMES,
    THRESHOLD,
    PRCurve,
    ScoreHistogram,
    confusion_at,
    hidden_summary,
    histogram,
    mean_of,
    pr_curve,
    summarize,
)
from pourbench.benchmark.plots import plot_pr_curves, plot_volume_curves
from pourbench.benchmark.submission import (
    Predictions,
    SubmissionInfo,
    frames_per_chunk,
    validate_submission,
)
from pourbench.core.atomic import write_text_atomic
from pourbench.core.hashing import file_sha256
from pourbench.core.tasks import TASKS, Task, task_named
from pourbench.datasets.sequence import SequenceReader

log = logging.getLogger(__name__)

RESULTS_JSON = "results.json"
RESULTS_CSV = "results.csv"
PER_SEQUENCE_CSV = "per_sequence.csv"
RESULTS_FORMAT = 1

_EMPTY_RULE = (
    "precision=1 when nothing is predicted; recall=1 when the truth is empty; F1 and IoU=1 "
    "when both are empty; AP and best F1 without a positive in the truth equal F1 at 0.5"
)


#: The pooled aggregation's key in results.json, by task kind.
POOLED = {"mask": "all_pixels", "volume": "all_frames"}
VOLUME_PLOT = "volume_target.png"


def pr_plot_name(task: str) -> str:
    return f"pr_{task}.png"


def plot_name(task: Task) -> str:
    """The figure ``write_results`` draws for ``task``."""
    return pr_plot_name(task.name) if task.is_mask else VOLUME_PLOT


@dataclass
class Results:
    """The scores of one predictions file on one task.

    Attributes:
        task: a task name of the Task table.
        pooled: metrics pooled over the split: every pixel (masks, ``metrics.summarize``)
            or every frame (volume, ``volume_score``); ``all_pixels`` / ``all_frames`` in
            results.json.
        sequence_mean: unweighted mean over sequences of each metric.
        per_sequence: one dict per sequence: ``sequence``, ``frames``, the metrics, and for
            masks ``pixels``, ``positives``, ``predicted_positives``.
        provenance: predictions sha256, ground-truth fingerprint, model attributes, date,
            pourbench version.
        curve: masks: the pooled precision-recall curve.
        series: volume: (sequence, true ml, predicted ml) of the target container for the
            plot.
        fps: volume: frames per second of the plotted sequences.
    """

    task: str
    pooled: dict[str, float]
    sequence_mean: dict[str, float]
    per_sequence: list[dict[str, Any]]
    provenance: dict[str, Any]
    curve: PRCurve | None = None
    series: list[tuple[str, Any, Any]] | None = None
    fps: float | None = None

    @property
    def all_pixels(self) -> dict[str, float]:
        return self.pooled

    def to_json(self) -> dict[str, Any]:
        task = task_named(self.task)
        doc: dict[str, Any] = {"format": RESULTS_FORMAT, "task": task.name, "target": task.truth}
        if task.is_mask:
            doc.update(threshold=THRESHOLD, empty_rule=_EMPTY_RULE)
        else:
            doc["containers"] = [t for t in volume_score.VOLUME_CONTAINERS]
            doc.update({k: self.pooled[k] for k in ("mae_source_ml", "mae_target_ml")})
        return {
            **doc,
            **self.provenance,
            POOLED[task.kind]: self.pooled,
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
        task = task_named(self.task)
        names = METRIC_NAMES if task.is_mask else volume_score.VOLUME_METRICS
        names = names + tuple(k for k in HIDDEN_METRIC_NAMES if k in self.pooled)
        width = max(10, *(len(k) + 1 for k in names))
        pooled = "all pixels" if task.is_mask else "all frames"
        lines = [head, f"{'':14}" + "".join(f"{k:>{width}}" for k in names)]
        for label, m in ((pooled, self.pooled), ("sequence mean", self.sequence_mean)):
            lines.append(f"{label:14}" + "".join(f"{m[k]:{width}.4f}" for k in names))
        return "\n".join(lines)


def score(
    predictions: str | os.PathLike,
    gt_dir: str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
    task: str | None = None,
    progress: bool = True,
) -> Results:
    """Validate and score a predictions file; write the outputs if ``out_dir`` is given.

    Args:
        predictions: HDF5 file, one dataset per sequence: (T, H, W) float16/uint8 water
            probabilities (detection, tracking) or (T, 2) float32/float16 ml (volume).
        gt_dir: folder of ``seq_*.h5`` ground-truth sequences (e.g. ``DIR/test``).
        out_dir: where to write results (created if missing); None writes nothing.
        task: ``detection`` (``mask/visible``), ``tracking`` (``mask/full``) or ``volume``;
            None takes the file's ``task`` attribute, else detection.
        progress: show a progress bar over sequences.

    Raises:
        PourbenchError: bad ground truth, or a submission problem (all of them listed).
    """
    gt = GroundTruth(gt_dir)
    info = validate_submission(predictions, {n: gt.shape(n) for n in gt.names}, task)
    chosen = task_named(info.task)
    log.info("scoring %s on %d sequences (%s)", predictions, len(gt.names), chosen.name)
    scorer = _score_masks if chosen.is_mask else _score_volume
    results = scorer(predictions, gt, chosen, progress)
    results.provenance = _provenance(info, gt)
    if out_dir is not None:
        write_results(results, out_dir)
    return results


def _score_masks(predictions, gt: GroundTruth, task: Task, progress: bool) -> Results:
    pooled = pooled_hidden = ScoreHistogram.empty()
    rows: list[dict[str, Any]] = []
    with Predictions(predictions) as preds:
        bar = tqdm(gt.names, desc=f"score {task.name}", unit="seq", disable=not progress)
        for name in bar:
            T, H, W = gt.shape(name)
            hist, hidden = ScoreHistogram.empty(), ScoreHistogram.empty()
            for frames, truth, outside in gt.iter_masks(name, task, frames_per_chunk(H, W)):
                predicted = preds.read(name, frames)
                hist = hist + histogram(predicted, truth)
                if outside is not None:  # the hidden water: pixels that do not show water
                    hidden = hidden + histogram(predicted[~outside], truth[~outside])
            pooled = pooled + hist
            pooled_hidden = pooled_hidden + hidden
            row = _sequence_row(name, T * H * W, T, hist)
            if task.hidden_outside is not None:
                row.update(hidden_summary(hidden))
            rows.append(row)
    summary = summarize(pooled)
    if task.hidden_outside is not None:
        summary.update(hidden_summary(pooled_hidden))
    return Results(
        task=task.name,
        pooled=summary,
        sequence_mean=mean_of(rows),
        per_sequence=rows,
        provenance={},
        curve=pr_curve(pooled),
    )


def _score_volume(predictions, gt: GroundTruth, task: Task, progress: bool) -> Results:
    pooled = volume_score.empty_errors()
    rows: list[dict[str, Any]] = []
    series = []
    target = volume_score.VOLUME_CONTAINERS.index("target")
    with Predictions(predictions) as preds:
        bar = tqdm(gt.names, desc=f"score {task.name}", unit="seq", disable=not progress)
        for name in bar:
            truth = gt.volumes(name, task)
            predicted = np.asarray(preds.read(name), np.float64)
            errors = volume_score.VolumeErrors.of(predicted, truth)
            pooled = pooled + errors
            rows.append(volume_score.sequence_row(name, errors))
            if len(series) < volume_score.PLOTTED_SEQUENCES:
                series.append((name, truth[:, target], predicted[:, target]))
    with SequenceReader(gt.files[gt.names[0]]) as r:
        fps = float(r.attrs.get("fps", 0)) or None
    return Results(
        task=task.name,
        pooled=pooled.summary(),
        sequence_mean=volume_score.mean_of_rows(rows),
        per_sequence=rows,
        provenance={},
        series=series,
        fps=fps,
    )


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
    """Write results.json, results.csv, per_sequence.csv and the task's figure (``pr_<task>.png``
    or ``volume_target.png``) into ``out_dir``.

    Returns:
        Output name -> path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    marker = out / RESULTS_JSON
    marker.unlink(missing_ok=True)  # no complete-looking result while we write
    task = task_named(results.task)
    figure = plot_name(task)
    for other in TASKS.values():
        if plot_name(other) != figure:  # a figure of another run's task would be stale here
            (out / plot_name(other)).unlink(missing_ok=True)

    metric_cols = list(results.pooled)
    global_rows = [
        {"task": results.task, "aggregation": POOLED[task.kind], **results.pooled},
        {"task": results.task, "aggregation": "sequence_mean", **results.sequence_mean},
    ]
    paths = {
        RESULTS_CSV: out / RESULTS_CSV,
        PER_SEQUENCE_CSV: out / PER_SEQUENCE_CSV,
        figure: out / figure,
    }
    write_text_atomic(
        paths[RESULTS_CSV], _csv_text(["task", "aggregation", *metric_cols], global_rows)
    )
    write_text_atomic(
        paths[PER_SEQUENCE_CSV],
        _csv_text(list(results.per_sequence[0]), results.per_sequence),
    )
    label = results.provenance.get("model") or Path(results.provenance["predictions"]["path"]).stem
    if task.is_mask:
        plot_pr_curves(
            [(label, results.curve, results.pooled["ap"])],
            paths[figure],
            title=f"{task.name} ({task.truth}), all pixels",
        )
    else:
        plot_volume_curves(
            results.series or [],
            paths[figure],
            title=f"{label}: water in the target container\n(solid true, dashed predicted)",
            fps=results.fps,
        )
    doc = results.to_json()
    doc["outputs"] = {name: file_sha256(p) for name, p in paths.items()}
    write_text_atomic(marker, json.dumps(doc, indent=2) + "\n")
    paths[RESULTS_JSON] = marker
    log.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    return paths
