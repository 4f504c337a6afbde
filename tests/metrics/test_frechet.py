import numpy as np
import pytest
from scipy import linalg

from signbridge.metrics import frechet_distance


def test_one_dimensional_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal(1.5, 2.0, size=(400, 1))
    b = rng.normal(-0.5, 0.5, size=(250, 1))  # different set sizes
    mu1, mu2 = a.mean(), b.mean()
    s1, s2 = a.std(ddof=1), b.std(ddof=1)
    expected = (mu1 - mu2) ** 2 + (s1 - s2) ** 2
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-10)


def test_eigenvalue_form_64d():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(500, 64)) @ rng.normal(size=(64, 64)) * 0.3
    b = rng.normal(size=(300, 64)) @ rng.normal(size=(64, 64)) * 0.3 + 0.2
    mu1, mu2 = a.mean(0), b.mean(0)
    c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Tr((C1 C2)^1/2) = sum of sqrt of the eigenvalues of C1 C2 (all real, >= 0): use the
    # symmetric form sqrt(C1) C2 sqrt(C1) so a symmetric eigensolver applies.
    root = linalg.sqrtm(c1).real
    eig = np.linalg.eigvalsh(root @ c2 @ root)
    expected = (
        ((mu1 - mu2) ** 2).sum() + np.trace(c1) + np.trace(c2) - 2 * np.sqrt(np.clip(eig, 0, None)).sum()
    )
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_self_distance_is_zero_and_symmetric():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(200, 16))
    b = rng.normal(size=(150, 16)) + 0.3
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(a, a[::-1]) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-6)
    assert frechet_distance(a, b) > 0.5


def test_singular_covariances_use_eps():
    # 3 samples in 10 dimensions: rank-deficient covariances; the result stays finite and >= 0
    rng = np.random.default_rng(3)
    a = rng.normal(size=(3, 10))
    b = rng.normal(size=(4, 10))
    value = frechet_distance(a, b)
    assert np.isfinite(value) and value >= 0
    # constant features: zero covariance, distance is the squared mean difference
    assert frechet_distance(np.zeros((5, 4)), np.ones((6, 4))) == pytest.approx(4.0, abs=1e-4)


@pytest.mark.parametrize(
    "a, b, message",
    [
        (np.zeros((1, 3)), np.zeros((5, 3)), "at least 2 samples"),
        (np.zeros((5, 3)), np.zeros((5, 4)), "same dimension"),
        (np.full((5, 3), np.nan), np.zeros((5, 3)), "NaN"),
        (np.zeros(5), np.zeros((5, 1)), "2-D"),
    ],
)
def test_bad_input(a, b, message):
    with pytest.raises(ValueError, match=message):
        frechet_distance(a, b)
