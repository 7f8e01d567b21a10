"""Check sequence files and dataset folders against every invariant of schema v1.

Each problem is one line ``file: dataset: problem``. A file is checked frame by frame, so
memory does not grow with its length.

Where the particle tracks are at hand (``DIR/sims/``), the labels are checked against the
simulation (``pourbench.core.coverage``): the share of in-view particle centres that lie in
``mask/full`` (+-1 px) must reach ``MIN_COVERAGE``, no frame with water in view may have an
empty ``mask/full``, and the figures recorded by the generator (``label_coverage`` attribute,
manifest entry) must equal the recomputed ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from pourbench.core.atomic import is_temporary
from pourbench.core.coverage import MIN_COVERAGE, SequenceCoverage, frame_coverage
from pourbench.core.errors import PourbenchError
from pourbench.core.hashing import file_sha256
from pourbench.core.schema import (
    FRAME_FIELDS,
    JSON_ATTRS,
    PER_FRAME_ARRAYS,
    REQUIRED_ATTRS,
    SCHEMA_VERSION,
    VOLUME_REL_TOL,
)
from pourbench.core.splits import SPLITS
from pourbench.core.track import TrackReader
from pourbench.datasets.manifest import MANIFEST_NAME, Manifest

SIMS = "sims"
COVERAGE_ATTR = "label_coverage"
_COUNTS = ("in_view", "covered", "frames", "empty_frames")


@dataclass
class Validation:
    """What a validation found: the problem lines, and the label coverage summed over the
    sequences whose particle track was at hand (None when no track was)."""

    problems: list[str]
    coverage: SequenceCoverage | None = None
    sequences_checked: int = 0  # sequences whose labels were checked against their track
    files: int = 0  # sequence files checked

    def merge(self, other: Validation) -> None:
        """Add ``other``'s problems, coverage and counts to this one."""
        self.problems.extend(other.problems)
        if other.coverage is not None:
            if self.coverage is None:
                self.coverage = SequenceCoverage()
            merge_coverage(self.coverage, other.coverage)
        self.sequences_checked += other.sequences_checked
        self.files += other.files


def validate_path(path: str | Path, checksums: bool = True) -> list[str]:
    """Problems of a sequence file or of a whole dataset folder (empty list: valid)."""
    return validate_report(path, checksums=checksums).problems


def validate_report(path: str | Path, checksums: bool = True) -> Validation:
    """Problems and label coverage of a sequence file or of a folder: a dataset folder
    (with ``manifest.json``) is checked as a whole, a folder of sequence files without one
    (e.g. from ``pourbench render``) file by file."""
    path = Path(path)
    if path.is_dir():
        if (path / MANIFEST_NAME).exists():
            return _check_folder(path, checksums=checksums)
        return _check_loose_folder(path)
    if path.is_file():
        problems, coverage = _check_file(path, _sims_beside(path))
        return Validation(problems, coverage, int(coverage is not None), files=1)
    raise PourbenchError(f"{path}: no such file or folder")


