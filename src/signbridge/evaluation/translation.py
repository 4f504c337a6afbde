"""Translation outputs to text and scores: decoding generated ids, and the ``compute_metrics`` of the Trainer.

Used by CV-SLT training (dev scores while training, the final dev/test scores) and by back-translation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from transformers.trainer_utils import EvalPrediction

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


def decode_sequences(
    tokenizer: PreTrainedTokenizerBase, sequences: np.ndarray | torch.Tensor | Sequence
) -> list[str]:
    """Decode generated ids or ``-100``-padded labels to text (special tokens skipped, stripped)."""
    if isinstance(sequences, tuple):
        sequences = sequences[0]
    array = np.asarray(sequences.cpu() if torch.is_tensor(sequences) else sequences)
    if array.ndim != 2:
        raise ValueError(f"decode_sequences: expected a 2-D array of token ids, got shape {array.shape}")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    array = np.where(array < 0, pad_id, array)
    texts = tokenizer.batch_decode(
        array.tolist(), skip_special_tokens=True, clean_up_tokenization_spaces=False
    )
    return [" ".join(t.split()) for t in texts]


def make_translation_compute_metrics(
    tokenizer: PreTrainedTokenizerBase, level: str = "word", postprocess: Callable[[str], str] | None = None
) -> Callable[[EvalPrediction], dict[str, float]]:
    """``compute_metrics`` for ``Seq2SeqTrainer(predict_with_generate=True)``: BLEU-1..4 and ROUGE-L.

    Generated ids and labels are decoded with ``skip_special_tokens=True`` (so the language code and
    ``</s>`` do not count), then scored by :func:`signbridge.metrics.translation_scores` (sacrebleu
    with tokenize "none"; ``level="char"`` for Chinese).

    Args:
        tokenizer: the tokenizer the labels were built with.
        level: ``"word"`` (German, PHOENIX14T) or ``"char"`` (Chinese, CSL-Daily).
        postprocess: optional text clean-up applied to hypotheses and references.
    """
    from signbridge.metrics.translation import translation_scores

    if level not in ("word", "char"):
        raise ValueError(f"level must be 'word' or 'char', got {level!r}")

    def compute_metrics(eval_pred: EvalPrediction) -> dict[str, float]:
        hyps = decode_sequences(tokenizer, eval_pred.predictions)
        refs = decode_sequences(tokenizer, eval_pred.label_ids)
        if postprocess is not None:
            hyps = [postprocess(h) for h in hyps]
            refs = [postprocess(r) for r in refs]
        scores = translation_scores(hyps, refs, level=level)
        out = {k: float(v) for k, v in dict(scores).items() if isinstance(v, (int, float, np.floating))}
        out["gen_len"] = float(np.mean([len(h.split()) for h in hyps])) if hyps else 0.0
        return out

    return compute_metrics


def translate_files(
    inputs: Sequence[str | os.PathLike],
    model_dir: str | os.PathLike,
    batch_size: int = 8,
    num_beams: int = 5,
    max_new_tokens: int = 40,
    progress: bool = True,
) -> list[tuple[str, str]]:
    """``[(name, translation), ...]`` for every sign sequence in ``inputs`` (``.pose`` / ``.skels`` files, folders of
    them, videos with the ``video`` extra), translated by the CV-SLT model saved in ``model_dir`` with its processor
    (beam search, ``batch_size`` sequences at a time). The input files are read first (a bad file fails before the
    model runs); a progress bar runs over the batches when there are several."""
    from signbridge.data.sign_input import find_sign_files, read_sign_file
    from signbridge.evaluation.back_translation import BackTranslator
    from signbridge.models.cvslt import SignPoseFeatureExtractor

    if isinstance(batch_size, bool) or int(batch_size) < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        files.extend(find_sign_files(path) if path.is_dir() else [path])
    sequences = [entry for path in files for entry in read_sign_file(path)]
    translator = BackTranslator.from_pretrained(
        model_dir, num_beams=num_beams, max_new_tokens=max_new_tokens, batch_size=int(batch_size)
    )
    if not isinstance(translator.feature_extractor, SignPoseFeatureExtractor):
        raise ValueError(
            f"{model_dir}: a feature-input translator; translating pose files needs a pose-input one"
        )
    texts = translator.translate(
        [poses for _, poses in sequences], progress=progress and len(sequences) > 1, desc="translating"
    )
    return [(name, text) for (name, _), text in zip(sequences, texts, strict=True)]


__all__ = ["decode_sequences", "make_translation_compute_metrics", "translate_files"]
