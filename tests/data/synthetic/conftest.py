"""Shared fixtures of the embedded corpus' tests: a small corpus and the text of the default corpus."""

from __future__ import annotations

import pytest

from signbridge.data.synthetic import SPLITS, generate_corpus, iter_split

SMALL = {"train_size": 24, "dev_size": 6, "test_size": 6}


@pytest.fixture(scope="session")
def small_corpus():
    """A 24/6/6 corpus with poses and features (do not modify it)."""
    return generate_corpus(**SMALL)


@pytest.fixture(scope="session")
def default_text():
    """Text, gloss and signer of the whole default corpus (4000/300/300), without motion (fast)."""
    return {split: list(iter_split(split, include_motion=False)) for split in SPLITS}
