"""CVSLTProcessor: feature extractor + tokenizer in one object, saved and loaded with AutoProcessor."""

from __future__ import annotations

import json

import numpy as np
import pytest
from transformers import AutoProcessor

from signbridge.models.cvslt import CVSLTProcessor, SignFeatureExtractor, SignInputError
from signbridge.tokenization import train_corpus_tokenizer

TEXTS = ["am montag regnet es .", "morgen sonne ."]


@pytest.fixture(scope="module")
def processor():
    return CVSLTProcessor(SignFeatureExtractor(feature_size=4), train_corpus_tokenizer(TEXTS))


def test_sign_and_text_make_the_model_input(processor):
    sign = [np.ones((3, 4)), np.zeros((5, 4))]
    batch = processor(sign=sign, text=TEXTS, return_tensors="pt")
    assert set(batch) == {"input_features", "attention_mask", "labels"}
    assert batch["input_features"].shape == (2, 5, 4)
    ids = [processor.tokenizer(t)["input_ids"] for t in TEXTS]  # "tokens </s> de_DE"
    assert batch["labels"][0].tolist() == ids[0]
    assert batch["labels"][1].tolist() == ids[1] + [-100] * (len(ids[0]) - len(ids[1]))
    # batch_decode is the tokenizer's
    assert processor.batch_decode(ids, skip_special_tokens=True) == TEXTS
    assert set(processor(text=TEXTS[0])) == {"labels"}
    assert processor.model_input_names == ["input_features", "attention_mask"]


def test_processor_errors(processor):
    with pytest.raises(SignInputError, match="needs sign input"):
        processor()
    with pytest.raises(SignInputError, match="2 sign sequences but 1 texts"):
        processor(sign=[np.ones((3, 4)), np.ones((2, 4))], text=["eins"])
    with pytest.raises(SignInputError, match="text must be a string"):
        processor(text=[3])


def test_round_trip_with_auto_processor(processor, tmp_path):
    processor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "processor_config.json").read_text())
    assert saved["processor_class"] == "CVSLTProcessor"
    assert saved["auto_map"]["AutoProcessor"] == "processing_cvslt.CVSLTProcessor"
    loaded = AutoProcessor.from_pretrained(tmp_path)
    assert type(loaded) is CVSLTProcessor and type(loaded.feature_extractor) is SignFeatureExtractor
    sign = np.arange(12, dtype=np.float32).reshape(3, 4)
    for key, value in processor(sign=sign, text=TEXTS[0]).items():
        np.testing.assert_array_equal(loaded(sign=sign, text=TEXTS[0])[key], value)
