"""Scenario models, presets, TOML loading, motion profiles (no Taichi needed)."""

import math
from pathlib import Path

import numpy as np
import pytest

from pourbench.core.errors import PourbenchError
from pourbench.sim import PRESETS, ContainerSpec, PourMotion, Scenario, load_scenario
from pourbench.sim.motion import tilt_angle, tilting_pose

SCENE = Path(__file__).resolve().parents[1] / "sim" / "scenes" / "pour_cup_bowl.toml"


def test_every_field_is_described_and_unknown_keys_fail():
    for model in (Scenario, ContainerSpec, PourMotion):
        for name, f in model.model_fields.items():
            assert f.description, f"{model.__name__}.{name} has no description"
    with pytest.raises(ValueError, match="extra"):
        Scenario.model_validate({"fill_fractoin": 0.5})


def test_presets_by_name_and_bowls_profiles():
    s = Scenario.model_validate({"source": "mug", "target": "bowl_cone"})
    assert s.source == PRESETS["mug"] and s.target.profile == "cone"
    assert {"cup", "mug", "glass", "bottle", "bowl_hemisphere", "bowl_cone", "bowl_flat", "dish",
            "pot"} <= set(PRESETS)
    with pytest.raises(ValueError, match="allowed: cup"):
        Scenario.model_validate({"source": "teapot"})


def test_mesh_shape_needs_a_path():
    with pytest.raises(ValueError, match="mesh"):
        ContainerSpec(shape="mesh")


def test_load_example_scene_and_errors_are_one_line(tmp_path):
    s = load_scenario(SCENE)
    assert s.source.shape == "cup" and s.liquid.temperature_c == 60.0
    bad = tmp_path / "bad.toml"
    bad.write_text("fill_fraction = 1.5\n")
    with pytest.raises(PourbenchError) as e:
        load_scenario(bad)
    msg = str(e.value)
    assert "fill_fraction" in msg and "0.95" in msg and "\n" not in msg
    bad.write_text("[motion]\nspeed = 3\n")
    with pytest.raises(PourbenchError, match=r"unknown key 'motion.speed' \(allowed: .*profile"):
        load_scenario(bad)
    with pytest.raises(PourbenchError, match="no such scenario"):
        load_scenario(tmp_path / "missing.toml")


@pytest.mark.parametrize("profile", ["steady", "fast", "pour_and_return"])
def test_tilt_profiles(profile):
    m = PourMotion(profile=profile, max_angle_deg=90, start_s=0.5, tilt_duration_s=1.2, hold_s=0.4)
    assert tilt_angle(m, 0.0) == 0.0 and tilt_angle(m, 0.5) == 0.0
    peak = tilt_angle(m, 0.5 + 1.2)
    assert peak == pytest.approx(math.pi / 2)
    if profile == "fast":
        assert tilt_angle(m, 0.5 + 0.4) == pytest.approx(math.pi / 2)
    if profile == "pour_and_return":
        assert tilt_angle(m, 0.5 + 1.2 + 0.4 + 1.2) == pytest.approx(0.0, abs=1e-12)
    if profile == "steady":
        assert tilt_angle(m, 0.5 + 0.6) == pytest.approx(math.pi / 4)


def test_tilting_pose_keeps_the_pivot_fixed_and_tips_towards_plus_x():
    m = PourMotion(profile="steady", max_angle_deg=90, start_s=0.0, tilt_duration_s=1.0)
    base, pivot = np.array([0.1, 0.2, 0.0]), np.array([0.04, 0.09, 0.0])
    pose = tilting_pose(m, base, pivot)
    np.testing.assert_allclose(pose(0.0)[:3, 3], base)
    for t in (0.3, 1.0):
        np.testing.assert_allclose((pose(t) @ np.r_[pivot, 1])[:3], base + pivot, atol=1e-12)
    up = pose(1.0)[:3, :3] @ np.array([0.0, 1.0, 0.0])  # the cup's axis after 90 degrees
    np.testing.assert_allclose(up, [1.0, 0.0, 0.0], atol=1e-12)
