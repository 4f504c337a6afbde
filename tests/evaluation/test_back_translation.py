"""signbridge.evaluation.back_translation: the pose-input back-translator normalises like its training."""

import numpy as np
import pytest
import torch
from nar_fixtures import tiny_backtranslator

from signbridge.evaluation import back_translation

torch.set_num_threads(1)


def test_back_translator_normalises_like_training(corpus):
    bt = tiny_backtranslator(corpus)
    seq = corpus["dev"][0]["poses"]
    hyp = bt.translate([seq])
    x = torch.from_numpy(np.asarray(bt.normalizer.normalize(seq), dtype=np.float32).reshape(1, len(seq), 150))
    ids = bt.model.generate(
        input_features=x,
        attention_mask=torch.ones(1, len(seq), dtype=torch.long),
        num_beams=1,
        max_new_tokens=5,
    )
    from signbridge.training.trainer import decode_sequences

    assert hyp == decode_sequences(bt.tokenizer, ids.numpy())
    assert len(bt.translate([e["poses"] for e in corpus["dev"][:4]])) == 4  # two batches
    strided = back_translation.BackTranslator(
        model=bt.model,
        tokenizer=bt.tokenizer,
        normalizer=bt.normalizer,
        num_beams=1,
        max_new_tokens=5,
        frame_stride=2,
    )
    assert strided.translate([seq]) == bt.translate([seq[::2]])
    with pytest.raises(ValueError, match="frame_stride"):
        back_translation.BackTranslator(model=bt.model, tokenizer=bt.tokenizer, frame_stride=0)
