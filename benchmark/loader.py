"""Torch dataset of clips cut from schema-v1 sequence files.

Files are read lazily: the constructor only indexes frame counts; each DataLoader worker
opens the HDF5 files it needs on first use (``SequenceReader`` reopens after a fork), so
``num_workers > 0`` is safe. Augmentations draw from a generator seeded by
``(seed, epoch, index)``: an item depends only on those, not on worker or order.

Normalisation (what the models see):
    rgb: ``x / 255``, then ``(x - mean) / std`` per channel with the ImageNet statistics
    (:data:`RGB_MEAN`, :data:`RGB_STD`).
    thermal: centi-kelvin to degrees Celsius (``x / 100 - 273.15``), then
    ``(t - 30) / 20`` (:data:`THERMAL_CENTER_C`, :data:`THERMAL_SCALE_C`): a room at
    20 °C maps to -0.5, warm water at 50 °C to +1.
    rgb+thermal: the three rgb channels then the thermal one (C = 4).
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from pourbench.core.errors import PourbenchError
from pourbench.core.schema import MODALITY_CHANNELS
from pourbench.core.tasks import Task, task_named
from pourbench.datasets.listing import sequence_files
from pourbench.datasets.sequence import SequenceReader

log = logging.getLogger(__name__)

RGB_MEAN = (0.485, 0.456, 0.406)
RGB_STD = (0.229, 0.224, 0.225)
THERMAL_CENTER_C = 30.0
THERMAL_SCALE_C = 20.0
KELVIN_AT_0C = 273.15

#: Open HDF5 handles kept per process (least recently used ones are closed).
MAX_OPEN_FILES = 64


def modality_channels(modality: str) -> int:
    """Input channels C for a modality name."""
    if modality not in MODALITY_CHANNELS:
        raise PourbenchError(
            f"unknown modality {modality!r}; valid: {', '.join(MODALITY_CHANNELS)}"
        )
    return MODALITY_CHANNELS[modality]


def normalise_frames(
    rgb: np.ndarray | None, thermal: np.ndarray | None, modality: str
) -> torch.Tensor:
    """Model input (T, C, H, W) float32 from raw rgb uint8 (T,H,W,3) / thermal uint16 (T,H,W).

    See the module docstring for the scaling.
    """
    parts = []
    if modality in ("rgb", "rgb+thermal"):
        # one fused multiply-add per value: x / 255 / std - mean / std
        scale = (1.0 / (255.0 * np.asarray(RGB_STD))).astype(np.float32)
        offset = (-np.asarray(RGB_MEAN) / np.asarray(RGB_STD)).astype(np.float32)
        x = np.asarray(rgb, np.float32) * scale + offset  # (T, H, W, 3)
        parts.append(torch.from_numpy(x).permute(0, 3, 1, 2))
    if modality in ("thermal", "rgb+thermal"):
        # centi-kelvin -> °C -> (t - 30) / 20, also one multiply-add
        a = 1.0 / (100.0 * THERMAL_SCALE_C)
        b = -(KELVIN_AT_0C + THERMAL_CENTER_C) / THERMAL_SCALE_C
        t = np.asarray(thermal, np.float32) * np.float32(a) + np.float32(b)
        parts.append(torch.from_numpy(t)[:, None])
    if not parts:
        modality_channels(modality)  # raises the clear error
    return (parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)).contiguous()


def read_frames(reader: SequenceReader, frames: slice | np.ndarray, modality: str) -> torch.Tensor:
    """Read and normalise the frames of one sequence: (T, C, H, W) float32."""
    rgb = reader.read("rgb", frames) if modality in ("rgb", "rgb+thermal") else None
    thermal = reader.read("thermal", frames) if modality in ("thermal", "rgb+thermal") else None
    return normalise_frames(rgb, thermal, modality)


def resize_frames(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear (antialiased when shrinking) resize of (T, C, H, W) to ``size`` (H, W)."""
    if tuple(frames.shape[-2:]) == tuple(size):
        return frames
    shrink = size[0] < frames.shape[-2] or size[1] < frames.shape[-1]
    return F.interpolate(
        frames, size=tuple(size), mode="bilinear", align_corners=False, antialias=shrink
    )


