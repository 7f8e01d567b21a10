"""Liquid reconstructions compared on the same frames: label coverage, time, and a look.

Run: ``python -m pourbench.benchmark.perf.surface_compare [--track sim.h5] [--frames 12]
[--png DIR]``. Each method turns a frame's particles into the liquid mesh, which the renderer
draws (all passes, with its coverage fallback switched off) and checks against the particles.
Printed as JSON per method: ``coverage`` (share of in-view particle centres in ``mask/full``
within +-1 px, by the reconstruction alone, i.e. before the renderer's fallback spheres),
frames with water in view but an empty mask, ms per frame of the reconstruction (wall clock
and CPU time of all its threads: the latter holds up on a shared machine), frames per second
of the whole frame and faces per frame. ``--png`` writes, per method, the RGB image and
``mask/full`` of a few frames side by side (``<method>.png``) to look at.

Methods: ``own`` (``pourbench.render.surface``: sparse tiled density grid, dilute particles
weighted up, spheres for particles below the iso level: the default), ``own_bulk`` (the same
without the spheres), ``own_unweighted`` and ``own_unweighted_bulk`` (all weights 1),
``pysplashsurf`` (splashsurf's SPH colour field at the same cell size: 2 r cubes, kernel support
4 r, iso 0.6, no post-processing) and ``pysplashsurf_fine`` (cubes of r with splashsurf's
recommended weighted smoothing). The pysplashsurf methods are skipped, with a line saying so,
when it is not installed (``pip install pysplashsurf``).
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import time
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def own_surface(positions, particle_radius, s, camera, loose_spheres: bool = True,
                dilute_boost: float | None = None):
    """``pourbench.render.surface.extract_surface`` under the variant's settings."""
    from pourbench.render.surface import extract_surface

    return extract_surface(
        positions, particle_radius, cell_scale=s.cell_scale, smoothing_cells=s.smoothing_cells,
        iso_level=s.iso_level, max_cells=s.max_cells, tile_cells=s.tile_cells, camera=camera,
        min_radius_px=s.min_sphere_px, loose_spheres=loose_spheres,
        dilute_boost=s.dilute_boost if dilute_boost is None else dilute_boost,
    )


def splashsurf_surface(positions, particle_radius, s, camera, cube_size: float = 2.0,
                       smoothing: bool = False):
    """pysplashsurf's reconstruction as a ``SurfaceMesh`` (None when it finds no surface).

    ``cube_size`` in particle radii (2: our cell); ``smoothing``: splashsurf's recommended
    post-processing (mesh clean-up, weighted Laplacian smoothing of mesh and normals)."""
    import pysplashsurf

    from pourbench.render.surface import SurfaceMesh

    pos = np.asarray(positions, np.float64)
    pos = pos[np.isfinite(pos).all(axis=1)]
    if len(pos) == 0:
        return None
    extra = (dict(mesh_cleanup=True, mesh_smoothing_weights=True, mesh_smoothing_iters=25,
                  normals_smoothing_iters=10) if smoothing else {})
    try:
        mesh, _ = pysplashsurf.reconstruction_pipeline(
            pos, particle_radius=particle_radius, smoothing_length=2.0, cube_size=cube_size,
            iso_surface_threshold=0.6, compute_normals=True, **extra,
        )
    except Exception as e:  # no surface found in the whole domain
        log.debug("pysplashsurf: %s", e)
        return None
    faces = np.asarray(mesh.mesh.triangles)
    if len(faces) == 0:
        return None
    normals = np.asarray(mesh.point_attributes["normals"], np.float32)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    return SurfaceMesh(np.asarray(mesh.mesh.vertices, np.float32), faces.astype(np.int32),
                       normals)


def methods() -> dict:
    """name -> surface function (``TrackRenderer``'s ``surface_fn``); pysplashsurf only when
    it is installed."""
    out = {"own": own_surface,
           "own_bulk": functools.partial(own_surface, loose_spheres=False),
           "own_unweighted": functools.partial(own_surface, dilute_boost=1.0),
           "own_unweighted_bulk": functools.partial(own_surface, loose_spheres=False,
                                                    dilute_boost=1.0)}
    try:
        import pysplashsurf  # noqa: F401
    except ImportError:
        log.warning("pysplashsurf is not installed: skipping it (pip install pysplashsurf)")
        return out
    out["pysplashsurf"] = splashsurf_surface
    out["pysplashsurf_fine"] = functools.partial(splashsurf_surface, cube_size=1.0,
                                                 smoothing=True)
    return out


