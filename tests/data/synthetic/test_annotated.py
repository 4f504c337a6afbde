"""Synthesised sign signals for real annotations (signbridge.data.synthetic.annotated)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from signbridge.data.synthetic import (
    SyntheticCorpusConfig,
    read_annotated_corpus,
    signer_body,
    synthesize_annotated,
)
from signbridge.data.synthetic.annotated import _stretch

RECORDS = [
    {
        "name": "dev/a",
        "signer": "Signer01",
        "gloss": "MORGEN REGEN",
        "text": "morgen regnet es .",
        "num_frames": 37,
    },
    {"name": "dev/b", "signer": "Signer05", "gloss": "SONNE", "text": "die sonne scheint .", "num_frames": 9},
    {"name": "dev/c", "signer": "Signer01", "gloss": "", "text": "leer .", "num_frames": 5},
]


def test_stretch_is_linear_interpolation_in_time():
    params = np.array([[0.0, 10.0], [2.0, 10.0]])
    np.testing.assert_allclose(_stretch(params, 3), [[0.0, 10.0], [1.0, 10.0], [2.0, 10.0]])
    np.testing.assert_allclose(_stretch(np.array([[0.0], [3.0], [6.0], [9.0]]), 2), [[0.0], [9.0]])
    np.testing.assert_allclose(_stretch(np.array([[4.0]]), 3), [[4.0], [4.0], [4.0]])


def test_real_annotation_kept_and_signal_shaped():
    config = SyntheticCorpusConfig(feature_dim=40)
    out = list(synthesize_annotated(RECORDS, "dev", config))
    assert len(out) == 3
    for record, example in zip(RECORDS, out, strict=True):
        for key in ("name", "signer", "gloss", "text", "num_frames"):
            assert example[key] == record[key]
        t = record["num_frames"]
        assert example["poses"].shape == (t, 50, 3) and example["poses"].dtype == np.float32
        assert example["features"].shape == (math.ceil(t / 4), 40)
        assert np.isfinite(example["poses"]).all() and np.isfinite(example["features"]).all()
        assert np.all(example["poses"][:, 1] == 0.0)  # the neck is the origin


def test_deterministic_per_seed_and_seed_matters():
    first = list(synthesize_annotated(RECORDS, "dev", SyntheticCorpusConfig(seed=3)))
    again = list(synthesize_annotated(RECORDS, "dev", SyntheticCorpusConfig(seed=3)))
    other = list(synthesize_annotated(RECORDS, "dev", SyntheticCorpusConfig(seed=4)))
    for a, b, c in zip(first, again, other, strict=True):
        np.testing.assert_array_equal(a["poses"], b["poses"])
        np.testing.assert_array_equal(a["features"], b["features"])
        assert not np.array_equal(a["poses"], c["poses"])
    # a sample depends on its own name, not on its neighbours
    alone = next(synthesize_annotated(RECORDS[1:2], "dev", SyntheticCorpusConfig(seed=3)))
    np.testing.assert_array_equal(alone["poses"], first[1]["poses"])


def test_glosses_drive_the_signal_and_signers_their_bodies():
    config = SyntheticCorpusConfig(pose_noise=0.0, angle_noise=0.0, feature_noise=0.0)
    base = dict(RECORDS[0])
    a = next(synthesize_annotated([base], "dev", config))
    b = next(synthesize_annotated([{**base, "gloss": "SONNE WIND"}], "dev", config))
    assert np.abs(a["poses"] - b["poses"]).max() > 0.05
    assert signer_body("Signer01", config) == signer_body("Signer01", config)
    assert signer_body("Signer01", config) != signer_body("Signer02", config)


def test_bad_records_are_refused_clearly():
    with pytest.raises(ValueError, match="num_frames must be an integer >= 1"):
        list(synthesize_annotated([{**RECORDS[0], "num_frames": 0}], "dev"))
    with pytest.raises(ValueError, match="has no 'gloss'"):
        list(synthesize_annotated([{k: v for k, v in RECORDS[0].items() if k != "gloss"}], "dev"))
    with pytest.raises(ValueError, match="unknown split"):
        list(synthesize_annotated(RECORDS, "valid"))


def test_read_annotated_corpus_on_phoenix(phoenix_dir):
    corpus = read_annotated_corpus(
        phoenix_dir, "phoenix-2014t_cleaned", SyntheticCorpusConfig(feature_dim=8), 3
    )
    assert {k: len(v) for k, v in corpus.items()} == {"train": 3, "dev": 3, "test": 3}
    assert corpus["dev"][0]["text"].endswith(" .")
