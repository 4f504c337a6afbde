"""Decoding with CV-SLT's posterior path: translation when the reference text is seen (the paper's Fig. 3).

At inference CV-SLT decodes from the prior path (sign only, z = the prior mean). The paper's Fig. 3
also reports the BLEU-4 of the *posterior* path, which encodes ``[sign; text]`` and draws z from
q(z | x, y): an upper bound showing how much the text knowledge helps, and how close self-distillation
brings the prior to it. :func:`posterior_encoder_outputs` builds that path's encoder output exactly as
the model's ``forward`` does in eval mode (z = the posterior mean); :func:`posterior_generate` decodes
from it with ``generate()``.
"""

from __future__ import annotations

import torch
from transformers.modeling_outputs import BaseModelOutput

__all__ = ["posterior_encoder_outputs", "posterior_generate"]


@torch.no_grad()
def posterior_encoder_outputs(
    model, input_features: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor
) -> BaseModelOutput:
    """The posterior path's encoder output (B, T + appended tokens, d): the sign part of the joint encoding of
    ``[sign; text]`` with z = the posterior mean returned to it.

    ``labels`` are the targets as the collator makes them ("tokens </s> lang_code", ``-100`` padding); the
    text the posterior sees is what the model's training sees (``_training_targets``).
    """
    if model.latent_network is None:
        raise ValueError("the posterior path needs the latent network; this model has use_latent=False")
    was_training = model.training
    model.eval()
    try:
        sign_embeds, sign_mask = model._sign_embeddings(input_features, None, attention_mask)
        encoder = model.model.encoder
        prior_hidden = encoder(inputs_embeds=sign_embeds, attention_mask=sign_mask.long()).last_hidden_state
        prior_mu, prior_logvar = model.latent_network.prior(prior_hidden, sign_mask)
        targets = model._training_targets(labels)
        text_mask = targets != -100
        text_embeds = model.model.shared(targets.masked_fill(~text_mask, model.config.pad_token_id))
        packed, packed_mask, text_index = model._pack(sign_embeds, sign_mask, text_embeds, text_mask)
        joint = encoder(inputs_embeds=packed, attention_mask=packed_mask.long()).last_hidden_state
        sign_part = joint[:, : sign_embeds.shape[1]]
        joint = torch.cat([joint, joint.new_zeros(joint.shape[0], 1, joint.shape[2])], 1)
        text_part = joint.gather(1, text_index.unsqueeze(-1).expand(-1, -1, joint.shape[2]))
        posterior_mu, _ = model.latent_network.posterior(
            sign_part, text_part, text_mask, prior_mu, prior_logvar
        )
        hidden = model.latent_network.fuse(sign_part, posterior_mu)
    finally:
        model.train(was_training)
    return BaseModelOutput(last_hidden_state=hidden)


@torch.no_grad()
def posterior_generate(model, input_features, attention_mask, labels, **generate_kwargs) -> torch.Tensor:
    """Generated ids (``model.generate``) decoding from the posterior path instead of the prior path."""
    encoder_outputs = posterior_encoder_outputs(model, input_features, attention_mask, labels)
    return model.generate(encoder_outputs=encoder_outputs, attention_mask=attention_mask, **generate_kwargs)
