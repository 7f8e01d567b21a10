"""``pourbench demo`` and ``pourbench study``: whole jobs end to end, each into one folder.

Generate the ``small`` recipe, look at it, train the three baselines, predict, score and
print the leaderboard. Everything lands in ``out``: ``data/`` (the dataset), ``preview.png``
and ``dataset.png``, ``runs/``, ``predictions/``, ``results/`` (PR curves) and
``leaderboard.{md,html}``. Rerunning resumes the dataset and retrains the models.

``study`` is the same loop at research scale (the ``study`` recipe): the three models in
each modality over several seeds, the multi-frame window sweep, hidden-water share of the
test split, bootstrap differences (``differences.md``) and ``study.json`` with its times.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import typer

from pourbench.cli.common import ARCH_HELP
from pourbench.core.errors import PourbenchError
from pourbench.core.schema import MODALITY_CHANNELS

log = logging.getLogger(__name__)


def generate_into(out: Path, recipe: str, arch: str, step: str) -> Path:
    """Generate (or resume) ``recipe`` into ``out/data`` with up to 2 workers, printing the
    ``step`` line and the generator's summary; return the data folder."""
    from pourbench.datasets.generate import generate
    from pourbench.datasets.recipe import load_recipe

    loaded = load_recipe(recipe)
    data = out / "data"
    print(f"{step} generating '{loaded.name}': {loaded.num_sequences} sequences -> {data}")
    summary = generate(loaded, data, workers=min(2, os.cpu_count() or 1), arch=arch)
    print(f"      {summary.line()}")
    return data


def run_demo(
    out: str | Path, recipe: str = "small", epochs: int = 20, seeds: int = 1, arch: str = "auto"
) -> Path:
    """Run the whole pipeline into ``out``; return the leaderboard's Markdown path."""
    from pourbench.benchmark.study import StudySettings, run_study
    from pourbench.datasets.manifest import Manifest
    from pourbench.datasets.preview import preview_folder, preview_sequence

    out = Path(out)
    start = time.perf_counter()
    data = generate_into(out, recipe, arch, "[1/4]")

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


def run_full_study(
    out: str | Path,
    recipe: str = "study",
    data: str | Path | None = None,
    epochs: int = 8,
    seeds: int = 3,
    modalities: tuple[str, ...] = tuple(MODALITY_CHANNELS),
    windows: tuple[int, ...] = (2, 8),
    size: tuple[int, int] | None = (60, 80),  # (H, W); None: the recipe's size
    arch: str = "auto",
) -> Path:
    """Generate ``recipe`` (or use ``data``), then the temporal-model study into ``out``:
    every model x modality x seed, the multi-frame window sweep and the stateful LSTM on
    RGB, the leaderboard, the bootstrap differences and ``study.json`` (times, hidden-water
    share, settings)."""
    from pourbench.benchmark.study import MODELS, StudySettings, run_study
    from pourbench.core.atomic import write_text_atomic
    from pourbench.datasets.occlusion import hidden_share

    out = Path(out)
    start = time.perf_counter()
    generated_here = data is None
    if generated_here:
        data = generate_into(out, recipe, arch, "[1/3]")
    else:
        data = Path(data)
        print(f"[1/3] using the dataset in {data}")
    generated = time.perf_counter()
    share = hidden_share(data, "test")
    print(f"      test split: {100 * share.fraction:.1f} % of mask/full pixels are hidden "
          f"(not mask/visible), over {share.sequences} sequences")

    settings = StudySettings(epochs=epochs, size=size)
    extra = (*((f"multiframe-k{k}", "rgb") for k in windows), ("lstm-tbptt", "rgb"))
    runs = len(seeds_range := range(seeds)) * (len(MODELS) * len(modalities) + len(extra))
    print(f"[2/3] {runs} training runs: {', '.join(MODELS)} x {', '.join(modalities)} x "
          f"{seeds} seed(s); on rgb also multiframe windows {', '.join(map(str, windows)) or '-'}"
          f" and the LSTM trained on whole sequences (lstm-tbptt); "
          f"{epochs} epochs each")
    board = run_study(data, out, models=MODELS, seeds=seeds_range, settings=settings,
                      modalities=modalities, extra=extra)  # fmt: skip
    finished = time.perf_counter()
    record = {
        "recipe": recipe if generated_here else None,
        "data": str(data),
        "generation_seconds": round(generated - start, 1),
        "study_seconds": round(finished - generated, 1),
        "test_hidden_share": share.as_dict(),
        "epochs": epochs, "seeds": seeds, "modalities": list(modalities),
        "windows": list(windows), "size": list(size) if size else None,
    }  # fmt: skip
    write_text_atomic(out / "study.json", json.dumps(record, indent=2) + "\n")
    print("[3/3] leaderboard (test split)\n")
    print(board.to_markdown())
    print(f"\nGeneration {record['generation_seconds'] / 60:.1f} min, study "
          f"{record['study_seconds'] / 60:.1f} min. Differences: {out / 'differences.md'}")
    return out / "leaderboard.md"


def study(
    out: Path = typer.Option(Path("study_out"), "--out", "-o", help="Folder for all outputs."),
    recipe: str = typer.Option("study", help="Recipe to generate (unless --data is given)."),
    data: Path | None = typer.Option(None, help="Use this generated dataset folder instead."),
    epochs: int = typer.Option(8, min=1, help="Training epochs of every run (the same budget)."),
    seeds: int = typer.Option(3, min=1, help="Training seeds per model and modality."),
    modalities: str = typer.Option(",".join(MODALITY_CHANNELS), help="Comma-separated."),
    windows: str = typer.Option("2,8", help="Extra multi-frame windows (RGB), comma-separated; "
                                "'' for none. The default window is 4."),
    size: str = typer.Option("80x60", help="Train at WIDTHxHEIGHT; '' for the recipe's own "
                             "size (160x120 for study: 4x the training time)."),
    arch: str = typer.Option("auto", help=ARCH_HELP),
) -> None:
    """The temporal-model study: CNN vs MultiFrame vs LSTM, per modality, with significance."""
    from pourbench.cli.benchmark import parse_size

    chosen = tuple(m.strip() for m in modalities.split(",") if m.strip())
    bad = [m for m in chosen if m not in MODALITY_CHANNELS]
    if bad or not chosen:
        raise PourbenchError(f"--modalities: unknown {', '.join(bad) or 'empty list'}; "
                             f"valid: {', '.join(MODALITY_CHANNELS)}")  # fmt: skip
    try:
        ks = tuple(int(k) for k in windows.split(",") if k.strip())
    except ValueError:
        raise PourbenchError(f"--windows must be integers like 2,8, got {windows!r}") from None
    if any(k < 1 for k in ks):
        raise PourbenchError(f"--windows must be >= 1, got {windows!r}")
    if data is not None and not data.is_dir():
        raise PourbenchError(f"{data}: no such dataset folder")
    run_full_study(out, recipe=recipe, data=data, epochs=epochs, seeds=seeds,
                   modalities=chosen, windows=ks, size=parse_size(size), arch=arch)  # fmt: skip
