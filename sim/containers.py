"""Container geometry: procedural solids of revolution or imported meshes, in a local frame
(y up, base at y = 0, opening at the top).

For each container this builds what the simulator needs:
- a closed triangle mesh (for the renderer, written into the particle track);
- a signed-distance grid of the wall material (negative inside the wall), the leak safety net;
- the convex hull of the container (its cavity, for counting the water it holds);
- the pouring lip (the rim point on +x, the tilt pivot).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import trimesh
from matplotlib.path import Path as PolyPath
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from pourbench.core.errors import PourbenchError
from pourbench.sim.scenario import ContainerSpec

logger = logging.getLogger(__name__)

REVOLVE_SECTIONS = 64
OFF_GRID = 1.0  # m: the distance an SDF grid gives for a point off it (numpy and Taichi alike)


@dataclass
class SdfGrid:
    """Signed distance (m) to the wall material sampled on a regular grid, negative inside.

    A grid of values (nx, ny, nz) covers a box of the local frame from ``origin``. A solid of
    revolution about the local y axis keeps only its (rho, y) half-plane: values (n_rho, ny),
    ``origin`` (0, y0, 0), a point's grid position (rho, y). The table is built in a moment
    and its look-ups stay in cache: at r = 0.9 mm a pot's is 218 x 288 points, where its box
    was 431 x 284 x 431 (840 MB as the walls stored it, a vec4 a point)."""

    origin: np.ndarray  # (3,) local-frame position of values[0, 0, 0] (or of values[0, 0]), m
    pitch: float  # m
    values: np.ndarray  # (nx, ny, nz) or, revolved, (n_rho, ny) float32, m

    @property
    def revolved(self) -> bool:
        return self.values.ndim == 2

    @property
    def lo(self) -> np.ndarray:
        """(3,) the low corner of the local box the grid covers, m."""
        if self.revolved:
            rho = self.pitch * (self.values.shape[0] - 1)
            return np.array([-rho, self.origin[1], -rho])
        return np.asarray(self.origin, float)

    @property
    def hi(self) -> np.ndarray:
        """(3,) the high corner of the local box the grid covers, m (off a revolved grid's
        cylinder, its box's corners give OFF_GRID)."""
        if self.revolved:
            return np.array([-self.lo[0], self.origin[1] + self.pitch
                             * (self.values.shape[1] - 1), -self.lo[0]])
        return self.origin + self.pitch * (np.array(self.values.shape) - 1)

    def sample(self, p: np.ndarray) -> np.ndarray:
        """Interpolated signed distance at local points ``p`` (N, 3); OFF_GRID off the grid."""
        return sample_sdf(self, p)


HULL_BLOCK = 2048  # points per block of the hull test: its (block, facets) table fits in cache
HULL_MARGIN = 1e-6  # m: past rounding, for the bounding box and the inner hull
HULL_DIRECTIONS = 128  # directions whose extreme vertices span the inner hull


def _hull_max(p: np.ndarray, equations: np.ndarray) -> np.ndarray:
    """(N,) the largest n . x + d over the facets (<= 0 inside), a block of points at a time."""
    out = np.empty(len(p))
    for k in range(0, len(p), HULL_BLOCK):
        out[k:k + HULL_BLOCK] = np.max(p[k:k + HULL_BLOCK] @ equations[:, :3].T
                                       + equations[:, 3], axis=1)
    return out


@dataclass
class ContainerGeometry:
    """Everything the simulator knows about one rigid container, in its local frame."""

    spec: ContainerSpec | None
    vertices: np.ndarray  # (V, 3) float32
    faces: np.ndarray  # (M, 3) int32
    sdf: SdfGrid
    hull_equations: np.ndarray  # (F, 4): inside where n . x + d <= 0
    lip: np.ndarray  # (3,) pouring lip, local frame
    inner_bottom: float  # lowest y of the cavity, m
    rim_height: float  # y of the opening, m
    profile: np.ndarray | None = None  # (K, 2) (rho, y) wall cross-section, revolution shapes
    _inner_equations: np.ndarray | None = field(default=None, repr=False, compare=False)

    def contains(self, p_local: np.ndarray, tol: float = 0.0) -> np.ndarray:
        """(N,) bool: local points inside the container's cavity (its convex hull).

        A bowl's hull has ~3 000 facets, and the whole (N, F) table of a 25 k-particle frame
        (600 MB) took longer than simulating the frame. So (for ``tol`` <= 0) points outside
        the hull's bounding box are out, points well inside the hull of a subset of its
        vertices (which lies inside it) are in, and only the rest meet every facet, a block
        at a time. Same answer as testing every facet."""
        p = np.asarray(p_local, np.float64)
        out = np.zeros(len(p), bool)
        todo = np.arange(len(p))
        if tol <= 0.0:
            lo = self.vertices.min(axis=0) - HULL_MARGIN
            hi = self.vertices.max(axis=0) + HULL_MARGIN
            todo = np.nonzero(np.all((p >= lo) & (p <= hi), axis=1))[0]
            inner = _hull_max(p[todo], self._inner_hull()) <= tol - HULL_MARGIN
            out[todo[inner]] = True
            todo = todo[~inner]
        out[todo] = _hull_max(p[todo], self.hull_equations) <= tol
        return out

    def _inner_hull(self) -> np.ndarray:
        """Facets of a polytope spanned by some of the hull's vertices (so inside the hull)."""
        if self._inner_equations is None:
            # the vertices farthest along directions spread over the sphere span a polytope
            # inside the hull; a degenerate one falls back to the hull itself
            k = np.arange(HULL_DIRECTIONS) + 0.5
            polar, azimuth = np.arccos(1 - 2 * k / HULL_DIRECTIONS), np.pi * (1 + 5**0.5) * k
            dirs = np.stack([np.sin(polar) * np.cos(azimuth), np.cos(polar),
                             np.sin(polar) * np.sin(azimuth)], 1)
            extreme = np.unique(np.argmax(self.vertices @ dirs.T, axis=0))
            try:
                self._inner_equations = ConvexHull(self.vertices[extreme]).equations
            except QhullError:
                self._inner_equations = self.hull_equations
        return self._inner_equations


# ----------------------------------------------------------------------------- profiles
def _arc(center: tuple[float, float], radii: tuple[float, float], a0: float, a1: float, n: int):
    t = np.linspace(a0, a1, n)
    return np.stack([center[0] + radii[0] * np.cos(t), center[1] + radii[1] * np.sin(t)], 1)


def revolution_profile(spec: ContainerSpec) -> np.ndarray:
    """Closed wall cross-section in the (rho, y) half-plane, counter-clockwise, starting at the
    outer base centre (0, 0) and ending at the inner base centre (0, base); shape (K, 2), m."""
    R, H, t = spec.inner_radius, spec.height, spec.wall_thickness
    tb = 1.5 * t  # base a little thicker than the walls
    if spec.shape == "bottle":
        Rn, y1, y2 = 0.45 * R, 0.6 * H, 0.8 * H
        outer = [(0, 0), (R + t, 0), (R + t, y1), (Rn + t, y2), (Rn + t, H)]
        inner = [(Rn, H), (Rn, y2 + t * 0.4), (R, y1 + t * 0.4), (R, tb), (0, tb)]
        return np.array(outer + inner, float)
    if spec.shape == "bowl" and spec.profile == "hemisphere":
        d = H - t
        Rs = (R * R + d * d) / (2 * d)
        cy = t + Rs
        a_in = math.atan2(H - cy, R)  # rim angle on the inner sphere
        a_out = math.asin(min(1.0, (H - cy) / (Rs + t)))
        outer = _arc((0, cy), (Rs + t, Rs + t), -math.pi / 2, a_out, 24)
        inner = _arc((0, cy), (Rs, Rs), a_in, -math.pi / 2, 24)
        outer[0] = (0, 0)
        inner[-1] = (0, t)
        return np.concatenate([outer, inner])
    if spec.shape == "dish" or (spec.shape == "bowl" and spec.profile == "flat"):
        Rb = (0.85 if spec.shape == "dish" else 0.6) * R
        outer = _arc((Rb, H), (R - Rb + t, H), -math.pi / 2, 0.0, 12)
        inner = _arc((Rb, H), (R - Rb, H - tb), 0.0, -math.pi / 2, 12)
        return np.concatenate([[(0, 0)], outer, inner, [(0, tb)]])
    # straight or tapered walls: cup, mug, glass, pot, cone bowl
    Rb = R * (1.0 - spec.taper)
    tb = 1.5 * t if spec.shape != "bowl" else t
    return np.array([(0, 0), (Rb + t, 0), (R + t, H), (R, H), (Rb, tb), (0, tb)], float)


def _profile_sdf(profile: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Signed distance of 2D (rho, y) points (M, 2) to the solid that the closed polygon
    sweeps about the axis, negative inside: its edges on the axis (rho = 0) close the
    polygon but are no surface of the solid."""
    a = profile
    b = np.roll(profile, -1, axis=0)
    best = np.full(len(pts), np.inf)
    for p0, p1 in zip(a, b, strict=True):
        if p0[0] == 0.0 and p1[0] == 0.0:
            continue
        e = p1 - p0
        ee = max(float(e @ e), 1e-20)
        s = np.clip(((pts - p0) @ e) / ee, 0.0, 1.0)
        d = pts - (p0 + s[:, None] * e)
        best = np.minimum(best, np.einsum("ij,ij->i", d, d))
    inside = PolyPath(profile).contains_points(pts)
    return np.where(inside, -1.0, 1.0) * np.sqrt(best)


def _revolve_mesh(profile: np.ndarray) -> trimesh.Trimesh:
    # trimesh revolves about its 2D y axis, which becomes 3D z; turn z into our y (up).
    z_to_y = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]], float)
    mesh = trimesh.creation.revolve(profile, sections=REVOLVE_SECTIONS)
    mesh.apply_transform(z_to_y)
    if mesh.volume < 0:
        mesh.invert()
    return mesh


def grid_axes(lo: np.ndarray, hi: np.ndarray, pitch: float) -> list[np.ndarray]:
    """Sample coordinates of a regular grid from ``lo`` covering ``hi``, one array per axis."""
    n = np.ceil((hi - lo) / pitch).astype(int) + 1
    return [lo[k] + pitch * np.arange(n[k]) for k in range(3)]


def _revolution_sdf(profile: np.ndarray, pitch: float, margin: float) -> SdfGrid:
    """The exact distance to the wall's cross-section on its (rho, y) half-plane."""
    rho = np.arange(0.0, float(profile[:, 0].max()) + margin + pitch, pitch)
    y = np.arange(-margin, float(profile[:, 1].max()) + margin + pitch, pitch)
    R, Y = np.meshgrid(rho, y, indexing="ij")
    table = _profile_sdf(profile, np.stack([R.ravel(), Y.ravel()], 1)).reshape(R.shape)
    return SdfGrid(origin=np.array([0.0, -margin, 0.0]), pitch=pitch,
                   values=table.astype(np.float32))


def _mesh_sdf(mesh: trimesh.Trimesh, pitch: float, margin: float) -> SdfGrid:
    """Voxelise the wall material (surface voxels, then enclosed voxels filled) and take
    Euclidean distance transforms inside and out; accurate to about one voxel."""
    vox = mesh.voxelized(pitch).fill()
    pad = int(math.ceil(margin / pitch)) + 1
    solid = np.pad(np.asarray(vox.matrix, bool), pad)
    origin = np.asarray(vox.transform[:3, 3], float) - pad * pitch  # centre of voxel 0
    outside = ndimage.distance_transform_edt(~solid) * pitch
    inside = ndimage.distance_transform_edt(solid) * pitch
    vals = np.where(solid, -(inside - 0.5 * pitch), outside - 0.5 * pitch)
    return SdfGrid(origin=origin, pitch=pitch, values=vals.astype(np.float32))


def grid_position(grid: SdfGrid, p: np.ndarray) -> np.ndarray:
    """(N, D) continuous grid coordinates of local points ``p`` (N, 3): D = 3 for a box,
    2 (rho, y) for a revolved grid."""
    p = np.asarray(p, np.float64)
    if grid.revolved:
        p = np.stack([np.hypot(p[:, 0], p[:, 2]), p[:, 1]], 1)
        return (p - grid.origin[:2]) / grid.pitch
    return (p - grid.origin) / grid.pitch


def sample_sdf(grid: SdfGrid, p: np.ndarray) -> np.ndarray:
    """Multilinear interpolation of ``grid`` at local points ``p`` (N, 3); OFF_GRID off it."""
    g = grid_position(grid, p)
    n = np.array(grid.values.shape)
    outside = np.any((g < 0) | (g > n - 1), axis=1)
    g = np.clip(g, 0, n - 1 - 1e-6)
    i = np.floor(g).astype(int)
    f = g - i
    out = np.zeros(len(g))
    for corner in np.ndindex(*(2,) * g.shape[1]):
        w = np.prod([f[:, k] if c else 1 - f[:, k] for k, c in enumerate(corner)], axis=0)
        out += w * grid.values[tuple(i[:, k] + c for k, c in enumerate(corner))]
    return np.where(outside, OFF_GRID, out)


# ----------------------------------------------------------------------------- builders
def _sdf_pitch(wall: float, particle_radius: float) -> float:
    return max(min(wall / 2.5, particle_radius / 2), 4e-4)


def build_container(spec: ContainerSpec, particle_radius: float) -> ContainerGeometry:
    """Mesh, signed-distance grid, hull and lip of a container described by ``spec``."""
    if spec.shape == "mesh":
        return load_mesh_container(spec, particle_radius)
    profile = revolution_profile(spec)
    mesh = _revolve_mesh(profile)
    pitch = _sdf_pitch(spec.wall_thickness, particle_radius)
    # past the walls' reach (3.2 r) by more than twice their blur (0.75 r, ``bodies``): the
    # blur's edge, where the table ends, stays out of reach
    sdf = _revolution_sdf(profile, pitch, 5 * particle_radius)
    rim = float(profile[:, 1].max())
    lip_rho = float(profile[profile[:, 1] >= rim - 1e-9, 0].max())
    inner_bottom = float(profile[-1, 1])
    return ContainerGeometry(
        spec=spec,
        vertices=mesh.vertices.astype(np.float32),
        faces=mesh.faces.astype(np.int32),
        sdf=sdf,
        hull_equations=ConvexHull(mesh.vertices).equations,
        lip=np.array([lip_rho, rim, 0.0]),
        inner_bottom=inner_bottom,
        rim_height=rim,
        profile=profile,
    )


def load_mesh_container(spec: ContainerSpec, particle_radius: float) -> ContainerGeometry:
    """An imported OBJ/STL container, scaled by ``spec.mesh_scale`` and shifted to base y = 0."""
    path = Path(str(spec.mesh))
    try:
        mesh = trimesh.load(path, force="mesh")
    except Exception as e:  # noqa: BLE001 - trimesh raises many types for bad files
        raise PourbenchError(f"{path}: cannot load container mesh ({e})") from e
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise PourbenchError(f"{path}: container mesh has no triangles")
    mesh = mesh.copy()
    mesh.apply_scale(spec.mesh_scale)
    mesh.apply_translation([0.0, -mesh.bounds[0, 1], 0.0])
    pitch = _sdf_pitch(spec.wall_thickness / 1.6, particle_radius)
    sdf = _mesh_sdf(mesh, pitch, 4 * particle_radius)
    v = mesh.vertices
    rim = float(v[:, 1].max())
    top = v[v[:, 1] >= rim - 2 * spec.wall_thickness]
    lip = top[np.argmax(top[:, 0])].copy()
    lip[2] = 0.0
    # cavity bottom: lowest point on the axis that is outside the wall material
    ys = np.linspace(0, rim, 400)
    axis_pts = np.stack([np.zeros_like(ys), ys, np.zeros_like(ys)], 1)
    free = sample_sdf(sdf, axis_pts) > 0
    inner_bottom = float(ys[np.argmax(free & (ys > 0))]) if free.any() else 0.0
    return ContainerGeometry(
        spec=spec,
        vertices=v.astype(np.float32),
        faces=mesh.faces.astype(np.int32),
        sdf=sdf,
        hull_equations=ConvexHull(v).equations,
        lip=lip,
        inner_bottom=inner_bottom,
        rim_height=rim,
    )


def fill_lattice(
    geom: ContainerGeometry, particle_radius: float, fill_fraction: float,
    clearance: float = 1.2,
) -> np.ndarray:
    """Fluid particle centres (N, 3), local frame, on a cubic lattice of spacing 2r inside the
    cavity up to ``fill_fraction`` of its inner height, at least ``clearance`` r away from every
    wall surface (where the walls hold the fluid at rest, see ``wall_profile``)."""
    r = particle_radius
    d = 2 * r
    lo, hi = geom.sdf.lo, geom.sdf.hi
    level = geom.inner_bottom + fill_fraction * (geom.rim_height - geom.inner_bottom)
    xs = np.arange(lo[0] + r, hi[0], d)
    zs = np.arange(lo[2] + r, hi[2], d)
    ys = np.arange(geom.inner_bottom + clearance * r, level, d)
    X, Y, Z = np.meshgrid(xs - xs.mean(), ys, zs - zs.mean(), indexing="ij")
    p = np.stack([X.ravel(), Y.ravel(), Z.ravel()], 1)
    # the first layer stands exactly ``clearance`` above the cavity floor: allow for rounding
    keep = geom.contains(p, tol=-r) & (sample_sdf(geom.sdf, p) >= (clearance - 0.05) * r)
    return p[keep]
