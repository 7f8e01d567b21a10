"""Run a trained checkpoint over test sequences and write a predictions file.

Format (design.md): HDF5, one dataset per test sequence named by its file stem
(``seq_000012``), float16 water probabilities (T, H, W) in [0, 1] at the sequence's native
resolution (bilinearly upsampled when the model ran at a smaller ``size``), gzip-compressed
one frame per chunk. Root attrs: ``model``, ``modality``, ``task``, ``num_parameters``,
``checkpoint``, ``created`` (ISO 8601, UTC), ``pourbench_version``.

Each sequence runs whole and causally: chunk by chunk with the model's state carried (the
LSTM streams its memory, the multi-frame model keeps its window of past frames).

A checkpoint trained for ``task="both"`` gives two files: ``out`` holds detection (the
main task) and ``<out stem>_tracking<suffix>`` holds tracking.
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
from pourbench.benchmark.inference import input_chunks, stream_logits
from pourbench.benchmark.loader import sequence_files
from pourbench.benchmark.train import TARGET_TASK, select_device
from pourbench.core.atomic import atomic_path
from pourbench.core.errors import PourbenchError
from pourbench.datasets.sequence import SequenceReader

log = logging.getLogger(__name__)

#: Frames run at once (memory ~ chunk x H x W x channels).
PREDICT_CHUNK = 16


def prediction_paths(out: str | os.PathLike, targets: list[str]) -> list[Path]:
    """Output file per target: ``out`` for the first (main) one, ``<stem>_<task><suffix>``
    for the others."""
    out = Path(out)
    paths = [out]
    for target in targets[1:]:
        paths.append(out.with_name(f"{out.stem}_{TARGET_TASK[target]}{out.suffix or '.h5'}"))
    return paths


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
        The files written: ``[out]``, or ``[out, tracking file]`` for task "both".

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
    args, targets = ckpt["args"], list(ckpt["targets"])
    size = tuple(args["size"]) if args.get("size") else None
    paths = prediction_paths(out, targets)
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with contextlib.ExitStack() as stack:
        outputs = []
        for path, target in zip(paths, targets, strict=True):
            h5 = stack.enter_context(h5py.File(stack.enter_context(atomic_path(path)), "w"))
            h5.attrs.update(
                {
                    "model": model.name,
                    "modality": args["modality"],
                    "task": TARGET_TASK[target],
                    "num_parameters": model.num_parameters(),
                    "checkpoint": str(Path(checkpoint)),
                    "created": created,
                    "pourbench_version": __version__,
                }
            )
            outputs.append(h5)
        for path in tqdm(files, desc="predict", disable=not progress, unit="seq"):
            _predict_sequence(model, path, args["modality"], size, dev, chunk_len, outputs)
    log.info("wrote %s (%d sequences)", ", ".join(map(str, paths)), len(files))
    return paths


def _predict_sequence(model, path, modality, size, device, chunk_len, outputs) -> None:
    with SequenceReader(path) as reader:
        T, H, W = reader.num_frames, reader.height, reader.width
        datasets = [
            h5.create_dataset(
                path.stem,
                shape=(T, H, W),
                dtype="float16",
                chunks=(1, H, W),
                compression="gzip",
                compression_opts=1,
                shuffle=True,
            )
            for h5 in outputs
        ]
        amp = device.type == "cuda"
        chunks = input_chunks(reader, modality, size, chunk_len)
        for frames, logits in stream_logits(model, chunks, device, amp):
            probs = torch.sigmoid(logits)  # (t, K, h, w)
            if tuple(probs.shape[-2:]) != (H, W):
                probs = F.interpolate(probs, size=(H, W), mode="bilinear", align_corners=False)
            probs = probs.clamp_(0.0, 1.0).to(torch.float16).cpu().numpy()
            for i, dataset in enumerate(datasets):
                dataset[frames] = probs[:, i]


def predict_command(
    checkpoint: str | os.PathLike,
    data: str | os.PathLike,
    out: str | os.PathLike,
    device: str = "auto",
    progress: bool = True,
) -> list[Path]:
    """``pourbench predict --checkpoint RUN/best.pt --data DIR/test --out predictions.h5``."""
    return predict(checkpoint, data, out, device=device, progress=progress)
