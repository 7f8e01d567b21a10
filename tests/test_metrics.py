"""Pixel metrics on hand-worked examples, edge cases, aggregation, and a cross-check."""

import numpy as np
import pytest

from pourbench.benchmark import metrics as m


def hist(scores, truth, dtype=np.float16):
    return m.histogram(np.asarray(scores, dtype), np.asarray(truth, bool))


def test_grid_holds_every_float16_and_uint8_probability():
    # 0x3C00 + 1 float16 bit patterns in [0, 1], plus 254 values v/255 that float16 lacks.
    assert m.num_bins() == 0x3C00 + 1 + 254
    g = m.score_grid()
    assert g[0] == 0.0 and g[-1] == 1.0 and np.all(np.diff(g) > 0)


def test_hand_worked_example():
    # truth 1 1 0 0, scores .9 .4 .6 .1
    h = hist([0.9, 0.4, 0.6, 0.1], [1, 1, 0, 0])
    assert m.confusion_at(h) == m.Confusion(tp=1, fp=1, fn=1, tn=1)
    s = m.summarize(h)
    assert s["precision"] == 0.5 and s["recall"] == 0.5 and s["f1"] == 0.5
    assert s["iou"] == pytest.approx(1 / 3)
    # descending thresholds .9 .6 .4 .1: (P, R) = (1, .5) (.5, .5) (2/3, 1) (.5, 1)
    # AP = .5 * 1 + 0 * .5 + .5 * 2/3 + 0 * .5 = 5/6
    assert s["ap"] == pytest.approx(5 / 6, abs=1e-15)
    # F1 at each: 2/3, 1/2, 4/5, 2/3 -> best 0.8 at threshold 0.4
    assert s["best_f1"] == pytest.approx(0.8, abs=1e-15)
    assert s["best_threshold"] == float(np.float16(0.4))


def test_pr_curve_points():
    c = m.pr_curve(hist([0.9, 0.4, 0.6, 0.1], [1, 1, 0, 0]))
    np.testing.assert_allclose(c.precision, [1, 0.5, 2 / 3, 0.5])
    np.testing.assert_allclose(c.recall, [0.5, 0.5, 1, 1])
    assert np.all(np.diff(c.thresholds) < 0)


def test_tied_scores_are_one_threshold():
    # both pixels at .5: a single point P = .5, R = 1 (sklearn gives .5 too)
    assert m.average_precision(hist([0.5, 0.5], [1, 0])) == 0.5


def test_perfect_prediction():
    s = m.summarize(hist([1, 0, 1, 0], [1, 0, 1, 0]))
    assert all(s[k] == 1.0 for k in m.METRIC_NAMES)


def test_inverted_prediction():
    s = m.summarize(hist([0, 1, 0, 1], [1, 0, 1, 0]))
    assert (s["precision"], s["recall"], s["f1"], s["iou"]) == (0, 0, 0, 0)
    # thresholds 1 (P 0, R 0) and 0 (P .5, R 1): AP = .5, the base rate
    assert s["ap"] == 0.5
    # predicting everything: 2 TP, 2 FP -> F1 = 4 / 6
    assert s["best_f1"] == pytest.approx(2 / 3) and s["best_threshold"] == 0.0


def test_all_positive_truth_under_threshold():
    # all water, every score .3: nothing predicted at .5, but ranking is perfect
    s = m.summarize(hist([0.3] * 4, [1] * 4))
    assert (s["precision"], s["recall"], s["f1"], s["iou"]) == (1, 0, 0, 0)
    assert s["ap"] == 1.0 and s["best_f1"] == 1.0


def test_empty_truth_empty_prediction_scores_one():
    s = m.summarize(hist([0.0, 0.2, 0.49], [0, 0, 0]))
    assert all(s[k] == 1.0 for k in m.METRIC_NAMES)


def test_empty_truth_false_alarm_scores_zero():
    s = m.summarize(hist([0.0, 0.7, 0.1], [0, 0, 0]))
    assert (s["precision"], s["recall"], s["f1"], s["iou"]) == (0, 1, 0, 0)
    assert s["ap"] == 0.0 and s["best_f1"] == 0.0


def test_truth_positive_nothing_predicted():
    c = m.confusion_from_masks(np.zeros(4, bool), np.array([1, 0, 0, 0], bool))
    assert (m.precision(c), m.recall(c), m.f1_score(c), m.iou(c)) == (1, 0, 0, 0)


def test_uint8_is_value_over_255_and_threshold_is_inclusive():
    h = m.histogram(np.array([127, 128, 255, 0], np.uint8), np.array([1, 1, 1, 0], bool))
    assert m.confusion_at(h) == m.Confusion(tp=2, fp=0, fn=1, tn=1)
    assert m.confusion_at(hist([0.5, np.nextafter(np.float16(0.5), 0)], [1, 1])).tp == 1


def test_negative_zero_counts_as_zero():
    h = hist([-0.0, 0.0], [0, 0])
    assert h.negatives[0] == 2


@pytest.mark.parametrize(
    "bad", [np.array([np.nan], np.float16), np.array([1.5], np.float16),
            np.array([-0.25], np.float16), np.array([np.inf], np.float16),
            np.array([0.5], np.float32)],
)
def test_score_bins_refuses_invalid(bad):
    with pytest.raises(ValueError):
        m.score_bins(bad)


def test_pooled_versus_mean_of_sequences():
    a = hist([1, 1, 0, 0], [1, 1, 0, 0])  # perfect: F1 1, IoU 1
    b = hist([0, 1, 0, 0], [1, 0, 0, 0])  # TP 0 FP 1 FN 1: F1 0, IoU 0
    mean = m.mean_of([m.summarize(a), m.summarize(b)])
    assert mean["f1"] == 0.5 and mean["iou"] == 0.5
    pooled = m.summarize(a + b)  # TP 2 FP 1 FN 1
    assert pooled["f1"] == pytest.approx(2 / 3) and pooled["iou"] == 0.5


def test_histograms_add_like_concatenation():
    rng = np.random.default_rng(3)
    p = rng.random(1000).astype(np.float16)
    t = rng.random(1000) < 0.3
    whole = m.summarize(m.histogram(p, t))
    parts = m.summarize(m.histogram(p[:400], t[:400]) + m.histogram(p[400:], t[400:]))
    assert whole == parts


@pytest.mark.parametrize("dtype", [np.float16, np.uint8])
def test_average_precision_matches_torchmetrics(dtype):
    torch = pytest.importorskip("torch")
    tm = pytest.importorskip("torchmetrics.functional.classification")
    rng = np.random.default_rng(0)
    t = rng.random(20_000) < 0.3
    p = np.clip(0.3 * t + 0.7 * rng.random(t.size), 0, 1)
    p = (p * 255).round().astype(np.uint8) if dtype == np.uint8 else p.astype(np.float16)
    probs = p.astype(np.float64) / (255 if dtype == np.uint8 else 1)
    ref = tm.binary_average_precision(torch.tensor(probs), torch.tensor(t).long())
    # the grid holds every possible value exactly: only float32 rounding in torchmetrics
    assert m.average_precision(m.histogram(p, t)) == pytest.approx(float(ref), abs=1e-6)
