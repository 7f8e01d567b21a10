"""Render one particle track under one variant into one schema-v1 sequence file.

The single path from a simulated pour to a sequence file, used by ``pourbench render``
(:func:`render_variants`) and by the dataset generator. Frames stream from the renderer into
the writer, so memory does not grow with the number of frames. The labels are measured
against the simulation as they stream (``pourbench.core.coverage``) and the sum is stored in
the file (``label_coverage``). :func:`check_track_file` refuses the wrong kind of file (a
sequence file, say) with one line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from pourbench.core.coverage import FrameCoverage, SequenceCoverage, frame_coverage
from pourbench.core.errors import PourbenchError
from pourbench.core.track import TrackReader, track_problem
from pourbench.datasets.sequence import SequenceWriter
from pourbench.datasets.validate import COVERAGE_ATTR, coverage_problems
from pourbench.render import RenderVariant, TrackRenderer
from pourbench.render.variant import RenderSettings, sample_variant

log = logging.getLogger(__name__)


@dataclass
class RenderedSequence:
    """What rendering one sequence took and how well its labels cover the simulation."""

    seconds: float
    coverage: SequenceCoverage


def _coverage_of(frame: Any, positions: Callable[[], np.ndarray], K: np.ndarray) -> FrameCoverage:
    """The renderer's own measure of the frame's labels, or the same measure made here from
    the frame's ``mask_full`` and pose (renderers that do not report one)."""
    coverage = getattr(frame, "coverage", None)
    if isinstance(coverage, FrameCoverage):
        return coverage
    return frame_coverage(np.asarray(frame.mask_full, bool), positions(), K, frame.camera_pose)


def coverage_warning(name: str, coverage: SequenceCoverage) -> str | None:
    """The one warning line of a sequence whose labels break the invariant, else None."""
    problems = coverage_problems(coverage)
    if not problems:
        return None
    return f"{name}: labels break the invariant: " + "; ".join(
        f"{where}: {problem}" for where, problem in problems
    )


def render_sequence(
    track_path: str | Path,
    variant: RenderVariant,
    out_path: str | Path,
    attrs: dict[str, Any],
    renderer: TrackRenderer | None = None,
) -> RenderedSequence:
    """Render ``track_path`` under ``variant`` into ``out_path``; return time and coverage.

    The label coverage summed over the frames is stored as the ``label_coverage`` root
    attribute; a sequence below ``MIN_COVERAGE`` or with an empty mask while water is in view
    is logged as a warning here (what to do about it is the caller's decision).

    Args:
        attrs: root attributes of the sequence: ``seed``, ``recipe``, ``scenario``,
            ``sim_id`` (``fps`` and ``render_variant`` are filled in here).
        renderer: a renderer of the variant's size to reuse across calls; one is made
            (and closed) when omitted.
    """
    start = time.perf_counter()
    coverage = SequenceCoverage()
    own = renderer is None
    if own:
        renderer = TrackRenderer(variant.width, variant.height)
    try:
        with TrackReader(track_path) as track:
            header = track.header
            names = [c.name for c in header.containers]
            seq_attrs = {
                **attrs,
                "fps": header.fps,
                "render_variant": variant.model_dump(mode="json"),
            }
            with SequenceWriter(
                out_path, header.num_frames, variant.height, variant.width, names, seq_attrs
            ) as writer:
                frames = renderer.render_track(header, track.positions, variant)
                for t, frame in enumerate(frames):
                    writer.write_frame(
                        t,
                        images=frame.images(),
                        volume=frame.volume,
                        camera_pose=frame.camera_pose,
                        poses=frame.container_poses,
                    )
                    coverage.add(_coverage_of(frame, lambda t=t: track.positions(t), renderer.K))
                writer.write_camera_K(renderer.K)  # known once rendering started
                writer.set_attr(COVERAGE_ATTR, coverage.as_dict())
    finally:
        if own:
            renderer.close()
    warning = coverage_warning(Path(out_path).stem, coverage)
    if warning:
        log.warning("%s", warning)
    return RenderedSequence(time.perf_counter() - start, coverage)


def check_track_file(path: str | Path) -> None:
    """Raise a one-line PourbenchError unless ``path`` is a sound particle track
    (``pourbench simulate``'s output): not a file, not HDF5, a sequence file, another file,
    incomplete, of a newer version, truncated, corrupt or holding NaN."""
    path = Path(path)
    if path.is_dir():
        raise PourbenchError(f"{path}: is a folder; expected a particle track file (.h5)")
    if not path.is_file():
        raise PourbenchError(f"{path}: no such particle track file")
    if path.stat().st_size == 0:
        raise PourbenchError(f"{path}: empty file, not a particle track")
    try:
        with h5py.File(path, "r"):
            pass
    except OSError as e:
        what = "truncated HDF5 file" if "truncated file" in str(e) else "not a readable HDF5 file"
        raise PourbenchError(f"{path}: {what} ({e})") from e
    problem = track_problem(path)
    if problem is None:
        return
    if problem.startswith("is a sequence file"):
        raise PourbenchError(
            f"{path}: is a sequence file, not a particle track; pourbench render takes the "
            "output of pourbench simulate (or DIR/sims/sim_*.h5)"
        )
    raise PourbenchError(f"{path}: {problem}")


def render_variants(
    track_path: str | Path,
    out: str | Path,
    variants: int = 1,
    seed: int = 0,
    width: int = 320,
    height: int = 240,
) -> list[Path]:
    """K variants of one track into ``out/seq_XXXXXX.h5``, seeds ``seed .. seed + K - 1``;
    return the files written."""
    track_path, out = Path(track_path), Path(out)
    check_track_file(track_path)  # fails early, one line, on the wrong kind of file
    if out.exists() and not out.is_dir():
        raise PourbenchError(f"{out}: exists and is not a folder; --out must be a folder")
    with TrackReader(track_path) as track:
        scenario, num_frames = track.header.scenario, track.header.num_frames
    settings = RenderSettings(width=width, height=height)
    renderer = TrackRenderer(width, height)
    written = []
    try:
        for k in range(variants):
            variant = sample_variant(settings, seed + k)
            path = out / f"seq_{seed + k:06d}.h5"
            attrs = {"seed": seed + k, "recipe": {}, "scenario": scenario,
                     "sim_id": track_path.stem}
            done = render_sequence(track_path, variant, path, attrs, renderer)
            log.info("%s: %d frames in %.1f s, labels cover %.2f %% of in-view particles",
                     path, num_frames, done.seconds, 100 * done.coverage.fraction)
            written.append(path)
    finally:
        renderer.close()
    return written
