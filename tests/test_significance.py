"""Paired bootstrap of model differences over test sequences."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pourbench.benchmark.significance import compare, paired_bootstrap, to_markdown
from pourbench.core.errors import PourbenchError


def test_a_constant_difference_has_a_point_interval():
    b = np.array([0.2, 0.5, 0.9, 0.1])
    assert paired_bootstrap(b + 0.1, b) == pytest.approx((0.1, 0.1, 0.1))


def test_pairing_removes_the_spread_between_sequences():
    rng = np.random.default_rng(0)
    hard_or_easy = rng.uniform(0, 1, 40)  # sequences differ far more than the models do
    a = hard_or_easy + 0.02 + rng.normal(0, 0.005, 40)
    mean, low, high = paired_bootstrap(a, hard_or_easy)
    assert 0 < low < mean < high and high - low < 0.01
    noise = rng.normal(0, 0.01, 40)
    mean, low, high = paired_bootstrap(hard_or_easy + noise - noise.mean(), hard_or_easy)
    assert low < 0 < high and mean == pytest.approx(0, abs=1e-12)


def test_compare_reads_results_and_averages_seeds(tmp_path):
    def results(name, model, seed, values, modality="rgb"):
        rows = [{"sequence": f"seq_{i}", "frames": 3, "f1": v, "iou": v, "ap": v}
                for i, v in enumerate(values)]  # fmt: skip
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"task": "detection", "model": model, "modality": modality,
                                    "seed": seed, "per_sequence": rows}))  # fmt: skip
        return path

    files = [results("a0", "lstm", 0, [0.5, 0.6, 0.7]), results("a1", "lstm", 1, [0.7, 0.8, 0.9]),
             results("b0", "cnn", 0, [0.5, 0.6, 0.7])]  # fmt: skip
    diffs = {d.metric: d for d in compare(files, [("lstm", "cnn")])}
    # lstm's seed mean is cnn + 0.1 on every sequence
    assert diffs["f1"].mean == pytest.approx(0.1) and diffs["f1"].excludes_zero
    assert diffs["f1"].sequences == 3
    row = "| detection | f1 | rgb | lstm − cnn | +0.100 [+0.100, +0.100] | yes | 3 |"
    assert row in to_markdown(list(diffs.values()))

    files.append(results("c0", "cnn", 0, [0.6, 0.7, 0.8], modality="thermal"))
    with pytest.raises(PourbenchError, match="cnn: scored in several modalities"):
        compare(files, [("lstm", "cnn")])
    (thermal,) = [d for d in compare(files, [(("cnn", "thermal"), "cnn")], modality="rgb")
                  if d.metric == "f1"]  # fmt: skip
    assert thermal.mean == pytest.approx(0.1) and thermal.a == "cnn thermal"
