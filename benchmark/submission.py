"""Predictions files (submissions): strict validation, then chunked reading.

A predictions file is HDF5 with one dataset per test sequence, named by the sequence (the
ground-truth file stem, e.g. ``seq_000012``). Its shape and dtype come from the task
(``pourbench.core.tasks``):

* detection, tracking: probabilities (T, H, W) of water: float16 in [0, 1], or uint8
  meaning ``value / 255``. No other dtype is accepted (float32 and float64 included: cast
  to float16 when writing; the scorer then bins them exactly).
* volume: ml of water (T, 2) in the source and the target container, float32 or float16,
  finite and >= 0.

Root attributes: ``task`` (required for volume; a file without it is a detection file),
optional ``model``, ``modality`` (str), ``num_parameters`` (int), ``seed`` (int).

The whole file is checked before anything is scored, and every problem is listed, one line
each (``predictions.h5: seq_000012: wrong shape (4, 60, 80), expected (5, 60, 80)``).

Safety: the file is only read as numeric data through h5py (which never unpickles). Soft
and external links, virtual datasets and datasets stored in external raw files are refused
without being followed, so a submission cannot make the scorer read other files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from pourbench.core.errors import PourbenchError
from pourbench.core.hashing import file_sha256
from pourbench.core.tasks import TASKS, Task, task_named

#: Frames are read in chunks of about this many pixels (memory bound while scanning).
CHUNK_PIXELS = 1 << 22
#: At most this many problem lines are listed in the error; the rest are counted.
MAX_LISTED_PROBLEMS = 50
#: Bit pattern of float16 1.0: non-negative float16 values <= 1 have patterns 0 .. this.
_FLOAT16_ONE_BITS = 0x3C00


@dataclass(frozen=True)
class SubmissionInfo:
    """What a valid predictions file says about itself."""

    path: Path
    sha256: str
    size_bytes: int
    model: str | None = None
    modality: str | None = None
    task: str | None = None
    num_parameters: int | None = None
    seed: int | None = None
    names: tuple[str, ...] = field(default_factory=tuple)


def frames_per_chunk(height: int, width: int) -> int:
    """How many frames of H x W make one read chunk of about ``CHUNK_PIXELS``."""
    return max(1, CHUNK_PIXELS // max(1, height * width))


def _is_allowed_dtype(dtype: np.dtype, task: Task) -> bool:
    """Whether ``dtype`` (in either byte order) is one of the task's prediction dtypes."""
    return dtype.kind in "fu" and dtype.newbyteorder("=").name in task.prediction_dtypes


def _volume_problems(ds: h5py.Dataset) -> list[str]:
    """NaN, Inf and negative counts of a volume dataset (T, V) (small: read whole)."""
    a = np.asarray(ds[()], dtype=np.float64)
    nan, inf = int(np.isnan(a).sum()), int(np.isinf(a).sum())
    negative = a[np.isfinite(a) & (a < 0)]
    problems = []
    if nan:
        problems.append(f"{nan} NaN values")
    if inf:
        problems.append(f"{inf} infinite values")
    if negative.size:
        problems.append(f"{negative.size} negative volumes (lowest {negative.min():g} ml)")
    return problems


def _value_problems(ds: h5py.Dataset) -> list[str]:
    """NaN, Inf and out-of-range counts of a float16 dataset, scanned chunk by chunk."""
    T, H, W = ds.shape
    step = frames_per_chunk(H, W)
    nan = inf = outside = 0
    lo, hi = np.inf, -np.inf
    for start in range(0, T, step):
        a = np.asarray(ds[start : start + step])
        a = a.astype(np.float16, copy=False)  # native byte order
        if a.view(np.uint16).max() <= _FLOAT16_ONE_BITS:  # all in [+0, 1]: the common case
            continue
        a = a.astype(np.float32)
        finite = np.isfinite(a)
        nan += int(np.count_nonzero(np.isnan(a)))
        inf += int(np.count_nonzero(np.isinf(a)))
        bad = finite & ((a < 0) | (a > 1))
        if bad.any():
            outside += int(np.count_nonzero(bad))
            lo, hi = min(lo, float(a[bad].min())), max(hi, float(a[bad].max()))
    problems = []
    if nan:
        problems.append(f"{nan} NaN values")
    if inf:
        problems.append(f"{inf} infinite values")
    if outside:
        problems.append(f"{outside} values outside [0, 1] (lowest {lo:g}, highest {hi:g})")
    return problems


