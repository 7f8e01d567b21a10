"""Is one model better than another beyond chance? Paired bootstrap over test sequences.

The unit of evidence is the test sequence (frames of one sequence are not independent).
For each model, a per-sequence metric is averaged over its training seeds; the difference
of two models on the same sequences is resampled with replacement (the sequences drawn
together for both models: a paired test), and the 2.5 and 97.5 percentiles of the mean
difference are its 95 % interval. An interval that excludes 0 is a difference the test
split supports; one that straddles 0 is not.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pourbench.core.errors import PourbenchError
from pourbench.core.tasks import TASKS

#: Bootstrap resamples; the interval's ends move by < 0.1 % of its width at this size.
RESAMPLES = 10_000


@dataclass(frozen=True)
class Difference:
    """Mean of ``a - b`` over the test sequences and its bootstrap 95 % interval."""

    task: str
    metric: str
    a: str
    b: str
    mean: float
    low: float
    high: float
    sequences: int
    modality: str = "-"  # of both sides; "-" when the sides differ in modality

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def text(self, digits: int = 3) -> str:
        return f"{self.mean:+.{digits}f} [{self.low:+.{digits}f}, {self.high:+.{digits}f}]"


def paired_bootstrap(
    a: np.ndarray, b: np.ndarray, resamples: int = RESAMPLES, seed: int = 0
) -> tuple[float, float, float]:
    """(mean, 2.5 %, 97.5 %) of ``mean(a - b)`` over sequences resampled with replacement.

    Args:
        a, b: per-sequence values of two models on the same sequences, same order.
    """
    diff = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    if diff.ndim != 1 or diff.size == 0:
        raise ValueError(f"need two equal 1-d arrays of per-sequence values, got {diff.shape}")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, diff.size, size=(resamples, diff.size))
    means = diff[draws].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(diff.mean()), float(low), float(high)


def per_sequence_means(results: Sequence[str | os.PathLike]) -> dict:
    """(task, model, modality) -> {sequence: {metric: mean over the runs (seeds)}}."""
    grouped: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for path in results:
        path = Path(path)
        path = path / "results.json" if path.is_dir() else path
        try:
            doc = json.loads(path.read_text())
            key = (doc["task"], doc.get("model") or path.parent.name, doc.get("modality") or "-")
            for row in doc["per_sequence"]:
                for metric, value in row.items():
                    if isinstance(value, int | float) and metric not in ("frames", "pixels"):
                        grouped[key][row["sequence"]][metric].append(float(value))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise PourbenchError(f"{path}: not a readable results.json ({e})") from e
    return {
        key: {seq: {m: float(np.mean(v)) for m, v in metrics.items()}
              for seq, metrics in sequences.items()}  # fmt: skip
        for key, sequences in grouped.items()
    }


#: One side of a difference: a model (in the modality asked for) or an exact (model, modality).
Side = str | tuple[str, str]


def compare(
    results: Sequence[str | os.PathLike],
    pairs: Sequence[tuple[Side, Side]],
    modality: str | None = None,
    seed: int = 0,
) -> list[Difference]:
    """Differences ``a - b`` for each pair, each task and its leaderboard metrics, over the
    sequences both were scored on.

    A side is a model name (``"lstm"``; of ``modality`` when given) or a (model, modality)
    pair (``("cnn", "thermal")``), so pairs compare models or what a modality buys one model.

    Raises:
        PourbenchError: a bare model name matches several modalities and none was given.
    """
    table = per_sequence_means(results)

    def find(task: str, side: Side):
        if isinstance(side, tuple):
            key = (task, *side)
            return key if key in table else None
        found = [k for k in table if k[0] == task and k[1] == side
                 and (modality is None or k[2] == modality)]  # fmt: skip
        if len(found) > 1:
            raise PourbenchError(
                f"{side}: scored in several modalities ({', '.join(k[2] for k in found)}); "
                "pass modality= or a (model, modality) side"
            )
        return found[0] if found else None

    out = []
    for task in TASKS.values():
        for a, b in pairs:
            ka, kb = find(task.name, a), find(task.name, b)
            if ka is None or kb is None:
                continue
            names = sorted(set(table[ka]) & set(table[kb]))
            same_modality = ka[2] == kb[2]
            label_a = ka[1] if same_modality else f"{ka[1]} {ka[2]}"
            label_b = kb[1] if same_modality else f"{kb[1]} {kb[2]}"
            for column in task.columns:
                if not names or not all(column.key in table[k][n] for k in (ka, kb) for n in names):
                    continue
                va = np.array([table[ka][n][column.key] for n in names])
                vb = np.array([table[kb][n][column.key] for n in names])
                mean, low, high = paired_bootstrap(va, vb, seed=seed)
                out.append(Difference(task.name, column.key, label_a, label_b, mean, low, high,
                                      len(names), ka[2] if same_modality else "-"))  # fmt: skip
    return out


def to_markdown(differences: Sequence[Difference]) -> str:
    """A table of the differences: mean [95 % interval] over test sequences."""
    lines = [
        "| Task | Metric | Modality | Difference | Mean [95 % interval] | Excludes 0 | Sequences |",
        "|---|---|---|---|---:|---|---:|",
    ]
    for d in differences:
        lines.append(
            f"| {d.task} | {d.metric} | {d.modality} | {d.a} − {d.b} | {d.text()} | "
            f"{'yes' if d.excludes_zero else 'no'} | {d.sequences} |"
        )
    return "\n".join(lines) + (
        "\n\nPaired bootstrap over test sequences (per-sequence values averaged over seeds, "
        f"{RESAMPLES} resamples). Errors (ml): negative is better.\n"
    )
