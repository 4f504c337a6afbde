"""The Fréchet distance between two sets of feature vectors (FID / FGD)."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg
from transformers.utils import logging

logger = logging.get_logger(__name__)

__all__ = ["frechet_distance", "feature_statistics", "frechet_distance_from_statistics"]


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


def frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))`` with the pytorch-fid safeguards.

    The matrix square root comes from :func:`scipy.linalg.sqrtm`. When the product is singular
    (the square root is not finite) ``eps`` is added to both diagonals and the root recomputed;
    a numerically complex result keeps its real part (an error if the imaginary part is large);
    the distance is clamped at 0.
    """
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(
            f"feature dimensions differ: means {mu1.shape} vs {mu2.shape}, covariances "
            f"{sigma1.shape} vs {sigma2.shape}"
        )
    diff = mu1 - mu2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1.dot(sigma2))
    singular = any(issubclass(w.category, linalg.LinAlgWarning) for w in caught)
    if singular or not np.isfinite(covmean).all():
        logger.info("Fréchet distance: the covariance product is singular; adding %g to the diagonals", eps)
        offset = np.eye(sigma1.shape[0]) * eps
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
        if not np.isfinite(covmean).all():
            raise ValueError("Fréchet distance: the matrix square root is not finite even with eps")
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            largest = np.max(np.abs(covmean.imag))
            raise ValueError(f"Fréchet distance: the matrix square root has an imaginary part {largest}")
        covmean = covmean.real
    distance = diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean)
    return float(max(distance, 0.0))


def frechet_distance(features_a, features_b, eps: float = 1e-6) -> float:
    """Fréchet distance between two feature sets ``(N_a, D)`` and ``(N_b, D)``.

    Each set is summarised by its mean and unbiased (N-1) covariance; the sets may differ in
    size. See :func:`frechet_distance_from_statistics` for the numerical safeguards.

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
    return frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2, eps=eps)
