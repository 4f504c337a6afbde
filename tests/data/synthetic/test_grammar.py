"""The weather-forecast grammar: sign order, vocabulary size, sentence lengths, text given gloss."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from signbridge.data.synthetic import SPLITS
from signbridge.data.synthetic.grammar import sample_sentence


def test_default_corpus_vocabulary_and_lengths(default_text):
    """Word and gloss types counted over the text of the whole default corpus (4000/300/300)."""
    words, glosses, signers = Counter(), Counter(), Counter()
    lengths = []
    for split in SPLITS:
        for e in default_text[split]:
            words.update(e["text"].split())
            glosses.update(e["gloss"].split())
            signers[e["signer"]] += 1
            lengths.append(len(e["text"].split()) - 1)  # without the final "."
    assert sum(signers.values()) == 4600
    assert len(words) >= 300, len(words)
    assert len(glosses) >= 150, len(glosses)
    assert len(signers) >= 5
    assert min(lengths) >= 5 and max(lengths) <= 15


def test_sign_order_example():
    from signbridge.data.synthetic.grammar import PLACE, THEME, TIME, _c, realise, t_precipitation

    chunks = [
        _c("am montag", "MONTAG", TIME),
        _c("regnet es", "REGEN", THEME),
        _c("im norden", "NORDEN", PLACE),
    ]
    assert realise(chunks) == ("am montag regnet es im norden .", "MONTAG NORDEN REGEN")
    # and the grammar itself produces it
    for seed in range(100_000):
        text, gloss = realise(t_precipitation(np.random.default_rng(seed)))
        if text == "am montag regnet es im norden .":
            assert gloss == "MONTAG NORDEN REGEN"
            break
    else:
        pytest.fail("t_precipitation never produced the canonical example")


def test_no_articles_in_glosses(default_text):
    for e in default_text["train"]:
        assert not {"DER", "DIE", "DAS", "DEN", "DEM", "EIN", "EINE"} & set(e["gloss"].split())


def test_gloss_order_differs_from_text_order():
    rng = np.random.default_rng(5)
    differing = 0
    for _ in range(300):
        text, gloss = sample_sentence(rng)
        words = text.split()
        # glosses that spell a word of the text: their order in the text vs in the gloss
        order = [g for g in gloss.split() if g.lower() in words]
        by_text = sorted(order, key=lambda g: words.index(g.lower()))
        differing += order != by_text
    assert differing > 50


def test_text_mostly_determined_by_gloss(default_text):
    groups: dict[str, Counter] = {}
    for e in default_text["train"]:
        groups.setdefault(e["gloss"], Counter())[e["text"]] += 1
    repeated = {g: c for g, c in groups.items() if sum(c.values()) >= 3}
    assert repeated, "some gloss sequences occur several times"
    majority = sum(c.most_common(1)[0][1] for c in repeated.values()) / sum(
        sum(c.values()) for c in repeated.values()
    )
    assert majority > 0.8, majority
