"""Faults during work, each in a real child process: a disk that fills part-way, a corrupt
particle cache, two `generate` runs on one folder, a training run killed while it saves.

The dataset tests reuse the tiny recipe's simulations (generated once per session into the
folder that tests/test_generate.py also uses) so that a child only renders; where a child
must simulate, its simulator is replaced by one that copies the reference track.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import pytest
import torch

from pourbench.benchmark.checkpoint import load_checkpoint
from pourbench.benchmark.synthetic import write_synthetic_dataset
from pourbench.datasets.generate import generate
from pourbench.datasets.manifest import Manifest
from pourbench.datasets.recipe import load_recipe
from pourbench.datasets.validate import validate_folder

GENERATE = ["generate", "tiny", "--arch", "cpu", "--no-progress"]


@pytest.fixture(scope="module")
def tiny_reference(tmp_path_factory):
    """The tiny recipe generated once per session (shared with tests/test_generate.py)."""
    out = tmp_path_factory.getbasetemp() / "tiny_shared"
    generate(load_recipe("tiny"), out, arch="cpu", progress=False)
    return out


def checksums(folder: Path) -> dict[str, str]:
    return {e.name: e.sha256 for e in Manifest.load(folder).sequences}


def child(script: str, *args, timeout: float = 300, **popen) -> subprocess.CompletedProcess:
    """Run ``script`` (Python, with ``ARGS`` = args as strings) in a fresh interpreter."""
    code = f"import sys\nARGS = {[str(a) for a in args]!r}\n" + textwrap.dedent(script)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, **popen)


def pourbench(*args, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pourbench.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def final_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.h5") if ".tmp-" not in p.name)


def debris(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if ".tmp-" in p.name)


#: A child that simulates by copying the reference track of the scenario (ARGS[0] = the
#: reference folder) and records each call in ARGS[1]; then runs `pourbench` ARGS[2:].
FAKE_SIMULATOR = """
    import shutil
    from pathlib import Path
    from types import SimpleNamespace
    import pourbench.sim as sim

    ref, calls = Path(ARGS[0]), Path(ARGS[1])

    def copy_reference(scenario, out_path, **kw):
        name = Path(out_path).name
        with open(calls, "a") as f:
            f.write(name + "\\n")
        wait_for(name)
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ref / "sims" / name, out_path)
        return SimpleNamespace(path=Path(out_path), num_particles=1, num_frames=1)

    def wait_for(name):
        pass

    sim.simulate_pour = copy_reference
"""


def test_disk_full_part_way_leaves_no_final_file_and_the_rerun_resumes(tiny_reference,
                                                                        tmp_path):
    out = tmp_path / "full"
    shutil.copytree(tiny_reference / "sims", out / "sims")  # only rendering is left to do
    limit = 60_000  # bytes: below one sequence file (about 200 kB)
    proc = child(f"""
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, resource.RLIM_INFINITY))
        from pourbench.cli import main
        main(ARGS)
    """, *GENERATE, "--out", out)
    assert proc.returncode == 1, proc.stderr
    (line,) = error_lines(proc.stderr)
    assert "seq_" in line and "write failed (file too large)" in line, line
    assert "rerun the same command to resume" in line
    # nothing under a final name (no sequence fits under the limit); no debris
    assert not list(out.rglob("seq_*.h5")), final_files(out)
    assert not debris(out)
    for track in (out / "sims").glob("*.h5"):
        assert track.read_bytes() == (tiny_reference / "sims" / track.name).read_bytes()
    # the same command, with room, resumes and makes the reference dataset
    done = pourbench(*GENERATE, "--out", out)
    assert done.returncode == 0, done.stderr
    assert validate_folder(out) == []
    assert checksums(out) == checksums(tiny_reference)


def test_hdf5_writer_failing_part_way_is_one_line_and_leaves_nothing(tmp_path):
    """The same fault in the writer of one sequence (`pourbench render`): EFBIG mid-file,
    then h5py's own flush failing, all reported as one line; the process exits cleanly."""
    from pourbench.core.track import write_track
    from pourbench.render.synthetic import synthetic_pour

    header, positions = synthetic_pour(num_frames=12, num_particles=2000)
    track = tmp_path / "sim.h5"
    write_track(track, header, positions)
    out = tmp_path / "out"
    proc = child("""
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (150_000, resource.RLIM_INFINITY))
        from pourbench.cli import main
        main(ARGS)
    """, "render", track, "--out", out, "--width", "320", "--height", "240")
    assert proc.returncode == 1, proc.stderr
    assert "Exception ignored" not in proc.stderr and "Segmentation" not in proc.stderr
    (line,) = error_lines(proc.stderr)
    assert line.startswith(f"error: {out / 'seq_000000.h5'}: write failed"), line
    assert list(out.iterdir()) == []


