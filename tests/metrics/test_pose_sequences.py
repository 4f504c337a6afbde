import itertools

import numpy as np
import pytest

from signbridge.metrics import dtw_distance, duration_accuracy


def test_duration_accuracy_hand_computed_with_the_one_second_boundary():
    # DurACC (NAR-SLP): correct when the length is off by less than 1 s, strictly. At 25 fps:
    #   |175 - 200| = 25 (exactly 1 s)  wrong
    #   |224 - 200| = 24                correct
    #   |225 - 200| = 25 (exactly 1 s)  wrong
    #   |176 - 200| = 24                correct
    #   |200 - 200| = 0                 correct
    #   |260 - 200| = 60                wrong
    #   |90  - 100| = 10                correct
    #   |75  - 100| = 25 (exactly 1 s)  wrong
    # -> 4 correct of 8
    pred = [175, 224, 225, 176, 200, 260, 90, 75]
    true = [200, 200, 200, 200, 200, 200, 100, 100]
    assert duration_accuracy(pred, true, fps=25) == 4 / 8
    assert duration_accuracy([224], [200]) == 1.0
    assert duration_accuracy([225], [200]) == 0.0
    assert duration_accuracy(np.array([75, 125]), np.array([100, 100])) == 0.0


def test_duration_accuracy_boundaries():
    assert duration_accuracy([100.5], [75]) == 0.0
    assert duration_accuracy([124.5], [100]) == 1.0
    assert duration_accuracy([50], [100], fps=50) == 0.0  # 50 frames at 50 fps is exactly 1 s: wrong
    assert duration_accuracy([51], [100], fps=50) == 1.0
    assert duration_accuracy([50], [100], fps=25, tolerance_s=2.0) == 0.0  # exactly 2 s
    assert duration_accuracy([51], [100], fps=25, tolerance_s=2.0) == 1.0
    assert duration_accuracy(np.array([10, 20]), np.array([10, 60])) == 0.5


@pytest.mark.parametrize(
    "pred, true, kwargs, message",
    [
        ([], [], {}, "non-empty"),
        ([1, 2], [1], {}, "same length"),
        ([-1], [1], {}, "negative"),
        ([np.nan], [1], {}, "non-finite"),
        ([1], [1], {"fps": 0}, "fps"),
        ([1], [1], {"tolerance_s": -1}, "tolerance_s"),
        ([1], [1], {"tolerance_s": 0}, "tolerance_s"),
        ([[10, 20], [30, 40]], [10, 20, 30, 40], {}, r"pred_lengths must be 1-D .* shape \(2, 2\)"),
        ([10, 20], [[10], [20]], {}, r"true_lengths must be 1-D .* shape \(2, 1\)"),
        (np.zeros((2, 3, 4)), [1, 2], {}, "pred_lengths must be 1-D"),
        (5, 5, {}, "must be 1-D"),
    ],
)
def test_duration_accuracy_bad_input(pred, true, kwargs, message):
    with pytest.raises(ValueError, match=message):
        duration_accuracy(pred, true, **kwargs)


def _brute_dtw(hyp, ref):
    """Minimum over every monotone warping path, enumerated explicitly (tiny inputs only)."""
    h = hyp.reshape(len(hyp), -1)
    r = ref.reshape(len(ref), -1)
    n, m = len(h), len(r)
    best = np.inf

    def walk(i, j, total):
        nonlocal best
        total += np.abs(h[i] - r[j]).sum()
        if (i, j) == (n - 1, m - 1):
            best = min(best, total)
            return
        for di, dj in ((1, 0), (0, 1), (1, 1)):
            if i + di < n and j + dj < m:
                walk(i + di, j + dj, total)

    walk(0, 0, 0.0)
    return best / m


@pytest.mark.parametrize("n, m", list(itertools.product([1, 2, 4, 5], [1, 3, 5])))
def test_dtw_matches_brute_force(n, m):
    rng = np.random.default_rng(n * 10 + m)
    hyp = rng.normal(size=(n, 3, 2))
    ref = rng.normal(size=(m, 3, 2))
    assert dtw_distance(hyp, ref) == pytest.approx(_brute_dtw(hyp, ref), rel=1e-12)


def test_dtw_known_cases():
    ref = np.arange(6, dtype=float).reshape(6, 1)
    assert dtw_distance(ref, ref) == 0.0
    # a time-stretched copy (each frame twice) warps onto the reference for free
    assert dtw_distance(np.repeat(ref, 2, axis=0), ref) == 0.0
    # constant offset 1 on 2 joints x 3 coordinates: L1 cost 6 per frame, one frame per ref frame
    poses = np.random.default_rng(0).normal(size=(7, 2, 3))
    assert dtw_distance(poses + 1.0, poses) == pytest.approx(6.0)
    # (T, D) and (T, J, K) give the same value
    assert dtw_distance(poses.reshape(7, 6) + 1.0, poses.reshape(7, 6)) == pytest.approx(6.0)
    # normalised by the reference length: zeros (3 frames) vs ones (4 frames) -> 4 * 1 / 4
    assert dtw_distance(np.zeros((3, 1)), np.ones((4, 1))) == pytest.approx(1.0)
    assert dtw_distance(np.zeros((4, 1)), np.ones((2, 1))) == pytest.approx(2.0)


def test_dtw_bad_input():
    with pytest.raises(ValueError, match="per-frame shape"):
        dtw_distance(np.zeros((3, 50, 3)), np.zeros((3, 49, 3)))
    with pytest.raises(ValueError, match="no frames"):
        dtw_distance(np.zeros((0, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="non-finite"):
        dtw_distance(np.full((2, 2), np.nan), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="shape"):
        dtw_distance(np.zeros(3), np.zeros(3))
