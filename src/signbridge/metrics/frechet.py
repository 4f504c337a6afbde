"""The Fréchet distance between two sets of feature vectors (FID / FGD)."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
from transformers.utils import logging

logger = logging.get_logger(__name__)

# relative tolerance for asymmetry and negative eigenvalues of the covariances: rounding (float32
# statistics reach ~1e-7), not data; a matrix that is not a covariance is off by order 1
_REL_TOL = 1e-5

__all__ = [
    "frechet_distance",
    "feature_statistics",
    "frechet_distance_from_statistics",
    "frechet_distances_from_statistics",
]


def feature_statistics(features, name: str = "features") -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased (N-1) covariance of an ``(N, D)`` feature set, in float64."""
    values = np.asarray(features, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (N, D), got shape {values.shape}")
    if values.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 samples to estimate a covariance, got {values.shape[0]}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return values.mean(axis=0), np.atleast_2d(np.cov(values, rowvar=False, ddof=1))


def _check_covariance(sigma: np.ndarray, name: str) -> np.ndarray:
    """``sigma`` made exactly symmetric; refuse non-finite, asymmetric or indefinite matrices."""
    if not np.all(np.isfinite(sigma)):
        raise ValueError(f"Fréchet distance: {name} contains NaN or infinite values")
    scale = float(np.max(np.abs(sigma), initial=0.0))
    asymmetry = float(np.max(np.abs(sigma - sigma.T), initial=0.0))
    if asymmetry > _REL_TOL * scale:
        raise ValueError(f"Fréchet distance: {name} is not symmetric (largest |S - S^T| = {asymmetry:.3g})")
    sigma = (sigma + sigma.T) / 2.0
    if scale > 0.0:
        try:
            eigenvalues = np.linalg.eigvalsh(sigma / scale)
        except np.linalg.LinAlgError:  # no verdict; the distance itself falls back on eps
            eigenvalues = None
        if eigenvalues is not None:
            _psd_eigenvalues(eigenvalues, name, 0.0)  # raises if indefinite
    return sigma


def _psd_eigenvalues(values: np.ndarray, name: str, scale: float) -> np.ndarray:
    """Eigenvalues of a symmetric PSD matrix whose norm is at most ``scale``, rounding noise removed.

    A negative eigenvalue beyond a relative tolerance of ``scale`` means the matrix is not a
    covariance (an error); the other negative ones, and positive ones within the eigensolver's
    rounding floor (``dim * machine eps * scale``), are set to exactly 0.
    """
    scale = max(scale, float(np.max(np.abs(values), initial=0.0)))
    if values.size and values.min() < -_REL_TOL * scale:
        raise ValueError(
            f"Fréchet distance: {name} is not positive semi-definite (eigenvalue {values.min():.3g}, "
            f"scale {scale:.3g})"
        )
    floor = values.size * np.finfo(np.float64).eps * scale
    return np.where(values > floor, values, 0.0)


def _trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """``Tr (S1 S2)^(1/2)`` for symmetric PSD ``S1``, ``S2``, singular ones included.

    S1 S2 is similar to the symmetric PSD matrix ``S1^(1/2) S2 S1^(1/2)`` (``S1^(1/2)`` from the
    symmetric eigendecomposition of S1), so its eigenvalues are real and >= 0 and the trace of its
    principal square root is the sum of their square roots.
    """
    try:
        w, v = np.linalg.eigh(sigma1)
        w = _psd_eigenvalues(w, "sigma1", 0.0)
        root1 = (v * np.sqrt(w)) @ v.T
        inner = root1 @ sigma2 @ root1
        eig = np.linalg.eigvalsh((inner + inner.T) / 2.0)
    except np.linalg.LinAlgError:  # the eigensolver did not converge
        return float("nan")
    if not np.all(np.isfinite(eig)):
        return float("nan")
    # ||S1^(1/2) S2 S1^(1/2)|| <= max eig(S1) * ||S2||_F: the scale of its rounding noise
    bound = float(np.max(w, initial=0.0)) * float(np.linalg.norm(sigma2))
    eig = _psd_eigenvalues(eig, "sigma1^(1/2) sigma2 sigma1^(1/2)", bound)
    return float(np.sqrt(eig).sum())


def frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """``||mu1 - mu2||^2 + Tr S1 + Tr S2 - 2 Tr (S1 S2)^(1/2)``, exact for singular covariances.

    ``Tr (S1 S2)^(1/2)`` is the sum of the square roots of the eigenvalues of the symmetric PSD
    matrix ``S1^(1/2) S2 S1^(1/2)`` (symmetric eigendecompositions, eigenvalues within rounding of
    0 set to 0), computed on the matrices divided by their common scale. This is exact also when a
    covariance is singular (fewer samples than dimensions, constant features, the Mean baseline's
    covariance of exactly 0), where the pytorch-fid recipe (``scipy.linalg.sqrtm`` of S1 S2, eps on
    both diagonals when scipy warns) is biased by eps; on full-rank matrices the two agree.

    Args:
        mu1, mu2: means ``(D,)``.
        sigma1, sigma2: symmetric positive semi-definite covariances ``(D, D)``.
        eps: added to both diagonals, and the trace recomputed, only if the exact computation does
            not give a finite number (an eigensolver failure); never otherwise.

    Returns:
        The distance, clamped at 0.

    Raises:
        ValueError: shapes differ, non-finite statistics, a covariance that is not symmetric or not
            positive semi-definite (beyond a relative rounding tolerance), or no finite result even
            with ``eps``.
    """
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise ValueError(
            f"feature dimensions differ: means {mu1.shape} vs {mu2.shape}, covariances "
            f"{sigma1.shape} vs {sigma2.shape}"
        )
    if not (np.all(np.isfinite(mu1)) and np.all(np.isfinite(mu2))):
        raise ValueError("Fréchet distance: a mean contains NaN or infinite values")
    sigma1 = _check_covariance(sigma1, "sigma1")
    sigma2 = _check_covariance(sigma2, "sigma2")
    # work on matrices of order 1 (features with variances ~1e-6 or ~1e6 alike), scale back after
    scale = max(float(np.max(np.abs(sigma1), initial=0.0)), float(np.max(np.abs(sigma2), initial=0.0)))
    trace_root = 0.0 if scale == 0.0 else scale * _trace_sqrt_product(sigma1 / scale, sigma2 / scale)
    if not np.isfinite(trace_root):
        logger.warning("Fréchet distance: Tr sqrt(S1 S2) is not finite; adding %g to the diagonals", eps)
        offset = np.eye(sigma1.shape[0]) * eps
        shifted1, shifted2 = sigma1 + offset, sigma2 + offset
        scale = max(float(np.max(np.abs(shifted1))), float(np.max(np.abs(shifted2))))
        trace_root = scale * _trace_sqrt_product(shifted1 / scale, shifted2 / scale)
        if not np.isfinite(trace_root):
            raise ValueError("Fréchet distance: Tr sqrt(S1 S2) is not finite even with eps on the diagonals")
    diff = mu1 - mu2
    distance = diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_root
    return float(max(distance, 0.0))


def _psd_eigenvalues_batch(values: np.ndarray, name: str, scale: np.ndarray) -> np.ndarray:
    """:func:`_psd_eigenvalues` for a batch ``(B, D)`` of eigenvalue sets with scales ``(B,)``."""
    scale = np.maximum(scale, np.max(np.abs(values), axis=-1, initial=0.0))
    low = values.min(axis=-1, initial=0.0)
    bad = low < -_REL_TOL * scale
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ValueError(
            f"Fréchet distance: {name} [{i}] is not positive semi-definite (eigenvalue {low[i]:.3g}, "
            f"scale {scale[i]:.3g})"
        )
    floor = values.shape[-1] * np.finfo(np.float64).eps * scale
    return np.where(values > floor[:, None], values, 0.0)


def _trace_sqrt_products(sigma1: np.ndarray, sigma2: np.ndarray) -> np.ndarray:
    """:func:`_trace_sqrt_product` of each pair in a batch ``(B, D, D)``; NaN where it has no finite value."""
    try:
        # one matrix at a time: numpy's batched eigh (with eigenvectors) was up to 100 times slower on a busy
        # 2-core CPU (its threads wait on each other), its eigvalsh is not
        pairs = [scipy.linalg.eigh(matrix, check_finite=False) for matrix in sigma1]
    except np.linalg.LinAlgError:  # some element did not converge: one at a time
        return np.array([_trace_sqrt_product(a, b) for a, b in zip(sigma1, sigma2, strict=True)])
    w = np.stack([pair[0] for pair in pairs]) if pairs else np.zeros(sigma1.shape[:2])
    v = np.stack([pair[1] for pair in pairs]) if pairs else np.zeros(sigma1.shape)
    finite = np.all(np.isfinite(w), axis=-1)
    w = _psd_eigenvalues_batch(np.where(finite[:, None], w, 0.0), "sigma1", np.zeros(len(w)))
    root1 = (v * np.sqrt(w)[:, None, :]) @ v.transpose(0, 2, 1)
    inner = root1 @ sigma2 @ root1
    inner = np.where(finite[:, None, None], (inner + inner.transpose(0, 2, 1)) / 2.0, 0.0)
    try:
        eig = np.linalg.eigvalsh(inner)
    except np.linalg.LinAlgError:
        return np.array([_trace_sqrt_product(a, b) for a, b in zip(sigma1, sigma2, strict=True)])
    finite &= np.all(np.isfinite(eig), axis=-1)
    bound = np.max(w, axis=-1, initial=0.0) * np.linalg.norm(sigma2, axis=(1, 2))
    eig = _psd_eigenvalues_batch(
        np.where(finite[:, None], eig, 0.0), "sigma1^(1/2) sigma2 sigma1^(1/2)", bound
    )
    return np.where(finite, np.sqrt(eig).sum(axis=-1), np.nan)


def frechet_distances_from_statistics(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> np.ndarray:
    """:func:`frechet_distance_from_statistics` for a batch: means ``(B, D)``, covariances ``(B, D, D)``.

    The same exact computation, each step on the whole batch (batched symmetric eigendecompositions),
    for many distances of small matrices at once (e.g. bootstrap resamples); the same checks and
    errors. An element without a finite result is recomputed by :func:`frechet_distance_from_statistics`
    (its ``eps`` fallback).

    Returns:
        ``(B,)`` distances, each clamped at 0.
    """
    mu1 = np.asarray(mu1, dtype=np.float64)
    mu2 = np.asarray(mu2, dtype=np.float64)
    sigma1 = np.asarray(sigma1, dtype=np.float64)
    sigma2 = np.asarray(sigma2, dtype=np.float64)
    if (
        mu1.ndim != 2
        or mu1.shape != mu2.shape
        or sigma1.shape != sigma2.shape
        or sigma1.shape != (*mu1.shape, mu1.shape[1])
    ):
        raise ValueError(
            f"expected means (B, D) and covariances (B, D, D) of one shape, got means {mu1.shape} vs "
            f"{mu2.shape}, covariances {sigma1.shape} vs {sigma2.shape}"
        )
    if not (np.all(np.isfinite(mu1)) and np.all(np.isfinite(mu2))):
        raise ValueError("Fréchet distance: a mean contains NaN or infinite values")
    checked = []
    for sigma, name in ((sigma1, "sigma1"), (sigma2, "sigma2")):
        if not np.all(np.isfinite(sigma)):
            raise ValueError(f"Fréchet distance: {name} contains NaN or infinite values")
        own = np.max(np.abs(sigma), axis=(1, 2), initial=0.0)
        asymmetry = np.max(np.abs(sigma - sigma.transpose(0, 2, 1)), axis=(1, 2), initial=0.0)
        if np.any(asymmetry > _REL_TOL * own):
            i = int(np.argmax(asymmetry > _REL_TOL * own))
            raise ValueError(
                f"Fréchet distance: {name} [{i}] is not symmetric (largest |S - S^T| = {asymmetry[i]:.3g})"
            )
        sigma = (sigma + sigma.transpose(0, 2, 1)) / 2.0
        nonzero = own > 0.0
        try:
            eigenvalues = np.linalg.eigvalsh(sigma[nonzero] / own[nonzero, None, None])
        except np.linalg.LinAlgError:  # no verdict; the distance itself falls back on eps
            eigenvalues = None
        if eigenvalues is not None:
            _psd_eigenvalues_batch(eigenvalues, name, np.zeros(len(eigenvalues)))  # raises if indefinite
        checked.append(sigma)
    sigma1, sigma2 = checked
    scale = np.maximum(np.max(np.abs(sigma1), axis=(1, 2)), np.max(np.abs(sigma2), axis=(1, 2)))
    trace_root = np.zeros(len(scale))
    work = scale > 0.0
    if np.any(work):
        trace_root[work] = scale[work] * _trace_sqrt_products(
            sigma1[work] / scale[work, None, None], sigma2[work] / scale[work, None, None]
        )
    diff = mu1 - mu2
    distances = (
        np.einsum("bd,bd->b", diff, diff)
        + np.trace(sigma1, axis1=1, axis2=2)
        + np.trace(sigma2, axis1=1, axis2=2)
        - 2.0 * trace_root
    )
    for i in np.flatnonzero(~np.isfinite(distances)):
        distances[i] = frechet_distance_from_statistics(mu1[i], sigma1[i], mu2[i], sigma2[i], eps=eps)
    return np.maximum(distances, 0.0)


def few_samples_message(counts: dict[str, int], dims: int) -> str | None:
    """The warning text when a set has fewer samples than feature dimensions, else ``None``.

    ``counts`` maps each set's name to its number of samples. Such a set's covariance is singular
    (rank at most N - 1 < D): the distance is still computed exactly, but it is a poor estimate
    of the distance between the distributions.
    """
    thin = {name: n for name, n in counts.items() if n < dims}
    if not thin:
        return None
    sets = " and ".join(f"{n} samples in {name}" for name, n in thin.items())
    return (
        f"{sets} for {dims} feature dimensions: fewer samples than dimensions give a singular "
        f"covariance (rank <= samples - 1), so the Fréchet distance is a poor estimate; use at "
        f"least {dims} samples per set"
    )


def frechet_distance(features_a, features_b, eps: float = 1e-6, *, warn_few_samples: bool = True) -> float:
    """Fréchet distance between two feature sets ``(N_a, D)`` and ``(N_b, D)``.

    Each set is summarised by its mean and unbiased (N-1) covariance; the sets may differ in
    size. See :func:`frechet_distance_from_statistics` for the exact computation (singular
    covariances included) and the meaning of ``eps``. A set with fewer samples than dimensions
    (``N < D``) gives a :class:`UserWarning` naming both numbers (``warn_few_samples=False``
    silences it for a caller that warns in its own words).

    Raises:
        ValueError: fewer than 2 samples in a set, different feature dimensions, non-2-D input,
            NaN/inf values.
    """
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    if a.ndim == 2 and b.ndim == 2 and a.shape[1] != b.shape[1]:
        raise ValueError(
            f"features_a and features_b must have the same dimension, got {a.shape[1]} and {b.shape[1]}"
        )
    mu1, sigma1 = feature_statistics(a, "features_a")
    mu2, sigma2 = feature_statistics(b, "features_b")
    message = few_samples_message({"features_a": a.shape[0], "features_b": b.shape[0]}, a.shape[1])
    if warn_few_samples and message:
        warnings.warn(f"Fréchet distance: {message}", UserWarning, stacklevel=2)
    return frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2, eps=eps)