def resize_targets(targets: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Area resize of masks (T, K, H, W): each output pixel is the covered water fraction."""
    if tuple(targets.shape[-2:]) == tuple(size):
        return targets
    return F.interpolate(targets, size=tuple(size), mode="area")


class SequenceDataset(Dataset):
    """Clips of ``clip_len`` frames every ``stride`` frames from each sequence file.

    Args:
        root_or_files: dataset folder (with ``split``), split folder, or list of files.
        split: ``"train"``, ``"val"`` or ``"test"`` when ``root_or_files`` is a dataset folder.
        clip_len: frames per clip T; ``None`` gives one clip per sequence, the whole of it.
        stride: frames between clip starts (default ``clip_len``: non-overlapping).
        modality: ``"rgb"`` (C=3), ``"thermal"`` (C=1) or ``"rgb+thermal"`` (C=4).
        tasks: task names (or :class:`Task` rows) in output order: mask tasks
            (``detection``, ``tracking``) give ``masks``, ``volume`` gives ``volume``.
        size: resize frames and targets to (H, W) before cropping.
        crop: random crop (H, W) after resizing (seeded, one offset per clip).
        hflip: flip each clip horizontally with probability 1/2 (seeded).
        seed: seed of the augmentations.

    Items are dicts: ``frames`` float32 (T, C, H, W) normalised; ``masks`` float32
    (T, K, H, W) in [0, 1] (exactly 0/1 at native size), one channel per mask task, when
    there is one; ``volume`` float32 (T, V) ml per container (``Task.truth_columns``) for
    the volume task; ``sequence`` (file stem), ``start`` (first frame index).
    Sequences shorter than ``clip_len`` give no clip (logged).
    """

    def __init__(
        self,
        root_or_files: str | os.PathLike | Sequence,
        split: str | None = None,
        clip_len: int | None = 8,
        stride: int | None = None,
        modality: str = "rgb",
        tasks: Sequence[str | Task] = ("detection",),
        size: tuple[int, int] | None = None,
        crop: tuple[int, int] | None = None,
        hflip: bool = False,
        seed: int = 0,
    ):
        modality_channels(modality)
        if isinstance(tasks, str | Task):
            tasks = (tasks,)
        self.tasks = tuple(t if isinstance(t, Task) else task_named(t) for t in tasks)
        if not self.tasks:
            raise PourbenchError("no task given to the loader")
        self.mask_tasks = tuple(t for t in self.tasks if t.is_mask)
        self.volume_task = next((t for t in self.tasks if not t.is_mask), None)
        if clip_len is not None and clip_len < 1:
            raise ValueError(f"clip_len must be >= 1 or None, got {clip_len}")
        stride = stride if stride is not None else clip_len
        if stride is not None and stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        self.files = sequence_files(root_or_files, split)
        self.clip_len, self.stride = clip_len, stride
        self.modality = modality
        self.size = tuple(size) if size is not None else None
        self.crop = tuple(crop) if crop is not None else None
        self.hflip, self.seed, self.epoch = hflip, seed, 0
        self.num_frames: list[int] = []
        self.frame_sizes: list[tuple[int, int]] = []
        self.clips: list[tuple[int, int, int]] = []  # (file index, start, length)
        for i, path in enumerate(self.files):
            with SequenceReader(path) as r:
                n, hw = r.num_frames, (r.height, r.width)
            self.num_frames.append(n)
            self.frame_sizes.append(hw)
            length = n if clip_len is None else clip_len
            if n < length:
                log.warning("%s: %d frames < clip_len %d, skipped", path.name, n, length)
                continue
            self.clips.extend((i, s, length) for s in range(0, n - length + 1, stride or n))
        if not self.clips:
            raise PourbenchError(f"no clip of {clip_len} frames in {len(self.files)} sequence(s)")
        self._readers: OrderedDict[int, SequenceReader] = OrderedDict()
        self._pid = os.getpid()

    @property
    def channels(self) -> int:
        return MODALITY_CHANNELS[self.modality]

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation stream of ``epoch`` (call before creating the iterator)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.clips)

    def reader(self, file_index: int) -> SequenceReader:
        """This process's reader of file ``file_index`` (opened on first use, LRU-capped)."""
        if self._pid != os.getpid():  # forked worker: handles of the parent are not ours
            self._readers = OrderedDict()
            self._pid = os.getpid()
        r = self._readers.get(file_index)
        if r is None:
            r = SequenceReader(self.files[file_index])
            self._readers[file_index] = r
            if len(self._readers) > MAX_OPEN_FILES:
                _, old = self._readers.popitem(last=False)
                old.close()
        else:
            self._readers.move_to_end(file_index)
        return r

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self.clips):
            raise IndexError(index)
        file_index, start, length = self.clips[index]
        reader = self.reader(file_index)
        frames_sel = slice(start, start + length)
        frames = read_frames(reader, frames_sel, self.modality)
        masks = read_masks(reader, frames_sel, self.mask_tasks)
        if self.size is not None:
            frames = resize_frames(frames, self.size)
            masks = resize_targets(masks, self.size) if masks is not None else None
        rng = np.random.default_rng((self.seed, self.epoch, index))
        if self.crop is not None:
            frames, masks = _random_crop(frames, masks, self.crop, rng)
        if self.hflip and rng.random() < 0.5:
            frames = frames.flip(-1)
            masks = masks.flip(-1) if masks is not None else None
        item = {
            "frames": frames.contiguous(),
            "sequence": self.files[file_index].stem,
            "start": start,
        }
        if masks is not None:
            item["masks"] = masks.contiguous()
        if self.volume_task is not None:
            item["volume"] = read_volume(reader, frames_sel, self.volume_task)
        return item

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_readers"] = OrderedDict()
        return state


def read_masks(
    reader: SequenceReader, frames: slice, tasks: Sequence[Task]
) -> torch.Tensor | None:
    """Ground-truth masks of the mask ``tasks``: float32 (T, K, H, W) 0/1; None without any."""
    if not tasks:
        return None
    masks = [reader.read(t.truth, frames) for t in tasks]
    return torch.from_numpy(np.stack(masks, axis=1).astype(np.float32))


def read_volume(reader: SequenceReader, frames: slice, task: Task) -> torch.Tensor:
    """Ground-truth ml of the volume ``task``'s containers: float32 (T, V)."""
    volume = np.asarray(reader.read(task.truth, frames), np.float32)
    return torch.from_numpy(np.ascontiguousarray(volume[:, list(task.truth_columns)]))


def _random_crop(frames, targets, crop, rng):
    h, w = frames.shape[-2:]
    ch, cw = crop
    if ch > h or cw > w:
        raise PourbenchError(f"crop {crop} larger than frames {(h, w)}")
    top = int(rng.integers(0, h - ch + 1))
    left = int(rng.integers(0, w - cw + 1))
    window = (..., slice(top, top + ch), slice(left, left + cw))
    return frames[window], (targets[window] if targets is not None else None)
