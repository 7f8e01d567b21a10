"""Thermal camera model: radiometry by hand, sensor noise and resolution, wall warming."""

from __future__ import annotations

import numpy as np

from pourbench.render import RenderSettings, sample_variant
from pourbench.render.thermal import (
    KELVIN,
    LABEL_BACKGROUND,
    LABEL_CONTAINER0,
    container_warmth,
    scene_temperature,
    static_fields,
    thermal_sensor,
)


def _thermal(**update):
    t = sample_variant(RenderSettings(), 0).thermal
    return t.model_copy(update=update)


def test_apparent_temperature_by_hand():
    th = _thermal(ambient_c=20.0, background_offset_k=0.0)
    labels = np.full((4, 4), LABEL_BACKGROUND, np.uint8)
    labels[:, 2:] = LABEL_CONTAINER0
    visible = np.zeros((4, 4), bool)
    visible[:2, :2] = True
    zeros = np.zeros((4, 4))
    t = scene_temperature(labels, visible, zeros, zeros, np.array([0.0]), ["metal"], 80.0, th)
    amb = 20.0 + KELVIN
    assert np.allclose(t[:2, :2], 0.96 * (80 + KELVIN) + 0.04 * amb)  # water
    assert np.allclose(t[2:, :2], amb)  # wall at ambient
    assert np.allclose(t[:, 2:], amb)  # cold metal reflects ambient


def test_wetted_wall_warms_where_liquid_touches_it():
    th = _thermal(ambient_c=20.0, contact_depth_m=0.01, bulk_warm_fraction=0.0)
    labels = np.full((40, 40), LABEL_CONTAINER0, np.uint8)
    solid = np.full((40, 40), 0.5)
    liquid = np.zeros((40, 40))
    liquid[20:, :] = 0.505  # liquid 5 mm behind the lower half of the wall
    none = np.zeros((40, 40), bool)
    t = scene_temperature(labels, none, liquid, solid, np.array([0.5]), ["ceramic"], 60.0, th)
    assert t[35, 20] > t[5, 20] + 10
    assert np.isclose(t[5, 20], 20 + KELVIN)


def test_sensor_noise_matches_netd_and_quantises_to_centikelvin():
    th = _thermal(native_scale=1, blur_sigma_px=0.0, offset_px=(0.0, 0.0), netd_k=0.05)
    flat = np.full((200, 200), 300.0)
    out = thermal_sensor(flat, th, np.random.default_rng(0))
    assert out.dtype == np.uint16
    k = out / 100.0
    assert abs(k.mean() - 300.0) < 0.01
    assert abs(k.std() - 0.05) < 0.005


def test_sensor_native_resolution_is_coarser():
    th = _thermal(native_scale=4, blur_sigma_px=0.0, offset_px=(0.0, 0.0), netd_k=0.0)
    img = np.full((64, 64), 300.0)
    img[::2, ::2] = 310.0  # detail finer than a native pixel averages out
    out = thermal_sensor(img, th, np.random.default_rng(0)) / 100.0
    assert out.shape == (64, 64)
    assert np.allclose(out, 302.5, atol=0.011)


def test_container_warmth_grows_while_holding_liquid():
    th = _thermal(source_preheat_s=0.0)
    F = 60
    volume = np.zeros((F, 3))
    volume[:, 0] = np.linspace(100, 0, F)  # source empties
    volume[10:, 1] = 50.0  # target fills from frame 10
    w = container_warmth(volume, ["source", "target", "static"], ["glass", "ceramic", "metal"],
                         30.0, th)
    assert w.shape == (F, 3)
    assert (np.diff(w, axis=0) >= 0).all(), "never cools during a pour"
    assert w[0, 0] == 0 and w[-1, 0] > 0
    assert (w[:11, 1] == 0).all() and w[-1, 1] > 0
    assert (w[:, 2] == 0).all()


def test_static_fields_vignetting_columns_and_surface_amplitude():
    th = _thermal(native_scale=2, vignetting_k=-0.5, fixed_pattern_k=0.0, surface_variation_k=0.4)
    surface, sensor = static_fields(120, 160, th, seed=3)
    assert surface.shape == (120, 160) and sensor.shape == (60, 80)
    assert np.isclose(np.abs(surface).max(), 0.4)
    assert np.isclose(sensor[0, 0], -0.5) and abs(sensor[30, 40]) < 0.01
    th = _thermal(native_scale=2, vignetting_k=0.0, fixed_pattern_k=0.05)
    _, sensor = static_fields(120, 160, th, seed=3)
    assert np.allclose(sensor, sensor[:1]), "one offset per column"
    assert 0.03 < sensor[0].std() < 0.07
    again = static_fields(120, 160, th, seed=3)[1]
    assert np.array_equal(sensor, again)
