"""TrackRenderer: particle track + render variant -> frames with ground truth (FramePasses).

Per frame: the liquid surface is extracted from the particles (``surface``), the container
poses are set, and three pyrender passes run on one reused offscreen renderer:

1. colour (lit, textured, alpha-blended glass and liquid) -> ``rgb``;
2. flat segmentation of the liquid alone -> its depth;
3. flat segmentation of everything but the liquid -> front-most solid label and its depth.

Masks come from comparing 2 and 3, depth is the nearer of the two, and the thermal image is
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

from pourbench.render.post import refract_liquid, smooth_silhouettes
from pourbench.render.scene import PourScene
from pourbench.render.surface import extract_surface
from pourbench.render.thermal import (
    container_warmth,
    scene_temperature,
    static_fields,
    thermal_sensor,
)
from pourbench.render.variant import RenderVariant
from pourbench.track import TrackHeader

log = logging.getLogger(__name__)

DEFAULT_LIQUID_TEMPERATURE_C = 60.0
# liquid counts as front-most when it is no more than this behind the nearest solid (metres)
VISIBLE_TOLERANCE_M = 1e-4


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
    """

    rgb: np.ndarray
    thermal: np.ndarray
    mask_visible: np.ndarray
    mask_full: np.ndarray
    depth: np.ndarray
    camera_pose: np.ndarray
    volume: np.ndarray
    container_poses: dict[str, np.ndarray]


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

    def __init__(self, width: int, height: int, antialias: str = "edges"):
        """Args:
        width, height: image size, pixels (variants must match).
        antialias: ``"edges"`` (default): one sample per pixel, then a 3x3 blur on the
            silhouettes found by the geometry passes; ``"msaa"``: pyrender's 4x
            multisampling (about twice the colour pass's cost on CPU); ``"none"``.
        """
        if antialias not in ANTIALIAS_MODES:
            raise ValueError(f"antialias={antialias!r}; allowed: {ANTIALIAS_MODES}")
        self.width, self.height = int(width), int(height)
        self.antialias = antialias
        self._renderer = _SharedOffscreen.acquire()
        self._K: np.ndarray | None = None
        self.timings: dict[str, float] = {}  # seconds spent per stage, summed over frames

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

    def _render_frame(self, track: _TrackState, positions: np.ndarray, f: int) -> FramePasses:
        world, header = track.world, track.header
        v = world.variant
        s = v.surface
        t = time.perf_counter()
        surface = extract_surface(
            positions, header.particle_radius, cell_scale=s.cell_scale,
            smoothing_cells=s.smoothing_cells, iso_level=s.iso_level, max_cells=s.max_cells,
        )
        t = self._tick("surface", t)
        world.update(f, surface)
        r = self._renderer
        r.viewport_width, r.viewport_height = self.width, self.height
        with contextlib.nullcontext() if self.antialias == "msaa" else _single_sample():
            rgb, _ = r.render(world.scene)
        t = self._tick("render_rgb", t)
        if world.liquid_node is not None:
            _, liquid_depth = r.render(
                world.scene, flags=pyrender.RenderFlags.SEG,
                seg_node_map={world.liquid_node: 255},
            )
        else:
            liquid_depth = np.zeros((self.height, self.width), np.float32)
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