def test_corrupt_tracks_in_sims_are_simulated_again_never_rendered(tiny_reference, tmp_path):
    out = tmp_path / "corrupt"
    shutil.copytree(tiny_reference / "sims", out / "sims")
    first, second = sorted((out / "sims").glob("sim_*.h5"))
    first.write_bytes(first.read_bytes()[: first.stat().st_size * 2 // 3])  # truncated
    with h5py.File(second, "r") as h:  # one frame's particles overwritten on disk
        info = h["positions"].id.get_chunk_info(h["positions"].id.get_num_chunks() // 2)
    data = bytearray(second.read_bytes())
    data[info.byte_offset: info.byte_offset + 24] = bytes(24)
    second.write_bytes(bytes(data))
    calls = tmp_path / "calls.txt"
    proc = child(textwrap.dedent(FAKE_SIMULATOR) + textwrap.dedent("""
        from pourbench.cli import main
        main(ARGS[2:])
    """), tiny_reference, calls, *GENERATE, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert sorted(calls.read_text().split()) == [first.name, second.name]
    for track in (first, second):
        assert f"{track}: " in proc.stderr and "simulating it again" in proc.stderr
    # rendered from the fresh tracks: the reference dataset, bit for bit
    assert validate_folder(out) == []
    assert checksums(out) == checksums(tiny_reference)


def test_a_second_generate_on_the_same_folder_is_refused_in_one_line(tiny_reference,
                                                                     tmp_path):
    out = tmp_path / "shared"
    calls, release = tmp_path / "calls.txt", tmp_path / "release"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import sys\nARGS = {[str(tiny_reference), str(calls)]!r}\n"
         + textwrap.dedent(FAKE_SIMULATOR) + textwrap.dedent(f"""
            import time
            def wait_for(name):  # hold the folder until the test releases it
                deadline = time.time() + 120
                while not Path({str(release)!r}).exists() and time.time() < deadline:
                    time.sleep(0.05)
            from pourbench.cli import main
            main({[*GENERATE, "--out", str(out)]!r})
         """)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.time() + 120
        while not calls.exists() and time.time() < deadline and holder.poll() is None:
            time.sleep(0.05)
        assert calls.exists(), holder.communicate()[1]
        before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
        second = pourbench(*GENERATE, "--out", out)
        assert second.returncode == 2
        assert error_lines(second.stderr) == [
            f"error: {out} is being generated by process {holder.pid}; wait for it or use "
            "--shard"]
        shard = pourbench(*GENERATE, "--out", out, "--shard", "1/2")
        assert shard.returncode == 2
        assert error_lines(shard.stderr) == [
            f"error: {out} is being generated by process {holder.pid} without --shard; "
            "wait for it"]
        assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before
    finally:
        release.touch()
        _, stderr = holder.communicate(timeout=300)
    assert holder.returncode == 0, stderr
    assert validate_folder(out) == []
    assert checksums(out) == checksums(tiny_reference)
    # the lock went with the process: the same folder takes the next run (nothing to do)
    again = pourbench(*GENERATE, "--out", out)
    assert again.returncode == 0, again.stderr


TRAIN = ["--model", "cnn", "--clip-len", "4", "--batch-size", "2", "--width", "0.25",
         "--seed", "3"]

#: A child that trains (ARGS[2:]) and SIGKILLs itself at its ARGS[0]-th save of last.pt:
#: ARGS[1] "during" (half the bytes written) or "after" (written, not yet renamed).
KILLED_WHILE_SAVING = """
    import io, os, signal
    from pathlib import Path
    import torch

    nth, when = int(ARGS[0]), ARGS[1]
    real_save, saves = torch.save, []

    def save(obj, f, *a, **kw):
        if Path(f).name.startswith("last.pt.tmp-"):
            saves.append(f)
            if len(saves) == nth:
                if when == "during":
                    buf = io.BytesIO()
                    real_save(obj, buf, *a, **kw)
                    Path(f).write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
                else:
                    real_save(obj, f, *a, **kw)
                os.kill(os.getpid(), signal.SIGKILL)
        return real_save(obj, f, *a, **kw)

    torch.save = save
    from pourbench.cli import main
    main(ARGS[2:])
"""


def test_training_killed_while_saving_resumes_from_the_last_good_checkpoint(tmp_path):
    data = write_synthetic_dataset(tmp_path / "data", {"train": 2, "val": 1, "test": 1},
                                   num_frames=6, height=16, width=16)
    run = tmp_path / "run"
    train = ["train", "--data", data, "--out", run, *TRAIN, "--epochs", "4"]
    # killed while writing epoch 2's last.pt: epoch 1's is whole
    killed = child(KILLED_WHILE_SAVING, 2, "during", *train)
    assert killed.returncode == -signal.SIGKILL
    assert load_checkpoint(run / "last.pt")["epoch"] == 1
    assert debris(run)  # the half-written one, never under the final name
    # resumed, then killed right after epoch 3's last.pt was written, before its rename
    killed = child(KILLED_WHILE_SAVING, 2, "after", *train, "--resume")
    assert killed.returncode == -signal.SIGKILL
    assert load_checkpoint(run / "last.pt")["epoch"] == 2
    # the real entry point finishes the run from last.pt
    done = pourbench(*train, "--resume")
    assert done.returncode == 0, done.stderr
    last = load_checkpoint(run / "last.pt")
    assert last["epoch"] == 4 and [h["epoch"] for h in last["history"]] == [1, 2, 3, 4]
    assert not debris(run)
    # the same as a run never interrupted
    whole = tmp_path / "whole"
    uninterrupted = pourbench("train", "--data", data, "--out", whole, *TRAIN, "--epochs", "4")
    assert uninterrupted.returncode == 0, uninterrupted.stderr
    reference = load_checkpoint(whole / "last.pt")
    for key, tensor in reference["model_state"].items():
        assert torch.equal(last["model_state"][key], tensor), key
    assert load_checkpoint(run / "best.pt")["epoch"] <= 4


def test_render_memory_benchmark_runs_and_reports_per_checkpoint(capsys):
    """A smoke run of benchmark/perf/render_memory.py with a few small frames (the real
    measurement, 450 frames at 320x240, is a benchmark: `pourbench bench memory`)."""
    from pourbench.benchmark.perf.render_memory import main as render_memory

    figures = render_memory(["--frames", "6", "--width", "48", "--height", "32",
                             "--particles", "400", "--checkpoints", "2,6"])
    assert [row["frames"] for row in figures["by_frames"]] == [2, 6]
    assert all(row["peak_rss_mb"] >= row["rss_mb"] > 0 for row in figures["by_frames"])
    assert figures["sequence_file_mb"] > 0
    assert '"peak_growth_mb"' in capsys.readouterr().out
