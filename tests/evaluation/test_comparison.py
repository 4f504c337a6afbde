"""Paired bootstrap comparisons of production rows (signbridge.evaluation.comparison), checked against
hand-written references: a slow loop that stacks the resampled sentences' windows, np.cov + the scalar
Fréchet distance, and rows built to be equal or clearly different."""

import numpy as np
import pytest
import torch

from signbridge.evaluation.comparison import (
    bootstrap_mean,
    compare_rows,
    comparison_key,
    format_comparisons,
    paired_bootstrap_fgd,
    paired_bootstrap_mean,
    resample_counts,
)
from signbridge.metrics import duration_accuracy, duration_correct, frechet_distance
from signbridge.metrics.frechet import frechet_distance_from_statistics, frechet_distances_from_statistics

D = 4


def _row(num_sentences, seed, shift=0.0, scale=1.0, windows=(0, 5)):
    """One (n_i, D) array of window features per sentence; n_i in [windows[0], windows[1])."""
    rng = np.random.default_rng(seed)
    return [rng.normal(shift, scale, size=(int(rng.integers(*windows)), D)) for _ in range(num_sentences)]


def _slow_fgd_x10_differences(a, b, ref, num_resamples, seed):
    """The definition, written out: draw sentences, stack their windows on each side, np.cov, Fréchet."""
    draws = np.random.default_rng(seed).integers(0, len(ref), (num_resamples, len(ref)))
    out = []
    for chosen in draws:
        stack = [np.concatenate([side[i] for i in chosen]) for side in (a, b, ref)]
        out.append(10 * frechet_distance(stack[0], stack[2]) - 10 * frechet_distance(stack[1], stack[2]))
    return np.array(out)


# ------------------------------------------------------------------ resampling


def test_resample_counts_are_draws_with_replacement():
    counts = resample_counts(7, num_resamples=50, seed=3)
    draws = np.random.default_rng(3).integers(0, 7, (50, 7))
    assert counts.shape == (50, 7) and (counts.sum(axis=1) == 7).all()
    for row, drawn in zip(counts, draws, strict=True):
        assert (row == np.bincount(drawn, minlength=7)).all()
    with pytest.raises(ValueError, match="num_sentences"):
        resample_counts(0)
    with pytest.raises(ValueError, match="num_resamples"):
        resample_counts(5, num_resamples=0)


# ------------------------------------------------------------------ FGD


def test_fgd_bootstrap_equals_slow_stacking_loop():
    ref, a, b = _row(12, 0), _row(12, 1, shift=0.3), _row(12, 2, shift=0.1, scale=1.5)
    result = paired_bootstrap_fgd(a, b, ref, num_resamples=40, seed=5, names=("a", "b"))
    slow = _slow_fgd_x10_differences(a, b, ref, 40, 5)
    # the single run is the FGD of the whole stacks
    assert result["a_value"] == pytest.approx(
        10 * frechet_distance(np.concatenate(a), np.concatenate(ref)), rel=1e-9
    )
    assert result["b_value"] == pytest.approx(
        10 * frechet_distance(np.concatenate(b), np.concatenate(ref)), rel=1e-9
    )
    assert result["difference"] == pytest.approx(result["a_value"] - result["b_value"], rel=1e-12)
    assert result["num_valid_resamples"] == 40 and result["num_sentences"] == 12
    assert result["mean_difference"] == pytest.approx(slow.mean(), rel=1e-8)
    assert result["interval"] == pytest.approx(list(np.percentile(slow, [2.5, 97.5])), rel=1e-8)
    assert result["p_a_below_b"] == np.mean(slow < 0) and result["p_a_above_b"] == np.mean(slow > 0)
    assert result["a_below_b"] == (result["interval"][1] < 0)
    assert (result["a"], result["b"], result["metric"], result["confidence"]) == ("a", "b", "fgd_x10", 0.95)


def test_fgd_bootstrap_identical_rows_give_zero_everywhere():
    ref, a = _row(30, 0), _row(30, 1, shift=0.2)
    result = paired_bootstrap_fgd(a, [x.copy() for x in a], ref, num_resamples=200)
    assert result["difference"] == 0.0 and result["interval"] == [0.0, 0.0]
    assert result["p_a_below_b"] == 0.0 and result["p_a_above_b"] == 0.0
    assert not result["a_below_b"] and not result["a_above_b"]


def test_fgd_bootstrap_exchangeable_rows_interval_contains_zero():
    # two rows drawn from one distribution: neither is better, so P(A<B) is far from 0 and 1
    ref = _row(200, 0, windows=(2, 6))
    a, b = _row(200, 1, windows=(2, 6)), _row(200, 2, windows=(2, 6))
    result = paired_bootstrap_fgd(a, b, ref, num_resamples=500, seed=1)
    low, high = result["interval"]
    assert low < 0 < high and not result["a_below_b"] and not result["a_above_b"]
    assert 0.1 < result["p_a_below_b"] < 0.9


