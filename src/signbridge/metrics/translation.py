"""Translation scores as the sign language translation papers compute them.

BLEU-1..4 are *cumulative* corpus BLEU scores from sacrebleu (``tokenize="none"``, no lowercasing,
``effective_order=True``); ROUGE-L is the sentence-level ROUGE-L F-measure from rouge-score,
averaged over sentences and multiplied by 100.

Tokenisation choices (documented, tested):

* ``level="word"`` (PHOENIX14T): the references are already lower-cased and tokenised
  (``"... wetter ."``). A hypothesis whose last word carries the sentence punctuation
  (``"... wetter."``) is split to ``"... wetter ."`` so that it is scored like the references.
  The same rule is applied to the references (it leaves tokenised references unchanged).
* ``level="char"`` (CSL-Daily): both sides are NFKC-normalised (this maps full-width punctuation
  such as ``，`` and ``？`` to ``,`` and ``?``, the fix the CV-SLT paper applies to the CSL-Daily
  scores), all whitespace is removed, and every remaining character is one token.
* ROUGE-L uses a whitespace tokenizer, *not* rouge-score's default tokenizer: the default one
  lower-cases and replaces every non ``[a-z0-9]`` character by a space, which deletes German
  umlauts/ß from words (``"schön"`` would become ``"sch n"``) and every Chinese character.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU

__all__ = ["WhitespaceTokenizer", "translation_scores", "prepare_for_scoring"]

_TRAILING_PUNCT = re.compile(r"(?<=\S)([.!?])\s*$")
_LEVELS = ("word", "char")


class WhitespaceTokenizer:
    """A rouge-score tokenizer that splits on whitespace and keeps every token unchanged."""

    def tokenize(self, text: str) -> list[str]:
        return text.split()


def prepare_for_scoring(sentence: str, level: str = "word") -> str:
    """Return ``sentence`` tokenised as :func:`translation_scores` scores it.

    ``level="word"``: whitespace is normalised and a sentence punctuation mark glued to the last
    word is split off (``"wetter."`` -> ``"wetter ."``). ``level="char"``: NFKC normalisation,
    whitespace removed, one space between characters.
    """
    if level == "word":
        return _TRAILING_PUNCT.sub(r" \1", " ".join(sentence.split()))
    if level == "char":
        normalized = unicodedata.normalize("NFKC", sentence)
        return " ".join(ch for ch in normalized if not ch.isspace())
    raise ValueError(f"level must be one of {_LEVELS}, got {level!r}")


def _check_inputs(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    for label, values in (("hypotheses", hypotheses), ("references", references)):
        if isinstance(values, str):
            raise ValueError(f"{label} must be a list of strings, got a single string")
    if len(hypotheses) == 0 or len(references) == 0:
        raise ValueError(
            f"translation_scores needs non-empty lists, got {len(hypotheses)} hypotheses and "
            f"{len(references)} references"
        )
    if len(hypotheses) != len(references):
        raise ValueError(
            f"hypotheses and references must have the same length, got {len(hypotheses)} "
            f"hypotheses and {len(references)} references"
        )
    for label, values in (("hypotheses", hypotheses), ("references", references)):
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise ValueError(f"{label}[{index}] must be a str, got {type(value).__name__}")


def translation_scores(
    hypotheses: Sequence[str], references: Sequence[str], level: str = "word", rouge_beta: float = 1.0
) -> dict[str, float]:
    """Corpus BLEU-1..4 (cumulative) and averaged sentence ROUGE-L F, all on a 0-100 scale.

    Args:
        hypotheses: one translation per sample.
        references: one reference per sample, aligned with ``hypotheses``.
        level: ``"word"`` (tokens are whitespace-separated words; German) or ``"char"``
            (characters after NFKC normalisation; Chinese).
        rouge_beta: the F-measure's beta. 1.0 (default) is rouge-score's ``fmeasure``; the
            signjoey/SLRT evaluation code that PHOENIX14T and CSL-Daily papers report with uses
            the pycocoevalcap ROUGE-L with beta = 1.2 (recall weighted more), which gives
            slightly different numbers: pass ``rouge_beta=1.2`` to compare with them.

    Returns:
        ``{"bleu1", "bleu2", "bleu3", "bleu4", "rouge_l"}``.

    Raises:
        ValueError: empty inputs, different lengths, non-string entries, an unknown level or a
            non-positive ``rouge_beta``.
    """
    if not rouge_beta > 0:
        raise ValueError(f"rouge_beta must be > 0, got {rouge_beta}")
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {_LEVELS}, got {level!r}")
    _check_inputs(hypotheses, references)
    hyps = [prepare_for_scoring(h, level) for h in hypotheses]
    refs = [prepare_for_scoring(r, level) for r in references]

    scores: dict[str, float] = {}
    for order in range(1, 5):
        # force=True only silences sacrebleu's "tokenised period" warning: the text is tokenised
        # on purpose (tokenize="none"); the score is the same.
        bleu = BLEU(max_ngram_order=order, tokenize="none", lowercase=False, effective_order=True, force=True)
        scores[f"bleu{order}"] = float(bleu.corpus_score(hyps, [refs]).score)

    scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=WhitespaceTokenizer())
    beta2 = float(rouge_beta) ** 2
    total = 0.0
    for hyp, ref in zip(hyps, refs, strict=True):
        score = scorer.score(ref, hyp)["rougeL"]
        if rouge_beta == 1.0:
            total += score.fmeasure
        elif score.precision > 0 and score.recall > 0:
            total += (1 + beta2) * score.precision * score.recall / (score.recall + beta2 * score.precision)
    scores["rouge_l"] = 100.0 * total / len(hyps)
    return scores
