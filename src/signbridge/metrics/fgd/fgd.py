"""Fréchet Gesture Distance (FGD) as an ``evaluate`` metric.

Usable directly (``FGD(model=tae).compute(predictions=..., references=...)``) and through
``evaluate.load("<path to this folder>")``: evaluate copies this script into its module cache,
so it imports signbridge absolutely (never relatively) and shares the one Fréchet distance
implementation, :func:`signbridge.metrics.frechet.frechet_distance`.

Protocol (NAR-SLP paper, Sec. 5.1 and Table 2):

* every pose sequence ``(T, J, K)`` is cut into non-overlapping windows of the TAE's
  ``window_size`` frames (34): ``T // 34`` windows from frame 0; the ``T % 34`` frames left at
  the end are not scored and are reported as ``unused_frames_*``; sequences shorter than one
  window give no window and are counted in ``short_sequences_*``;
* window features (the TAE's pooled latents) are stacked per side, never padded, and compared with
  the Fréchet distance of their means and (N-1) covariances; ``fgd_x10`` is the paper's scale;
* ``fgd_by_length``: sequences grouped by their own length (each side by its own lengths, as the
  two sets need not be paired) into [0, 50), [50, 100), [100, 150), [150, 200) frames;
* ``fgd_by_prefix``: the first N = 20, 40, 60, 80 frames of every sequence at least N frames
  long. For N >= 34 these are the first ``N // 34`` windows. For N < 34 (the paper's "~20 frames",
  0.8 s) the N frames are linearly resampled in time onto 34 frames and encoded as one window:
  the paper's Table 2 reports FGD for 20-frame prefixes with a 34-frame TAE without saying how;
  resampling feeds the TAE a full window of real (time-stretched) poses, and no pose or feature
  is ever padded;
* a length or prefix cell needs at least ``min_windows`` windows on each side (default: the
  feature dimension D, and never fewer than 2): with fewer than 2 there is no covariance, and with
  fewer than D the covariance estimate is rank-deficient and the cell's value mostly reflects the
  sample size. Such a cell is NaN, its window counts say why, and one ``UserWarning`` per call
  names every such cell; the other cells and the overall FGD are still computed;
* the overall FGD needs at least 2 windows on each side: a producer (predictions) with fewer gets
  ``fgd = fgd_x10 = NaN`` and a ``UserWarning`` (its breakdown cells are NaN too), so one short
  producer does not abort a whole table; references with fewer than 2 windows are an error,
  as no producer could be scored against them.
"""

from __future__ import annotations

import warnings

import datasets
import evaluate
import numpy as np
import torch

from signbridge.metrics.frechet import few_samples_message, frechet_distance
from signbridge.models.pose_autoencoder import PoseAutoencoderModel

LENGTH_INTERVALS = ((0, 50), (50, 100), (100, 150), (150, 200))
PREFIX_LENGTHS = (20, 40, 60, 80)

_CITATION = """\
@article{hwang2022nar_slp,
  title={Non-Autoregressive Sign Language Production via Knowledge Distillation},
  author={Hwang, Eui Jun and Kim, Jung Ho and Cho, Suk Min and Park, Jong C.},
  journal={arXiv preprint arXiv:2208.06183},
  year={2022}
}
@article{yoon2020speech,
  title={Speech Gesture Generation from the Trimodal Context of Text, Audio, and Speaker Identity},
  author={Yoon, Youngwoo and Cha, Bok and Lee, Joo-Haeng and Jang, Minsu and Lee, Jaeyeon and Kim, Jaehong and Lee, Geehyuk},
  journal={ACM Transactions on Graphics},
  year={2020}
}
"""

