"""HDF5 sequence schema v1: the names, dtypes and shapes every sequence file follows.

One file per rendered sequence of ``T`` frames of ``H x W`` (see design.md). This module
is the single source of truth used by the writer, the reader and the validator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCHEMA_VERSION = 1

#: Compression of per-frame datasets: readable by plain h5py and h5dump, no plugin needed.
COMPRESSION = "gzip"
COMPRESSION_LEVEL = 1

VOLUME_COLUMNS = ("source", "target", "spilled")

#: Model inputs built from a frame's images, with their channel counts: ``rgb`` (3),
#: ``thermal`` (1) and both stacked (4).
MODALITY_CHANNELS = {"rgb": 3, "thermal": 1, "rgb+thermal": 4}


@dataclass(frozen=True)
class FrameField:
    """A per-frame dataset: ``(T, *frame_shape)`` with one frame per chunk."""

    path: str
    dtype: np.dtype
    channels: tuple[int, ...] = ()  # trailing dims after (H, W); () for scalar images

    def frame_shape(self, height: int, width: int) -> tuple[int, ...]:
        return (height, width, *self.channels)


#: Image-like per-frame datasets, (T, H, W[, C]).
FRAME_FIELDS: dict[str, FrameField] = {
    f.path: f
    for f in (
        FrameField("rgb", np.dtype(np.uint8), (3,)),
        FrameField("thermal", np.dtype(np.uint16)),
        FrameField("mask/visible", np.dtype(np.bool_)),
        FrameField("mask/full", np.dtype(np.bool_)),
        FrameField("depth", np.dtype(np.float16)),
    )
}

#: Small per-frame arrays, stored whole (not chunked by frame): path -> (dtype, per-frame shape).
PER_FRAME_ARRAYS: dict[str, tuple[np.dtype, tuple[int, ...]]] = {
    "volume": (np.dtype(np.float32), (3,)),
    "camera/pose": (np.dtype(np.float64), (4, 4)),
}

#: Root attributes every complete file carries. JSON-valued ones are stored as strings.
REQUIRED_ATTRS = (
    "schema_version",
    "pourbench_version",
    "seed",
    "fps",
    "recipe",
    "scenario",
    "render_variant",
    "sim_id",
    "complete",
)
#: Optional root attributes: files without them stay valid (older writers did not set them).
#: ``label_coverage``: the ground-truth invariant as the generator measured it, JSON
#: ``{"in_view", "covered", "fraction", "frames", "empty_frames"}``
#: (``pourbench.core.coverage.SequenceCoverage.as_dict``).
OPTIONAL_ATTRS = ("label_coverage",)
JSON_ATTRS = ("recipe", "scenario", "render_variant", "label_coverage")

#: Volumes must add up to the initial volume within this relative tolerance (mass is
#: conserved; a particle never leaks out of existence).
VOLUME_REL_TOL = 0.02
