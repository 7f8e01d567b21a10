"""Score volume predictions: ml of water in the source and the target container per frame.

Per sequence and container: the mean absolute error over frames (``mae_<c>_ml``), the
absolute error on the last frame (``final_mae_<c>_ml``: how far off the amount poured is),
the mean true volume and the relative error (MAE / mean true volume). Pooled over the split
(``all_frames``): MAE over every frame of every sequence, the final-frame error averaged
over sequences, and the pooled MAE over the pooled mean true volume. ``sequence_mean``
averages the per-sequence values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pourbench.core.tasks import VOLUME_CONTAINERS

#: Metric names of a volume score, in report order.
VOLUME_METRICS = tuple(
    f"{kind}_{c}{unit}"
    for kind, unit in (("mae", "_ml"), ("final_mae", "_ml"), ("rel_mae", ""))
    for c in reversed(VOLUME_CONTAINERS)  # target first: the question is the bowl
)
#: Sequences drawn in the volume plot.
PLOTTED_SEQUENCES = 4


@dataclass
class VolumeErrors:
    """Sums that pool over sequences: absolute errors, true volumes, frames, last frames."""

    abs_error: np.ndarray  # (V,) sum over frames of |pred - true|
    truth: np.ndarray  # (V,) sum over frames of true ml
    final_abs_error: np.ndarray  # (V,) sum over sequences of |pred - true| on the last frame
    frames: int
    sequences: int

    @classmethod
    def of(cls, predicted: np.ndarray, truth: np.ndarray) -> VolumeErrors:
        """Errors of one sequence: predicted and true ml, each (T, V)."""
        error = np.abs(np.asarray(predicted, np.float64) - truth)
        return cls(error.sum(0), truth.sum(0), error[-1], len(truth), 1)

    def __add__(self, other: VolumeErrors) -> VolumeErrors:
        return VolumeErrors(
            self.abs_error + other.abs_error,
            self.truth + other.truth,
            self.final_abs_error + other.final_abs_error,
            self.frames + other.frames,
            self.sequences + other.sequences,
        )

    def summary(self) -> dict[str, float]:
        """The metrics of :data:`VOLUME_METRICS`, plus the mean true ml per container."""
        out: dict[str, float] = {}
        mae = self.abs_error / max(self.frames, 1)
        mean_truth = self.truth / max(self.frames, 1)
        final = self.final_abs_error / max(self.sequences, 1)
        for i, c in enumerate(VOLUME_CONTAINERS):
            out[f"mae_{c}_ml"] = float(mae[i])
            out[f"final_mae_{c}_ml"] = float(final[i])
            out[f"rel_mae_{c}"] = float(mae[i] / mean_truth[i]) if mean_truth[i] > 0 else 0.0
            out[f"mean_true_{c}_ml"] = float(mean_truth[i])
        return {k: out[k] for k in (*VOLUME_METRICS, *sorted(set(out) - set(VOLUME_METRICS)))}


def empty_errors() -> VolumeErrors:
    v = len(VOLUME_CONTAINERS)
    return VolumeErrors(np.zeros(v), np.zeros(v), np.zeros(v), 0, 0)


def sequence_row(name: str, errors: VolumeErrors) -> dict[str, Any]:
    return {"sequence": name, "frames": errors.frames, **errors.summary()}


def mean_of_rows(rows: list[dict[str, Any]]) -> dict[str, float]:
    keys = [k for k in rows[0] if k not in ("sequence", "frames")]
    return {k: float(np.mean([r[k] for r in rows])) for k in keys}
