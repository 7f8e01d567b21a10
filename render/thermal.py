"""Thermal (LWIR) camera model on top of per-pixel scene labels.

The geometry passes give, per pixel, what is front-most (liquid, or a labelled solid: wall,
table, container i) and how far the liquid lies behind it. Glass and plastic are opaque in LWIR,
so a pixel sees the temperature of its front-most surface only; liquid behind a wall is never
seen, it only warms the wall where it touches it. The sensor then integrates radiance over its
coarser pixels, blurs, adds noise (NETD) and is registered to the colour image with an offset.

Radiance is linearised around ambient: apparent T = e * T_surface + (1 - e) * T_ambient (the
room reflected by the surface), a good approximation over the 20-80 °C range.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

KELVIN = 273.15

# labels of the solid segmentation pass; containers get LABEL_CONTAINER0 + index
LABEL_NOTHING = 0
LABEL_BACKGROUND = 1
LABEL_TABLE = 2
LABEL_CONTAINER0 = 3


def container_warmth(
    volume: np.ndarray,
    roles: list[str],
    materials: list[str],
    fps: float,
    thermal,
) -> np.ndarray:
    """(F, C) fraction in [0, 1) of the liquid-ambient difference each container has reached.

    A container warms with the time it has held liquid: warmth = 1 - exp(-t_wet / tau_material),
    t_wet counting frames where its volume column (source or target) exceeds 0.5 ml, plus the
    source's preheat time. It keeps its warmth when emptied (cooling is much slower).
    """
    F = len(volume)
    out = np.zeros((F, len(roles)))
    column = {"source": 0, "target": 1}
    for c, (role, material) in enumerate(zip(roles, materials, strict=True)):
        if role not in column:
            continue
        holds = volume[:, column[role]] > 0.5
        t_wet = np.concatenate([[0.0], np.cumsum(holds[:-1])]) / fps
        if role == "source" and F and holds[0]:
            t_wet = t_wet + thermal.source_preheat_s
        tau = thermal.wall_time_constant_s.get(material, 60.0)
        out[:, c] = 1.0 - np.exp(-t_wet / tau)
    return out


def static_fields(height: int, width: int, thermal, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-variant fixed images (the camera is static over a track), seeded by ``seed``.

    Returns:
        surface (H, W) kelvin: smooth temperature variation of table and wall (drafts,
            sunlight, a warm appliance), amplitude ``surface_variation_k``.
        sensor (h, w) kelvin at the native resolution: column offsets (fixed pattern noise)
            plus vignetting (``vignetting_k`` at the corners).
    """
    rng = np.random.default_rng([seed, 1])
    coarse = rng.standard_normal((height // 32 + 2, width // 32 + 2))
    surface = ndimage.zoom(coarse, (height / coarse.shape[0], width / coarse.shape[1]), order=3,
                           grid_mode=True, mode="nearest")[:height, :width]
    surface *= thermal.surface_variation_k / max(float(np.abs(surface).max()), 1e-9)
    s = thermal.native_scale
    h, w = -(-height // s), -(-width // s)
    yy, xx = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    sensor = 0.5 * thermal.vignetting_k * (xx**2 + yy**2)
    sensor += rng.normal(0.0, thermal.fixed_pattern_k, w)[None, :]
    return surface, sensor


def scene_temperature(
    labels: np.ndarray,
    mask_visible: np.ndarray,
    liquid_depth: np.ndarray,
    solid_depth: np.ndarray,
    warmth: np.ndarray,
    materials: list[str],
    liquid_temp_c: float,
    thermal,
    surface_field: np.ndarray | None = None,
) -> np.ndarray:
    """(H, W) float64 apparent temperature in kelvin, full resolution, before the sensor.

    Args:
        labels: (H, W) uint8 front-most solid label (LABEL_*), ignoring the liquid.
        mask_visible: (H, W) bool, liquid front-most.
        liquid_depth, solid_depth: (H, W) metres, 0 where nothing.
        warmth: (C,) container warmth this frame (see ``container_warmth``).
        materials: container materials, index = label - LABEL_CONTAINER0.
        liquid_temp_c: liquid temperature, °C.
        thermal: the variant's ``ThermalVariant``.
        surface_field: (H, W) kelvin added on table and wall (see ``static_fields``).
    """
    amb = thermal.ambient_c + KELVIN
    liq = liquid_temp_c + KELVIN
    em = thermal.emissivity
    n = LABEL_CONTAINER0 + len(materials)
    t_label = np.full(n, amb)
    e_label = np.full(n, em.get("background", 0.92))
    t_label[LABEL_BACKGROUND] = amb + thermal.background_offset_k
    t_label[LABEL_TABLE] = amb + thermal.table_offset_k
    e_label[LABEL_TABLE] = em.get("table", 0.9)
    for i, m in enumerate(materials):
        e_label[LABEL_CONTAINER0 + i] = em.get(m, 0.9)
    labels = np.minimum(labels, n - 1)
    temp = t_label[labels]
    emis = e_label[labels]
    if surface_field is not None:
        temp = temp + np.where(labels < LABEL_CONTAINER0, surface_field, 0.0)
    on_container = labels >= LABEL_CONTAINER0
    if on_container.any():
        behind = liquid_depth - solid_depth
        contact = (liquid_depth > 0) & on_container & (behind >= 0) & (
            behind <= thermal.contact_depth_m
        )
        contact = ndimage.gaussian_filter(contact.astype(np.float32), 2.0)
        w = np.zeros(n)
        w[LABEL_CONTAINER0:] = warmth
        f = thermal.bulk_warm_fraction
        rise = (liq - amb) * thermal.wall_steady_fraction * w[labels] * (
            f + (1 - f) * np.clip(2 * contact, 0, 1)
        )
        temp = np.where(on_container, temp + rise, temp)
    temp = np.where(mask_visible, liq, temp)
    emis = np.where(mask_visible, em.get("water", 0.96), emis)
    return emis * temp + (1 - emis) * amb


def thermal_sensor(
    apparent_k: np.ndarray, thermal, rng: np.random.Generator,
    sensor_field: np.ndarray | None = None,
) -> np.ndarray:
    """Sensor model: (H, W) apparent kelvin -> (H, W) uint16 centi-kelvin.

    Integrates over native pixels (native_scale x native_scale), blurs (blur_sigma_px native
    pixels), adds the fixed sensor pattern (``static_fields``) and gaussian noise of sigma
    NETD, resamples bilinearly to (H, W) shifted by the registration offset (pixels), and
    quantises to 0.01 K.
    """
    H, W = apparent_k.shape
    s = thermal.native_scale
    h, w = -(-H // s), -(-W // s)
    padded = np.pad(apparent_k, ((0, h * s - H), (0, w * s - W)), mode="edge")
    native = padded.reshape(h, s, w, s).mean(axis=(1, 3))
    if thermal.blur_sigma_px > 0:
        native = ndimage.gaussian_filter(native, thermal.blur_sigma_px, mode="nearest")
    if sensor_field is not None:
        native = native + sensor_field
    native = native + rng.normal(0.0, thermal.netd_k, native.shape)
    dx, dy = thermal.offset_px
    yy = (np.arange(H) - dy + 0.5) / s - 0.5
    xx = (np.arange(W) - dx + 0.5) / s - 0.5
    coords = np.meshgrid(yy, xx, indexing="ij")
    out = ndimage.map_coordinates(native, coords, order=1, mode="nearest")
    return np.clip(np.rint(out * 100.0), 0, 65535).astype(np.uint16)
