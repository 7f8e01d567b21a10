"""Check sequence files and dataset folders against every invariant of schema v1.

Each problem is one line ``file: dataset: problem``. A file is checked frame by frame, so
memory does not grow with its length.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np

from pourbench.atomic import is_temporary
from pourbench.datasets.manifest import MANIFEST_NAME, SPLITS, Manifest, sha256_of
from pourbench.datasets.schema import (
    FRAME_FIELDS,
    JSON_ATTRS,
    PER_FRAME_ARRAYS,
    REQUIRED_ATTRS,
    SCHEMA_VERSION,
    VOLUME_REL_TOL,
)
from pourbench.errors import PourbenchError


def validate_path(path: str | Path, checksums: bool = True) -> list[str]:
    """Problems of a sequence file or of a whole dataset folder (empty list: valid)."""
    path = Path(path)
    if path.is_dir():
        return validate_folder(path, checksums=checksums)
    if path.is_file():
        return validate_file(path)
    raise PourbenchError(f"{path}: no such file or folder")


def validate_file(path: str | Path) -> list[str]:
    """Problems of one sequence file, each as ``file: dataset: problem``."""
    path = Path(path)
    try:
        h5 = h5py.File(path, "r")
    except OSError as e:
        return [f"{path}: (file): not a readable HDF5 file ({e})"]
    with h5:
        return [f"{path}: {where}: {problem}" for where, problem in _file_problems(h5)]


def _file_problems(h5: h5py.File) -> Iterator[tuple[str, str]]:
    attrs = h5.attrs
    if not attrs.get("complete", False):
        yield "attrs", "'complete' is not set (the file was never finished)"
    for key in REQUIRED_ATTRS:
        if key not in attrs:
            yield "attrs", f"missing attribute '{key}'"
    if "schema_version" in attrs and attrs["schema_version"] != SCHEMA_VERSION:
        yield "attrs", f"schema_version {attrs['schema_version']}, expected {SCHEMA_VERSION}"
    for key in JSON_ATTRS:
        if key in attrs:
            try:
                json.loads(attrs[key])
            except (TypeError, ValueError):
                yield "attrs", f"attribute '{key}' is not valid JSON"
    if "fps" in attrs and not float(attrs["fps"]) > 0:
        yield "attrs", f"fps must be > 0 (got {attrs['fps']})"

    present = {}
    for name, field in FRAME_FIELDS.items():
        ds = h5.get(name)
        if not isinstance(ds, h5py.Dataset):
            yield name, "missing dataset"
            continue
        if ds.dtype != field.dtype:
            yield name, f"dtype {ds.dtype}, expected {field.dtype}"
        present[name] = ds
    if "rgb" not in present:
        return
    T, H, W = present["rgb"].shape[:3]
    for name, ds in present.items():
        expected = (T, *FRAME_FIELDS[name].frame_shape(H, W))
        if ds.shape != expected:
            yield name, f"shape {ds.shape}, expected {expected}"
        elif ds.chunks is None or ds.chunks[0] != 1:
            yield name, f"chunks {ds.chunks}: expected one frame per chunk"

    small = {path: (dt, (T, *shape)) for path, (dt, shape) in PER_FRAME_ARRAYS.items()}
    small["camera/K"] = (np.dtype(np.float64), (3, 3))
    poses = h5.get("poses")
    if isinstance(poses, h5py.Group) and len(poses):
        for name in poses:
            small[f"poses/{name}"] = (np.dtype(np.float64), (T, 4, 4))
    else:
        yield "poses", "missing container poses"
    for name, (_dtype, shape) in small.items():
        ds = h5.get(name)
        if not isinstance(ds, h5py.Dataset):
            yield name, "missing dataset"
            continue
        if ds.shape != shape:
            yield name, f"shape {ds.shape}, expected {shape}"
            continue
        values = ds[()]
        if not np.isfinite(values).all():
            yield name, "contains NaN or Inf"
    yield from _volume_problems(h5)
    yield from _frame_problems(present, T)


def _volume_problems(h5: h5py.File) -> Iterator[tuple[str, str]]:
    ds = h5.get("volume")
    if not isinstance(ds, h5py.Dataset) or ds.ndim != 2 or ds.shape[1] != 3:
        return
    volume = ds[()].astype(np.float64)
    if len(volume) == 0 or not np.isfinite(volume).all():
        return
    if (volume < 0).any():
        yield "volume", "negative volume"
    total = volume.sum(axis=1)
    initial = total[0]
    if initial <= 0:
        yield "volume", f"initial volume {initial:g} ml is not positive"
        return
    worst = int(np.argmax(np.abs(total - initial)))
    rel = abs(total[worst] - initial) / initial
    if rel > VOLUME_REL_TOL:
        yield "volume", (
            f"frame {worst}: source+target+spilled = {total[worst]:.1f} ml, initial "
            f"{initial:.1f} ml ({rel:.1%} off, tolerance {VOLUME_REL_TOL:.0%})"
        )


def _frame_problems(present: dict[str, h5py.Dataset], T: int) -> Iterator[tuple[str, str]]:
    visible, full, depth = (present.get(k) for k in ("mask/visible", "mask/full", "depth"))
    masks_ok = visible is not None and full is not None and visible.shape == full.shape
    depth_ok = depth is not None and depth.ndim == 3
    bad_subset, bad_depth = [], []
    for t in range(T):
        if masks_ok and (visible[t] & ~full[t]).any():
            bad_subset.append(t)
        if depth_ok and np.isnan(depth[t]).any():
            bad_depth.append(t)
    if bad_subset:
        yield "mask/visible", (
            f"not a subset of mask/full in {len(bad_subset)} frame(s), first {bad_subset[0]}"
        )
    if bad_depth:
        yield "depth", f"NaN in {len(bad_depth)} frame(s), first {bad_depth[0]}"


def validate_folder(folder: str | Path, checksums: bool = True) -> list[str]:
    """Problems of a dataset folder: manifest against files, then every sequence file."""
    folder = Path(folder)
    problems: list[str] = []
    try:
        manifest = Manifest.load(folder)
    except PourbenchError as e:
        return [str(e)]
    mpath = folder / MANIFEST_NAME
    listed = {}
    for entry in manifest.sequences:
        if entry.split not in SPLITS:
            problems.append(f"{mpath}: {entry.name}: unknown split {entry.split!r}")
        listed[(folder / entry.path).resolve()] = entry
    on_disk = sorted(p.resolve() for s in SPLITS for p in (folder / s).glob("*.h5*"))
    for p in on_disk:
        if is_temporary(p):
            problems.append(f"{p}: (file): temporary file left by an interrupted writer")
        elif p not in listed:
            problems.append(f"{p}: (file): not listed in {MANIFEST_NAME}")
    for p, entry in sorted(listed.items()):
        if not p.is_file():
            problems.append(f"{mpath}: {entry.name}: file {entry.path} is missing")
            continue
        if checksums and sha256_of(p) != entry.sha256:
            problems.append(f"{p}: (file): checksum differs from {MANIFEST_NAME}")
        problems.extend(validate_file(p))
    return problems
