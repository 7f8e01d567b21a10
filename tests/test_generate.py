"""`pourbench generate`: valid, seeded, resumable datasets; failures recorded, never written."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from pourbench.cli import main
from pourbench.core.errors import PourbenchError
from pourbench.datasets import executors
from pourbench.datasets.generate import generate
from pourbench.datasets.manifest import Manifest
from pourbench.datasets.recipe import load_recipe
from pourbench.datasets.validate import validate_folder


def _checksums(folder: Path) -> dict[str, str]:
    return {e.name: e.sha256 for e in Manifest.load(folder).sequences}


@pytest.fixture(scope="module")
def tiny_reference(tmp_path_factory):
    """The tiny recipe generated once per session, serially and uninterrupted (other test
    modules generate into the same folder, which then only resumes; nothing writes to it)."""
    out = tmp_path_factory.getbasetemp() / "tiny_shared"
    summary = generate(load_recipe("tiny"), out, arch="cpu", progress=False)
    return out, summary


def test_tiny_dataset_is_valid_and_complete(tiny_reference):
    out, summary = tiny_reference
    recipe = load_recipe("tiny")
    assert summary.sequences == recipe.num_sequences and summary.failures == 0
    assert validate_folder(out) == []
    manifest = Manifest.load(out)
    assert {e.split for e in manifest.sequences} == {"train", "test"}
    assert len(list((out / "sims").glob("sim_*.h5"))) == recipe.dataset.scenarios
    entry = manifest.sequences[0]
    assert entry.params["scenario"]["fps"] == recipe.scenario.fps
    assert manifest.seed == recipe.seed and manifest.recipe["name"] == "tiny"
    # every sequence records its label coverage, in the manifest and in the file
    for e in manifest.sequences:
        assert set(e.label_coverage) == {"in_view", "covered", "fraction", "frames",
                                         "empty_frames"}
        with h5py.File(out / e.path) as h:
            assert json.loads(h.attrs["label_coverage"]) == e.label_coverage
            assert e.label_coverage["frames"] == h["mask/full"].shape[0]
    labels, unrecorded = manifest.label_coverage()
    assert unrecorded == 0 and summary.labels.in_view == labels.in_view > 0
    assert "labels: mask/full covers " in summary.line()
    assert "frames with water in view have an empty mask" in summary.line()


def test_rerun_skips_everything(tiny_reference):
    out, _ = tiny_reference
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.h5")}
    summary = generate(load_recipe("tiny"), out, arch="cpu", progress=False)
    assert summary.sequences == load_recipe("tiny").num_sequences
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.h5")} == before


def test_shards_make_the_same_dataset(tiny_reference, tmp_path):
    ref, _ = tiny_reference
    out = tmp_path / "sharded"
    for i in range(2):
        generate(load_recipe("tiny"), out, shard=f"{i}/2", arch="cpu", progress=False)
    assert _checksums(out) == _checksums(ref)


def test_another_recipe_cannot_reuse_the_folder(tiny_reference):
    out, _ = tiny_reference
    other = load_recipe("small")
    with pytest.raises(PourbenchError, match="different recipe"):
        generate(other, out, arch="cpu", progress=False)


def test_bad_shard_is_one_line():
    with pytest.raises(PourbenchError, match="expected i/N"):
        generate(load_recipe("tiny"), "/tmp/never", shard="1-2", progress=False)


def test_unstable_simulation_recorded_as_failed(tmp_path, monkeypatch):
    import pourbench.sim as sim

    calls = []

    def always_unstable(scenario, out_path, **kw):
        calls.append(kw["dt_scale"])
        raise sim.SimulationUnstable("NaN in positions at step 3")

    monkeypatch.setattr(sim, "simulate_pour", always_unstable)
    out = tmp_path / "unstable"
    summary = generate(load_recipe("tiny"), out, arch="cpu", progress=False)
    assert summary.sequences == 0 and summary.failures == 2
    assert calls == [1.0, 0.5, 0.25] * 2, "each scenario retried with smaller time steps"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["failures"][0]["reason"].startswith("NaN in positions")
    assert not list(out.rglob("seq_*.h5"))


def test_scenario_with_labels_that_miss_the_water_fails(tiny_reference, tmp_path, monkeypatch,
                                                        caplog):
    """A renderer whose mask/full loses the water in one sequence: the generator measures it,
    warns, fails the scenario and moves its sequences out of the dataset."""
    from pourbench.render import TrackRenderer

    ref, _ = tiny_reference
    out = tmp_path / "bad_labels"
    shutil.copytree(ref / "sims", out / "sims")  # the simulations are cached: only render
    original = TrackRenderer.render_track
    calls = []

    def erase_first_sequence(self, header, positions_fn, variant, frames=None):
        calls.append(variant.seed)
        for frame in original(self, header, positions_fn, variant, frames):
            if len(calls) == 1:
                frame.mask_full = np.zeros_like(frame.mask_full)
                frame.mask_visible = np.zeros_like(frame.mask_visible)
                if hasattr(frame, "coverage"):
                    frame.coverage = None  # measured again, from the erased mask
            yield frame

    monkeypatch.setattr(TrackRenderer, "render_track", erase_first_sequence)
    with caplog.at_level("WARNING"):
        summary = generate(load_recipe("tiny"), out, arch="cpu", progress=False)
    assert summary.failures == 1 and summary.sequences == 2 and summary.rejected == 2
    manifest = Manifest.load(out)
    (failure,) = manifest.failures
    bad, good = failure.rejected
    assert bad["label_coverage"]["covered"] == 0 and bad["label_coverage"]["in_view"] > 0
    assert bad["label_coverage"]["empty_frames"] > 0
    assert good["label_coverage"]["covered"] > 0
    assert bad["name"] in failure.reason and good["name"] not in failure.reason
    assert "covers 0.0 % of in-view particle centres (< 99.5 %)" in failure.reason
    assert "frames with water in view have an empty mask" in failure.reason
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(w.startswith(f"{bad['name']}: labels break the invariant: mask/full: covers 0.0 %")
               for w in warnings), warnings
    # out of the splits, kept for inspection; what the manifest lists is consistent
    for r in failure.rejected:
        assert (out / r["path"]).is_file() and r["path"].startswith("rejected/")
        assert not (out / r["split"] / f"{r['name']}.h5").exists()
    assert {e.name for e in manifest.sequences}.isdisjoint({bad["name"], good["name"]})
    assert validate_folder(out) == []
    assert "2 sequences rejected for their labels" in summary.line()
    # a rerun keeps the failure (nothing is re-rendered) and the verb exits non-zero
    with pytest.raises(SystemExit) as e:
        main(["generate", "tiny", "--out", str(out), "--arch", "cpu", "--no-progress"])
    assert e.value.code == 1
    assert len(calls) == 4


def crash_once(recipe, out, index, arch):
    """A scenario task whose worker dies the first time it runs (for the pool test)."""
    marker = Path(out) / f"crashed_{index}"
    if not marker.exists():
        marker.write_text("x")
        os._exit(9)
    return {"scenario_index": index, "status": "ok", "sequences": [], "reason": "",
            "attempts": 1, "sim_seconds": 0.0, "render_seconds": 0.0}


def test_pool_retries_a_crashed_worker(tmp_path):
    records = list(executors.run_pool({}, str(tmp_path), [0, 1], "cpu", 2, task=crash_once))
    assert sorted(r["scenario_index"] for r in records) == [0, 1]
    assert all(r["status"] == "ok" for r in records)


def _generate_cmd(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pourbench.cli", "generate", "tiny", "--out", str(out),
            "--arch", "cpu", "--no-progress", *extra]


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_equals_uninterrupted(tiny_reference, tmp_path):
    ref, _ = tiny_reference
    out = tmp_path / "killed"
    rng = np.random.default_rng(7)
    for delay in rng.uniform(2.0, 12.0, size=4):
        proc = subprocess.Popen(_generate_cmd(out), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done = subprocess.run(_generate_cmd(out), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert validate_folder(out) == []
    assert _checksums(out) == _checksums(ref)


@pytest.mark.slow
def test_pool_and_ray_make_the_same_dataset(tiny_reference, tmp_path):
    pytest.importorskip("ray")
    ref, _ = tiny_reference
    pooled = tmp_path / "pool"
    generate(load_recipe("tiny"), pooled, workers=2, arch="cpu", progress=False)
    assert _checksums(pooled) == _checksums(ref)
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = tmp_path / "ray"
        generate(load_recipe("tiny"), on_ray, executor="ray", arch="cpu", progress=False)
    finally:
        ray.shutdown()
    assert _checksums(on_ray) == _checksums(ref)
