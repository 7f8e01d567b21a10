"""Recipes: TOML files that describe a whole dataset, loaded into validated models.

A recipe names the dataset seed, how many scenarios (simulations) and render variants to
make, the scenario space the sampler draws from, and the render settings. Unknown keys,
wrong types and out-of-range values are errors that name the key and what is allowed.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pourbench.core.errors import PourbenchError, describe_validation_error
from pourbench.core.tomlfile import read_toml

Range = Annotated[
    tuple[float, float], Field(description="[low, high] inclusive; low == high fixes the value")
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SplitFractions(Strict):
    train: float = Field(0.7, ge=0, le=1, description="fraction of scenarios for training")
    val: float = Field(0.15, ge=0, le=1, description="fraction of scenarios for validation")
    test: float = Field(0.15, ge=0, le=1, description="fraction of scenarios for testing")

    @model_validator(mode="after")
    def _sum_to_one(self) -> SplitFractions:
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train + val + test must be 1 (got {total:g})")
        return self


class DatasetSection(Strict):
    scenarios: int = Field(
        ge=1, le=100_000,
        description="distinct fluid simulations; in 'grid' sampling, 0 < scenarios <= grid size",
    )
    variants_per_scenario: int = Field(
        1, ge=1, le=1000, description="render variants (camera, lights, textures) per simulation"
    )
    sampling: Literal["random", "grid"] = Field(
        "random",
        description="'random': each scenario draws from the ranges; 'grid': the full factorial "
        "of sources x targets x fill_levels x motions, in order",
    )
    splits: SplitFractions = Field(default_factory=SplitFractions)
    held_out_shapes: list[str] = Field(
        default_factory=list,
        description="container presets seen only in the test split (unseen shapes)",
    )
    held_out_backgrounds: list[str] = Field(
        default_factory=list, description="background names seen only in the test split"
    )


class ScenarioSpace(Strict):
    sources: list[str] = Field(min_length=1, description="source container presets (pouring cup)")
    targets: list[str] = Field(min_length=1, description="target container presets (bowls)")
    fill_levels: list[Annotated[float, Field(gt=0, le=0.95)]] = Field(
        min_length=1, description="fill fractions of the source; 'random' sampling jitters them"
    )
    motions: list[Literal["steady", "fast", "pour_and_return"]] = Field(
        min_length=1, description="tilt profiles"
    )
    max_angle_deg: Range = Field((95.0, 125.0), description="maximum tilt, degrees")
    temperature_c: Range = Field((45.0, 80.0), description="liquid temperature, degC")
    viscosity: Range = Field((1.0e-6, 1.0e-6), description="kinematic viscosity, m^2/s")
    duration_s: float = Field(gt=0, le=60, description="simulated seconds per pour")
    fps: float = Field(gt=0, le=240, description="video frame rate")
    particle_radius: float = Field(gt=0.0005, le=0.02, description="SPH particle radius, m")


class Recipe(Strict):
    name: str = Field(min_length=1, description="recipe name")
    description: str = Field("", description="one line about what this recipe is for")
    seed: int = Field(ge=0, le=2**63 - 1, description="dataset seed; 0 is a valid seed")
    dataset: DatasetSection
    scenario: ScenarioSpace
    sim: dict[str, Any] = Field(
        default_factory=dict, description="solver settings passed to the simulator"
    )
    render: dict[str, Any] = Field(
        default_factory=dict, description="render settings (resolution, camera, looks)"
    )

    @model_validator(mode="after")
    def _check_parts(self) -> Recipe:
        unknown = sorted(set(self.dataset.held_out_shapes) - set(self.scenario.sources)
                         - set(self.scenario.targets))
        if unknown:
            raise ValueError(f"dataset.held_out_shapes {unknown} are not in sources or targets")
        held = set(self.dataset.held_out_shapes)
        for key in ("sources", "targets"):
            if held and set(getattr(self.scenario, key)) <= held:
                raise ValueError(f"dataset.held_out_shapes holds out every one of scenario.{key}")
        if self.dataset.sampling == "grid" and self.dataset.scenarios > self.grid_size:
            raise ValueError(
                f"dataset.scenarios = {self.dataset.scenarios} exceeds the grid of "
                f"{self.grid_size} combinations"
            )
        return self

    @property
    def grid_size(self) -> int:
        s = self.scenario
        return len(s.sources) * len(s.targets) * len(s.fill_levels) * len(s.motions)

    @property
    def num_sequences(self) -> int:
        return self.dataset.scenarios * self.dataset.variants_per_scenario


def builtin_recipes() -> dict[str, Path]:
    """Recipes shipped with pourbench, by name (``tiny``, ``small``, ...)."""
    folder = resources.files("pourbench.datasets")
    return {
        Path(p.name).stem: Path(str(p))
        for p in folder.iterdir()
        if p.name.endswith(".toml")
    }


def resolve_recipe_path(name_or_path: str | Path) -> Path:
    """A path to a TOML file, or the name of a built-in recipe."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if p.is_dir():
            raise PourbenchError(f"{p}: is a folder, not a recipe file")
        if not p.is_file():
            raise PourbenchError(f"{p}: recipe file not found")
        return p
    builtin = builtin_recipes()
    if str(name_or_path) in builtin:
        return builtin[str(name_or_path)]
    raise PourbenchError(
        f"{name_or_path}: not a recipe file nor a built-in recipe "
        f"(built-in: {', '.join(sorted(builtin))})"
    )


def load_recipe(name_or_path: str | Path) -> Recipe:
    """Load and validate a recipe; any problem raises one-line :class:`PourbenchError`."""
    path = resolve_recipe_path(name_or_path)
    return parse_recipe(read_toml(path, "recipe file"), source=str(path))


def parse_recipe(data: dict[str, Any], source: str = "recipe") -> Recipe:
    """Validate a recipe given as a dict (e.g. parsed TOML, or JSON from a manifest)."""
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as e:
        raise PourbenchError(f"{source}: {describe_validation_error(e, Recipe)}") from e
    _validate_parts(recipe, source)
    return recipe


def _validate_parts(recipe: Recipe, source: str) -> None:
    """Check container names and the [sim] and [render] tables against their owners' models."""
    from pourbench.datasets.parts import (
        render_settings_model,
        sim_settings_model,
        validate_presets,
    )

    try:
        validate_presets(recipe.scenario.sources, "scenario.sources")
        validate_presets(recipe.scenario.targets, "scenario.targets")
    except PourbenchError as e:
        raise PourbenchError(f"{source}: {e}") from e
    for section, model in (("sim", sim_settings_model()), ("render", render_settings_model())):
        try:
            model.model_validate(getattr(recipe, section))
        except ValidationError as e:
            raise PourbenchError(
                f"{source}: {describe_validation_error(e, model, section)}"
            ) from e
