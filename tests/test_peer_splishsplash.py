"""SPlisHSPlasH peer: scene geometry and helpers always; a coarse real run when installed."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from pourbench.benchmark.perf import peer_splishsplash as peer
from pourbench.core.errors import PourbenchError

A = peer.MARTIN_MOYCE_A


def _splishsplash_block_centres(start: float, end: float, r: float) -> np.ndarray:
    """Centres SPlisHSPlasH's FluidBlocks (mode 0) put along one axis: its documented rule."""
    n = round((end - start) / (2 * r)) - 1
    return start + 2 * r + 2 * r * np.arange(n)


def test_lattice_counts_by_hand():
    assert peer.lattice_counts(A, A / 10) == (5, 10, 5)
    assert peer.lattice_counts(A, A / 50) == (25, 50, 25)
    assert peer.lattice_counts(A, A / 25) == (12, 25, 12)  # 12.5 per a: floor
    with pytest.raises(PourbenchError, match="too coarse"):
        peer.lattice_counts(A, A / 3)


def test_scene_fluid_block_fills_column_from_r():
    r = A / 10
    scene = peer.build_dambreak_scene(A, r, 0.0005, 0.001, 0.005)
    block = scene["FluidBlocks"][0]
    for axis, n in enumerate((5, 10, 5)):
        centres = _splishsplash_block_centres(block["start"][axis], block["end"][axis], r)
        assert len(centres) == n
        np.testing.assert_allclose(centres, r + 2 * r * np.arange(n), atol=1e-12)
    # the column's particle volume is exactly [0, a] x [0, 2a] x [0, a]
    np.testing.assert_allclose(centres[-1] + r, A, rtol=1e-12)


def test_scene_solver_settings_in_splishsplash_units():
    scene = peer.build_dambreak_scene(A, A / 50, 0.0005, 0.001, 0.005)
    config = scene["Configuration"]
    assert config["simulationMethod"] == 4 and config["boundaryHandlingMethod"] == 0
    assert config["DFSPH"]["maxError"] == pytest.approx(0.05)  # percent
    assert config["DFSPH"]["maxErrorV"] == pytest.approx(0.1)
    assert config["cflMaxTimeStepSize"] == 0.005
    assert config["gravitation"] == [0.0, -9.81, 0.0]
    assert scene["Materials"][0]["viscosityMethod"] == 0
    viscous = peer.build_dambreak_scene(A, A / 50, 0.0005, 0.001, 0.005, viscosity=0.01)
    assert viscous["Materials"][0]["viscosityMethod"] == 1


@pytest.mark.parametrize("gap", [1.0, 2.0, 3.0])
def test_scene_tank_walls_sit_gap_r_from_fluid(gap):
    r = A / 50
    scene = peer.build_dambreak_scene(A, r, 0.0005, 0.001, 0.005, wall_gap=gap)
    tank = scene["RigidBodies"][0]
    lo = np.asarray(tank["translation"]) - np.asarray(tank["scale"]) / 2
    hi = np.asarray(tank["translation"]) + np.asarray(tank["scale"]) / 2
    shift = (gap - 1) * r
    np.testing.assert_allclose(lo, [-shift, -shift, -shift], atol=1e-12)
    np.testing.assert_allclose(hi, [4 * A + shift, 3 * A, A + shift], atol=1e-12)
    # nearest fluid centres (r and a - r) are gap * r from the walls
    assert r - lo[0] == pytest.approx(gap * r)
    assert hi[2] - (A - r) == pytest.approx(gap * r)


def test_scene_with_volume_maps_has_cells_of_4r():
    """SPlisHSPlasH's volume maps (boundaryHandlingMethod 2) over the inverted tank box, its
    map cells 4 r (as its own DamBreakModel scene: r = 0.025 m, 10 cells a metre)."""
    r = A / 50
    scene = peer.build_dambreak_scene(A, r, 0.0005, 0.001, 0.005, boundary="volume_maps")
    assert scene["Configuration"]["boundaryHandlingMethod"] == 2
    tank = scene["RigidBodies"][0]
    assert tank["mapInvert"] and tank["mapThickness"] == 0.0
    cells = np.asarray(tank["scale"]) / np.asarray(tank["mapResolution"])
    assert np.all(cells <= 4 * r) and np.all(cells > 3.5 * r)
    particles = peer.build_dambreak_scene(A, r, 0.0005, 0.001, 0.005)
    assert "mapResolution" not in particles["RigidBodies"][0]


