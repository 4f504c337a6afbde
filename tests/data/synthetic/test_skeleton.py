"""The signers' bodies: proportions and speed, pose magnitudes, bone lengths, smooth motion."""

from __future__ import annotations

import numpy as np
import pytest

from signbridge.data.synthetic import make_signers


def test_signers_differ_in_proportions_and_speed():
    signers = make_signers()
    assert len(signers) == 6 and len({s.name for s in signers}) == 6
    assert len({round(s.upper_arm, 4) for s in signers}) == 6
    speeds = [s.speed for s in signers]
    assert min(speeds) >= 0.9 and max(speeds) <= 1.1 and len(set(speeds)) == 6


def test_poses_realistic_magnitudes_and_bone_lengths(small_corpus):
    signers = {s.name: s for s in make_signers()}
    for ex in small_corpus["train"][:8]:
        p = ex["poses"].astype(np.float64)
        assert 50 <= ex["num_frames"] <= 220
        assert np.abs(p).max() < 3.0
        s = signers[ex["signer"]]
        upper = np.linalg.norm(p[:, 3] - p[:, 2], axis=1)
        # bone lengths are the signer's, up to the position noise
        assert np.allclose(upper, s.upper_arm, atol=0.05)
        assert np.linalg.norm(p[:, 0], axis=1).mean() == pytest.approx(s.head, abs=0.03)
        # motion: hands move, smoothly (no jumps between frames)
        steps = np.linalg.norm(np.diff(p[:, 4], axis=0), axis=1)
        assert steps.mean() > 0.005 and steps.max() < 0.5