_DESCRIPTION = """\
Fréchet Gesture Distance between generated and reference sign pose sequences: the Fréchet
distance between the distributions of transformer-autoencoder (TAE) features of non-overlapping
34-frame windows, as in the NAR-SLP paper (reported there x10). Lower is better.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of generated pose sequences, each (T, J, K) (numpy, torch or nested lists).
    references: list of reference pose sequences, each (T, J, K). The two lists may differ in size.
    model: a PoseAutoencoderModel (or a path to a saved one) when not given to the constructor.
    joint_names: optional list of the poses' J joint names, checked against the TAE's.
    batch_size: windows per TAE forward pass (default 256).
    breakdowns: compute fgd_by_length / fgd_by_prefix (default True); False returns the overall
        scores and counts only (no breakdown keys, no warnings about thin cells).
Returns:
    fgd, fgd_x10: the Fréchet Gesture Distance over all windows (and x10, the paper's scale);
        NaN, with a UserWarning, when the predictions give fewer than 2 windows; a UserWarning
        naming both numbers when a side has fewer windows than the TAE's feature dimensions;
    num_windows_predictions, num_windows_references: windows scored on each side;
    num_sequences_*, short_sequences_* (shorter than one window), unused_frames_* (remainders);
    fgd_by_length, num_windows_by_length: per length interval "0-50", "50-100", "100-150", "150-200";
    fgd_by_prefix, num_windows_by_prefix: first "20", "40", "60", "80" frames of every sequence;
        a cell with fewer than ``min_windows`` windows on a side is NaN (one UserWarning names them).
Examples:
    >>> fgd = FGD(model=tae)
    >>> result = fgd.compute(predictions=produced_poses, references=real_poses)
    >>> print(f"FGD x10 = {result['fgd_x10']:.4g}")  # significant digits: values can be ~1e-4
"""


