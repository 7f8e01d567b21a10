"""ParticleTrack: the one type the simulator writes and the renderer reads.

``sim`` produces a track, ``render`` consumes it; neither imports the other. A track is
kept on disk as ``sims/sim_XXXXXX.h5`` and read lazily, one video frame at a time, so
neither side holds a whole pour in memory.

Layout of a track file::

    positions            float16 (F, N, 3)  fluid particle centres, metres, world frame
    volume               float32 (F, 3)     ml of water in source, target, spilled
    containers/<name>/vertices  float32 (V, 3)  mesh in the container's local frame, metres
    containers/<name>/faces     int32   (M, 3)
    containers/<name>/poses     float64 (F, 4, 4) local-to-world per frame
      attrs: role ("source" | "target" | "static"), material ("glass" | "ceramic" | ...)
    attrs: fps, particle_radius, table_height, scenario (JSON), sim_stats (JSON),
           pourbench_version, complete (set last)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from pourbench import __version__
from pourbench.core.atomic import atomic_path
from pourbench.core.errors import PourbenchError


@dataclass
class ContainerMesh:
    """A rigid container: its surface mesh in its own frame and its pose per video frame.

    Attributes:
        name: unique name, e.g. ``"source"`` or ``"target"``.
        role: ``"source"`` (the cup that pours), ``"target"`` (a bowl) or ``"static"``.
        material: appearance hint for the renderer: ``glass``, ``plastic``, ``ceramic``, ``metal``.
        vertices: (V, 3) float32, metres, local frame (y up, base at y=0).
        faces: (M, 3) int32 triangle indices, outward normals.
        poses: (F, 4, 4) float64 local-to-world transforms, one per video frame.
    """

    name: str
    role: str
    material: str
    vertices: np.ndarray
    faces: np.ndarray
    poses: np.ndarray


@dataclass
class TrackHeader:
    """Everything about a track except the per-frame particle positions."""

    fps: float
    particle_radius: float
    num_frames: int
    num_particles: int
    containers: list[ContainerMesh]
    volume: np.ndarray  # (F, 3) float32 ml: source, target, spilled
    table_height: float = 0.0
    scenario: dict = field(default_factory=dict)
    sim_stats: dict = field(default_factory=dict)


class TrackWriter:
    """Write a track frame by frame (memory independent of the number of frames), atomically.

    Usage::

        with TrackWriter(path, num_frames=F, num_particles=N) as w:
            for f in range(F):
                w.write_positions(f, pos)            # (N, 3) metres
            w.finish(header)                         # containers, volumes, attrs
    """

    def __init__(self, path: str | Path, num_frames: int, num_particles: int):
        self.path = Path(path)
        self.num_frames = num_frames
        self.num_particles = num_particles
        self._written = np.zeros(num_frames, bool)
        self._finished = False

    def __enter__(self) -> TrackWriter:
        self._ctx = atomic_path(self.path)
        tmp = self._ctx.__enter__()
        self._h5 = h5py.File(tmp, "w")
        self._pos = self._h5.create_dataset(
            "positions",
            shape=(self.num_frames, self.num_particles, 3),
            dtype=np.float16,
            chunks=(1, self.num_particles, 3),
            compression="lzf",
        )
        return self

    def write_positions(self, frame: int, positions: np.ndarray) -> None:
        if positions.shape != (self.num_particles, 3):
            raise ValueError(
                f"positions shape {positions.shape}, expected ({self.num_particles}, 3)"
            )
        self._pos[frame] = positions.astype(np.float16)
        self._written[frame] = True

    def finish(self, header: TrackHeader) -> None:
        if not self._written.all():
            missing = np.flatnonzero(~self._written)
            raise ValueError(f"frames never written: {missing[:5].tolist()}")
        h = self._h5
        h.create_dataset("volume", data=np.asarray(header.volume, np.float32))
        for c in header.containers:
            g = h.create_group(f"containers/{c.name}")
            g.create_dataset("vertices", data=np.asarray(c.vertices, np.float32))
            g.create_dataset("faces", data=np.asarray(c.faces, np.int32))
            g.create_dataset("poses", data=np.asarray(c.poses, np.float64))
            g.attrs["role"] = c.role
            g.attrs["material"] = c.material
        h.attrs["fps"] = float(header.fps)
        h.attrs["particle_radius"] = float(header.particle_radius)
        h.attrs["table_height"] = float(header.table_height)
        h.attrs["scenario"] = json.dumps(header.scenario, sort_keys=True)
        h.attrs["sim_stats"] = json.dumps(header.sim_stats, sort_keys=True)
        h.attrs["pourbench_version"] = __version__
        h.attrs["complete"] = True  # last
        self._finished = True

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._h5.close()
        if exc_type is None and not self._finished:
            exc_type = RuntimeError
            exc = RuntimeError("TrackWriter closed without finish(header)")
            self._ctx.__exit__(exc_type, exc, None)
            raise exc
        self._ctx.__exit__(exc_type, exc, tb)
        return False


class TrackReader:
    """Lazy reader of a track file: header in memory, particle positions one frame at a time."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self._h5 = h5py.File(self.path, "r")
        except (OSError, FileNotFoundError) as e:
            raise PourbenchError(f"{self.path}: cannot open particle track ({e})") from e
        h = self._h5
        if not h.attrs.get("complete", False):
            h.close()
            raise PourbenchError(f"{self.path}: particle track is incomplete")
        containers = []
        for name, g in h["containers"].items():
            containers.append(
                ContainerMesh(
                    name=name,
                    role=str(g.attrs["role"]),
                    material=str(g.attrs["material"]),
                    vertices=g["vertices"][()],
                    faces=g["faces"][()],
                    poses=g["poses"][()],
                )
            )
        F, N, _ = h["positions"].shape
        self.header = TrackHeader(
            fps=float(h.attrs["fps"]),
            particle_radius=float(h.attrs["particle_radius"]),
            num_frames=F,
            num_particles=N,
            containers=containers,
            volume=h["volume"][()],
            table_height=float(h.attrs.get("table_height", 0.0)),
            scenario=json.loads(h.attrs["scenario"]),
            sim_stats=json.loads(h.attrs["sim_stats"]),
        )

    def __len__(self) -> int:
        return self.header.num_frames

    def positions(self, frame: int) -> np.ndarray:
        """(N, 3) float32 particle positions in metres at video frame ``frame``."""
        return self._h5["positions"][frame].astype(np.float32)

    def close(self) -> None:
        self._h5.close()

    def __enter__(self) -> TrackReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def is_complete_track(path: str | Path) -> bool:
    """True when ``path`` is a readable, completely written track file."""
    try:
        with h5py.File(path, "r") as h:
            return bool(h.attrs.get("complete", False))
    except OSError:
        return False
