"""Figures of the scorer and the study: precision-recall curves, learning curves, drawn
off-screen (Agg, no pyplot state)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pourbench.benchmark.metrics import THRESHOLD, PRCurve
from pourbench.core.atomic import atomic_path


def plot_pr_curves(
    curves: Sequence[tuple[str, PRCurve, float]],
    path: str | os.PathLike,
    title: str,
) -> None:
    """Draw precision against recall, one step curve per entry, and save a PNG atomically.

    Args:
        curves: (label, curve, average precision) per entry; the AP goes in the legend.
        path: output PNG file.
        title: figure title (e.g. the task).
    """
    fig = Figure(figsize=(5.0, 4.5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for label, curve, ap in curves:
        if len(curve.recall) == 0:
            continue
        # AP = sum (R_n - R_{n-1}) P_n: precision P_n holds on (R_{n-1}, R_n].
        recall = np.concatenate([[0.0], curve.recall])
        prec = np.concatenate([[curve.precision[0]], curve.precision])
        (line,) = ax.plot(recall, prec, drawstyle="steps-pre", label=f"{label} (AP {ap:.3f})")
        at = int(np.searchsorted(-curve.thresholds, -THRESHOLD, side="right")) - 1
        if at >= 0:  # the operating point at threshold 0.5
            ax.plot(curve.recall[at], curve.precision[at], "o", color=line.get_color())
    ax.plot([], [], "o", color="gray", label=f"threshold {THRESHOLD}")
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="recall", ylabel="precision", title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize="small")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def plot_volume_curves(
    series: Sequence[tuple[str, np.ndarray, np.ndarray]],
    path: str | os.PathLike,
    title: str,
    fps: float | None = None,
) -> None:
    """Predicted (dashed) against true (solid) ml over time, one colour per sequence.

    Args:
        series: (sequence name, true ml (T,), predicted ml (T,)) per sequence.
        path: output PNG file.
        title: figure title.
        fps: frames per second for a time axis in seconds; None plots frame indices.
    """
    fig = Figure(figsize=(6.0, 4.0), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name, truth, predicted in series:
        t = np.arange(len(truth)) / (fps or 1.0)
        (line,) = ax.plot(t, truth, "-", label=f"{name} true")
        ax.plot(t, predicted, "--", color=line.get_color(), label=f"{name} predicted")
    ax.set_xlabel("time (s)" if fps else "frame")
    ax.set_ylabel("water (ml)")
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="x-small", ncol=2)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def plot_learning_curves(
    curves: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]]],
    path: str | os.PathLike,
) -> None:
    """Validation metrics against epoch, one panel per metric and one line per label (mean
    over seeds, a band of ± one standard deviation): whether a budget was enough.

    Args:
        curves: metric -> label -> (epochs, mean, std), as ``study.learning_curves`` gives.
        path: output PNG file.
    """
    fig = Figure(figsize=(5.0 * len(curves), 4.0), dpi=120)
    FigureCanvasAgg(fig)
    for i, (metric, by_label) in enumerate(curves.items()):
        ax = fig.add_subplot(1, len(curves), i + 1)
        for label, (epochs, mean, std) in by_label.items():
            (line,) = ax.plot(epochs, mean, marker=".", label=label)
            ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.15)
        ax.set(xlabel="epoch", ylabel=metric, title=metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
