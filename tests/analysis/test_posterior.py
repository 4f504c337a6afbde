"""Decoding from CV-SLT's posterior path (signbridge.analysis.posterior)."""

from __future__ import annotations

import pytest
import torch
from test_modality import batch, tiny_model
from transformers.models.mbart.modeling_mbart import shift_tokens_right

from signbridge.analysis import posterior_encoder_outputs, posterior_generate


def test_posterior_encoder_output_gives_the_forward_posterior_logits():
    model = tiny_model()
    inputs = batch()
    with torch.no_grad():
        out = model(**inputs)  # eval mode: z = the posterior mean
        encoder_outputs = posterior_encoder_outputs(model, **inputs)
        decoded = model(
            encoder_outputs=encoder_outputs,
            attention_mask=inputs["attention_mask"],
            decoder_input_ids=shift_tokens_right(inputs["labels"], model.config.pad_token_id),
        )
    torch.testing.assert_close(decoded.logits, out.posterior_logits, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(decoded.logits, out.logits)  # the prior path's differ


def test_posterior_generate_and_plain_model_refused():
    model = tiny_model()
    inputs = batch()
    ids = posterior_generate(model, **inputs, num_beams=2, max_length=6)
    assert ids.shape[0] == 3 and ids.shape[1] <= 6
    with pytest.raises(ValueError, match="use_latent=False"):
        posterior_encoder_outputs(tiny_model(use_latent=False), **inputs)
