"""Memory of a long render: resident memory while rendering and writing one long sequence.

Run: ``python -m pourbench.benchmark.perf.render_memory [--frames 450 --width 320
--height 240 --particles 20000 --checkpoints 50,150,450]`` (or ``pourbench bench memory``).

A synthetic particle track of ``--frames`` frames (``pourbench.render.synthetic``: a stream
falling from a tilting cup into a pool) is first written to disk by a separate process, so
that building it does not count here. This process then renders it into one schema-v1
sequence file exactly as the generator does (``TrackReader`` -> ``TrackRenderer`` ->
``SequenceWriter``, frame by frame) and reports its peak resident memory (``ru_maxrss``,
plus a sampling thread reading the current RSS every 20 ms) after each checkpoint frame
count. Frames stream from the track to the file: the peak after 450 frames should equal the
peak after 50 within noise (the per-frame buffers are reused; nothing is kept per frame).
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import tempfile
import threading
import time
from pathlib import Path


def _rss_mb() -> float:
    """Current resident memory of this process, MB (from /proc: no extra package)."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # KiB on Linux


class Sampler(threading.Thread):
    """Current RSS every ``interval`` s; ``peak`` is the highest seen so far."""

    def __init__(self, interval: float = 0.02):
        super().__init__(daemon=True)
        self.interval, self.peak, self._done = interval, _rss_mb(), threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, _rss_mb())
            time.sleep(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()


def write_synthetic_track(path: str, frames: int, particles: int, seed: int) -> None:
    """Write a synthetic pour of ``frames`` frames to ``path`` (run in a child process)."""
    from pourbench.core.track import write_track
    from pourbench.render.synthetic import synthetic_pour

    header, positions = synthetic_pour(num_frames=frames, num_particles=particles, seed=seed)
    write_track(path, header, positions)


def measure(frames: int, width: int, height: int, particles: int, checkpoints: list[int],
            folder: Path, seed: int = 0) -> dict:
    """Render a ``frames``-frame track into ``folder``; memory figures at ``checkpoints``."""
    track = folder / "sim.h5"
    child = mp.get_context("spawn").Process(
        target=write_synthetic_track, args=(str(track), frames, particles, seed))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"writing the synthetic track failed (exit {child.exitcode})")

    from pourbench.core.track import TrackReader
    from pourbench.datasets.sequence import SequenceWriter
    from pourbench.render import RenderSettings, TrackRenderer, sample_variant

    variant = sample_variant(RenderSettings(width=width, height=height), seed)
    out = folder / "seq_000000.h5"
    marks = sorted({c for c in checkpoints if 0 < c <= frames} | {frames})
    rows = []
    start_rss = _rss_mb()
    sampler = Sampler()
    sampler.start()
    start = time.perf_counter()
    with TrackReader(track) as reader, TrackRenderer(width, height) as renderer:
        header = reader.header
        attrs = {"seed": seed, "fps": header.fps, "recipe": {}, "scenario": header.scenario,
                 "render_variant": variant.model_dump(mode="json"), "sim_id": "sim"}
        ready_rss = _rss_mb()
        with SequenceWriter(out, header.num_frames, height, width,
                            [c.name for c in header.containers], attrs) as writer:
            for t, frame in enumerate(renderer.render_track(header, reader.positions, variant)):
                writer.write_frame(t, images=frame.images(), volume=frame.volume,
                                   camera_pose=frame.camera_pose, poses=frame.container_poses)
                if t + 1 in marks:
                    # the peak includes the current figure: the sampler may not have seen it
                    # yet, and the kernel updates ru_maxrss lazily (it lagged by 0.5 MB once)
                    rss = _rss_mb()
                    rows.append({"frames": t + 1, "rss_mb": round(rss, 1),
                                 "peak_rss_mb": round(max(sampler.peak, _peak_mb(), rss), 1),
                                 "seconds": round(time.perf_counter() - start, 1)})
            writer.write_camera_K(renderer.K)
    sampler.stop()
    first, last = rows[0], rows[-1]
    return {
        "frames": frames, "width": width, "height": height, "particles": particles,
        "rss_before_render_mb": round(start_rss, 1),
        "rss_with_renderer_mb": round(ready_rss, 1),
        "by_frames": rows,
        "peak_growth_mb": round(last["peak_rss_mb"] - first["peak_rss_mb"], 1),
        "peak_growth_per_100_frames_mb": round(
            100 * (last["peak_rss_mb"] - first["peak_rss_mb"])
            / max(last["frames"] - first["frames"], 1), 2),
        "sequence_file_mb": round(out.stat().st_size / 1e6, 1),
        "fps": round(frames / (time.perf_counter() - start), 2),
    }


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=450)
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--particles", type=int, default=20_000)
    p.add_argument("--checkpoints", default="50,150,450",
                   help="frame counts after which memory is reported, e.g. 50,150,450")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep", type=Path, default=None,
                   help="folder to keep the track and sequence in (default: a temporary one)")
    a = p.parse_args(argv)
    checkpoints = [int(c) for c in a.checkpoints.split(",") if c.strip()]
    if a.keep is not None:
        a.keep.mkdir(parents=True, exist_ok=True)
        figures = measure(a.frames, a.width, a.height, a.particles, checkpoints, a.keep, a.seed)
    else:
        with tempfile.TemporaryDirectory(prefix="render_memory_") as tmp:
            figures = measure(a.frames, a.width, a.height, a.particles, checkpoints, Path(tmp),
                              a.seed)
    print(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
