"""Label coverage of a dataset: how much of the simulated water its ``mask/full`` holds.

Run: ``python -m pourbench.benchmark.perf.label_coverage DIR [--out coverage.json]``.
Recomputes, from the particle tracks in ``DIR/sims/`` and each sequence's stored
``mask/full``, ``camera/K`` and ``camera/pose`` (frame by frame), the share of in-view
particle centres that lie in ``mask/full`` within +-1 px (``pourbench.core.coverage``), ignoring
the figures the generator recorded. Prints JSON: the overall fraction, the fraction per
split, the frames with water in view and an empty mask, and the 5 worst sequences.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pourbench.core.coverage import MIN_COVERAGE, SequenceCoverage
from pourbench.core.errors import PourbenchError
from pourbench.core.splits import SPLITS
from pourbench.datasets.listing import list_sequences
from pourbench.datasets.validate import SIMS, merge_coverage, sequence_coverage

WORST = 5


def _figures(c: SequenceCoverage) -> dict:
    return {**c.as_dict(), "passes": c.fraction >= MIN_COVERAGE and c.empty_frames == 0}


def measure(folder: str | Path, worst: int = WORST) -> dict:
    """Coverage of every sequence under ``folder/{train,val,test}`` against ``folder/sims``."""
    folder = Path(folder)
    sims = folder / SIMS
    if not sims.is_dir():
        raise PourbenchError(f"{folder}: no {SIMS}/ folder: particle tracks are needed")
    start = time.perf_counter()
    total = SequenceCoverage()
    splits: dict[str, dict] = {}
    per_sequence, problems = [], []
    for split in SPLITS:
        paths = list_sequences(folder / split)
        if not paths:
            continue
        part = SequenceCoverage()
        for path in paths:
            try:
                c = sequence_coverage(path, sims)
            except (PourbenchError, OSError, KeyError, ValueError) as e:
                problems.append(f"{path}: {e}")
                continue
            merge_coverage(part, c)
            per_sequence.append({"name": path.stem, "split": split, **_figures(c)})
        merge_coverage(total, part)
        splits[split] = {"sequences": len(paths), **_figures(part)}
    per_sequence.sort(key=lambda s: (s["fraction"], -s["empty_frames"], s["name"]))
    return {
        "dataset": str(folder),
        "min_coverage": MIN_COVERAGE,
        "sequences": len(per_sequence),
        **_figures(total),
        "splits": splits,
        "worst": per_sequence[:worst],
        "problems": problems,
        "seconds": round(time.perf_counter() - start, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="dataset folder with sims/")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument("--worst", type=int, default=WORST, help="how many worst sequences")
    args = parser.parse_args(argv)
    try:
        result = measure(args.folder, args.worst)
    except PourbenchError as e:
        print(e, file=sys.stderr)
        return 2
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0 if result["passes"] and not result["problems"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
