"""A bad predictions file is refused before scoring, one line per problem naming the sequence."""

import h5py
import numpy as np
import pytest

from pourbench.benchmark.score import score
from pourbench.benchmark.submission import validate_submission
from pourbench.core.errors import PourbenchError

from fixtures import write_mask_sequence, write_predictions

SHAPES = {"seq_000000": (2, 3, 4), "seq_000001": (1, 3, 4)}


def good(**overrides):
    arrays = {n: np.full(s, 0.25, np.float16) for n, s in SHAPES.items()}
    arrays.update(overrides)
    return arrays


def problems(path):
    with pytest.raises(PourbenchError) as e:
        validate_submission(path, SHAPES)
    assert e.value.exit_code == 2
    return str(e.value).splitlines()


def test_valid_file_passes_and_reports_its_attributes(tmp_path):
    path = write_predictions(tmp_path / "p.h5", good(seq_000001=np.zeros((1, 3, 4), np.uint8)),
                             model="cnn", modality="rgb", task="tracking", num_parameters=12)
    info = validate_submission(path, SHAPES)
    assert (info.model, info.modality, info.task, info.num_parameters) == (
        "cnn", "rgb", "tracking", 12)
    assert len(info.sha256) == 64


def test_missing_sequence(tmp_path):
    arrays = good()
    del arrays["seq_000001"]
    lines = problems(write_predictions(tmp_path / "p.h5", arrays))
    assert lines == [f"{tmp_path / 'p.h5'}: seq_000001: missing sequence"]


def test_extra_sequence(tmp_path):
    lines = problems(write_predictions(tmp_path / "p.h5", good(seq_000009=np.zeros((1, 3, 4)))))
    assert len(lines) == 1 and "seq_000009: extra entry" in lines[0]


def test_wrong_shape(tmp_path):
    lines = problems(write_predictions(tmp_path / "p.h5", good(seq_000000=np.zeros((1, 3, 4),
                                                                                   np.float16))))
    assert lines == [
        f"{tmp_path / 'p.h5'}: seq_000000: wrong shape (1, 3, 4), expected (2, 3, 4)"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.bool_, np.uint16])
def test_wrong_dtype(tmp_path, dtype):
    lines = problems(write_predictions(tmp_path / "p.h5", good(seq_000001=np.zeros((1, 3, 4),
                                                                                   dtype))))
    assert len(lines) == 1
    assert "seq_000001: wrong dtype" in lines[0]
    assert "allowed for detection: float16, uint8" in lines[0]


def test_string_dataset_is_refused_without_reading(tmp_path):
    path = write_predictions(tmp_path / "p.h5", good())
    with h5py.File(path, "a") as f:
        del f["seq_000000"]
        f.create_dataset("seq_000000", data=np.array(["x"] * 24, dtype=object).reshape(2, 3, 4),
                         dtype=h5py.string_dtype())
    lines = problems(path)
    assert len(lines) == 1 and "seq_000000: wrong dtype object" in lines[0]


@pytest.mark.parametrize(
    "value, expected",
    [(1.5, "1 values outside [0, 1] (lowest 1.5, highest 1.5)"),
     (-0.5, "1 values outside [0, 1] (lowest -0.5, highest -0.5)"),
     (np.nan, "1 NaN values"),
     (np.inf, "1 infinite values"),
     (-np.inf, "1 infinite values")],
)
def test_bad_values(tmp_path, value, expected):
    a = np.full((2, 3, 4), 0.5, np.float16)
    a[1, 2, 3] = value
    lines = problems(write_predictions(tmp_path / "p.h5", good(seq_000000=a)))
    assert lines == [f"{tmp_path / 'p.h5'}: seq_000000: {expected}"]


def test_not_hdf5(tmp_path):
    path = tmp_path / "p.h5"
    path.write_text("seq_000000,0.5\n")
    assert problems(path) == [f"{path}: not an HDF5 file"]


def test_truncated_hdf5(tmp_path):
    path = write_predictions(tmp_path / "p.h5", good())
    path.write_bytes(path.read_bytes()[:1000])
    (line,) = problems(path)
    assert line.startswith(f"{path}: cannot open as HDF5")


def test_missing_file(tmp_path):
    assert problems(tmp_path / "nope.h5") == [f"{tmp_path / 'nope.h5'}: predictions file not found"]


def test_links_and_groups_are_not_followed(tmp_path):
    secret = write_predictions(tmp_path / "other.h5", {"x": np.zeros((1, 3, 4), np.float16)})
    path = write_predictions(tmp_path / "p.h5", {"real": np.zeros((2, 3, 4), np.float16)})
    with h5py.File(path, "a") as f:
        f["seq_000000"] = h5py.SoftLink("/real")
        f["seq_000001"] = h5py.ExternalLink(str(secret), "/x")
        f.create_group("seq_000002")
    lines = problems(path)
    assert any("seq_000000: is a soft link" in line for line in lines)
    assert any("seq_000001: is an external link" in line for line in lines)
    assert any("real: extra entry" in line for line in lines)
    assert any("seq_000002: extra entry" in line for line in lines)


def test_group_where_a_dataset_should_be(tmp_path):
    path = write_predictions(tmp_path / "p.h5", good())
    with h5py.File(path, "a") as f:
        del f["seq_000001"]
        f.create_group("seq_000001")
    assert problems(path)[0].endswith("seq_000001: is a group; expected a dataset")


def test_external_raw_storage_is_refused(tmp_path):
    raw = tmp_path / "raw.bin"
    np.zeros(12, np.float16).tofile(raw)
    path = write_predictions(tmp_path / "p.h5", good())
    with h5py.File(path, "a") as f:
        del f["seq_000001"]
        f.create_dataset("seq_000001", shape=(1, 3, 4), dtype=np.float16,
                         external=[(str(raw), 0, 24)])
    assert problems(path)[0].endswith("seq_000001: is stored outside the file "
                                      "(virtual or external dataset); refused")


def test_bad_attributes(tmp_path):
    path = write_predictions(tmp_path / "p.h5", good(), task="segmentation", num_parameters=-3)
    lines = problems(path)
    assert len(lines) == 2
    assert "attribute 'task' is 'segmentation', expected detection | tracking" in lines[0]
    assert "attribute 'num_parameters'" in lines[1]


def test_every_problem_is_listed_and_nothing_is_scored(tmp_path):
    gt = tmp_path / "test"
    gt.mkdir()
    for name, shape in SHAPES.items():
        write_mask_sequence(gt / f"{name}.h5", np.zeros(shape, bool))
    arrays = {"seq_000000": np.zeros((2, 3, 5), np.float16), "seq_000007": np.zeros(3)}
    path = write_predictions(tmp_path / "p.h5", arrays)
    out = tmp_path / "results"
    with pytest.raises(PourbenchError) as e:
        score(path, gt, out_dir=out, progress=False)
    lines = str(e.value).splitlines()
    assert len(lines) == 3
    assert lines[0].endswith("seq_000001: missing sequence")
    assert "seq_000007: extra entry" in lines[1]
    assert "seq_000000: wrong shape (2, 3, 5), expected (2, 3, 4)" in lines[2]
    assert not out.exists()
