import warnings

import numpy as np
import pytest
import torch

evaluate = pytest.importorskip("evaluate", reason="FGD needs the metrics extra (evaluate)")

from signbridge.metrics import frechet_distance  # noqa: E402
from signbridge.metrics.fgd import FGD  # noqa: E402
from signbridge.models.pose_autoencoder import PoseAutoencoderConfig, PoseAutoencoderModel  # noqa: E402

# the fixture sets leave the "0-50" bucket with fewer windows than features: the warning that names it
# is expected there (tests that check the warning capture it with pytest.warns)
pytestmark = pytest.mark.filterwarnings("ignore:FGD. too few windows:UserWarning")

FGD_FOLDER = __import__("signbridge.metrics.fgd", fromlist=["x"]).__path__[0]
J, K, W = 5, 3, 34


@pytest.fixture(scope="module")
def tae():
    torch.manual_seed(0)
    config = PoseAutoencoderConfig(
        num_joints=J,
        joint_dim=K,
        window_size=W,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        num_attention_heads=4,
        ffn_dim=64,
        latent_dim=6,
        dropout=0.0,
        joint_names=[f"joint{i}" for i in range(J)],
    )
    return PoseAutoencoderModel(config).eval()


def _sequences(lengths, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(int(t), J, K)).astype(np.float32) + shift for t in lengths]


@pytest.fixture(scope="module")
def sets():
    rng = np.random.default_rng(1)
    refs = _sequences(rng.integers(10, 230, size=40), seed=2)
    preds = _sequences(rng.integers(10, 230, size=31), seed=3, shift=0.5)
    return preds, refs


