"""The benchmark tasks: one table that the loader, the models, training, prediction, the
scorer and the leaderboard all read.

A task names its ground truth in a sequence file, the shape and dtypes of its predictions,
its training loss, the metric that picks the best checkpoint and its leaderboard columns.
Adding a task is a row here plus its scorer (``pourbench.benchmark.scorers``).
"""

from __future__ import annotations

from dataclasses import dataclass

from pourbench.core.errors import PourbenchError
from pourbench.core.schema import VOLUME_COLUMNS

#: The containers whose water the volume task predicts, in prediction-column order.
VOLUME_CONTAINERS = ("source", "target")


@dataclass(frozen=True)
class Column:
    """A leaderboard column: a key of the scorer's summary and how to show it."""

    key: str
    label: str
    higher_is_better: bool = True
    digits: int = 3


@dataclass(frozen=True)
class Task:
    """One benchmark task.

    Attributes:
        name: ``detection``, ``tracking`` or ``volume``.
        kind: ``mask`` (a water probability per pixel) or ``volume`` (ml per container).
        truth: the dataset of a sequence file that holds the ground truth.
        truth_columns: for ``volume``: indices into the truth's last axis, in prediction order.
        prediction_shape: per-frame shape of a prediction; ``"H"``/``"W"`` stand for the
            sequence's image size.
        prediction_dtypes: numpy dtype names a predictions file may use.
        loss: training loss (``bce``: binary cross-entropy on logits; ``l1``: absolute error
            of ml scaled by the model's volume scale).
        main_metric: the validation metric that picks ``best.pt``.
        higher_is_better: direction of ``main_metric``.
        columns: leaderboard columns, from the scorer's summary.
        label, short: names in tables (``Detection``, ``det``).
        hidden_outside: for tracking: the mask whose pixels are left out to score the hidden
            water alone (``hidden_*`` metrics on ``~mask/visible`` against
            ``truth & ~mask/visible``); None for the other tasks.
    """

    name: str
    kind: str
    truth: str
    prediction_shape: tuple[str | int, ...]
    prediction_dtypes: tuple[str, ...]
    loss: str
    main_metric: str
    higher_is_better: bool
    columns: tuple[Column, ...]
    label: str
    short: str
    truth_columns: tuple[int, ...] = ()
    hidden_outside: str | None = None

    @property
    def is_mask(self) -> bool:
        return self.kind == "mask"

    def prediction_frame_shape(self, height: int, width: int) -> tuple[int, ...]:
        """The per-frame prediction shape for images of ``height`` x ``width``."""
        sizes = {"H": height, "W": width}
        return tuple(sizes.get(d, d) for d in self.prediction_shape)  # type: ignore[misc]

    def better(self, a: float, b: float) -> bool:
        """Whether main-metric value ``a`` beats ``b``."""
        return a > b if self.higher_is_better else a < b

    @property
    def worst(self) -> float:
        """A main-metric value every real score beats."""
        return -float("inf") if self.higher_is_better else float("inf")


_MASK_COLUMNS = (Column("f1", "F1"), Column("iou", "IoU"), Column("ap", "AP"))


def _mask_task(
    name: str,
    truth: str,
    label: str,
    short: str,
    columns: tuple[Column, ...] = _MASK_COLUMNS,
    hidden_outside: str | None = None,
) -> Task:
    """A task scored per pixel: water probabilities (H, W), BCE, best by F1."""
    return Task(
        name=name, kind="mask", truth=truth, prediction_shape=("H", "W"),
        prediction_dtypes=("float16", "uint8"), loss="bce", main_metric="f1",
        higher_is_better=True, columns=columns, label=label, short=short,
        hidden_outside=hidden_outside,
    )  # fmt: skip


TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        _mask_task("detection", "mask/visible", "Detection", "det"),
        _mask_task(
            "tracking", "mask/full", "Tracking", "trk",
            columns=(*_MASK_COLUMNS, Column("hidden_f1", "hidden F1"),
                     Column("hidden_ap", "hidden AP")),
            hidden_outside="mask/visible",
        ),  # fmt: skip
        Task(
            name="volume",
            kind="volume",
            truth="volume",
            truth_columns=tuple(VOLUME_COLUMNS.index(c) for c in VOLUME_CONTAINERS),
            prediction_shape=(len(VOLUME_CONTAINERS),),
            prediction_dtypes=("float32", "float16"),
            loss="l1",
            main_metric="mae_target_ml",
            higher_is_better=False,
            columns=(
                Column("mae_target_ml", "MAE target ml", False, 1),
                Column("mae_source_ml", "MAE source ml", False, 1),
                Column("final_mae_target_ml", "Final target ml", False, 1),
            ),
            label="Volume",
            short="vol",
        ),
    )
}

#: Training task sets by name: one task, or several trained jointly (one model, one head each).
ALIASES: dict[str, tuple[str, ...]] = {
    "both": ("detection", "tracking"),
    "all": ("detection", "tracking", "volume"),
}


def task_named(name: str) -> Task:
    """The task called ``name``; a PourbenchError listing the valid names otherwise."""
    try:
        return TASKS[name]
    except KeyError:
        raise PourbenchError(f"unknown task {name!r}; valid: {', '.join(TASKS)}") from None


def parse_tasks(text: str) -> tuple[Task, ...]:
    """Tasks trained together: ``detection``, ``volume+detection``, ``both``, ``all``...

    In the order named, each once; the first is the main task (it picks ``best.pt``). The
    mask tasks among them are the model's mask channels in that order.
    """
    names: list[str] = []
    for part in str(text).split("+"):
        part = part.strip()
        if part in ALIASES:
            names += ALIASES[part]
        elif part in TASKS:
            names.append(part)
        else:
            valid = ", ".join([*TASKS, *ALIASES])
            raise PourbenchError(
                f"unknown task {part!r} in {text!r}; valid: {valid}, or several joined by +"
            )
    return tuple(TASKS[n] for n in dict.fromkeys(names))


def task_set_name(tasks: tuple[Task, ...]) -> str:
    """The canonical ``+``-joined name of a task set (``detection+volume``)."""
    return "+".join(t.name for t in tasks)


#: Training task names the CLI offers (single tasks, aliases; any ``+`` join also works).
TRAIN_TASK_CHOICES = (*TASKS, *ALIASES)