def test_fgd_bootstrap_clearly_better_row():
    ref = _row(100, 0, windows=(2, 6))
    close, far = _row(100, 1, shift=0.05, windows=(2, 6)), _row(100, 2, shift=1.0, windows=(2, 6))
    result = paired_bootstrap_fgd(close, far, ref, num_resamples=300)
    assert result["p_a_below_b"] == 1.0 and result["a_below_b"] and result["interval"][1] < 0
    reverse = paired_bootstrap_fgd(far, close, ref, num_resamples=300)
    assert reverse["p_a_below_b"] == 0.0 and reverse["a_above_b"] and reverse["interval"][0] > 0


def test_fgd_bootstrap_constant_row_like_the_mean_baseline():
    # every window the same vector (the Mean baseline): covariance 0, computed exactly, no PSD error
    ref = _row(40, 0, windows=(1, 4))
    constant = [np.tile(np.full(D, 0.5), (len(f), 1)) for f in ref]
    result = paired_bootstrap_fgd(constant, _row(40, 1, windows=(1, 4)), ref, num_resamples=100)
    assert result["a_value"] == pytest.approx(
        10 * frechet_distance(np.concatenate(constant), np.concatenate(ref)), rel=1e-9
    )
    assert result["p_a_below_b"] == 0.0 and result["a_above_b"]


def test_fgd_bootstrap_seeding():
    ref, a, b = _row(20, 0), _row(20, 1, shift=0.1), _row(20, 2, shift=0.1)
    first = paired_bootstrap_fgd(a, b, ref, num_resamples=100, seed=7)
    assert paired_bootstrap_fgd(a, b, ref, num_resamples=100, seed=7) == first
    assert paired_bootstrap_fgd(a, b, ref, num_resamples=100, seed=8)["interval"] != first["interval"]


def test_fgd_bootstrap_resamples_with_too_few_windows_are_left_out():
    # most sentences have no window: some resamples have < 2 windows on a side and are not scored
    ref = [np.zeros((0, D))] * 8 + [np.random.default_rng(0).normal(size=(2, D))]
    a = [np.zeros((0, D))] * 8 + [np.random.default_rng(1).normal(size=(3, D))]
    result = paired_bootstrap_fgd(a, a, ref, num_resamples=100)
    assert 0 < result["num_valid_resamples"] < 100 and result["num_resamples"] == 100


def test_fgd_bootstrap_refuses_bad_input():
    ref = _row(5, 0)
    with pytest.raises(ValueError, match="same sentences"):
        paired_bootstrap_fgd(_row(4, 1), _row(5, 2), ref)
    with pytest.raises(ValueError, match="confidence"):
        paired_bootstrap_fgd(_row(5, 1), _row(5, 2), ref, confidence=1.0)
    with pytest.raises(ValueError, match="NaN"):
        paired_bootstrap_fgd([np.full((2, D), np.nan)] + _row(4, 1), _row(5, 2), ref)


# ------------------------------------------------------------------ DurACC and means


def test_duration_correct_is_duracc_per_sentence():
    pred, true = [10, 60, 100, 125], [30, 30, 100, 100]
    assert duration_correct(pred, true).tolist() == [True, False, True, False]
    assert duration_accuracy(pred, true) == duration_correct(pred, true).mean()
    with pytest.raises(ValueError, match="duration_accuracy needs non-empty"):
        duration_accuracy([], [])


def test_paired_bootstrap_mean_equals_slow_loop():
    rng = np.random.default_rng(0)
    a, b = (rng.random(25) < 0.8).astype(float), (rng.random(25) < 0.6).astype(float)
    result = paired_bootstrap_mean(a, b, num_resamples=60, seed=4, metric="dur_acc")
    draws = np.random.default_rng(4).integers(0, 25, (60, 25))
    slow = np.array([a[d].mean() - b[d].mean() for d in draws])
    assert result["difference"] == pytest.approx(a.mean() - b.mean())
    assert result["interval"] == pytest.approx(list(np.percentile(slow, [2.5, 97.5])), abs=1e-12)
    assert result["p_a_below_b"] == np.mean(slow < 0) and result["metric"] == "dur_acc"
    same = paired_bootstrap_mean(a, a, num_resamples=60)
    assert same["interval"] == [0.0, 0.0] and same["p_a_below_b"] == 0.0


