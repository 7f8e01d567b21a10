"""Leaderboard: scored results merged into Markdown/HTML, seeds as mean ± std, comparability."""

import json

import numpy as np
import pytest

from pourbench.benchmark.leaderboard import build_leaderboard
from pourbench.benchmark.score import score
from pourbench.core.errors import PourbenchError

from fixtures import write_mask_sequence, write_predictions


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """Results of a perfect rgb model (both tasks) and an inverted thermal one (detection)."""
    root = tmp_path_factory.mktemp("lb")
    gt = root / "test"
    gt.mkdir()
    vis = np.zeros((2, 3, 4), bool)
    vis[0, 0, :2] = vis[1, 1, 1] = True
    full = vis.copy()
    full[:, 2, 3] = True
    write_mask_sequence(gt / "seq_000000.h5", vis, full)
    good = write_predictions(root / "good.h5", {"seq_000000": vis.astype(np.uint8) * 255},
                             model="oracle", modality="rgb", num_parameters=1_250_000)
    bad = write_predictions(root / "bad.h5", {"seq_000000": (~vis).astype(np.float16)},
                            model="contrarian", modality="thermal", num_parameters=950)
    out = {}
    for name, pred, task in [("good_det", good, "detection"), ("good_trk", good, "tracking"),
                             ("bad_det", bad, "detection")]:
        score(pred, gt, out_dir=root / name, task=task, progress=False)
        out[name] = root / name / "results.json"
    return out


def test_score_then_leaderboard(scored, tmp_path):
    board = build_leaderboard(list(scored.values()), tmp_path)
    md = (tmp_path / "leaderboard.md").read_text()
    lines = md.splitlines()
    assert lines[0].startswith("| Model | Modality | Detection F1 | Detection IoU | Detection AP")
    # best first; perfect detection bold; oracle tracking: F1 .75, IoU .6, AP .6 + .4 * 5/24;
    # it claims none of the hidden water: hidden F1 0, hidden AP = the hidden share 2/21
    assert lines[2] == ("| oracle | rgb | **1.000** | **1.000** | **1.000** | **0.750** | "
                        "**0.600** | **0.683** | **0.000** | **0.095** | 1.25 M | 1/1 | "
                        + board.rows[0].date + " |")
    assert lines[3].startswith("| contrarian | thermal | 0.000 | 0.000 | ")
    assert "| – | – | – | – | – | 950 | 1/0 |" in lines[3]
    page = (tmp_path / "leaderboard.html").read_text()
    assert "<b>1.000</b>" in page and "<td>0.000</td>" in page
    assert "<script" not in page and "<style>" in page
    doc = json.loads((tmp_path / "leaderboard.json").read_text())
    assert doc["rows"][0]["metrics"]["tracking_f1"] == {"mean": 0.75, "std": None, "n": 1}


def seed_copy(src, dst, f1, sha):
    doc = json.loads(src.read_text())
    doc["all_pixels"]["f1"] = f1
    doc["predictions"]["sha256"] = sha
    dst.write_text(json.dumps(doc))
    return dst


def test_seeds_are_mean_and_sample_std(scored, tmp_path):
    runs = [seed_copy(scored["good_det"], tmp_path / f"s{i}.json", f1, f"{i}" * 64)
            for i, f1 in enumerate([0.7, 0.8, 0.9])]
    board = build_leaderboard([*runs, scored["bad_det"]], tmp_path / "out")
    cell = board.rows[0].cells[("detection", "f1")]
    assert (cell.n, cell.mean) == (3, pytest.approx(0.8))
    assert cell.std == pytest.approx(0.1)  # ddof = 1
    assert "**0.800 ± 0.100**" in (tmp_path / "out" / "leaderboard.md").read_text()
    assert board.rows[0].runs == {"detection": 3}


def test_same_predictions_twice_is_refused(scored, tmp_path):
    copy = tmp_path / "copy.json"
    copy.write_text(scored["good_det"].read_text())
    with pytest.raises(PourbenchError, match="same predictions as"):
        build_leaderboard([scored["good_det"], copy], tmp_path / "out")


def test_different_ground_truth_is_refused(scored, tmp_path):
    doc = json.loads(scored["bad_det"].read_text())
    doc["ground_truth"]["files_sha256"] = "f" * 64
    other = tmp_path / "other.json"
    other.write_text(json.dumps(doc))
    with pytest.raises(PourbenchError, match="2 different ground-truth splits"):
        build_leaderboard([scored["good_det"], other], tmp_path / "out")


def test_unreadable_results_name_the_file(tmp_path):
    bad = tmp_path / "results.json"
    bad.write_text("{not json")
    with pytest.raises(PourbenchError, match="results.json: cannot read results"):
        build_leaderboard([tmp_path], tmp_path / "out")  # a folder means its results.json
    bad.write_text(json.dumps({"format": 1, "task": "detection"}))
    with pytest.raises(PourbenchError, match="malformed results"):
        build_leaderboard([bad], tmp_path / "out")
