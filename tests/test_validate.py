"""`pourbench validate` catches each broken invariant of schema v1, on files we corrupt."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import K_TEST, sequence_attrs, synthetic_frames

from pourbench.cli import main
from pourbench.core.hashing import file_sha256
from pourbench.datasets.manifest import Manifest, SequenceEntry
from pourbench.datasets.sequence import write_sequence
from pourbench.datasets.validate import validate_file, validate_folder


def _replace(h, name, data):
    del h[name]
    h.create_dataset(name, data=data)


def _frame_subset_broken(h):
    v = h["mask/visible"][2]
    v[:] = False
    v[0, 0] = True
    f = h["mask/full"][2]
    f[0, 0] = False
    h["mask/visible"][2], h["mask/full"][2] = v, f


def _depth_nan(h):
    d = h["depth"][1]
    d[3, 3] = np.nan
    h["depth"][1] = d


def _volume_leak(h):
    v = h["volume"][()]
    v[-1, 2] -= 30.0  # 30 ml vanish
    h["volume"][...] = v


def _volume_negative(h):
    v = h["volume"][()]
    v[1] = [110.0, -10.0, 0.0]
    h["volume"][...] = v


def _pose_nan(h):
    p = h["poses/target"][()]
    p[0, 0, 0] = np.nan
    h["poses/target"][...] = p


CORRUPTIONS = {
    "complete unset": (lambda h: h.attrs.__setitem__("complete", False), "attrs", "'complete'"),
    "missing attr": (lambda h: h.attrs.__delitem__("seed"), "attrs", "missing attribute 'seed'"),
    "schema version": (lambda h: h.attrs.__setitem__("schema_version", 7), "attrs",
                       "schema_version 7"),
    "bad json": (lambda h: h.attrs.__setitem__("scenario", "{oops"), "attrs", "not valid JSON"),
    "missing dataset": (lambda h: h.__delitem__("thermal"), "thermal", "missing dataset"),
    "wrong dtype": (lambda h: _replace(h, "thermal", h["thermal"][()].astype(np.float32)),
                    "thermal", "dtype float32"),
    "shape mismatch": (lambda h: _replace(h, "depth", h["depth"][:, :, :-1]), "depth", "shape"),
    "chunks": (lambda h: _replace(h, "mask/full", h["mask/full"][()]), "mask/full", "chunk"),
    "volume shape": (lambda h: _replace(h, "volume", h["volume"][:-1]), "volume", "shape"),
    "pose nan": (_pose_nan, "poses/target", "NaN"),
    "K nan": (lambda h: _replace(h, "camera/K", np.full((3, 3), np.nan)), "camera/K", "NaN"),
    "missing poses": (lambda h: h.__delitem__("poses"), "poses", "missing container poses"),
    "visible not subset": (_frame_subset_broken, "mask/visible", "not a subset of mask/full"),
    "depth nan": (_depth_nan, "depth", "NaN in 1 frame"),
    "volume leak": (_volume_leak, "volume", "source+target+spilled"),
    "volume negative": (_volume_negative, "volume", "negative volume"),
    "fps": (lambda h: h.attrs.__setitem__("fps", 0.0), "attrs", "fps must be > 0"),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_each_broken_invariant_is_named(sequence_file, name):
    path, _ = sequence_file
    corrupt, where, problem = CORRUPTIONS[name]
    with h5py.File(path, "r+") as h:
        corrupt(h)
    lines = validate_file(path)
    assert any(line.startswith(f"{path}: {where}: ") and problem in line for line in lines), lines


def test_valid_file_has_no_problem(sequence_file):
    assert validate_file(sequence_file[0]) == []


def test_not_hdf5(tmp_path):
    p = tmp_path / "x.h5"
    p.write_text("hello")
    assert "not a readable HDF5 file" in validate_file(p)[0]


def _dataset(tmp_path, n=2):
    root = tmp_path / "ds"
    entries = []
    for i in range(n):
        split = "train" if i % 2 == 0 else "test"
        rel = f"{split}/seq_{i:06d}.h5"
        (root / split).mkdir(parents=True, exist_ok=True)
        write_sequence(root / rel, synthetic_frames(seed=i), K_TEST, sequence_attrs(i))
        entries.append(SequenceEntry(f"seq_{i:06d}", split, rel, i, 0, f"sim_{i:06d}", i,
                                     (root / rel).stat().st_size, file_sha256(root / rel)))
    Manifest(recipe={"name": "t"}, seed=0, sequences=entries).save(root)
    return root


def test_folder_valid_then_each_folder_problem(tmp_path, capsys):
    root = _dataset(tmp_path)
    assert validate_folder(root) == []
    # unlisted file
    shutil.copy(root / "train/seq_000000.h5", root / "train/seq_000099.h5")
    assert any("not listed" in p for p in validate_folder(root))
    (root / "train/seq_000099.h5").unlink()
    # debris of a killed writer
    (root / "test/seq_000005.h5.tmp-123").write_bytes(b"")
    assert any("temporary file" in p for p in validate_folder(root))
    (root / "test/seq_000005.h5.tmp-123").unlink()
    # checksum
    with h5py.File(root / "test/seq_000001.h5", "r+") as h:
        h.attrs["seed"] = 5
    assert any("checksum" in p for p in validate_folder(root))
    # missing file
    (root / "test/seq_000001.h5").unlink()
    assert any("seq_000001: file test/seq_000001.h5 is missing" in p for p in validate_folder(root))
    # corrupt manifest
    (root / "manifest.json").write_text("{")
    assert "corrupt manifest" in validate_folder(root)[0]


def test_cli_names_file_dataset_problem_and_exits_nonzero(sequence_file, capsys):
    path, _ = sequence_file
    with h5py.File(path, "r+") as h:
        _frame_subset_broken(h)
    with pytest.raises(SystemExit) as e:
        main(["validate", str(path)])
    assert e.value.code != 0
    out = capsys.readouterr()
    assert f"{path}: mask/visible: not a subset of mask/full" in out.out
    assert "Traceback" not in out.err


def test_cli_valid_folder_exits_zero(tmp_path, capsys):
    root = _dataset(tmp_path)
    with pytest.raises(SystemExit) as e:
        main(["validate", str(root)])
    assert e.value.code == 0
    assert "valid" in capsys.readouterr().out
    data = json.loads((root / "manifest.json").read_text())
    assert [s["name"] for s in data["sequences"]] == ["seq_000000", "seq_000001"]


# --- labels against the simulation (DIR/sims/ present) ---------------------------------------


@pytest.fixture(scope="module")
def tiny_reference(tmp_path_factory):
    """The tiny recipe, generated once per session (test_generate uses the same folder)."""
    from pourbench.datasets.generate import generate
    from pourbench.datasets.recipe import load_recipe

    out = tmp_path_factory.getbasetemp() / "tiny_shared"
    generate(load_recipe("tiny"), out, arch="cpu", progress=False)
    return out


@pytest.fixture
def tiny_copy(tiny_reference, tmp_path):
    """A copy of the generated tiny dataset, free to corrupt."""
    return Path(shutil.copytree(tiny_reference, tmp_path / "tiny"))


def _wettest_frame(root, seq):
    """(sequence path, frame with the most in-view particle centres, how many)."""
    from pourbench.core.coverage import project
    from pourbench.core.track import TrackReader

    path = root / seq.path
    with h5py.File(path) as h, TrackReader(root / "sims" / f"{seq.sim_id}.h5") as track:
        K, poses = h["camera/K"][()], h["camera/pose"][()]
        T, H, W = h["mask/full"].shape
        counts = [int(project(track.positions(t), K, poses[t], W, H)[2].sum()) for t in range(T)]
    return path, int(np.argmax(counts)), max(counts)


def test_erased_water_is_named(tiny_copy):
    root = tiny_copy
    entry = Manifest.load(root).sequences[-1]
    path, t, in_view = _wettest_frame(root, entry)
    assert in_view > 0
    with h5py.File(path, "r+") as h:
        for name in ("mask/full", "mask/visible"):
            h[name][t] = np.zeros(h[name].shape[1:], bool)
    lines = validate_folder(root)
    coverage = [ln for ln in lines if ln.startswith(f"{path.resolve()}: mask/full: covers ")]
    assert len(coverage) == 1, lines
    share = float(coverage[0].split("covers ")[1].split(" %")[0])
    assert share < 99.5 and "of in-view particle centres (< 99.5 %)" in coverage[0]
    assert f"{path.resolve()}: mask/full: 1 frames with water in view have an empty mask" in lines
    assert any(ln.startswith(f"{path.resolve()}: attrs: label_coverage ") and "differs" in ln
               for ln in lines), lines
    assert any(f"{entry.name}: label_coverage" in ln and "differs" in ln for ln in lines), lines
    assert any("checksum" in ln for ln in lines)
    # the file alone, inside its dataset folder, finds its track too
    assert f"{path}: mask/full: 1 frames with water in view have an empty mask" in \
        validate_file(path, root / "sims")


def test_missing_track_is_named(tiny_copy):
    root = tiny_copy
    entry = Manifest.load(root).sequences[0]
    (root / "sims" / f"{entry.sim_id}.h5").unlink()
    lines = validate_folder(root)
    assert any(ln.startswith(f"{(root / entry.path).resolve()}: attrs: sim_id: particle track")
               and ln.endswith("is missing") for ln in lines), lines


def test_files_and_manifests_without_recorded_coverage_stay_valid(tiny_copy):
    root = tiny_copy
    data = json.loads((root / "manifest.json").read_text())
    for e in data["sequences"]:
        del e["label_coverage"]
        with h5py.File(root / e["path"], "r+") as h:
            del h.attrs["label_coverage"]
    (root / "manifest.json").write_text(json.dumps(data))
    assert validate_folder(root, checksums=False) == []


def test_cli_prints_the_dataset_coverage(tiny_copy, capsys):
    with pytest.raises(SystemExit) as e:
        main(["validate", str(tiny_copy)])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert f"{tiny_copy}: valid; labels: mask/full covers " in out
    assert "in-view particle centres (min 99.5 %)" in out and "checked against sims/" in out