class FGD(evaluate.Metric):
    """Fréchet Gesture Distance over TAE features of 34-frame windows (see the module docstring).

    Args:
        model: a :class:`~signbridge.models.pose_autoencoder.PoseAutoencoderModel` (or any model
            with a compatible ``config`` and ``encode_windows``) or a path to a saved one.
        batch_size: windows per forward pass.
        min_windows: fewest windows per side for a length or prefix cell to be scored (default: the
            TAE's feature dimension; at least 2). Cells with fewer are NaN, with a warning.
        eps: diagonal offset the Fréchet distance adds only when its exact computation gives no
            finite number (an eigensolver failure); singular covariances are computed exactly.

    Unlike most evaluate metrics, predictions and references are unpaired sets of different sizes,
    so ``add``/``add_batch`` collect them in memory in this process (no Arrow cache, no
    multi-process gathering); ``compute`` scores what was added plus what it is given.
    """

    def __init__(
        self, model=None, batch_size: int = 256, eps: float = 1e-6, min_windows: int | None = None, **kwargs
    ):
        super().__init__(**kwargs)
        if min_windows is not None and min_windows < 2:
            raise ValueError(f"min_windows must be >= 2 (a covariance needs 2 samples), got {min_windows}")
        self.model = self._load_model(model) if model is not None else None
        self.batch_size = batch_size
        self.eps = eps
        self.min_windows = min_windows
        self._pending_predictions: list = []
        self._pending_references: list = []

    def _info(self):
        pose_sequence = datasets.Sequence(datasets.Sequence(datasets.Sequence(datasets.Value("float32"))))
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": pose_sequence, "references": pose_sequence}),
            reference_urls=["https://arxiv.org/abs/2208.06183"],
        )

    # ------------------------------------------------------------------ collection
    def add_batch(self, *, predictions=None, references=None, **kwargs):
        """Collect pose sequences; the two sides may receive different numbers of sequences."""
        if kwargs:
            raise ValueError(f"FGD.add_batch got unexpected arguments {sorted(kwargs)}")
        self._pending_predictions.extend(list(predictions or []))
        self._pending_references.extend(list(references or []))

    def add(self, *, prediction=None, reference=None, **kwargs):
        """Collect one generated and/or one reference pose sequence."""
        if kwargs:
            raise ValueError(f"FGD.add got unexpected arguments {sorted(kwargs)}")
        if prediction is not None:
            self._pending_predictions.append(prediction)
        if reference is not None:
            self._pending_references.append(reference)

    def compute(self, *, predictions=None, references=None, **kwargs):
        """Score the collected and the given pose sequences and clear the collection."""
        preds = self._pending_predictions + list(predictions if predictions is not None else [])
        refs = self._pending_references + list(references if references is not None else [])
        self._pending_predictions, self._pending_references = [], []
        return self._compute(predictions=preds, references=refs, **kwargs)

    # ------------------------------------------------------------------ scoring
    @staticmethod
    def _load_model(model):
        if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
            return PoseAutoencoderModel.from_pretrained(model).eval()
        if not hasattr(model, "encode_windows") or not hasattr(model, "config"):
            raise ValueError(f"FGD needs a PoseAutoencoderModel or a path to one, got {type(model).__name__}")
        return model

    def _check_sequences(self, sequences, side: str, layout: tuple[int, int]) -> list[np.ndarray]:
        if len(sequences) == 0:
            raise ValueError(f"FGD: {side} is empty")
        checked = []
        for index, sequence in enumerate(sequences):
            if isinstance(sequence, torch.Tensor):
                sequence = sequence.detach().cpu().numpy()
            array = np.asarray(sequence, dtype=np.float32)
            if array.ndim != 3:
                raise ValueError(f"FGD: {side}[{index}] must have shape (T, J, K), got {array.shape}")
            if tuple(array.shape[1:]) != layout:
                raise ValueError(
                    f"FGD: the TAE's joint layout (J, K) = {layout} differs from {side}[{index}] "
                    f"with (J, K) = {tuple(array.shape[1:])}"
                )
            if not np.isfinite(array).all():
                raise ValueError(f"FGD: {side}[{index}] contains NaN or infinite values")
            checked.append(array)
        return checked

    def _encode(self, model, windows: list[np.ndarray]) -> np.ndarray:
        if not windows:
            return np.zeros((0, model.config.feature_dim), dtype=np.float64)
        stacked = np.stack(windows).astype(np.float32)
        return model.encode_windows(stacked, batch_size=self.batch_size).numpy().astype(np.float64)

    def _cell_distance(self, a: np.ndarray, b: np.ndarray, label: str, skipped: list[str]) -> float:
        """FGD of one length/prefix cell, or NaN (noted in ``skipped``) with too few windows."""
        needed = self.min_windows if self.min_windows is not None else max(2, a.shape[1])
        if len(a) < needed or len(b) < needed:
            skipped.append(f"{label} (predictions {len(a)}, references {len(b)} windows)")
            return float("nan")
        # a cell has at least min_windows windows (default: the feature dimension), the caller's choice
        return frechet_distance(a, b, eps=self.eps, warn_few_samples=False)

    def _side(self, model, sequences: list[np.ndarray], breakdowns: bool = True) -> dict:
        window = model.config.window_size
        windows, owner, first_index = [], [], []
        for seq_index, sequence in enumerate(sequences):
            first_index.append(len(windows))
            for start in range(0, sequence.shape[0] - window + 1, window):
                windows.append(sequence[start : start + window])
                owner.append(seq_index)
        features = self._encode(model, windows)
        lengths = np.array([s.shape[0] for s in sequences])
        # prefixes shorter than a window: resample the first N frames onto `window` frames
        prefix_features = {}
        for n in PREFIX_LENGTHS if breakdowns else ():
            keep = [i for i, length in enumerate(lengths) if length >= n]
            if n >= window:
                per_seq = n // window
                rows = [first_index[i] + k for i in keep for k in range(per_seq)]
                prefix_features[n] = features[rows]
            else:
                src = np.linspace(0.0, n - 1.0, window)
                resampled = []
                for i in keep:
                    prefix = sequences[i][:n]
                    low = np.floor(src).astype(int)
                    high = np.minimum(low + 1, n - 1)
                    frac = (src - low)[:, None, None].astype(np.float32)
                    resampled.append(prefix[low] * (1 - frac) + prefix[high] * frac)
                prefix_features[n] = self._encode(model, resampled)
        return {
            "features": features,
            "owner": np.array(owner, dtype=int),
            "lengths": lengths,
            "prefix_features": prefix_features,
            "short": int((lengths < window).sum()),
            "unused": int((lengths % window).sum()),
        }

    def sentence_features(self, sequences, model=None, side: str = "sequences") -> list[np.ndarray]:
        """Each sequence's window features, as ``compute`` makes them, kept apart per sequence.

        Returns one float64 ``(T_i // window_size, D)`` array per sequence (``(0, D)`` for a
        sequence shorter than a window): the rows ``compute`` stacks for that sequence, in order.
        Stacking the arrays of a set (repeats allowed) gives the features of that set of sequences,
        which is what a bootstrap over sentences resamples.
        """
        model = self._load_model(model) if model is not None else self.model
        if model is None:
            raise ValueError("FGD needs a TAE: pass model=... to FGD(...) or to sentence_features(...)")
        layout = (model.config.num_joints, model.config.joint_dim)
        checked = self._check_sequences(sequences, side, layout)
        encoded = self._side(model, checked, breakdowns=False)
        counts = np.bincount(encoded["owner"], minlength=len(checked))
        return np.split(encoded["features"], np.cumsum(counts)[:-1])

    def _compute(
        self, predictions, references, model=None, joint_names=None, batch_size=None, breakdowns: bool = True
    ):
        model = self._load_model(model) if model is not None else self.model
        if model is None:
            raise ValueError("FGD needs a TAE: pass model=... to FGD(...) or to compute(...)")
        if batch_size is not None:
            self.batch_size = batch_size
        config = model.config
        layout = (config.num_joints, config.joint_dim)
        tae_names = getattr(config, "joint_names", None)
        if joint_names is not None and tae_names is not None and list(joint_names) != list(tae_names):
            raise ValueError(
                f"FGD: the TAE's joint layout differs from the poses': TAE joint_names "
                f"{list(tae_names)[:6]}... ({len(tae_names)}) vs poses {list(joint_names)[:6]}... "
                f"({len(joint_names)})"
            )
        preds = self._check_sequences(predictions, "predictions", layout)
        refs = self._check_sequences(references, "references", layout)
        pred_side = self._side(model, preds, breakdowns)
        ref_side = self._side(model, refs, breakdowns)
        num_pred, num_ref = len(pred_side["features"]), len(ref_side["features"])
        if num_ref < 2:
            raise ValueError(
                f"FGD needs at least 2 windows of {config.window_size} frames in the references, got "
                f"{num_ref} ({ref_side['short']} of {len(refs)} sequences shorter than a window)"
            )
        if num_pred < 2:
            warnings.warn(
                f"FGD: the predictions give {num_pred} window(s) of {config.window_size} frames "
                f"({pred_side['short']} of {len(preds)} sequences shorter than a window); a covariance "
                f"needs at least 2: fgd and fgd_x10 are NaN",
                UserWarning,
                stacklevel=3,
            )
            fgd = float("nan")
        else:
            message = few_samples_message(
                {"predictions": num_pred, "references": num_ref}, pred_side["features"].shape[1]
            )
            if message:
                warnings.warn(
                    f"FGD (samples are windows of {config.window_size} frames): {message}",
                    UserWarning,
                    stacklevel=3,
                )
            fgd = frechet_distance(
                pred_side["features"], ref_side["features"], eps=self.eps, warn_few_samples=False
            )
        result = {
            "fgd": fgd,
            "fgd_x10": 10.0 * fgd,
            "num_windows_predictions": num_pred,
            "num_windows_references": num_ref,
            "num_sequences_predictions": len(preds),
            "num_sequences_references": len(refs),
            "short_sequences_predictions": pred_side["short"],
            "short_sequences_references": ref_side["short"],
            "unused_frames_predictions": pred_side["unused"],
            "unused_frames_references": ref_side["unused"],
        }
        if not breakdowns:
            return result

        skipped: list[str] = []
        by_length, windows_by_length = {}, {}
        for low, high in LENGTH_INTERVALS:
            key = f"{low}-{high}"
            selected = []
            for side in (pred_side, ref_side):
                in_bucket = (side["lengths"] >= low) & (side["lengths"] < high)
                rows = in_bucket[side["owner"]] if len(side["owner"]) else np.zeros(0, dtype=bool)
                selected.append(side["features"][rows])
            by_length[key] = self._cell_distance(*selected, f"fgd_by_length[{key!r}]", skipped)
            windows_by_length[key] = [len(selected[0]), len(selected[1])]

        by_prefix, windows_by_prefix = {}, {}
        for n in PREFIX_LENGTHS:
            a, b = pred_side["prefix_features"][n], ref_side["prefix_features"][n]
            by_prefix[str(n)] = self._cell_distance(a, b, f"fgd_by_prefix['{n}'] (first {n} frames)", skipped)
            windows_by_prefix[str(n)] = [len(a), len(b)]

        if skipped:
            needed = (
                self.min_windows if self.min_windows is not None else max(2, pred_side["features"].shape[1])
            )
            warnings.warn(
                f"FGD: too few windows (fewer than {needed} on a side) to score "
                f"{'; '.join(skipped)}: these cells are NaN",
                UserWarning,
                stacklevel=3,
            )

        result.update(
            fgd_by_length=by_length,
            num_windows_by_length=windows_by_length,
            fgd_by_prefix=by_prefix,
            num_windows_by_prefix=windows_by_prefix,
        )
        return result


__all__ = ["FGD", "LENGTH_INTERVALS", "PREFIX_LENGTHS"]
