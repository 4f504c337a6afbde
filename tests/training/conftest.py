"""Fixtures of the training tests (helpers live in cvslt_training_helpers.py)."""

import pytest
from cvslt_training_helpers import make_tokenizer


@pytest.fixture
def tokenizer():
    return make_tokenizer()
