"""The one command-line interface: ``pourbench VERB ...``.

Each verb is a thin shell over a function of the part that owns the work. User-facing
problems (:class:`PourbenchError`) print one line and exit non-zero, never a traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer

from pourbench import __version__
from pourbench.core.errors import PourbenchError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="pourbench: simulated pouring datasets and a benchmark for seeing liquid.",
)

ARCH_HELP = "Taichi backend: auto (CUDA when present), cpu or cuda."


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pourbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages."),
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )


def _not_yet(verb: str, error: ModuleNotFoundError) -> None:
    """A verb whose part is not built yet says so and exits non-zero."""
    if error.name and error.name.startswith("pourbench"):
        raise PourbenchError(f"'pourbench {verb}' is not available yet ({error.name})", 3)
    raise error


@app.command()
def validate(
    path: Path = typer.Argument(..., help="A sequence file (.h5) or a dataset folder."),
    no_checksums: bool = typer.Option(False, help="Skip SHA-256 checks of a folder's files."),
) -> None:
    """Check a sequence file or a whole dataset folder against schema v1.

    Where the particle tracks are at hand (DIR/sims/), the labels are checked against the
    simulation too, and the dataset's label coverage is printed."""
    from pourbench.core.coverage import MIN_COVERAGE
    from pourbench.datasets.validate import percent, validate_report

    report = validate_report(path, checksums=not no_checksums)
    for line in report.problems:
        typer.echo(line)
    c = report.coverage
    if c is None:
        labels = "labels not checked against the simulation (no sims/ at hand)"
    else:
        labels = (
            f"labels: mask/full covers {percent(c.covered, c.in_view, 2)} of {c.in_view} "
            f"in-view particle centres (min {MIN_COVERAGE * 100:g} %), {c.empty_frames} frames "
            f"with water in view have an empty mask ({report.sequences_checked} "
            f"sequence{'' if report.sequences_checked == 1 else 's'}, {c.frames} frames "
            f"checked against sims/)"
        )
    if report.problems:
        typer.echo(f"{path}: {labels}")
        raise PourbenchError(f"{path}: {len(report.problems)} problem(s)", 1)
    typer.echo(f"{path}: valid; {labels}")


@app.command()
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
    from pourbench.datasets.recipe import load_recipe

    loaded = load_recipe(recipe)  # a bad recipe fails here, before anything is written
    try:
        from pourbench.datasets.generate import generate_command
    except ModuleNotFoundError as e:
        _not_yet("generate", e)
    generate_command(loaded, out, workers=workers, shard=shard, executor=executor,
                     address=address, arch=arch, progress=progress)


@app.command()
def simulate(
    scene: Path = typer.Argument(..., help="Scene TOML (Scenario fields) or a recipe TOML."),
    out: Path = typer.Option(..., "--out", "-o", help="Particle track file to write (.h5)."),
    arch: str = typer.Option("auto", help=ARCH_HELP),
    radius: float | None = typer.Option(None, help="Override the particle radius (m)."),
    index: int = typer.Option(0, help="For a recipe: which scenario to simulate."),
) -> None:
    """Simulate one pour and write its particle track."""
    try:
        from pourbench.datasets.scenes import scenario_from_file
        from pourbench.sim.command import simulate_command
    except ModuleNotFoundError as e:
        _not_yet("simulate", e)
    simulate_command(scenario_from_file(scene, index), out, arch=arch, radius=radius)


