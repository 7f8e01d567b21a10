"""Ground truth of a benchmark split: a folder of schema-v1 sequence files.

``DIR/test/seq_XXXXXX.h5``; the sequence name is the file stem. Each task's ground truth
is named by the Task table: detection ``mask/visible`` (water is the front-most surface),
tracking ``mask/full`` (water anywhere along the ray, occluded included), volume the
``volume`` columns of the source and target container.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from pourbench.core.errors import PourbenchError
from pourbench.core.tasks import Task
from pourbench.datasets.listing import list_sequences
from pourbench.datasets.sequence import SequenceReader


class GroundTruth:
    """The sequences of one split, opened lazily, in name order.

    Args:
        folder: e.g. ``DIR/test``; every ``seq_*.h5`` in it is part of the split
            (temporary debris of killed writers is ignored).

    Raises:
        PourbenchError: the folder is missing, holds no sequence, or a file is unreadable or
            incomplete.
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise PourbenchError(f"{self.folder}: ground-truth folder not found")
        files = list_sequences(self.folder)
        if not files:
            raise PourbenchError(f"{self.folder}: no seq_*.h5 sequence files")
        self.files: dict[str, Path] = {p.stem: p for p in files}
        self._shapes: dict[str, tuple[int, int, int]] = {}
        for name, path in self.files.items():
            with SequenceReader(path) as r:
                self._shapes[name] = (r.num_frames, r.height, r.width)

    @property
    def names(self) -> list[str]:
        return list(self.files)

    def shape(self, name: str) -> tuple[int, int, int]:
        """(T, H, W) of sequence ``name``."""
        return self._shapes[name]

    def iter_masks(
        self, name: str, task: Task, frames_per_chunk: int
    ) -> Iterator[tuple[slice, np.ndarray, np.ndarray | None]]:
        """Yield (frame slice, bool (t, H, W) mask of a mask task, bool (t, H, W) mask of
        ``task.hidden_outside`` or None) chunk by chunk."""
        T = self._shapes[name][0]
        with SequenceReader(self.files[name]) as r:
            for start in range(0, T, frames_per_chunk):
                frames = slice(start, min(T, start + frames_per_chunk))
                truth = np.asarray(r.read(task.truth, frames), dtype=bool)
                outside = None
                if task.hidden_outside is not None:
                    outside = np.asarray(r.read(task.hidden_outside, frames), dtype=bool)
                yield frames, truth, outside

    def volumes(self, name: str, task: Task) -> np.ndarray:
        """float64 (T, V) ml of the volume task's containers over the whole sequence."""
        with SequenceReader(self.files[name]) as r:
            volume = np.asarray(r.read(task.truth), dtype=np.float64)
        return volume[:, list(task.truth_columns)]

    def fingerprint(self) -> str:
        """sha256 over the sorted ``name<TAB>size`` lines of the split's files.

        Cheap (no file content is read) and enough to tell two different splits apart in
        results that are meant to be compared.
        """
        h = hashlib.sha256()
        for name, path in self.files.items():
            h.update(f"{name}\t{path.stat().st_size}\n".encode())
        return h.hexdigest()
