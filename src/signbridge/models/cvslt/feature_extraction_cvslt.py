"""Feature extractors of CV-SLT: sign input -> padded ``input_features`` + ``attention_mask``, as transformers'
``AutoFeatureExtractor`` gives them for audio models.

* :class:`SignFeatureExtractor`: visual features ``(T, F)`` (e.g. the 832-dimensional S3D features of PHOENIX14T /
  CSL-Daily), one sequence or a batch; checked (feature size, frames, finite values), cast to float32, padded with
  zeros, with an attention mask (1 on frames, 0 on padding).
* :class:`SignPoseFeatureExtractor`: poses ``(T, J, K)`` in a named skeleton layout; every ``frame_stride``-th frame
  is kept, the poses are min-max normalised with the statistics fitted on the training split (the one
  :class:`PoseNormalizer` format) and flattened to ``(T, J*K)``, then padded like the features.

Both save as ``preprocessor_config.json`` (``save_pretrained``) and load with ``AutoFeatureExtractor`` (and as part of
:class:`~signbridge.models.cvslt.CVSLTProcessor` with ``AutoProcessor``). A saved CV-SLT folder carries this file and
``pose_normalization.py`` (a checked copy of ``signbridge.data.normalization``), so it loads by remote code without
signbridge. This file imports only numpy, transformers and its own folder.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from transformers.feature_extraction_sequence_utils import SequenceFeatureExtractor
from transformers.feature_extraction_utils import BatchFeature

from .pose_normalization import PoseNormalizer

__all__ = ["SignFeatureExtractor", "SignInputError", "SignPoseFeatureExtractor"]

#: skeleton layouts a pose feature extractor knows: name -> (joints, coordinates)
SKELETON_LAYOUTS = {"skeleton50": (50, 3)}


class SignInputError(ValueError):
    """Sign input the feature extractor cannot use (wrong shape or size, no frames, NaN or infinite values)."""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _as_array(value: Any, what: str) -> np.ndarray:
    """A float32 numpy array from numpy, a torch tensor (any dtype, any device) or nested lists."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor: torch is not imported here
        value = value.detach().cpu().float().numpy()
    if isinstance(value, (str, bytes)):
        raise SignInputError(f"{what}: expected an array of numbers, got the string {_short(value)}")
    try:
        array = np.asarray(value)
    except ValueError as error:  # ragged nested lists
        raise SignInputError(f"{what}: cannot be read as an array ({error})") from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise SignInputError(f"{what}: expected numbers, got an array of {array.dtype}")
    return array.astype(np.float32, copy=False)


class SignFeatureExtractor(SequenceFeatureExtractor):
    """Pads sign feature sequences ``(T, feature_size)`` into ``input_features`` ``(B, T_max, feature_size)``.

    Args:
        feature_size: values per frame (the model's ``config.feature_dim``; 832 for S3D features).
        sampling_rate: frames per second of the sequences (recorded; nothing is resampled).
        padding_value: value of padded frames (0, as the collators always padded).
        return_attention_mask: return the ``(B, T_max)`` mask by default.

    Calling it with one ``(T, F)`` array, a ``(B, T, F)`` array or a list of ``(T_i, F)`` arrays (numpy, torch or
    lists; float64 is cast to float32) returns a :class:`~transformers.BatchFeature` with ``input_features``
    (float32) and ``attention_mask`` (int64); ``return_tensors="pt"`` gives torch tensors. Wrong feature size, an
    empty sequence, NaN or infinite values raise :class:`SignInputError` naming the sequence.
    """

    model_input_names = ["input_features", "attention_mask"]
    #: dimensions of one sequence / of a batch in one array
    _sequence_ndim = 2

    def __init__(
        self,
        feature_size: int = 832,
        sampling_rate: int = 25,
        padding_value: float = 0.0,
        return_attention_mask: bool = True,
        **kwargs,
    ):
        if not isinstance(feature_size, int) or isinstance(feature_size, bool) or feature_size < 1:
            raise SignInputError(f"feature_size must be a positive integer, got {_short(feature_size)}")
        super().__init__(
            feature_size=feature_size,
            sampling_rate=sampling_rate,
            padding_value=padding_value,
            return_attention_mask=return_attention_mask,
            **kwargs,
        )

    # ---------------------------------------------------------------------------------------------- one sequence
    def _prepare(self, sequence: np.ndarray, what: str) -> np.ndarray:
        """One checked sequence -> ``(T, feature_size)`` float32 (subclasses turn poses into features here)."""
        if sequence.ndim != 2:
            raise SignInputError(
                f"{what}: expected (frames, {self.feature_size}) features, got shape {sequence.shape}"
            )
        if sequence.shape[1] != self.feature_size:
            raise SignInputError(
                f"{what}: has {sequence.shape[1]} values per frame, this feature extractor expects "
                f"{self.feature_size} (feature_size)"
            )
        return sequence

    def _check(self, sequence: np.ndarray, what: str) -> None:
        if sequence.ndim == 0 or sequence.shape[0] == 0:
            raise SignInputError(f"{what}: the sequence is empty (0 frames)")
        if not np.isfinite(sequence).all():
            bad = int((~np.isfinite(sequence)).sum())
            raise SignInputError(f"{what}: contains {bad} NaN or infinite values")

    def _split_batch(self, sequences: Any) -> list[Any]:
        """One sequence or a batch (a list of sequences, or one array with a batch axis) -> a list of sequences."""
        if isinstance(sequences, (list, tuple)):
            if not sequences:
                raise SignInputError("no sequences given (an empty list)")
            if _as_array(sequences[0], "sequence 0").ndim == self._sequence_ndim - 1:
                return [sequences]  # one sequence given as a list of frames
            return list(sequences)
        array = _as_array(sequences, "the input")
        return list(array) if array.ndim == self._sequence_ndim + 1 else [array]

    def __call__(
        self,
        sequences: Any,
        return_tensors: str | None = None,
        padding: bool | str = "longest",
        pad_to_multiple_of: int | None = None,
        return_attention_mask: bool | None = None,
        **kwargs,
    ) -> BatchFeature:
        """Check, convert and pad one sequence or a batch (see the class); returns ``input_features`` (and
        ``attention_mask``)."""
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword arguments {sorted(kwargs)}")
        prepared = []
        for index, sequence in enumerate(self._split_batch(sequences)):
            what = f"sequence {index}"
            array = _as_array(sequence, what)
            self._check(array, what)
            prepared.append(np.ascontiguousarray(self._prepare(array, what), dtype=np.float32))
        want_mask = self.return_attention_mask if return_attention_mask is None else return_attention_mask
        padded = self.pad(
            BatchFeature({"input_features": prepared}),
            padding=padding,
            pad_to_multiple_of=pad_to_multiple_of,
            return_attention_mask=True,
        )
        data = {"input_features": np.stack(padded["input_features"]).astype(np.float32, copy=False)}
        if want_mask:
            data["attention_mask"] = np.stack(padded["attention_mask"]).astype(np.int64, copy=False)
        return BatchFeature(data, tensor_type=return_tensors)