@app.command()
def render(
    sim: Path = typer.Argument(..., help="Particle track file from `pourbench simulate`."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the sequence files."),
    variants: int = typer.Option(1, min=1, help="Render variants (camera, looks) of the pour."),
    seed: int = typer.Option(0, min=0, help="Seed of the first variant."),
    width: int = typer.Option(320, min=8),
    height: int = typer.Option(240, min=8),
) -> None:
    """Render a particle track into schema-v1 sequence files."""
    try:
        from pourbench.datasets.render_track import render_command
    except ModuleNotFoundError as e:
        _not_yet("render", e)
    render_command(sim, out, variants=variants, seed=seed, width=width, height=height)


@app.command()
def preview(
    path: Path = typer.Argument(..., help="A sequence file or a dataset folder."),
    out: Path = typer.Option(..., "--out", "-o", help="preview.png, .gif or .mp4"),
    seed: int = typer.Option(0, help="Which random sequences a folder preview shows."),
) -> None:
    """Contact sheet or animation of a sequence; a grid of sequences for a folder."""
    try:
        from pourbench.datasets.preview import preview_command
    except ModuleNotFoundError as e:
        _not_yet("preview", e)
    preview_command(path, out, seed=seed)


@app.command()
def train(
    model: str = typer.Option(..., help="cnn, multiframe or lstm."),
    data: Path = typer.Option(..., help="Dataset folder (with train/ and val/)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder for checkpoints and logs."),
    modality: str = typer.Option("rgb", help="rgb, thermal or rgb+thermal."),
    task: str = typer.Option("detection", help="detection, tracking or both."),
    epochs: int = typer.Option(10, min=1),
    batch_size: int = typer.Option(4, min=1),
    lr: float = typer.Option(1e-3, min=0),
    seed: int = typer.Option(0, min=0),
    resume: bool = typer.Option(False, help="Continue from RUN/last.pt."),
    workers: int = typer.Option(0, min=0, help="DataLoader worker processes."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    clip_len: int = typer.Option(8, min=1, help="Frames per training clip."),
    size: str | None = typer.Option(None, help="Resize frames to WIDTHxHEIGHT, e.g. 160x120."),
    pos_weight: str | None = typer.Option(None, help="Positive-class weight: a number or auto."),
    width: float = typer.Option(1.0, min=0.05, help="Channel-width multiplier of the model."),
) -> None:
    """Train a baseline on a generated dataset."""
    try:
        from pourbench.benchmark.train import train_command
    except ModuleNotFoundError as e:
        _not_yet("train", e)
    result = train_command(
        model=model, data=data, out=out, modality=modality, task=task, epochs=epochs,
        batch_size=batch_size, lr=lr, seed=seed, resume=resume, num_workers=workers,
        device=device, clip_len=clip_len, size=size, pos_weight=pos_weight, width=width,
    )
    typer.echo(f"best validation F1 {result.best_f1:.3f} at epoch {result.best_epoch}: "
               f"{result.best_checkpoint}")


@app.command()
def predict(
    checkpoint: Path = typer.Option(..., help="RUN/best.pt from `pourbench train`."),
    data: Path = typer.Option(..., help="Folder of test sequences (e.g. DIR/test)."),
    out: Path = typer.Option(..., "--out", "-o", help="predictions.h5 to write."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
) -> None:
    """Write a model's predictions for every sequence of a folder."""
    try:
        from pourbench.benchmark.predict import predict_command
    except ModuleNotFoundError as e:
        _not_yet("predict", e)
    for path in predict_command(checkpoint=checkpoint, data=data, out=out, device=device):
        typer.echo(f"wrote {path}")


@app.command()
def score(
    predictions: Path = typer.Argument(..., help="predictions.h5"),
    gt: Path = typer.Option(..., help="Ground-truth folder (e.g. DIR/test)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Results folder."),
    task: str | None = typer.Option(None, help="detection or tracking (default: file attr)."),
) -> None:
    """Score predictions against ground truth: the leaderboard evaluation script."""
    try:
        from pourbench.benchmark.score import score_command
    except ModuleNotFoundError as e:
        _not_yet("score", e)
    results = score_command(predictions, gt, out, task)
    typer.echo(results.summary())


@app.command()
def leaderboard(
    results: list[Path] = typer.Argument(..., help="results.json files or results folders."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for leaderboard.md/.html."),
    aggregation: str = typer.Option("all_pixels", help="all_pixels or sequence_mean."),
) -> None:
    """Merge several score results into a leaderboard (Markdown and HTML)."""
    try:
        from pourbench.benchmark.leaderboard import leaderboard_command
    except ModuleNotFoundError as e:
        _not_yet("leaderboard", e)
    typer.echo(leaderboard_command(results, out, aggregation).to_markdown())


@app.command()
def demo(
    out: Path = typer.Option(Path("demo_out"), "--out", "-o", help="Folder for all outputs."),
    recipe: str = typer.Option("small", help="Recipe to generate."),
    epochs: int = typer.Option(20, min=1, help="Training epochs per baseline."),
    seeds: int = typer.Option(1, min=1, help="Training seeds per baseline (mean and spread)."),
    arch: str = typer.Option("auto", help=ARCH_HELP),
) -> None:
    """The main job: generate, train three baselines, predict, score, leaderboard."""
    try:
        from pourbench.demo import run_demo
    except ModuleNotFoundError as e:
        _not_yet("demo", e)
    run_demo(out, recipe=recipe, epochs=epochs, seeds=seeds, arch=arch)


@app.command()
def bench(
    part: str = typer.Argument(..., help="sim, render, loader or peer (SPlisHSPlasH)."),
    args: list[str] | None = typer.Argument(None, help="Arguments for the benchmark."),
) -> None:
    """Run a speed benchmark (simulator, renderer, loader and models)."""
    modules = {
        "sim": "pourbench.benchmark.perf.sim_dambreak",
        "render": "pourbench.benchmark.perf.render_fps",
        "loader": "pourbench.benchmark.perf.loader_models",
        "peer": "pourbench.benchmark.perf.peer_splishsplash",
    }
    if part not in modules:
        raise PourbenchError(f"unknown benchmark {part!r} (allowed: {', '.join(modules)})")
    import importlib

    try:
        module = importlib.import_module(modules[part])
    except ModuleNotFoundError as e:
        _not_yet(f"bench {part}", e)
    module.main(list(args or []))


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning user-facing errors into one line and an exit code."""
    try:
        app(args=argv)
    except PourbenchError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)


if __name__ == "__main__":
    main()
