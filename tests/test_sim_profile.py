"""The pour profiler (`benchmark/perf/sim_profile.py`): its per-window timeline adds up to the
pour it ran, and it profiles a recipe's scenario as the generator would simulate it."""

import math

import pytest

from pourbench.benchmark.perf.sim_profile import load_profile_scenario, profile_pour
from pourbench.core.errors import PourbenchError


def test_windows_add_up_to_the_pour(tmp_path):
    scene = tmp_path / "coarse.toml"
    scene.write_text('source = "cup"\nduration_s = 0.2\nparticle_radius = 0.003\nseed = 0\n'
                     '[motion]\nprofile = "fast"\nstart_s = 0.0\ntilt_duration_s = 0.6\n')
    res = profile_pour(str(scene), None, arch="cpu", window=0.1)
    rows, pour = res["windows"], res["pour"]
    assert len(rows) == 2
    assert rows[0]["t_start"] == 0.0 and rows[1]["t_start"] == rows[0]["t_end"]
    assert rows[-1]["t_end"] == pytest.approx(0.2, abs=1e-6)
    assert sum(w["steps"] for w in rows) == pour["steps"]
    for w in rows:
        assert w["mean_dt"] * w["steps"] == pytest.approx(w["t_end"] - w["t_start"], rel=1e-6)
        assert w["density_iterations"] >= 2 and w["divergence_iterations"] >= 2
        assert w["wall_s_per_sim_s"] == pytest.approx(w["wall_s"] / (w["t_end"] - w["t_start"]))
        assert math.isfinite(w["vmax_median"]) and w["vmax_median"] >= 0.0
    assert sum(pour["dt_limited_by"].values()) == pour["steps"]  # each step, one bound
    iterations = sum(w["density_iterations"] * w["steps"] for w in rows) / pour["steps"]
    assert iterations == pytest.approx(pour["mean_density_iterations"])


def test_a_recipe_scenario_is_the_generators():
    from pourbench.datasets.recipe import load_recipe
    from pourbench.datasets.sampler import sample_scenario

    assert load_profile_scenario(None, "tiny", 1) == sample_scenario(load_recipe("tiny"), 1)
    with pytest.raises(PourbenchError, match="outside 0..1"):
        load_profile_scenario(None, "tiny", 2)
    with pytest.raises(PourbenchError, match="not both"):
        load_profile_scenario(None)
    with pytest.raises(PourbenchError, match="not both"):
        load_profile_scenario("x.toml", "tiny")
