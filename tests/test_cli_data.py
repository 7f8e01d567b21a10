"""The data verbs (validate, generate, simulate, render) on good and bad input: several
paths, folders without a manifest, output paths that are files, the wrong kind of file, and
the one retry policy for unstable simulations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import h5py
import pytest
from conftest import K_TEST, sequence_attrs, synthetic_frames

import pourbench.sim as sim
from pourbench.cli import main
from pourbench.datasets.sequence import write_sequence
from pourbench.sim.retry import RetryPolicy, UnstableAfterRetries, simulate_with_retries
from pourbench.sim.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT / "sim" / "scenes" / "pour_cup_bowl.toml"


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``pourbench ARGS`` in this process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    out = capsys.readouterr()
    code = e.value.code
    return (0 if code is None else code), out.out, out.err


def _subprocess(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pourbench.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def _sequences(folder: Path, n: int = 3) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"seq_{i:06d}.h5"
        write_sequence(path, synthetic_frames(seed=i), K_TEST, sequence_attrs(i))
        paths.append(path)
    return paths


def _break(path: Path) -> None:
    with h5py.File(path, "r+") as h:
        h.attrs["complete"] = False


# --- validate: several paths, folders without a manifest --------------------------------


def test_validate_accepts_several_files(tmp_path, capsys):
    paths = _sequences(tmp_path / "rendered")
    code, out, err = _cli(capsys, "validate", *paths)
    assert code == 0, err
    assert out.strip().splitlines()[-1].startswith("3 paths (3 sequence files): valid;")


def test_validate_several_files_names_the_broken_one(tmp_path, capsys):
    paths = _sequences(tmp_path / "rendered")
    _break(paths[1])
    code, out, err = _cli(capsys, "validate", *paths)
    assert code == 1
    problems = [line for line in out.splitlines() if "complete" in line]
    assert problems == [f"{paths[1]}: attrs: 'complete' is not set (the file was never finished)"]
    assert _one_error_line(err) == "error: 3 paths (3 sequence files): 1 problem(s)"


def test_folder_without_manifest_is_validated_file_by_file(tmp_path, capsys):
    folder = tmp_path / "rendered"  # what `pourbench render TRACK --out DIR` leaves
    paths = _sequences(folder)
    code, out, err = _cli(capsys, "validate", folder)
    assert code == 0, out + err
    assert out.strip().splitlines()[-1].startswith(f"{folder}: valid;")
    _break(paths[2])
    code, out, err = _cli(capsys, "validate", folder)
    assert code == 1
    assert f"{paths[2]}: attrs: 'complete' is not set" in out
    assert str(paths[0]) not in out and str(paths[1]) not in out
    assert _one_error_line(err) == f"error: {folder}: 1 problem(s)"


def test_folder_without_manifest_or_sequences_is_named(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x")
    code, out, err = _cli(capsys, "validate", tmp_path)
    assert code == 1
    assert f"{tmp_path}: no manifest.json and no sequence files (*.h5)" in out


def test_validate_missing_path_among_several_is_one_line(tmp_path, capsys):
    paths = _sequences(tmp_path / "rendered", n=1)
    code, out, err = _cli(capsys, "validate", paths[0], tmp_path / "gone.h5")
    assert code == 2 and out == ""
    assert _one_error_line(err) == f"error: {tmp_path / 'gone.h5'}: no such file or folder"


# --- generate: output paths -------------------------------------------------------------


def test_generate_into_an_existing_file_is_one_line_exit_2(tmp_path):
    target = tmp_path / "X"
    target.write_text("keep me")
    proc = _subprocess("generate", "tiny", "--out", target, "--arch", "cpu", "--no-progress")
    assert proc.returncode == 2
    line = _one_error_line(proc.stderr)
    assert line == f"error: {target}: exists and is not a folder; --out must be a dataset folder"
    assert target.read_text() == "keep me"


def test_generate_below_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "X").write_text("")
    code, _, err = _cli(capsys, "generate", "tiny", "--out", tmp_path / "X" / "data",
                        "--arch", "cpu", "--no-progress")
    assert code == 2
    assert "cannot create the dataset folder" in _one_error_line(err)


def test_generate_reports_failed_scenarios_and_exits_1(tmp_path, monkeypatch, capsys):
    calls = []

    def always_unstable(scenario, out_path, **kw):
        calls.append(kw["dt_scale"])
        raise sim.SimulationUnstable("NaN in positions at step 3")

    monkeypatch.setattr(sim, "simulate_pour", always_unstable, raising=False)
    out = tmp_path / "data"
    code, stdout, err = _cli(capsys, "generate", "tiny", "--out", out, "--arch", "cpu",
                             "--no-progress")
    assert code == 1
    assert stdout.startswith(f"{out}: 0 sequences, 2 failed scenarios")
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == \
        f"error: {out}: 2 scenario(s) failed; see manifest.json"
    assert calls == [1.0, 0.5, 0.25] * 2  # the one retry policy, per scenario


# --- render: the wrong kind of file -----------------------------------------------------


def test_render_a_sequence_file_is_one_line_exit_2(tmp_path):
    (seq,) = _sequences(tmp_path / "data", n=1)
    proc = _subprocess("render", seq, "--out", tmp_path / "out")
    assert proc.returncode == 2
    line = _one_error_line(proc.stderr)
    assert line.startswith(f"error: {seq}: is a sequence file, not a particle track")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content, message", [
    (b"not hdf5 at all", "not a readable HDF5 file"),
    (None, "no such particle track file"),
])
def test_render_not_a_track_is_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "track.h5"
    if content is not None:
        path.write_bytes(content)
    code, _, err = _cli(capsys, "render", path, "--out", tmp_path / "out")
    assert code == 2
    assert message in _one_error_line(err)


def test_render_an_hdf5_file_of_another_kind_is_one_line(tmp_path, capsys):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as h:
        h["x"] = [1, 2, 3]
    code, _, err = _cli(capsys, "render", path, "--out", tmp_path / "out")
    assert code == 2
    assert _one_error_line(err) == \
        f"error: {path}: not a particle track (no containers, positions)"


# --- simulate and the retry policy ------------------------------------------------------


def _fake_simulator(monkeypatch, unstable_at=(1.0,), error=None):
    """Replace the simulator: unstable at the given dt_scales, else a result."""
    calls = []

    def fake(scenario, out_path, *, arch="auto", progress=True, dt_scale=1.0):
        calls.append((scenario.particle_radius, arch, dt_scale))
        if error is not None:
            raise error
        if dt_scale in unstable_at:
            raise sim.SimulationUnstable(f"runaway speed at dt_scale {dt_scale}")
        return SimpleNamespace(path=Path(out_path), num_particles=7, num_frames=3,
                               stats={"rest_from_s": None})

    monkeypatch.setattr(sim, "simulate_pour", fake, raising=False)
    return calls


def test_simulate_overrides_radius_and_retries_unstable(tmp_path, monkeypatch, capsys, caplog):
    calls = _fake_simulator(monkeypatch, unstable_at=(1.0,))
    out = tmp_path / "s.h5"
    code, stdout, err = _cli(capsys, "simulate", SCENE, "--out", out, "--arch", "cpu",
                             "--radius", "0.005")
    assert code == 0, err
    assert calls == [(0.005, "cpu", 1.0), (0.005, "cpu", 0.5)]
    assert stdout.strip() == f"wrote {out}: 7 particles, 3 frames, after 2 attempts (dt_scale 0.5)"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == ["s: unstable at dt_scale 1 (runaway speed at dt_scale 1.0); "
                        "retrying at dt_scale 0.5"]


def test_simulate_unstable_at_every_step_is_one_line(tmp_path, monkeypatch, capsys):
    calls = _fake_simulator(monkeypatch, unstable_at=(1.0, 0.5, 0.25))
    code, stdout, err = _cli(capsys, "simulate", SCENE, "--out", tmp_path / "s.h5")
    assert code == 2 and stdout == ""
    assert [c[2] for c in calls] == [1.0, 0.5, 0.25]
    assert _one_error_line(err).endswith(
        "runaway speed at dt_scale 0.25 (unstable at every dt_scale tried: 1, 0.5, 0.25)")


def test_simulate_bad_radius_is_one_line(tmp_path, monkeypatch, capsys):
    calls = _fake_simulator(monkeypatch)
    code, _, err = _cli(capsys, "simulate", SCENE, "--out", tmp_path / "s.h5", "--radius", "-1")
    assert code == 2 and calls == []
    assert _one_error_line(err).startswith("error: --radius -1: particle_radius")


def test_simulate_into_a_folder_is_one_line(tmp_path, monkeypatch, capsys):
    calls = _fake_simulator(monkeypatch)
    code, _, err = _cli(capsys, "simulate", SCENE, "--out", tmp_path)
    assert code == 2 and calls == []
    assert "is a folder; --out must be a track file" in _one_error_line(err)


def test_retry_policy_retries_only_instability(tmp_path, monkeypatch):
    calls = _fake_simulator(monkeypatch, error=ValueError("a bug, not instability"))
    with pytest.raises(ValueError, match="a bug"):
        simulate_with_retries(Scenario(), tmp_path / "s.h5")
    assert len(calls) == 1


def test_retry_policy_counts_attempts_and_can_be_narrowed(tmp_path, monkeypatch):
    calls = _fake_simulator(monkeypatch, unstable_at=(1.0, 0.5))
    done = simulate_with_retries(Scenario(), tmp_path / "s.h5", progress=False)
    assert (done.attempts, done.dt_scale) == (3, 0.25) and done.seconds >= 0
    calls.clear()
    with pytest.raises(UnstableAfterRetries) as e:
        simulate_with_retries(Scenario(), tmp_path / "s.h5",
                              policy=RetryPolicy(dt_scales=(1.0, 0.5)))
    assert e.value.attempts == 2 and [c[2] for c in calls] == [1.0, 0.5]
    assert isinstance(e.value, sim.SimulationUnstable)
    with pytest.raises(ValueError, match="dt_scales"):
        RetryPolicy(dt_scales=())
