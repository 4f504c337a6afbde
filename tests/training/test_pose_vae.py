"""signbridge.training.pose_vae: the pose VAE's training (statistics, reconstruction, bad input)."""

import numpy as np
import pytest
import torch

from signbridge.evaluation import production
from signbridge.training import pose_vae

torch.set_num_threads(1)


def test_pose_vae_statistics_are_training_min_max_and_it_beats_the_mean_pose(corpus, vae):
    frames = np.concatenate([e["poses"] for e in corpus["train"]])
    np.testing.assert_allclose(np.asarray(vae.config.normalization["minimum"]), frames.min(0), atol=1e-6)
    np.testing.assert_allclose(np.asarray(vae.config.normalization["maximum"]), frames.max(0), atol=1e-6)
    dev = np.concatenate([e["poses"] for e in corpus["dev"]])
    mean_error = np.abs(dev - production.mean_pose([e["poses"] for e in corpus["train"]])).mean()
    assert vae.dev_reconstruction_error < mean_error
    assert not vae.training


def test_pose_vae_refuses_bad_poses():
    with pytest.raises(ValueError, match="NaN"):
        pose_vae.train_pose_vae([np.full((5, 50, 3), np.nan, dtype=np.float32)], progress=False)
    with pytest.raises(ValueError, match="expected 50 joints"):
        pose_vae.train_pose_vae([np.zeros((5, 50, 3)), np.zeros((5, 49, 3))], progress=False)
    with pytest.raises(ValueError, match="at least one pose sequence"):
        pose_vae.train_pose_vae([], progress=False)
