"""TrackRenderer: particle track + render variant -> frames with ground truth (FramePasses).

Per frame: the liquid surface is extracted from the particles (``surface``), the container
poses are set, and three pyrender passes run on one reused offscreen renderer:

1. flat segmentation of the liquid alone -> its depth, and ``mask/full`` (depth > 0);
2. colour (lit, textured, alpha-blended glass and liquid) -> ``rgb``;
3. flat segmentation of everything but the liquid -> front-most solid label and its depth.

Between 1 and 2 the labels are checked against the simulation (``pourbench.core.coverage``): every
particle centre that projects into the image must lie in ``mask/full`` within +-1 px. Particles
that do not (a thin sheet seen edge-on, a filament between pixel centres) get a sphere of at
least ``SurfaceSettings.min_sphere_px`` on screen and pass 1 is run again (growing the spheres
if need be), so the invariant holds by construction; the colour pass then draws the same
geometry, and images and labels agree. ``FramePasses.coverage`` carries the result.

Masks come from comparing 1 and 3, depth is the nearer of the two, and the thermal image is
computed from the labels (``thermal``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pyrender

from pourbench.core.coverage import FrameCoverage, uncovered
from pourbench.core.track import TrackHeader
from pourbench.render.post import refract_liquid, smooth_silhouettes
from pourbench.render.scene import PourScene
from pourbench.render.surface import (
    SurfaceMesh,
    extract_surface,
    particle_spheres,
    sphere_radii,
)
from pourbench.render.thermal import (
    container_warmth,
    scene_temperature,
    static_fields,
    thermal_sensor,
)
from pourbench.render.variant import RenderVariant, SurfaceSettings

log = logging.getLogger(__name__)

DEFAULT_LIQUID_TEMPERATURE_C = 60.0
# liquid counts as front-most when it is no more than this behind the nearest solid (metres)
VISIBLE_TOLERANCE_M = 1e-4
# on-screen radii (multiples of SurfaceSettings.min_sphere_px) of the spheres given to
# particles still outside mask/full: one round is enough in practice, the others are insurance
FALLBACK_GROWTH = (1.0, 1.5, 2.5)


@dataclass
class FramePasses:
    """All outputs of one frame.

    Attributes:
        rgb: (H, W, 3) uint8 colour image.
        thermal: (H, W) uint16 apparent temperature, centi-kelvin.
        mask_visible: (H, W) bool, liquid is the front-most surface.
        mask_full: (H, W) bool, liquid anywhere along the pixel's ray (occluded included).
        depth: (H, W) float16 metres along the optical axis, inf where nothing.
        camera_pose: (4, 4) float64 camera-to-world, OpenGL convention.
        volume: (3,) float32 ml in source, target, spilled.
        container_poses: name -> (4, 4) float64 local-to-world.
        coverage: particle centres in view and how many lie in ``mask_full`` (+-1 px), after
            the fallback spheres: covered == in_view unless the renderer logged a warning.
        fallback_particles: particles that were outside ``mask_full`` after the surface pass
            and got a fallback sphere (so ``coverage.covered - fallback_particles`` were
            covered by the reconstruction alone).
    """

    rgb: np.ndarray
    thermal: np.ndarray
    mask_visible: np.ndarray
    mask_full: np.ndarray
    depth: np.ndarray
    camera_pose: np.ndarray
    volume: np.ndarray
    container_poses: dict[str, np.ndarray]
    coverage: FrameCoverage | None = None
    fallback_particles: int = 0

    def images(self) -> dict[str, np.ndarray]:
        """The image passes keyed by their schema path (``pourbench.core.schema.FRAME_FIELDS``):
        what a sequence writer stores for this frame."""
        return {
            "rgb": self.rgb,
            "thermal": self.thermal,
            "mask/visible": self.mask_visible,
            "mask/full": self.mask_full,
            "depth": self.depth,
        }


def liquid_masks(
    liquid_depth: np.ndarray, solid_depth: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(visible, full) bool masks from the liquid-only and liquid-free depths (0 = nothing)."""
    full = liquid_depth > 0
    visible = full & ((solid_depth <= 0) | (liquid_depth <= solid_depth + VISIBLE_TOLERANCE_M))
    return visible, full


