"""Render settings and variants: validation, determinism by seed, JSON round trip, textures."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest
from pydantic import ValidationError

from pourbench.render import RenderSettings, RenderVariant, sample_variant
from pourbench.render.textures import BACKGROUND_IMAGES, load_background_image, make_texture
from pourbench.render.variant import TextureSpec


def test_same_seed_same_variant_and_seeds_differ():
    s = RenderSettings()
    assert sample_variant(s, 7) == sample_variant(s, 7)
    dumps = {json.dumps(sample_variant(s, k).model_dump(), sort_keys=True) for k in range(20)}
    assert len(dumps) == 20


def test_variant_json_round_trip():
    v = sample_variant(RenderSettings(width=64, height=48), 3)
    again = RenderVariant.model_validate_json(v.model_dump_json())
    assert again == v
    json.dumps(v.model_dump())  # plain JSON types only


def test_variants_respect_settings_ranges():
    s = RenderSettings.model_validate({
        "camera": {"elevation_deg": [20, 21], "distance_m": [0.5, 0.5]},
        "lights": {"count": [2, 2]},
        "liquid": {"looks": {"opaque": 1.0}},
        "background": {"kinds": {"image": 1.0}, "images": ["coffee"]},
        "thermal": {"ambient_c": [22, 23], "native_scale": 4},
    })
    for seed in range(10):
        v = sample_variant(s, seed)
        assert 20 <= v.camera.elevation_deg <= 21 and v.camera.distance_m == 0.5
        assert len(v.lights) == 2
        assert v.liquid.look == "opaque" and v.liquid.alpha == 1.0
        assert v.background.kind == "image" and v.background.image == "coffee"
        assert 22 <= v.thermal.ambient_c <= 23 and v.thermal.native_scale == 4


@pytest.mark.parametrize(
    "bad",
    [
        {"widht": 320},  # misspelt key
        {"camera": {"elevation_deg": [40, 10]}},  # low > high
        {"camera": {"elevation_deg": [10, 95]}},  # out of bounds
        {"background": {"images": ["not_an_image"]}},
        {"liquid": {"looks": {"clear": 0.0}}},  # no positive weight
        {"liquid": {"looks": {"lava": 1.0}}},
        {"thermal": {"emissivity": {"water": 1.5}}},
    ],
)
def test_bad_settings_are_rejected(bad):
    with pytest.raises(ValidationError):
        RenderSettings.model_validate(bad)


def test_every_field_describes_itself():
    from pourbench.render import variant as vm

    for model in (vm.CameraSettings, vm.LightSettings, vm.ThermalSettings, vm.SurfaceSettings,
                  vm.ContainerSettings, vm.LiquidSettings, vm.BackgroundSettings):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"


def test_background_images_ship_with_scikit_image(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    load_background_image.cache_clear()
    for name in BACKGROUND_IMAGES:
        img = load_background_image(name)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
        assert min(img.shape[:2]) >= 64


@pytest.mark.parametrize("kind", ["wood", "checker", "noise", "stripes", "plain"])
def test_procedural_textures_are_seeded(kind):
    spec = TextureSpec(kind=kind, color_a=(0.1, 0.2, 0.3), color_b=(0.9, 0.8, 0.7), scale=4,
                       seed=5)
    a, b = make_texture(spec), make_texture(spec)
    assert a.shape == (256, 256, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    if kind != "plain":
        assert a.std() > 5, "a pattern, not a flat colour"