def test_scene_rejects_bad_values():
    with pytest.raises(PourbenchError, match="positive"):
        peer.build_dambreak_scene(A, A / 50, 0.0, 0.001, 0.005)
    with pytest.raises(PourbenchError, match="wall_gap"):
        peer.build_dambreak_scene(A, A / 50, 0.0005, 0.001, 0.005, wall_gap=0.5)
    with pytest.raises(PourbenchError, match="boundary"):
        peer.build_dambreak_scene(A, A / 50, 0.0005, 0.001, 0.005, boundary="density_maps")


def test_unit_box_obj_is_closed_and_faces_outward(tmp_path: Path):
    path = tmp_path / "box.obj"
    peer.write_unit_box_obj(path)
    lines = path.read_text().splitlines()
    verts = np.array([[float(v) for v in ln.split()[1:]] for ln in lines if ln.startswith("v ")])
    faces = [[int(i) - 1 for i in ln.split()[1:]] for ln in lines if ln.startswith("f ")]
    assert verts.shape == (8, 3) and np.abs(verts).max() == 0.5 and len(faces) == 12
    edges: dict[tuple[int, int], int] = {}
    for f in faces:
        p = verts[f]
        normal = np.cross(p[1] - p[0], p[2] - p[0])
        assert normal @ p.mean(axis=0) > 0  # outward: the centre is the origin
        for i in range(3):
            edge = (f[i], f[(i + 1) % 3])
            edges[edge] = edges.get(edge, 0) + 1
    # closed and consistently oriented: every directed edge once, its reverse once
    assert all(count == 1 and (e[1], e[0]) in edges for e, count in edges.items())


def test_missing_peer_returns_none(monkeypatch, caplog):
    monkeypatch.setattr(peer, "peer_available", lambda: False)
    with caplog.at_level("WARNING"):
        assert peer.run_peer_dambreak(particle_radius=A / 10, t_end=0.01) is None
    assert "not installed" in caplog.text


def test_gldispatch_lookup_gives_a_real_file_or_none():
    path = peer.find_system_gldispatch()
    assert path is None or (Path(path).exists() and "libGLdispatch.so.0" in path)


@pytest.mark.skipif(not peer.peer_available(), reason="pysplishsplash not installed")
def test_coarse_dambreak_front_starts_at_column_and_advances(tmp_path: Path):
    r = A / 10
    t_end = 1.5 * math.sqrt(A / (2 * peer.GRAVITY))  # T = 1.5
    result = peer.run_peer_dambreak(
        particle_radius=r, t_end=t_end, timeout_s=120, threads=2, work_dir=tmp_path
    )
    assert result is not None
    assert result.num_particles == 5 * 10 * 5
    assert result.T[0] == 0.0 and result.T[-1] >= 1.5
    assert result.Z[0] == pytest.approx((A - r) / A, rel=1e-4)  # outermost centre at a - r
    assert result.Z[-1] > result.Z[0] + 0.5  # the surge has run well out
    assert np.all(np.diff(result.Z) > -0.05)  # no big jumps back
    assert result.steps == len(result.T) - 1 and result.steps > 5
    assert result.wall_s > 0 and result.particle_steps_per_s > 0
    s = result.settings
    assert s["simulation_method"] == "DFSPH" and "cubic" in s["kernel"]
    assert s["maxError_percent"] == pytest.approx(0.05) and s["viscosity_method"] == 0
    assert s["support_radius"] == pytest.approx(4 * r, rel=1e-5)
    # nothing left the tank, nothing blew up
    assert np.all(np.asarray(s["bounds_end_min"]) >= np.asarray(s["tank_min"]) - 1e-6)
    assert np.all(np.asarray(s["bounds_end_max"]) <= np.asarray(s["tank_max"]) + 1e-6)
    assert s["escaped_particles_end"] == 0
    assert s["max_speed_peak"] < 5.0  # free fall from 2a reaches ~1.5 m/s
