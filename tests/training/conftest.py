"""Fixtures of the training tests: the tiny NAR-SLP pipeline parts (tests/nar_fixtures.py). The CV-SLT helpers
live in cvslt_training_helpers.py."""

from nar_fixtures import corpus, tae, tokenizer, vae  # noqa: F401  (fixtures)
