"""The constant predictor: the floor beside every leaderboard number.

It looks at no frame. For a mask task it predicts, at every pixel of every frame, how often
that pixel is water in the training split (the per-pixel mean of the training masks); for
the volume task it predicts the training split's mean ml of each container. A model that
does not beat it has learned nothing from the images.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np
import torch
import torch.nn.functional as F

from pourbench import __version__
from pourbench.benchmark.loader import read_volume
from pourbench.core.atomic import atomic_path
from pourbench.core.tasks import TASKS, Task
from pourbench.datasets.listing import sequence_files
from pourbench.datasets.sequence import SequenceReader

NAME = "constant"


@dataclass
class ConstantPredictor:
    """Training-split statistics: per-pixel water frequency per mask task, mean ml per
    container for volume."""

    frequency: dict[str, np.ndarray]  # mask task -> float64 (H, W) in [0, 1]
    volume_ml: np.ndarray  # (V,)
    train_sequences: int

    @classmethod
    def fit(cls, train: str | os.PathLike) -> ConstantPredictor:
        """Statistics of every sequence of the ``train`` split folder."""
        files = sequence_files(train)
        sums: dict[str, np.ndarray] = {}
        frames, volume_sum = 0, 0.0
        volume_task = TASKS["volume"]
        for path in files:
            with SequenceReader(path) as r:
                for task in (t for t in TASKS.values() if t.is_mask):
                    total = np.asarray(r.read(task.truth), bool).sum(0, dtype=np.float64)
                    if task.name in sums:  # frames of another size count at the first's
                        sums[task.name] += _resized(total, sums[task.name].shape)
                    else:
                        sums[task.name] = total
                frames += r.num_frames
                v = read_volume(r, slice(None), volume_task).numpy().astype(np.float64)
                volume_sum = volume_sum + v.sum(0)
        frequency = {name: np.clip(s / frames, 0.0, 1.0) for name, s in sums.items()}
        return cls(frequency, volume_sum / max(frames, 1), len(files))

    def predict(self, task: Task, num_frames: int, height: int, width: int) -> np.ndarray:
        """The prediction for one sequence: float16 (T, H, W) or float32 (T, V)."""
        if not task.is_mask:
            volume = self.volume_ml.astype(np.float32)
            return np.broadcast_to(volume, (num_frames, len(volume)))
        frame = _resized(self.frequency[task.name], (height, width))
        return np.broadcast_to(frame.astype(np.float16), (num_frames, height, width))


def _resized(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``image`` bilinearly resized to ``shape`` (H, W); itself when it has that shape."""
    if image.shape == tuple(shape):
        return image
    t = torch.from_numpy(np.ascontiguousarray(image, np.float32))[None, None]
    out = F.interpolate(t, size=tuple(shape), mode="bilinear", align_corners=False)
    return out[0, 0].double().numpy()


def write_constant_predictions(
    data: str | os.PathLike, out_dir: str | os.PathLike, split: str = "test"
) -> dict[str, Path]:
    """Fit on ``data/train`` and write one predictions file per task for ``data/<split>``.

    Returns:
        Task name -> ``out_dir/constant_<task>.h5`` (each written atomically).
    """
    data, out_dir = Path(data), Path(out_dir)
    predictor = ConstantPredictor.fit(data / "train")
    files = sequence_files(data, split)
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for task in TASKS.values():
        path = out_dir / f"{NAME}_{task.name}.h5"
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
            h5.attrs.update({"model": NAME, "modality": "none", "task": task.name,
                             "num_parameters": 0, "created": created,
                             "pourbench_version": __version__})  # fmt: skip
            for seq in files:
                with SequenceReader(seq) as r:
                    shape = (r.num_frames, r.height, r.width)
                prediction = predictor.predict(task, *shape)
                chunks = (1, *prediction.shape[1:]) if task.is_mask else None
                h5.create_dataset(seq.stem, data=prediction, chunks=chunks,
                                  compression="gzip" if task.is_mask else None)  # fmt: skip
        paths[task.name] = path
    return paths
