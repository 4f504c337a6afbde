"""Fixtures of the evaluation tests: the tiny NAR-SLP pipeline parts (tests/nar_fixtures.py)."""

from nar_fixtures import corpus, tae, tokenizer, vae  # noqa: F401  (fixtures)
