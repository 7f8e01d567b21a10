"""Draw scenarios and render variants from a recipe: everything from (dataset seed, index).

A scenario's parameters, its split and the seeds of its render variants depend only on
the recipe, the dataset seed and the scenario index, never on which worker runs it or in
what order, so a sharded, pooled or Ray run makes the same dataset as a serial one.
"""

from __future__ import annotations

import itertools

import numpy as np

from pourbench.core.splits import SPLITS
from pourbench.datasets.recipe import Recipe
from pourbench.render.variant import RenderSettings, RenderVariant, sample_variant
from pourbench.sim.scenario import PRESETS, LiquidSpec, PourMotion, Scenario, SolverSettings

# Stream tags keep the scenario, split and variant random streams independent.
_SCENARIO, _SPLIT, _VARIANT = 1, 2, 3
MAX_SEED = 2**31 - 1


def _rng(recipe: Recipe, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([recipe.seed, *key]))


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    lo, hi = bounds
    return float(lo if lo == hi else rng.uniform(lo, hi))


def scenario_split(recipe: Recipe, index: int) -> str:
    """Split of scenario ``index``: a seeded permutation of all scenarios cut by the fractions.

    On a grid, a scenario that uses a held-out container shape always goes to ``test``;
    with random sampling, held-out shapes are only drawn for ``test`` scenarios.
    """
    n = recipe.dataset.scenarios
    if not 0 <= index < n:
        raise IndexError(f"scenario index {index} outside 0..{n - 1}")
    held = set(recipe.dataset.held_out_shapes)
    if recipe.dataset.sampling == "grid" and held & set(_grid(recipe)[index][:2]):
        return "test"
    rank = int(np.flatnonzero(_rng(recipe, _SPLIT).permutation(n) == index)[0])
    f = recipe.dataset.splits
    bounds = np.round(np.cumsum([f.train, f.val, f.test]) * n)
    return SPLITS[min(int(np.searchsorted(bounds, rank, side="right")), 2)]


def _grid(recipe: Recipe) -> list[tuple[str, str, float, str]]:
    s = recipe.scenario
    return list(itertools.product(s.sources, s.targets, s.fill_levels, s.motions))


def _combination(recipe: Recipe, index: int) -> tuple[str, str, float, str]:
    """(source, target, fill level, motion) of scenario ``index``."""
    if recipe.dataset.sampling == "grid":
        return _grid(recipe)[index]
    s = recipe.scenario
    rng = _rng(recipe, _SCENARIO, index, 0)
    held = set(recipe.dataset.held_out_shapes)
    if scenario_split(recipe, index) == "test":
        sources, targets = list(s.sources), list(s.targets)
    else:
        sources = [x for x in s.sources if x not in held]
        targets = [x for x in s.targets if x not in held]
    return (
        str(rng.choice(sources)),
        str(rng.choice(targets)),
        float(rng.choice(s.fill_levels)),
        str(rng.choice(s.motions)),
    )


def sample_scenario(recipe: Recipe, index: int) -> Scenario:
    """The fully specified scenario number ``index`` of ``recipe``."""
    if not 0 <= index < recipe.dataset.scenarios:
        raise IndexError(f"scenario index {index} outside 0..{recipe.dataset.scenarios - 1}")
    s = recipe.scenario
    source, target, fill, motion = _combination(recipe, index)
    rng = _rng(recipe, _SCENARIO, index, 1)
    if recipe.dataset.sampling == "random":
        fill = float(np.clip(fill + rng.uniform(-0.05, 0.05), 0.05, 0.95))
    d = s.duration_s
    # short clips pour within ~1.5 s; long ones spread the tilt over 40 % of the clip
    tilt_s = max(0.05, min(0.5 * d, max(1.5, 0.4 * d)))
    hold_s = max(min(0.5, d / 5), 0.1 * d)
    return Scenario(
        source=PRESETS[source],
        target=PRESETS[target],
        fill_fraction=fill,
        motion=PourMotion(
            profile=motion,
            max_angle_deg=_uniform(rng, s.max_angle_deg),
            start_s=min(0.1, d / 10),
            tilt_duration_s=tilt_s,
            hold_s=hold_s,
        ),
        liquid=LiquidSpec(
            kinematic_viscosity=_uniform(rng, s.viscosity),
            temperature_c=_uniform(rng, s.temperature_c),
        ),
        solver=SolverSettings.model_validate(recipe.sim),
        duration_s=s.duration_s,
        fps=s.fps,
        particle_radius=s.particle_radius,
        seed=int(rng.integers(0, MAX_SEED)),
    )


def variant_seed(recipe: Recipe, scenario_index: int, variant_index: int) -> int:
    """Seed of one render variant, from (dataset seed, scenario, variant) alone."""
    rng = _rng(recipe, _VARIANT, scenario_index, variant_index)
    return int(rng.integers(0, MAX_SEED))


def render_settings(recipe: Recipe, split: str) -> RenderSettings:
    """The recipe's render settings for ``split``: held-out backgrounds only in ``test``."""
    settings = RenderSettings.model_validate(recipe.render)
    held = set(recipe.dataset.held_out_backgrounds)
    if not held:
        return settings
    images = settings.background.images
    chosen = [i for i in images if i in held] if split == "test" else [
        i for i in images if i not in held
    ]
    background = settings.background.model_copy(update={"images": chosen or images})
    return settings.model_copy(update={"background": background})


def sample_render_variant(recipe: Recipe, scenario_index: int, variant_index: int) -> RenderVariant:
    """Render variant ``variant_index`` of scenario ``scenario_index``."""
    split = scenario_split(recipe, scenario_index)
    seed = variant_seed(recipe, scenario_index, variant_index)
    return sample_variant(render_settings(recipe, split), seed)


def sequence_number(recipe: Recipe, scenario_index: int, variant_index: int) -> int:
    """Dataset-wide number of a sequence: scenarios major, variants minor."""
    return scenario_index * recipe.dataset.variants_per_scenario + variant_index