def _window_features(tae, sequences):
    windows = [s[i * W : (i + 1) * W] for s in sequences for i in range(len(s) // W)]
    return tae.encode_windows(np.stack(windows)).numpy().astype(np.float64)


def test_equals_frechet_on_tae_features(tae, sets):
    preds, refs = sets
    result = FGD(model=tae).compute(predictions=preds, references=refs)
    expected = frechet_distance(_window_features(tae, preds), _window_features(tae, refs))
    assert result["fgd"] == pytest.approx(expected, rel=1e-12)
    assert result["fgd_x10"] == pytest.approx(10 * expected, rel=1e-12)
    assert result["fgd"] > 0
    assert result["num_windows_predictions"] == sum(len(s) // W for s in preds)
    assert result["num_windows_references"] == sum(len(s) // W for s in refs)
    assert result["num_sequences_predictions"] == 31 and result["num_sequences_references"] == 40
    assert result["short_sequences_predictions"] == sum(len(s) < W for s in preds)
    assert result["short_sequences_references"] == sum(len(s) < W for s in refs) > 0
    assert result["unused_frames_references"] == sum(len(s) % W for s in refs)


def test_self_distance_zero_and_order_invariant(tae, sets):
    preds, refs = sets
    metric = FGD(model=tae)
    same = FGD(model=tae, min_windows=2).compute(predictions=refs, references=refs)
    assert same["fgd"] == pytest.approx(0.0, abs=1e-7)
    assert all(v == pytest.approx(0.0, abs=1e-7) for v in same["fgd_by_length"].values())
    assert all(v == pytest.approx(0.0, abs=1e-7) for v in same["fgd_by_prefix"].values())
    base = metric.compute(predictions=preds, references=refs)
    shuffled = metric.compute(predictions=preds[::-1], references=refs[7:] + refs[:7])
    assert shuffled["fgd"] == pytest.approx(base["fgd"], rel=1e-9)
    assert shuffled["fgd_by_length"] == pytest.approx(base["fgd_by_length"], rel=1e-9, nan_ok=True)


def test_length_intervals_and_prefixes(tae, sets):
    preds, refs = sets
    result = FGD(model=tae).compute(predictions=preds, references=refs)
    assert set(result["fgd_by_length"]) == {"0-50", "50-100", "100-150", "150-200"}
    bucket_refs = [s for s in refs if 100 <= len(s) < 150]
    bucket_preds = [s for s in preds if 100 <= len(s) < 150]
    expected = frechet_distance(_window_features(tae, bucket_preds), _window_features(tae, bucket_refs))
    assert result["fgd_by_length"]["100-150"] == pytest.approx(expected, rel=1e-9)
    assert result["num_windows_by_length"]["0-50"] == [
        sum(len(s) // W for s in preds if len(s) < 50),
        sum(len(s) // W for s in refs if len(s) < 50),
    ]
    # first 80 frames: the first two windows of every sequence of >= 80 frames
    first80 = frechet_distance(
        _window_features(tae, [s[:68] for s in preds if len(s) >= 80]),
        _window_features(tae, [s[:68] for s in refs if len(s) >= 80]),
    )
    assert result["fgd_by_prefix"]["80"] == pytest.approx(first80, rel=1e-9)

    # first 20 frames (< one window): each 20-frame prefix is resampled in time onto 34 frames
    def stretch(s):
        src = np.linspace(0, 19, W)
        return np.stack(
            [np.interp(src, np.arange(20), s[:20, j, k]) for j in range(J) for k in range(K)], 1
        ).reshape(W, J, K)

    first20 = frechet_distance(
        tae.encode_windows(np.stack([stretch(s) for s in preds if len(s) >= 20])).double().numpy(),
        tae.encode_windows(np.stack([stretch(s) for s in refs if len(s) >= 20])).double().numpy(),
    )
    assert result["fgd_by_prefix"]["20"] == pytest.approx(first20, rel=1e-5)
    assert result["num_windows_by_prefix"]["20"] == [
        sum(len(s) >= 20 for s in preds),
        sum(len(s) >= 20 for s in refs),
    ]


def test_interval_with_too_few_windows_is_nan(tae):
    refs = _sequences([40, 120, 130, 140], seed=4)
    preds = _sequences([120, 125, 135], seed=5)
    with pytest.warns(UserWarning, match=r"fgd_by_length\['0-50'\].*predictions 0, references 1 windows"):
        result = FGD(model=tae).compute(predictions=preds, references=refs)
    assert np.isnan(result["fgd_by_length"]["0-50"])
    assert result["num_windows_by_length"]["0-50"] == [0, 1]
    assert np.isnan(result["fgd_by_length"]["150-200"])


@pytest.mark.filterwarnings("ignore:Fréchet distance. .* samples in:UserWarning")  # singular on purpose
def test_bucket_with_fewer_windows_than_features_is_nan_with_warning(tae, sets):
    # issue 10 item 7: a length bucket with 2 <= N < D windows (D = 6 features here) is NaN with a
    # warning naming it; every other cell and the overall FGD are still computed
    preds, refs = sets
    preds = [s for s in preds if not 50 <= len(s) < 100] + _sequences([70, 80], seed=9, shift=0.5)
    with pytest.warns(
        UserWarning, match=r"fgd_by_length\['50-100'\] \(predictions 4, references 16 windows\)"
    ) as caught:
        result = FGD(model=tae).compute(predictions=preds, references=refs)
    assert result["num_windows_by_length"]["50-100"][0] == 4
    assert np.isnan(result["fgd_by_length"]["50-100"])
    message = str(caught[0].message)
    assert "100-150" not in message and "150-200" not in message and "fgd_by_prefix" not in message
    assert result["fgd"] == pytest.approx(
        frechet_distance(_window_features(tae, preds), _window_features(tae, refs)), rel=1e-12
    )
    for low, high in ((100, 150), (150, 200)):
        expected = frechet_distance(
            _window_features(tae, [s for s in preds if low <= len(s) < high]),
            _window_features(tae, [s for s in refs if low <= len(s) < high]),
        )
        assert result["fgd_by_length"][f"{low}-{high}"] == pytest.approx(expected, rel=1e-9)
    assert not any(np.isnan(v) for v in result["fgd_by_prefix"].values())
    # with min_windows=2 the same bucket is scored (exactly: no eps bias for the singular covariance)
    scored = FGD(model=tae, min_windows=2).compute(predictions=preds, references=refs)
    expected = frechet_distance(
        _window_features(tae, [s for s in preds if 50 <= len(s) < 100]),
        _window_features(tae, [s for s in refs if 50 <= len(s) < 100]),
    )
    assert scored["fgd_by_length"]["50-100"] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("lengths", [[20, 30, 40], [10, 20], [33, 67]])
def test_producer_with_too_few_windows_is_nan_not_an_error(tae, sets, lengths):
    # issue 10 item 7: a producer with fewer than 2 windows no longer aborts the table
    _, refs = sets
    preds = _sequences(lengths, seed=8)
    with pytest.warns(UserWarning, match=r"predictions give [01] window\(s\) of 34 frames") as caught:
        result = FGD(model=tae).compute(predictions=preds, references=refs)
    assert np.isnan(result["fgd"]) and np.isnan(result["fgd_x10"])
    assert result["num_windows_predictions"] == sum(n // W for n in lengths) < 2
    assert result["num_windows_references"] == sum(len(s) // W for s in refs)
    assert result["short_sequences_predictions"] == sum(n < W for n in lengths)
    assert all(np.isnan(v) for v in result["fgd_by_length"].values())
    # the breakdown's warning names the cells
    assert any("fgd_by_length['0-50']" in str(w.message) for w in caught)


def test_without_breakdowns_no_cells_and_no_cell_warning(tae, sets):
    preds, refs = sets
    full = FGD(model=tae).compute(predictions=preds, references=refs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the thin "0-50" bucket would warn with breakdowns
        overall = FGD(model=tae).compute(predictions=preds, references=refs, breakdowns=False)
    assert overall["fgd"] == pytest.approx(full["fgd"], rel=1e-12)
    assert not any(key.startswith(("fgd_by", "num_windows_by")) for key in overall)
    assert {k: v for k, v in full.items() if not k.startswith(("fgd_by", "num_windows_by"))} == overall


def test_add_batch_and_model_path(tae, sets, tmp_path):
    preds, refs = sets
    tae.save_pretrained(tmp_path / "tae")
    metric = FGD(model=str(tmp_path / "tae"))
    metric.add_batch(predictions=preds[:10], references=refs[:25])
    metric.add_batch(predictions=preds[10:], references=refs[25:])
    from_batches = metric.compute()
    direct = FGD().compute(predictions=preds, references=refs, model=tae)
    assert from_batches["fgd"] == pytest.approx(direct["fgd"], rel=1e-12)


def test_evaluate_load_from_folder(tae, sets):
    preds, refs = sets
    metric = evaluate.load(FGD_FOLDER, model=tae)
    assert type(metric).__name__ == "FGD"
    assert type(metric).__module__.startswith("evaluate_modules")  # the copied script
    result = metric.compute(predictions=[torch.as_tensor(p) for p in preds], references=refs)
    assert result["fgd"] == pytest.approx(
        FGD(model=tae).compute(predictions=preds, references=refs)["fgd"], rel=1e-12
    )


def test_bad_input(tae, sets):
    preds, refs = sets
    metric = FGD(model=tae)
    wrong_layout = [np.zeros((50, J + 1, K), np.float32)] * 3
    with pytest.raises(ValueError, match=r"joint layout .* differs from predictions\[0\]"):
        metric.compute(predictions=wrong_layout, references=refs)
    with pytest.raises(ValueError, match="joint layout"):
        metric.compute(predictions=preds, references=refs, joint_names=[f"other{i}" for i in range(J)])
    bad = [p.copy() for p in preds]
    bad[2][0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"predictions\[2\] contains NaN"):
        metric.compute(predictions=bad, references=refs)
    with pytest.raises(ValueError, match="at least 2 windows of 34 frames in the references"):
        metric.compute(predictions=preds, references=_sequences([20, 30, 40]))
    with pytest.raises(ValueError, match="min_windows"):
        FGD(model=tae, min_windows=1)
    with pytest.raises(ValueError, match="empty"):
        metric.compute(predictions=[], references=refs)
    with pytest.raises(ValueError, match="needs a TAE"):
        FGD().compute(predictions=preds, references=refs)
    with pytest.raises(ValueError, match=r"\(T, J, K\)"):
        metric.compute(predictions=[np.zeros((40, J * K))] * 3, references=refs)


def test_warns_when_fewer_windows_than_feature_dimensions(tae, sets):
    _, refs = sets
    dims = tae.config.feature_dim
    preds = _sequences([W * 2, W * 2], seed=9)  # 4 windows < feature dimensions
    assert dims > 4
    with pytest.warns(
        UserWarning, match=rf"FGD \(samples are windows of 34 frames\): 4 samples in predictions for {dims}"
    ) as caught:
        result = FGD(model=tae).compute(predictions=preds, references=refs, breakdowns=False)
    assert np.isfinite(result["fgd"])
    assert len(caught) == 1  # frechet_distance's own warning is not repeated


def test_no_dimension_warning_with_enough_windows(tae, sets):
    preds, refs = sets
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FGD(model=tae).compute(predictions=preds, references=refs, breakdowns=False)
