"""Write and read schema-v1 sequence files (one rendered pour per file).

The writer streams frame by frame (memory independent of the number of frames) into a
temporary file, sets ``complete`` last and renames atomically. The reader is lazy, opens
the file on first access in the process that uses it (safe in DataLoader workers), and
refuses files that are not complete.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from pourbench import __version__
from pourbench.core.atomic import atomic_h5
from pourbench.core.errors import PourbenchError
from pourbench.core.schema import (
    COMPRESSION,
    COMPRESSION_LEVEL,
    FRAME_FIELDS,
    JSON_ATTRS,
    PER_FRAME_ARRAYS,
    SCHEMA_VERSION,
)


class SequenceWriter:
    """Stream one sequence into ``path`` (schema v1), atomically.

    Usage::

        with SequenceWriter(path, num_frames=T, height=H, width=W,
                            containers=["source", "target"], attrs={...}) as w:
            w.write_camera_K(K)
            for t in range(T):
                w.write_frame(t, images={"rgb": ..., "thermal": ..., "mask/visible": ...,
                                         "mask/full": ..., "depth": ...},
                              volume=..., camera_pose=..., poses={...})

    Attributes required in ``attrs``: ``seed``, ``fps``, ``recipe``, ``scenario``,
    ``render_variant`` (dicts are stored as JSON) and ``sim_id``. If the block raises, or
    not every frame was written, nothing appears under ``path``.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        num_frames: int,
        height: int,
        width: int,
        containers: list[str],
        attrs: Mapping[str, Any],
    ):
        if num_frames < 1 or height < 1 or width < 1:
            raise ValueError(f"bad sequence size T={num_frames} H={height} W={width}")
        missing = {"seed", "fps", "recipe", "scenario", "render_variant", "sim_id"} - set(attrs)
        if missing:
            raise ValueError(f"SequenceWriter attrs missing {sorted(missing)}")
        self.path = Path(path)
        self.T, self.H, self.W = num_frames, height, width
        self.containers = list(containers)
        self.attrs = dict(attrs)
        self._written = np.zeros(num_frames, bool)
        self._has_K = False

    def __enter__(self) -> SequenceWriter:
        self._ctx = atomic_h5(self.path)
        self._h5 = self._ctx.__enter__()
        T, H, W = self.T, self.H, self.W
        # datasets kept open for the whole write: a temporary h5py object dropped while the
        # disk is full would try (and fail, noisily) to flush its chunks as it is freed
        self._ds: dict[str, h5py.Dataset] = {}
        for field in FRAME_FIELDS.values():
            shape = field.frame_shape(H, W)
            self._ds[field.path] = self._h5.create_dataset(
                field.path,
                shape=(T, *shape),
                dtype=field.dtype,
                chunks=(1, *shape),
                compression=COMPRESSION,
                compression_opts=COMPRESSION_LEVEL,
                shuffle=field.dtype.itemsize > 1,
            )
        for path, (dtype, shape) in PER_FRAME_ARRAYS.items():
            self._ds[path] = self._h5.create_dataset(path, shape=(T, *shape), dtype=dtype)
        for name in self.containers:
            self._ds[f"poses/{name}"] = self._h5.create_dataset(
                f"poses/{name}", shape=(T, 4, 4), dtype=np.float64)
        return self

    def write_camera_K(self, K: np.ndarray) -> None:
        """Camera intrinsics (3, 3) in pixels."""
        self._ds["camera/K"] = self._h5.create_dataset(
            "camera/K", data=np.asarray(K, np.float64).reshape(3, 3))
        self._has_K = True

    def set_attr(self, key: str, value: Any) -> None:
        """Set a root attribute known only once the frames are written (e.g. ``label_coverage``);
        it is stored when the file is finished, with the others (dicts of JSON_ATTRS as JSON)."""
        self.attrs[key] = value

    def write_frame(
        self,
        t: int,
        *,
        images: Mapping[str, np.ndarray],
        volume: np.ndarray,
        camera_pose: np.ndarray,
        poses: Mapping[str, np.ndarray],
    ) -> None:
        """Write frame ``t``: one image per schema frame field (``FRAME_FIELDS``, keyed by
        path: ``rgb``, ``thermal``, ``mask/visible``, ...), checked against its shape."""
        if set(images) != set(FRAME_FIELDS):
            raise ValueError(
                f"images for {sorted(images)}, expected the frame fields {sorted(FRAME_FIELDS)}"
            )
        for path, field in FRAME_FIELDS.items():
            arr = np.asarray(images[path])
            expected = field.frame_shape(self.H, self.W)
            if arr.shape != expected:
                raise ValueError(f"{path}: frame shape {arr.shape}, expected {expected}")
            self._ds[path][t] = arr.astype(field.dtype, copy=False)
        self._ds["volume"][t] = np.asarray(volume, np.float32).reshape(3)
        self._ds["camera/pose"][t] = np.asarray(camera_pose, np.float64).reshape(4, 4)
        if set(poses) != set(self.containers):
            raise ValueError(f"poses for {sorted(poses)}, expected {sorted(self.containers)}")
        for name, pose in poses.items():
            self._ds[f"poses/{name}"][t] = np.asarray(pose, np.float64).reshape(4, 4)
        self._written[t] = True

    def _finish(self) -> None:
        if not self._written.all():
            missing = np.flatnonzero(~self._written)
            raise RuntimeError(f"{self.path}: frames never written: {missing[:5].tolist()}")
        if not self._has_K:
            raise RuntimeError(f"{self.path}: camera intrinsics never written")
        a = self._h5.attrs
        a["schema_version"] = SCHEMA_VERSION
        a["pourbench_version"] = __version__
        for key, value in self.attrs.items():
            a[key] = json.dumps(value, sort_keys=True) if key in JSON_ATTRS else value
        a["complete"] = True  # set last: a reader trusts nothing without it

    def __exit__(self, exc_type, exc, tb) -> bool:
        # atomic_h5 flushes, closes and renames on success; removes the file on any failure
        if exc_type is None:
            try:
                self._finish()
            except BaseException as e:
                self._ctx.__exit__(type(e), e, e.__traceback__)
                raise
        try:
            self._ctx.__exit__(exc_type, exc, tb)
        finally:
            self._ds.clear()  # closed with the file; nothing left to flush
        return False


