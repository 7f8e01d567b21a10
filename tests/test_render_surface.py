"""Liquid surface extraction: placement, orientation, volume, empty input, sparse tiles, drops."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from pourbench.render.surface import (
    centre_density,
    density_grid,
    extract_surface,
    particle_spheres,
    sphere_radii,
)

R = 0.001


def _lattice_ball(radius: float, centre=(0.0, 0.0, 0.0)) -> np.ndarray:
    ax = np.arange(-radius, radius + 1e-9, 2 * R)
    g = np.stack(np.meshgrid(ax, ax, ax, indexing="ij"), axis=-1).reshape(-1, 3)
    return (g[np.linalg.norm(g, axis=1) <= radius] + np.asarray(centre)).astype(np.float32)


def _closed(m) -> trimesh.Trimesh:
    """The mesh with the copies of vertices that neighbouring tiles share merged."""
    mesh = trimesh.Trimesh(m.vertices, m.faces, process=False)
    mesh.merge_vertices(digits_vertex=7)  # 0.1 um: tiles compute shared vertices alike
    return mesh


def test_density_grid_conserves_particles():
    pos = np.random.default_rng(0).uniform(0, 0.02, (500, 3))
    counts, origin = density_grid(pos, 0.002, margin=2)
    assert np.isclose(counts.sum(), 500, rtol=1e-5)
    assert (origin <= pos.min(axis=0)).all()


def test_block_surface_sits_one_radius_outside_the_particles():
    ax = np.arange(0, 0.04, 2 * R)
    pos = np.stack(np.meshgrid(ax, ax[:10], ax, indexing="ij"), axis=-1).reshape(-1, 3)
    m = extract_surface(pos, R)
    lo, hi = m.vertices.min(axis=0), m.vertices.max(axis=0)
    assert np.allclose(lo, pos.min(axis=0) - R, atol=0.6 * R)
    assert np.allclose(hi, pos.max(axis=0) + R, atol=0.6 * R)


def test_ball_volume_orientation_and_normals():
    pos = _lattice_ball(0.02)
    m = extract_surface(pos, R, loose_spheres=False)
    mesh = trimesh.Trimesh(m.vertices, m.faces, process=False)
    expected = len(pos) * (2 * R) ** 3  # each particle stands for a (2r)^3 cube of liquid
    assert abs(mesh.volume - expected) / expected < 0.1
    assert mesh.volume > 0, "faces wind counter-clockwise seen from outside"
    outward = np.einsum("ij,ij->i", m.vertices - m.vertices.mean(axis=0), m.normals)
    assert (outward > 0).mean() > 0.99
    assert np.allclose(np.linalg.norm(m.normals, axis=1), 1, atol=1e-3)
    assert m.vertices.dtype == np.float32 and m.faces.dtype == np.int32


def test_no_particles_no_surface():
    assert extract_surface(np.zeros((0, 3)), R) is None
    assert extract_surface(np.full((5, 3), np.nan), R) is None


@pytest.mark.parametrize("tile_cells", [8, 13, 32])
def test_tiles_meet_without_cracks(tile_cells):
    """A block crossing many tile borders (the ball is centred on a tile corner and spans
    several tiles per axis at 8 cells) comes out closed, with the volume of its particles."""
    pos = _lattice_ball(0.02, centre=(0.0003, -0.0002, 0.0001))
    m = extract_surface(pos, R, tile_cells=tile_cells, loose_spheres=False)
    mesh = _closed(m)
    assert mesh.is_watertight and mesh.body_count == 1
    expected = len(pos) * (2 * R) ** 3
    assert abs(mesh.volume - expected) / expected < 0.1
    one_tile = extract_surface(pos + 0.5, R, tile_cells=64, loose_spheres=False)
    assert abs(mesh.volume - _closed(one_tile).volume) / expected < 0.01


def test_normals_are_continuous_across_tile_borders():
    pos = _lattice_ball(0.02, centre=(0.0003, -0.0002, 0.0001))
    m = extract_surface(pos, R, tile_cells=8, loose_spheres=False)
    keys = np.round(m.vertices / 1e-7).astype(np.int64)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    shared = np.flatnonzero(first[inverse.ravel()] != np.arange(len(keys)))
    assert len(shared) > 100, "the ball's surface crosses tile borders"
    twin = first[inverse.ravel()[shared]]
    assert np.abs(m.normals[shared] - m.normals[twin]).max() < 1e-3


def test_max_cells_bounds_memory_not_resolution():
    pos = _lattice_ball(0.02)
    fine = extract_surface(pos, R)
    batched = extract_surface(pos, R, max_cells=10_000)  # one tile per batch
    assert len(batched.faces) == len(fine.faces)
    assert np.allclose(np.sort(batched.vertices, axis=0), np.sort(fine.vertices, axis=0),
                       atol=1e-6)


def test_far_apart_groups_keep_their_resolution():
    ball = _lattice_ball(0.01)
    far = ball + np.array([0.5, 0.0, 0.0], np.float32)  # half a metre away
    m = extract_surface(np.concatenate([ball, far]), R, max_cells=200_000, loose_spheres=False)
    alone = extract_surface(ball, R, loose_spheres=False)
    assert abs(len(m.faces) - 2 * len(alone.faces)) <= 0.02 * len(alone.faces)
    assert np.isclose(m.vertices[:, 0].max(), alone.vertices[:, 0].max() + 0.5, atol=1e-4)
    mesh = _closed(m)
    assert mesh.body_count == 2 and mesh.volume > 0


def test_a_wide_spill_leaves_the_pool_intact():
    """A pool plus a spill reaching 3 m across the table (lines of drops and a puddle far
    away): the grid keeps its cells, so the pool keeps its surface and its volume."""
    r = 0.002
    ax = np.arange(-0.03, 0.03 + 1e-9, 2 * r)
    g = np.stack(np.meshgrid(ax, ax, ax, indexing="ij"), axis=-1).reshape(-1, 3)
    pool = g[np.linalg.norm(g, axis=1) <= 0.03]
    t = np.arange(0.04, 1.5, 0.008)  # drops every 8 mm, from 1 cm off the pool outwards
    zeros = np.zeros_like(t)
    lines = np.concatenate([np.stack([s * t, zeros - 0.028, zeros], 1) for s in (-1, 1)]
                           + [np.stack([zeros, zeros - 0.028, s * t], 1) for s in (-1, 1)])
    puddle = np.stack(np.meshgrid(np.arange(0, 0.1, 2 * r), [-0.028, -0.028 + 2 * r],
                                  np.arange(0, 0.1, 2 * r), indexing="ij"), -1).reshape(-1, 3)
    spill = np.concatenate([lines, puddle + [1.4, 0.0, 1.4]])
    m = extract_surface(np.concatenate([pool, spill]), r)

    def pool_body(mesh):  # the largest piece at the pool (drops there are pieces of their own)
        return max(_closed(mesh).split(only_watertight=False),
                   key=lambda b: len(b.faces) * (np.linalg.norm(b.centroid) < 0.01))

    expected = len(pool) * (2 * r) ** 3
    assert abs(pool_body(m).volume - expected) / expected < 0.1
    alone = pool_body(extract_surface(pool, r))
    assert abs(pool_body(m).volume - alone.volume) / expected < 0.01
    assert m.spheres >= len(lines), "every drop of the lines is drawn"


def test_loose_particles_become_spheres_and_bulk_ones_do_not():
    single = np.zeros((1, 3))
    pair = np.array([[0.0, 0.0, 0.0], [2 * R, 0.0, 0.0]])
    spray = np.random.default_rng(1).uniform(-0.05, 0.05, (50, 3))
    for pos in (single, pair, spray):
        m = extract_surface(pos, R)
        assert m is not None and m.spheres == len(pos)
        assert _closed(m).body_count == len(pos)
    ball = _lattice_ball(0.015)
    dens = centre_density(ball, R)
    inner = np.linalg.norm(ball, axis=1) < 0.01
    assert np.allclose(dens[inner], 1.0, atol=0.05)
    assert extract_surface(ball, R).spheres < (~inner).sum(), "only some of the outer layer"
    assert centre_density(single, R)[0] < 0.5 and (centre_density(pair, R) < 0.5).all()


def test_sphere_radius_has_a_minimum_on_screen_size():
    K = np.array([[290.0, 0, 159.5], [0, 290.0, 119.5], [0, 0, 1]])
    pose = np.eye(4)  # camera at the origin looking down -z
    pts = np.array([[0.0, 0.0, -0.5], [0.0, 0.0, -0.05], [0.0, 0.0, 1.0]])
    radius, px = sphere_radii(pts, 0.0009, (K, pose), 0.75)
    assert np.isclose(radius[0], 0.75 * 0.5 / 290.0)  # 1.3 mm > r at half a metre
    assert np.isclose(radius[1], 0.0009) and px[1] > 0.75  # near: the particle's own size
    assert radius[2] == 0.0009 and np.isinf(px[2])  # behind the camera
    m = particle_spheres(pts[:1], radius[:1], px[:1])
    d = np.linalg.norm(m.vertices - pts[0], axis=1)
    mesh = trimesh.Trimesh(m.vertices, m.faces, process=False)
    plane = np.abs(np.einsum("ij,ij->i", mesh.face_normals, m.vertices[m.faces[:, 0]] - pts[0]))
    assert np.isclose(plane.min(), radius[0], rtol=1e-4), "inscribed radius"
    assert d.max() < 1.3 * radius[0] and mesh.is_watertight and mesh.volume > 0


def test_a_loose_stream_stays_one_surface():
    """A breaking stream: particles at 40 % of the bulk density in a 4 mm column. With unit
    weights every particle is a bead; weighted as SPH volumes m / rho, one surface."""
    rng = np.random.default_rng(0)
    spacing = 2 * R / 0.4 ** (1 / 3)
    ax, z = np.arange(-0.004, 0.004 + 1e-9, spacing), np.arange(0, 0.06, spacing)
    g = np.stack(np.meshgrid(ax, ax, z, indexing="ij"), -1).reshape(-1, 3)
    g = g[np.hypot(g[:, 0], g[:, 1]) <= 0.004]
    pos = g + rng.normal(0, 0.15 * spacing, g.shape)
    assert extract_surface(pos, R, dilute_boost=1.0).spheres == len(pos)
    m = extract_surface(pos, R)
    bulk = extract_surface(pos, R, loose_spheres=False)
    assert _closed(bulk).body_count == 1 and np.ptp(bulk.vertices[:, 2]) > 0.055
    assert m.spheres < 0.2 * len(pos)
