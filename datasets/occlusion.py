"""How much of a dataset's water is hidden: the share of ``mask/full`` pixels that are not
``mask/visible`` (water behind a rim, a wall or the stream's own front), per split.

This is the part of tracking that needs memory or reasoning about containers, the pixels the
``hidden_*`` metrics score; a dataset with little of it cannot separate a temporal model
from a single-frame one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pourbench.datasets.listing import sequence_files
from pourbench.datasets.sequence import SequenceReader

CHUNK = 64  # frames read at a time


@dataclass
class HiddenShare:
    """Water pixels of a split: all (``mask/full``) and hidden (``mask/full & ~mask/visible``)."""

    full_pixels: int = 0
    hidden_pixels: int = 0
    sequences: int = 0

    @property
    def fraction(self) -> float:
        return self.hidden_pixels / self.full_pixels if self.full_pixels else 0.0

    def as_dict(self) -> dict:
        return {"sequences": self.sequences, "full_pixels": self.full_pixels,
                "hidden_pixels": self.hidden_pixels, "hidden_fraction": self.fraction}  # fmt: skip


def sequence_hidden_share(path: str | Path) -> HiddenShare:
    """Water and hidden-water pixel counts of one sequence file."""
    share = HiddenShare(sequences=1)
    with SequenceReader(path) as reader:
        for start in range(0, len(reader), CHUNK):
            frames = slice(start, min(start + CHUNK, len(reader)))
            full = reader.read("mask/full", frames).astype(bool)
            visible = reader.read("mask/visible", frames).astype(bool)
            share.full_pixels += int(np.count_nonzero(full))
            share.hidden_pixels += int(np.count_nonzero(full & ~visible))
    return share


def hidden_share(folder: str | Path, split: str = "test") -> HiddenShare:
    """Water and hidden-water pixel counts over the sequences of ``folder/split``."""
    files = sequence_files(folder, split)
    total = HiddenShare()
    for path in files:
        one = sequence_hidden_share(path)
        total.full_pixels += one.full_pixels
        total.hidden_pixels += one.hidden_pixels
        total.sequences += 1
    return total
