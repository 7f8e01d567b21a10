"""``pourbench generate``: turn a recipe into a dataset folder, resumably and in parallel.

Reads top to bottom: plan the scenarios (this shard's), run them on an executor, rebuild the
manifest from the per-scenario records after each one, print a summary (sizes, times and the
labels' coverage of the simulation). Rerunning the same command resumes: complete sequences
are skipped, interrupted ones are redone.

A run holds ``DIR/.lock`` (``flock``) while it works: exclusively without ``--shard``, shared
with one. A second run on the same folder without ``--shard`` (or a shard beside a run
without one) stops at once with one line naming the process that holds the folder, instead
of two processes writing the same scenarios.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import time
from collections.abc import Iterator
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
LOCK_NAME = ".lock"


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


@contextlib.contextmanager
def folder_lock(out: Path, shard: str | None) -> Iterator[None]:
    """Hold ``out/.lock`` for the block: exclusively for a whole run (``shard`` None), shared
    for a shard (shards of one folder work side by side on disjoint scenarios).

    Raises:
        PourbenchError: (exit 2) another run holds the folder in a conflicting way.
    """
    import fcntl

    path = out / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    exclusive = shard is None
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
        os.close(fd)
        who = f"process {holder}" if holder.isdigit() else "another process"
        raise PourbenchError(
            f"{out} is being generated by {who}; wait for it or use --shard" if exclusive else
            f"{out} is being generated by {who} without --shard; wait for it"
        ) from None
    except OSError as e:  # a file system without flock (some network mounts)
        if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
            os.close(fd)
            raise
        log.warning("%s: cannot lock the folder (%s); do not run two generates on it",
                    out, e.strerror)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock; the file stays (harmless, reused)


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
    from pourbench.sim.backend import ARCHES

    if arch not in ARCHES:
        raise PourbenchError(f"--arch {arch!r}: allowed: {', '.join(ARCHES)}")
    i, n = parse_shard(shard)
    _claim_folder(out, recipe)
    with folder_lock(out, shard):
        return _generate_locked(recipe, out, i, n, workers, executor, address, arch, progress)


def _generate_locked(
    recipe: Recipe, out: Path, i: int, n: int, workers: int, executor: str,
    address: str | None, arch: str, progress: bool,
) -> Summary:
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
