"""Rendering speed: frames per second with all passes, the surface and the coverage check.

Run: ``python -m pourbench.benchmark.perf.render_fps [--width 320 --height 240
--particles 30000 --frames 30]`` renders a synthetic pour (a stream falling from a tilting cup
into a pool in a bowl, ``pourbench.render.synthetic``); ``--track sim.h5`` renders a real
particle track instead (``--frames`` evenly spaced frames of it, or all with ``--frames 0``).
Prints frames per second (wall clock), CPU seconds per frame (this process, all threads:
llvmpipe renders on CPU threads), the time per stage, the label coverage (share of in-view
particle centres in ``mask/full``, before and after the fallback spheres) and the share of
frames that needed the fallback re-render of the liquid pass.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def _frames(num_frames: int, wanted: int) -> list[int]:
    """``wanted`` evenly spaced frame indices of ``num_frames`` (all when 0 or more)."""
    if wanted <= 0 or wanted >= num_frames:
        return list(range(num_frames))
    return sorted({int(round(x)) for x in np.linspace(0, num_frames - 1, wanted)})


def measure(
    width: int, height: int, particles: int, frames: int, seed: int, antialias: str = "edges",
    cell_scale: float | None = None, track: Path | None = None,
) -> dict:
    """Render ``frames`` frames (after one warm-up frame) and return the figures."""
    from pourbench.core.coverage import SequenceCoverage
    from pourbench.render import RenderSettings, TrackRenderer, sample_variant

    reader = None
    if track is None:
        from pourbench.render.synthetic import synthetic_pour

        header, positions = synthetic_pour(num_frames=frames + 1, num_particles=particles,
                                           seed=seed)
        warm, todo = 0, list(range(1, frames + 1))
    else:
        from pourbench.core.track import TrackReader

        reader = TrackReader(track)
        header, positions = reader.header, reader.positions
        todo = _frames(header.num_frames, frames)
        warm = todo[len(todo) // 2]
    surface = {} if cell_scale is None else {"cell_scale": cell_scale}
    settings = RenderSettings(width=width, height=height, surface=surface)
    variant = sample_variant(settings, seed)
    cov = SequenceCoverage()
    fallback_particles = 0
    try:
        with TrackRenderer(width, height, antialias=antialias) as renderer:
            next(renderer.render_track(header, positions, variant, frames=[warm]))  # warm-up
            renderer.timings.clear()
            renderer.counts = dict.fromkeys(renderer.counts, 0)
            wall, cpu = time.perf_counter(), time.process_time()
            for p in renderer.render_track(header, positions, variant, frames=todo):
                cov.add(p.coverage)
                fallback_particles += p.fallback_particles
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            n = len(todo)
            stages = {k: round(1000 * v / n, 1) for k, v in renderer.timings.items()}
            counts = dict(renderer.counts)
    finally:
        if reader is not None:
            reader.close()
    before = (cov.covered - fallback_particles) / cov.in_view if cov.in_view else 1.0
    return {
        "source": str(track) if track else "synthetic", "width": width, "height": height,
        "particles": header.num_particles, "particle_radius_m": header.particle_radius,
        "frames": n, "antialias": antialias, "cell_scale": settings.surface.cell_scale,
        "fps": round(n / wall, 2), "cpu_s_per_frame": round(cpu / n, 4),
        "ms_per_frame_by_stage": stages, "liquid_look": variant.liquid.look,
        "coverage_before_fallback": round(before, 5), "coverage": round(cov.fraction, 5),
        "empty_frames_with_water": cov.empty_frames,
        "fallback_frame_share": round(counts["fallback_frames"] / n, 3),
        "fallback_particles_per_frame": round(fallback_particles / n, 2),
        "in_view_particles_per_frame": round(cov.in_view / n, 1),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--particles", type=int, default=30_000, help="synthetic pour only")
    p.add_argument("--frames", type=int, default=30, help="frames to time (0: all of a track)")
    p.add_argument("--seed", type=int, default=0, help="render variant seed")
    p.add_argument("--track", type=Path, default=None,
                   help="particle track (.h5, `pourbench simulate`) instead of a synthetic pour")
    p.add_argument("--antialias", choices=["msaa", "edges", "none"], default="edges",
                   help="colour pass anti-aliasing (see TrackRenderer)")
    p.add_argument("--cell-scale", type=float, default=None,
                   help="surface grid cell / diameter (default: the render settings' default)")
    a = p.parse_args(argv)
    figures = measure(a.width, a.height, a.particles, a.frames, a.seed,
                      antialias=a.antialias, cell_scale=a.cell_scale, track=a.track)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
