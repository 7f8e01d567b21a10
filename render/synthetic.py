"""Synthetic particle tracks for tests, benchmarks and previews (no simulator needed).

``synthetic_pour`` builds a cup tilting over a bowl, a resting pool in the bowl and a falling
stream between them: not physics, just a pour-shaped particle cloud with the right sizes, so the
renderer can be exercised while the simulator is written elsewhere.
"""

from __future__ import annotations

import numpy as np
import trimesh

from pourbench.core.track import ContainerMesh, TrackHeader


def vessel_mesh(
    radius_bottom: float, radius_top: float, height: float, wall: float, sections: int = 48
) -> trimesh.Trimesh:
    """Watertight open-topped vessel (cup, bowl) with wall thickness; base at y=0, axis +y."""
    profile = np.array(
        [
            [0.0, 0.0],
            [radius_bottom, 0.0],
            [radius_top, height],
            [radius_top - wall, height],
            [radius_bottom - wall, wall],
            [0.0, wall],
        ]
    )
    mesh = trimesh.creation.revolve(profile, sections=sections)  # axis z, profile (r, z)
    mesh.apply_transform(trimesh.transformations.rotation_matrix(-np.pi / 2, [1, 0, 0]))
    if mesh.volume < 0:
        mesh.invert()
    return mesh


def _pose(rotation: np.ndarray | None = None, translation=(0.0, 0.0, 0.0)) -> np.ndarray:
    m = np.eye(4)
    if rotation is not None:
        m[:3, :3] = rotation
    m[:3, 3] = translation
    return m


def synthetic_pour(
    num_frames: int = 8,
    num_particles: int = 30_000,
    particle_radius: float = 0.0012,
    fps: float = 30.0,
    seed: int = 0,
    source_material: str = "ceramic",
    target_material: str = "glass",
    temperature_c: float = 60.0,
    spray_fraction: float = 0.0,
) -> tuple[TrackHeader, np.ndarray]:
    """A pour-shaped track: header and positions (F, N, 3) float32 metres.

    The target bowl sits at the origin, the cup above and to its left (-x) tilts about +z;
    a third of the particles form a stream falling from the cup lip into the bowl, the rest a
    pool in the bowl whose share grows over time (the stream particles join it).
    ``spray_fraction`` of the stream's particles are flung off it as single drops (1-3 cm
    away, moving from frame to frame), the hardest case for the liquid's labels.
    """
    rng = np.random.default_rng(seed)
    bowl = vessel_mesh(0.045, 0.075, 0.06, 0.004)
    cup = vessel_mesh(0.032, 0.038, 0.10, 0.003)
    cup_base = np.array([-0.13, 0.10, 0.0])
    poses_bowl = np.repeat(_pose()[None], num_frames, axis=0)
    poses_cup = np.empty((num_frames, 4, 4))
    angles = np.linspace(np.deg2rad(80), np.deg2rad(110), num_frames)
    for f, a in enumerate(angles):
        rot = trimesh.transformations.rotation_matrix(-a, [0, 0, 1])[:3, :3]
        poses_cup[f] = _pose(rot, cup_base)
    lip = cup_base + np.array([0.10, 0.04, 0.0])  # where the stream leaves the cup
    spacing = 2 * particle_radius
    # pool: particles on a jittered lattice filling the bowl up to the level needed
    n_stream = num_particles // 3
    n_pool = num_particles - n_stream
    lattice = np.mgrid[-0.07:0.07:spacing, 0.004 + particle_radius:0.06:spacing,
                       -0.07:0.07:spacing].reshape(3, -1).T
    radial = np.hypot(lattice[:, 0], lattice[:, 2])
    inside = radial < (0.045 - 0.004 + (0.075 - 0.045) * (lattice[:, 1] / 0.06) - 1.5 * spacing)
    lattice = lattice[inside]
    lattice = lattice[np.argsort(lattice[:, 1], kind="stable")][:n_pool]
    pool = lattice + rng.normal(0, 0.05 * spacing, lattice.shape)
    # stream: a parabola-ish column from the lip down to the pool surface
    pool_top = float(pool[:, 1].max())
    s = rng.uniform(0, 1, n_stream)
    stream0 = np.stack([lip[0] + (0.0 - lip[0]) * s**0.7, lip[1] + (pool_top - lip[1]) * s,
                        np.zeros(n_stream)], axis=1)
    width = 0.006 * (1 - 0.5 * s)
    stream0[:, 0] += rng.normal(0, 1, n_stream) * width * 0.5
    stream0[:, 2] += rng.normal(0, 1, n_stream) * width * 0.5
    n_spray = int(round(spray_fraction * n_stream))
    direction = rng.normal(0, 1, (n_spray, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    distance = rng.uniform(0.01, 0.03, n_spray)
    drift = rng.normal(0, 0.002, (n_spray, 3))
    positions = np.empty((num_frames, num_particles, 3), np.float32)
    for f in range(num_frames):
        wobble = 0.002 * np.sin(2 * np.pi * (f / max(num_frames, 1)) + 6 * s)
        st = stream0.copy()
        st[:, 2] += wobble
        st[:n_spray] += direction * distance[:, None] + f * drift
        positions[f, :n_pool] = pool
        positions[f, n_pool:] = st
    total_ml = num_particles * spacing**3 * 1e6
    frac = np.linspace(0.4, 0.2, num_frames)
    volume = np.stack([total_ml * frac, total_ml * (1 - frac), np.zeros(num_frames)], axis=1)
    header = TrackHeader(
        fps=fps,
        particle_radius=particle_radius,
        num_frames=num_frames,
        num_particles=num_particles,
        containers=[
            ContainerMesh("source", "source", source_material,
                          cup.vertices.astype(np.float32), cup.faces.astype(np.int32), poses_cup),
            ContainerMesh("target", "target", target_material,
                          bowl.vertices.astype(np.float32), bowl.faces.astype(np.int32),
                          poses_bowl),
        ],
        volume=volume.astype(np.float32),
        table_height=0.0,
        scenario={"liquid": {"temperature_c": temperature_c}},
    )
    return header, positions
