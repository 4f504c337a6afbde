"""Paired bootstrap comparisons of production-table rows over test sentences.

A single table says which row scored lower on one set of test sentences; on another set (or another
machine's run) a small difference can flip. :func:`compare_rows` reports, for rows A and B scored on
the same sentences, the spread of the difference A - B under resampling of the sentences:

* the sentences are resampled with replacement ``num_resamples`` times (seeded); each resample is
  used for both rows and for the references (a paired bootstrap), so what varies between resamples
  is which sentences are scored, never the pairing;
* FGD: every sentence's TAE window features are computed once
  (:meth:`signbridge.metrics.fgd.FGD.sentence_features`: non-overlapping windows, as the FGD
  stacks them); a resample's FGD is the Fréchet distance between the stacked windows of its chosen
  sentences (repeats included) on each side. The stacks are never built: each sentence's window
  count, mean and scatter are added with the resample's multiplicities, which gives the same mean
  and (N-1) covariance as stacking;
* DurACC: the mean of the per-sentence correctness (:func:`signbridge.metrics.duration_correct`)
  over the resample;
* each comparison reports the single-run values, the difference's bootstrap mean and percentile
  interval (95 % by default), and the fractions of resamples in which A < B and A > B. ``a_below_b``
  is True when the whole interval of A - B lies below 0.

A resample repeats some sentences and leaves others out, so its FGD of a row is larger than the
single-run FGD (fewer distinct windows, a noisier covariance); this bias is shared by two rows scored
on the same resample and largely cancels in A - B, which is what the interval is for. The single-run
values stay the table's.

:func:`bootstrap_mean` gives the same interval for one row's mean (e.g. DurACC against a threshold).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from signbridge.metrics.frechet import frechet_distances_from_statistics

if TYPE_CHECKING:
    from signbridge.models.pose_autoencoder import PoseAutoencoderModel

#: Metrics :func:`compare_rows` reports per pair, in the table's scale and direction (lower FGD, higher DurACC).
COMPARED_METRICS = ("fgd_x10", "dur_acc")


def resample_counts(num_sentences: int, num_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """How often each sentence is drawn in each resample: ``(num_resamples, num_sentences)`` ints.

    Row ``b`` counts the draws of ``num_sentences`` sentences with replacement from
    ``numpy.random.default_rng(seed).integers(0, num_sentences, (num_resamples, num_sentences))``.
    """
    if num_sentences < 1:
        raise ValueError(f"num_sentences must be >= 1, got {num_sentences}")
    if num_resamples < 1:
        raise ValueError(f"num_resamples must be >= 1, got {num_resamples}")
    draws = np.random.default_rng(seed).integers(0, num_sentences, (num_resamples, num_sentences))
    flat = (draws + num_sentences * np.arange(num_resamples)[:, None]).ravel()
    return np.bincount(flat, minlength=num_resamples * num_sentences).reshape(num_resamples, num_sentences)


def sentence_window_features(
    tae: PoseAutoencoderModel, sequences: Sequence[np.ndarray], batch_size: int = 256
) -> list[np.ndarray]:
    """Each pose sequence's TAE window features ``(T_i // window_size, D)``, as the FGD computes them."""
    from signbridge.utils.import_utils import require_evaluate

    require_evaluate("FGD bootstrap comparisons")
    from signbridge.metrics.fgd import FGD

    return FGD(batch_size=batch_size).sentence_features(list(sequences), model=tae)


