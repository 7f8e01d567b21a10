"""``pourbench generate``: turn a recipe into a dataset folder, resumably and in parallel.

Reads top to bottom: plan the scenarios (this shard's), run them on an executor, rebuild the
manifest from the per-scenario records after each one, print a summary (sizes, times and the
labels' coverage of the simulation). Rerunning the same command resumes: complete sequences
are skipped, interrupted ones are redone.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from pourbench.core.atomic import write_text_atomic
from pourbench.core.coverage import MIN_COVERAGE, SequenceCoverage
from pourbench.core.errors import PourbenchError
from pourbench.datasets import executors
from pourbench.datasets.manifest import Failure, Manifest, SequenceEntry
from pourbench.datasets.recipe import Recipe
from pourbench.datasets.task import RECORDS, REJECTED, ScenarioRecord, load_record
from pourbench.datasets.validate import percent

log = logging.getLogger(__name__)
RECIPE_COPY = "recipe.json"


@dataclass
class Summary:
    sequences: int
    failures: int
    size_bytes: int
    seconds: float
    sim_seconds: float
    render_seconds: float
    #: label coverage recorded for the dataset's sequences, summed
    labels: SequenceCoverage = field(default_factory=SequenceCoverage)
    labels_unrecorded: int = 0  # sequences of older runs that record no coverage
    rejected: int = 0  # sequences of failed scenarios whose labels broke the invariant

    def line(self) -> str:
        c = self.labels
        text = (
            f"{self.sequences} sequences, {self.failures} failed scenarios, "
            f"{self.size_bytes / 1e6:.1f} MB, {self.seconds:.0f} s "
            f"(simulation {self.sim_seconds:.0f} s, rendering {self.render_seconds:.0f} s "
            f"of worker time); labels: mask/full covers {percent(c.covered, c.in_view, 2)} "
            f"of {c.in_view} in-view particle centres (min {MIN_COVERAGE * 100:g} %), "
            f"{c.empty_frames} frames with water in view have an empty mask"
        )
        if self.labels_unrecorded:
            text += f", {self.labels_unrecorded} sequences record no coverage"
        if self.rejected:
            text += f"; {self.rejected} sequences rejected for their labels (see {REJECTED}/)"
        return text


def parse_shard(shard: str | None) -> tuple[int, int]:
    """``"i/N"`` -> (i, N); None -> (0, 1)."""
    if shard is None:
        return 0, 1
    try:
        i, n = (int(x) for x in shard.split("/"))
    except ValueError:
        raise PourbenchError(f"--shard {shard!r}: expected i/N, e.g. 0/4") from None
    if not (n >= 1 and 0 <= i < n):
        raise PourbenchError(f"--shard {shard!r}: need 0 <= i < N")
    return i, n


def _claim_folder(out: Path, recipe: Recipe) -> None:
    """Create ``out`` for this recipe, or check that it already belongs to the same recipe."""
    if out.exists() and not out.is_dir():
        raise PourbenchError(f"{out}: exists and is not a folder; --out must be a dataset folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PourbenchError(f"{out}: cannot create the dataset folder ({e.strerror})") from e
    if not os.access(out, os.W_OK | os.X_OK):
        raise PourbenchError(f"{out}: the dataset folder is not writable")
    marker = out / RECIPE_COPY
    data = recipe.model_dump(mode="json")
    if marker.exists():
        if json.loads(marker.read_text()) != data:
            raise PourbenchError(
                f"{out}: holds a dataset of a different recipe or seed; choose another --out"
            )
    else:
        write_text_atomic(marker, json.dumps(data, indent=1, sort_keys=True))


def rebuild_manifest(out: Path, recipe: Recipe) -> Manifest:
    """The manifest of every finished scenario's record found under ``out``."""
    manifest = Manifest(recipe=recipe.model_dump(mode="json"), seed=recipe.seed)
    for index in range(recipe.dataset.scenarios):
        record = load_record(out, index)
        if record is None:
            continue
        if record.status == "ok":
            manifest.sequences.extend(SequenceEntry(**s) for s in record.sequences)
        else:
            manifest.failures.append(
                Failure(index, record.reason, record.attempts, rejected=record.rejected)
            )
    manifest.save(out)
    return manifest


def generate(
    recipe: Recipe,
    out: str | Path,
    *,
    workers: int = 1,
    shard: str | None = None,
    executor: str = "local",
    address: str | None = None,
    arch: str = "auto",
    progress: bool = True,
) -> Summary:
    """Generate (or resume) ``recipe`` into ``out``; return the summary."""
    out = Path(out)
    if executor not in ("local", "ray"):
        raise PourbenchError(f"--executor {executor!r}: allowed: local, ray")
    i, n = parse_shard(shard)
    _claim_folder(out, recipe)
    indices = [s for s in range(recipe.dataset.scenarios) if s % n == i]
    todo = [s for s in indices if load_record(out, s) is None]
    k = recipe.dataset.variants_per_scenario
    log.info(
        "%s: %d scenarios x %d variants in this shard, %d already done",
        recipe.name, len(indices), k, len(indices) - len(todo),
    )
    data = recipe.model_dump(mode="json")
    if executor == "ray":
        records = executors.run_ray(data, str(out), todo, arch, address)
    elif workers > 1 and len(todo) > 1:
        records = executors.run_pool(data, str(out), todo, arch, workers)
    else:
        records = executors.run_serial(data, str(out), todo, arch)

    start = time.perf_counter()
    sim_s = render_s = 0.0
    bar = tqdm(total=len(indices) * k, initial=(len(indices) - len(todo)) * k,
               unit="seq", desc=f"generate {recipe.name}", disable=not progress)
    with bar:
        for data_record in records:
            record = ScenarioRecord(**data_record)
            if record.status != "ok":
                log.warning("scenario %d failed: %s", record.scenario_index, record.reason)
            sim_s += record.sim_seconds
            render_s += record.render_seconds
            rebuild_manifest(out, recipe)
            bar.update(k)
    manifest = rebuild_manifest(out, recipe)
    labels, unrecorded = manifest.label_coverage()
    return Summary(
        sequences=len(manifest.sequences),
        failures=len(manifest.failures),
        size_bytes=sum(p.stat().st_size for p in out.rglob("*.h5")
                       if p.relative_to(out).parts[0] != REJECTED),
        seconds=time.perf_counter() - start,
        sim_seconds=sim_s,
        render_seconds=render_s,
        labels=labels,
        labels_unrecorded=unrecorded,
        rejected=sum(len(f.rejected) for f in manifest.failures),
    )


__all__ = ["generate", "rebuild_manifest", "Summary", "RECORDS"]
