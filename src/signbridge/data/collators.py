"""Batch collators for sign language translation (sign -> text) and production (text -> poses).

Both take a list of examples as ``datasets`` yields them (numpy arrays, nested lists, or torch
tensors after ``with_format("torch")``), pad the variable-length sign side with zeros and a mask,
and tokenize the text side with the tokenizer the model uses:

* :class:`SignTranslationCollator` -> ``input_features`` (B, T, F) float, ``attention_mask``
  (B, T) long, ``labels`` (B, L) long padded with -100 (ignored by the cross-entropy loss);
* :class:`PoseProductionCollator` -> ``input_ids``, ``attention_mask`` of the text,
  ``pose_labels`` (B, T, J, K) float (normalised when a :class:`PoseNormalizer` is given) and
  ``pose_mask`` (B, T) long.

Nothing is truncated: an empty sequence, a non-finite value or a shape mismatch inside a batch is
a ``ValueError`` naming the example.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from .normalization import PoseNormalizer

__all__ = ["PoseProductionCollator", "SignTranslationCollator", "poses_to_features"]

IGNORE_INDEX = -100


def _describe(example: Mapping[str, Any], index: int) -> str:
    name = example.get("name") if isinstance(example, Mapping) else None
    if isinstance(name, str):
        return f"example {index} ({name!r})"
    return f"example {index}"


def _get(example: Any, key: str, index: int) -> Any:
    if not isinstance(example, Mapping):
        raise ValueError(
            f"example {index}: expected a mapping (dict) of columns, got {type(example).__name__}"
        )
    if key not in example:
        raise ValueError(f"{_describe(example, index)} has no {key!r} column; it has {sorted(example)}")
    return example[key]


def _as_float_array(value: Any, ndim: int | tuple[int, ...], what: str) -> torch.Tensor:
    """A float32 tensor of ``ndim`` dimensions (one of them, if a tuple) with >= 1 frame and finite
    values, from a numpy array, nested lists or a torch tensor."""
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if isinstance(value, torch.Tensor):
        tensor = value.detach().to("cpu", torch.float32)
    else:
        try:
            array = np.asarray(value, dtype=np.float32)
        except (ValueError, TypeError) as exc:  # ragged nested lists
            raise ValueError(f"{what}: cannot be read as a {ndim}-D float array ({exc})") from exc
        tensor = torch.from_numpy(array)
    if tensor.dim() >= 1 and tensor.shape[0] == 0:
        raise ValueError(f"{what}: the sequence is empty (0 frames)")
    if tensor.dim() not in allowed:
        expected = " or ".join(str(n) for n in allowed)
        raise ValueError(f"{what}: expected {expected} dimensions, got shape {tuple(tensor.shape)}")
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{what}: contains NaN or infinite values")
    return tensor


def _pad_sequences(
    tensors: Sequence[torch.Tensor], pad_to_multiple_of: int | None, what: str
) -> tuple[torch.Tensor, torch.Tensor]:
    trailing = tensors[0].shape[1:]
    for i, t in enumerate(tensors):
        if t.shape[1:] != trailing:
            raise ValueError(
                f"{what}: example {i} has per-frame shape {tuple(t.shape[1:])}, "
                f"but example 0 has {tuple(trailing)}"
            )
    length = max(t.shape[0] for t in tensors)
    if pad_to_multiple_of:
        length = -(-length // pad_to_multiple_of) * pad_to_multiple_of
    padded = torch.zeros((len(tensors), length, *trailing), dtype=torch.float32)
    mask = torch.zeros((len(tensors), length), dtype=torch.long)
    for i, t in enumerate(tensors):
        padded[i, : t.shape[0]] = t
        mask[i, : t.shape[0]] = 1
    return padded, mask


def _texts(examples: Sequence[Mapping[str, Any]], key: str) -> list[str]:
    texts = []
    for i, example in enumerate(examples):
        text = _get(example, key, i)
        if not isinstance(text, str):
            raise ValueError(f"{_describe(example, i)}: {key!r} must be a string, got {type(text).__name__}")
        texts.append(text)
    return texts


def _check_batch(examples: Any) -> None:
    if not isinstance(examples, Sequence) or isinstance(examples, (str, bytes)) or not examples:
        raise ValueError(f"a collator needs a non-empty list of examples, got {examples!r:.80}")


def poses_to_features(poses: np.ndarray, normalizer: PoseNormalizer | None = None) -> np.ndarray:
    """(T, J, K) poses -> (T, J*K) float32 model input, normalised with ``normalizer`` when given.

    The input of a pose-input CV-SLT model (a back-translator): what its collator and the back-translator feed it.
    """
    array = np.asarray(poses, dtype=np.float32)
    if array.ndim != 3:
        raise ValueError(f"poses must have shape (T, J, K), got {array.shape}")
    if normalizer is not None:
        array = np.asarray(normalizer.normalize(array), dtype=np.float32)
    return array.reshape(array.shape[0], -1)


class SignTranslationCollator:
    """Pad sign features and tokenize target text for sign language translation.

    Args:
        tokenizer: the target tokenizer (e.g. from :func:`signbridge.tokenization.train_corpus_tokenizer`
            or an mBART tokenizer with ``tgt_lang`` set); called on the texts with padding. Not needed
            when every example carries pre-computed ``labels``.
        feature_key: column of the (T, F) sign features (``"features"``; ``"poses"`` also works:
            (T, J, K) poses are flattened to (T, J*K)).
        text_key: column of the target text.
        max_label_length: longest allowed target in tokens; a longer one is an error, not cut.
        pad_to_multiple_of: round the padded number of frames up to a multiple of this.
        feature_extractor: the model's feature extractor
            (:class:`~signbridge.models.cvslt.SignFeatureExtractor`, or
            :class:`~signbridge.models.cvslt.SignPoseFeatureExtractor` for poses: normalised with its
            statistics, every ``frame_stride``-th frame, flattened): it checks, converts and pads the
            sign column, so training sees exactly what the saved processor gives at inference.

    Returns from ``__call__``: ``{"input_features": (B, T, F) float32, "attention_mask": (B, T) long,
    "labels": (B, L) long, -100 at padding}``.
    """

    def __init__(
        self,
        tokenizer: Any = None,
        feature_key: str = "features",
        text_key: str = "text",
        max_label_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        feature_extractor: Any = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.feature_key = feature_key
        self.text_key = text_key
        self.max_label_length = max_label_length
        self.pad_to_multiple_of = pad_to_multiple_of
        self.feature_extractor = feature_extractor

    def _features(self, example: Mapping[str, Any], index: int) -> torch.Tensor:
        value = _get(example, self.feature_key, index)
        what = f"{_describe(example, index)} {self.feature_key!r}"
        tensor = _as_float_array(value, (2, 3), what)
        return tensor.flatten(1) if tensor.dim() == 3 else tensor  # (T, J, K) poses -> (T, J*K)

    def _labels(self, examples: Sequence[Mapping[str, Any]]) -> torch.Tensor:
        if all(isinstance(e, Mapping) and "labels" in e for e in examples):
            rows = [torch.as_tensor(e["labels"], dtype=torch.long).flatten() for e in examples]
            length = max(len(r) for r in rows)
            labels = torch.full((len(rows), length), IGNORE_INDEX, dtype=torch.long)
            for i, row in enumerate(rows):
                labels[i, : len(row)] = row
        else:
            if self.tokenizer is None:
                raise ValueError(
                    "SignTranslationCollator needs a tokenizer unless every example has 'labels'"
                )
            texts = _texts(examples, self.text_key)
            batch = self.tokenizer(texts, padding=True, return_tensors="pt")
            labels = batch["input_ids"].long().masked_fill(batch["attention_mask"] == 0, IGNORE_INDEX)
        if self.max_label_length is not None:
            lengths = (labels != IGNORE_INDEX).sum(1)
            too_long = (lengths > self.max_label_length).nonzero().flatten().tolist()
            if too_long:
                i = too_long[0]
                raise ValueError(
                    f"{_describe(examples[i], i)}: target has {int(lengths[i])} tokens, "
                    f"more than max_label_length={self.max_label_length}"
                )
        return labels

    def _extract(self, examples: Sequence[Mapping[str, Any]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Pad the sign column with the feature extractor; its errors name the example."""
        values = [_get(e, self.feature_key, i) for i, e in enumerate(examples)]
        try:
            batch = self.feature_extractor(
                values, pad_to_multiple_of=self.pad_to_multiple_of, return_tensors="pt"
            )
        except ValueError as exc:
            found = re.match(r"sequence (\d+): (.*)", str(exc), re.DOTALL)
            if found is None or int(found.group(1)) >= len(examples):
                raise ValueError(f"{self.feature_key!r}: {exc}") from exc
            i = int(found.group(1))
            raise ValueError(f"{_describe(examples[i], i)} {self.feature_key!r}: {found.group(2)}") from exc
        return batch["input_features"], batch["attention_mask"].long()

    def __call__(self, examples: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        _check_batch(examples)
        if self.feature_extractor is not None:
            input_features, attention_mask = self._extract(examples)
        else:
            features = [self._features(e, i) for i, e in enumerate(examples)]
            input_features, attention_mask = _pad_sequences(
                features, self.pad_to_multiple_of, repr(self.feature_key)
            )
        return {
            "input_features": input_features,
            "attention_mask": attention_mask,
            "labels": self._labels(examples),
        }


class PoseProductionCollator:
    """Tokenize source text and pad target poses for sign language production.

    Args:
        tokenizer: the text encoder's tokenizer (e.g. from :func:`signbridge.tokenization.train_bert_tokenizer`).
        pose_key: column of the (T, J, K) poses.
        text_key: column of the source text.
        normalizer: optional :class:`signbridge.data.normalization.PoseNormalizer` applied to the poses
            (the model is trained on normalised poses); padding stays 0 after normalisation.
        pad_to_multiple_of: round the padded number of frames up to a multiple of this.

    Returns from ``__call__``: ``{"input_ids": (B, L) long, "attention_mask": (B, L) long,
    "pose_labels": (B, T, J, K) float32, "pose_mask": (B, T) long}``.
    """

    def __init__(
        self,
        tokenizer: Any,
        pose_key: str = "poses",
        text_key: str = "text",
        normalizer: Any = None,
        pad_to_multiple_of: int | None = None,
    ) -> None:
        if tokenizer is None:
            raise ValueError("PoseProductionCollator needs a tokenizer for the source text")
        self.tokenizer = tokenizer
        self.pose_key = pose_key
        self.text_key = text_key
        self.normalizer = normalizer
        self.pad_to_multiple_of = pad_to_multiple_of

    def __call__(self, examples: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        _check_batch(examples)
        poses = []
        for i, example in enumerate(examples):
            what = f"{_describe(example, i)} {self.pose_key!r}"
            pose = _as_float_array(_get(example, self.pose_key, i), 3, what)
            if self.normalizer is not None:
                try:
                    pose = self.normalizer.normalize(pose)
                except ValueError as exc:
                    raise ValueError(f"{what}: {exc}") from exc
            poses.append(pose)
        pose_labels, pose_mask = _pad_sequences(poses, self.pad_to_multiple_of, repr(self.pose_key))
        texts = _texts(examples, self.text_key)
        batch = self.tokenizer(texts, padding=True, return_tensors="pt")
        return {
            "input_ids": batch["input_ids"].long(),
            "attention_mask": batch["attention_mask"].long(),
            "pose_labels": pose_labels,
            "pose_mask": pose_mask,
        }