def liquid_temperature_c(header: TrackHeader) -> float:
    """Liquid temperature from the scenario (``scenario["liquid"]["temperature_c"]``), °C."""
    liquid = header.scenario.get("liquid", {}) if isinstance(header.scenario, dict) else {}
    return float(liquid.get("temperature_c", DEFAULT_LIQUID_TEMPERATURE_C))


PositionsSource = Callable[[int], np.ndarray] | np.ndarray
# (positions (N, 3), particle radius, settings, camera (K, pose)) -> liquid mesh or None
SurfaceFn = Callable[[np.ndarray, float, SurfaceSettings, tuple[np.ndarray, np.ndarray]],
                     SurfaceMesh | None]


def default_surface(positions: np.ndarray, particle_radius: float, s: SurfaceSettings,
                    camera: tuple[np.ndarray, np.ndarray]) -> SurfaceMesh | None:
    """The liquid mesh of one frame: ``extract_surface`` under the variant's settings."""
    return extract_surface(
        positions, particle_radius, cell_scale=s.cell_scale, smoothing_cells=s.smoothing_cells,
        iso_level=s.iso_level, max_cells=s.max_cells, tile_cells=s.tile_cells, camera=camera,
        min_radius_px=s.min_sphere_px, dilute_boost=s.dilute_boost,
    )


ANTIALIAS_MODES = ("msaa", "edges", "none")


@contextlib.contextmanager
def _single_sample():
    """Rasterise the colour pass with one sample per pixel (no MSAA).

    pyrender 0.1.45 always renders colour into a 4x multisampled framebuffer and enables
    GL_MULTISAMPLE before each colour pass; on llvmpipe that about doubles the pass's cost. It
    has no switch, so for the duration of one render call its ``glEnable`` ignores
    GL_MULTISAMPLE (the flat passes already run without it).
    """
    from OpenGL import GL
    from pyrender import renderer as pyrender_renderer

    original = pyrender_renderer.glEnable

    def gl_enable(cap):
        if cap != GL.GL_MULTISAMPLE:
            original(cap)

    pyrender_renderer.glEnable = gl_enable
    GL.glDisable(GL.GL_MULTISAMPLE)
    try:
        yield
    finally:
        pyrender_renderer.glEnable = original


@dataclass
class _TrackState:
    """What stays fixed while one track is rendered under one variant."""

    header: TrackHeader
    world: PourScene
    materials: list[str]
    warmth: np.ndarray  # (F, C) container warmth
    liquid_c: float
    surface_field: np.ndarray  # (H, W) K on table and wall
    sensor_field: np.ndarray  # (h, w) K, native sensor resolution

    @classmethod
    def build(cls, header: TrackHeader, variant: RenderVariant) -> _TrackState:
        materials = [c.material for c in header.containers]
        warmth = container_warmth(np.asarray(header.volume), [c.role for c in header.containers],
                                  materials, header.fps, variant.thermal)
        surface_field, sensor_field = static_fields(variant.height, variant.width,
                                                    variant.thermal, variant.seed)
        return cls(header, PourScene(header, variant), materials, warmth,
                   liquid_temperature_c(header), surface_field, sensor_field)


class _SharedOffscreen:
    """One pyrender OffscreenRenderer per process, shared by all TrackRenderers.

    pyrender's EGL teardown calls eglTerminate on the display, which every context of the
    process shares: deleting one OffscreenRenderer breaks all the others. So renderers share
    one (resized per call, which pyrender supports) and the last ``release`` deletes it.
    Use TrackRenderers from one thread (the GL context is current per thread).
    """

    _renderer: pyrender.OffscreenRenderer | None = None
    _users = 0

    @classmethod
    def acquire(cls) -> pyrender.OffscreenRenderer:
        if cls._renderer is None:
            cls._renderer = pyrender.OffscreenRenderer(16, 16)
        cls._users += 1
        return cls._renderer

    @classmethod
    def release(cls) -> None:
        cls._users -= 1
        if cls._users == 0 and cls._renderer is not None:
            cls._renderer.delete()
            cls._renderer = None


