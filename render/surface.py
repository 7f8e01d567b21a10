"""Liquid surface from particles: sparse tiled density grid, marching cubes, spheres for drops.

Bulk liquid. Particles are splatted with trilinear (cloud-in-cell) weights on one global
lattice of fixed cell ``h = cell_scale * 2r``, blurred with a gaussian, normalised by the bulk
density (particles sit on a lattice of spacing 2r) and the isosurface at ``iso_level`` of the
bulk density is extracted. At level 0.5 a flat free surface lands about one radius beyond the
outermost particle centres, i.e. on the particles' spheres.

The lattice is sparse: space is cut into cubic tiles of ``tile_cells`` cells, and only tiles
with enough particles near one of their nodes to reach the iso level get a dense block (their
core plus a margin wide enough for the blur). Each tile's particles are splatted into its own
block, so the values on the node layer two neighbouring tiles share are the same numbers in
both, and marching cubes on each core meets its neighbours without cracks. The cell never
grows: memory and time follow the liquid's volume, not its spread (a spill across the table
costs what its volume costs). Vertex normals are the density gradient (central differences on
the block, trilinear between nodes), continuous across tile borders.

Dilute liquid. A stream breaking up, or a splash, is a loose cloud of particles at a third to
a half of the bulk density: with unit weights it falls apart into beads. As SPH gives each
particle the volume m / rho_j, a first (coarse) pass measures each particle's density and the
second splats particles of sparse neighbourhoods with up to ``dilute_boost`` times the weight
(``_reconstruct``): the cloud becomes one surface, the bulk is unchanged.

Drops and filaments. A particle whose density at its centre stays below the iso level and
that has no surface passing within a cell (``loose_particles``: single drops, pairs, thin
filaments, small clumps) gets a small closed sphere (an icosahedron, subdivided when large on
screen, smooth normals) of radius ``r``, or, given a camera, at least ``min_radius_px``
pixels at the particle's depth (inscribed radius, so the sphere's image always contains a pixel
centre when ``min_radius_px`` >= 0.71).
"""

from __future__ import annotations

import functools
import itertools
import logging
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.measure import marching_cubes

log = logging.getLogger(__name__)

TRUNCATE = 2.0  # gaussian blur support, sigmas (beyond: under 1 % of the 1-D kernel)
LOOSE_MARGIN = 0.05  # particles with centre density < iso_level + this may get a sphere
OUTSIDE_SHARE = 0.8  # ... and get one when below this share of the iso level
MIN_RADIUS_PX = 0.75  # > 0.7071, the covering radius of the unit pixel lattice
TILE_CELLS = 24
# particles below this density (coarse first pass) weigh up to DILUTE_BOOST times more
# (``_reconstruct``); 0.5 keeps a flat free surface where unit weights put it (+- 0.2 r)
DILUTE_REFERENCE = 0.5
DILUTE_BOOST = 2.5
# on-screen radius (px) from which a loose-particle sphere is subdivided once (80 faces, not 20)
SMOOTH_SPHERE_PX = 2.0


@dataclass
class SurfaceMesh:
    """Triangle mesh of the liquid surface, world frame.

    Attributes:
        vertices: (V, 3) float32 metres.
        faces: (M, 3) int32, counter-clockwise seen from outside (OpenGL front faces).
        normals: (V, 3) float32 unit outward normals (smooth, from the density gradient).
        spheres: how many particles are drawn as their own small sphere (drops, filaments).
    """

    vertices: np.ndarray
    faces: np.ndarray
    normals: np.ndarray
    spheres: int = 0

    @staticmethod
    def concatenate(parts: list[SurfaceMesh | None]) -> SurfaceMesh | None:
        """One mesh of several (None entries skipped); None when nothing is left."""
        parts = [p for p in parts if p is not None and len(p.faces)]
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        offsets = np.cumsum([0] + [len(p.vertices) for p in parts[:-1]])
        return SurfaceMesh(
            vertices=np.concatenate([p.vertices for p in parts]).astype(np.float32),
            faces=np.concatenate([p.faces + o for p, o in zip(parts, offsets, strict=True)])
            .astype(np.int32),
            normals=np.concatenate([p.normals for p in parts]).astype(np.float32),
            spheres=sum(p.spheres for p in parts),
        )


