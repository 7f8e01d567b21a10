"""Labels equal the simulation, on a generated dataset: the figures the generator recorded and
the same figures recomputed here, from ``sims/`` and the stored sequences alone.

Every particle centre in view (``camera/K``, ``camera/pose``) must lie in ``mask/full`` within
+-1 px for at least ``MIN_COVERAGE`` of them over the dataset, and no frame with water in view
may have an empty ``mask/full``.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from pourbench.core.coverage import MIN_COVERAGE, SequenceCoverage, frame_coverage
from pourbench.core.splits import SPLITS
from pourbench.core.track import TrackReader
from pourbench.datasets.generate import generate
from pourbench.datasets.manifest import Manifest
from pourbench.datasets.recipe import load_recipe

COUNTS = ("in_view", "covered", "frames", "empty_frames")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny recipe, generated once per session (test_generate uses the same folder)."""
    out = tmp_path_factory.getbasetemp() / "tiny_shared"
    summary = generate(load_recipe("tiny"), out, arch="cpu", progress=False)
    return out, summary


def _recompute(folder) -> dict[str, SequenceCoverage]:
    """Coverage of each sequence file in the splits, from its own datasets and its track."""
    result = {}
    for split in SPLITS:
        for path in sorted((folder / split).glob("seq_*.h5")):
            with h5py.File(path, "r") as h:
                sim = h.attrs["sim_id"]
                full, poses, K = h["mask/full"], h["camera/pose"], h["camera/K"][()]
                coverage = SequenceCoverage()
                with TrackReader(folder / "sims" / f"{sim}.h5") as track:
                    assert len(track) == full.shape[0]
                    for t in range(full.shape[0]):
                        coverage.add(frame_coverage(np.asarray(full[t], bool),
                                                    track.positions(t), K, poses[t]))
            result[path.stem] = coverage
    return result


def _describe(c: SequenceCoverage) -> str:
    return (f"{c.covered} of {c.in_view} in-view particle centres in mask/full "
            f"({100 * c.fraction:.2f} %), {c.empty_frames} empty frames with water in view")


def test_recorded_coverage_meets_the_invariant(tiny):
    out, summary = tiny
    manifest = Manifest.load(out)
    rejected = [(f.scenario_index, f.reason) for f in manifest.failures]
    assert not rejected, f"scenarios failed (labels or simulation): {rejected}"
    assert len(manifest.sequences) == load_recipe("tiny").num_sequences
    total, unrecorded = manifest.label_coverage()
    assert unrecorded == 0
    assert total.in_view > 0, "no particle centre in view: the test would prove nothing"
    assert total.fraction >= MIN_COVERAGE, _describe(total)
    assert total.empty_frames == 0, _describe(total)
    assert (summary.labels.in_view, summary.labels.covered) == (total.in_view, total.covered)


def test_recomputed_coverage_meets_the_invariant_and_equals_the_record(tiny):
    out, _ = tiny
    recomputed = _recompute(out)
    recorded = {e.name: e.label_coverage for e in Manifest.load(out).sequences}
    assert set(recomputed) == set(recorded)
    total = SequenceCoverage()
    for name, c in recomputed.items():
        assert {k: recorded[name][k] for k in COUNTS} == {k: getattr(c, k) for k in COUNTS}, name
        for k in COUNTS:
            setattr(total, k, getattr(total, k) + getattr(c, k))
    assert total.in_view > 0, "no particle centre in view: the test would prove nothing"
    assert total.fraction >= MIN_COVERAGE, _describe(total)
    assert total.empty_frames == 0, _describe(total)