class TrackRenderer:
    """Renders tracks with one reused headless (EGL) pyrender renderer; ``close()`` when done.

    Usage::

        with TrackRenderer(320, 240) as r:
            for passes in r.render_track(header, reader.positions, variant):
                ...
    """

    def __init__(self, width: int, height: int, antialias: str = "edges",
                 surface_fn: SurfaceFn | None = None, fallback: bool = True):
        """Args:
        width, height: image size, pixels (variants must match).
        antialias: ``"edges"`` (default): one sample per pixel, then a 3x3 blur on the
            silhouettes found by the geometry passes; ``"msaa"``: pyrender's 4x
            multisampling (about twice the colour pass's cost on CPU); ``"none"``.
        surface_fn: particles -> liquid mesh (default ``default_surface``); for comparing
            reconstructions (``benchmark/perf/surface_compare.py``).
        fallback: give particles left outside ``mask_full`` their spheres and re-render
            (default). Off only to measure a reconstruction alone: the labels then need not
            hold every particle.
        """
        if antialias not in ANTIALIAS_MODES:
            raise ValueError(f"antialias={antialias!r}; allowed: {ANTIALIAS_MODES}")
        self.width, self.height = int(width), int(height)
        self.antialias = antialias
        self.surface_fn = surface_fn or default_surface
        self.fallback = fallback
        self._renderer = _SharedOffscreen.acquire()
        self._K: np.ndarray | None = None
        self.timings: dict[str, float] = {}  # seconds spent per stage, summed over frames
        # frames rendered, frames that needed fallback spheres, particles given one, faces of
        # the reconstructed liquid (before fallback spheres); summed over frames
        self.counts: dict[str, int] = {"frames": 0, "fallback_frames": 0,
                                       "fallback_particles": 0, "faces": 0}

    @property
    def K(self) -> np.ndarray:
        """(3, 3) intrinsics of the variant being (or last) rendered."""
        if self._K is None:
            raise RuntimeError("K is known once render_track has started")
        return self._K.copy()

    def render_track(
        self,
        header: TrackHeader,
        positions_fn: PositionsSource,
        variant: RenderVariant,
        frames: Iterable[int] | None = None,
    ) -> Iterator[FramePasses]:
        """Yield ``FramePasses`` for each frame of the track.

        Args:
            header: the track header (containers, fps, particle radius, volumes, scenario).
            positions_fn: f -> (N, 3) particle positions in metres, or an array (F, N, 3).
            variant: the render variant; its width/height must match the renderer.
            frames: frame indices to render (default: all).
        """
        if (variant.width, variant.height) != (self.width, self.height):
            raise ValueError(
                f"variant is {variant.width}x{variant.height}, renderer {self.width}x{self.height}"
            )
        if isinstance(positions_fn, np.ndarray):
            array = positions_fn
            positions_fn = array.__getitem__
        track = _TrackState.build(header, variant)
        self._K = track.world.K
        frames = range(header.num_frames) if frames is None else frames
        for f in frames:
            yield self._render_frame(track, positions_fn(f), f)

    def _tick(self, stage: str, start: float) -> float:
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - start
        return now

    def _liquid_depth(self, world: PourScene) -> np.ndarray:
        """(H, W) float32 depth of the liquid alone, 0 where there is none."""
        if world.liquid_node is None:
            return np.zeros((self.height, self.width), np.float32)
        _, depth = self._renderer.render(
            world.scene, flags=pyrender.RenderFlags.SEG, seg_node_map={world.liquid_node: 255}
        )
        return depth

    def _cover_particles(
        self, world: PourScene, surface: SurfaceMesh | None, positions: np.ndarray,
        particle_radius: float,
    ) -> tuple[np.ndarray, FrameCoverage, int]:
        """Liquid depth whose mask holds every in-view particle centre (+-1 px).

        Runs the liquid pass; particles it leaves uncovered get spheres of at least
        ``min_sphere_px`` on screen (grown by ``FALLBACK_GROWTH`` if a round is not enough)
        and the pass runs again. Returns the depth, the coverage and how many particles got
        fallback spheres."""
        K, pose = world.K, world.camera_pose
        depth = self._liquid_depth(world)
        in_view, covered = uncovered(depth > 0, positions, K, pose)
        missing = np.flatnonzero(in_view & ~covered)
        first_missing = len(missing) if self.fallback else 0
        px = world.variant.surface.min_sphere_px
        for growth in FALLBACK_GROWTH if self.fallback else ():
            if len(missing) == 0:
                break
            pts = np.asarray(positions[missing], np.float64)
            radii, radii_px = sphere_radii(pts, particle_radius, (K, pose), px * growth)
            surface = SurfaceMesh.concatenate([surface, particle_spheres(pts, radii, radii_px)])
            world.set_liquid(surface)
            depth = self._liquid_depth(world)
            in_view, covered = uncovered(depth > 0, positions, K, pose)
            missing = np.flatnonzero(in_view & ~covered)
        if len(missing) and self.fallback:
            log.warning("%d particle centres in view stay outside mask/full", len(missing))
        empty = not bool((depth > 0).any())
        coverage = FrameCoverage(int(in_view.sum()), int(covered.sum()), empty)
        return depth, coverage, first_missing

    def _render_frame(self, track: _TrackState, positions: np.ndarray, f: int) -> FramePasses:
        world, header = track.world, track.header
        v = world.variant
        t = time.perf_counter()
        positions = np.asarray(positions, np.float64).reshape(-1, 3)
        surface = self.surface_fn(positions, header.particle_radius, v.surface,
                                  (world.K, world.camera_pose))
        t = self._tick("surface", t)
        world.update(f, surface)
        r = self._renderer
        r.viewport_width, r.viewport_height = self.width, self.height
        liquid_depth, coverage, fallback = self._cover_particles(
            world, surface, positions, header.particle_radius
        )
        self.counts["frames"] += 1
        self.counts["faces"] += 0 if surface is None else len(surface.faces)
        self.counts["fallback_frames"] += int(fallback > 0)
        self.counts["fallback_particles"] += fallback
        t = self._tick("render_liquid_coverage", t)
        with contextlib.nullcontext() if self.antialias == "msaa" else _single_sample():
            rgb, _ = r.render(world.scene)
        t = self._tick("render_rgb", t)
        labels_rgb, solid_depth = r.render(
            world.scene, flags=pyrender.RenderFlags.SEG, seg_node_map=world.seg_solid
        )
        labels = labels_rgb[..., 0]
        t = self._tick("render_geometry", t)
        visible, full = liquid_masks(liquid_depth, solid_depth)
        lv = v.liquid
        rgb = refract_liquid(rgb, liquid_depth, visible, world.K[0, 0],
                             lv.refraction_px * (1.0 - lv.alpha))
        if self.antialias == "edges":
            rgb = smooth_silhouettes(rgb, labels, full)
        near = np.where(
            (liquid_depth > 0) & ((solid_depth <= 0) | (liquid_depth < solid_depth)),
            liquid_depth, solid_depth,
        )
        depth = np.where(near > 0, near, np.inf).astype(np.float16)
        apparent = scene_temperature(
            labels, visible, liquid_depth, solid_depth, track.warmth[f], track.materials,
            track.liquid_c, v.thermal, track.surface_field,
        )
        rng = np.random.default_rng([v.seed, f])
        thermal = thermal_sensor(apparent, v.thermal, rng, track.sensor_field)
        self._tick("masks_thermal", t)
        return FramePasses(
            rgb=np.ascontiguousarray(rgb),
            thermal=thermal,
            mask_visible=visible,
            mask_full=full,
            depth=depth,
            camera_pose=world.camera_pose.copy(),
            volume=np.asarray(header.volume[f], np.float32),
            container_poses={c.name: np.asarray(c.poses[f], np.float64)
                             for c in header.containers},
            coverage=coverage,
            fallback_particles=fallback,
        )

    def close(self) -> None:
        """Release this renderer's share of the GL context (the last one deletes it); the
        renderer cannot be used afterwards."""
        if self._renderer is not None:
            _SharedOffscreen.release()
            self._renderer = None

    def __enter__(self) -> TrackRenderer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