def bounds(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis (min, max) of (N, 3) points (column by column: numpy's axis-0 reduction of
    an (N, 3) array is about 20x slower)."""
    lo = np.array([points[:, i].min() for i in range(3)])
    hi = np.array([points[:, i].max() for i in range(3)])
    return lo, hi


_CORNERS = np.indices((2, 2, 2)).reshape(3, -1).T  # (8, 3) offsets of a cell's corners


def _cic(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cloud-in-cell: lower node (N, 3) int64 and the 8 corner weights (N, 8) float32 of
    points ``g`` given in node units (corner order of ``_CORNERS``: x slowest)."""
    floor = np.floor(g)
    f = (g - floor).astype(np.float32)
    fx, fy, fz = f[:, 0], f[:, 1], f[:, 2]
    gx, gy, gz = 1.0 - fx, 1.0 - fy, 1.0 - fz
    weights = np.empty((len(g), 8), np.float32)
    for k, (wx, wy) in enumerate(((gx, gy), (gx, fy), (fx, gy), (fx, fy))):
        xy = wx * wy
        np.multiply(xy, gz, out=weights[:, 2 * k])
        np.multiply(xy, fz, out=weights[:, 2 * k + 1])
    return floor.astype(np.int64), weights


def _flat(i: np.ndarray, strides) -> np.ndarray:
    """Flat indices (N,) of integer coordinates (N, 3) (a generic int matmul is slower)."""
    return i[:, 0] * int(strides[0]) + i[:, 1] * int(strides[1]) + i[:, 2] * int(strides[2])


def density_grid(
    positions: np.ndarray, cell: float, margin: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cloud-in-cell particle counts on a dense grid cropped to the particles.

    Args:
        positions: (N, 3) metres, N >= 1.
        cell: cell edge, metres.
        margin: empty cells kept around the particles' box on each side.

    Returns:
        counts (X, Y, Z) float32 (sums to N) and origin (3,) metres of grid node (0, 0, 0).
    """
    lo, hi = bounds(positions)
    lo, hi = lo - margin * cell, hi + margin * cell
    dims = np.ceil((hi - lo) / cell).astype(np.int64) + 2
    i0, weights = _cic((positions - lo) / cell)
    strides = np.array([dims[1] * dims[2], dims[2], 1], np.int64)
    idx = _flat(i0, strides)[:, None] + (_CORNERS @ strides)[None, :]
    counts = np.bincount(idx.ravel(), weights=weights.ravel(), minlength=int(np.prod(dims)))
    return counts.astype(np.float32).reshape(dims), lo


def _blur_radius(sigma: float) -> int:
    """Half-width in cells of scipy's gaussian kernel of ``sigma`` cells (0: no blur)."""
    return int(TRUNCATE * sigma + 0.5) if sigma > 0 else 0


def _kernel_peak(sigma: float) -> float:
    """Largest tap of scipy's normalised 1-D gaussian kernel: one particle adds at most
    this cubed (times the normalisation) to any node of the blurred grid."""
    if sigma <= 0:
        return 1.0
    x = np.arange(-_blur_radius(sigma), _blur_radius(sigma) + 1)
    return float(1.0 / np.exp(-0.5 * (x / sigma) ** 2).sum())


def _trilinear(block: np.ndarray, slot: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Values of ``block`` (B, X, Y, Z[, C]) at points ``x`` (n, 3) node units of blocks
    ``slot`` (n,), trilinear; points must lie inside their block."""
    B, X, Y, Z = block.shape[:4]
    flat = block.reshape(B * X * Y * Z, -1)
    i0, w = _cic(x)
    strides = np.array([Y * Z, Z, 1], np.int64)
    idx = (slot.astype(np.int64) * (X * Y * Z) + _flat(i0, strides))[:, None] + _CORNERS @ strides
    out = np.einsum("nk,nkc->nc", w, flat[idx])
    return out if block.ndim == 5 else out[:, 0]


@dataclass
class _Tiles:
    """The sparse lattice of one frame: which tiles are dense and which particles feed them."""

    tile: int  # cells per tile edge
    margin: int  # cells of each dense block beyond its tile's core
    coords: np.ndarray  # (D, 3) int64 tile coordinates of the dense tiles
    pair_particle: np.ndarray  # (Q,) particle index of each (particle, dense tile) pair
    pair_slot: np.ndarray  # (Q,) dense-tile slot of the pair
    own_slot: np.ndarray  # (N,) slot of the tile whose core holds the particle, -1 if not dense

    @property
    def nodes(self) -> int:
        """Nodes per block edge: the core's tile + 1 nodes and the margin on both sides."""
        return self.tile + 1 + 2 * self.margin


def _plan_tiles(g: np.ndarray, tile: int, margin: int, reach: int, threshold: float,
                weights: np.ndarray | None = None) -> _Tiles:
    """Tiles of ``tile`` cells over points ``g`` (N, 3) in node units.

    A particle feeds every tile whose block (core and margin) holds both nodes of its cloud-
    in-cell footprint along each axis (2 tiles per axis at most when 2 margin <= tile). A tile
    is dense when the particles within ``reach`` cells of one of its core nodes weigh more than
    ``threshold`` (the iso level over the most one unit-weight particle adds to a node): any
    other tile stays below the iso level everywhere (empty space, scattered spray).

    Args:
        weights: (N,) particle weights (default 1).
    """
    i = np.floor(g).astype(np.int64)
    lo = (i - margin) // tile
    span = (i + margin) // tile - lo
    idx, tiles = [], []
    for d in itertools.product(range(-(-2 * margin // tile) + 1), repeat=3):
        if not any(d):
            sel = np.arange(len(g))
        else:  # axis by axis: numpy's reductions along the short axis of (N, 3) are slow
            fits = [span[:, a] >= d[a] for a in range(3) if d[a]]
            sel = np.flatnonzero(functools.reduce(np.logical_and, fits))
        idx.append(sel)
        tiles.append(lo[sel] + np.asarray(d))
    idx, tiles = np.concatenate(idx), np.concatenate(tiles)
    w = None if weights is None else weights[idx]
    tmin, tmax = bounds(tiles)
    dims = (tmax - tmin + 1).astype(np.int64)
    strides = np.array([dims[1] * dims[2], dims[2], 1], np.int64)
    key = _flat(tiles - tmin, strides)
    own_key = _flat(i // tile - tmin, strides)
    n_box = int(np.prod(dims))
    if n_box <= 4_000_000:  # tiles of the bounding box: count by bincount, no sort
        dense = np.bincount(key, weights=w, minlength=n_box) > threshold
        slot_of = np.where(dense, np.cumsum(dense) - 1, -1)
        pair_slot, own_slot = slot_of[key], slot_of[own_key]
        dense_keys = np.flatnonzero(dense)
    else:  # a very wide spread: only the occupied tiles
        uniq, inverse = np.unique(key, return_inverse=True)
        dense = np.bincount(inverse, weights=w, minlength=len(uniq)) > threshold
        slot_of = np.where(dense, np.cumsum(dense) - 1, -1)
        pair_slot = slot_of[inverse]
        own_slot = slot_of[np.searchsorted(uniq, own_key)]
        dense_keys = uniq[dense]
    coords = np.stack(np.unravel_index(dense_keys, tuple(dims)), axis=1) + tmin
    keep = pair_slot >= 0
    idx, pair_slot = idx[keep], pair_slot[keep]
    if len(coords):
        near = _crowded(i[idx] - (coords[pair_slot] * tile - margin), pair_slot,
                        None if w is None else w[keep], len(coords), tile, margin, reach,
                        threshold)
        renumber = np.where(near, np.cumsum(near) - 1, -1)
        pair_slot = renumber[pair_slot]
        keep = pair_slot >= 0
        idx, pair_slot, coords = idx[keep], pair_slot[keep], coords[near]
        own_slot = np.where(own_slot >= 0, renumber[own_slot], -1)
    return _Tiles(tile, margin, coords.astype(np.int64), idx, pair_slot, own_slot)


def _crowded(local: np.ndarray, slot: np.ndarray, weights: np.ndarray | None, n: int,
             tile: int, margin: int, reach: int, threshold: float) -> np.ndarray:
    """Which of ``n`` tiles have particles weighing more than ``threshold`` close enough to
    one core node to matter.

    A node's blurred value depends on the particles whose cloud-in-cell cell lies within
    ``reach`` cells below and ``reach - 1`` above it. Cells are binned into blocks of
    ``reach`` cells; the weight of the 3 x 3 x 3 blocks around a block bounds its nodes, so a
    tile whose core blocks all stay at or below ``threshold`` cannot reach the iso level.

    Args:
        local: (Q, 3) int64 lower cloud-in-cell node of each pair, in its tile's block.
        slot: (Q,) tile of each pair; weights: (Q,) or None (1 each).
    """
    B = reach
    nb = -(-(tile + 2 * margin) // B)
    below, above = -(-reach // B), (B - 1 + reach - 1) // B
    count = np.bincount(slot * nb**3 + _flat(local // B, (nb * nb, nb, 1)),
                        weights=weights, minlength=n * nb**3).reshape(n, nb, nb, nb)
    for axis in (1, 2, 3):  # block b sums blocks b - below .. b + above, axis by axis
        c = np.moveaxis(count, axis, 0)
        prefix = np.zeros((nb + below + above + 1, *c.shape[1:]), c.dtype)
        np.cumsum(c, axis=0, out=prefix[below + 1:below + 1 + nb])
        prefix[below + 1 + nb:] = prefix[below + nb]
        count = np.moveaxis(prefix[below + above + 1:] - prefix[:nb], 0, axis)
    core = slice(margin // B, (margin + tile) // B + 1)
    return count[:, core, core, core].reshape(n, -1).max(axis=1) > threshold


def _bulk_surface(
    g: np.ndarray, cell: float, norm: float, sigma: float, iso: float, tile: int,
    max_cells: int, weights: np.ndarray | None = None, mesh: bool = True,
) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
    """Marching-cubes pieces (world vertices, faces, normals) of the dense tiles, the
    normalised density at every particle centre (N,) and the largest density on the 27 nodes
    around it (N,) (both 0 where its tile is not dense; the second only with ``mesh`` and
    where ``loose_particles`` asks for it).

    ``weights`` (N,): particle weights (default 1), ``mesh``: False for the densities only."""
    margin = _blur_radius(sigma) + 2  # core nodes and their neighbours get exact values
    peak = norm * _kernel_peak(sigma) ** 3  # the most one particle adds to a node
    tiles = _plan_tiles(g, tile, margin, _blur_radius(sigma) + 1, iso / peak, weights)
    centre_density = np.zeros(len(g), np.float32)
    near_max = np.zeros(len(g), np.float32)
    pieces = []
    P, T, m = tiles.nodes, tile, margin
    per_batch = max(1, int(max_cells) // P**3)
    strides = np.array([P * P, P, 1], np.int64)
    corner = _CORNERS @ strides
    for s0 in range(0, len(tiles.coords), per_batch):
        nb = min(per_batch, len(tiles.coords) - s0)
        if nb == len(tiles.coords):
            p, slot = tiles.pair_particle, tiles.pair_slot
        else:
            q = (tiles.pair_slot >= s0) & (tiles.pair_slot < s0 + nb)
            p, slot = tiles.pair_particle[q], tiles.pair_slot[q] - s0
        base = tiles.coords[s0 + slot] * T - m  # global node of each block's node 0
        i0, w = _cic(g[p] - base)
        if weights is not None:
            w *= weights[p, None].astype(np.float32)
        flat = (slot * P**3 + _flat(i0, strides))[:, None] + corner
        dens = np.bincount(flat.ravel(), weights=w.ravel(), minlength=nb * P**3)
        dens = dens.astype(np.float32).reshape(nb, P, P, P)
        if sigma > 0:
            for axis in (1, 2, 3):
                ndimage.gaussian_filter1d(dens, sigma, axis=axis, mode="constant",
                                          truncate=TRUNCATE, output=dens)
        dens *= norm
        own = np.flatnonzero((tiles.own_slot >= s0) & (tiles.own_slot < s0 + nb))
        if len(own):
            oslot = tiles.own_slot[own] - s0
            local = g[own] - (tiles.coords[s0 + oslot] * T - m)
            d = centre_density[own] = _trilinear(dens, oslot, local)
            if mesh:  # only where ``loose_particles`` needs it
                ask = np.flatnonzero((d < iso + LOOSE_MARGIN) & (d >= OUTSIDE_SHARE * iso))
                near_max[own[ask]] = _near_max(dens, oslot[ask], local[ask])
        if not mesh:
            continue
        core = dens[:, m:m + T + 1, m:m + T + 1, m:m + T + 1]
        crossing = np.flatnonzero((core.max(axis=(1, 2, 3)) > iso)
                                  & (core.min(axis=(1, 2, 3)) < iso))
        for k in crossing:
            pieces.append(_tile_mesh(dens[k], iso, m, T, tiles.coords[s0 + k], cell))
    return pieces, centre_density, near_max


_AROUND = np.indices((3, 3, 3)).reshape(3, -1).T - 1  # (27, 3) offsets of a node's neighbours


def _near_max(block: np.ndarray, slot: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Largest value of ``block`` (B, X, Y, Z) on the 3 x 3 x 3 nodes around the node nearest
    to each point ``x`` (n, 3) of block ``slot`` (n,)."""
    B, X, Y, Z = block.shape
    strides = np.array([Y * Z, Z, 1], np.int64)
    centre = slot.astype(np.int64) * (X * Y * Z) + _flat(np.rint(x).astype(np.int64), strides)
    return block.reshape(-1)[centre[:, None] + _AROUND @ strides].max(axis=1)


def _tile_mesh(block: np.ndarray, iso: float, m: int, T: int, coord: np.ndarray, cell: float):
    """Marching cubes on one dense block's core: world vertices, faces (CCW), normals."""
    core = np.ascontiguousarray(block[m:m + T + 1, m:m + T + 1, m:m + T + 1])
    verts, faces, mc_normals, _ = marching_cubes(core, level=iso, allow_degenerate=False)
    # density gradient at the core nodes by central differences on the block (the margin
    # holds the neighbours), then trilinear at the vertices: the same field in every tile
    ext = block[m - 1:m + T + 2, m - 1:m + T + 2, m - 1:m + T + 2]
    grad = np.stack([ext[2:, 1:-1, 1:-1] - ext[:-2, 1:-1, 1:-1],
                     ext[1:-1, 2:, 1:-1] - ext[1:-1, :-2, 1:-1],
                     ext[1:-1, 1:-1, 2:] - ext[1:-1, 1:-1, :-2]], axis=-1)
    # vertices on the core's upper faces: interpolate from the cell below (weight 1 on top)
    x = np.minimum(verts, T - 1e-4)
    g = _trilinear(grad[None], np.zeros(len(x), np.int64), x.astype(np.float64))
    length = np.linalg.norm(g, axis=1, keepdims=True)
    normals = np.where(length > 1e-12, -g / np.maximum(length, 1e-12), mc_normals)
    world = (coord * T + verts.astype(np.float64)) * cell
    # skimage winds faces clockwise seen along the descent normal: flip to counter-clockwise
    return world, faces[:, ::-1], normals


@functools.lru_cache(maxsize=4)
def _sphere_template(subdivisions: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Unit icosphere: vertices (V, 3), faces (M, 3) CCW outwards, inscribed radius."""
    import trimesh

    s = trimesh.creation.icosphere(subdivisions=subdivisions, radius=1.0)
    v, f = np.asarray(s.vertices, np.float64), np.asarray(s.faces, np.int64)
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    inscribed = float(np.abs(np.einsum("ij,ij->i", n, v[f[:, 0]])).min())
    return v, f, inscribed


def camera_depth(points: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """Depth (N,) of world points along the camera's viewing axis (OpenGL pose, camera looks
    down its -z), metres; negative behind the camera."""
    pose = np.asarray(pose, np.float64)
    return -(np.asarray(points, np.float64) - pose[:3, 3]) @ pose[:3, 2]


def sphere_radii(
    points: np.ndarray, particle_radius: float, camera: tuple[np.ndarray, np.ndarray] | None,
    min_radius_px: float = MIN_RADIUS_PX,
) -> tuple[np.ndarray, np.ndarray]:
    """Inscribed radius (N,) metres of each point's sphere: max(r, min_radius_px * z / f), and
    its on-screen radius (N,) px (inf without a camera, or behind it)."""
    n = len(points)
    if camera is None:
        return np.full(n, particle_radius), np.full(n, np.inf)
    K, pose = camera
    f = float(K[0, 0])
    z = camera_depth(points, pose)
    front = z > 0
    radius = np.full(n, float(particle_radius))
    radius[front] = np.maximum(particle_radius, min_radius_px * z[front] / f)
    px = np.full(n, np.inf)
    px[front] = radius[front] * f / z[front]
    return radius, px


def particle_spheres(
    centres: np.ndarray, radii: np.ndarray, radius_px: np.ndarray | None = None
) -> SurfaceMesh | None:
    """Closed spheres (icosahedra; subdivided once where ``radius_px`` >= SMOOTH_SPHERE_PX)
    of inscribed radius ``radii`` (N,) metres around ``centres`` (N, 3); smooth normals."""
    centres = np.asarray(centres, np.float64).reshape(-1, 3)
    if len(centres) == 0:
        return None
    radii = np.broadcast_to(np.asarray(radii, np.float64), (len(centres),))
    fine = (np.zeros(len(centres), bool) if radius_px is None
            else np.asarray(radius_px) >= SMOOTH_SPHERE_PX)
    parts = []
    for level, sel in ((0, ~fine), (1, fine)):
        if not sel.any():
            continue
        v, f, inscribed = _sphere_template(level)
        c, r = centres[sel], radii[sel] / inscribed
        verts = (c[:, None, :] + r[:, None, None] * v[None]).reshape(-1, 3)
        faces = (f[None] + (len(v) * np.arange(len(c)))[:, None, None]).reshape(-1, 3)
        normals = np.broadcast_to(v[None], (len(c), *v.shape)).reshape(-1, 3)
        parts.append(SurfaceMesh(verts.astype(np.float32), faces.astype(np.int32),
                                 normals.astype(np.float32), spheres=int(sel.sum())))
    return SurfaceMesh.concatenate(parts)


def _reconstruct(
    pos: np.ndarray, particle_radius: float, cell_scale: float, smoothing_cells: float,
    iso_level: float, tile_cells: int, max_cells: int, dilute_boost: float, mesh: bool = True,
) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
    """Bulk pieces, centre densities and their neighbourhoods' maxima of finite positions
    (N, 3); see ``extract_surface``.

    With ``dilute_boost`` > 1, a first pass measures each particle's density d_j and a second
    splats particle j with weight clip(DILUTE_REFERENCE / d_j, 1, dilute_boost): a particle
    stands for more liquid where its neighbours are sparse, as its volume m / rho_j does in
    SPH. A stream breaking into a loose cloud, or a splash, then stays one surface instead of
    falling apart into beads; the bulk (d_j >= DILUTE_REFERENCE) keeps unit weights, and lone
    drops and pairs still stay below the iso level (they get spheres). The first pass only
    weighs particles: it runs on cells twice as large (an eighth of the nodes) with the same
    blur in metres."""
    cell = 2.0 * particle_radius * cell_scale
    g, norm = pos / cell, cell_scale ** -3.0
    args = (cell, norm, smoothing_cells, iso_level, tile_cells, max_cells)
    if dilute_boost <= 1.0:
        return _bulk_surface(g, *args, mesh=mesh)
    _, first, _ = _bulk_surface(g / 2, 2 * cell, norm / 8, smoothing_cells / 2, iso_level,
                                tile_cells, max_cells, mesh=False)
    weights = np.clip(DILUTE_REFERENCE / np.maximum(first, 1e-6), 1.0, dilute_boost)
    return _bulk_surface(g, *args, weights=weights, mesh=mesh)


def loose_particles(density: np.ndarray, near_max: np.ndarray, iso_level: float) -> np.ndarray:
    """Which particles (N,) bool get a sphere of their own.

    A particle whose centre density is below ``iso_level + LOOSE_MARGIN`` is at best barely
    inside the isosurface. It gets a sphere when it is clearly outside (below
    ``OUTSIDE_SHARE * iso_level``) or when no node around it reaches that level either (a
    drop, a pair, a filament or a small clump that never reaches the iso level). The others lie
    on a bulk surface passing within a cell, whose image holds them (the renderer's coverage
    check adds spheres for any that it does not): spheres there would turn every free surface
    into grains.

    Args:
        density, near_max: (N,) centre density and the largest density on the 27 nodes
            around the centre (``_bulk_surface``).
    """
    level = iso_level + LOOSE_MARGIN
    return (density < level) & ((density < OUTSIDE_SHARE * iso_level) | (near_max < level))


def centre_density(
    positions: np.ndarray, particle_radius: float, cell_scale: float = 1.0,
    smoothing_cells: float = 1.0, iso_level: float = 0.5, tile_cells: int = TILE_CELLS,
    max_cells: int = 2_000_000, dilute_boost: float = DILUTE_BOOST,
) -> np.ndarray:
    """Normalised bulk density (N,) at each particle centre (finite rows of ``positions``), as
    ``extract_surface`` computes it: about 1 inside the bulk, 0.5-0.7 on a flat free surface's
    outer layer, 0 where the neighbourhood holds too little to reach ``iso_level``."""
    pos = _finite(positions)
    if len(pos) == 0:
        return np.zeros(0, np.float32)
    return _reconstruct(pos, particle_radius, cell_scale, smoothing_cells, iso_level,
                        tile_cells, max_cells, dilute_boost, mesh=False)[1]


def _finite(positions: np.ndarray) -> np.ndarray:
    pos = np.asarray(positions, np.float64).reshape(-1, 3)
    if not np.isfinite(pos).all():
        pos = pos[np.isfinite(pos).all(axis=1)]
    return pos


def extract_surface(
    positions: np.ndarray,
    particle_radius: float,
    cell_scale: float = 1.0,
    smoothing_cells: float = 1.0,
    iso_level: float = 0.5,
    max_cells: int = 2_000_000,
    *,
    tile_cells: int = TILE_CELLS,
    camera: tuple[np.ndarray, np.ndarray] | None = None,
    min_radius_px: float = MIN_RADIUS_PX,
    loose_spheres: bool = True,
    dilute_boost: float = DILUTE_BOOST,
) -> SurfaceMesh | None:
    """Liquid surface from particle centres: bulk isosurface plus spheres for loose particles;
    None when there is no liquid.

    Args:
        positions: (N, 3) particle centres, metres (non-finite rows are ignored).
        particle_radius: metres; particles are spaced about 2 r in the bulk.
        cell_scale: grid cell = cell_scale * 2 r (fixed: the grid never coarsens).
        smoothing_cells: gaussian sigma of the density blur, in cells.
        iso_level: surface level as a fraction of the bulk density.
        max_cells: grid cells held in memory at once (dense tiles are processed in batches of
            at most this many cells, at least one tile); the resolution does not depend on it.
        tile_cells: cells per edge of a sparse tile.
        camera: optional (K (3, 3), camera-to-world pose (4, 4), OpenGL): loose-particle
            spheres then have an inscribed radius of at least ``min_radius_px`` pixels.
        min_radius_px: on-screen inscribed radius of loose-particle spheres, pixels.
        loose_spheres: add the spheres of particles below the iso level (``loose_particles``).
        dilute_boost: largest weight of a particle in a sparse neighbourhood (1: all weigh 1;
            see ``_reconstruct``).
    """
    pos = _finite(positions)
    if len(pos) == 0:
        return None
    pieces, dens, near = _reconstruct(pos, particle_radius, cell_scale, smoothing_cells, iso_level,
                                tile_cells, max_cells, dilute_boost)
    parts: list[SurfaceMesh | None] = [
        SurfaceMesh(v.astype(np.float32), f.astype(np.int32), n.astype(np.float32))
        for v, f, n in pieces
    ]
    if loose_spheres:
        loose = pos[loose_particles(dens, near, iso_level)]
        radii, px = sphere_radii(loose, particle_radius, camera, min_radius_px)
        parts.append(particle_spheres(loose, radii, px))
    mesh = SurfaceMesh.concatenate(parts)
    if mesh is not None:
        log.debug("surface: %d tiles with faces, %d spheres, %d faces", len(pieces),
                  mesh.spheres, len(mesh.faces))
    return mesh
