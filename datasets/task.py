"""One scenario's work: simulate once (cached), render every variant, record the result.

A task is self-contained and idempotent: it skips what is already complete on disk, so a
rerun after a crash, a Ctrl-C or a SIGKILL redoes only what is missing. It runs the same
in the parent process, in a local worker process or as a Ray task.

Labels are checked against the simulation for every sequence (``pourbench.core.coverage``). A
scenario with a sequence below ``MIN_COVERAGE``, or with a frame whose ``mask/full`` is empty
while water is in view, fails: its sequences leave the split folders for ``DIR/rejected/``
(kept for inspection, outside the dataset) and the record names them with their figures, so
the manifest lists the scenario as failed instead of labels that contradict the simulation.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pourbench.core.atomic import TMP_MARK, write_text_atomic
from pourbench.core.coverage import SequenceCoverage
from pourbench.core.hashing import file_sha256
from pourbench.core.track import track_problem
from pourbench.datasets.manifest import SequenceEntry
from pourbench.datasets.recipe import parse_recipe
from pourbench.datasets.sampler import (
    sample_render_variant,
    sample_scenario,
    scenario_split,
    sequence_number,
    variant_seed,
)

log = logging.getLogger(__name__)

RECORDS = "records"
REJECTED = "rejected"  # sequences whose labels broke the invariant, outside the splits


@dataclass
class ScenarioRecord:
    """What a finished scenario task leaves behind (``DIR/records/scenario_XXXXXX.json``)."""

    scenario_index: int
    status: str  # "ok" | "failed"
    sequences: list[dict] = field(default_factory=list)
    reason: str = ""
    attempts: int = 0
    sim_seconds: float = 0.0
    render_seconds: float = 0.0
    # label failures: the scenario's sequences, moved to rejected/, with label_coverage
    rejected: list[dict] = field(default_factory=list)


def sim_id(index: int) -> str:
    return f"sim_{index:06d}"


def record_path(out: Path, index: int) -> Path:
    return out / RECORDS / f"scenario_{index:06d}.json"


def load_record(out: Path, index: int) -> ScenarioRecord | None:
    """The record of a finished scenario whose files are all still on disk, else None."""
    path = record_path(out, index)
    try:
        record = ScenarioRecord(**json.loads(path.read_text()))
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        return None
    if record.status == "ok" and not all((out / s["path"]).is_file() for s in record.sequences):
        return None
    return record


def _clean_debris(paths: list[Path]) -> None:
    """Remove temporary files left by a killed writer of exactly these outputs."""
    for final in paths:
        for tmp in final.parent.glob(f"{final.name}{TMP_MARK}*"):
            tmp.unlink(missing_ok=True)


def run_scenario(recipe_data: dict[str, Any], out: str, index: int, arch: str) -> dict:
    """Simulate scenario ``index`` once and render all its variants; return its record as a dict.

    Takes plain data (recipe as a dict, paths as strings) so it can cross process and
    machine boundaries. Already complete outputs are reused.
    """
    from pourbench.sim.retry import UnstableAfterRetries, simulate_with_retries

    recipe = parse_recipe(recipe_data)
    out_dir = Path(out)
    done = load_record(out_dir, index)
    if done is not None:
        return asdict(done)
    split = scenario_split(recipe, index)
    sim_path = out_dir / "sims" / f"{sim_id(index)}.h5"
    k = recipe.dataset.variants_per_scenario
    seq_paths = [
        out_dir / split / f"seq_{sequence_number(recipe, index, v):06d}.h5" for v in range(k)
    ]
    _clean_debris([sim_path, *seq_paths])

    scenario = sample_scenario(recipe, index)
    record = ScenarioRecord(scenario_index=index, status="ok")
    if sim_path.exists() and (problem := track_problem(sim_path)) is not None:
        # a truncated or corrupt cache (a full disk, a bad copy): never render from it
        log.warning("%s: %s; simulating it again", sim_path, problem)
        sim_path.unlink()
    if not sim_path.is_file():
        try:  # the one retry policy (pourbench.sim.retry): smaller time steps
            done = simulate_with_retries(scenario, sim_path, arch=arch, progress=False,
                                         label=sim_id(index))
        except UnstableAfterRetries as e:
            record.status, record.reason, record.attempts = "failed", str(e), e.attempts
            return _save_record(out_dir, record)
        record.sim_seconds, record.attempts = done.seconds, done.attempts

    from pourbench.datasets.render_track import coverage_warning, render_sequence
    from pourbench.render import TrackRenderer

    scenario_json = scenario.model_dump(mode="json")
    renderer = None
    broken: list[str] = []
    try:
        for v, path in enumerate(seq_paths):
            variant = sample_render_variant(recipe, index, v)
            if not path.is_file():
                renderer = renderer or TrackRenderer(variant.width, variant.height)
                attrs = {
                    "seed": variant_seed(recipe, index, v),
                    "recipe": recipe.model_dump(mode="json"),
                    "scenario": scenario_json,
                    "sim_id": sim_id(index),
                }
                done = render_sequence(sim_path, variant, path, attrs, renderer)
                record.render_seconds += done.seconds
                coverage = done.coverage  # a broken one is logged by render_sequence
                warning = coverage_warning(path.stem, coverage)
            else:  # rendered by an interrupted run
                coverage = _coverage_on_disk(path, sim_path.parent)
                if warning := coverage_warning(path.stem, coverage):
                    log.warning("%s", warning)
            if warning:
                broken.append(warning)
            entry = SequenceEntry(
                name=path.stem,
                split=split,
                path=str(path.relative_to(out_dir)),
                scenario_index=index,
                variant_index=v,
                sim_id=sim_id(index),
                seed=variant_seed(recipe, index, v),
                size_bytes=path.stat().st_size,
                sha256=file_sha256(path),
                params={
                    "scenario": scenario_json,
                    "render_variant": variant.model_dump(mode="json"),
                },
                label_coverage=coverage.as_dict(),
            )
            record.sequences.append(asdict(entry))
    finally:
        if renderer is not None:
            renderer.close()
    if broken:
        _reject(out_dir, record, broken)
    log.debug("scenario %d done in pid %d", index, os.getpid())
    return _save_record(out_dir, record)


def _coverage_on_disk(path: Path, sims: Path) -> SequenceCoverage:
    """Label coverage of a finished sequence: as recorded in it, or recomputed (older files)."""
    from pourbench.datasets.sequence import SequenceReader
    from pourbench.datasets.validate import COVERAGE_ATTR, sequence_coverage

    with SequenceReader(path) as reader:
        recorded = reader.attrs.get(COVERAGE_ATTR)
    if isinstance(recorded, dict):
        return SequenceCoverage(**{k: int(recorded[k]) for k in
                                   ("in_view", "covered", "frames", "empty_frames")})
    return sequence_coverage(path, sims)


def _reject(out_dir: Path, record: ScenarioRecord, broken: list[str]) -> None:
    """Fail a scenario whose labels break the invariant: move its sequences out of the
    splits into ``rejected/`` and name them, with their figures, in the record."""
    rejected_dir = out_dir / REJECTED
    rejected_dir.mkdir(parents=True, exist_ok=True)
    for entry in record.sequences:
        target = rejected_dir / Path(entry["path"]).name
        os.replace(out_dir / entry["path"], target)
        record.rejected.append({
            "name": entry["name"],
            "split": entry["split"],
            "path": str(target.relative_to(out_dir)),
            "label_coverage": entry["label_coverage"],
        })
    record.sequences = []
    record.status = "failed"
    record.reason = "labels contradict the simulation: " + " | ".join(broken)


def _save_record(out_dir: Path, record: ScenarioRecord) -> dict:
    """Write a finished scenario's record atomically; return it as a dict."""
    data = asdict(record)
    write_text_atomic(record_path(out_dir, record.scenario_index), json.dumps(data))
    return data