def _frames(num_frames: int, wanted: int) -> list[int]:
    if wanted <= 0 or wanted >= num_frames:
        return list(range(num_frames))
    return sorted({int(round(x)) for x in np.linspace(0, num_frames - 1, wanted)})


def compare(track: Path | None, frames: int, width: int, height: int, seed: int,
            png: Path | None = None, look_frames: int = 3) -> dict:
    """Render ``frames`` frames with every method; return the figures per method."""
    from pourbench.core.coverage import SequenceCoverage
    from pourbench.render import RenderSettings, TrackRenderer, sample_variant

    reader = None
    if track is None:
        from pourbench.render.synthetic import synthetic_pour

        header, positions = synthetic_pour(num_frames=frames, num_particles=30_000, seed=seed)
        todo = list(range(frames))
    else:
        from pourbench.core.track import TrackReader

        reader = TrackReader(track)
        header, positions = reader.header, reader.positions
        todo = _frames(header.num_frames, frames)
    cache = {f: np.asarray(positions[f] if isinstance(positions, np.ndarray) else positions(f),
                           np.float64) for f in todo}
    look = set(todo[len(todo) // (look_frames + 1)::max(len(todo) // (look_frames + 1), 1)]
               [:look_frames])
    variant = sample_variant(RenderSettings(width=width, height=height), seed)
    result = {"source": str(track) if track else "synthetic", "frames": len(todo),
              "particles": header.num_particles, "particle_radius_m": header.particle_radius,
              "width": width, "height": height, "methods": {}}
    todo_methods = methods()
    if "pysplashsurf" not in todo_methods:
        result["skipped"] = "pysplashsurf: not installed (pip install pysplashsurf)"
    try:
        for name, method in todo_methods.items():
            cov, images, cpu = SequenceCoverage(), [], [0.0]

            def fn(*args, method=method, cpu=cpu):
                start = time.process_time()
                try:
                    return method(*args)
                finally:
                    cpu[0] += time.process_time() - start

            with TrackRenderer(width, height, surface_fn=fn, fallback=False) as r:
                next(r.render_track(header, cache.__getitem__, variant, frames=todo[:1]))
                r.timings.clear()
                r.counts = dict.fromkeys(r.counts, 0)
                cpu[0] = 0.0
                start = time.perf_counter()
                for f, p in zip(todo, r.render_track(header, cache.__getitem__, variant,
                                                     frames=todo), strict=True):
                    cov.add(p.coverage)
                    if f in look:
                        mask = np.repeat(p.mask_full[..., None], 3, axis=2) * np.uint8(255)
                        images.append(np.concatenate([p.rgb, mask], axis=1))
                wall = time.perf_counter() - start
                surface_ms = 1000 * r.timings.get("surface", 0.0) / len(todo)
            result["methods"][name] = {
                "coverage": round(cov.fraction, 5), "empty_frames_with_water": cov.empty_frames,
                "surface_ms_per_frame": round(surface_ms, 1),
                "surface_cpu_ms_per_frame": round(1000 * cpu[0] / len(todo), 1),
                "fps_all_passes": round(len(todo) / wall, 2),
                "faces_per_frame": r.counts["faces"] // len(todo),
            }
            if png is not None and images:
                from PIL import Image

                png.mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.concatenate(images, axis=0)).save(png / f"{name}.png")
    finally:
        if reader is not None:
            reader.close()
    return result


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--track", type=Path, default=None,
                   help="particle track (.h5); default: a synthetic pour of 30 k particles")
    p.add_argument("--frames", type=int, default=12, help="frames, evenly spaced (0: all)")
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--seed", type=int, default=0, help="render variant seed")
    p.add_argument("--png", type=Path, default=None, help="folder for the look images")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(json.dumps(compare(a.track, a.frames, a.width, a.height, a.seed, a.png), indent=2))


if __name__ == "__main__":
    main()
