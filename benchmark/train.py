"""Train a baseline on a dataset folder: seeded, resumable, optionally data-parallel.

Tasks come from the Task table (``pourbench.core.tasks``): ``detection`` learns
``mask/visible``, ``tracking`` ``mask/full``, ``volume`` the ml in the source and target
container; several join with ``+`` (``detection+volume``; ``both`` = detection+tracking,
``all`` = all three) and train one model with one head each (the mask tasks as output
channels in table order, the volume task as the volume head). The loss is the sum of each
task's loss: binary cross-entropy for masks, absolute error of ml / ``volume_scale_ml`` for
volume. The *main* task (the first in table order) picks ``best.pt`` by its main metric on
the validation split: F1 at 0.5 for masks, MAE of the target container for volume.

Temporal training (``stateful=True``; off by default: on ``small`` it cost the CNN 0.09
detection F1, its windows of one batch being the same few sequences in a row): each batch
is whole sequences, cut into
windows of ``clip_len`` frames in time order; the model's state (the LSTM's memory, the
multi-frame window) is carried from one window to the next of the same sequence and cut
from the graph between them (truncated back-propagation through time), so the LSTM learns
with the memory it has when it is evaluated streaming over whole sequences. With
``stateful=False`` training clips are independent and start from a zero state.

A run folder holds ``last.pt`` (every epoch), ``best.pt``, optional ``epoch_XXX.pt``,
``metrics.csv`` / ``metrics.json`` (one row per epoch) and ``tensorboard/`` when the
``tensorboard`` package is importable. ``resume=True`` continues from ``last.pt``
(weights, optimiser, grad scaler, RNG states, epoch, best score, history); the data order
and augmentations depend only on (seed, epoch), so a resumed run equals an uninterrupted one.

Several GPUs: ``torchrun --nproc_per_node N -m pourbench.cli.train ...``;
``batch_size`` is per process; only rank 0 writes.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from pourbench.baselines import MODELS, ModelOutput, SegmentationModel, build_model
from pourbench.benchmark import distributed
from pourbench.benchmark.checkpoint import load_checkpoint, restore_rng, rng_state, save_checkpoint
from pourbench.benchmark.inference import input_chunks, stream_outputs
from pourbench.benchmark.loader import (
    SequenceDataset,
    modality_channels,
    read_masks,
    read_volume,
    resize_targets,
)
from pourbench.benchmark.metrics import Confusion, f1_score
from pourbench.core.atomic import write_text_atomic
from pourbench.core.errors import PourbenchError
from pourbench.core.tasks import VOLUME_CONTAINERS, Task, parse_tasks, task_set_name
from pourbench.datasets.listing import sequence_files
from pourbench.datasets.sequence import SequenceReader

log = logging.getLogger(__name__)

#: "auto" positive weight = negatives / positives of the training masks, clipped to this.
AUTO_POS_WEIGHT_RANGE = (1.0, 100.0)
#: Frames per chunk when validating whole sequences.
VALIDATION_CHUNK = 16
#: Arguments that must match when resuming (they define the model and its input).
RESUME_MUST_MATCH = ("model", "modality", "task", "size", "width", "model_kwargs")


@dataclass
class TrainResult:
    """What a training run produced."""

    run_dir: Path
    last_checkpoint: Path
    best_checkpoint: Path
    best_metric: str  # e.g. "val_f1_detection", "val_mae_target_ml_volume"
    best_score: float
    best_epoch: int
    epochs: int
    num_parameters: int
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def select_device(device: str, local_rank: int = 0) -> torch.device:
    """``"auto"``: CUDA when available (this process's GPU under torchrun), else CPU."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        device = f"cuda:{local_rank}"
    try:
        dev = torch.device(device)
    except RuntimeError as e:
        raise PourbenchError(f"bad device {device!r}: use auto, cpu, cuda or cuda:N") from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise PourbenchError(f"device {device!r} requested but CUDA is not available")
    return dev


def train(
    model: str = "cnn",
    data: str | os.PathLike = "data",
    out: str | os.PathLike = "run",
    modality: str = "rgb",
    task: str = "detection",
    epochs: int = 10,
    batch_size: int = 4,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    clip_len: int = 8,
    stride: int | None = None,
    size: tuple[int, int] | None = None,
    crop: tuple[int, int] | None = None,
    hflip: bool = True,
    seed: int = 0,
    resume: bool = False,
    num_workers: int = 0,
    pos_weight: float | str | None = None,
    device: str = "auto",
    progress: bool = True,
    width: float = 1.0,
    model_kwargs: dict[str, Any] | None = None,
    keep_epochs: bool = False,
    stateful: bool = False,
) -> TrainResult:
    """Train ``model`` on ``data/train``, validate on ``data/val`` each epoch, write ``out``.

    Args:
        model: registry name, ``"cnn"``, ``"multiframe"`` or ``"lstm"``.
        data: dataset folder with ``train/`` (and ``val/``; without it, train is validated).
        out: run folder for checkpoints and metrics.
        modality: ``"rgb"``, ``"thermal"`` or ``"rgb+thermal"``.
        task: ``"detection"``, ``"tracking"``, ``"volume"``, a ``+`` join of them, ``"both"``
            or ``"all"`` (see the module docstring).
        epochs: total epochs (a resumed run continues up to this number).
        batch_size: clips per optimiser step (per process under torchrun).
        lr, weight_decay: AdamW settings.
        clip_len, stride: training clips of ``clip_len`` frames every ``stride`` frames.
        size: resize frames to (H, W) for training, validation and prediction.
        crop, hflip: training augmentations (random crop (H, W) after resizing; flips).
        seed: seeds the model initialisation, data order and augmentations.
        resume: continue from ``out/last.pt`` (starts fresh when there is none).
        num_workers: DataLoader worker processes.
        pos_weight: weight of water pixels in the loss: None (1), a number, or ``"auto"``.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``; mixed precision on CUDA.
        progress: show tqdm bars.
        width, model_kwargs: model size multiplier and other constructor arguments.
        keep_epochs: also keep ``epoch_XXX.pt`` for every epoch.
        stateful: carry the model's state across the windows of a sequence (see the module
            docstring); False trains on independent clips from a zero state.

    Raises:
        PourbenchError: bad arguments, missing data, or an existing run without ``resume``.
    """
    start_time = time.perf_counter()
    if model not in MODELS:
        raise PourbenchError(f"unknown model {model!r}; valid models: {', '.join(sorted(MODELS))}")
    tasks = parse_tasks(task)
    if pos_weight not in (None, "auto"):
        _positive_number(pos_weight)  # a bad value fails before any data is read
    if epochs < 1 or batch_size < 1 or clip_len < 1 or lr <= 0:
        raise PourbenchError(
            f"need epochs, batch_size, clip_len >= 1 and lr > 0 "
            f"(got {epochs}, {batch_size}, {clip_len}, {lr})"
        )
    in_channels = modality_channels(modality)
    data, out = Path(data), Path(out)
    if not data.is_dir():
        raise PourbenchError(f"{data}: no such data folder")
    args = {
        "model": model,
        "data": str(data),
        "modality": modality,
        "task": task_set_name(tasks),
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "lr": float(lr),
        "weight_decay": float(weight_decay),
        "clip_len": int(clip_len),
        "stride": stride,
        "size": list(size) if size is not None else None,
        "crop": list(crop) if crop is not None else None,
        "hflip": bool(hflip),
        "seed": int(seed),
        "num_workers": int(num_workers),
        "pos_weight": pos_weight,
        "width": float(width),
        "model_kwargs": dict(model_kwargs or {}),
        "stateful": bool(stateful),
    }
    resume_from = out / "last.pt"
    if not resume and resume_from.exists():
        raise PourbenchError(f"{out}: already holds a run; pass resume or choose another --out")

    dist_info = distributed.setup(select_device(device).type)
    try:
        dev = select_device(device, dist_info.local_rank)
        args["world_size"] = dist_info.world_size
        return _train(
            args,
            tasks,
            in_channels,
            out,
            dev,
            dist_info,
            resume_from if resume else None,
            progress,
            keep_epochs,
            start_time,
        )
    finally:
        distributed.teardown(dist_info)


def _train(
    args, tasks, in_channels, out, dev, dist_info, resume_from, progress, keep_epochs, start_time
) -> TrainResult:
    seed = args["seed"]
    size = tuple(args["size"]) if args["size"] else None
    stateful = args.get("stateful", False)
    train_set = SequenceDataset(
        args["data"],
        "train",
        clip_len=None if stateful else args["clip_len"],  # stateful: whole sequences
        stride=None if stateful else args["stride"],
        modality=args["modality"],
        tasks=tasks,
        size=size,
        crop=tuple(args["crop"]) if args["crop"] else None,
        hflip=args["hflip"],
        seed=seed,
    )
    volume_kwargs = {}
    if train_set.volume_task is not None:
        volume_kwargs = {
            "volume_outputs": len(VOLUME_CONTAINERS),
            "volume_scale_ml": volume_scale(train_set),
        }
    torch.manual_seed(seed)
    net: SegmentationModel = build_model(
        args["model"],
        in_channels=in_channels,
        out_channels=len(train_set.mask_tasks),
        width=args["width"],
        **volume_kwargs,
        **args["model_kwargs"],
    ).to(dev)
    val_files = _validation_files(Path(args["data"]))
    amp = dev.type == "cuda"
    optimizer = torch.optim.AdamW(
        net.parameters(), lr=args["lr"], weight_decay=args["weight_decay"]
    )
    scaler = torch.amp.GradScaler(dev.type, enabled=amp)
    main = tasks[0]
    best_metric = f"val_{main.main_metric}_{main.name}"
    first_epoch, best_score, best_epoch, history = 0, main.worst, 0, []
    pos_weight = _resolve_pos_weight(args["pos_weight"], train_set)

    if resume_from is not None and resume_from.exists():
        ckpt = load_checkpoint(resume_from, map_location=dev)
        _check_resumable(ckpt["args"], args, resume_from)
        net.load_state_dict(ckpt["model_state"])
        optimizer.load_state_dict(ckpt["optimizer_state"])
        scaler.load_state_dict(ckpt["scaler_state"])
        restore_rng(ckpt["rng"])
        first_epoch, best_score = ckpt["epoch"], ckpt["best_score"]
        best_epoch, history = ckpt["best_epoch"], list(ckpt["history"])
        pos_weight = ckpt["pos_weight"]
        log.info(
            "resumed %s at epoch %d (best %s %.4f)", resume_from, first_epoch, best_metric,
            best_score,
        )
    elif resume_from is not None:
        log.info("%s: nothing to resume, starting fresh", resume_from)
    distributed.barrier(dist_info)  # every rank has read the run folder before rank 0 writes

    weight = torch.tensor(pos_weight, dtype=torch.float32, device=dev).view(-1, 1, 1)
    ddp = (
        DistributedDataParallel(net, device_ids=[dev.index] if dev.type == "cuda" else None)
        if dist_info.enabled
        else net
    )
    sampler = DistributedSampler(
        train_set, num_replicas=dist_info.world_size, rank=dist_info.rank, shuffle=True, seed=seed
    )
    writer = _tensorboard(out) if dist_info.is_main else None
    show = progress and dist_info.is_main
    if dist_info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        log.info(
            "training %s (%d parameters) on %d clips, %s, validating on %d sequences",
            args["model"],
            net.num_parameters(),
            len(train_set),
            dev,
            len(val_files),
        )

    for epoch in range(first_epoch, args["epochs"]):
        epoch_start = time.perf_counter()
        train_set.set_epoch(epoch)
        sampler.set_epoch(epoch)
        loader = DataLoader(
            train_set,
            batch_size=args["batch_size"],
            sampler=sampler,
            num_workers=args["num_workers"],
            pin_memory=dev.type == "cuda",
            generator=torch.Generator().manual_seed(seed * 100_003 + epoch),
            collate_fn=collate_shortest if stateful else None,
        )
        ddp.train()
        totals = torch.zeros(2, dtype=torch.float64)  # loss sum, clips
        bar = tqdm(
            loader,
            desc=f"epoch {epoch + 1}/{args['epochs']}",
            disable=not show,
            leave=False,
            unit="batch",
        )
        for batch in bar:
            window = args["clip_len"] if stateful else batch["frames"].shape[1]
            state = None  # each batch starts at its sequences' first frames
            for start in range(0, batch["frames"].shape[1], window):
                clip = {k: v[:, start : start + window] for k, v in batch.items()
                        if isinstance(v, torch.Tensor) and v.dim() >= 2}  # fmt: skip
                frames = clip["frames"].to(dev, non_blocking=True)
                with torch.autocast(dev.type, dtype=torch.float16, enabled=amp):
                    output, state = ddp(frames, state, with_state=True)
                loss = training_loss(output, clip, weight, net.volume_scale_ml, dev)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                state = SegmentationModel.detach_state(state)
                n = len(frames)
                totals += torch.tensor([loss.item() * n, n], dtype=torch.float64)
                bar.set_postfix(loss=f"{loss.item():.4f}")
        totals = distributed.all_sum(totals, dist_info, dev)
        val = validate(
            net, val_files, args["modality"], tasks, size, dev, weight, amp, dist_info, show
        )
        row = {
            "epoch": epoch + 1,
            "train_loss": float(totals[0] / max(totals[1], 1)),
            **val,
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": round(time.perf_counter() - epoch_start, 3),
        }
        history.append(row)
        improved = main.better(row[best_metric], best_score)
        if improved:
            best_score, best_epoch = row[best_metric], epoch + 1
        row["best_score"] = best_score
        log.info(
            "epoch %d/%d: %s",
            epoch + 1,
            args["epochs"],
            ", ".join(f"{k} {v:.4g}" for k, v in row.items() if k != "epoch"),
        )
        if dist_info.is_main:
            payload = {
                "model_config": dict(net.config),
                "model_state": net.state_dict(),
                "optimizer_state": optimizer.state_dict(),
                "scaler_state": scaler.state_dict(),
                "rng": rng_state(),
                "epoch": epoch + 1,
                "best_metric": best_metric,
                "best_score": best_score,
                "best_epoch": best_epoch,
                "args": args,
                "tasks": [t.name for t in tasks],
                "pos_weight": list(pos_weight),
                "history": history,
                "num_parameters": net.num_parameters(),
            }
            if improved:
                save_checkpoint(out / "best.pt", payload)
            if keep_epochs:
                save_checkpoint(out / f"epoch_{epoch + 1:03d}.pt", payload)
            save_checkpoint(out / "last.pt", payload)
            write_metrics(out, history)
            if writer is not None:
                for key, value in row.items():
                    if key != "epoch":
                        writer.add_scalar(key, value, epoch + 1)
                writer.flush()
        distributed.barrier(dist_info)

    if writer is not None:
        writer.close()
    return TrainResult(
        run_dir=out,
        last_checkpoint=out / "last.pt",
        best_checkpoint=out / "best.pt",
        best_metric=best_metric,
        best_score=best_score,
        best_epoch=best_epoch,
        epochs=args["epochs"],
        num_parameters=net.num_parameters(),
        history=history,
        seconds=time.perf_counter() - start_time,
    )


def collate_shortest(items: list[dict]) -> dict:
    """Batch whole sequences, cut to the shortest one's length (a recipe's pours are
    usually equally long)."""
    length = min(item["frames"].shape[0] for item in items)
    out: dict[str, Any] = {}
    for key in items[0]:
        values = [item[key] for item in items]
        if isinstance(values[0], torch.Tensor):
            out[key] = torch.stack([v[:length] for v in values])
        else:
            out[key] = values
    return out


def training_loss(
    output: ModelOutput,
    batch: dict[str, torch.Tensor],
    pos_weight: torch.Tensor,
    volume_scale_ml: float,
    device: torch.device,
) -> torch.Tensor:
    """Sum of the task losses: BCE over the mask channels, L1 of ml / scale for volume."""
    loss = torch.zeros((), device=device)
    if output.masks is not None:
        target = batch["masks"].to(device, non_blocking=True)
        loss = loss + F.binary_cross_entropy_with_logits(
            output.masks.float(), target, pos_weight=pos_weight
        )
    if output.volume is not None:
        target = batch["volume"].to(device, non_blocking=True)
        scale = volume_scale_ml
        loss = loss + F.l1_loss(output.volume.float() / scale, target / scale)
    return loss


@torch.no_grad()
def validate(
    model: SegmentationModel,
    files: list[Path],
    modality: str,
    tasks: tuple[Task, ...],
    size: tuple[int, int] | None,
    device: torch.device,
    pos_weight: torch.Tensor,
    amp: bool = False,
    dist_info: distributed.DistInfo | None = None,
    progress: bool = False,
) -> dict[str, float]:
    """Loss and each task's validation metrics over whole sequences.

    Sequences run causally in chunks (the LSTM carries its memory through the whole
    sequence), at the training resolution. Masks are area-resized and binarised at 0.5 and
    scored by F1 (an empty target predicted empty scores 1); volumes by the mean absolute
    error in ml of each container. Under torchrun each process takes every world_size-th
    file and the counts are summed.

    Returns:
        ``val_loss``, ``val_f1_<task>`` per mask task, and ``val_mae_source_ml_volume``,
        ``val_mae_target_ml_volume`` for the volume task.
    """
    dist_info = dist_info or distributed.DistInfo()
    was_training = model.training
    model.eval()
    mask_tasks = [t for t in tasks if t.is_mask]
    volume_task = next((t for t in tasks if not t.is_mask), None)
    k, v = len(mask_tasks), len(VOLUME_CONTAINERS)
    # tp, fp, fn per mask task; |error| sum per container; loss terms; mask pixels; frames
    counts = torch.zeros(3 * k + v + 4, dtype=torch.float64)
    mine = files[dist_info.rank :: dist_info.world_size]
    for path in tqdm(mine, desc="validate", disable=not progress, leave=False, unit="seq"):
        with SequenceReader(path) as reader:
            chunks = input_chunks(reader, modality, size, VALIDATION_CHUNK)
            for frames, output in stream_outputs(model, chunks, device, amp):
                if output.masks is not None:
                    y = read_masks(reader, frames, mask_tasks)
                    y = resize_targets(y, tuple(output.masks.shape[-2:])).to(device)
                    counts[-4] += F.binary_cross_entropy_with_logits(
                        output.masks, y, pos_weight=pos_weight, reduction="sum"
                    ).item()
                    counts[-2] += y.numel()
                    pred, truth = output.masks > 0, y >= 0.5
                    for i in range(k):
                        p, t = pred[:, i], truth[:, i]
                        counts[3 * i] += (p & t).sum().item()
                        counts[3 * i + 1] += (p & ~t).sum().item()
                        counts[3 * i + 2] += (~p & t).sum().item()
                if output.volume is not None:
                    error = (output.volume - read_volume(reader, frames, volume_task).to(device))
                    counts[3 * k : 3 * k + v] += error.abs().sum(0).double().cpu()
                    counts[-3] += error.abs().sum().item() / model.volume_scale_ml
                    counts[-1] += error.shape[0]
    counts = distributed.all_sum(counts, dist_info, device)
    model.train(was_training)
    pixels, frames_seen = max(float(counts[-2]), 1.0), max(float(counts[-1]), 1.0)
    loss = float(counts[-4]) / pixels + float(counts[-3]) / (frames_seen * v)
    result = {"val_loss": loss}
    for i, task in enumerate(mask_tasks):
        tp, fp, fn = counts[3 * i : 3 * i + 3].tolist()
        result[f"val_f1_{task.name}"] = f1_score(Confusion(tp, fp, fn, 0))
    if volume_task is not None:
        for j, container in enumerate(VOLUME_CONTAINERS):
            mae = float(counts[3 * k + j]) / frames_seen
            result[f"val_mae_{container}_ml_{volume_task.name}"] = mae
    return result


def volume_scale(dataset: SequenceDataset) -> float:
    """The volume head's scale: the mean ml over the training files' containers (>= 1)."""
    total, count = 0.0, 0
    for path in dataset.files:
        with SequenceReader(path) as r:
            v = read_volume(r, slice(None), dataset.volume_task).numpy()
        total, count = total + float(v.sum()), count + v.size
    return max(1.0, round(total / max(count, 1), 3))


def write_metrics(out: Path, history: list[dict[str, Any]]) -> None:
    """``metrics.csv`` and ``metrics.json`` (one row per epoch), written atomically."""
    columns = list(dict.fromkeys(key for row in history for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    write_text_atomic(out / "metrics.csv", buffer.getvalue())
    write_text_atomic(out / "metrics.json", json.dumps(history, indent=1) + "\n")


def _validation_files(data: Path) -> list[Path]:
    try:
        return sequence_files(data, "val")
    except PourbenchError:
        log.warning("%s: no validation sequences, validating on train", data)
        return sequence_files(data, "train")


def _resolve_pos_weight(pos_weight, dataset: SequenceDataset) -> list[float]:
    """Per-mask-task positive weights: 1, a given number, or negatives/positives ("auto")."""
    k = len(dataset.mask_tasks)
    if pos_weight is None:
        return [1.0] * k
    if pos_weight == "auto":
        positives, pixels = np.zeros(k), 0
        for path in dataset.files:
            with SequenceReader(path) as r:
                frames = slice(None, None, max(1, r.num_frames // 16))  # ~16 frames a file
                for i, task in enumerate(dataset.mask_tasks):
                    mask = r.read(task.truth, frames)
                    positives[i] += mask.sum()
                    pixels += mask.size if i == 0 else 0
        low, high = AUTO_POS_WEIGHT_RANGE
        weights = [float(np.clip((pixels - p) / p, low, high)) if p > 0 else 1.0 for p in positives]
        log.info("auto positive weights %s", weights)
        return weights
    return [_positive_number(pos_weight)] * k


def _positive_number(pos_weight) -> float:
    try:
        value = float(pos_weight)
    except (TypeError, ValueError) as e:
        raise PourbenchError(f"pos_weight must be a number or 'auto', got {pos_weight!r}") from e
    if not math.isfinite(value) or value <= 0:
        raise PourbenchError(f"pos_weight must be > 0, got {pos_weight!r}")
    return value


def _check_resumable(saved: dict, args: dict, path: Path) -> None:
    for key in RESUME_MUST_MATCH:
        if saved.get(key) != args.get(key):
            raise PourbenchError(
                f"{path}: cannot resume, {key} was {saved.get(key)!r}, now {args.get(key)!r}"
            )
    changed = [
        k for k in args if k not in RESUME_MUST_MATCH and k != "epochs" and saved.get(k) != args[k]
    ]
    if changed:
        log.warning(
            "resuming with changed arguments %s: the run will differ from one that never stopped",
            changed,
        )


def _tensorboard(out: Path):
    if importlib.util.find_spec("tensorboard") is None:
        return None
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(out / "tensorboard"))
