"""Labels equal the simulation: how many particle centres in view lie in ``mask/full``.

The one definition of the ground-truth invariant, shared by the renderer (which makes sure of
it), the generator (which records it) and the validator (which checks it). A particle is in
view when its centre lies in front of the camera (beyond ``Z_MIN_M``) and projects inside the
image; it is covered when ``mask/full`` is set anywhere in the 3 x 3 pixels around its
projection (the +-1 px tolerance of the design).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

Z_MIN_M = 0.05  # the renderer's near plane: closer centres are not in view
TOLERANCE_PX = 1
MIN_COVERAGE = 0.995  # a dataset below this share of covered centres fails validation


def project(positions: np.ndarray, K: np.ndarray, pose: np.ndarray,
            width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel of each particle centre and whether it is in view.

    Args:
        positions: (N, 3) world positions, m.
        K: (3, 3) intrinsics (pixel centres at integer coordinates, image y down).
        pose: (4, 4) camera-to-world, OpenGL convention (camera looks down its -z).
        width, height: image size, pixels.

    Returns:
        rows (N,) int, cols (N,) int (rounded to the nearest pixel; meaningful where in view)
        and in_view (N,) bool.
    """
    p = np.asarray(positions, np.float64).reshape(-1, 3)
    Rt = np.linalg.inv(np.asarray(pose, np.float64))
    cam = p @ Rt[:3, :3].T + Rt[:3, 3]
    depth = -cam[:, 2]
    finite = np.isfinite(cam).all(axis=1)
    front = finite & (depth > Z_MIN_M)
    safe = np.where(front, depth, 1.0)
    u = K[0, 0] * cam[:, 0] / safe + K[0, 2]
    v = -K[1, 1] * cam[:, 1] / safe + K[1, 2]
    cols = np.rint(np.where(front, u, -1.0)).astype(np.int64)
    rows = np.rint(np.where(front, v, -1.0)).astype(np.int64)
    in_view = front & (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    return rows, cols, in_view


@dataclass
class FrameCoverage:
    """Particle centres in view and how many of them lie in the mask (within +-1 px)."""

    in_view: int
    covered: int
    mask_empty: bool

    @property
    def empty_with_water(self) -> bool:
        """Water in view but nothing in the mask: the worst kind of label error."""
        return self.in_view > 0 and self.mask_empty


def uncovered(mask_full: np.ndarray, positions: np.ndarray, K: np.ndarray,
              pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(in_view, covered) bool arrays (N,) of the particles against one frame's mask."""
    H, W = mask_full.shape
    rows, cols, in_view = project(positions, K, pose, W, H)
    grown = ndimage.binary_dilation(mask_full, np.ones((2 * TOLERANCE_PX + 1,) * 2, bool))
    covered = np.zeros(len(in_view), bool)
    covered[in_view] = grown[rows[in_view], cols[in_view]]
    return in_view, covered


def frame_coverage(mask_full: np.ndarray, positions: np.ndarray, K: np.ndarray,
                   pose: np.ndarray) -> FrameCoverage:
    """Coverage of one frame: (H, W) bool mask, (N, 3) particle centres, K, camera pose."""
    in_view, covered = uncovered(mask_full, positions, K, pose)
    return FrameCoverage(int(in_view.sum()), int(covered.sum()), not bool(mask_full.any()))


@dataclass
class SequenceCoverage:
    """Coverage summed over the frames of a sequence."""

    in_view: int = 0
    covered: int = 0
    frames: int = 0
    empty_frames: int = 0  # frames with water in view and an empty mask

    def add(self, frame: FrameCoverage) -> None:
        self.in_view += frame.in_view
        self.covered += frame.covered
        self.frames += 1
        self.empty_frames += int(frame.empty_with_water)

    @property
    def fraction(self) -> float:
        """Share of in-view particle centres covered (1.0 when nothing is in view)."""
        return self.covered / self.in_view if self.in_view else 1.0

    def as_dict(self) -> dict:
        return {"in_view": self.in_view, "covered": self.covered, "fraction": self.fraction,
                "frames": self.frames, "empty_frames": self.empty_frames}
