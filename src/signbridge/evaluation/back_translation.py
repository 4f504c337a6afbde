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
    """A pose-input CV-SLT model with the tokenizer and pose normaliser it was trained with.

    ``translate(poses)`` keeps every ``frame_stride``-th frame (as the training input did), normalises
    each ``(T, J, K)`` sequence like the training input, flattens it to ``(T, J*K)`` and decodes with
    beam search (prior path, ``z* = mu``). ``from_pretrained`` reads the stride from
    ``backtranslation.json`` beside the model when there is one.
    """

    model: Any
    tokenizer: Any
    normalizer: Any = None
    num_beams: int = 5
    max_new_tokens: int = 40
    batch_size: int = 32
    frame_stride: int = 1

    def __post_init__(self):
        if int(self.frame_stride) < 1:
            raise ValueError(f"BackTranslator.frame_stride must be >= 1, got {self.frame_stride}")

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, **kwargs) -> BackTranslator:
        """Load ``model``, tokenizer and ``pose_normalizer.json`` from a folder saved by ``train_cvslt``."""
        from transformers import AutoTokenizer

        from signbridge.data.normalization import load_pose_normalizer
        from signbridge.models.cvslt import CVSLTForConditionalGeneration

        path = Path(path)
        model = CVSLTForConditionalGeneration.from_pretrained(path)
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
        from signbridge.data.collators import poses_to_features
        from signbridge.evaluation.translation import decode_sequences

        self.model.eval()
        expected = getattr(self.model.config, "feature_dim", None)
        hyps: list[str] = []
        device = next(self.model.parameters()).device
        for begin in tqdm(
            range(0, len(sequences), self.batch_size), desc=desc, disable=not progress, leave=False
        ):
            feats = [
                poses_to_features(np.asarray(s)[:: self.frame_stride], self.normalizer)
                for s in sequences[begin : begin + self.batch_size]
            ]
            if expected is not None and feats[0].shape[-1] != expected:
                raise ValueError(
                    f"the back-translator expects {expected} values per frame, the poses give {feats[0].shape[-1]}"
                )
            longest = max(len(f) for f in feats)
            x = torch.zeros(len(feats), longest, feats[0].shape[-1])
            mask = torch.zeros(len(feats), longest, dtype=torch.long)
            for i, f in enumerate(feats):
                x[i, : len(f)] = torch.from_numpy(f)
                mask[i, : len(f)] = 1
            ids = self.model.generate(
                input_features=x.to(device),
                attention_mask=mask.to(device),
                num_beams=self.num_beams,
                max_new_tokens=self.max_new_tokens,
            )
            hyps.extend(decode_sequences(self.tokenizer, ids.cpu().numpy()))
        return hyps


__all__ = ["BACKTRANSLATION_FILE", "BackTranslator"]
