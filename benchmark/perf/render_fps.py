"""Rendering speed: frames per second with all passes and the surface extraction.

Run: ``python -m pourbench.benchmark.perf.render_fps [--width 320 --height 240
--particles 30000 --frames 30]``. Renders a synthetic pour (a stream falling from a tilting
cup into a pool in a bowl, ``pourbench.render.synthetic``) and prints frames per second (wall
clock), CPU seconds per frame (this process, all threads: llvmpipe renders on CPU threads)
and the time per stage.
"""

from __future__ import annotations

import argparse
import json
import time


def measure(
    width: int, height: int, particles: int, frames: int, seed: int, antialias: str = "edges",
    cell_scale: float = 1.0,
) -> dict:
    """Render ``frames`` frames (after one warm-up frame) and return the figures."""
    from pourbench.render import RenderSettings, TrackRenderer, sample_variant
    from pourbench.render.synthetic import synthetic_pour

    header, positions = synthetic_pour(num_frames=frames + 1, num_particles=particles, seed=seed)
    settings = RenderSettings(width=width, height=height, surface={"cell_scale": cell_scale})
    variant = sample_variant(settings, seed)
    with TrackRenderer(width, height, antialias=antialias) as renderer:
        next(renderer.render_track(header, positions, variant, frames=[0]))  # warm-up
        renderer.timings.clear()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in renderer.render_track(header, positions, variant, frames=range(1, frames + 1)):
            pass
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        stages = {k: round(1000 * v / frames, 1) for k, v in renderer.timings.items()}
    return {
        "width": width, "height": height, "particles": particles, "frames": frames,
        "antialias": antialias, "cell_scale": cell_scale,
        "fps": round(frames / wall, 2), "cpu_s_per_frame": round(cpu / frames, 4),
        "ms_per_frame_by_stage": stages, "liquid_look": variant.liquid.look,
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--particles", type=int, default=30_000)
    p.add_argument("--frames", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--antialias", choices=["msaa", "edges", "none"], default="edges",
                   help="colour pass anti-aliasing (see TrackRenderer)")
    p.add_argument("--cell-scale", type=float, default=1.0, help="surface grid cell / diameter")
    a = p.parse_args(argv)
    figures = measure(a.width, a.height, a.particles, a.frames, a.seed,
                      antialias=a.antialias, cell_scale=a.cell_scale)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
