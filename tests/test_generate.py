"""`pourbench generate`: valid, seeded, resumable datasets; failures recorded, never written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pourbench.datasets import executors
from pourbench.datasets.generate import generate
from pourbench.datasets.manifest import Manifest
from pourbench.datasets.recipe import load_recipe
from pourbench.datasets.validate import validate_folder
from pourbench.errors import PourbenchError


def _checksums(folder: Path) -> dict[str, str]:
    return {e.name: e.sha256 for e in Manifest.load(folder).sequences}


@pytest.fixture(scope="module")
def tiny_reference(tmp_path_factory):
    """The tiny recipe generated once, serially and uninterrupted."""
    out = tmp_path_factory.mktemp("tiny") / "ref"
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