def validate_many(paths: list[str | Path], checksums: bool = True) -> Validation:
    """:func:`validate_report` of several files and folders, merged (e.g. ``DIR/*.h5``).

    Raises PourbenchError naming the first path that does not exist, before checking any."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise PourbenchError("no file or folder given to validate")
    for p in paths:
        if not p.exists():
            raise PourbenchError(f"{p}: no such file or folder")
    total = Validation([])
    for p in paths:
        total.merge(validate_report(p, checksums=checksums))
    return total


def _check_loose_folder(folder: Path) -> Validation:
    """A folder of sequence files without a manifest: every ``*.h5`` in it (and in its split
    folders) checked on its own; labels against ``sims/`` where the folder has one."""
    files = sorted({*folder.glob("*.h5*"),
                    *(p for split in SPLITS for p in (folder / split).glob("*.h5*"))})
    if not files:
        return Validation([f"{folder}: no {MANIFEST_NAME} and no sequence files (*.h5): "
                           "is this a pourbench dataset?"])
    own_sims = folder / SIMS if (folder / SIMS).is_dir() else None
    total = Validation([])
    for p in files:
        if is_temporary(p):
            total.problems.append(f"{p}: (file): temporary file left by an interrupted writer")
            continue
        sims = own_sims if p.parent == folder else _sims_beside(p)
        problems, coverage = _check_file(p, sims)
        total.merge(Validation(problems, coverage, int(coverage is not None), files=1))
    return total


def validate_file(path: str | Path, sims: str | Path | None = None) -> list[str]:
    """Problems of one sequence file, each as ``file: dataset: problem``.

    With ``sims`` (a folder of particle tracks) its labels are checked against its track.
    """
    return _check_file(Path(path), None if sims is None else Path(sims))[0]


def _check_file(path: Path, sims: Path | None) -> tuple[list[str], SequenceCoverage | None]:
    try:
        h5 = h5py.File(path, "r")
    except OSError as e:
        return [f"{path}: (file): not a readable HDF5 file ({e})"], None
    with h5:
        if "rgb" not in h5 and {"positions", "containers"} <= set(h5.keys()):
            return [f"{path}: (file): is a particle track, not a sequence file (seq_*.h5)"], None
        lines = [f"{path}: {where}: {problem}" for where, problem in _file_problems(h5)]
        coverage = None
        if sims is not None:
            found: list[SequenceCoverage] = []
            lines += [f"{path}: {where}: {problem}"
                      for where, problem in _label_problems(h5, sims, found)]
            coverage = found[0] if found else None
    return lines, coverage


def _sims_beside(path: Path) -> Path | None:
    """``DIR/sims`` for a sequence file ``DIR/<split>/seq_XXXXXX.h5``, if there is one."""
    folder = path.resolve().parent
    sims = folder.parent / SIMS
    return sims if folder.name in SPLITS and sims.is_dir() else None


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


def percent(covered: int, in_view: int, digits: int = 1) -> str:
    """``covered / in_view`` in per cent, rounded down (so a share below the minimum never
    prints as the minimum), e.g. ``"93.1 %"``; ``"100.0 %"`` when nothing is in view."""
    if in_view <= 0:
        return f"{100:.{digits}f} %"
    scaled = covered * 100 * 10**digits // in_view
    return f"{scaled / 10**digits:.{digits}f} %"


def coverage_problems(coverage: SequenceCoverage) -> list[tuple[str, str]]:
    """(dataset, problem) pairs of a sequence's label coverage: below ``MIN_COVERAGE``,
    frames with water in view and an empty mask. Shared by the validator and the generator."""
    problems = []
    if coverage.fraction < MIN_COVERAGE:
        problems.append(("mask/full", (
            f"covers {percent(coverage.covered, coverage.in_view)} of in-view particle "
            f"centres (< {MIN_COVERAGE * 100:g} %): {coverage.covered} of {coverage.in_view} "
            f"in {coverage.frames} frames"
        )))
    if coverage.empty_frames:
        problems.append(("mask/full", (
            f"{coverage.empty_frames} frames with water in view have an empty mask"
        )))
    return problems


def merge_coverage(total: SequenceCoverage, part: SequenceCoverage | Mapping) -> None:
    """Add a sequence's coverage (or its ``as_dict`` form) to ``total``."""
    values = part if isinstance(part, Mapping) else part.as_dict()
    for key in _COUNTS:
        setattr(total, key, getattr(total, key) + int(values.get(key, 0)))


def recompute_coverage(h5: h5py.File, track: TrackReader) -> SequenceCoverage:
    """Label coverage of an open sequence file against its track, frame by frame.

    Raises ValueError when the file and the track do not fit together (frame counts)."""
    full = h5["mask/full"]
    K = h5["camera/K"][()]
    poses = h5["camera/pose"][()]
    if len(track) != full.shape[0]:
        raise ValueError(f"{full.shape[0]} frames, its particle track {len(track)}")
    coverage = SequenceCoverage()
    for t in range(full.shape[0]):
        coverage.add(frame_coverage(full[t], track.positions(t), K, poses[t]))
    return coverage


def sequence_coverage(seq_path: str | Path, sims: str | Path) -> SequenceCoverage:
    """Label coverage of a sequence file against its track ``sims/<sim_id>.h5``."""
    with h5py.File(seq_path, "r") as h5, TrackReader(_track_of(h5, Path(sims))) as track:
        return recompute_coverage(h5, track)