def write_sequence(
    path: str | os.PathLike,
    frames: Mapping[str, np.ndarray],
    K: np.ndarray,
    attrs: Mapping[str, Any],
) -> None:
    """Write whole arrays as one sequence (tests, small tools).

    Args:
        frames: every frame field of the schema by path (``rgb`` (T,H,W,3), ``thermal``,
            ``mask/visible``, ``mask/full``, ``depth`` (T,H,W)), ``volume`` (T,3),
            ``camera/pose`` (T,4,4) and ``poses/<name>`` (T,4,4) for each container.
    """
    T, H, W = np.asarray(frames["rgb"]).shape[:3]
    containers = [k.split("/", 1)[1] for k in frames if k.startswith("poses/")]
    with SequenceWriter(path, T, H, W, containers, attrs) as w:
        w.write_camera_K(K)
        for t in range(T):
            w.write_frame(
                t,
                images={path: frames[path][t] for path in FRAME_FIELDS},
                volume=frames["volume"][t],
                camera_pose=frames["camera/pose"][t],
                poses={c: frames[f"poses/{c}"][t] for c in containers},
            )


class SequenceReader:
    """Lazy, process-safe reader of one complete sequence file.

    The HDF5 handle is opened on first use in the current process and reopened after a
    fork, so a reader created before a DataLoader starts its workers is safe to use in them.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._h5: h5py.File | None = None
        self._pid: int | None = None
        h = self._file()  # fail early on a missing, corrupt or incomplete file
        try:
            self.num_frames, self.height, self.width = _check_layout(self.path, h)
        except PourbenchError:
            self.close()
            raise
        self.attrs = decode_attrs(h.attrs)
        self.containers = sorted(h["poses"].keys()) if "poses" in h else []

    def _file(self) -> h5py.File:
        if self._h5 is None or self._pid != os.getpid():
            try:
                h = h5py.File(self.path, "r")
            except (OSError, FileNotFoundError) as e:
                raise PourbenchError(f"{self.path}: cannot open as HDF5 ({e})") from e
            if "rgb" not in h and {"positions", "containers"} <= set(h):
                h.close()
                raise PourbenchError(
                    f"{self.path}: is a particle track, not a sequence file (seq_*.h5)")
            if not h.attrs.get("complete", False):
                h.close()
                raise PourbenchError(f"{self.path}: sequence is incomplete (no 'complete' attr)")
            version = h.attrs.get("schema_version")
            if not isinstance(version, int | np.integer) or version != SCHEMA_VERSION:
                h.close()
                if isinstance(version, int | np.integer) and version > SCHEMA_VERSION:
                    raise PourbenchError(
                        f"{self.path}: schema_version {version} is newer than this pourbench "
                        f"reads ({SCHEMA_VERSION}); upgrade pourbench")
                raise PourbenchError(
                    f"{self.path}: schema_version {version!r}, expected {SCHEMA_VERSION}")
            self._h5, self._pid = h, os.getpid()
        return self._h5

    def __len__(self) -> int:
        return self.num_frames

    def read(self, key: str, frames: int | slice | np.ndarray = slice(None)) -> np.ndarray:
        """Read dataset ``key`` (e.g. ``"rgb"``, ``"mask/full"``) at the given frames."""
        return self._file()[key][frames]

    def camera_K(self) -> np.ndarray:
        return self._file()["camera/K"][()]

    def close(self) -> None:
        if self._h5 is not None and self._pid == os.getpid():
            self._h5.close()
        self._h5 = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_h5"], state["_pid"] = None, None
        return state

    def __enter__(self) -> SequenceReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _check_layout(path: Path, h: h5py.File) -> tuple[int, int, int]:
    """(T, H, W) of a sequence file whose frame datasets have the schema's dtypes and shapes;
    a one-line PourbenchError naming the first one that does not."""
    rgb = h.get("rgb")
    if not isinstance(rgb, h5py.Dataset) or rgb.ndim != 4:
        raise PourbenchError(f"{path}: not a sequence file (no rgb frames (T, H, W, 3))")
    T, H, W = rgb.shape[:3]
    for name, field in FRAME_FIELDS.items():
        ds = h.get(name)
        if not isinstance(ds, h5py.Dataset):
            raise PourbenchError(f"{path}: {name}: missing dataset")
        if ds.dtype != field.dtype:
            raise PourbenchError(f"{path}: {name}: dtype {ds.dtype}, expected {field.dtype}")
        if ds.shape != (T, *field.frame_shape(H, W)):
            raise PourbenchError(
                f"{path}: {name}: shape {ds.shape}, expected {(T, *field.frame_shape(H, W))}")
    for name, (_dtype, shape) in PER_FRAME_ARRAYS.items():
        ds = h.get(name)
        if not isinstance(ds, h5py.Dataset) or ds.shape != (T, *shape):
            raise PourbenchError(f"{path}: {name}: missing or not of shape {(T, *shape)}")
    if T < 1:
        raise PourbenchError(f"{path}: holds no frames")
    return T, H, W


def decode_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Root attributes as Python values, JSON ones decoded."""
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if isinstance(value, bytes):
            value = value.decode()
        if key in JSON_ATTRS and isinstance(value, str):
            value = json.loads(value)
        elif isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    return out
