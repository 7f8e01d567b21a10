"""The dataset splits, in the order the sampler assigns them."""

from __future__ import annotations

from pourbench.core.errors import PourbenchError

SPLITS = ("train", "val", "test")


def check_split(name: str) -> str:
    """``name`` if it is a split; otherwise a PourbenchError naming the valid ones."""
    if name not in SPLITS:
        raise PourbenchError(f"unknown split {name!r}; valid: {', '.join(SPLITS)}")
    return name
