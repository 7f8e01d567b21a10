"""pourbench.render: particle tracks -> rgb, thermal, liquid masks and depth (headless pyrender).

Modules: ``variant`` (RenderSettings ranges -> seeded RenderVariant), ``surface`` (particles ->
liquid mesh: sparse tiled isosurface plus spheres for drops), ``scene`` (pyrender scene of a
track), ``renderer`` (TrackRenderer, FramePasses; every particle centre in view lies in
``mask_full``, ``FramePasses.coverage`` says how many were checked),
``thermal`` (LWIR camera model), ``post`` (silhouette smoothing, refraction), ``textures``,
``preview`` (contact sheets, animations, dataset grids), ``synthetic`` (pour-shaped tracks
for tests and benchmarks).

``PYOPENGL_PLATFORM`` defaults to ``egl`` here, before anything imports OpenGL, so rendering
runs without a display (Mesa llvmpipe on CPU, NVIDIA EGL on GPU machines). The renderer itself
(and so pyrender/OpenGL) is imported lazily, on first use of ``TrackRenderer``/``FramePasses``.
"""

import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

from pourbench.render.variant import RenderSettings, RenderVariant, sample_variant  # noqa: E402

__all__ = ["FramePasses", "RenderSettings", "RenderVariant", "TrackRenderer", "sample_variant"]


def __getattr__(name: str):
    if name in ("TrackRenderer", "FramePasses"):
        from pourbench.render import renderer

        return getattr(renderer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