def _track_of(h5: h5py.File, sims: Path) -> Path:
    sim_id = h5.attrs["sim_id"]
    return sims / f"{sim_id.decode() if isinstance(sim_id, bytes) else sim_id}.h5"


def _label_problems(h5: h5py.File, sims: Path,
                    found: list[SequenceCoverage]) -> Iterator[tuple[str, str]]:
    """Labels against the simulation; appends the recomputed coverage to ``found``."""
    if "sim_id" not in h5.attrs:
        return  # reported as a missing attribute
    full, K, poses = h5.get("mask/full"), h5.get("camera/K"), h5.get("camera/pose")
    if not (isinstance(full, h5py.Dataset) and full.ndim == 3 and full.dtype == np.bool_
            and isinstance(K, h5py.Dataset) and K.shape == (3, 3)
            and isinstance(poses, h5py.Dataset) and poses.shape == (full.shape[0], 4, 4)
            and np.isfinite(K[()]).all() and np.isfinite(poses[()]).all()):
        return  # the structural problem is reported already
    track_path = _track_of(h5, sims)
    if not track_path.is_file():
        yield "attrs", f"sim_id: particle track {track_path} is missing"
        return
    try:
        with TrackReader(track_path) as track:
            coverage = recompute_coverage(h5, track)
    except PourbenchError as e:
        yield "attrs", f"sim_id: {e}"
        return
    except ValueError as e:
        yield "mask/full", f"{e} ({track_path})"
        return
    found.append(coverage)
    yield from coverage_problems(coverage)
    recorded = _recorded_coverage(h5.attrs)
    if isinstance(recorded, str):
        yield "attrs", recorded
    elif recorded is not None and not _same_counts(recorded, coverage):
        yield "attrs", f"{COVERAGE_ATTR} {_counts_text(recorded)} differs from the " \
                       f"recomputed {_counts_text(coverage.as_dict())}"


def _recorded_coverage(attrs: Mapping) -> dict | str | None:
    """The ``label_coverage`` attribute as a dict, None when absent, a problem text when bad
    (invalid JSON is reported by the attribute checks, so it reads as absent here)."""
    if COVERAGE_ATTR not in attrs:
        return None
    try:
        value = json.loads(attrs[COVERAGE_ATTR])
    except (TypeError, ValueError):
        return None
    if not (isinstance(value, dict) and all(isinstance(value.get(k), int) for k in _COUNTS)):
        return f"attribute '{COVERAGE_ATTR}' lacks integer {', '.join(_COUNTS)}"
    return value


def _same_counts(a: Mapping, b: SequenceCoverage | Mapping) -> bool:
    b = b.as_dict() if isinstance(b, SequenceCoverage) else b
    return all(int(a.get(k, -1)) == int(b.get(k, -1)) for k in _COUNTS)


def _counts_text(c: Mapping) -> str:
    return (f"({c.get('covered')} of {c.get('in_view')} centres covered, "
            f"{c.get('empty_frames')} empty of {c.get('frames')} frames)")


def validate_folder(folder: str | Path, checksums: bool = True) -> list[str]:
    """Problems of a dataset folder: manifest against files, then every sequence file
    (and its labels against its particle track when ``sims/`` is present)."""
    return _check_folder(Path(folder), checksums).problems


def _check_folder(folder: Path, checksums: bool) -> Validation:
    problems: list[str] = []
    try:
        manifest = Manifest.load(folder)
    except PourbenchError as e:
        return Validation([str(e)])
    sims = folder / SIMS if (folder / SIMS).is_dir() else None
    total = SequenceCoverage() if sims is not None else None
    checked = files = 0
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
        if checksums and file_sha256(p) != entry.sha256:
            problems.append(f"{p}: (file): checksum differs from {MANIFEST_NAME}")
        lines, coverage = _check_file(p, sims)
        problems.extend(lines)
        files += 1
        if coverage is None or total is None:
            continue
        merge_coverage(total, coverage)
        checked += 1
        recorded = entry.label_coverage
        if recorded is not None and not _same_counts(recorded, coverage):
            problems.append(f"{mpath}: {entry.name}: label_coverage {_counts_text(recorded)} "
                            f"differs from the recomputed {_counts_text(coverage.as_dict())}")
    return Validation(problems, total, checked, files)
