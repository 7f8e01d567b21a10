"""Pixel metrics for liquid segmentation: pure functions on numpy arrays and counts.

Water is the positive class. A prediction is a probability map in [0, 1]; a pixel is
predicted positive at threshold ``t`` when ``p >= t`` (``t = 0.5`` for the fixed-threshold
metrics).

Everything threshold-free is computed exactly from a histogram of scores over a fixed grid
of every value a submission can hold: all float16 numbers in [0, 1] and all ``v / 255``
for uint8 ``v`` (15 615 values). Histograms of two sequences add, so a whole split is
scored from counts (a quarter megabyte), never from arrays of pixels, and the result is
what sklearn's ``average_precision_score`` would give on the concatenated pixels.

Edge cases (defined here once, never NaN):

* precision ``TP / (TP + FP)`` is 1 when nothing is predicted (no false alarm);
* recall ``TP / (TP + FN)`` is 1 when the truth holds no positive (nothing to miss);
* F1 ``2 TP / (2 TP + FP + FN)`` and IoU ``TP / (TP + FP + FN)`` are 1 when truth and
  prediction are both empty, 0 when exactly one of them is;
* average precision and best F1 need at least one positive in the truth. Without one they
  equal F1 at 0.5: 1 when no pixel scores >= 0.5, else 0 (on an empty sequence the only
  right answer is to claim nothing).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

THRESHOLD = 0.5

#: Names of the per-sequence / per-split metrics, in report order.
METRIC_NAMES = ("precision", "recall", "f1", "iou", "ap", "best_f1")
#: Tracking scored where the water is hidden (see :func:`hidden_summary`).
HIDDEN_METRIC_NAMES = ("hidden_precision", "hidden_recall", "hidden_f1", "hidden_ap")


# --------------------------------------------------------------------------- score grid


@functools.cache
def score_grid() -> np.ndarray:
    """Every probability a float16 or uint8 submission can hold, sorted: float64 (NUM_BINS,)."""
    f16 = np.arange(0, 0x3C01, dtype=np.uint16).view(np.float16)  # bit patterns 0.0 .. 1.0
    u8 = np.arange(256, dtype=np.float64) / 255.0
    return np.unique(np.concatenate([f16.astype(np.float64), u8]))


@functools.cache
def _float16_lut() -> np.ndarray:
    """float16 bit pattern -> grid index; -1 for NaN, Inf and values outside [0, 1]."""
    values = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    values = values.astype(np.float64)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(values) & (values >= 0.0) & (values <= 1.0)  # -0.0 counts as 0
    lut = np.full(1 << 16, -1, np.int32)
    lut[ok] = np.searchsorted(score_grid(), values[ok])
    return lut


@functools.cache
def _uint8_lut() -> np.ndarray:
    return np.searchsorted(score_grid(), np.arange(256) / 255.0).astype(np.int32)


def num_bins() -> int:
    return len(score_grid())


def score_bins(probabilities: np.ndarray) -> np.ndarray:
    """Grid index of each probability (same shape, int32).

    Args:
        probabilities: float16 in [0, 1], or uint8 meaning ``value / 255``.

    Raises:
        ValueError: another dtype, or a float16 value that is NaN, Inf or outside [0, 1].
    """
    p = np.asarray(probabilities)
    if p.dtype.kind == "u" and p.dtype.itemsize == 1:
        return _uint8_lut()[p]
    if p.dtype.kind == "f" and p.dtype.itemsize == 2:
        bins = _float16_lut()[p.astype(np.float16, copy=False).view(np.uint16)]
        if bins.size and bins.min() < 0:
            raise ValueError("probabilities hold NaN, Inf or values outside [0, 1]")
        return bins
    raise ValueError(f"probabilities of dtype {p.dtype}; allowed: float16, uint8")


# --------------------------------------------------------------------------- histograms


@dataclass(frozen=True)
class ScoreHistogram:
    """Pixel counts per score bin, split by truth. Adding two histograms pools their pixels.

    Attributes:
        positives: int64 (NUM_BINS,), pixels that are water in the truth, by score bin.
        negatives: int64 (NUM_BINS,), pixels that are not water, by score bin.
    """

    positives: np.ndarray
    negatives: np.ndarray

    @classmethod
    def empty(cls) -> ScoreHistogram:
        n = num_bins()
        return cls(np.zeros(n, np.int64), np.zeros(n, np.int64))

    def __add__(self, other: ScoreHistogram) -> ScoreHistogram:
        return ScoreHistogram(self.positives + other.positives, self.negatives + other.negatives)

    @property
    def num_positive(self) -> int:
        return int(self.positives.sum())

    @property
    def num_negative(self) -> int:
        return int(self.negatives.sum())


def histogram(probabilities: np.ndarray, truth: np.ndarray) -> ScoreHistogram:
    """Histogram of ``probabilities`` split by ``truth``.

    Args:
        probabilities: float16 or uint8, any shape (e.g. (T, H, W)); see ``score_bins``.
        truth: bool, same shape; True = water.
    """
    truth = np.asarray(truth, dtype=bool)
    if truth.shape != np.shape(probabilities):
        raise ValueError(f"truth shape {truth.shape} != probabilities {np.shape(probabilities)}")
    n = num_bins()
    key = score_bins(probabilities).ravel() * 2 + truth.ravel()
    counts = np.bincount(key, minlength=2 * n).astype(np.int64).reshape(n, 2)
    return ScoreHistogram(positives=counts[:, 1].copy(), negatives=counts[:, 0].copy())


# --------------------------------------------------------------------------- confusion


class Confusion(NamedTuple):
    """Pixel confusion counts at one threshold."""

    tp: int
    fp: int
    fn: int
    tn: int


def confusion_from_masks(predicted: np.ndarray, truth: np.ndarray) -> Confusion:
    """Confusion counts of two bool masks of the same shape."""
    predicted, truth = np.asarray(predicted, bool), np.asarray(truth, bool)
    tp = int(np.count_nonzero(predicted & truth))
    fp = int(np.count_nonzero(predicted)) - tp
    fn = int(np.count_nonzero(truth)) - tp
    return Confusion(tp, fp, fn, truth.size - tp - fp - fn)


def confusion_at(hist: ScoreHistogram, threshold: float = THRESHOLD) -> Confusion:
    """Confusion counts when pixels with ``score >= threshold`` are predicted water."""
    k = int(np.searchsorted(score_grid(), threshold, side="left"))
    tp = int(hist.positives[k:].sum())
    fp = int(hist.negatives[k:].sum())
    return Confusion(tp, fp, hist.num_positive - tp, hist.num_negative - fp)


def precision(c: Confusion) -> float:
    """TP / (TP + FP); 1 when nothing is predicted."""
    return 1.0 if c.tp + c.fp == 0 else c.tp / (c.tp + c.fp)


def recall(c: Confusion) -> float:
    """TP / (TP + FN); 1 when the truth holds no positive."""
    return 1.0 if c.tp + c.fn == 0 else c.tp / (c.tp + c.fn)


def f1_score(c: Confusion) -> float:
    """2 TP / (2 TP + FP + FN); 1 when truth and prediction are both empty."""
    d = 2 * c.tp + c.fp + c.fn
    return 1.0 if d == 0 else 2 * c.tp / d


def iou(c: Confusion) -> float:
    """TP / (TP + FP + FN) (Jaccard); 1 when truth and prediction are both empty."""
    d = c.tp + c.fp + c.fn
    return 1.0 if d == 0 else c.tp / d


# --------------------------------------------------------------------------- PR curve


class PRCurve(NamedTuple):
    """Precision and recall at each distinct score present, thresholds descending."""

    thresholds: np.ndarray  # float64 (N,), descending
    precision: np.ndarray  # float64 (N,)
    recall: np.ndarray  # float64 (N,), non-decreasing


def pr_curve(hist: ScoreHistogram) -> PRCurve:
    """The precision-recall curve, one point per distinct score present (like sklearn).

    Recall is all zeros when the truth has no positive (see the module docstring).
    """
    present = np.flatnonzero((hist.positives + hist.negatives) > 0)[::-1]  # descending score
    tp_all = np.cumsum(hist.positives[::-1])[::-1]  # pixels with score >= each bin
    fp_all = np.cumsum(hist.negatives[::-1])[::-1]
    tp = tp_all[present].astype(np.float64)
    fp = fp_all[present].astype(np.float64)
    n_pos = hist.num_positive
    rec = tp / n_pos if n_pos else np.zeros_like(tp)
    return PRCurve(score_grid()[present], tp / (tp + fp), rec)


def average_precision(hist: ScoreHistogram) -> float:
    """Area under the step-wise PR curve: sum_n (R_n - R_{n-1}) P_n, R_0 = 0 (sklearn's AP).

    Without a positive in the truth: F1 at 0.5 (1 when nothing scores >= 0.5, else 0).
    """
    if hist.num_positive == 0:
        return f1_score(confusion_at(hist))
    curve = pr_curve(hist)
    steps = np.diff(curve.recall, prepend=0.0)
    return float(np.sum(steps * curve.precision))


def best_f1(hist: ScoreHistogram) -> tuple[float, float]:
    """Best F1 over all thresholds at the distinct scores present: (F1, threshold).

    Ties go to the highest threshold. Without a positive in the truth: (F1 at 0.5, 0.5).
    """
    if hist.num_positive == 0:
        return f1_score(confusion_at(hist)), THRESHOLD
    present = np.flatnonzero((hist.positives + hist.negatives) > 0)[::-1]
    tp = np.cumsum(hist.positives[::-1])[::-1][present]
    fp = np.cumsum(hist.negatives[::-1])[::-1][present]
    fn = hist.num_positive - tp
    f1 = 2 * tp / (2 * tp + fp + fn)  # denominator > 0: there is a positive
    i = int(np.argmax(f1))
    return float(f1[i]), float(score_grid()[present[i]])


# --------------------------------------------------------------------------- summaries


def summarize(hist: ScoreHistogram) -> dict[str, float]:
    """All metrics of one sequence or one pooled split.

    Returns:
        ``precision``, ``recall``, ``f1``, ``iou`` (at 0.5), ``ap``, ``best_f1`` and
        ``best_threshold``, each a float in [0, 1].
    """
    c = confusion_at(hist)
    bf1, bt = best_f1(hist)
    return {
        "precision": precision(c),
        "recall": recall(c),
        "f1": f1_score(c),
        "iou": iou(c),
        "ap": average_precision(hist),
        "best_f1": bf1,
        "best_threshold": bt,
    }


def hidden_summary(hist: ScoreHistogram) -> dict[str, float]:
    """Precision, recall, F1 (at 0.5) and AP of a histogram taken over the pixels that do
    not show visible water only, against the hidden water (``mask/full & ~mask/visible``):
    the pixels that need memory. Keys are :data:`HIDDEN_METRIC_NAMES`; the edge cases of
    the module docstring apply (no hidden water and none claimed scores 1)."""
    c = confusion_at(hist)
    return {
        "hidden_precision": precision(c),
        "hidden_recall": recall(c),
        "hidden_f1": f1_score(c),
        "hidden_ap": average_precision(hist),
    }


def mean_of(per_sequence: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Unweighted mean over sequences of each metric in ``METRIC_NAMES`` (and
    ``HIDDEN_METRIC_NAMES`` where the rows have them).

    Every per-sequence value is defined (no NaN to drop), so each sequence counts once.
    """
    rows = list(per_sequence)
    if not rows:
        raise ValueError("mean over no sequences")
    names = METRIC_NAMES + tuple(k for k in HIDDEN_METRIC_NAMES if k in rows[0])
    return {k: float(np.mean([r[k] for r in rows])) for k in names}
