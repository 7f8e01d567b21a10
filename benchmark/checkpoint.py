"""Training checkpoints that load with ``torch.load(path, weights_only=True)``.

A checkpoint is a plain dict: tensors, str/int/float/bool/None, lists and dicts only (the
model's constructor arguments, the training arguments, RNG states as tensors), never a
pickled object, so loading one cannot execute code. Keys:

    format ("pourbench-checkpoint"), format_version (2), model_config (``model.config``),
    model_state, optimizer_state, scaler_state, rng ({"torch": uint8 tensor,
    "cuda": [uint8 tensors]}), epoch (epochs completed), best_metric (e.g.
    "val_f1_detection"), best_score, best_epoch, args (training arguments), tasks
    (["detection", "volume"] ...: the task table's names, main task first), history
    (per-epoch metrics), num_parameters.

Format 2 (volume heads, task names) replaced format 1 (mask targets "visible"/"full").
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import torch

from pourbench.core.atomic import TMP_MARK, atomic_path
from pourbench.core.errors import PourbenchError

FORMAT = "pourbench-checkpoint"
FORMAT_VERSION = 2
REQUIRED_KEYS = ("format", "format_version", "model_config", "model_state", "args", "tasks")


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (plus the format marker) to ``path`` atomically.

    A run killed while saving leaves the previous ``path`` whole (and ``path.tmp-PID``
    debris, removed by the next save); a full disk is a one-line error.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        try:
            torch.save({"format": FORMAT, "format_version": FORMAT_VERSION, **payload}, tmp)
        except RuntimeError as e:  # torch's zip writer reports a failed write this way
            raise OSError(errno.EIO, str(e).splitlines()[0] if str(e) else "torch.save") from e
    for debris in path.parent.glob(f"{path.name}{TMP_MARK}*"):  # of killed earlier runs
        debris.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load a pourbench checkpoint safely (``weights_only=True``).

    Raises:
        PourbenchError: missing file, not a torch file, unsafe content, or not ours.
    """
    path = Path(path)
    if not path.is_file():
        raise PourbenchError(f"{path}: no such checkpoint")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - a file that is not ours fails in many ways
        # (UnpicklingError, BadZipFile, EOFError; garbage bytes also reach the legacy pickle
        # reader and raise IndexError, KeyError or UnicodeDecodeError)
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if first.startswith("Weights only load failed"):
            first = "not a torch file, or one holding objects that a safe load refuses"
        raise PourbenchError(f"{path}: not a loadable pourbench checkpoint ({first[:120]})") \
            from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise PourbenchError(f"{path}: not a pourbench checkpoint (no '{FORMAT}' marker)")
    if ckpt.get("format_version") != FORMAT_VERSION:
        raise PourbenchError(
            f"{path}: checkpoint format version {ckpt.get('format_version')}, "
            f"this pourbench reads {FORMAT_VERSION}"
        )
    missing = [k for k in REQUIRED_KEYS if k not in ckpt]
    if missing:
        raise PourbenchError(f"{path}: checkpoint lacks {missing}")
    return ckpt


def rng_state() -> dict[str, Any]:
    """The global torch RNG states (CPU, and every CUDA device when present) as tensors."""
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    state["cuda"] = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return state


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"].cpu())
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
