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
           pourbench_version, track_version (absent in the first tracks: 1),
           complete (set last)

Every dataset's chunks carry a Fletcher-32 checksum: a corrupt chunk fails to read instead
of giving wrong particles or meshes. :func:`track_problem` reads a track whole to prove it
sound (the generator re-simulates a track of ``DIR/sims/`` that is not, instead of rendering
from it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from pourbench import __version__
from pourbench.core.atomic import atomic_h5
from pourbench.core.errors import PourbenchError

#: Layout version of track files; a reader refuses newer ones.
TRACK_VERSION = 1


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
        self._ctx = atomic_h5(self.path)
        self._h5 = self._ctx.__enter__()
        self._pos = self._h5.create_dataset(
            "positions",
            shape=(self.num_frames, self.num_particles, 3),
            dtype=np.float16,
            chunks=(1, self.num_particles, 3),
            compression="lzf",
            fletcher32=True,
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
        checked = {"fletcher32": True}  # every dataset's chunks carry a checksum
        h.create_dataset("volume", data=np.asarray(header.volume, np.float32), **checked)
        for c in header.containers:
            g = h.create_group(f"containers/{c.name}")
            g.create_dataset("vertices", data=np.asarray(c.vertices, np.float32), **checked)
            g.create_dataset("faces", data=np.asarray(c.faces, np.int32), **checked)
            g.create_dataset("poses", data=np.asarray(c.poses, np.float64), **checked)
            g.attrs["role"] = c.role
            g.attrs["material"] = c.material
        h.attrs["fps"] = float(header.fps)
        h.attrs["particle_radius"] = float(header.particle_radius)
        h.attrs["table_height"] = float(header.table_height)
        h.attrs["scenario"] = json.dumps(header.scenario, sort_keys=True)
        h.attrs["sim_stats"] = json.dumps(header.sim_stats, sort_keys=True)
        h.attrs["pourbench_version"] = __version__
        h.attrs["track_version"] = TRACK_VERSION
        h.attrs["complete"] = True  # last
        self._finished = True

    def __exit__(self, exc_type, exc, tb) -> bool:
        # atomic_h5 closes and renames on success, removes the file on any failure
        if exc_type is None and not self._finished:
            exc = RuntimeError("TrackWriter closed without finish(header)")
            self._ctx.__exit__(RuntimeError, exc, None)
            raise exc
        self._ctx.__exit__(exc_type, exc, tb)
        return False


def write_track(path: str | Path, header: TrackHeader, positions: np.ndarray) -> Path:
    """Write whole positions (F, N, 3) and their header as one track (tests, small tools)."""
    with TrackWriter(path, header.num_frames, header.num_particles) as w:
        for f in range(header.num_frames):
            w.write_positions(f, positions[f])
        w.finish(header)
    return Path(path)


class TrackReader:
    """Lazy reader of a track file: header in memory, particle positions one frame at a time."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self._h5 = h5py.File(self.path, "r")
        except (OSError, FileNotFoundError) as e:
            raise PourbenchError(f"{self.path}: cannot open particle track ({e})") from e
        h = self._h5
        try:
            problem = layout_problem(h)
            if problem is None:
                self.header = _read_header(h)
        except (OSError, KeyError, ValueError, TypeError) as e:  # damaged metadata
            problem = f"unreadable ({type(e).__name__}: {e})"
        if problem is not None:
            h.close()
            raise PourbenchError(f"{self.path}: {problem}")

    def __len__(self) -> int:
        return self.header.num_frames

    def positions(self, frame: int) -> np.ndarray:
        """(N, 3) float32 particle positions in metres at video frame ``frame``.

        Raises:
            PourbenchError: the frame is unreadable (corrupt, truncated) or not finite.
        """
        try:
            pos = self._h5["positions"][frame].astype(np.float32)
        except (OSError, ValueError) as e:
            raise PourbenchError(
                f"{self.path}: positions of frame {frame} unreadable (corrupt or truncated file)"
            ) from e
        if not np.isfinite(pos).all():
            raise PourbenchError(f"{self.path}: positions of frame {frame} hold NaN or Inf")
        return pos

    def close(self) -> None:
        self._h5.close()

    def __enter__(self) -> TrackReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _read_header(h: h5py.File) -> TrackHeader:
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
    return TrackHeader(
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


def layout_problem(h: h5py.File) -> str | None:
    """What is wrong with the layout of an open track file (names, dtypes, shapes, version,
    ``complete``), as a short phrase; None when it is a complete track of this version."""
    keys = set(h.keys())
    if "rgb" in keys or "mask" in keys:
        return "is a sequence file, not a particle track (the output of pourbench simulate)"
    missing = sorted({"positions", "containers"} - keys)
    if missing:
        return f"not a particle track (no {', '.join(missing)})"
    if not h.attrs.get("complete", False):
        return "particle track is incomplete (no 'complete' attr: the writer never finished)"
    version = h.attrs.get("track_version", 1)
    if not isinstance(version, int | np.integer):
        return f"track_version {version!r} is not a number"
    if version > TRACK_VERSION:
        return (f"track_version {int(version)} is newer than this pourbench reads "
                f"({TRACK_VERSION}); upgrade pourbench")
    if "volume" not in keys:
        return "not a particle track (no volume)"
    pos = h["positions"]
    if not isinstance(pos, h5py.Dataset) or pos.ndim != 3 or pos.shape[2] != 3:
        return f"positions: shape {getattr(pos, 'shape', None)}, expected (frames, particles, 3)"
    if pos.dtype.kind != "f":
        return f"positions: dtype {pos.dtype}, expected float16 or float32"
    F, N, _ = pos.shape
    if F < 1 or N < 1:
        return f"positions: shape {pos.shape}: no frames or no particles"
    if not isinstance(h["volume"], h5py.Dataset) or h["volume"].shape != (F, 3):
        return f"volume: shape {getattr(h['volume'], 'shape', None)}, expected ({F}, 3)"
    containers = h["containers"]
    if not isinstance(containers, h5py.Group) or not len(containers):
        return "containers: no container meshes"
    for name, g in containers.items():
        for ds, shape in (("vertices", (None, 3)), ("faces", (None, 3)), ("poses", (F, 4, 4))):
            d = g.get(ds) if isinstance(g, h5py.Group) else None
            if not isinstance(d, h5py.Dataset) or d.ndim != len(shape) or any(
                want is not None and got != want for got, want in zip(d.shape, shape, strict=True)
            ):
                return f"containers/{name}/{ds}: missing or not of shape {shape}"
    for key in ("fps", "particle_radius", "scenario", "sim_stats"):
        if key not in h.attrs:
            return f"missing attribute '{key}'"
    return None


def track_problem(path: str | Path) -> str | None:
    """What makes ``path`` unusable as a particle track, as a short phrase; None when it is a
    complete, sound track. Reads it whole (every frame, checksums included): a truncated or
    corrupt file, NaN positions or a damaged header are all found here."""
    try:
        with h5py.File(path, "r") as h:
            problem = layout_problem(h)
            if problem is not None:
                return problem
            _read_header(h)
            pos = h["positions"]
            for f in range(pos.shape[0]):
                if not np.isfinite(pos[f]).all():
                    return f"positions of frame {f} hold NaN or Inf"
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return f"unreadable: corrupt or truncated ({first})"
    return None


def is_complete_track(path: str | Path) -> bool:
    """True when ``path`` is a complete, sound track file (read whole: see track_problem)."""
    return Path(path).is_file() and track_problem(path) is None
