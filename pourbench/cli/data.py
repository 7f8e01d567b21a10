"""Data verbs: ``validate``, ``generate``, ``simulate``, ``render``, ``preview``.

Each parses its options, calls the library function of the part that owns the work
(``pourbench.datasets``, ``pourbench.sim``), prints the outcome and picks the exit code.
"""

from __future__ import annotations

from pathlib import Path

import typer

from pourbench.cli.common import ARCH_HELP
from pourbench.core.errors import PourbenchError


def validate(
    paths: list[Path] = typer.Argument(
        ..., help="Sequence files (.h5) and/or folders: a dataset folder (with manifest.json) "
        "or a folder of sequence files, e.g. `pourbench validate DIR/*.h5`."
    ),
    no_checksums: bool = typer.Option(False, help="Skip SHA-256 checks of a folder's files."),
) -> None:
    """Check sequence files or dataset folders against schema v1.

    A dataset folder is checked against its manifest, a folder without one file by file.

    Labels are checked against the simulation where DIR/sims/ is at hand (coverage printed).
    """
    from pourbench.core.coverage import MIN_COVERAGE
    from pourbench.datasets.validate import percent, validate_many

    report = validate_many(paths, checksums=not no_checksums)
    for line in report.problems:
        typer.echo(line)
    c = report.coverage
    if c is None:
        labels = "labels not checked against the simulation (no sims/ at hand)"
    else:
        n = report.sequences_checked
        labels = (
            f"labels: mask/full covers {percent(c.covered, c.in_view, 2)} of {c.in_view} "
            f"in-view particle centres (min {MIN_COVERAGE * 100:g} %), {c.empty_frames} frames "
            f"with water in view have an empty mask ({n} sequence{'' if n == 1 else 's'}, "
            f"{c.frames} frames checked against sims/)"
        )
    what = str(paths[0]) if len(paths) == 1 else (
        f"{len(paths)} paths ({report.files} sequence file{'' if report.files == 1 else 's'})"
    )
    if report.problems:
        typer.echo(f"{what}: {labels}")
        raise PourbenchError(f"{what}: {len(report.problems)} problem(s)", 1)
    typer.echo(f"{what}: valid; {labels}")


def generate(
    recipe: str = typer.Argument(..., help="Recipe TOML file or built-in name (tiny, small, ...)."),
    out: Path = typer.Option(..., "--out", "-o", help="Dataset folder (created or resumed)."),
    workers: int = typer.Option(1, min=1, help="Local worker processes."),
    shard: str | None = typer.Option(None, help="Only scenarios of shard i/N, e.g. 0/4."),
    executor: str = typer.Option("local", help="local (process pool) or ray."),
    address: str | None = typer.Option(None, help="Ray cluster address (e.g. auto)."),
    arch: str = typer.Option("auto", help=ARCH_HELP),
    progress: bool = typer.Option(True, help="Show progress bars."),
) -> None:
    """Generate (or resume) a dataset from a recipe."""
    from pourbench.datasets.generate import generate as generate_dataset
    from pourbench.datasets.recipe import load_recipe

    loaded = load_recipe(recipe)  # a bad recipe fails here, before anything is written
    summary = generate_dataset(loaded, out, workers=workers, shard=shard, executor=executor,
                               address=address, arch=arch, progress=progress)
    typer.echo(f"{out}: {summary.line()}")
    if summary.failures:
        raise PourbenchError(f"{out}: {summary.failures} scenario(s) failed; see manifest.json", 1)


def simulate(
    scene: Path = typer.Argument(..., help="Scene TOML (Scenario fields) or a recipe TOML."),
    out: Path = typer.Option(..., "--out", "-o", help="Particle track file to write (.h5)."),
    arch: str = typer.Option("auto", help=ARCH_HELP),
    radius: float | None = typer.Option(None, help="Override the particle radius (m)."),
    index: int = typer.Option(0, help="For a recipe: which scenario to simulate."),
) -> None:
    """Simulate one pour and write its particle track.

    An unstable run is retried with smaller time steps (pourbench.sim.retry)."""
    from pourbench.datasets.scenes import scenario_from_file
    from pourbench.sim.retry import simulate_with_retries

    scenario = with_particle_radius(scenario_from_file(scene, index), radius)
    if out.is_dir():
        raise PourbenchError(f"{out}: is a folder; --out must be a track file (.h5)")
    done = simulate_with_retries(scenario, out, arch=arch)
    r = done.result
    retried = f", after {done.attempts} attempts (dt_scale {done.dt_scale:g})" \
        if done.attempts > 1 else ""
    rest = r.stats.get("rest_from_s")
    rested = f"; water at rest from t = {rest:.2f} s (later frames repeat it)" \
        if rest is not None else ""
    typer.echo(f"wrote {r.path}: {r.num_particles} particles, {r.num_frames} frames{retried}"
               f"{rested}")


def with_particle_radius(scenario, radius: float | None):
    """``scenario`` with its particle radius replaced by ``radius`` (unchanged when None)."""
    if radius is None:
        return scenario
    from pydantic import ValidationError

    from pourbench.core.errors import describe_validation_error
    from pourbench.sim.scenario import Scenario

    try:
        return Scenario.model_validate({**scenario.model_dump(), "particle_radius": radius})
    except ValidationError as e:
        raise PourbenchError(f"--radius {radius:g}: {describe_validation_error(e, Scenario)}") \
            from None


def render(
    sim: Path = typer.Argument(..., help="Particle track file from `pourbench simulate`."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the sequence files."),
    variants: int = typer.Option(1, min=1, help="Render variants (camera, looks) of the pour."),
    seed: int = typer.Option(0, min=0, help="Seed of the first variant."),
    width: int = typer.Option(320, min=8),
    height: int = typer.Option(240, min=8),
) -> None:
    """Render a particle track into schema-v1 sequence files."""
    from pourbench.datasets.render_track import render_variants

    for path in render_variants(sim, out, variants=variants, seed=seed, width=width,
                                height=height):
        typer.echo(f"wrote {path}")


def preview(
    path: Path = typer.Argument(..., help="A sequence file or a dataset folder."),
    out: Path = typer.Option(..., "--out", "-o", help="preview.png, .gif or .mp4"),
    seed: int = typer.Option(0, help="Which random sequences a folder preview shows."),
) -> None:
    """Contact sheet or animation of a sequence; a grid of sequences for a folder."""
    from pourbench.datasets.preview import preview as make_preview

    typer.echo(f"wrote {make_preview(path, out, seed=seed)}")
