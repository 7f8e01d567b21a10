"""A scenario from a file: a scene TOML (Scenario fields) or one scenario of a recipe."""

from __future__ import annotations

from pathlib import Path

from pourbench.core.errors import PourbenchError
from pourbench.core.tomlfile import read_toml
from pourbench.sim.scenario import Scenario, load_scenario


def scenario_from_file(path: str | Path, index: int = 0) -> Scenario:
    """Scenario of a scene file, or scenario ``index`` of a recipe (a file with ``[dataset]``)."""
    path = Path(path)
    data = read_toml(path, "scene or recipe file")
    if "dataset" not in data:
        return load_scenario(path)
    from pourbench.datasets.recipe import parse_recipe
    from pourbench.datasets.sampler import sample_scenario

    recipe = parse_recipe(data, source=str(path))
    if not 0 <= index < recipe.dataset.scenarios:
        raise PourbenchError(
            f"--index {index}: recipe {recipe.name} has scenarios 0..{recipe.dataset.scenarios - 1}"
        )
    return sample_scenario(recipe, index)
