"""Min-max normalisation of pose sequences to [0, 1], fitted on the training split.

The NAR-SLP pose VAE works on joints min-max normalised to [0, 1] (its decoder ends in a sigmoid).
:class:`PoseNormalizer` holds the per-(joint, coordinate) minimum and maximum of the training
poses as plain lists, so the statistics can live in a model config (JSON) and travel with a
checkpoint. ``normalize`` and ``denormalize`` accept numpy arrays and torch tensors of shape
``(..., J, K)`` and are exact inverses (up to floating-point rounding). A coordinate that is
constant in the training data (e.g. the neck, the skeleton's origin) gets range 1 instead of 0, so
nothing is divided by zero and it maps to 0 and back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["PoseNormalizer"]


def _is_torch(x: Any) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return isinstance(x, torch.Tensor)


class PoseNormalizer:
    """Per-(joint, coordinate) min-max scaling of poses to [0, 1].

    Args:
        minimum: (J, K) nested list (or array) of per-coordinate minima.
        maximum: (J, K) nested list (or array) of per-coordinate maxima, ``>= minimum``.

    Use :meth:`fit` to compute them from training sequences.

    Example::

        normalizer = PoseNormalizer.fit(example["poses"] for example in corpus["train"])
        z = normalizer.normalize(poses)          # in [0, 1] on the training data
        poses_again = normalizer.denormalize(z)
        config_value = normalizer.to_dict()      # JSON-able
    """

    def __init__(self, minimum: Any, maximum: Any) -> None:
        mins = np.asarray(minimum, dtype=np.float64)
        maxs = np.asarray(maximum, dtype=np.float64)
        if mins.ndim != 2 or mins.shape != maxs.shape:
            raise ValueError(
                f"PoseNormalizer needs minimum and maximum of the same (J, K) shape, got {mins.shape} and {maxs.shape}"
            )
        if not (np.isfinite(mins).all() and np.isfinite(maxs).all()):
            raise ValueError("PoseNormalizer statistics contain NaN or infinite values")
        if (maxs < mins).any():
            joint, coord = np.argwhere(maxs < mins)[0]
            raise ValueError(
                f"PoseNormalizer maximum < minimum at joint {joint}, coordinate {coord}: "
                f"{maxs[joint, coord]} < {mins[joint, coord]}"
            )
        self.minimum = mins
        self.maximum = maxs
        span = maxs - mins
        # constant coordinates: range 1, so they map to 0 and back without dividing by zero
        self.scale = np.where(span > 0, span, 1.0)

    # ------------------------------------------------------------------ construction
    @classmethod
    def fit(cls, sequences: Iterable[Any]) -> PoseNormalizer:
        """Fit on pose sequences, each ``(T, J, K)`` (numpy, torch or nested lists); also accepts one array
        ``(N, T, J, K)``. Every sequence must have the same ``(J, K)``, at least one frame, finite values."""
        mins = maxs = None
        shape = None
        count = 0
        for index, seq in enumerate(sequences):
            arr = seq.detach().cpu().numpy() if _is_torch(seq) else np.asarray(seq)
            arr = arr.astype(np.float64, copy=False)
            if arr.ndim != 3:
                raise ValueError(f"sequence {index}: expected shape (T, J, K), got {arr.shape}")
            if arr.shape[0] == 0:
                raise ValueError(f"sequence {index} is empty (0 frames)")
            if shape is None:
                shape = arr.shape[1:]
            elif arr.shape[1:] != shape:
                raise ValueError(
                    f"sequence {index}: expected (J, K) = {shape} like the first sequence, got {arr.shape[1:]}"
                )
            if not np.isfinite(arr).all():
                raise ValueError(f"sequence {index} contains NaN or infinite values")
            seq_min, seq_max = arr.min(axis=0), arr.max(axis=0)
            mins = seq_min if mins is None else np.minimum(mins, seq_min)
            maxs = seq_max if maxs is None else np.maximum(maxs, seq_max)
            count += 1
        if count == 0:
            raise ValueError("PoseNormalizer.fit needs at least one sequence, got none")
        return cls(mins, maxs)

    @property
    def num_joints(self) -> int:
        return int(self.minimum.shape[0])

    @property
    def num_dims(self) -> int:
        return int(self.minimum.shape[1])

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, list[list[float]]]:
        """Plain JSON-able statistics: ``{"minimum": [[...]], "maximum": [[...]]}`` (J x K floats)."""
        return {"minimum": self.minimum.tolist(), "maximum": self.maximum.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PoseNormalizer:
        """Inverse of :meth:`to_dict`."""
        missing = {"minimum", "maximum"} - set(data)
        if missing:
            raise ValueError(f"PoseNormalizer.from_dict: missing keys {sorted(missing)}; got {sorted(data)}")
        return cls(data["minimum"], data["maximum"])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PoseNormalizer):
            return NotImplemented
        return np.array_equal(self.minimum, other.minimum) and np.array_equal(self.maximum, other.maximum)

    def __repr__(self) -> str:
        return f"PoseNormalizer(J={self.num_joints}, K={self.num_dims})"

    # ------------------------------------------------------------------ transforms
    def _check(self, x: Any, what: str) -> None:
        shape = tuple(x.shape)
        if len(shape) < 2 or shape[-2:] != self.minimum.shape:
            raise ValueError(
                f"{what}: expected poses of shape (..., {self.num_joints}, {self.num_dims}), got {shape}"
            )
        if _is_torch(x):
            import torch

            if not x.is_floating_point():
                raise ValueError(f"{what}: expected a floating-point tensor, got {x.dtype}")
            finite = bool(torch.isfinite(x).all())
        else:
            finite = bool(np.isfinite(x).all())
        if not finite:
            raise ValueError(f"{what}: poses contain NaN or infinite values")

    def _stats_like(self, x: Any) -> tuple[Any, Any]:
        if _is_torch(x):
            import torch

            return (
                torch.as_tensor(self.minimum, dtype=x.dtype, device=x.device),
                torch.as_tensor(self.scale, dtype=x.dtype, device=x.device),
            )
        return self.minimum.astype(x.dtype, copy=False), self.scale.astype(x.dtype, copy=False)

    @staticmethod
    def _as_array(x: Any) -> Any:
        if _is_torch(x):
            return x
        arr = np.asarray(x)
        if not np.issubdtype(arr.dtype, np.floating):
            arr = arr.astype(np.float64)
        return arr

    def normalize(self, x: Any) -> Any:
        """``(x - min) / (max - min)`` per (joint, coordinate); numpy in, numpy out (same float dtype);
        torch in, torch out (same dtype and device, differentiable)."""
        x = self._as_array(x)
        self._check(x, "PoseNormalizer.normalize")
        minimum, scale = self._stats_like(x)
        return (x - minimum) / scale

    def denormalize(self, x: Any) -> Any:
        """Inverse of :meth:`normalize`: ``x * (max - min) + min``."""
        x = self._as_array(x)
        self._check(x, "PoseNormalizer.denormalize")
        minimum, scale = self._stats_like(x)
        return x * scale + minimum
