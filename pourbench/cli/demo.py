"""``pourbench demo``: the main job end to end on this machine, into one folder.

Generate the ``small`` recipe, look at it, train the three baselines, predict, score and
print the leaderboard. Everything lands in ``out``: ``data/`` (the dataset), ``preview.png``
and ``dataset.png``, ``runs/``, ``predictions/``, ``results/`` (PR curves) and
``leaderboard.{md,html}``. Rerunning resumes the dataset and retrains the models.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import typer

from pourbench.cli.common import ARCH_HELP

log = logging.getLogger(__name__)


def run_demo(
    out: str | Path, recipe: str = "small", epochs: int = 20, seeds: int = 1, arch: str = "auto"
) -> Path:
    """Run the whole pipeline into ``out``; return the leaderboard's Markdown path."""
    from pourbench.benchmark.study import StudySettings, run_study
    from pourbench.datasets.generate import generate
    from pourbench.datasets.manifest import Manifest
    from pourbench.datasets.preview import preview_folder, preview_sequence
    from pourbench.datasets.recipe import load_recipe

    out = Path(out)
    start = time.perf_counter()
    loaded = load_recipe(recipe)
    data = out / "data"
    print(f"[1/4] generating '{loaded.name}': {loaded.num_sequences} sequences -> {data}")
    summary = generate(loaded, data, workers=min(2, os.cpu_count() or 1), arch=arch)
    print(f"      {summary.line()}")

    print("[2/4] previews")
    first_test = next(e for e in Manifest.load(data).sequences if e.split == "test")
    preview_sequence(data / first_test.path, out / "preview.png")
    preview_folder(data, out / "dataset.png")

    print(f"[3/4] training cnn, multiframe, lstm ({epochs} epochs, {seeds} seed(s) each), "
          "predicting, scoring")
    board = run_study(data, out, seeds=range(seeds), settings=StudySettings(epochs=epochs))

    print("[4/4] leaderboard (test split)\n")
    print(board.to_markdown())
    minutes = (time.perf_counter() - start) / 60
    print(f"\nDone in {minutes:.1f} min. Open {out / 'leaderboard.html'}, {out / 'preview.png'},"
          f" {out / 'results'}/*/pr_*.png")
    return out / "leaderboard.md"


def demo(
    out: Path = typer.Option(Path("demo_out"), "--out", "-o", help="Folder for all outputs."),
    recipe: str = typer.Option("small", help="Recipe to generate."),
    epochs: int = typer.Option(20, min=1, help="Training epochs per baseline."),
    seeds: int = typer.Option(1, min=1, help="Training seeds per baseline (mean and spread)."),
    arch: str = typer.Option("auto", help=ARCH_HELP),
) -> None:
    """The main job: generate, train three baselines, predict, score, leaderboard."""
    run_demo(out, recipe=recipe, epochs=epochs, seeds=seeds, arch=arch)
