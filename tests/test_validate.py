"""`pourbench validate` catches each broken invariant of schema v1, on files we corrupt."""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pytest
from conftest import K_TEST, sequence_attrs, synthetic_frames

from pourbench.cli import main
from pourbench.datasets.manifest import Manifest, SequenceEntry, sha256_of
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
                                     (root / rel).stat().st_size, sha256_of(root / rel)))
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
