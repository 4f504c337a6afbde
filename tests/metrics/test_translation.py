import random
import unicodedata

import pytest
from sacrebleu.metrics import BLEU

from signbridge.metrics import prepare_for_scoring, translation_scores

from ._slrt_text import read_texts


def _lcs(a, b):
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a, 1):
        for j, y in enumerate(b, 1):
            table[i][j] = table[i - 1][j - 1] + 1 if x == y else max(table[i - 1][j], table[i][j - 1])
    return table[-1][-1]


def _rouge_l(hyps, refs, beta=1.0):
    """Independent sentence ROUGE-L F_beta, averaged, x100."""
    total = 0.0
    for hyp, ref in zip(hyps, refs, strict=True):
        h, r = hyp.split(), ref.split()
        lcs = _lcs(h, r)
        if lcs == 0:
            continue
        p, rec = lcs / len(h), lcs / len(r)
        total += (1 + beta**2) * p * rec / (rec + beta**2 * p)
    return 100 * total / len(hyps)


def _sacrebleu(hyps, refs, order):
    bleu = BLEU(max_ngram_order=order, tokenize="none", lowercase=False, effective_order=True)
    return bleu.corpus_score(hyps, [refs]).score


def _perturb(sentences, seed=0):
    rng = random.Random(seed)
    vocab = sorted({w for s in sentences for w in s.split()})
    out = []
    for s in sentences:
        words = s.split()
        choice = rng.random()
        if choice < 0.25 and len(words) > 2:
            del words[rng.randrange(len(words))]
        elif choice < 0.5:
            words[rng.randrange(len(words))] = rng.choice(vocab)
        elif choice < 0.7 and len(words) > 3:
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
        elif choice < 0.8:
            words = words[: max(1, len(words) // 2)]
        out.append(" ".join(words))
    return out


@pytest.fixture
def phoenix_dev(phoenix_dir):
    return read_texts(phoenix_dir / "phoenix-2014t_cleaned.dev")


def test_phoenix_dev_matches_sacrebleu_and_reference_rouge(phoenix_dev):
    refs = phoenix_dev
    assert len(refs) == 519
    hyps = _perturb(refs)
    assert hyps != refs
    scores = translation_scores(hyps, refs)
    for order in range(1, 5):
        assert scores[f"bleu{order}"] == pytest.approx(_sacrebleu(hyps, refs, order), abs=1e-9)
    assert scores["rouge_l"] == pytest.approx(_rouge_l(hyps, refs), abs=1e-9)
    beta12 = translation_scores(hyps, refs, rouge_beta=1.2)
    assert beta12["rouge_l"] == pytest.approx(_rouge_l(hyps, refs, beta=1.2), abs=1e-9)
    assert beta12["rouge_l"] != pytest.approx(scores["rouge_l"], abs=1e-3)
    assert beta12["bleu4"] == scores["bleu4"]
    # cumulative BLEU falls with the order on perturbed text, and nothing is perfect
    assert 0 < scores["bleu4"] < scores["bleu3"] < scores["bleu2"] < scores["bleu1"] < 100
    assert 0 < scores["rouge_l"] < 100


def test_identical_is_100(phoenix_dev):
    scores = translation_scores(phoenix_dev[:50], phoenix_dev[:50])
    assert all(value == pytest.approx(100.0) for value in scores.values())


def test_untokenised_final_period_is_split(phoenix_dev):
    refs = phoenix_dev[:40]
    assert all(r.endswith(" .") for r in refs)
    glued = [r[:-2] + "." for r in refs]  # "... wetter."
    assert translation_scores(glued, refs) == translation_scores(refs, refs)
    assert prepare_for_scoring("morgen regen.") == "morgen regen ."
    assert prepare_for_scoring("z. b.  regen") == "z. b. regen"


def test_umlauts_count_in_rouge():
    # rouge-score's default tokenizer would turn "schön" into "sch n" and "größer" into "gr er":
    # with it the wrong umlaut word would still match partially. Whitespace tokens keep them whole.
    scores = translation_scores(["es wird schön"], ["es wird schon"])
    assert scores["rouge_l"] == pytest.approx(100 * 2 / 3)
    scores = translation_scores(["größer"], ["größer"])
    assert scores["rouge_l"] == pytest.approx(100.0)
    case = translation_scores(["Regen"], ["regen"])  # no lowercasing
    assert case["rouge_l"] == 0.0 and case["bleu1"] == 0.0


@pytest.fixture
def csl_dev(csl_dir):
    return read_texts(csl_dir / "csl-daily.dev")


HALF_WIDTH = str.maketrans({"，": ",", "？": "?", "！": "!"})


def test_csl_char_level_full_width_punctuation(csl_dev):
    refs = csl_dev
    assert len(refs) == 1077
    half = [r.translate(HALF_WIDTH) for r in refs]  # what an mBART decoder emits
    assert sum(h != r for h, r in zip(half, refs, strict=True)) > 500
    fixed = translation_scores(half, refs, level="char")
    # Documented result: after NFKC, half-width "，？！" in the hypotheses score exactly like the
    # full-width references: 100 everywhere ("。" and "、" have no half-width NFKC form and are
    # left as they are on both sides).
    assert all(value == pytest.approx(100.0) for value in fixed.values())
    # Without the normalisation (plain character split, the MMTLB bug) the same hypotheses lose.
    raw_h = [" ".join(h.replace(" ", "")) for h in half]
    raw_r = [" ".join(r.replace(" ", "")) for r in refs]
    assert _sacrebleu(raw_h, raw_r, 4) < 95.0


def test_csl_char_level_matches_sacrebleu(csl_dev):
    refs = csl_dev[:300]
    rng = random.Random(1)
    hyps = []
    for r in refs:
        chars = list(r)
        if len(chars) > 2:
            del chars[rng.randrange(len(chars))]
        hyps.append("".join(chars))
    scores = translation_scores(hyps, refs, level="char")
    norm_h = [" ".join(c for c in unicodedata.normalize("NFKC", h) if not c.isspace()) for h in hyps]
    norm_r = [" ".join(c for c in unicodedata.normalize("NFKC", r) if not c.isspace()) for r in refs]
    for order in range(1, 5):
        assert scores[f"bleu{order}"] == pytest.approx(_sacrebleu(norm_h, norm_r, order), abs=1e-9)
    assert scores["rouge_l"] == pytest.approx(_rouge_l(norm_h, norm_r), abs=1e-9)
    assert 0 < scores["rouge_l"] < 100


def test_char_level_spaces_dropped():
    assert prepare_for_scoring("今天 星期几？", level="char") == "今 天 星 期 几 ?"
    assert translation_scores(["今天 星期几?"], ["今天星期几？"], level="char")["bleu4"] == pytest.approx(100)


@pytest.mark.parametrize(
    "hyps, refs, message",
    [
        ([], [], "non-empty"),
        (["a"], ["a", "b"], "same length"),
        ("abc", ["a"], "single string"),
        ([None], ["a"], r"hypotheses\[0\]"),
    ],
)
def test_bad_input(hyps, refs, message):
    with pytest.raises(ValueError, match=message):
        translation_scores(hyps, refs)


def test_bad_level_and_beta():
    with pytest.raises(ValueError, match="level"):
        translation_scores(["a"], ["a"], level="bpe")
    with pytest.raises(ValueError, match="rouge_beta"):
        translation_scores(["a"], ["a"], rouge_beta=0)
