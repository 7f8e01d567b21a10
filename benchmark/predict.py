"""Run a trained checkpoint over test sequences and write a predictions file.

Format (design.md, README): HDF5, one dataset per test sequence named by its file stem
(``seq_000012``). Mask tasks: float16 water probabilities (T, H, W) in [0, 1] at the
sequence's native resolution (bilinearly upsampled when the model ran at a smaller
``size``), gzip-compressed one frame per chunk. Volume: float32 (T, 2) ml in the source and
the target container. Root attrs: ``model``, ``modality``, ``task``, ``num_parameters``,
``checkpoint``, ``created`` (ISO 8601, UTC), ``pourbench_version``.

Each sequence runs whole and causally: chunk by chunk with the model's state carried (the
LSTM streams its memory, the multi-frame model keeps its window of past frames).

A checkpoint trained on several tasks gives one file per task: ``out`` holds the main task
and ``<out stem>_<task><suffix>`` each other one.
"""

from __future__ import annotations

import contextlib
import logging
import os
from datetime import datetime, timezone
from pathlib import Path

import h5py
import torch
import torch.nn.functional as F
from tqdm import tqdm

from pourbench import __version__
from pourbench.baselines import model_from_config
from pourbench.benchmark.checkpoint import load_checkpoint
from pourbench.benchmark.inference import input_chunks, stream_outputs
from pourbench.benchmark.train import select_device
from pourbench.core.atomic import atomic_path
from pourbench.core.errors import PourbenchError
from pourbench.core.tasks import Task, task_named
from pourbench.datasets.listing import sequence_files
from pourbench.datasets.sequence import SequenceReader

log = logging.getLogger(__name__)

#: Frames run at once (memory ~ chunk x H x W x channels).
PREDICT_CHUNK = 16


#: Label suffix of a model trained statefully (truncated back-propagation through time).
TBPTT_SUFFIX = "-tbptt"


def prediction_paths(out: str | os.PathLike, tasks: list[Task]) -> list[Path]:
    """Output file per task: ``out`` for the first (main) one, ``<stem>_<task><suffix>``
    for the others."""
    out = Path(out)
    return [out] + [out.with_name(f"{out.stem}_{t.name}{out.suffix or '.h5'}") for t in tasks[1:]]


def trained_label(label: str, args: dict) -> str:
    """The name a predictions file records: the model's label, plus ``-tbptt`` when it was
    trained on whole sequences with its state carried (a different training regime)."""
    return f"{label}{TBPTT_SUFFIX}" if args.get("stateful") else label


def predict(
    checkpoint: str | os.PathLike,
    data: str | os.PathLike,
    out: str | os.PathLike,
    device: str = "auto",
    progress: bool = True,
    chunk_len: int = PREDICT_CHUNK,
) -> list[Path]:
    """Write water probabilities of every sequence in ``data`` (a split folder) to ``out``.

    Args:
        checkpoint: a ``best.pt`` / ``last.pt`` written by ``train``.
        data: folder of ``seq_*.h5`` files, e.g. ``DIR/test``.
        out: predictions file (``.h5``); written atomically.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (float16 autocast on CUDA).
        progress: show a tqdm bar over sequences.
        chunk_len: frames per forward pass.

    Returns:
        The files written, one per task of the checkpoint, main task first.

    Raises:
        PourbenchError: a checkpoint that is not ours, or a missing/empty data folder.
    """
    ckpt = load_checkpoint(checkpoint)
    files = sequence_files(data)
    dev = select_device(device)
    model = model_from_config(ckpt["model_config"])
    try:
        model.load_state_dict(ckpt["model_state"])
    except RuntimeError as e:
        raise PourbenchError(f"{checkpoint}: weights do not fit the stored model config") from e
    model.to(dev).eval()
    args, tasks = ckpt["args"], [task_named(n) for n in ckpt["tasks"]]
    size = tuple(args["size"]) if args.get("size") else None
    paths = prediction_paths(out, tasks)
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with contextlib.ExitStack() as stack:
        outputs = {}
        for path, task in zip(paths, tasks, strict=True):
            h5 = stack.enter_context(h5py.File(stack.enter_context(atomic_path(path)), "w"))
            h5.attrs.update(
                {
                    "model": trained_label(model.label, args),
                    "modality": args["modality"],
                    "task": task.name,
                    "num_parameters": model.num_parameters(),
                    "checkpoint": str(Path(checkpoint)),
                    "created": created,
                    "pourbench_version": __version__,
                }
            )
            outputs[task.name] = h5
        for path in tqdm(files, desc="predict", disable=not progress, unit="seq"):
            _predict_sequence(model, path, args["modality"], size, dev, chunk_len, outputs)
    log.info("wrote %s (%d sequences)", ", ".join(map(str, paths)), len(files))
    return paths


def _predict_sequence(model, path, modality, size, device, chunk_len, outputs) -> None:
    """Stream one sequence through ``model``; write each task's dataset in ``outputs``."""
    tasks = [task_named(name) for name in outputs]
    mask_index = {t.name: i for i, t in enumerate(t for t in tasks if t.is_mask)}
    with SequenceReader(path) as reader:
        T, H, W = reader.num_frames, reader.height, reader.width
        datasets = {}
        for task in tasks:
            shape = (T, *task.prediction_frame_shape(H, W))
            if task.is_mask:
                datasets[task.name] = outputs[task.name].create_dataset(
                    path.stem, shape=shape, dtype="float16", chunks=(1, H, W),
                    compression="gzip", compression_opts=1, shuffle=True,
                )  # fmt: skip
            else:
                datasets[task.name] = outputs[task.name].create_dataset(
                    path.stem, shape=shape, dtype="float32"
                )
        amp = device.type == "cuda"
        chunks = input_chunks(reader, modality, size, chunk_len)
        for frames, output in stream_outputs(model, chunks, device, amp):
            if output.masks is not None:
                probs = torch.sigmoid(output.masks)  # (t, K, h, w)
                if tuple(probs.shape[-2:]) != (H, W):
                    probs = F.interpolate(probs, size=(H, W), mode="bilinear", align_corners=False)
                probs = probs.clamp_(0.0, 1.0).to(torch.float16).cpu().numpy()
                for name, k in mask_index.items():
                    datasets[name][frames] = probs[:, k]
            if output.volume is not None:
                for task in tasks:
                    if not task.is_mask:
                        datasets[task.name][frames] = output.volume.clamp(min=0).cpu().numpy()
