"""Visual features of pose sequences, imitating S3D block-4 features.

One step per ``frames_per_feature`` (4) frames: a fixed seeded random projection of each frame's
pose (relative to the rest posture) and a ReLU, the window's frames concatenated and cut to
``feature_dim`` (832) values, and noise. The mapping is injective enough that a translation model
learns glosses from the features.
"""

from __future__ import annotations

import math

import numpy as np

from .config import SyntheticCorpusConfig
from .skeleton import _REST, NUM_JOINTS, _forward_kinematics, make_signers

__all__ = ["synthesize_visual_features"]

_PROJECTION_CACHE: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
_FRAME_INPUT = NUM_JOINTS * 3  # positions relative to the rest posture


def _projection(config: SyntheticCorpusConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    key = (config.feature_seed, config.feature_dim, config.frames_per_feature)
    cached = _PROJECTION_CACHE.get(key)
    if cached is None:
        rng = np.random.default_rng([config.feature_seed, config.feature_dim, config.frames_per_feature])
        per_frame = -(-config.feature_dim // config.frames_per_feature)
        weight = rng.normal(0.0, 1.0, size=(_FRAME_INPUT, per_frame)) * (2.0 / math.sqrt(_FRAME_INPUT))
        bias = rng.normal(0.0, 0.3, size=per_frame)
        centre = _forward_kinematics(_REST[None], make_signers(config)[0])[0]
        cached = (weight.astype(np.float32), bias.astype(np.float32), centre.astype(np.float32))
        _PROJECTION_CACHE[key] = cached
    return cached


def _features_of_many(
    sequences: list[np.ndarray], config: SyntheticCorpusConfig, rngs: list[np.random.Generator] | None = None
) -> list[np.ndarray]:
    """Features of several pose sequences with one matrix product (see :func:`synthesize_visual_features`)."""
    weight, bias, centre = _projection(config)
    w = config.frames_per_feature
    frames = np.concatenate(sequences, axis=0)
    inputs = (frames - centre).reshape(len(frames), -1)
    per_frame = np.maximum(inputs @ weight + bias, np.float32(0.0))
    out = []
    start = 0
    for k, seq in enumerate(sequences):
        t = seq.shape[0]
        steps = -(-t // w)
        block = per_frame[start : start + t]
        start += t
        if steps * w > t:  # pad the last window by repeating the last frame's values
            block = np.concatenate([block, np.repeat(block[-1:], steps * w - t, axis=0)], axis=0)
        features = np.ascontiguousarray(block.reshape(steps, -1)[:, : config.feature_dim])
        if rngs is not None and config.feature_noise > 0:
            features += rngs[k].standard_normal(size=features.shape, dtype=np.float32) * np.float32(
                config.feature_noise
            )
        out.append(features)
    return out


def synthesize_visual_features(
    poses: np.ndarray, config: SyntheticCorpusConfig | None = None, rng: np.random.Generator | None = None
) -> np.ndarray:
    """The embedded corpus' S3D-like visual features of a pose sequence.

    Returns (ceil(T / frames_per_feature), feature_dim) float32. Every frame (its joint positions
    relative to the rest posture) goes through a fixed seeded random projection (``feature_seed``)
    and a ReLU; the values of the ``frames_per_feature`` frames of a step are concatenated and cut to
    ``feature_dim`` (the last step is padded by repeating its last frame). ``rng`` adds Gaussian
    noise of ``feature_noise``. This *synthesises* the corpus' video features; the pose input of a
    pose-input translation model is :func:`signbridge.data.collators.poses_to_features`.
    """
    config = config or SyntheticCorpusConfig()
    poses = np.asarray(poses, dtype=np.float32)
    if poses.ndim != 3 or poses.shape[1:] != (NUM_JOINTS, 3) or poses.shape[0] == 0:
        raise ValueError(f"poses must have shape (T>0, {NUM_JOINTS}, 3), got {poses.shape}")
    if not np.isfinite(poses).all():
        raise ValueError("poses contain NaN or infinite values")
    return _features_of_many([poses], config, None if rng is None else [rng])[0]
