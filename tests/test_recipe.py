"""Recipes load into validated models; every mistake is one line naming the key, exit code 2."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from pourbench.core.errors import PourbenchError
from pourbench.datasets.recipe import builtin_recipes, load_recipe, parse_recipe


def _tiny() -> dict:
    return tomllib.loads(builtin_recipes()["tiny"].read_text())


@pytest.mark.parametrize("name", sorted(builtin_recipes()))
def test_builtin_recipes_load(name):
    recipe = load_recipe(name)
    assert recipe.name == name
    assert recipe.num_sequences >= 1


def _error(data) -> str:
    with pytest.raises(PourbenchError) as e:
        parse_recipe(data, source="r.toml")
    message = str(e.value)
    assert "\n" not in message
    assert e.value.exit_code == 2
    return message


def test_typo_in_key_names_key_and_the_fix_or_what_is_allowed():
    data = _tiny()
    data["scenario"]["fill_levls"] = data["scenario"].pop("fill_levels")
    msg = _error(data)
    assert "scenario.fill_levls" in msg and "did you mean 'fill_levels'" in msg
    assert "allowed:" not in msg  # the likely fix alone keeps the line short
    data = _tiny()
    data["scenario"]["zzz"] = 1
    msg = _error(data)
    assert "unknown key 'scenario.zzz' (allowed: " in msg and "fill_levels" in msg


def test_wrong_type_names_key():
    data = _tiny()
    data["dataset"]["scenarios"] = "many"
    msg = _error(data)
    assert msg.startswith("r.toml: dataset.scenarios:") and "'many'" in msg


def test_out_of_range_names_bound():
    data = _tiny()
    data["scenario"]["particle_radius"] = 0.5
    msg = _error(data)
    assert "scenario.particle_radius" in msg and "0.02" in msg


def test_missing_key():
    data = _tiny()
    del data["scenario"]["fps"]
    assert "missing key 'scenario.fps'" in _error(data)


def test_unknown_motion_lists_allowed():
    data = _tiny()
    data["scenario"]["motions"] = ["wobble"]
    msg = _error(data)
    assert "scenario.motions.0" in msg and "steady" in msg


def test_splits_must_sum_to_one():
    data = _tiny()
    data["dataset"]["splits"] = {"train": 0.5, "val": 0.1, "test": 0.1}
    assert "must be 1" in _error(data)


def test_typo_in_render_table_is_caught():
    data = _tiny()
    data["render"]["widht"] = 64
    msg = _error(data)
    assert "render.widht" in msg


def test_typo_in_sim_table_is_caught():
    data = _tiny()
    data["sim"]["density_tolerence"] = 0.001
    assert "sim.density_tolerence" in _error(data)


def test_unknown_container_preset():
    data = _tiny()
    data["scenario"]["sources"] = ["teapot"]
    msg = _error(data)
    assert "scenario.sources" in msg and "teapot" in msg and "cup" in msg


def test_bad_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = ")
    with pytest.raises(PourbenchError, match="not valid TOML"):
        load_recipe(bad)
    with pytest.raises(PourbenchError, match="not found"):
        load_recipe(tmp_path / "nope.toml")


def test_cli_prints_one_line_and_exits_2(tmp_path):
    text = builtin_recipes()["tiny"].read_text().replace("fill_levels", "fill_levles")
    recipe = tmp_path / "typo.toml"
    recipe.write_text(text)
    proc = subprocess.run(
        [sys.executable, "-m", "pourbench.cli", "generate", str(recipe), "--out",
         str(tmp_path / "out")],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "scenario.fill_levles" in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()


def test_standard_reaches_its_scenarios_solver_settings():
    """`standard` reuses 0.9 of still water's steady pressure, accelerates its density
    iterations and takes one divergence iteration at least (its [sim] table); the other
    recipes keep the solver's default."""
    from pourbench.datasets.sampler import sample_scenario
    from pourbench.sim.scenario import SolverSettings

    standard = sample_scenario(load_recipe("standard"), 0).solver
    assert (standard.warm_start, standard.chebyshev_radius) == (0.9, 0.6)
    assert standard.min_divergence_iterations == 1
    small = sample_scenario(load_recipe("small"), 0).solver
    default = SolverSettings()
    assert (small.warm_start, small.chebyshev_radius) == (default.warm_start, 0.0)
    assert small.min_divergence_iterations == default.min_divergence_iterations == 2
    assert default.chebyshev_radius == 0.0
