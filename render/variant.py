"""Render variants: what a recipe may vary (``RenderSettings``) and one concrete draw of it.

One simulation feeds K render variants. ``sample_variant(settings, seed)`` turns the ranges of
``RenderSettings`` into a concrete, JSON-serialisable ``RenderVariant``; every choice comes from
``numpy.random.default_rng(seed)``, so a variant is fully determined by its seed. Textures are
not stored: the variant holds their parameters and a texture seed, and the renderer rebuilds
them (``pourbench.render.textures``).
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from pourbench.render.textures import BACKGROUND_IMAGES

BackgroundKind = Literal["image", "checker", "noise", "stripes", "plain"]
TableKind = Literal["wood", "checker", "noise", "stripes", "plain"]
PatternKind = Literal["plain", "stripes", "checker", "noise"]
LiquidLook = Literal["clear", "tinted", "opaque"]
TextureKind = Literal["image", "wood", "checker", "noise", "stripes", "plain"]

DEFAULT_EMISSIVITY = {
    "water": 0.96,
    "ceramic": 0.92,
    "glass": 0.90,
    "plastic": 0.93,
    "metal": 0.10,
    "table": 0.90,
    "background": 0.92,
}
DEFAULT_WALL_TIME_CONSTANT_S = {"glass": 60.0, "ceramic": 45.0, "plastic": 90.0, "metal": 15.0}


def _ordered(v: tuple) -> tuple:
    if v[0] > v[1]:
        raise ValueError(f"range {tuple(v)} has low > high")
    return v


def _range(lo: float, hi: float) -> type:
    """A (low, high) float range whose ends lie in [lo, hi]."""
    end = Annotated[float, Field(ge=lo, le=hi)]
    return Annotated[tuple[end, end], AfterValidator(_ordered)]


def _int_range(lo: int, hi: int) -> type:
    end = Annotated[int, Field(ge=lo, le=hi)]
    return Annotated[tuple[end, end], AfterValidator(_ordered)]


def _weights(v: dict) -> dict:
    if not v or sum(v.values()) <= 0:
        raise ValueError(f"weights {v} must contain a positive weight")
    if any(w < 0 for w in v.values()):
        raise ValueError(f"weights {v} must be >= 0")
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ----------------------------------------------------------------------------------------------
# Settings: ranges a recipe chooses
# ----------------------------------------------------------------------------------------------


class CameraSettings(_Strict):
    azimuth_deg: _range(-360, 360) = Field(
        (-180.0, 180.0),
        description="camera azimuth around the scene centre; 0 = side view of the pour "
        "(source left, target right), 90 = looking along the pour from behind the target",
    )
    elevation_deg: _range(1, 89) = Field(
        (15.0, 45.0), description="camera elevation above the table plane, degrees"
    )
    distance_m: _range(0.1, 5.0) = Field(
        (0.35, 0.6), description="camera distance from the look-at point, metres"
    )
    look_at_jitter_m: float = Field(
        0.03, ge=0.0, le=0.5, description="uniform jitter of the look-at point per axis, metres"
    )
    yfov_deg: _range(10, 120) = Field(
        (40.0, 55.0), description="vertical field of view, degrees (sets the focal length)"
    )


class LightSettings(_Strict):
    count: _int_range(1, 4) = Field((1, 3), description="number of directional lights")
    intensity: _range(0.0, 50.0) = Field(
        (1.5, 4.0), description="directional light intensity (pyrender units, lux-like)"
    )
    ambient: _range(0.0, 1.0) = Field((0.15, 0.4), description="ambient light level")
    color_jitter: float = Field(
        0.12, ge=0.0, le=0.5, description="max deviation of light colour from white per channel"
    )


class BackgroundSettings(_Strict):
    kinds: Annotated[dict[BackgroundKind, float], AfterValidator(_weights)] = Field(
        default_factory=lambda: {
            "image": 0.5, "checker": 0.1, "noise": 0.15, "stripes": 0.1, "plain": 0.15
        },
        description="weights of the background wall kinds",
    )
    images: list[str] = Field(
        default_factory=lambda: list(BACKGROUND_IMAGES),
        min_length=1,
        description=f"scikit-image sample images (shipped in the wheel) to use: "
        f"any of {sorted(BACKGROUND_IMAGES)}",
    )

    @model_validator(mode="after")
    def _known_images(self) -> BackgroundSettings:
        bad = [n for n in self.images if n not in BACKGROUND_IMAGES]
        if bad:
            allowed = sorted(BACKGROUND_IMAGES)
            raise ValueError(f"unknown background images {bad}; allowed: {allowed}")
        return self


class TableSettings(_Strict):
    kinds: Annotated[dict[TableKind, float], AfterValidator(_weights)] = Field(
        default_factory=lambda: {"wood": 0.4, "checker": 0.1, "noise": 0.2, "stripes": 0.1,
                                 "plain": 0.2},
        description="weights of the table texture kinds",
    )


class ContainerSettings(_Strict):
    patterns: Annotated[dict[PatternKind, float], AfterValidator(_weights)] = Field(
        default_factory=lambda: {"plain": 0.5, "stripes": 0.2, "checker": 0.1, "noise": 0.2},
        description="weights of the texture patterns on ceramic and plastic containers",
    )
    glass_alpha: _range(0.02, 1.0) = Field(
        (0.12, 0.3), description="opacity of glass containers in the colour image"
    )


class LiquidSettings(_Strict):
    looks: Annotated[dict[LiquidLook, float], AfterValidator(_weights)] = Field(
        default_factory=lambda: {"clear": 0.5, "tinted": 0.3, "opaque": 0.2},
        description="weights of the liquid looks: clear water, tinted (tea, juice), opaque (milk)",
    )
    clear_alpha: _range(0.05, 1.0) = Field((0.2, 0.4), description="opacity of clear water")
    tinted_alpha: _range(0.05, 1.0) = Field((0.6, 0.9), description="opacity of tinted liquid")
    refraction_px: _range(0.0, 20.0) = Field(
        (2.0, 5.0),
        description="image-space refraction: pixels of displacement per unit surface slope, "
        "scaled by the liquid's transparency (1 - alpha)",
    )


class ThermalSettings(_Strict):
    ambient_c: _range(-20, 50) = Field((19.0, 25.0), description="room temperature, °C")
    surface_offset_k: float = Field(
        1.0, ge=0, le=10, description="max |offset| of table and wall temperature from ambient, K"
    )
    native_scale: int = Field(
        2, ge=1, le=8, description="thermal sensor resolution = output resolution / native_scale"
    )
    netd_k: float = Field(0.05, ge=0, le=2, description="sensor noise (NETD), kelvin, 1 sigma")
    blur_sigma_px: _range(0, 5) = Field(
        (0.6, 1.2), description="optical blur, gaussian sigma in native sensor pixels"
    )
    registration_offset_px: float = Field(
        1.0, ge=0, le=20, description="max |offset| of thermal vs colour image per axis, pixels"
    )
    fixed_pattern_k: float = Field(
        0.05, ge=0, le=2, description="sensor column offsets (fixed pattern noise), K, 1 sigma"
    )
    vignetting_k: _range(-5, 5) = Field(
        (-0.5, 0.3), description="sensor offset at the image corners relative to the centre, K"
    )
    surface_variation_k: float = Field(
        0.4, ge=0, le=5,
        description="amplitude of smooth temperature variations over table and wall, K",
    )
    source_preheat_s: _range(0, 3600) = Field(
        (0.0, 120.0), description="time the source held hot liquid before the track starts, s"
    )
    contact_depth_m: float = Field(
        0.015, ge=0, le=0.1,
        description="a wall pixel warms when liquid lies at most this far behind it, metres",
    )
    bulk_warm_fraction: float = Field(
        0.25, ge=0, le=1,
        description="fraction of the wall's warming reached away from the wetted area",
    )
    wall_steady_fraction: float = Field(
        0.7, ge=0, le=1,
        description="outer wall temperature rise at steady state, as a fraction of the "
        "liquid-ambient difference (the wall loses heat to the room)",
    )
    emissivity: dict[str, Annotated[float, Field(gt=0, le=1)]] = Field(
        default_factory=lambda: dict(DEFAULT_EMISSIVITY),
        description="LWIR emissivity per material (water, container materials, table, background)",
    )
    wall_time_constant_s: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: dict(DEFAULT_WALL_TIME_CONSTANT_S),
        description="time constant of a container wall warming to the liquid temperature, s",
    )


class SurfaceSettings(_Strict):
    cell_scale: float = Field(
        1.5, ge=0.25, le=4.0,
        description="density grid cell = cell_scale x particle diameter (1.5: 2.3x faster "
        "than 1.0 on a 25 k-particle pour with spray at 320x240, same look; drops that the "
        "coarser surface misses are caught by the coverage fallback)",
    )
    smoothing_cells: float = Field(
        1.0, ge=0.0, le=4.0, description="gaussian smoothing of the density grid, cells"
    )
    iso_level: float = Field(
        0.5, gt=0.0, lt=1.0, description="isosurface level as a fraction of bulk density"
    )
    max_cells: int = Field(
        2_000_000, ge=10_000, le=100_000_000,
        description="grid cells held in memory at once (the sparse tiles are processed in "
        "batches); never coarsens the grid (it used to: older recipes setting it stay valid)",
    )
    tile_cells: int = Field(
        24, ge=8, le=128, description="cells per edge of a tile of the sparse density grid"
    )
    dilute_boost: float = Field(
        2.5, ge=1.0, le=5.0,
        description="largest weight of a particle in a sparse neighbourhood (a breaking "
        "stream, a splash), as SPH's volume m/rho: the cloud stays one surface; 1 = off",
    )
    min_sphere_px: float = Field(
        0.75, ge=0.71, le=8.0,
        description="on-screen inscribed radius, pixels, of the sphere drawn for a particle "
        "below the iso level (a drop, a thin stream); >= 0.71 px always covers a pixel centre",
    )


class RenderSettings(_Strict):
    """Everything a recipe may vary about rendering; each field validated, unknown keys rejected."""

    width: int = Field(320, ge=16, le=4096, description="image width, pixels")
    height: int = Field(240, ge=16, le=4096, description="image height, pixels")
    camera: CameraSettings = Field(default_factory=CameraSettings)
    lights: LightSettings = Field(default_factory=LightSettings)
    background: BackgroundSettings = Field(default_factory=BackgroundSettings)
    table: TableSettings = Field(default_factory=TableSettings)
    containers: ContainerSettings = Field(default_factory=ContainerSettings)
    liquid: LiquidSettings = Field(default_factory=LiquidSettings)
    thermal: ThermalSettings = Field(default_factory=ThermalSettings)
    surface: SurfaceSettings = Field(default_factory=SurfaceSettings)


# ----------------------------------------------------------------------------------------------
# Variant: one concrete draw
# ----------------------------------------------------------------------------------------------

Vec3 = tuple[float, float, float]


class TextureSpec(_Strict):
    """Parameters of one texture; ``pourbench.render.textures.make_texture`` builds it."""

    kind: TextureKind
    color_a: Vec3
    color_b: Vec3
    scale: float = Field(description="pattern repeats per texture (or metres per repeat)")
    angle_deg: float = 0.0
    image: str | None = None
    seed: int = 0


class CameraVariant(_Strict):
    azimuth_deg: float
    elevation_deg: float
    distance_m: float
    look_at_offset_m: Vec3
    yfov_deg: float


class LightVariant(_Strict):
    azimuth_deg: float
    elevation_deg: float
    color: Vec3
    intensity: float


class ContainerLook(_Strict):
    color: Vec3
    pattern: TextureSpec
    roughness: float
    glass_alpha: float
    glass_tint: Vec3


class LiquidVariant(_Strict):
    look: LiquidLook
    color: Vec3
    alpha: float
    roughness: float
    refraction_px: float


class ThermalVariant(_Strict):
    ambient_c: float
    table_offset_k: float
    background_offset_k: float
    native_scale: int
    netd_k: float
    blur_sigma_px: float
    offset_px: tuple[float, float]
    fixed_pattern_k: float
    vignetting_k: float
    surface_variation_k: float
    source_preheat_s: float
    contact_depth_m: float
    bulk_warm_fraction: float
    wall_steady_fraction: float
    emissivity: dict[str, float]
    wall_time_constant_s: dict[str, float]


class RenderVariant(_Strict):
    """A concrete render variant, fully determined by ``seed`` and the settings it came from."""

    seed: int = Field(ge=0)
    width: int
    height: int
    camera: CameraVariant
    lights: list[LightVariant]
    ambient_light: float
    background: TextureSpec
    table: TextureSpec
    containers: dict[str, ContainerLook] = Field(description="look per container role")
    liquid: LiquidVariant
    thermal: ThermalVariant
    surface: SurfaceSettings


# ----------------------------------------------------------------------------------------------
# Sampling
# ----------------------------------------------------------------------------------------------

_LIQUID_TINTS = {
    # name: (rgb, roughness) — tea, coffee, orange juice, cola, green tea, red juice
    "tinted": [(0.55, 0.27, 0.07), (0.30, 0.16, 0.06), (0.95, 0.55, 0.10), (0.20, 0.08, 0.04),
               (0.55, 0.60, 0.20), (0.60, 0.08, 0.12)],
    # milk, cocoa, tomato soup, paint blue
    "opaque": [(0.93, 0.92, 0.88), (0.45, 0.28, 0.18), (0.75, 0.20, 0.10), (0.15, 0.35, 0.75)],
}


def _uniform(rng: np.random.Generator, r: tuple[float, float]) -> float:
    return float(rng.uniform(r[0], r[1]))


def _choice(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = sorted(weights)
    p = np.array([weights[n] for n in names], float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _color(rng: np.random.Generator) -> Vec3:
    """A random colour of moderate saturation (garish primaries are rare indoors)."""
    grey = rng.uniform(0.15, 0.85)
    saturation = rng.uniform(0.1, 0.7)
    rgb = grey + (rng.uniform(0, 1, 3) - grey) * saturation
    return tuple(float(c) for c in np.clip(rgb, 0, 1))


def _texture(rng: np.random.Generator, kind: str, images: list[str] | None = None) -> TextureSpec:
    a = _color(rng)
    b = tuple(float(np.clip(c + rng.uniform(-0.35, 0.35), 0, 1)) for c in a)
    image = None
    if kind == "wood":
        base = np.array([0.55, 0.36, 0.2]) * rng.uniform(0.6, 1.3)
        a = tuple(float(c) for c in np.clip(base, 0, 1))
        b = tuple(float(c) for c in np.clip(base * rng.uniform(0.55, 0.8), 0, 1))
    if kind == "image":
        image = str(images[int(rng.integers(len(images)))])
    return TextureSpec(
        kind=kind, color_a=a, color_b=b, scale=float(rng.uniform(2, 12)),
        angle_deg=float(rng.uniform(0, 180)), image=image, seed=int(rng.integers(2**31)),
    )


def sample_variant(settings: RenderSettings, seed: int) -> RenderVariant:
    """Draw one concrete render variant from ``settings``; the same seed gives the same variant."""
    rng = np.random.default_rng(seed)
    cs = settings.camera
    camera = CameraVariant(
        azimuth_deg=_uniform(rng, cs.azimuth_deg),
        elevation_deg=_uniform(rng, cs.elevation_deg),
        distance_m=_uniform(rng, cs.distance_m),
        look_at_offset_m=tuple(float(v) for v in rng.uniform(-1, 1, 3) * cs.look_at_jitter_m),
        yfov_deg=_uniform(rng, cs.yfov_deg),
    )
    ls = settings.lights
    n_lights = int(rng.integers(ls.count[0], ls.count[1] + 1))
    lights = [
        LightVariant(
            azimuth_deg=float(rng.uniform(-180, 180)),
            elevation_deg=float(rng.uniform(30, 85)),
            color=tuple(float(c) for c in np.clip(1 - rng.uniform(0, ls.color_jitter, 3), 0, 1)),
            intensity=_uniform(rng, ls.intensity),
        )
        for _ in range(n_lights)
    ]
    ambient = _uniform(rng, ls.ambient)
    background = _texture(rng, _choice(rng, settings.background.kinds), settings.background.images)
    table = _texture(rng, _choice(rng, settings.table.kinds))
    containers = {}
    for role in ("source", "target", "static"):
        containers[role] = ContainerLook(
            color=_color(rng),
            pattern=_texture(rng, _choice(rng, settings.containers.patterns)),
            roughness=float(rng.uniform(0.2, 0.7)),
            glass_alpha=_uniform(rng, settings.containers.glass_alpha),
            glass_tint=tuple(float(c) for c in rng.uniform(0.85, 1.0, 3)),
        )
    look = _choice(rng, settings.liquid.looks)
    if look == "clear":
        color = tuple(float(c) for c in rng.uniform([0.6, 0.75, 0.85], [0.8, 0.9, 1.0]))
        alpha = _uniform(rng, settings.liquid.clear_alpha)
    else:
        palette = _LIQUID_TINTS[look]
        base = np.array(palette[int(rng.integers(len(palette)))])
        color = tuple(float(c) for c in np.clip(base * rng.uniform(0.85, 1.15, 3), 0, 1))
        alpha = _uniform(rng, settings.liquid.tinted_alpha) if look == "tinted" else 1.0
    liquid = LiquidVariant(
        look=look, color=color, alpha=alpha, roughness=float(rng.uniform(0.02, 0.15)),
        refraction_px=_uniform(rng, settings.liquid.refraction_px),
    )
    ts = settings.thermal
    thermal = ThermalVariant(
        ambient_c=_uniform(rng, ts.ambient_c),
        table_offset_k=float(rng.uniform(-1, 1) * ts.surface_offset_k),
        background_offset_k=float(rng.uniform(-1, 1) * ts.surface_offset_k),
        native_scale=ts.native_scale,
        netd_k=ts.netd_k,
        blur_sigma_px=_uniform(rng, ts.blur_sigma_px),
        offset_px=tuple(float(v) for v in rng.uniform(-1, 1, 2) * ts.registration_offset_px),
        fixed_pattern_k=ts.fixed_pattern_k,
        vignetting_k=_uniform(rng, ts.vignetting_k),
        surface_variation_k=ts.surface_variation_k,
        source_preheat_s=_uniform(rng, ts.source_preheat_s),
        contact_depth_m=ts.contact_depth_m,
        bulk_warm_fraction=ts.bulk_warm_fraction,
        wall_steady_fraction=ts.wall_steady_fraction,
        emissivity=dict(ts.emissivity),
        wall_time_constant_s=dict(ts.wall_time_constant_s),
    )
    return RenderVariant(
        seed=int(seed), width=settings.width, height=settings.height, camera=camera,
        lights=lights, ambient_light=ambient, background=background, table=table,
        containers=containers, liquid=liquid, thermal=thermal, surface=settings.surface,
    )