def test_bootstrap_mean_against_a_threshold():
    values = np.array([1.0] * 90 + [0.0] * 10)
    result = bootstrap_mean(values, threshold=0.76, num_resamples=500)
    assert result["value"] == 0.9 and result["interval"][0] > 0.76 and result["at_least"]
    assert result["p_at_least"] == 1.0
    borderline = bootstrap_mean(np.array([1.0] * 77 + [0.0] * 23), threshold=0.76, num_resamples=500)
    assert borderline["interval"][0] < 0.76 < borderline["interval"][1] and not borderline["at_least"]
    assert 0.3 < borderline["p_at_least"] < 0.9


# ------------------------------------------------------------------ batched Fréchet distance


def test_batched_frechet_equals_scalar():
    rng = np.random.default_rng(0)
    mus1, mus2, sig1, sig2 = [], [], [], []
    for i in range(12):
        x = rng.normal(size=(int(rng.integers(2, 40)), 6)) * rng.random(6)
        y = rng.normal(size=(int(rng.integers(2, 40)), 6)) + 0.3
        if i == 3:
            x = np.tile(x[:1], (5, 1))  # covariance exactly 0
        mus1.append(x.mean(0))
        mus2.append(y.mean(0))
        sig1.append(np.cov(x, rowvar=False))
        sig2.append(np.cov(y, rowvar=False))
    batched = frechet_distances_from_statistics(
        np.array(mus1), np.array(sig1), np.array(mus2), np.array(sig2)
    )
    for i in range(12):
        assert batched[i] == pytest.approx(
            frechet_distance_from_statistics(mus1[i], sig1[i], mus2[i], sig2[i]), rel=1e-10, abs=1e-14
        )
    with pytest.raises(ValueError, match="positive semi-definite"):
        frechet_distances_from_statistics(
            np.zeros((1, 2)), -np.eye(2)[None], np.zeros((1, 2)), np.eye(2)[None]
        )


# ------------------------------------------------------------------ rows of poses with a TAE


@pytest.fixture(scope="module")
def tae():
    pytest.importorskip("evaluate", reason="FGD needs the metrics extra (evaluate)")
    from signbridge.models.pose_autoencoder import PoseAutoencoderConfig, PoseAutoencoderModel

    torch.manual_seed(0)
    config = PoseAutoencoderConfig(
        num_joints=5,
        joint_dim=3,
        window_size=8,
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        num_attention_heads=2,
        ffn_dim=32,
        latent_dim=3,
        dropout=0.0,
    )
    return PoseAutoencoderModel(config).eval()


def test_sentence_features_are_the_fgd_windows(tae):
    from signbridge.metrics.fgd import FGD

    rng = np.random.default_rng(0)
    poses = [rng.normal(size=(n, 5, 3)).astype(np.float32) for n in (5, 17, 24, 8)]
    per_sentence = FGD().sentence_features(poses, model=tae)
    assert [len(f) for f in per_sentence] == [0, 2, 3, 1]
    windows = np.stack([p[i * 8 : (i + 1) * 8] for p in poses for i in range(len(p) // 8)])
    expected = tae.encode_windows(windows).numpy()
    assert np.allclose(np.concatenate(per_sentence), expected, atol=1e-6)


def test_compare_rows_matches_the_fgd_metric_and_duracc(tae):
    from signbridge.metrics.fgd import FGD

    rng = np.random.default_rng(1)
    refs = [rng.normal(size=(int(n), 5, 3)).astype(np.float32) for n in rng.integers(8, 40, 30)]
    rows = {
        "close": [r + rng.normal(0, 0.1, r.shape).astype(np.float32) for r in refs],
        "far": [np.full((len(r) + 30, 5, 3), 2.0, dtype=np.float32) for r in refs],
    }
    result = compare_rows(rows, refs, [("close", "far")], tae=tae, num_resamples=200, seed=0)
    record = result[comparison_key("close", "far")]
    fgd = record["fgd_x10"]
    for name, value in (("close", fgd["a_value"]), ("far", fgd["b_value"])):
        metric = FGD(model=tae).compute(predictions=rows[name], references=refs, breakdowns=False)
        assert value == pytest.approx(metric["fgd_x10"], rel=1e-6)
    assert fgd["a_below_b"] and fgd["p_a_below_b"] == 1.0
    dur = record["dur_acc"]
    assert (dur["a_value"], dur["b_value"]) == (1.0, 0.0) and dur["a_above_b"]
    # the same seed gives the same record, and the printed lines carry interval and P(A<B)
    assert compare_rows(rows, refs, [("close", "far")], tae=tae, num_resamples=200, seed=0) == result
    text = format_comparisons({"test": result})
    assert "[TEST]" in text and "fgd_x10 close vs far" in text and "[95%:" in text and "P(A<B) 1.00" in text
    with pytest.raises(ValueError, match="not among the candidates"):
        compare_rows(rows, refs, [("close", "missing")], tae=tae)
