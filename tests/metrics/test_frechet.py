import numpy as np
import pytest
from scipy import linalg

from signbridge.metrics import frechet_distance, frechet_distance_from_statistics


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


@pytest.mark.filterwarnings("ignore:Fréchet distance. .* samples in:UserWarning")  # singular on purpose
def test_singular_covariances_are_finite_and_exact():
    # 3 samples in 10 dimensions: rank-deficient covariances; the result stays finite and >= 0
    rng = np.random.default_rng(3)
    a = rng.normal(size=(3, 10))
    b = rng.normal(size=(4, 10))
    value = frechet_distance(a, b)
    assert np.isfinite(value) and value >= 0
    # constant features: zero covariance, distance is exactly the squared mean difference
    assert frechet_distance(np.zeros((5, 4)), np.ones((6, 4))) == 4.0


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


# ------------------------------------------------------------------ exact values for singular covariances
# References below are closed forms or the pytorch-fid recipe, never the module's own parts.


def _pytorch_fid(mu1, s1, mu2, s2):
    """pytorch-fid's calculate_frechet_distance for full-rank data: sqrtm(S1 S2), real part."""
    covmean = linalg.sqrtm(s1 @ s2)
    covmean = covmean.real
    diff = mu1 - mu2
    return diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


@pytest.mark.parametrize("seed, dim, scale", [(0, 4, 1.0), (1, 16, 1.0), (2, 32, 1e-3), (3, 64, 30.0)])
def test_matches_pytorch_fid_recipe_full_rank(seed, dim, scale):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(4 * dim + 50, dim)) @ rng.normal(size=(dim, dim)) * scale
    b = (rng.normal(size=(3 * dim + 40, dim)) @ rng.normal(size=(dim, dim)) + 0.1) * scale
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = _pytorch_fid(mu1, s1, mu2, s2)
    assert frechet_distance_from_statistics(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("scale", [1.0, 1e-3, 1e3])
def test_one_covariance_zero_closed_form(scale):
    # S1 = 0: Tr sqrt(S1 S2) = 0, so FD = |mu1 - mu2|^2 + Tr S2 exactly (no eps anywhere)
    rng = np.random.default_rng(5)
    dim = 8
    root = rng.normal(size=(dim, dim)) * scale
    s2 = root @ root.T
    mu1, mu2 = rng.normal(size=dim) * scale, rng.normal(size=dim) * scale
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(s2)
    zero = np.zeros((dim, dim))
    assert frechet_distance_from_statistics(mu1, zero, mu2, s2) == pytest.approx(expected, rel=1e-12)
    assert frechet_distance_from_statistics(mu2, s2, mu1, zero) == pytest.approx(expected, rel=1e-12)


def test_commuting_diagonal_covariances_closed_form():
    # diagonal (commuting) covariances, some variances exactly 0 on either side: the Fréchet
    # distance is sum_i (sqrt a_i - sqrt b_i)^2 + |dmu|^2
    a = np.array([4.0, 0.0, 1e-6, 2.5, 0.0, 9.0])
    b = np.array([1.0, 3.0, 4e-6, 0.0, 0.0, 9.0])
    mu1 = np.array([0.0, 1.0, 2.0, 0.0, -1.0, 0.5])
    mu2 = np.array([0.5, 1.0, 2.0, -1.0, 0.0, 0.5])
    expected = ((np.sqrt(a) - np.sqrt(b)) ** 2).sum() + ((mu1 - mu2) ** 2).sum()
    value = frechet_distance_from_statistics(mu1, np.diag(a), mu2, np.diag(b))
    assert value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("case", ["random", "parallel", "antiparallel", "orthogonal"])
def test_rank_one_covariances_closed_form(case):
    # S1 = u u^T, S2 = v v^T: S1 S2 = (u.v) u v^T has the one non-zero eigenvalue (u.v)^2, so
    # Tr sqrt(S1 S2) = |u.v| and FD = |dmu|^2 + |u|^2 + |v|^2 - 2 |u.v|
    rng = np.random.default_rng(7)
    u = rng.normal(size=12)
    other = rng.normal(size=12)
    v = {
        "random": other,
        "parallel": 0.3 * u,
        "antiparallel": -2.0 * u,
        "orthogonal": other - (other @ u) / (u @ u) * u,
    }[case]
    mu1, mu2 = rng.normal(size=12), rng.normal(size=12)
    expected = ((mu1 - mu2) ** 2).sum() + u @ u + v @ v - 2 * abs(u @ v)
    value = frechet_distance_from_statistics(mu1, np.outer(u, u), mu2, np.outer(v, v))
    assert value == pytest.approx(expected, rel=1e-9, abs=1e-12 * (u @ u + v @ v))


def test_mean_baseline_is_not_biased_by_eps():
    # the Mean baseline: every feature row identical, covariance exactly 0, against features with
    # TAE-like variances (~1e-6). The old code added eps=1e-6 to both diagonals whenever scipy warned
    # and under-reported this case by 12-14%; the exact value is |dmu|^2 + Tr S2.
    rng = np.random.default_rng(11)
    dim = 32
    mean_rows = np.tile(rng.normal(size=dim) * 1e-3, (120, 1))
    real = rng.normal(size=(400, dim)) @ rng.normal(size=(dim, dim)) * 2e-4
    expected = ((mean_rows[0] - real.mean(0)) ** 2).sum() + np.trace(np.cov(real, rowvar=False))
    assert frechet_distance(mean_rows, real) == pytest.approx(expected, rel=1e-12)
    assert frechet_distance(real, mean_rows) == pytest.approx(expected, rel=1e-12)


@pytest.mark.filterwarnings("ignore:Fréchet distance. .* samples in:UserWarning")  # singular on purpose
def test_rank_deficient_feature_sets_exact():
    # Embedding full-rank 6-d feature sets isometrically in 40 dimensions leaves the Fréchet
    # distance unchanged, but makes both 40x40 covariances singular (rank 6, and N < D): the
    # reference is the pytorch-fid recipe on the full-rank 6-d sets.
    rng = np.random.default_rng(13)
    a = rng.normal(size=(30, 6)) @ rng.normal(size=(6, 6))
    b = rng.normal(size=(25, 6)) @ rng.normal(size=(6, 6)) + 0.2
    full_rank = _pytorch_fid(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    q, _ = np.linalg.qr(rng.normal(size=(40, 40)))
    embed = q[:, :6]  # 6 orthonormal columns in 40 dimensions
    assert frechet_distance(a @ embed.T, b @ embed.T) == pytest.approx(full_rank, rel=1e-6)


def test_not_positive_semidefinite_is_refused():
    eye = np.eye(3)
    with pytest.raises(ValueError, match="positive semi-definite"):
        frechet_distance_from_statistics(np.zeros(3), -eye, np.zeros(3), eye)
    with pytest.raises(ValueError, match="symmetric"):
        frechet_distance_from_statistics(np.zeros(3), np.triu(np.ones((3, 3))), np.zeros(3), eye)
    with pytest.raises(ValueError, match="finite"):
        frechet_distance_from_statistics(np.zeros(3), np.full((3, 3), np.nan), np.zeros(3), eye)


@pytest.mark.filterwarnings("ignore:Fréchet distance. .* samples in:UserWarning")  # singular on purpose
def test_float32_statistics_are_accepted():
    # statistics computed in float32 are slightly asymmetric / indefinite from rounding: accepted
    rng = np.random.default_rng(17)
    a = (rng.normal(size=(100, 128)) @ rng.normal(size=(128, 128))).astype(np.float32)
    b = (rng.normal(size=(90, 128)) + 0.1).astype(np.float32)
    ca, cb = a - a.mean(0), b - b.mean(0)
    s1, s2 = ca.T @ ca / 99, cb.T @ cb / 89  # float32, rank-deficient (N < D)
    value = frechet_distance_from_statistics(a.mean(0), s1, b.mean(0), s2)
    assert value == pytest.approx(frechet_distance(a, b), rel=1e-4)


def test_eps_only_when_the_exact_root_is_not_finite(monkeypatch):
    from signbridge.metrics import frechet

    calls = []
    exact = frechet._trace_sqrt_product

    def fails_once(s1, s2):
        calls.append((s1.copy(), s2.copy()))
        return float("nan") if len(calls) == 1 else exact(s1, s2)

    monkeypatch.setattr(frechet, "_trace_sqrt_product", fails_once)
    s1, s2 = np.diag([1.0, 4.0]), np.diag([4.0, 1.0])
    value = frechet_distance_from_statistics(np.zeros(2), s1, np.zeros(2), s2, eps=1e-3)
    # retried once with eps on both diagonals for the root (the traces stay those of S1 and S2):
    # 5 + 5 - 2 * 2 sqrt(1.001 * 4.001)
    assert len(calls) == 2
    assert value == pytest.approx(10 - 4 * np.sqrt(1.001 * 4.001), rel=1e-12)
    # without a failure eps is never used: (1 - 2)^2 + (2 - 1)^2
    monkeypatch.undo()
    assert frechet_distance_from_statistics(np.zeros(2), s1, np.zeros(2), s2, eps=1e-3) == pytest.approx(
        2.0, rel=1e-12
    )


def test_warns_when_fewer_samples_than_dimensions():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(5, 16)), rng.normal(size=(40, 16))
    with pytest.warns(UserWarning, match=r"5 samples in features_a for 16 feature dimensions") as caught:
        value = frechet_distance(a, b)
    assert len(caught) == 1 and "features_b" not in str(caught[0].message)
    assert np.isfinite(value)
    with pytest.warns(UserWarning, match=r"5 samples in features_a and 3 samples in features_b for 16"):
        frechet_distance(a, b[:3])


def test_no_warning_with_enough_samples_or_when_silenced():
    import warnings

    rng = np.random.default_rng(6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frechet_distance(rng.normal(size=(16, 16)), rng.normal(size=(30, 16)))
        frechet_distance(rng.normal(size=(3, 16)), rng.normal(size=(3, 16)), warn_few_samples=False)