class SignPoseFeatureExtractor(SignFeatureExtractor):
    """Turns pose sequences ``(T, J, K)`` into the ``(T, J*K)`` input of a pose-input CV-SLT model, then pads.

    Args:
        skeleton: name of the joint layout (``"skeleton50"``: the 50-joint 3D skeleton of signbridge and Progressive
            Transformers: head, neck, two arms, two 21-point hands).
        num_joints, num_dims: the layout's size ``(J, K)`` (default: the named layout's).
        normalization: the pose statistics fitted on the training split
            (:meth:`PoseNormalizer.to_dict`: ``{"minimum": J x K, "maximum": J x K}``), or ``None`` for poses used
            as they are.
        frame_stride: keep every ``frame_stride``-th frame (as the training input did).
        sampling_rate: frames per second of the poses.

    ``feature_size`` is ``num_joints * num_dims``. :attr:`normalizer` is the :class:`PoseNormalizer` of the
    statistics (the one implementation). A pose of another ``(J, K)`` raises :class:`SignInputError`.
    """

    _sequence_ndim = 3

    def __init__(
        self,
        skeleton: str = "skeleton50",
        num_joints: int | None = None,
        num_dims: int | None = None,
        normalization: dict | None = None,
        frame_stride: int = 1,
        sampling_rate: int = 25,
        padding_value: float = 0.0,
        return_attention_mask: bool = True,
        **kwargs,
    ):
        kwargs.pop("feature_size", None)  # derived from the layout
        default = SKELETON_LAYOUTS.get(skeleton)
        if default is None and (num_joints is None or num_dims is None):
            raise SignInputError(
                f"unknown skeleton layout {_short(skeleton)} (known: {sorted(SKELETON_LAYOUTS)}); "
                "give num_joints and num_dims for another layout"
            )
        num_joints = default[0] if num_joints is None else num_joints
        num_dims = default[1] if num_dims is None else num_dims
        for name, value in (
            ("num_joints", num_joints),
            ("num_dims", num_dims),
            ("frame_stride", frame_stride),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise SignInputError(f"{name} must be a positive integer, got {_short(value)}")
        self.skeleton = skeleton
        self.num_joints = num_joints
        self.num_dims = num_dims
        self.frame_stride = frame_stride
        self.normalizer = None if normalization is None else PoseNormalizer.from_dict(normalization)
        if self.normalizer is not None and (self.normalizer.num_joints, self.normalizer.num_dims) != (
            num_joints,
            num_dims,
        ):
            raise SignInputError(
                f"the normalisation statistics are for ({self.normalizer.num_joints}, {self.normalizer.num_dims}) "
                f"poses, the layout {skeleton!r} has ({num_joints}, {num_dims})"
            )
        super().__init__(
            feature_size=num_joints * num_dims,
            sampling_rate=sampling_rate,
            padding_value=padding_value,
            return_attention_mask=return_attention_mask,
            **kwargs,
        )

    @property
    def normalization(self) -> dict | None:
        """The statistics as saved (:meth:`PoseNormalizer.to_dict`), or ``None``."""
        return None if self.normalizer is None else self.normalizer.to_dict()

    def to_dict(self) -> dict[str, Any]:
        output = super().to_dict()
        output.pop("normalizer", None)
        output["normalization"] = self.normalization
        return output

    def _prepare(self, sequence: np.ndarray, what: str) -> np.ndarray:
        if sequence.ndim != 3 or sequence.shape[1:] != (self.num_joints, self.num_dims):
            raise SignInputError(
                f"{what}: expected poses of shape (frames, {self.num_joints}, {self.num_dims}) "
                f"(the {self.skeleton} layout), got {sequence.shape}"
            )
        sequence = sequence[:: self.frame_stride]
        if self.normalizer is not None:
            sequence = np.asarray(self.normalizer.normalize(sequence), dtype=np.float32)
        return sequence.reshape(sequence.shape[0], -1)
