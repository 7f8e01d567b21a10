"""The study loop: model labels, the differences it reports, the hidden-water share, and one
small end-to-end run over two models (one a multi-frame window) and two modalities."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pourbench.baselines import build_model
from pourbench.benchmark.checkpoint import load_checkpoint
from pourbench.benchmark.predict import trained_label
from pourbench.benchmark.study import (
    ModelSpec,
    StudySettings,
    learning_curves,
    model_spec,
    run_name,
    run_study,
    study_pairs,
)
from pourbench.benchmark.synthetic import write_synthetic_dataset
from pourbench.core.errors import PourbenchError
from pourbench.datasets.occlusion import hidden_share

from fixtures import write_mask_sequence


def test_model_labels_round_trip_to_the_registry():
    assert model_spec("cnn") == ModelSpec("cnn", {})
    assert model_spec("multiframe") == ModelSpec("multiframe", {})
    assert model_spec("multiframe-k8") == ModelSpec("multiframe", {"num_frames": 8})
    assert model_spec("lstm-tbptt") == ModelSpec("lstm", {}, stateful=True)
    assert model_spec("multiframe-k2-tbptt") == ModelSpec("multiframe", {"num_frames": 2}, True)
    for label in ("multiframe", "multiframe-k2", "multiframe-k8", "lstm"):
        spec = model_spec(label)
        assert build_model(spec.name, in_channels=3, **spec.kwargs).label == label
    assert trained_label("lstm", {"stateful": True}) == "lstm-tbptt"
    assert trained_label("multiframe-k8", {"stateful": False}) == "multiframe-k8"
    for bad in ("rnn", "multiframe-kx", "multiframe-k0", "cnn-k2", "lstm-tbptt-tbptt"):
        with pytest.raises(PourbenchError, match="model"):
            model_spec(bad)


def test_run_names_keep_rgb_short():
    assert run_name("lstm", "rgb", 0) == "lstm_s0"
    assert run_name("multiframe-k8", "rgb+thermal", 2) == "multiframe-k8_rgb+thermal_s2"


def test_study_pairs_compare_models_per_modality_and_modalities_per_model():
    pairs = study_pairs(["cnn", "multiframe", "lstm", "multiframe-k8"], ["rgb", "thermal"])
    for mod in ("rgb", "thermal"):
        assert (("lstm", mod), ("cnn", mod)) in pairs
        assert (("lstm", mod), ("multiframe", mod)) in pairs
        assert (("multiframe-k8", mod), ("cnn", mod)) in pairs
        assert (("multiframe-k8", mod), ("multiframe", mod)) in pairs
    for model in ("cnn", "multiframe", "lstm", "multiframe-k8"):
        assert ((model, "thermal"), (model, "rgb")) in pairs
    # 5 model pairs in each of 2 modalities, 4 models' thermal - rgb
    assert len(pairs) == 5 * 2 + 4 and len(set(pairs)) == len(pairs)
    tbptt = study_pairs(["cnn", "lstm", "lstm-tbptt"], ["rgb"])
    assert (("lstm-tbptt", "rgb"), ("lstm", "rgb")) in tbptt
    assert (("lstm-tbptt", "rgb"), ("cnn", "rgb")) in tbptt
    assert study_pairs(["cnn"], ["thermal"]) == []


def test_hidden_share_counts_full_but_not_visible_pixels(tmp_path):
    full = np.zeros((2, 4, 4), bool)
    full[0, :2] = True  # 8 pixels
    full[1, 0, 0] = True  # 1 pixel
    visible = full.copy()
    visible[0, 0] = False  # 4 of frame 0's hidden
    write_mask_sequence(tmp_path / "test" / "seq_000000.h5", visible, full)
    write_mask_sequence(tmp_path / "test" / "seq_000001.h5", np.zeros((1, 4, 4), bool),
                        np.ones((1, 4, 4), bool))  # fmt: skip
    share = hidden_share(tmp_path, "test")
    assert (share.full_pixels, share.hidden_pixels, share.sequences) == (9 + 16, 4 + 16, 2)
    assert share.fraction == pytest.approx(20 / 25)
    with pytest.raises(PourbenchError, match="train: no such data folder"):
        hidden_share(tmp_path, "train")


def test_a_small_study_runs_every_model_modality_and_seed(tmp_path):
    data = write_synthetic_dataset(tmp_path / "data", {"train": 2, "val": 1, "test": 2},
                                   num_frames=6, height=32, width=32)  # fmt: skip
    settings = StudySettings(epochs=1, batch_size=2, clip_len=3, width=0.25, task="all")
    board = run_study(data, tmp_path / "out", models=("cnn", "lstm"), seeds=(0,),
                      settings=settings, progress=False, modalities=("rgb", "thermal"),
                      extra=(("multiframe-k2", "rgb"), ("lstm-tbptt", "rgb")))  # fmt: skip
    rows = {(row.model, row.modality) for row in board.rows}
    assert {("cnn", "rgb"), ("cnn", "thermal"), ("lstm", "rgb"), ("lstm", "thermal"),
            ("multiframe-k2", "rgb"), ("lstm-tbptt", "rgb"),
            ("constant", "none")} <= rows  # fmt: skip
    assert ("multiframe-k2", "thermal") not in rows
    timing = json.loads((tmp_path / "out" / "timing.json").read_text())["train_seconds"]
    assert set(timing) == {"cnn_s0", "lstm_s0", "cnn_thermal_s0", "lstm_thermal_s0",
                           "multiframe-k2_s0", "lstm-tbptt_s0"}  # fmt: skip
    assert all(seconds > 0 for seconds in timing.values())
    runs = tmp_path / "out" / "runs"
    assert load_checkpoint(runs / "lstm-tbptt_s0" / "best.pt")["args"]["stateful"] is True
    assert load_checkpoint(runs / "lstm_s0" / "best.pt")["args"]["stateful"] is False
    differences = (tmp_path / "out" / "differences.md").read_text()
    assert "| detection | f1 | thermal | lstm − cnn |" in differences
    assert "| detection | f1 | rgb | multiframe-k2 − cnn |" in differences
    assert "| tracking | hidden_f1 | - | cnn thermal − cnn rgb |" in differences
    assert "| volume | mae_target_ml | rgb | lstm − cnn |" in differences
    assert (tmp_path / "out" / "learning_curves.png").read_bytes()[:4] == b"\x89PNG"


def test_learning_curves_average_seeds_over_the_epochs_all_reached(tmp_path):
    def run(name, f1s):
        folder = tmp_path / name
        folder.mkdir()
        rows = [{"epoch": i + 1, "val_f1_detection": f} for i, f in enumerate(f1s)]
        (folder / "metrics.json").write_text(json.dumps(rows))
        return folder

    runs = {"cnn": [run("a", [0.1, 0.3, 0.5]), run("b", [0.3, 0.5])],
            "lstm": [run("c", [0.2, 0.4])]}  # fmt: skip
    curves = learning_curves(runs, metrics=["val_f1_detection"])
    epochs, mean, std = curves["val_f1_detection"]["cnn"]
    assert epochs.tolist() == [1, 2]  # seed b stopped after 2 epochs
    assert mean == pytest.approx([0.2, 0.4])
    assert std == pytest.approx([np.sqrt(0.02), np.sqrt(0.02)])  # sample std of (x, x + 0.2)
    assert curves["val_f1_detection"]["lstm"][2].tolist() == [0.0, 0.0]
