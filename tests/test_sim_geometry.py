"""Containers, signed distances, boundary sampling and Akinci volumes (no Taichi needed)."""

import numpy as np
import pytest
import trimesh

from pourbench.sim import PRESETS
from pourbench.sim.boundary import akinci_volumes, sample_plane, sample_profile_surface
from pourbench.sim.containers import build_container, fill_lattice, sample_sdf
from pourbench.sim.kernels import kernel_numpy
from pourbench.sim.scenario import ContainerSpec

R = 0.004


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_build_closed_meshes_with_consistent_sdf(name):
    spec = PRESETS[name]
    g = build_container(spec, R)
    mesh = trimesh.Trimesh(g.vertices, g.faces)
    assert mesh.is_watertight and mesh.volume > 0
    assert g.vertices[:, 1].min() == pytest.approx(0.0, abs=1e-6)
    assert g.rim_height == pytest.approx(spec.height)
    # a point in the middle of the wall at half height is inside the material
    mid = 0.5 * (spec.height + g.inner_bottom)
    rho_in = g.profile[(g.profile[:, 1] > 0)][:, 0]
    assert rho_in.size
    cavity = np.array([[0.0, mid, 0.0]])
    assert sample_sdf(g.sdf, cavity)[0] > 0  # the axis is in the cavity
    assert g.contains(cavity)[0]
    outside = np.array([[g.vertices[:, 0].max() + 0.02, mid, 0.0]])
    assert sample_sdf(g.sdf, outside)[0] > 0 and not g.contains(outside)[0]
    # vertices lie on the zero level set (within a grid cell)
    d = sample_sdf(g.sdf, g.vertices[::7])
    assert np.abs(d).max() < 1.5 * g.sdf.pitch


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_cavity_test_agrees_with_every_hull_facet(name):
    """``contains`` skips facets (bounding box, inner polytope) but gives the answer of
    testing every one, on and off the container, at the tolerances its callers use."""
    g = build_container(PRESETS[name], R)
    rng = np.random.default_rng(1)
    lo, hi = g.vertices.min(axis=0), g.vertices.max(axis=0)
    p = np.concatenate([rng.uniform(lo - 0.01, hi + 0.01, (20_000, 3)),  # inside and out
                        g.vertices + rng.normal(0.0, 1e-4, g.vertices.shape)])  # near the hull
    eq = g.hull_equations
    for tol in (0.0, -R, 0.002):
        every_facet = np.all(p @ eq[:, :3].T + eq[:, 3] <= tol, axis=1)
        assert 0 < every_facet.sum() < len(p)
        np.testing.assert_array_equal(g.contains(p, tol), every_facet)


def test_wall_interior_is_negative_for_a_straight_cup():
    spec = ContainerSpec(shape="cup", inner_radius=0.04, height=0.1, wall_thickness=0.004)
    g = build_container(spec, R)
    p = np.array([[0.042, 0.05, 0.0], [0.0, 0.05, 0.042], [0.0, 0.002, 0.0]])
    d = sample_sdf(g.sdf, p)
    assert (d < 0).all() and d.min() > -0.0025
    assert sample_sdf(g.sdf, np.array([[0.03, 0.05, 0.0]]))[0] == pytest.approx(0.01, abs=1e-3)


def test_fill_lattice_is_clear_of_walls_and_below_the_fill_level():
    g = build_container(PRESETS["cup"], R)
    p = fill_lattice(g, R, 0.5)
    assert len(p) > 20
    assert sample_sdf(g.sdf, p).min() >= 1.15 * R  # the default clearance is 1.2 r
    assert p[:, 1].max() <= g.inner_bottom + 0.5 * (g.rim_height - g.inner_bottom)
    d = np.linalg.norm(p[:, None] - p[None], axis=-1) + np.eye(len(p))
    assert d.min() == pytest.approx(2 * R)


def test_profile_sampling_spacing():
    profile = np.array([[0.0, 0.0], [0.05, 0.0], [0.05, 0.1]])
    pts = sample_profile_surface(profile, 0.005)
    from scipy.spatial import cKDTree

    nn = cKDTree(pts).query(pts, k=2)[0][:, 1]
    assert 0.002 < np.median(nn) < 0.006
    area = np.pi * 0.05**2 + 2 * np.pi * 0.05 * 0.1
    assert len(pts) == pytest.approx(area / 0.005**2, rel=0.25)


def test_akinci_volume_of_a_dense_plane_matches_its_integral():
    h, s = 0.016, 0.003
    p2 = sample_plane((-0.1, -0.1), (0.1, 0.1), s)
    pts = np.stack([p2[:, 0], np.zeros(len(p2)), p2[:, 1]], 1)
    v = akinci_volumes(pts, h)
    centre = v[np.argmin(np.linalg.norm(pts, axis=1))]
    # V = 1 / sum W ~ s^2 / integral of W over the plane through the kernel centre
    rr = np.linspace(0, h, 4001)
    integral = np.trapezoid(kernel_numpy("cubic", rr, h) * 2 * np.pi * rr, rr)
    assert centre == pytest.approx(s * s / integral, rel=0.02)


def test_imported_mesh_container(tmp_path):
    """An OBJ file (here: the mug exported, in millimetres) loads as a container."""
    from pourbench.sim import load_scenario
    from pourbench.sim.pour import _samples

    mug = build_container(PRESETS["mug"], R)
    mm = trimesh.Trimesh(mug.vertices * 1000.0, mug.faces)
    mm.export(tmp_path / "mug.obj")
    (tmp_path / "scene.toml").write_text(
        '[source]\nshape = "mesh"\nmesh = "mug.obj"\nmesh_scale = 0.001\nwall_thickness = 0.005\n'
    )
    spec = load_scenario(tmp_path / "scene.toml").source
    g = build_container(spec, R)
    assert g.rim_height == pytest.approx(PRESETS["mug"].height, abs=1e-4)
    assert g.lip[0] == pytest.approx(mug.lip[0], abs=2e-3)
    inside_wall = np.array([[PRESETS["mug"].inner_radius + 0.0025, 0.05, 0.0]])
    assert sample_sdf(g.sdf, inside_wall)[0] < 0
    assert sample_sdf(g.sdf, np.array([[0.0, 0.05, 0.0]]))[0] > 0.02
    pts = _samples(g, 2 * R * 0.75, seed=0)
    assert np.abs(sample_sdf(g.sdf, pts)).max() < 2 * g.sdf.pitch
    assert len(fill_lattice(g, R, 0.5)) > 10
