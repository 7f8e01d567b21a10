"""Previews (``pourbench preview``): a sequence (contact sheet or animation) or a dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pourbench.core.errors import PourbenchError
from pourbench.datasets.listing import list_sequences
from pourbench.datasets.sequence import SequenceReader
from pourbench.render.preview import animate, contact_sheet, grid_of_sequences

PANELS = ("rgb", "thermal", "mask/visible", "mask/full")
GRID_SEQUENCES = 12


def _panels(reader: SequenceReader, frames=slice(None)) -> list[np.ndarray]:
    return [reader.read(key, frames) for key in PANELS]


def preview_sequence(path: Path, out: Path) -> Path:
    """Contact sheet (.png) or animation (.gif/.mp4) of one sequence."""
    reader = SequenceReader(path)
    suffix = out.suffix.lower()
    if suffix == ".png":
        T = reader.num_frames
        idx = np.unique(np.linspace(0, T - 1, min(6, T)).round().astype(int))
        return contact_sheet(*_panels(reader, idx), out, n_cols=len(idx))
    if suffix in (".gif", ".mp4"):
        return animate(*_panels(reader), out, fps=float(reader.attrs["fps"]))
    raise PourbenchError(f"{out}: preview must be .png, .gif or .mp4")


def preview_folder(folder: Path, out: Path, seed: int = 0) -> Path:
    """A grid of the middle frames of up to 12 random sequences of a dataset folder."""
    if out.suffix.lower() != ".png":
        raise PourbenchError(f"{out}: a dataset preview is a .png grid")
    files = list_sequences(folder, recursive=True)
    if not files:
        raise PourbenchError(f"{folder}: no sequence files (seq_*.h5) found")
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(len(files), min(GRID_SEQUENCES, len(files)), replace=False))
    readers = [SequenceReader(files[i]) for i in chosen]
    size = (readers[0].height, readers[0].width)
    middle = [_panels(r, slice(r.num_frames // 2, r.num_frames // 2 + 1))
              for r in readers if (r.height, r.width) == size]
    return grid_of_sequences([tuple(m) for m in middle], out)


def preview(path: Path, out: Path, seed: int = 0) -> Path:
    """A sequence file gives a contact sheet or animation, a folder a grid; return ``out``."""
    path, out = Path(path), Path(out)
    if path.is_dir():
        return preview_folder(path, out, seed)
    if path.is_file():
        return preview_sequence(path, out)
    raise PourbenchError(f"{path}: no such file or folder")
