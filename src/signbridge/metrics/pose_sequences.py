"""Scores between produced and true pose sequences: duration accuracy (DurACC) and the DTW distance."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.spatial.distance import cdist

__all__ = ["duration_accuracy", "duration_correct", "dtw_distance"]


def duration_correct(
    pred_lengths: Sequence[float],
    true_lengths: Sequence[float],
    fps: float = 25.0,
    tolerance_s: float = 1.0,
    *,
    name: str = "duration_correct",
) -> np.ndarray:
    """Per sequence, whether its predicted length is less than ``tolerance_s`` seconds off the truth.

    The per-sentence outcome whose mean is :func:`duration_accuracy` (DurACC), as a boolean array;
    paired bootstraps over sentences resample it. Same arguments and errors as
    :func:`duration_accuracy` (``name`` is the function named in the errors).
    """
    pred = np.asarray(pred_lengths, dtype=np.float64)
    true = np.asarray(true_lengths, dtype=np.float64)
    for label, values in (("pred_lengths", pred), ("true_lengths", true)):
        if values.ndim != 1:
            raise ValueError(
                f"{label} must be 1-D (one length in frames per sequence), got shape {values.shape}"
            )
    if pred.size == 0 or true.size == 0:
        raise ValueError(
            f"{name} needs non-empty inputs, got {pred.size} predicted and {true.size} true lengths"
        )
    if pred.shape != true.shape:
        raise ValueError(
            f"pred_lengths and true_lengths must have the same length, got {pred.size} and {true.size}"
        )
    for label, values in (("pred_lengths", pred), ("true_lengths", true)):
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{label} contains non-finite values")
        if np.any(values < 0):
            raise ValueError(f"{label} contains negative lengths (min {values.min()})")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if not tolerance_s > 0:
        raise ValueError(f"tolerance_s must be > 0, got {tolerance_s}")
    tolerance_frames = tolerance_s * fps
    return np.abs(pred - true) < tolerance_frames


def duration_accuracy(
    pred_lengths: Sequence[float],
    true_lengths: Sequence[float],
    fps: float = 25.0,
    tolerance_s: float = 1.0,
) -> float:
    """Share of sequences whose predicted length is less than ``tolerance_s`` seconds off the truth.

    This is the NAR-SLP paper's DurACC ("less than a second margin of error"): sequences are
    assumed to be recorded at ``fps`` frames per second and a prediction counts as correct when
    ``|pred - true| < tolerance_s * fps`` frames, strictly: with the defaults a miss by 24 frames
    counts, a miss by exactly 25 frames (1 s) does not.

    Args:
        pred_lengths: predicted lengths in frames, one per sequence (1-D).
        true_lengths: true lengths in frames, one per sequence (1-D, same size).
        fps: frames per second.
        tolerance_s: the margin in seconds (> 0).

    Returns:
        A fraction in ``[0, 1]``.

    Raises:
        ValueError: inputs that are not 1-D (e.g. a batch of poses or a 2-D array of lengths),
            empty or differently sized inputs, negative or non-finite lengths, non-positive
            ``fps`` or ``tolerance_s``.
    """
    correct = duration_correct(pred_lengths, true_lengths, fps, tolerance_s, name="duration_accuracy")
    return float(np.mean(correct))


def _as_frames(array, label: str) -> np.ndarray:
    values = np.asarray(array, dtype=np.float64)
    if values.ndim not in (2, 3):
        raise ValueError(f"{label} must have shape (T, J, K) or (T, D), got shape {values.shape}")
    if values.shape[0] == 0:
        raise ValueError(f"{label} has no frames")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{label} contains non-finite values")
    return values.reshape(values.shape[0], -1)


def dtw_distance(hyp, ref) -> float:
    """Dynamic-time-warping distance of the Progressive Transformers evaluation protocol.

    The frame cost is the L1 distance (sum of absolute differences over all joints and
    coordinates); the steps are (1, 0), (0, 1) and (1, 1); the accumulated cost of the best path
    is divided by the number of *reference* frames.

    Args:
        hyp: produced poses, ``(T_hyp, J, K)`` or ``(T_hyp, D)``.
        ref: reference poses, same trailing shape, ``(T_ref, ...)``.

    Returns:
        The minimal path cost per reference frame (>= 0; 0 for identical sequences).
    """
    h = _as_frames(hyp, "hyp")
    r = _as_frames(ref, "ref")
    if h.shape[1] != r.shape[1]:
        raise ValueError(
            f"hyp and ref must have the same per-frame shape, got {np.shape(hyp)[1:]} and {np.shape(ref)[1:]}"
        )
    n, m = h.shape[0], r.shape[0]
    cost = cdist(h, r, metric="cityblock")  # (n, m) L1 frame costs
    # Accumulate along anti-diagonals: cell (i, j) needs (i-1, j), (i, j-1) and (i-1, j-1), which
    # lie on the two previous anti-diagonals, so each diagonal is one vectorised step.
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for diag in range(2, n + m + 1):
        i = np.arange(max(1, diag - m), min(n, diag - 1) + 1)
        j = diag - i
        best = np.minimum(np.minimum(acc[i - 1, j], acc[i, j - 1]), acc[i - 1, j - 1])
        acc[i, j] = cost[i - 1, j - 1] + best
    return float(acc[n, m] / m)
