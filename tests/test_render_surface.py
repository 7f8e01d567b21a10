"""Liquid surface extraction: placement, orientation, volume, empty input, grid cap."""

from __future__ import annotations

import numpy as np
import trimesh

from pourbench.render.surface import density_grid, extract_surface

R = 0.001


def _lattice_ball(radius: float) -> np.ndarray:
    ax = np.arange(-radius, radius + 1e-9, 2 * R)
    g = np.stack(np.meshgrid(ax, ax, ax, indexing="ij"), axis=-1).reshape(-1, 3)
    return g[np.linalg.norm(g, axis=1) <= radius].astype(np.float32)


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
    m = extract_surface(pos, R)
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


def test_grid_cap_coarsens_but_keeps_the_shape():
    pos = _lattice_ball(0.02)
    fine = extract_surface(pos, R)
    coarse = extract_surface(pos, R, max_cells=10_000)
    assert len(coarse.faces) < len(fine.faces) / 1.5
    v_fine = trimesh.Trimesh(fine.vertices, fine.faces).volume
    v_coarse = trimesh.Trimesh(coarse.vertices, coarse.faces).volume
    assert abs(v_coarse - v_fine) / v_fine < 0.25


def test_far_apart_groups_get_their_own_grids():
    ball = _lattice_ball(0.01)
    far = ball + np.array([0.5, 0.0, 0.0])  # half a metre away: one grid would be huge
    m = extract_surface(np.concatenate([ball, far]), R, max_cells=200_000)
    alone = extract_surface(ball, R)
    assert len(m.faces) == 2 * len(alone.faces), "same resolution as each group alone"
    assert np.isclose(m.vertices[:, 0].max(), alone.vertices[:, 0].max() + 0.5, atol=1e-5)
    mesh = trimesh.Trimesh(m.vertices, m.faces, process=False)
    assert mesh.body_count == 2 and mesh.volume > 0