def _dataset_problems(f: h5py.File, name: str, shape: tuple[int, ...], task: Task) -> list[str]:
    """Problems of the entry ``name`` that should be a prediction dataset of ``shape``."""
    link = f.get(name, getlink=True)
    if isinstance(link, h5py.SoftLink):
        return [f"is a soft link (to {link.path}); expected a dataset"]
    if isinstance(link, h5py.ExternalLink):
        return [f"is an external link (to {link.filename}:{link.path}); expected a dataset"]
    obj = f.get(name)
    if isinstance(obj, h5py.Group):
        return ["is a group; expected a dataset"]
    if not isinstance(obj, h5py.Dataset):
        return [f"is a {type(obj).__name__}; expected a dataset"]
    if obj.is_virtual or obj.external:
        return ["is stored outside the file (virtual or external dataset); refused"]
    problems = []
    if not _is_allowed_dtype(obj.dtype, task):
        allowed = ", ".join(task.prediction_dtypes)
        problems.append(f"wrong dtype {obj.dtype}, allowed for {task.name}: {allowed}")
    if obj.shape != tuple(shape):
        problems.append(f"wrong shape {obj.shape}, expected {tuple(shape)}")
    if problems or obj.dtype.kind == "u":  # uint8 is always within [0, 255] / 255
        return problems
    try:
        return _value_problems(obj) if task.is_mask else _volume_problems(obj)
    except (OSError, ValueError, RuntimeError) as e:
        return [f"cannot read data ({e})"]


def _text_attr(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def _int_attr(value: Any) -> int | None:
    if isinstance(value, np.ndarray) and value.shape == (1,):
        value = value[0]
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value) if value >= 0 else None
    return None


def _read_attrs(f: h5py.File) -> tuple[dict[str, Any], list[str]]:
    """The optional root attributes, and a problem line for each malformed one."""
    out: dict[str, Any] = {}
    problems: list[str] = []
    for key, convert, allowed in (
        ("model", _text_attr, "a string"),
        ("modality", _text_attr, "a string"),
        ("task", _text_attr, " | ".join(TASKS)),
        ("num_parameters", _int_attr, "a non-negative integer"),
        ("seed", _int_attr, "a non-negative integer"),
    ):
        if key not in f.attrs:
            continue
        try:
            raw = f.attrs[key]
        except (OSError, TypeError, ValueError) as e:
            problems.append(f"attribute {key!r} unreadable ({e})")
            continue
        value = convert(raw)
        if value is None or (key == "task" and value not in TASKS):
            problems.append(f"attribute {key!r} is {raw!r}, expected {allowed}")
        else:
            out[key] = value
    return out, problems


def _raise(problems: list[str]) -> None:
    listed = problems[:MAX_LISTED_PROBLEMS]
    if len(problems) > len(listed):
        listed.append(f"... and {len(problems) - len(listed)} more problems")
    raise PourbenchError("\n".join(listed))


def resolve_task(asked: str | None, declared: str | None, label: str) -> Task:
    """The task to score: the one asked, else the file's ``task`` attribute, else detection.

    Raises:
        PourbenchError: the asked task is unknown, or contradicts the file's attribute.
    """
    if asked is not None:
        task = task_named(asked)
        if declared is not None and declared != asked:
            raise PourbenchError(
                f"{label}: holds {declared} predictions (attribute 'task') but task "
                f"{asked!r} was asked; score it as {declared} or fix the attribute"
            )
        return task
    return task_named(declared or "detection")


