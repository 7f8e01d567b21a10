"""Schema v1 round trip, atomic writing under SIGKILL, and the lazy reader."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from conftest import K_TEST, sequence_attrs, synthetic_frames

from pourbench.core.errors import PourbenchError
from pourbench.core.schema import FRAME_FIELDS
from pourbench.datasets.sequence import SequenceReader, SequenceWriter, write_sequence
from pourbench.datasets.validate import validate_file


def test_round_trip_every_dataset_and_attr(sequence_file):
    path, frames = sequence_file
    reader = SequenceReader(path)
    assert (reader.num_frames, reader.height, reader.width) == frames["rgb"].shape[:3]
    for key, value in frames.items():
        got = reader.read(key)
        assert got.dtype == value.dtype, key
        np.testing.assert_array_equal(got, value, err_msg=key)
    np.testing.assert_array_equal(reader.camera_K(), K_TEST)
    assert reader.attrs["scenario"] == {"fill_fraction": 0.5}
    assert reader.attrs["complete"] is True and reader.attrs["schema_version"] == 1
    assert reader.containers == ["source", "target"]
    assert validate_file(path) == []


def test_frames_are_chunked_one_per_chunk(sequence_file):
    import h5py

    path, _ = sequence_file
    with h5py.File(path) as h:
        for name in FRAME_FIELDS:
            assert h[name].chunks[0] == 1
            assert h[name].compression in ("gzip", "lzf")


def test_reader_pickles_and_reopens(sequence_file):
    path, frames = sequence_file
    reader = SequenceReader(path)
    reader.read("rgb", 0)
    clone = pickle.loads(pickle.dumps(reader))
    np.testing.assert_array_equal(clone.read("mask/full", 2), frames["mask/full"][2])


def test_exception_inside_writer_leaves_nothing(tmp_path):
    path = tmp_path / "seq.h5"
    frames = synthetic_frames(T=3)
    with pytest.raises(RuntimeError):
        with SequenceWriter(path, 3, 12, 16, ["source"], sequence_attrs()) as w:
            w.write_camera_K(K_TEST)
            raise RuntimeError("renderer crashed")
    assert list(tmp_path.iterdir()) == []
    # finishing with a frame missing is also refused
    with pytest.raises(RuntimeError, match="never written"):
        with SequenceWriter(path, 3, 12, 16, ["source"], sequence_attrs()) as w:
            w.write_camera_K(K_TEST)
            for t in range(2):
                w.write_frame(t, images={p: frames[p][t] for p in FRAME_FIELDS},
                              volume=frames["volume"][t], camera_pose=np.eye(4),
                              poses={"source": np.eye(4)})
    assert not path.exists()


def test_wrong_frame_shape_is_refused(tmp_path):
    with pytest.raises(ValueError, match="rgb: frame shape"):
        with SequenceWriter(tmp_path / "s.h5", 1, 4, 4, ["source"], sequence_attrs()) as w:
            images = {p: np.zeros((4, 4)) for p in FRAME_FIELDS}
            images["rgb"] = np.zeros((4, 5, 3))
            w.write_frame(0, images=images, volume=np.zeros(3), camera_pose=np.eye(4),
                          poses={"source": np.eye(4)})
    with pytest.raises(ValueError, match="expected the frame fields"):
        with SequenceWriter(tmp_path / "t.h5", 1, 4, 4, ["source"], sequence_attrs()) as w:
            w.write_frame(0, images={"rgb": np.zeros((4, 4, 3))}, volume=np.zeros(3),
                          camera_pose=np.eye(4), poses={"source": np.eye(4)})


SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    sys.path.insert(0, {tests!r})
    from conftest import K_TEST, sequence_attrs, synthetic_frames
    from pourbench.core.schema import FRAME_FIELDS
    from pourbench.datasets.sequence import SequenceWriter
    T = 200
    f = synthetic_frames(T=T, H=64, W=64)
    with SequenceWriter({path!r}, T, 64, 64, ["source", "target"], sequence_attrs()) as w:
        w.write_camera_K(K_TEST)
        for t in range(T):
            w.write_frame(t, images={{p: f[p][t] for p in FRAME_FIELDS}},
                          volume=f["volume"][t], camera_pose=np.eye(4),
                          poses={{"source": np.eye(4), "target": np.eye(4)}})
            if t == 5:
                print("writing", flush=True)
            time.sleep(0.02)
    """
)


def test_sigkill_mid_write_leaves_nothing_complete(tmp_path):
    path = tmp_path / "seq_000001.h5"
    script = SLOW_WRITER.format(tests=os.path.dirname(__file__), path=str(path))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not path.exists(), "a killed writer must not leave the final name"
    debris = list(tmp_path.iterdir())
    assert debris, "the temporary file should be left as debris"
    for p in debris:
        with pytest.raises(PourbenchError):
            SequenceReader(p)
        assert validate_file(p), "validate must not accept the partial file"


def test_reader_rejects_incomplete_and_garbage(tmp_path):
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not hdf5 at all")
    with pytest.raises(PourbenchError, match="cannot open"):
        SequenceReader(garbage)
    with pytest.raises(PourbenchError, match="cannot open"):
        SequenceReader(tmp_path / "missing.h5")


def test_write_sequence_round_trip_of_many_sizes(tmp_path):
    for T, H, W in [(1, 1, 1), (2, 3, 5), (7, 9, 4)]:
        frames = synthetic_frames(T, H, W, seed=T)
        path = tmp_path / f"{T}_{H}_{W}.h5"
        write_sequence(path, frames, K_TEST, sequence_attrs())
        r = SequenceReader(path)
        np.testing.assert_array_equal(r.read("depth"), frames["depth"])
