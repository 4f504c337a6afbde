# Copied from signbridge.data.normalization (whole file): do not edit here; edit the source,
# then run `python utils/check_copies.py --fix_and_overwrite`.
"""Min-max normalisation of pose sequences to [0, 1], fitted on the training split: the one implementation.

The NAR-SLP pose VAE works on joints min-max normalised to [0, 1] (its decoder ends in a sigmoid), the pose
autoencoder (TAE) of FGD and pose-input back-translators normalise the same way. :class:`PoseNormalizer` holds the
per-(joint, coordinate) minimum and maximum of the training poses, so the statistics can live in a model config
(JSON, :meth:`PoseNormalizer.to_dict`) and travel with a checkpoint. ``normalize`` and ``denormalize`` accept numpy
arrays and torch tensors of shape ``(..., J, K)`` and are exact inverses (up to floating-point rounding).

Joints that never move: a coordinate whose range ``max - min`` is not above ``min_range`` (default 0, i.e. a
coordinate that is constant in the training data, e.g. the skeleton's origin) gets range 1 instead, so nothing is
divided by zero (or by a tiny range) and it maps to ``x - min`` and back.

Arithmetic: the minimum and maximum are cast to the input's float dtype and the range is computed there (what the
pose VAE and the TAE always did); for statistics fitted on float32 poses this equals the float64 range rounded once.

The statistics format, shared by every config and file that stores it::

    {"minimum": [[...] * K] * J, "maximum": [[...] * K] * J}        # plus "min_range": float when it is not 0

The model folders that need it (``models/pose_vae``, ``models/nar_slp``, ``models/pose_autoencoder``) hold a
whole-file copy of this file (``pose_normalization.py``, kept identical by ``utils/check_copies.py``), because a
saved model carries for ``trust_remote_code`` only the files of its own folder; inside signbridge those copies are
bound to this module, so there is one ``PoseNormalizer`` class. This file therefore imports only the standard
library, numpy and (lazily) torch.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["POSE_NORMALIZER_FILE", "PoseNormalizer", "load_pose_normalizer", "save_pose_normalizer"]

#: File beside a pose-input model (e.g. a back-translator) holding its :meth:`PoseNormalizer.to_dict`.
POSE_NORMALIZER_FILE = "pose_normalizer.json"


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
        min_range: a coordinate whose range ``maximum - minimum`` is ``<= min_range`` (one that never moves) is
            scaled by 1 instead of its range. Default 0: only exactly constant coordinates.

    Use :meth:`fit` to compute them from training sequences.

    Example::

        normalizer = PoseNormalizer.fit(example["poses"] for example in corpus["train"])
        z = normalizer.normalize(poses)          # in [0, 1] on the training data
        poses_again = normalizer.denormalize(z)
        config_value = normalizer.to_dict()      # JSON-able
    """

    def __init__(self, minimum: Any, maximum: Any, min_range: float = 0.0) -> None:
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
        try:
            min_range = float(min_range)
        except (TypeError, ValueError):
            raise ValueError(f"PoseNormalizer min_range must be a number, got {min_range!r}") from None
        if not (math.isfinite(min_range) and min_range >= 0):
            raise ValueError(f"PoseNormalizer min_range must be finite and >= 0, got {min_range!r}")
        self.minimum = mins
        self.maximum = maxs
        self.min_range = min_range
        # coordinates that never move (range <= min_range): range 1, so nothing is divided by zero
        self.scale = self._scale(mins, maxs, min_range)

    @staticmethod
    def _scale(minimum: Any, maximum: Any, min_range: float) -> Any:
        """The divisor per coordinate, the one rule for joints that never move: ``maximum - minimum``, or 1 where
        that is ``<= min_range``; numpy or torch, in the dtype of ``minimum``/``maximum``."""
        span = maximum - minimum
        if _is_torch(span):
            import torch

            return torch.where(span > min_range, span, torch.ones_like(span))
        return np.where(span > min_range, span, np.ones_like(span))

    # ------------------------------------------------------------------ construction
    @classmethod
    def fit(cls, sequences: Iterable[Any], min_range: float = 0.0) -> PoseNormalizer:
        """Fit on pose sequences, each ``(T, J, K)`` (numpy, torch or nested lists); also accepts one array
        ``(N, T, J, K)``. Every sequence must have the same ``(J, K)``, at least one frame, finite values.
        ``min_range`` is stored as given (see the class)."""
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
        return cls(mins, maxs, min_range=min_range)

    @property
    def num_joints(self) -> int:
        return int(self.minimum.shape[0])

    @property
    def num_dims(self) -> int:
        return int(self.minimum.shape[1])

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able statistics: ``{"minimum": [[...]], "maximum": [[...]]}`` (J x K floats), plus
        ``"min_range"`` when it is not 0 (so statistics with the default rule read as before)."""
        data: dict[str, Any] = {"minimum": self.minimum.tolist(), "maximum": self.maximum.tolist()}
        if self.min_range != 0:
            data["min_range"] = self.min_range
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PoseNormalizer:
        """Inverse of :meth:`to_dict` (``min_range`` defaults to 0 when absent)."""
        if not isinstance(data, dict):
            raise ValueError(f"PoseNormalizer.from_dict needs a dict, got {type(data).__name__}")
        missing = {"minimum", "maximum"} - set(data)
        if missing:
            raise ValueError(f"PoseNormalizer.from_dict: missing keys {sorted(missing)}; got {sorted(data)}")
        unknown = set(data) - {"minimum", "maximum", "min_range"}
        if unknown:
            raise ValueError(f"PoseNormalizer.from_dict: unknown keys {sorted(unknown)}; got {sorted(data)}")
        return cls(data["minimum"], data["maximum"], min_range=data.get("min_range", 0.0))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PoseNormalizer):
            return NotImplemented
        return (
            np.array_equal(self.minimum, other.minimum)
            and np.array_equal(self.maximum, other.maximum)
            and self.min_range == other.min_range
        )

    def __repr__(self) -> str:
        extra = f", min_range={self.min_range}" if self.min_range else ""
        return f"PoseNormalizer(J={self.num_joints}, K={self.num_dims}{extra})"

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
        """``(minimum, scale)`` in the dtype (and device) of ``x``: the statistics are cast first, the range is
        computed in that dtype."""
        if _is_torch(x):
            import torch

            minimum = torch.as_tensor(self.minimum, dtype=x.dtype, device=x.device)
            maximum = torch.as_tensor(self.maximum, dtype=x.dtype, device=x.device)
        else:
            minimum = self.minimum.astype(x.dtype, copy=False)
            maximum = self.maximum.astype(x.dtype, copy=False)
        return minimum, self._scale(minimum, maximum, self.min_range)

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


# ---------------------------------------------------------------------- file beside a model
def save_pose_normalizer(normalizer: PoseNormalizer, folder: str | os.PathLike) -> Path:
    """Write ``normalizer.to_dict()`` as ``<folder>/pose_normalizer.json``; returns the file's path."""
    path = Path(folder) / POSE_NORMALIZER_FILE
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(normalizer.to_dict(), handle, indent=2)
    return path


def load_pose_normalizer(folder: str | os.PathLike) -> PoseNormalizer | None:
    """The :class:`PoseNormalizer` of ``<folder>/pose_normalizer.json`` (written by :func:`save_pose_normalizer`,
    or by earlier versions in the same format), or ``None`` when the folder has no such file."""
    path = Path(folder) / POSE_NORMALIZER_FILE
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as handle:
        return PoseNormalizer.from_dict(json.load(handle))
