"""SignFeatureExtractor / SignPoseFeatureExtractor: padding, masks, normalisation against hand computations, saving,
and clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import AutoFeatureExtractor

from signbridge.data.normalization import PoseNormalizer
from signbridge.models.cvslt import SignFeatureExtractor, SignInputError, SignPoseFeatureExtractor


def test_features_are_padded_with_a_mask():
    extractor = SignFeatureExtractor(feature_size=3)
    a = np.arange(6, dtype=np.float64).reshape(2, 3)  # float64 is cast to float32
    b = np.ones((4, 3), dtype=np.float32)
    batch = extractor([a, b])
    assert batch["input_features"].dtype == np.float32 and batch["input_features"].shape == (2, 4, 3)
    np.testing.assert_array_equal(batch["input_features"][0], [[0, 1, 2], [3, 4, 5], [0, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(batch["input_features"][1], b)
    np.testing.assert_array_equal(batch["attention_mask"], [[1, 1, 0, 0], [1, 1, 1, 1]])
    # one sequence, a batch array, a torch tensor and nested lists all give the same
    one = extractor(a, return_tensors="pt")
    assert one["input_features"].dtype == torch.float32 and one["attention_mask"].dtype == torch.int64
    np.testing.assert_array_equal(one["input_features"][0].numpy(), a.astype(np.float32))
    stacked = extractor(np.stack([b, b]))
    assert stacked["input_features"].shape == (2, 4, 3)
    np.testing.assert_array_equal(
        extractor(torch.from_numpy(a))["input_features"], one["input_features"].numpy()
    )
    np.testing.assert_array_equal(extractor(a.tolist())["input_features"], one["input_features"].numpy())
    assert extractor([a, b], pad_to_multiple_of=3)["input_features"].shape == (2, 6, 3)
    assert "attention_mask" not in extractor(a, return_attention_mask=False)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.zeros((4, 5)), "has 5 values per frame, this feature extractor expects 3"),
        (np.zeros((0, 3)), "empty"),
        (np.array([[0.0, np.nan, 1.0]]), "1 NaN or infinite values"),
        ([], "no sequences given"),
        ("clip.mp4", "expected an array of numbers, got the string 'clip.mp4'"),
        (np.zeros((2, 3), dtype=object), "expected numbers"),
        (np.zeros(3), r"expected \(frames, 3\) features"),
    ],
)
def test_bad_features_are_named(value, message):
    with pytest.raises(SignInputError, match=message):
        SignFeatureExtractor(feature_size=3)(value)
    with pytest.raises(SignInputError, match="feature_size must be a positive integer"):
        SignFeatureExtractor(feature_size=0)


def test_poses_are_normalised_strided_and_flattened_as_computed_by_hand():
    rng = np.random.default_rng(0)
    low = rng.uniform(-1, 0, size=(4, 2))
    high = low + rng.uniform(0.5, 2, size=(4, 2))
    high[2, 1] = low[2, 1]  # a coordinate that never moves: range 1
    extractor = SignPoseFeatureExtractor(
        skeleton="tiny",
        num_joints=4,
        num_dims=2,
        normalization={"minimum": low.tolist(), "maximum": high.tolist()},
    )
    assert extractor.feature_size == 8
    poses = rng.normal(size=(5, 4, 2)).astype(np.float32)
    span = np.where(high - low > 0, high - low, 1.0)
    expected = ((poses - low.astype(np.float32)) / span.astype(np.float32)).reshape(5, 8)
    np.testing.assert_allclose(extractor(poses)["input_features"][0], expected, rtol=1e-6)
    assert extractor.normalizer == PoseNormalizer(low, high)
    strided = SignPoseFeatureExtractor(skeleton="tiny", num_joints=4, num_dims=2, frame_stride=2)
    np.testing.assert_array_equal(strided(poses)["input_features"][0], poses[::2].reshape(3, 8))
    batch = strided([poses, poses[:2]])
    np.testing.assert_array_equal(batch["attention_mask"], [[1, 1, 1], [1, 0, 0]])
    # the default layout is the 50-joint 3D skeleton
    assert SignPoseFeatureExtractor().feature_size == 150


def test_pose_layout_errors():
    extractor = SignPoseFeatureExtractor()
    with pytest.raises(
        SignInputError, match=r"sequence 1: expected poses of shape \(frames, 50, 3\).*got \(3, 137, 2\)"
    ):
        extractor([np.zeros((3, 50, 3)), np.zeros((3, 137, 2))])
    with pytest.raises(SignInputError, match="unknown skeleton layout 'openpose'"):
        SignPoseFeatureExtractor(skeleton="openpose")
    with pytest.raises(SignInputError, match=r"statistics are for \(2, 3\) poses"):
        SignPoseFeatureExtractor(normalization=PoseNormalizer(np.zeros((2, 3)), np.ones((2, 3))).to_dict())
    with pytest.raises(SignInputError, match="frame_stride must be a positive integer"):
        SignPoseFeatureExtractor(frame_stride=0)


def test_saved_and_loaded_with_auto_feature_extractor(tmp_path):
    normalizer = PoseNormalizer(np.zeros((50, 3)), np.full((50, 3), 2.0))
    extractor = SignPoseFeatureExtractor(normalization=normalizer.to_dict(), frame_stride=3)
    extractor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert saved["feature_extractor_type"] == "SignPoseFeatureExtractor" and saved["frame_stride"] == 3
    assert saved["auto_map"]["AutoFeatureExtractor"] == "feature_extraction_cvslt.SignPoseFeatureExtractor"
    assert (tmp_path / "feature_extraction_cvslt.py").is_file() and (
        tmp_path / "pose_normalization.py"
    ).is_file()
    loaded = AutoFeatureExtractor.from_pretrained(tmp_path)
    assert type(loaded) is SignPoseFeatureExtractor
    assert loaded.normalizer == normalizer and loaded.frame_stride == 3 and loaded.skeleton == "skeleton50"
    features = SignFeatureExtractor(feature_size=832)
    features.save_pretrained(tmp_path / "features")
    assert type(AutoFeatureExtractor.from_pretrained(tmp_path / "features")) is SignFeatureExtractor
