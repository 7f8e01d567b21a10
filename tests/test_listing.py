"""One listing of sequence files for every reader: debris and strays are never sequences."""

from __future__ import annotations

import numpy as np
import pytest

from pourbench.benchmark.groundtruth import GroundTruth
from pourbench.core.errors import PourbenchError
from pourbench.datasets.listing import list_sequences, sequence_files
from pourbench.datasets.occlusion import hidden_share

from fixtures import write_mask_sequence


@pytest.fixture
def split(tmp_path):
    """A test split of two sequences beside a killed writer's debris and a stray file."""
    folder = tmp_path / "test"
    folder.mkdir()
    full = np.zeros((2, 4, 6), bool)
    full[:, 1:3, 1:5] = True  # 8 water pixels a frame
    visible = full.copy()
    visible[:, 1, 1:5] = False  # 4 of them hidden
    for i in (3, 1):
        write_mask_sequence(folder / f"seq_00000{i}.h5", visible, full)
    (folder / "seq_000009.h5.tmp-4242").write_bytes(b"half written")
    (folder / "notes.h5").write_bytes(b"not a sequence")
    (folder / "seq_000007.h5").mkdir()  # a folder with a sequence's name
    return tmp_path


def test_every_reader_sees_the_same_sequences(split):
    names = ["seq_000001.h5", "seq_000003.h5"]
    assert [p.name for p in list_sequences(split / "test")] == names
    assert [p.name for p in list_sequences(split, recursive=True)] == names
    assert [p.name for p in sequence_files(split, "test")] == names
    assert list(GroundTruth(split / "test").files) == ["seq_000001", "seq_000003"]
    share = hidden_share(split, "test")
    assert (share.sequences, share.full_pixels, share.hidden_pixels) == (2, 32, 16)


def test_checked_listing_names_the_problem(split, tmp_path):
    with pytest.raises(PourbenchError, match="pass a split"):
        sequence_files(split)
    with pytest.raises(PourbenchError, match="unknown split .tset."):
        sequence_files(split, "tset")
    (split / "test" / "seq_000005.h5").write_bytes(b"truncated")
    with pytest.raises(PourbenchError, match="seq_000005.h5"):
        sequence_files(split, "test")
    with pytest.raises(PourbenchError, match="missing sequence files"):
        sequence_files([tmp_path / "seq_000404.h5"])
