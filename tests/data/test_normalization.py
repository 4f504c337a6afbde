"""PoseNormalizer: fit, [0, 1] range, exact inversion, JSON round trip, numpy and torch, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from signbridge.data.normalization import (
    POSE_NORMALIZER_FILE,
    PoseNormalizer,
    load_pose_normalizer,
    save_pose_normalizer,
)


def _sequences(seed: int = 0, n: int = 5, joints: int = 50, dims: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    seqs = []
    for _ in range(n):
        seq = rng.normal(0.0, 0.5, size=(int(rng.integers(3, 20)), joints, dims))
        seq[:, 1] = 0.0  # constant joint (the neck)
        seqs.append(seq)
    return seqs


def test_fit_statistics_match_numpy():
    seqs = _sequences()
    norm = PoseNormalizer.fit(seqs)
    stacked = np.concatenate(seqs)
    np.testing.assert_array_equal(norm.minimum, stacked.min(0))
    np.testing.assert_array_equal(norm.maximum, stacked.max(0))
    z = norm.normalize(stacked)
    assert z.min() == pytest.approx(0.0, abs=1e-12) and z.max() == pytest.approx(1.0, abs=1e-12)
    # per (joint, coordinate): each reaches 0 and 1 except constant coordinates, which map to 0
    assert np.allclose(z.min(0), 0.0)
    assert np.allclose(z.max(0)[np.arange(50) != 1], 1.0)
    np.testing.assert_array_equal(z[:, 1], 0.0)


def test_constant_coordinate_no_division_by_zero():
    seqs = [np.ones((4, 2, 3)) * 2.5]
    norm = PoseNormalizer.fit(seqs)
    with np.errstate(all="raise"):
        z = norm.normalize(seqs[0])
    np.testing.assert_array_equal(z, 0.0)
    np.testing.assert_array_equal(norm.denormalize(z), seqs[0])


def test_inverse_float64_and_float32_numpy():
    seqs = _sequences(1)
    norm = PoseNormalizer.fit(seqs)
    x64 = np.random.default_rng(2).normal(0.0, 1.0, size=(7, 11, 50, 3))
    back64 = norm.denormalize(norm.normalize(x64))
    assert back64.dtype == np.float64
    np.testing.assert_allclose(back64, x64, rtol=0, atol=1e-13)
    x32 = x64.astype(np.float32)
    z32 = norm.normalize(x32)
    assert z32.dtype == np.float32
    np.testing.assert_allclose(norm.denormalize(z32), x32, rtol=0, atol=2e-6)


def test_torch_matches_numpy_and_inverts():
    seqs = _sequences(3)
    norm = PoseNormalizer.fit(torch.from_numpy(s) for s in seqs)  # torch input to fit too
    assert norm == PoseNormalizer.fit(seqs)
    x = torch.randn(2, 9, 50, 3, dtype=torch.float64, requires_grad=True)
    z = norm.normalize(x)
    assert isinstance(z, torch.Tensor) and z.dtype == torch.float64
    np.testing.assert_allclose(z.detach().numpy(), norm.normalize(x.detach().numpy()), rtol=0, atol=1e-14)
    torch.testing.assert_close(norm.denormalize(z), x, rtol=0, atol=1e-13)
    z.sum().backward()  # differentiable: d z / d x = 1 / scale
    np.testing.assert_allclose(x.grad[0, 0].numpy(), 1.0 / norm.scale, rtol=1e-12)
    x32 = x.detach().float()
    torch.testing.assert_close(norm.denormalize(norm.normalize(x32)), x32, rtol=0, atol=2e-6)
    assert norm.normalize(x32).dtype == torch.float32


def test_json_round_trip():
    norm = PoseNormalizer.fit(_sequences(4))
    data = json.loads(json.dumps(norm.to_dict()))
    assert isinstance(data["minimum"], list) and len(data["minimum"]) == 50 and len(data["minimum"][0]) == 3
    again = PoseNormalizer.from_dict(data)
    assert again == norm
    x = np.random.default_rng(5).normal(size=(3, 50, 3))
    np.testing.assert_array_equal(again.normalize(x), norm.normalize(x))


@settings(max_examples=30, deadline=None)
@given(
    joints=st.integers(1, 6),
    dims=st.integers(1, 3),
    seed=st.integers(0, 10_000),
    scale=st.floats(1e-3, 1e3),
)
def test_inverse_property(joints, dims, seed, scale):
    rng = np.random.default_rng(seed)
    seqs = [rng.normal(0.0, scale, size=(int(rng.integers(1, 6)), joints, dims)) for _ in range(3)]
    norm = PoseNormalizer.fit(seqs)
    x = np.concatenate(seqs)
    z = norm.normalize(x)
    assert z.min() >= -1e-12 and z.max() <= 1 + 1e-12
    np.testing.assert_allclose(norm.denormalize(z), x, rtol=1e-12, atol=1e-12 * scale)


def test_errors():
    norm = PoseNormalizer.fit(_sequences())
    with pytest.raises(ValueError, match=r"\(\.\.\., 50, 3\).*\(4, 49, 3\)"):
        norm.normalize(np.zeros((4, 49, 3)))
    with pytest.raises(ValueError, match="50, 3"):
        norm.denormalize(torch.zeros(4, 50, 2))
    bad = np.zeros((4, 50, 3))
    bad[2, 7, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        norm.normalize(bad)
    with pytest.raises(ValueError, match="NaN"):
        norm.denormalize(torch.from_numpy(bad))
    with pytest.raises(ValueError, match="sequence 1 contains NaN"):
        PoseNormalizer.fit([np.zeros((2, 50, 3)), bad])
    with pytest.raises(ValueError, match="at least one sequence"):
        PoseNormalizer.fit([])
    with pytest.raises(ValueError, match="sequence 1: expected"):
        PoseNormalizer.fit([np.zeros((2, 50, 3)), np.zeros((2, 49, 3))])
    with pytest.raises(ValueError, match="empty"):
        PoseNormalizer.fit([np.zeros((0, 50, 3))])
    with pytest.raises(ValueError, match="maximum < minimum"):
        PoseNormalizer([[1.0]], [[0.0]])
    with pytest.raises(ValueError, match="missing keys"):
        PoseNormalizer.from_dict({"minimum": [[0.0]]})
    with pytest.raises(ValueError, match="unknown keys"):
        PoseNormalizer.from_dict({"minimum": [[0.0]], "maximum": [[1.0]], "mean": [[0.5]]})
    for bad_range in (-0.1, float("nan"), float("inf"), "wide"):
        with pytest.raises(ValueError, match="min_range"):
            PoseNormalizer([[0.0]], [[1.0]], min_range=bad_range)


def test_fit_on_embedded_corpus():
    from signbridge.data.synthetic import generate_corpus

    corpus = generate_corpus(train_size=8, dev_size=2, test_size=0)
    norm = PoseNormalizer.fit(e["poses"] for e in corpus["train"])
    assert (norm.num_joints, norm.num_dims) == (50, 3)
    z = norm.normalize(corpus["train"][0]["poses"])
    assert z.dtype == np.float32 and z.min() >= 0.0 and z.max() <= 1.0
    np.testing.assert_allclose(norm.denormalize(z), corpus["train"][0]["poses"], atol=1e-6)


def test_min_range_one_rule_for_joints_that_never_move():
    """A coordinate whose range is <= min_range is divided by 1, in numpy and torch alike; min_range travels in
    to_dict only when it is not 0 (statistics with the default read as before)."""
    sequences = _sequences()
    for seq in sequences:
        seq[:, 2, 1] = 0.25
    sequences[0][0, 2, 1] += 1e-3  # joint 2, coordinate 1 moves by 1e-3 in one frame only
    plain = PoseNormalizer.fit(sequences)
    tolerant = PoseNormalizer.fit(sequences, min_range=0.01)
    assert plain.to_dict() == {"minimum": plain.minimum.tolist(), "maximum": plain.maximum.tolist()}
    assert tolerant.to_dict() == {**plain.to_dict(), "min_range": 0.01}
    assert PoseNormalizer.from_dict(json.loads(json.dumps(tolerant.to_dict()))) == tolerant != plain
    span = plain.maximum - plain.minimum
    np.testing.assert_array_equal(tolerant.scale, np.where(span > 0.01, span, 1.0))
    assert tolerant.scale[2, 1] == 1.0 and plain.scale[2, 1] == pytest.approx(1e-3)
    assert tolerant.scale[1, 0] == plain.scale[1, 0] == 1.0  # the constant neck: range 1 under both
    x = np.concatenate(sequences).astype(np.float32)
    z = tolerant.normalize(x)
    np.testing.assert_allclose(
        z[..., 2, 1], x[..., 2, 1] - np.float32(tolerant.minimum[2, 1]), rtol=0, atol=1e-7
    )
    np.testing.assert_array_equal(z[..., 0, 0], plain.normalize(x)[..., 0, 0])  # moving joints: as before
    np.testing.assert_array_equal(tolerant.normalize(torch.from_numpy(x)).numpy(), z)
    np.testing.assert_allclose(tolerant.denormalize(z), x, atol=1e-6)
    # the range is computed in the input's dtype: min and max are cast first (float32 statistics: exact)
    low = np.float32([[0.1, -2.0]])
    high = np.float32([[0.7, 3.5]])
    norm = PoseNormalizer(low, high)
    assert norm.normalize(np.float32([[0.7, 3.5]])).tolist() == [[1.0, 1.0]]
    assert torch.equal(norm._stats_like(torch.zeros(1, 2))[1], torch.from_numpy(high - low))


def test_normalizer_file_beside_a_model(tmp_path):
    """save_pose_normalizer / load_pose_normalizer: the file is to_dict() as JSON; files written before (the same
    format, by train_cvslt) still load; a folder without the file gives None."""
    norm = PoseNormalizer.fit(_sequences())
    path = save_pose_normalizer(norm, tmp_path)
    assert path == tmp_path / POSE_NORMALIZER_FILE == tmp_path / "pose_normalizer.json"
    assert json.loads(path.read_text()) == norm.to_dict()
    assert load_pose_normalizer(tmp_path) == norm
    old = tmp_path / "old"
    old.mkdir()
    with open(
        old / "pose_normalizer.json", "w", encoding="utf-8"
    ) as handle:  # as train_cvslt wrote it before
        json.dump({"minimum": norm.minimum.tolist(), "maximum": norm.maximum.tolist()}, handle, indent=2)
    assert (old / "pose_normalizer.json").read_text() == path.read_text()
    assert load_pose_normalizer(old) == norm
    tolerant = PoseNormalizer.fit(_sequences(), min_range=0.5)
    assert load_pose_normalizer(save_pose_normalizer(tolerant, tmp_path).parent) == tolerant
    assert load_pose_normalizer(tmp_path / "nothing") is None
