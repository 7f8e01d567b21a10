"""Boundary particles (Akinci et al. 2012, "Versatile rigid-fluid coupling for incompressible
SPH"): samples on a rigid surface, each with the volume V_b = 1 / sum_k W(x_b - x_k) over the
samples of the same body (eq. 4), so that unevenly sampled walls push evenly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from pourbench.sim.kernels import kernel_numpy


@dataclass
class BoundarySamples:
    """Boundary particles of one rigid body: local positions (N, 3) m and volumes (N,) m^3."""

    points: np.ndarray
    volumes: np.ndarray


def akinci_volumes(points: np.ndarray, support: float, kernel: str = "cubic") -> np.ndarray:
    """Volume of each boundary sample, (N,) m^3: 1 / sum of W over same-body samples."""
    tree = cKDTree(points)
    pairs = tree.query_pairs(support, output_type="ndarray")
    w0 = kernel_numpy(kernel, np.zeros(1), support)[0]
    total = np.full(len(points), w0)
    if len(pairs):
        w = kernel_numpy(kernel, np.linalg.norm(points[pairs[:, 0]] - points[pairs[:, 1]], axis=1),
                         support)
        np.add.at(total, pairs[:, 0], w)
        np.add.at(total, pairs[:, 1], w)
    return 1.0 / total


def sample_profile_surface(profile: np.ndarray, spacing: float) -> np.ndarray:
    """Samples (N, 3) about ``spacing`` apart on the surface obtained by revolving the open
    polyline ``profile`` (K, 2) of (rho, y) points about the y axis."""
    seg = np.diff(profile, axis=0)
    seglen = np.linalg.norm(seg, axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seglen)])
    n = max(2, int(round(cum[-1] / spacing)) + 1)
    s = np.linspace(0.0, cum[-1], n)
    k = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(seg) - 1)
    f = (s - cum[k]) / np.maximum(seglen[k], 1e-12)
    rz = profile[k] + f[:, None] * seg[k]
    pts = []
    for ring, (rho, y) in enumerate(rz):
        if rho < 0.25 * spacing:
            pts.append(np.array([[0.0, y, 0.0]]))
            continue
        m = max(3, int(round(2 * math.pi * rho / spacing)))
        a = (np.arange(m) + 0.5 * (ring % 2)) * (2 * math.pi / m)
        pts.append(np.stack([rho * np.cos(a), np.full(m, y), rho * np.sin(a)], 1))
    return np.concatenate(pts)


def sample_mesh_surface(mesh: trimesh.Trimesh, spacing: float, seed: int = 0) -> np.ndarray:
    """Roughly even samples (N, 3) about ``spacing`` apart on an arbitrary triangle mesh."""
    count = int(math.ceil(1.3 * mesh.area / (spacing * spacing))) + 16
    pts, _ = trimesh.sample.sample_surface_even(mesh, count, radius=0.8 * spacing, seed=seed)
    return np.asarray(pts, float)


def sample_plane(lo: tuple[float, float], hi: tuple[float, float], spacing: float) -> np.ndarray:
    """A square lattice (N, 2) covering the rectangle [lo, hi] (edges included)."""
    a = np.linspace(lo[0], hi[0], max(2, int(round((hi[0] - lo[0]) / spacing)) + 1))
    b = np.linspace(lo[1], hi[1], max(2, int(round((hi[1] - lo[1]) / spacing)) + 1))
    A, B = np.meshgrid(a, b, indexing="ij")
    return np.stack([A.ravel(), B.ravel()], 1)


def open_box(lo: np.ndarray, hi: np.ndarray, spacing: float) -> np.ndarray:
    """Samples (N, 3) on the floor and four side walls of the box [lo, hi] (no lid)."""
    lo = np.asarray(lo, float)
    hi = np.asarray(hi, float)
    faces = []
    fl = sample_plane((lo[0], lo[2]), (hi[0], hi[2]), spacing)
    faces.append(np.stack([fl[:, 0], np.full(len(fl), lo[1]), fl[:, 1]], 1))
    for x in (lo[0], hi[0]):
        w = sample_plane((lo[1], lo[2]), (hi[1], hi[2]), spacing)
        faces.append(np.stack([np.full(len(w), x), w[:, 0], w[:, 1]], 1))
    for z in (lo[2], hi[2]):
        w = sample_plane((lo[0], lo[1]), (hi[0], hi[1]), spacing)
        faces.append(np.stack([w[:, 0], w[:, 1], np.full(len(w), z)], 1))
    pts = np.concatenate(faces)
    _, keep = np.unique(np.round(pts / (0.01 * spacing)).astype(np.int64), axis=0,
                        return_index=True)
    return pts[np.sort(keep)]
