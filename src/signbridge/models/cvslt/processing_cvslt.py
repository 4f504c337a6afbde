"""`CVSLTProcessor`: a sign feature extractor and the target tokenizer in one object, as Whisper's processor holds a
feature extractor and a tokenizer.

``processor(sign=..., text=...)`` gives the model's whole input: ``input_features`` and ``attention_mask`` from the
feature extractor (:class:`SignFeatureExtractor` for visual features, :class:`SignPoseFeatureExtractor` for poses),
and ``labels`` from the tokenizer (padding set to -100, ignored by the loss). ``processor.batch_decode(ids)`` turns
generated ids back into text. ``save_pretrained`` writes ``preprocessor_config.json`` / ``processor_config.json`` next
to the tokenizer files; ``AutoProcessor.from_pretrained(folder)`` loads it back (``trust_remote_code=True`` where
signbridge is not installed: a saved CV-SLT folder carries this file). Imports only transformers and its own folder.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from transformers.feature_extraction_utils import BatchFeature
from transformers.processing_utils import ProcessorMixin

from .feature_extraction_cvslt import SignInputError

__all__ = ["CVSLTProcessor"]

#: label id the loss ignores (padding of the targets)
IGNORE_INDEX = -100


class CVSLTProcessor(ProcessorMixin):
    """Feature extractor + tokenizer of a CV-SLT model.

    Args:
        feature_extractor: a :class:`SignFeatureExtractor` or :class:`SignPoseFeatureExtractor`.
        tokenizer: the target-language tokenizer the model was trained with.

    Example::

        processor = AutoProcessor.from_pretrained(folder)
        batch = processor(sign=[features_a, features_b], return_tensors="pt")
        ids = model.generate(**batch, num_beams=5, max_new_tokens=40)
        texts = processor.batch_decode(ids, skip_special_tokens=True)
    """

    def __init__(self, feature_extractor, tokenizer):
        super().__init__(feature_extractor, tokenizer)

    def __call__(
        self,
        sign: Any = None,
        text: str | list[str] | None = None,
        return_tensors: str | None = None,
        **kwargs,
    ) -> BatchFeature:
        """``sign`` (one sequence or a batch; see the feature extractor) -> ``input_features`` + ``attention_mask``;
        ``text`` (one sentence or a list) -> ``labels`` (padded with -100). At least one of them is needed; keyword
        arguments go to the feature extractor (``padding``, ``pad_to_multiple_of``)."""
        if sign is None and text is None:
            raise SignInputError("CVSLTProcessor needs sign input (sign=...), target text (text=...) or both")
        data: dict[str, Any] = {}
        if sign is not None:
            data.update(self.feature_extractor(sign, **kwargs))
        if text is not None:
            texts = [text] if isinstance(text, str) else list(text)
            if not texts or not all(isinstance(t, str) for t in texts):
                raise SignInputError("text must be a string or a non-empty list of strings")
            if sign is not None and len(texts) != len(data["input_features"]):
                raise SignInputError(
                    f"{len(data['input_features'])} sign sequences but {len(texts)} texts: give one text per sequence"
                )
            encoded = self.tokenizer(texts, padding=True)
            ids = np.asarray(encoded["input_ids"], dtype=np.int64)
            mask = np.asarray(encoded["attention_mask"], dtype=np.int64)
            data["labels"] = np.where(mask == 1, ids, IGNORE_INDEX)
        return BatchFeature(data, tensor_type=return_tensors)

    @property
    def model_input_names(self) -> list[str]:
        return list(self.feature_extractor.model_input_names)
