"""Translation outputs to text and scores: decoding generated ids, and the ``compute_metrics`` of the Trainer.

Used by CV-SLT training (dev scores while training, the final dev/test scores) and by back-translation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


__all__ = ["decode_sequences", "make_translation_compute_metrics"]
