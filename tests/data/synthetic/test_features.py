"""The S3D-like visual features: they follow the poses and identify the glosses."""

from __future__ import annotations

import numpy as np
import pytest

from signbridge.data.synthetic import SyntheticCorpusConfig, synthesize_visual_features


def test_features_follow_poses(small_corpus):
    ex = small_corpus["train"][0]
    clean = synthesize_visual_features(ex["poses"])
    assert clean.shape == ex["features"].shape
    noise = ex["features"] - clean
    assert 0.03 < noise.std() < 0.07  # feature_noise = 0.05
    # the same pose gives the same features; different glosses give different features
    other = small_corpus["train"][1]
    assert not np.allclose(clean[:5], synthesize_visual_features(other["poses"])[:5], atol=0.1)
    with pytest.raises(ValueError, match="shape"):
        synthesize_visual_features(np.zeros((5, 49, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="NaN"):
        synthesize_visual_features(np.full((5, 50, 3), np.nan, dtype=np.float32))


def test_features_identify_glosses():
    """A nearest-centroid classifier on feature steps recognises the gloss being signed."""
    cfg = SyntheticCorpusConfig(train_size=0, dev_size=0, test_size=0, pose_noise=0.004)
    from signbridge.data.synthetic.motion import _play, _primitive
    from signbridge.data.synthetic.skeleton import make_signers as _ms

    signer = _ms(cfg)[0]
    glosses = ["REGEN", "SCHNEE", "NORDEN", "SUEDEN", "MONTAG", "DIENSTAG", "WIND", "SONNE"]
    rng = np.random.default_rng(0)
    centroids, queries = [], []
    from signbridge.data.synthetic.skeleton import _forward_kinematics

    for g in glosses:
        params = _play(_primitive(g, cfg.lexicon_seed), 16, signer)
        poses = _forward_kinematics(params, signer).astype(np.float32)
        feats = synthesize_visual_features(poses, cfg)
        centroids.append(feats.mean(0))
        noisy = poses + rng.normal(0, 0.01, poses.shape).astype(np.float32)
        queries.append(synthesize_visual_features(noisy, cfg, rng).mean(0))
    dist = np.linalg.norm(np.stack(queries)[:, None] - np.stack(centroids)[None], axis=-1)
    assert (dist.argmin(1) == np.arange(len(glosses))).all()
