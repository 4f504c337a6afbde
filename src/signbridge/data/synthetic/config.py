"""Settings of the embedded corpus (:class:`SyntheticCorpusConfig`) and its split names.

Every other module of the generator reads its parameters from here: sizes and seed (:mod:`.corpus`),
signers' speed range and noise (:mod:`.skeleton`, :mod:`.motion`), feature size and seed
(:mod:`.features`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

__all__ = ["SPLITS", "SyntheticCorpusConfig"]

SPLITS = ("train", "dev", "test")
_SPLIT_IDS = {"train": 0, "dev": 1, "test": 2}


@dataclass
class SyntheticCorpusConfig:
    """Settings of the embedded corpus.

    Args:
        seed: the corpus seed; the same seed gives identical data, another seed other data.
        train_size, dev_size, test_size: number of sequences per split.
        feature_dim: values per visual-feature step (832 like S3D block-4 features).
        frames_per_feature: pose frames per feature step (features have ``ceil(T / 4)`` steps).
        num_signers: number of signers (each with their own proportions and speed).
        fps: frame rate of the poses.
        lexicon_seed: seed of the sign lexicon (motion primitives); shared by all corpus seeds.
        feature_seed: seed of the fixed pose-to-feature projection.
        speed_range: relative signing speed range of the signers (durations scale with 1/speed).
        pose_noise: standard deviation of the per-joint position noise (real units).
        angle_noise: standard deviation of the smooth noise on the body angles (radians).
        feature_noise: standard deviation of the additive feature noise.
        transition_frames: frames of a co-articulated transition between two signs (at speed 1).
        rest_frames: frames at the rest posture before the first and after the last sign.
    """

    seed: int = 0
    train_size: int = 4000
    dev_size: int = 300
    test_size: int = 300
    feature_dim: int = 832
    frames_per_feature: int = 4
    num_signers: int = 6
    fps: int = 25
    # ----- generation details
    lexicon_seed: int = 2014
    feature_seed: int = 832
    speed_range: tuple[float, float] = (0.9, 1.1)
    pose_noise: float = 0.004
    angle_noise: float = 0.02
    feature_noise: float = 0.05
    transition_frames: int = 5
    rest_frames: int = 6

    def __post_init__(self) -> None:
        for name in ("train_size", "dev_size", "test_size"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"SyntheticCorpusConfig.{name} must be an integer >= 0, got {value!r}")
        for name in ("feature_dim", "frames_per_feature", "num_signers", "fps"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"SyntheticCorpusConfig.{name} must be an integer >= 1, got {value!r}")
        low, high = self.speed_range
        if not 0 < low <= high:
            raise ValueError(
                f"SyntheticCorpusConfig.speed_range must satisfy 0 < low <= high, got {self.speed_range}"
            )
        for name in ("pose_noise", "angle_noise", "feature_noise"):
            if getattr(self, name) < 0:
                raise ValueError(f"SyntheticCorpusConfig.{name} must be >= 0, got {getattr(self, name)}")
        if self.transition_frames < 1 or self.rest_frames < 1:
            raise ValueError(
                "SyntheticCorpusConfig.transition_frames and rest_frames must be >= 1, got "
                f"{self.transition_frames} and {self.rest_frames}"
            )
        self.speed_range = (float(low), float(high))

    def split_size(self, split: str) -> int:
        _check_split(split)
        return int(getattr(self, f"{split}_size"))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able settings."""
        out = asdict(self)
        out["speed_range"] = list(self.speed_range)
        return out


def _check_split(split: str) -> None:
    if split not in _SPLIT_IDS:
        raise ValueError(f"unknown split {split!r}; expected one of {list(SPLITS)}")


def _resolve_config(config: SyntheticCorpusConfig | None, overrides: dict[str, Any]) -> SyntheticCorpusConfig:
    if config is None:
        config = SyntheticCorpusConfig()
    elif not isinstance(config, SyntheticCorpusConfig):
        raise TypeError(f"config must be a SyntheticCorpusConfig or None, got {type(config).__name__}")
    if overrides:
        known = {f.name for f in fields(SyntheticCorpusConfig)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown SyntheticCorpusConfig fields {unknown}; known: {sorted(known)}")
        config = replace(config, **overrides)
    return config
