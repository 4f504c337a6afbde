"""Input checks shared by the training and evaluation code: pose sequences and example dicts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def check_pose_sequences(
    sequences: Sequence[np.ndarray], what: str, num_joints: int | None = None, joint_dim: int | None = None
) -> list[np.ndarray]:
    """Return the sequences as float32 arrays; refuse empty sets, wrong shapes and NaN/Inf."""
    if len(sequences) == 0:
        raise ValueError(f"{what}: expected at least one pose sequence, got none")
    out = []
    for i, seq in enumerate(sequences):
        arr = np.asarray(seq, dtype=np.float32)
        if arr.ndim != 3:
            raise ValueError(
                f"{what}[{i}]: expected a pose sequence of shape (T, J, K), got shape {arr.shape}"
            )
        if arr.shape[0] == 0:
            raise ValueError(f"{what}[{i}]: expected at least one frame, got an empty sequence")
        if num_joints is not None and arr.shape[1] != num_joints:
            raise ValueError(f"{what}[{i}]: expected {num_joints} joints, got {arr.shape[1]}")
        if joint_dim is not None and arr.shape[2] != joint_dim:
            raise ValueError(f"{what}[{i}]: expected {joint_dim} values per joint, got {arr.shape[2]}")
        if not np.isfinite(arr).all():
            raise ValueError(f"{what}[{i}]: pose sequence contains NaN or Inf")
        out.append(arr)
    return out


def check_examples(examples: Sequence[Mapping[str, Any]], what: str, keys: Sequence[str]) -> None:
    if len(examples) == 0:
        raise ValueError(f"{what}: expected at least one example, got none")
    for i, example in enumerate(examples):
        missing = [k for k in keys if k not in example]
        if missing:
            raise ValueError(f"{what}[{i}] ({example.get('name', '?')!r}) has no {missing} field(s)")


__all__ = ["check_examples", "check_pose_sequences"]