class _SentenceStatistics:
    """Per-sentence window count, mean and scatter of one row's features, combined with weights."""

    def __init__(self, features: Sequence[np.ndarray], name: str):
        if len(features) == 0:
            raise ValueError(f"{name}: no sentences")
        dims = {np.shape(f)[1] for f in features if np.ndim(f) == 2}
        if len(dims) != 1 or any(np.ndim(f) != 2 for f in features):
            raise ValueError(
                f"{name}: expected one (n_i, D) array per sentence with one D, got dims {sorted(dims)}"
            )
        dim = dims.pop()
        self.counts = np.array([len(f) for f in features], dtype=np.float64)
        self.means = np.zeros((len(features), dim))
        self.scatter = np.zeros((len(features), dim * dim))
        for i, f in enumerate(features):
            if len(f):
                values = np.asarray(f, dtype=np.float64)
                if not np.all(np.isfinite(values)):
                    raise ValueError(f"{name}: sentence {i} has NaN or infinite features")
                self.means[i] = values.mean(axis=0)
                centred = values - self.means[i]
                self.scatter[i] = (centred.T @ centred).ravel()
        self.dim = dim

    def statistics(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Means ``(B, D)``, (N-1) covariances ``(B, D, D)`` and window counts ``(B,)`` of the windows of the
        sentences taken ``weights[b, i]`` times, for each row ``b`` of ``weights`` ``(B, N)``.

        Both parts of a scatter are sums of outer products of centred vectors (within each sentence,
        and of the sentence means around the resample's mean), so each covariance is positive
        semi-definite to rounding, also for constant rows (the Mean baseline's is 0). Where a
        resample has fewer than 2 windows its mean and covariance are 0 (the caller marks it).
        """
        weights = np.asarray(weights, dtype=np.float64)
        w = weights * self.counts
        total = w.sum(axis=1)
        safe = np.maximum(total, 1.0)
        means = w @ self.means / safe[:, None]
        scatter = (weights @ self.scatter).reshape(len(weights), self.dim, self.dim)
        # sum_i w_bi (m_i - mean_b)(m_i - mean_b)^T for every b in one batched product: torch's bmm, on one
        # thread (numpy would loop over b with its threaded BLAS, slow for small products on a busy CPU;
        # torch's own threads would keep spinning after it and slow numpy's eigensolvers down many times)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            spread = torch.from_numpy(self.means)[None] - torch.from_numpy(means)[:, None]
            scatter += torch.bmm((spread * torch.from_numpy(w)[:, :, None]).transpose(1, 2), spread).numpy()
        finally:
            torch.set_num_threads(threads)
        covariances = scatter / np.maximum(total - 1.0, 1.0)[:, None, None]
        return means, covariances, total


def _fgd_per_resample(
    rows: Mapping[str, _SentenceStatistics],
    references: _SentenceStatistics,
    counts: np.ndarray,
    eps: float,
    values_per_chunk: int = 4_000_000,
) -> dict[str, np.ndarray]:
    """FGD of each row for each weight vector (row of ``counts``); NaN where a side has < 2 windows.

    The Fréchet distances of a chunk of resamples are computed together
    (:func:`~signbridge.metrics.frechet.frechet_distances_from_statistics`); a chunk's spread of the
    sentence means holds at most about ``values_per_chunk`` numbers (32 MB).
    """
    chunk = max(1, values_per_chunk // (references.means.size or 1))
    out = {name: np.full(len(counts), np.nan) for name in rows}
    for begin in range(0, len(counts), chunk):
        weights = counts[begin : begin + chunk]
        ref_mean, ref_cov, ref_total = references.statistics(weights)
        for name, stats in rows.items():
            mean, cov, total = stats.statistics(weights)
            ok = (total >= 2) & (ref_total >= 2)
            if np.any(ok):
                out[name][begin : begin + len(weights)][ok] = frechet_distances_from_statistics(
                    mean[ok], cov[ok], ref_mean[ok], ref_cov[ok], eps=eps
                )
    return out


def _bootstrap_fgd_x10(
    row_features: Mapping[str, Sequence[np.ndarray]],
    reference_features: Sequence[np.ndarray],
    counts: np.ndarray,
    eps: float,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Each row's single-run FGD x10 and its FGD x10 on every resample in ``counts``."""
    for name, features in row_features.items():
        if len(features) != len(reference_features):
            raise ValueError(
                f"paired bootstrap needs the same sentences on every side: row {name!r} has {len(features)}, "
                f"the references {len(reference_features)}"
            )
    refs = _SentenceStatistics(reference_features, "references")
    if refs.counts.sum() < 2:
        raise ValueError(f"FGD needs at least 2 reference windows, got {int(refs.counts.sum())}")
    rows = {name: _SentenceStatistics(features, name) for name, features in row_features.items()}
    for name, stats in rows.items():
        if stats.dim != refs.dim:
            raise ValueError(f"row {name!r} has {stats.dim}-d features, the references {refs.dim}-d")
    full = _fgd_per_resample(rows, refs, np.ones((1, len(refs.counts))), eps)
    resampled = _fgd_per_resample(rows, refs, counts, eps)
    return {k: 10.0 * float(v[0]) for k, v in full.items()}, {k: 10.0 * v for k, v in resampled.items()}


def _check(confidence: float, num_sentences: int, counts: np.ndarray) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if counts.shape[1] != num_sentences:
        raise ValueError(f"resamples of {counts.shape[1]} sentences for {num_sentences} sentences")


def _summary(
    metric: str,
    names: tuple[str, str],
    values: tuple[float, float],
    resampled: tuple[np.ndarray, np.ndarray],
    confidence: float,
    num_sentences: int,
) -> dict[str, Any]:
    """The comparison record of A - B (see :func:`paired_bootstrap_fgd`)."""
    diffs = resampled[0] - resampled[1]
    valid = diffs[np.isfinite(diffs)]
    tail = 100.0 * (1.0 - confidence) / 2.0
    if len(valid):
        low, high = (float(v) for v in np.percentile(valid, [tail, 100.0 - tail]))
        mean, below, above = float(valid.mean()), float(np.mean(valid < 0)), float(np.mean(valid > 0))
    else:
        low = high = mean = below = above = float("nan")
    return {
        "metric": metric,
        "a": names[0],
        "b": names[1],
        "a_value": float(values[0]),
        "b_value": float(values[1]),
        "difference": float(values[0] - values[1]),
        "mean_difference": mean,
        "interval": [low, high],
        "confidence": confidence,
        "p_a_below_b": below,
        "p_a_above_b": above,
        "a_below_b": bool(high < 0),
        "a_above_b": bool(low > 0),
        "num_resamples": int(len(diffs)),
        "num_valid_resamples": int(len(valid)),
        "num_sentences": int(num_sentences),
    }


def paired_bootstrap_fgd(
    features_a: Sequence[np.ndarray],
    features_b: Sequence[np.ndarray],
    reference_features: Sequence[np.ndarray],
    *,
    num_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    names: tuple[str, str] = ("A", "B"),
    eps: float = 1e-6,
) -> dict[str, Any]:
    """Paired bootstrap over sentences of FGD x10 (A) - FGD x10 (B), both against the same references.

    Args:
        features_a, features_b, reference_features: one ``(n_i, D)`` array of window features per
            sentence (:func:`sentence_window_features`), the same sentences in the same order.
        num_resamples: bootstrap resamples B.
        seed: seed of the resamples (:func:`resample_counts`).
        confidence: coverage of the percentile interval.
        names: the rows' names in the result.
        eps: passed to :func:`~signbridge.metrics.frechet.frechet_distance_from_statistics`.

    Returns:
        ``{metric: "fgd_x10", a, b, a_value, b_value, difference (a_value - b_value, the single
        run), mean_difference (over resamples), interval: [low, high] (percentiles), confidence,
        p_a_below_b, p_a_above_b (fractions of resamples), a_below_b (high < 0), a_above_b
        (low > 0), num_resamples, num_valid_resamples (both sides >= 2 windows), num_sentences}``.
    """
    counts = resample_counts(len(reference_features), num_resamples, seed)
    _check(confidence, len(reference_features), counts)
    full, resampled = _bootstrap_fgd_x10({"a": features_a, "b": features_b}, reference_features, counts, eps)
    return _summary(
        "fgd_x10", names, (full["a"], full["b"]), (resampled["a"], resampled["b"]), confidence, len(counts[0])
    )


def _as_values(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D array of per-sentence values, got shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def paired_bootstrap_mean(
    values_a: Sequence[float] | np.ndarray,
    values_b: Sequence[float] | np.ndarray,
    *,
    num_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    names: tuple[str, str] = ("A", "B"),
    metric: str = "mean",
) -> dict[str, Any]:
    """Paired bootstrap over sentences of mean(A) - mean(B) for per-sentence values (e.g. DurACC's 0/1).

    Same resamples as :func:`paired_bootstrap_fgd` for the same ``num_resamples`` and ``seed`` and
    the same record (``metric`` names it).
    """
    a, b = _as_values(values_a, names[0]), _as_values(values_b, names[1])
    if a.shape != b.shape:
        raise ValueError(
            f"paired bootstrap needs the same sentences on both sides, got {a.size} and {b.size}"
        )
    counts = resample_counts(a.size, num_resamples, seed)
    _check(confidence, a.size, counts)
    return _summary(
        metric, names, (a.mean(), b.mean()), (counts @ a / a.size, counts @ b / b.size), confidence, a.size
    )


def bootstrap_mean(
    values: Sequence[float] | np.ndarray,
    *,
    threshold: float | None = None,
    num_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Bootstrap interval over sentences of one row's mean (e.g. DurACC), optionally against a threshold.

    Returns ``{value (single run), mean (over resamples), interval: [low, high], confidence,
    num_resamples, num_sentences}`` and, with ``threshold``: ``threshold``, ``p_at_least`` (fraction
    of resamples with mean >= threshold) and ``at_least`` (the whole interval at or above it).
    """
    array = _as_values(values, "values")
    counts = resample_counts(array.size, num_resamples, seed)
    _check(confidence, array.size, counts)
    means = counts @ array / array.size
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = (float(v) for v in np.percentile(means, [tail, 100.0 - tail]))
    out: dict[str, Any] = {
        "value": float(array.mean()),
        "mean": float(means.mean()),
        "interval": [low, high],
        "confidence": confidence,
        "num_resamples": int(num_resamples),
        "num_sentences": int(array.size),
    }
    if threshold is not None:
        out.update(
            threshold=float(threshold),
            p_at_least=float(np.mean(means >= threshold)),
            at_least=bool(low >= threshold),
        )
    return out


def comparison_key(a: str, b: str) -> str:
    """The key of the comparison of rows ``a`` and ``b`` in :func:`compare_rows`' result."""
    return f"{a} vs {b}"


def compare_rows(
    candidates: Mapping[str, Sequence[np.ndarray]],
    references: Sequence[np.ndarray],
    pairs: Sequence[tuple[str, str]],
    *,
    tae: PoseAutoencoderModel,
    fps: float = 25.0,
    num_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    batch_size: int = 256,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Paired bootstrap comparisons of production-table rows on one split.

    Args:
        candidates: row name -> the row's produced pose sequences, one per reference sentence.
        references: the true pose sequences ``(T_i, J, K)`` of the same sentences.
        pairs: ``(A, B)`` row names to compare (A - B; e.g. ``(NAR_WITH_KD, MEAN)``).
        tae: the pose autoencoder whose window features the FGD compares.
        fps: frame rate of DurACC.
        num_resamples, seed, confidence: the bootstrap (one set of resamples for every pair).
        batch_size: windows per TAE forward pass.

    Returns:
        ``{"A vs B": {"fgd_x10": record, "dur_acc": record}}`` with the records of
        :func:`paired_bootstrap_fgd` and :func:`paired_bootstrap_mean`. Each row's window features
        and each resample's FGD are computed once, whatever the number of pairs.
    """
    from signbridge.metrics import duration_correct

    if not pairs:
        raise ValueError("compare_rows: no pairs to compare")
    names = list(dict.fromkeys(name for pair in pairs for name in pair))
    missing = [n for n in names if n not in candidates]
    if missing:
        raise ValueError(f"compare_rows: rows {missing} are not among the candidates {list(candidates)}")
    ref_poses = [np.asarray(r, dtype=np.float32) for r in references]
    for name in names:
        if len(candidates[name]) != len(ref_poses):
            raise ValueError(
                f"compare_rows: row {name!r} has {len(candidates[name])} sequences for {len(ref_poses)} references"
            )
    counts = resample_counts(len(ref_poses), num_resamples, seed)
    _check(confidence, len(ref_poses), counts)
    reference_features = sentence_window_features(tae, ref_poses, batch_size)
    features = {name: sentence_window_features(tae, candidates[name], batch_size) for name in names}
    fgd, fgd_resampled = _bootstrap_fgd_x10(features, reference_features, counts, eps=1e-6)
    true_lengths = [len(r) for r in ref_poses]
    correct = {
        name: duration_correct([len(p) for p in candidates[name]], true_lengths, fps).astype(np.float64)
        for name in names
    }
    dur_resampled = {name: counts @ c / c.size for name, c in correct.items()}
    out = {}
    for a, b in pairs:
        out[comparison_key(a, b)] = {
            "fgd_x10": _summary(
                "fgd_x10",
                (a, b),
                (fgd[a], fgd[b]),
                (fgd_resampled[a], fgd_resampled[b]),
                confidence,
                len(ref_poses),
            ),
            "dur_acc": _summary(
                "dur_acc",
                (a, b),
                (correct[a].mean(), correct[b].mean()),
                (dur_resampled[a], dur_resampled[b]),
                confidence,
                len(ref_poses),
            ),
        }
    return out


def _number(metric: str, value: float, signed: bool = False) -> str:
    sign = "+" if signed else ""
    return f"{value:{sign}.4g}" if metric == "fgd_x10" else f"{value:{sign}.3f}"


def format_comparison(record: Mapping[str, Any]) -> str:
    """One line: ``fgd_x10 A vs B: 0.0004 vs 0.0003, A-B +1e-04 [95%: -2e-04, +3e-04], P(A<B) 0.31``."""
    m = record["metric"]
    low, high = record["interval"]
    return (
        f"{m} {record['a']} vs {record['b']}: {_number(m, record['a_value'])} vs {_number(m, record['b_value'])}, "
        f"A-B {_number(m, record['difference'], True)} [{100 * record['confidence']:.0f}%: "
        f"{_number(m, low, True)}, {_number(m, high, True)}], P(A<B) {record['p_a_below_b']:.2f} "
        f"({record['num_valid_resamples']} resamples of {record['num_sentences']} sentences)"
    )


def format_comparisons(comparisons: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """Every record of :func:`compare_rows` (or ``{split: compare_rows(...)}``), one line each."""
    lines = []
    for key, value in comparisons.items():
        if isinstance(value, Mapping) and "metric" in value:
            lines.append(format_comparison(value))
        elif all(isinstance(v, Mapping) and "metric" in v for v in value.values()):
            lines.extend(format_comparison(record) for record in value.values())
        else:
            lines.append(f"[{key.upper()}]")
            lines.extend(format_comparisons(value).splitlines())
    return "\n".join(lines) + "\n"


__all__ = [
    "COMPARED_METRICS",
    "bootstrap_mean",
    "compare_rows",
    "comparison_key",
    "format_comparison",
    "format_comparisons",
    "paired_bootstrap_fgd",
    "paired_bootstrap_mean",
    "resample_counts",
    "sentence_window_features",
]
