"""Scenarios and variants derive from (dataset seed, index) alone; splits follow the recipe."""

from __future__ import annotations

import tomllib
from collections import Counter

import pytest

from pourbench.datasets import sampler
from pourbench.datasets.recipe import builtin_recipes, parse_recipe


def _recipe(**dataset):
    data = tomllib.loads(builtin_recipes()["tiny"].read_text())
    data["dataset"].update(dataset)
    data["scenario"]["sources"] = ["cup", "mug", "glass"]
    data["scenario"]["targets"] = ["bowl_hemisphere", "bowl_cone", "bowl_flat"]
    data["scenario"]["fill_levels"] = [0.3, 0.5, 0.7]
    data["scenario"]["motions"] = ["steady", "fast", "pour_and_return"]
    return parse_recipe(data)


def test_same_seed_same_scenarios_and_variants_seed_zero_valid():
    a, b = _recipe(scenarios=6), _recipe(scenarios=6)
    assert a.seed == 0
    for i in range(6):
        assert sampler.sample_scenario(a, i) == sampler.sample_scenario(b, i)
        assert sampler.sample_render_variant(a, i, 1) == sampler.sample_render_variant(b, i, 1)


def test_other_seed_other_scenarios():
    a = _recipe(scenarios=6)
    b = parse_recipe({**a.model_dump(mode="json"), "seed": 1})
    assert [sampler.sample_scenario(a, i) for i in range(6)] != [
        sampler.sample_scenario(b, i) for i in range(6)
    ]


def test_scenario_does_not_depend_on_order_of_calls():
    r = _recipe(scenarios=5)
    forward = [sampler.sample_scenario(r, i) for i in range(5)]
    backward = [sampler.sample_scenario(r, i) for i in reversed(range(5))][::-1]
    assert forward == backward


def test_split_counts_follow_fractions():
    r = _recipe(scenarios=20, splits={"train": 0.6, "val": 0.2, "test": 0.2})
    counts = Counter(sampler.scenario_split(r, i) for i in range(20))
    assert counts == {"train": 12, "val": 4, "test": 4}


def test_grid_is_full_factorial_and_held_out_shapes_only_in_test():
    r = _recipe(scenarios=81, sampling="grid", held_out_shapes=["glass", "bowl_flat"])
    combos = {
        (s.source, s.target, s.fill_fraction, s.motion.profile)
        for s in (sampler.sample_scenario(r, i) for i in range(81))
    }
    assert len(combos) == 81
    for i in range(81):
        s = sampler.sample_scenario(r, i)
        uses_held = s.source.shape == "glass" or (
            s.target.shape == "bowl" and s.target.profile == "flat"
        )
        if uses_held:
            assert sampler.scenario_split(r, i) == "test"


def test_random_sampling_keeps_held_out_shapes_out_of_train():
    r = _recipe(scenarios=30, held_out_shapes=["mug"], splits={"train": 0.5, "val": 0.0,
                                                                 "test": 0.5})
    mug = sampler.PRESETS["mug"]
    for i in range(30):
        if sampler.scenario_split(r, i) != "test":
            assert sampler.sample_scenario(r, i).source != mug


def test_held_out_backgrounds_only_in_test():
    r = _recipe(scenarios=4, held_out_backgrounds=["coffee"])
    train = sampler.render_settings(r, "train").background.images
    test = sampler.render_settings(r, "test").background.images
    assert "coffee" not in train and test == ["coffee"]


def test_index_out_of_range():
    with pytest.raises(IndexError):
        sampler.sample_scenario(_recipe(scenarios=2), 2)
