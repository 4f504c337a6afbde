"""The ``sign-language-translation`` pipeline: sign input -> text with a CV-SLT model.

Input: a pose array ``(T, J, K)`` (for a pose-input model), a feature array ``(T, F)`` (for a feature-input model),
a ``.pose`` / ``.skels`` file path (pose-input models; read with signbridge's readers, so paths need signbridge), or
a list of these (a batch array with a leading batch axis works too). Output: ``{"translation_text": str}`` for one
sequence, a list of them for a batch (a ``.skels`` file with several lines counts as a batch).

With signbridge installed: ``signbridge.pipeline("sign-language-translation", model=folder)``; anywhere (a saved
folder declares the pipeline in ``config.json``'s ``custom_pipelines`` and carries this file)::

    from transformers import pipeline
    translator = pipeline("sign-language-translation", model=folder, trust_remote_code=True)
    translator(poses, num_beams=5, max_new_tokens=40)

Keyword arguments of the call that ``generate`` takes (``num_beams``, ``max_new_tokens``, ``length_penalty``, ...)
go to ``generate``. This file imports only numpy, transformers and its own folder.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from transformers import Pipeline

from .feature_extraction_cvslt import SignInputError

__all__ = ["SignLanguageTranslationPipeline", "read_sign_file"]

#: keyword arguments of a call passed on to ``generate``
GENERATE_KEYWORDS = (
    "num_beams",
    "max_new_tokens",
    "max_length",
    "min_new_tokens",
    "length_penalty",
    "early_stopping",
    "no_repeat_ngram_size",
    "do_sample",
    "top_k",
    "top_p",
    "temperature",
    "num_return_sequences",
    "generation_config",
)


def read_sign_file(path: str | os.PathLike) -> list[tuple[str, np.ndarray]]:
    """``(name, poses (T, J, K))`` for each sequence of a ``.pose`` or ``.skels`` file, read with signbridge's safe
    readers (``signbridge.data.sign_input.read_sign_file``); a clear error where signbridge is not installed."""
    try:
        from signbridge.data.sign_input import read_sign_file as reader
    except ImportError:
        raise SignInputError(
            f"reading {os.fspath(path)!r} needs signbridge (pip install signbridge): pass the poses as an array "
            "(frames, joints, coordinates) instead"
        ) from None
    return reader(path)


def _is_path(value: Any) -> bool:
    return isinstance(value, (str, os.PathLike))


class SignLanguageTranslationPipeline(Pipeline):
    """Sign poses or features -> text with a CV-SLT model, its feature extractor and tokenizer (see the module)."""

    _load_processor = False
    _load_image_processor = False
    _load_video_processor = False
    _load_feature_extractor = True
    _load_tokenizer = True

    def _sanitize_parameters(self, **kwargs):
        unknown = sorted(set(kwargs) - set(GENERATE_KEYWORDS))
        if unknown:
            raise TypeError(
                f"sign-language-translation: unknown arguments {unknown}; generate() arguments are "
                f"{list(GENERATE_KEYWORDS)}"
            )
        return {}, dict(kwargs), {}

    def _expand(self, inputs: Any) -> tuple[list[Any], bool]:
        """The sequences of ``inputs`` and whether it was a single sequence."""
        listed = isinstance(inputs, (list, tuple)) and _depth(inputs) != self.feature_extractor._sequence_ndim
        items = list(inputs) if listed else None
        if items is None and not _is_path(inputs):
            array = inputs.detach().cpu().numpy() if hasattr(inputs, "detach") else np.asarray(inputs)
            batched = array.ndim == self.feature_extractor._sequence_ndim + 1
            return (list(array) if batched else [array]), not batched
        single = items is None
        sequences: list[Any] = []
        for item in [inputs] if single else items:
            if _is_path(item):
                found = [poses for _, poses in read_sign_file(item)]
                single = single and len(found) == 1
                sequences.extend(found)
            else:
                sequences.append(item)
        if not sequences:
            raise SignInputError("no sign sequences given")
        return sequences, single

    def __call__(self, inputs, **kwargs):
        """Translate one sequence (-> ``{"translation_text": ...}``) or several (-> a list of them)."""
        sequences, single = self._expand(inputs)
        results = super().__call__(sequences, **kwargs)
        return results[0] if single else results

    def preprocess(self, sequence):
        return dict(self.feature_extractor(sequence, return_tensors="pt"))

    def _forward(self, model_inputs, **generate_kwargs):
        return {"ids": self.model.generate(**model_inputs, **generate_kwargs)}

    def postprocess(self, model_outputs):
        ids = model_outputs["ids"]
        texts = self.tokenizer.batch_decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        return {"translation_text": " ".join(texts[0].split())}


def _depth(value: Any) -> int:
    """Dimensions of nested lists (and the arrays at their bottom): 3 for one pose sequence as lists, 4 for a list of
    ``(T, J, K)`` arrays."""
    depth = 0
    while isinstance(value, (list, tuple)) and value:
        depth += 1
        value = value[0]
    return depth + int(getattr(value, "ndim", 0))
