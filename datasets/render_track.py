"""Render one particle track under one variant into one schema-v1 sequence file.

The single path from a simulated pour to a sequence file, used by ``pourbench render``
and by the dataset generator. Frames stream from the renderer into the writer, so memory
does not grow with the number of frames.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from pourbench.datasets.sequence import SequenceWriter
from pourbench.render import RenderVariant, TrackRenderer
from pourbench.render.variant import RenderSettings, sample_variant
from pourbench.track import TrackReader

log = logging.getLogger(__name__)


def render_sequence(
    track_path: str | Path,
    variant: RenderVariant,
    out_path: str | Path,
    attrs: dict[str, Any],
    renderer: TrackRenderer | None = None,
) -> float:
    """Render ``track_path`` under ``variant`` into ``out_path``; return seconds spent.

    Args:
        attrs: root attributes of the sequence: ``seed``, ``recipe``, ``scenario``,
            ``sim_id`` (``fps`` and ``render_variant`` are filled in here).
        renderer: a renderer of the variant's size to reuse across calls; one is made
            (and closed) when omitted.
    """
    start = time.perf_counter()
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
                        rgb=frame.rgb,
                        thermal=frame.thermal,
                        mask_visible=frame.mask_visible,
                        mask_full=frame.mask_full,
                        depth=frame.depth,
                        volume=frame.volume,
                        camera_pose=frame.camera_pose,
                        poses=frame.container_poses,
                    )
                writer.write_camera_K(renderer.K)  # known once rendering started
    finally:
        if own:
            renderer.close()
    return time.perf_counter() - start


def render_command(
    sim: Path, out: Path, variants: int, seed: int, width: int, height: int
) -> list[Path]:
    """``pourbench render``: K variants of one track, seeds ``seed .. seed + K - 1``."""
    with TrackReader(sim) as track:  # fails early, one line, on a bad track
        scenario, num_frames = track.header.scenario, track.header.num_frames
    settings = RenderSettings(width=width, height=height)
    renderer = TrackRenderer(width, height)
    written = []
    try:
        for k in range(variants):
            variant = sample_variant(settings, seed + k)
            path = Path(out) / f"seq_{seed + k:06d}.h5"
            attrs = {"seed": seed + k, "recipe": {}, "scenario": scenario, "sim_id": sim.stem}
            seconds = render_sequence(sim, variant, path, attrs, renderer)
            log.info("%s: %d frames in %.1f s", path, num_frames, seconds)
            written.append(path)
    finally:
        renderer.close()
    return written
