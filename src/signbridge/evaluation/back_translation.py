"""Back-translation of produced poses to text with a pose-input CV-SLT model (the NAR-SLP paper's BLEU/ROUGE)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

#: File beside a back-translator's weights recording how its input poses were prepared.
BACKTRANSLATION_FILE = "backtranslation.json"


@dataclass
class BackTranslator:
    """A pose-input CV-SLT model with the tokenizer and the pose feature extractor it was trained with.

    ``translate(poses)`` prepares each ``(T, J, K)`` sequence with the feature extractor (a
    :class:`~signbridge.models.cvslt.SignPoseFeatureExtractor`: every ``frame_stride``-th frame, normalised with the
    training statistics, flattened to ``(T, J*K)``, padded) and decodes with beam search (prior path, ``z* = mu``).
    ``from_pretrained`` reads the processor saved with the model; a folder from before the processors (with
    ``pose_normalizer.json`` and ``backtranslation.json``) still loads, its statistics and stride turned into the
    same feature extractor. Given ``normalizer`` / ``frame_stride`` instead of a ``feature_extractor``, the
    feature extractor is built from them.
    """

    model: Any
    tokenizer: Any
    normalizer: Any = None
    num_beams: int = 5
    max_new_tokens: int = 40
    batch_size: int = 32
    frame_stride: int = 1
    feature_extractor: Any = None

    def __post_init__(self):
        if int(self.frame_stride) < 1:
            raise ValueError(f"BackTranslator.frame_stride must be >= 1, got {self.frame_stride}")
        if self.feature_extractor is None:
            self.feature_extractor = _pose_feature_extractor(
                self.model, self.normalizer, int(self.frame_stride)
            )
        else:  # the feature extractor is the one source of the statistics and the stride
            self.normalizer = self.feature_extractor.normalizer
            self.frame_stride = self.feature_extractor.frame_stride

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, **kwargs) -> BackTranslator:
        """Load the model and its processor from a folder saved by ``train_cvslt`` (or, for an older folder,
        the tokenizer, ``pose_normalizer.json`` and ``backtranslation.json``)."""
        from transformers import AutoProcessor, AutoTokenizer

        from signbridge.data.normalization import load_pose_normalizer
        from signbridge.models.cvslt import CVSLTForConditionalGeneration

        path = Path(path)
        model = CVSLTForConditionalGeneration.from_pretrained(path)
        if (path / "processor_config.json").is_file() or (path / "preprocessor_config.json").is_file():
            processor = AutoProcessor.from_pretrained(path)
            extractor = processor.feature_extractor
            if "frame_stride" in kwargs:
                extractor.frame_stride = int(kwargs.pop("frame_stride"))
            return cls(model=model, tokenizer=processor.tokenizer, feature_extractor=extractor, **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(path)
        settings_file = path / BACKTRANSLATION_FILE
        if settings_file.is_file() and "frame_stride" not in kwargs:
            kwargs["frame_stride"] = int(
                json.loads(settings_file.read_text(encoding="utf-8"))["frame_stride"]
            )
        normalizer = load_pose_normalizer(path)
        return cls(model=model, tokenizer=tokenizer, normalizer=normalizer, **kwargs)

    @torch.no_grad()
    def translate(
        self, sequences: Sequence[np.ndarray], progress: bool = False, desc: str = "back-translating"
    ) -> list[str]:
        from signbridge.evaluation.translation import decode_sequences

        self.model.eval()
        hyps: list[str] = []
        device = next(self.model.parameters()).device
        for begin in tqdm(
            range(0, len(sequences), self.batch_size), desc=desc, disable=not progress, leave=False
        ):
            batch = self.feature_extractor(
                [np.asarray(s) for s in sequences[begin : begin + self.batch_size]], return_tensors="pt"
            )
            ids = self.model.generate(
                input_features=batch["input_features"].to(device),
                attention_mask=batch["attention_mask"].to(device),
                num_beams=self.num_beams,
                max_new_tokens=self.max_new_tokens,
            )
            hyps.extend(decode_sequences(self.tokenizer, ids.cpu().numpy()))
        return hyps


def _pose_feature_extractor(model: Any, normalizer: Any, frame_stride: int):
    """The :class:`SignPoseFeatureExtractor` of a back-translator given its normaliser (the layout is the
    normaliser's, or the 3D skeleton of the model's ``feature_dim``)."""
    from signbridge.models.cvslt import SignPoseFeatureExtractor

    if normalizer is not None:
        joints, dims = normalizer.num_joints, normalizer.num_dims
    else:
        feature_dim = int(getattr(model.config, "feature_dim", 150))
        if feature_dim % 3:
            raise ValueError(f"the back-translator's feature_dim {feature_dim} is not joints x 3 coordinates")
        joints, dims = feature_dim // 3, 3
    expected = getattr(model.config, "feature_dim", None)
    if expected is not None and joints * dims != expected:
        raise ValueError(
            f"the back-translator expects {expected} values per frame, its pose statistics give {joints * dims}"
        )
    return SignPoseFeatureExtractor(
        skeleton="skeleton50" if (joints, dims) == (50, 3) else f"{joints}x{dims}",
        num_joints=joints,
        num_dims=dims,
        normalization=None if normalizer is None else normalizer.to_dict(),
        frame_stride=frame_stride,
    )


__all__ = ["BACKTRANSLATION_FILE", "BackTranslator"]