def _other_kind(names: list[str]) -> str | None:
    """What another pourbench file given as a submission is, from its top-level names."""
    names = set(names)
    if {"rgb", "mask"} <= names:
        return "a sequence file (ground truth)"
    if {"positions", "containers"} <= names:
        return "a particle track"
    return None


def validate_submission(
    path: str | os.PathLike,
    expected: Mapping[str, tuple[int, int, int]],
    task: str | None = None,
) -> SubmissionInfo:
    """Check a whole predictions file against the ground truth before any scoring.

    Args:
        path: the predictions HDF5 file.
        expected: sequence name -> (T, H, W) of its ground truth.
        task: the task to check it as; None takes the file's ``task`` attribute, else
            detection.

    Returns:
        The file's identity (sha256, size), its task and optional attributes.

    Raises:
        PourbenchError: one line per problem: unreadable or not HDF5, missing sequence,
            extra entry, entry not a plain dataset, wrong dtype or shape, NaN, Inf, values
            outside [0, 1] (masks) or negative (volume), malformed attribute, a task that
            contradicts the file's.
    """
    path = Path(path)
    label = str(path)
    if not path.is_file():
        raise PourbenchError(f"{label}: predictions file not found")
    if not h5py.is_hdf5(path):
        raise PourbenchError(f"{label}: not an HDF5 file")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise PourbenchError(f"{label}: cannot open as HDF5 ({e})") from e
    problems: list[str] = []
    with f:
        try:
            present = list(f.keys())
        except (OSError, RuntimeError) as e:
            raise PourbenchError(f"{label}: cannot list its contents ({e})") from e
        kind = _other_kind(present)
        if kind:
            raise PourbenchError(f"{label}: is {kind}, not a predictions file "
                                 "(pourbench predict writes one)")
        attrs, attr_problems = _read_attrs(f)
        if attr_problems:  # the task decides every other check: stop at a bad attribute
            _raise([f"{label}: {p}" for p in attr_problems])
        chosen = resolve_task(task, attrs.get("task"), label)
        attrs["task"] = chosen.name
        for name in sorted(set(expected) - set(present)):
            problems.append(f"{label}: {name}: missing sequence")
        for name in sorted(set(present) - set(expected)):
            problems.append(f"{label}: {name}: extra entry, not a sequence of the ground truth")
        for name in sorted(set(present) & set(expected)):
            T, H, W = expected[name]
            shape = (T, *chosen.prediction_frame_shape(H, W))
            try:
                found = _dataset_problems(f, name, shape, chosen)
            except (OSError, RuntimeError, KeyError) as e:
                found = [f"unreadable ({e})"]
            problems += [f"{label}: {name}: {p}" for p in found]
    if problems:
        _raise(problems)
    return SubmissionInfo(
        path=path,
        sha256=file_sha256(path),
        size_bytes=path.stat().st_size,
        names=tuple(sorted(expected)),
        **attrs,
    )


class Predictions:
    """Read a validated predictions file chunk by chunk (context manager)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._h5: h5py.File | None = None

    def __enter__(self) -> Predictions:
        self._h5 = h5py.File(self.path, "r")
        return self

    def __exit__(self, *exc) -> None:
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None

    def read(self, name: str, frames: slice = slice(None)) -> np.ndarray:
        """Predictions of ``name`` at ``frames`` in native byte order: probabilities float16
        or uint8 (t, H, W), or volumes (t, 2)."""
        if self._h5 is None:
            raise RuntimeError("Predictions used outside its 'with' block")
        try:
            a = np.asarray(self._h5[name][frames])
        except OSError as e:  # e.g. corrupt chunk, compression filter not available
            raise PourbenchError(f"{self.path}: {name}: cannot read data ({e})") from e
        return a.astype(a.dtype.newbyteorder("="), copy=False)
