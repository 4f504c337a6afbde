"""Tests of CVSLTForConditionalGeneration with a tiny random model (CPU, a few seconds)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import torch
from torch.distributions import Normal, kl_divergence
from transformers import MBartConfig, MBartForConditionalGeneration

from signbridge.models.cvslt import CVSLTConfig, CVSLTForConditionalGeneration
from signbridge.models.cvslt.modeling_cvslt import gaussian_kl


class CVSLTModelTester:
    """Builds a tiny config, model and batch."""

    batch_size = 3
    seq_length = 7
    feature_dim = 12
    vocab_size = 40
    lang_code_id = 5

    def get_config(self, **overrides) -> CVSLTConfig:
        kwargs = {
            "vocab_size": self.vocab_size,
            "d_model": 16,
            "encoder_layers": 2,
            "decoder_layers": 2,
            "encoder_attention_heads": 2,
            "decoder_attention_heads": 2,
            "encoder_ffn_dim": 32,
            "decoder_ffn_dim": 32,
            "max_position_embeddings": 48,
            "feature_dim": self.feature_dim,
            "visual_hidden_size": 8,
            "visual_ffn_dim": 16,
            "max_sign_positions": 30,
            "latent_dim": 4,
            "tgt_lang_code_id": self.lang_code_id,
            "kl_annealing_steps": 10,
            "scale_embedding": True,
            "init_std": 0.2,
            "dropout": 0.0,
            "visual_dropout": 0.0,
        }
        kwargs.update(overrides)
        return CVSLTConfig(**kwargs)

    def get_model(self, seed: int = 0, **overrides) -> CVSLTForConditionalGeneration:
        torch.manual_seed(seed)
        return CVSLTForConditionalGeneration(self.get_config(**overrides))

    def get_inputs(self, seed: int = 1) -> dict:
        gen = torch.Generator().manual_seed(seed)
        features = torch.randn(self.batch_size, self.seq_length, self.feature_dim, generator=gen)
        mask = torch.ones(self.batch_size, self.seq_length, dtype=torch.long)
        mask[1, 5:] = 0
        mask[2, 3:] = 0
        features = features * mask.unsqueeze(-1)
        labels = torch.tensor(
            [[7, 8, 9, 10, 2, 5], [11, 12, 2, 5, -100, -100], [13, 14, 15, 2, 5, -100]], dtype=torch.long
        )
        return {"input_features": features, "attention_mask": mask, "labels": labels}

    # where get_inputs' labels hold the language code (5), written out by hand rather than found by comparison
    lang_code_positions = ((0, 5), (1, 3), (2, 4))

    def get_targets(self, labels: torch.Tensor) -> torch.Tensor:
        """The training targets of get_inputs' labels under `mask_tgt_lang_code=True` (the default, as the release):
        the language-code positions removed, the rest unchanged."""
        targets = labels.clone()
        for row, column in self.lang_code_positions:
            targets[row, column] = -100
        return targets


TESTER = CVSLTModelTester()


def trained_batch_norm(model, inputs):
    """One train-mode forward so the masked BatchNorm's running statistics are not the identity."""
    model.train()
    with torch.no_grad():
        model(**inputs)
    return model.eval()


# ------------------------------------------------------------------------------------------------ shapes, losses


def test_forward_shapes_and_loss_parts():
    model = TESTER.get_model()
    inputs = TESTER.get_inputs()
    model.set_global_step(5)
    out = model(**inputs)
    batch, length = inputs["labels"].shape
    assert out.logits.shape == (batch, length, TESTER.vocab_size)
    assert out.posterior_logits.shape == (batch, length, TESTER.vocab_size)
    # encoder output carries the appended </s> and language code
    assert out.encoder_last_hidden_state.shape == (batch, TESTER.seq_length + 2, 16)
    assert out.prior_mu.shape == (batch, TESTER.seq_length + 2, 4)
    for name in ("loss", "posterior_ce_loss", "prior_ce_loss", "kl_loss", "sd_loss"):
        value = getattr(out, name)
        assert value.dim() == 0 and torch.isfinite(value), name
    assert out.kl_loss >= 0 and out.sd_loss >= 0
    assert out.annealing_weight.item() == pytest.approx(0.5)
    expected = out.posterior_ce_loss + out.prior_ce_loss + 0.5 * out.kl_loss + 0.5 * 3.0 * out.sd_loss
    torch.testing.assert_close(out.loss, expected)
    out.loss.backward()
    assert model.visual_head.input_proj.weight.grad.abs().sum() > 0
    assert model.latent_network.posterior_proj.weight.grad.abs().sum() > 0


def test_annealing_follows_global_step_not_forward_calls():
    model = TESTER.get_model()
    inputs = TESTER.get_inputs()
    weights = [model(**inputs).annealing_weight.item() for _ in range(3)]
    assert weights == [0.0, 0.0, 0.0]
    model.set_global_step(3)
    assert model(**inputs).annealing_weight.item() == pytest.approx(0.3)
    model.set_global_step(1000)
    assert model(**inputs).annealing_weight.item() == 1.0
    # the step is saved with the weights (see test_annealing_step_survives_save_and_load)
    assert int(model.state_dict()["global_step"]) == 1000


def test_gaussian_kl_matches_torch_distributions():
    gen = torch.Generator().manual_seed(0)
    mu_q, mu_p, lv_q, lv_p = (torch.randn(5, 6, generator=gen) for _ in range(4))
    expected = kl_divergence(Normal(mu_q, (0.5 * lv_q).exp()), Normal(mu_p, (0.5 * lv_p).exp()))
    torch.testing.assert_close(gaussian_kl(mu_q, lv_q, mu_p, lv_p), expected, atol=1e-5, rtol=1e-5)
    # ARGD form of the paper (Eq. 12) with q = N(mu + dmu, sigma^2 dsigma^2)
    dmu, dlv = mu_q - mu_p, lv_q - lv_p
    eq12 = 0.5 * (dmu**2 / lv_p.exp() + dlv.exp() - dlv - 1)
    torch.testing.assert_close(gaussian_kl(mu_q, lv_q, mu_p, lv_p), eq12, atol=1e-5, rtol=1e-5)


def test_model_kl_loss_is_masked_sum_over_steps_and_dims_averaged_over_batch():
    model = trained_batch_norm(TESTER.get_model(), TESTER.get_inputs())
    inputs = TESTER.get_inputs()
    out = model(**inputs)
    kl = kl_divergence(
        Normal(out.posterior_mu, (0.5 * out.posterior_logvar).exp()),
        Normal(out.prior_mu, (0.5 * out.prior_logvar).exp()),
    ).sum(-1)
    lengths = inputs["attention_mask"].sum(1) + 2
    expected = sum(kl[i, : lengths[i]].sum() for i in range(kl.shape[0])) / kl.shape[0]
    torch.testing.assert_close(out.kl_loss, expected, atol=1e-5, rtol=1e-5)
    assert out.kl_loss > 0


def _hand_loss_parts(out, labels, attention_mask, label_smoothing, sd_weight, weight, token_mean=False):
    """The loss parts from the model's outputs alone, in float64, with explicit formulas (not the model's helpers).

    The paper's ELBO (Eq. 2) reduction: CE and SD summed over the valid target tokens, the Gaussian KL over latent dims
    and valid sign steps (the appended </s> and language code included), every term divided by the batch size.
    `token_mean=True`: CE and SD averaged over the valid target tokens instead (the KL unchanged)."""
    valid = labels != -100
    batch = labels.shape[0]
    denominator = valid.sum().double() if token_mean else float(batch)
    vocab = out.logits.shape[-1]

    def smoothed_ce(logits):
        log_probs = logits.double().log_softmax(-1)
        target = labels.masked_fill(~valid, 0)
        nll = -log_probs.gather(-1, target.unsqueeze(-1)).squeeze(-1)
        uniform = -log_probs.sum(-1) / vocab
        per_token = (1 - label_smoothing) * nll + label_smoothing * uniform
        return per_token[valid].sum() / denominator

    mu_q, mu_p = out.posterior_mu.double(), out.prior_mu.double()
    var_q, var_p = out.posterior_logvar.double().exp(), out.prior_logvar.double().exp()
    kl = 0.5 * (var_p.log() - var_q.log() + (var_q + (mu_q - mu_p) ** 2) / var_p - 1)  # (B, S, d_z)
    steps = attention_mask.sum(1) + 2
    step_mask = torch.arange(kl.shape[1])[None, :] < steps[:, None]
    kl_loss = kl.sum(-1)[step_mask].sum() / batch
    log_q, log_p = out.posterior_logits.double().log_softmax(-1), out.logits.double().log_softmax(-1)
    sd_per_token = (log_q.exp() * (log_q - log_p)).sum(-1)
    sd_loss = sd_per_token[valid].sum() / denominator
    parts = {
        "posterior_ce_loss": smoothed_ce(out.posterior_logits),
        "prior_ce_loss": smoothed_ce(out.logits),
        "kl_loss": kl_loss,
        "sd_loss": sd_loss,
    }
    parts["loss"] = (
        parts["posterior_ce_loss"] + parts["prior_ce_loss"] + weight * kl_loss + weight * sd_weight * sd_loss
    )
    return parts


@pytest.mark.parametrize("reduction", ["sentence_sum", "token_mean"])
def test_loss_parts_equal_a_hand_computation(reduction):
    inputs = TESTER.get_inputs()
    lengths = (inputs["labels"] != -100).sum(1)
    assert len(set(lengths.tolist())) == 3  # sentences of different lengths
    overrides = {} if reduction == "sentence_sum" else {"loss_reduction": "token_mean"}
    model = TESTER.get_model(sd_weight=2.5, label_smoothing=0.2, **overrides)
    assert model.config.loss_reduction == reduction  # the paper's reduction is the default
    model.train()
    model.set_global_step(4)  # annealing weight 0.4
    out = model(**inputs)
    expected = _hand_loss_parts(
        out,
        TESTER.get_targets(inputs["labels"]),
        inputs["attention_mask"],
        0.2,
        2.5,
        0.4,
        token_mean=reduction == "token_mean",
    )
    assert out.annealing_weight.item() == pytest.approx(0.4)
    for name, value in expected.items():
        torch.testing.assert_close(getattr(out, name).double(), value, atol=1e-5, rtol=1e-5, msg=name)


def test_sentence_sum_loss_of_a_batch_is_the_mean_of_equal_micro_batches():
    """What gradient accumulation relies on: with the paper's reduction the loss (and gradient) of a batch is the mean
    of those of its equal-sized micro-batches, which the Trainer computes (`accepts_loss_kwargs = False`: each
    micro-batch loss divided by the accumulation steps). Token means of micro-batches with different token counts
    are not the token mean of the batch."""
    inputs = TESTER.get_inputs()
    batch = {k: torch.cat([v, v[:1]]) for k, v in inputs.items()}  # 4 sentences of 6, 4, 5, 6 tokens
    halves = [{k: v[:2] for k, v in batch.items()}, {k: v[2:] for k, v in batch.items()}]
    for reduction, equal in (("sentence_sum", True), ("token_mean", False)):
        model = trained_batch_norm(TESTER.get_model(loss_reduction=reduction), inputs)
        model.set_global_step(5)
        full = model(**batch).loss
        full.backward()
        full_grad = model.visual_head.input_proj.weight.grad.clone()
        model.zero_grad()
        accumulated = 0.0
        for half in halves:
            loss = model(**half).loss / 2
            loss.backward()
            accumulated = accumulated + loss.detach()
        grad = model.visual_head.input_proj.weight.grad
        if equal:
            torch.testing.assert_close(accumulated, full.detach(), atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(grad, full_grad, atol=1e-5, rtol=1e-4)
        else:
            assert not torch.allclose(accumulated, full.detach(), atol=1e-5, rtol=1e-5)


def test_gaussian_kl_near_the_prior_is_nonnegative_and_exact():
    """Posteriors within 1e-4 of the prior: the textbook form loses everything to cancellation (and goes below 0);
    the computed KL must be >= 0 and equal to a float64 reference."""
    gen = torch.Generator().manual_seed(0)
    shape = (64, 64)
    mu_p = torch.randn(shape, generator=gen)
    logvar_p = torch.randn(shape, generator=gen)
    mu_q = mu_p + 1e-4 * (2 * torch.rand(shape, generator=gen) - 1)
    logvar_q = logvar_p + 1e-4 * (2 * torch.rand(shape, generator=gen) - 1)
    kl = gaussian_kl(mu_q, logvar_q, mu_p, logvar_p)
    assert kl.dtype == torch.float32
    assert (kl >= 0).all()
    reference = kl_divergence(
        Normal(mu_q.double(), (0.5 * logvar_q.double()).exp()),
        Normal(mu_p.double(), (0.5 * logvar_p.double()).exp()),
    )
    torch.testing.assert_close(kl.double(), reference, atol=1e-13, rtol=1e-5)
    # identical distributions: exactly 0; far apart ones: the usual value
    assert torch.equal(gaussian_kl(mu_p, logvar_p, mu_p, logvar_p), torch.zeros(shape))
    far = gaussian_kl(mu_p + 3, logvar_p + 5, mu_p, logvar_p)
    reference_far = kl_divergence(
        Normal((mu_p + 3).double(), (0.5 * (logvar_p + 5).double()).exp()),
        Normal(mu_p.double(), (0.5 * logvar_p.double()).exp()),
    )
    torch.testing.assert_close(far.double(), reference_far, atol=1e-6, rtol=1e-5)
    # the model's kl_loss near the prior: g's output zeroed except a tiny bias
    model = TESTER.get_model()
    with torch.no_grad():
        model.latent_network.posterior_proj.weight.zero_()
        model.latent_network.posterior_proj.bias.fill_(3e-5)
    out = model.eval()(**TESTER.get_inputs())
    assert out.kl_loss >= 0
    reference_model = kl_divergence(
        Normal(out.posterior_mu.double(), (0.5 * out.posterior_logvar.double()).exp()),
        Normal(out.prior_mu.double(), (0.5 * out.prior_logvar.double()).exp()),
    )
    steps = TESTER.get_inputs()["attention_mask"].sum(1) + 2
    step_mask = torch.arange(reference_model.shape[1])[None, :] < steps[:, None]
    expected = reference_model.sum(-1)[step_mask].sum() / TESTER.batch_size
    torch.testing.assert_close(out.kl_loss.double(), expected, atol=1e-12, rtol=1e-5)


def test_bf16_model_counts_tokens_exactly():
    """621 valid target tokens: a bf16 count rounds to 620; the token mean must divide by 621."""
    # the language code stays a target here, so that the count is 621
    model = TESTER.get_model(loss_reduction="token_mean", mask_tgt_lang_code=False).to(torch.bfloat16)
    gen = torch.Generator().manual_seed(3)
    batch, length = 27, 23
    features = torch.randn(batch, TESTER.seq_length, TESTER.feature_dim, generator=gen).to(torch.bfloat16)
    labels = torch.randint(6, TESTER.vocab_size, (batch, length), generator=gen)
    labels[:, -2:] = torch.tensor([2, TESTER.lang_code_id])
    assert int((labels != -100).sum()) == 621
    assert int((labels != -100).to(torch.bfloat16).sum()) == 620  # what a bf16 count gives
    model.train()
    model.set_global_step(10)
    with torch.no_grad():
        out = model(input_features=features, labels=labels)
    assert out.logits.dtype == torch.bfloat16
    expected = _hand_loss_parts(
        out,
        labels,
        torch.ones(batch, TESTER.seq_length, dtype=torch.long),
        model.config.label_smoothing,
        model.config.sd_weight,
        1.0,
        token_mean=True,
    )
    for name in ("posterior_ce_loss", "prior_ce_loss", "sd_loss"):
        torch.testing.assert_close(
            getattr(out, name).double(), expected[name], atol=1e-6, rtol=2e-5, msg=name
        )


def test_loss_falls_on_a_fixed_batch():
    model = TESTER.get_model(kl_annealing_steps=0)
    inputs = TESTER.get_inputs()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    losses = []
    for step in range(30):
        model.set_global_step(step)
        loss = model(**inputs).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < 0.6 * losses[0], losses


def test_masked_batch_norm_ignores_padding():
    from signbridge.models.cvslt.modeling_cvslt import CVSLTMaskedBatchNorm1d

    torch.manual_seed(0)
    x = torch.randn(3, 6, 4)
    mask = torch.tensor([[1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4], dtype=torch.bool)
    ours = CVSLTMaskedBatchNorm1d(4)
    reference = torch.nn.BatchNorm1d(4)
    padded = x.clone()
    padded[~mask] = 1e3  # garbage in the padding must not matter
    out = ours(padded, mask)
    expected = reference(x[mask])
    torch.testing.assert_close(out[mask], expected, atol=1e-5, rtol=1e-5)
    assert out[~mask].abs().sum() == 0
    torch.testing.assert_close(ours.running_mean, reference.running_mean)
    torch.testing.assert_close(ours.running_var, reference.running_var)
    ours.eval()
    reference.eval()
    torch.testing.assert_close(ours(padded, mask)[mask], reference(x[mask]), atol=1e-5, rtol=1e-5)


# ------------------------------------------------------------------------------------------------ ablations


def _eval_outputs(**overrides):
    model = trained_batch_norm(TESTER.get_model(**overrides), TESTER.get_inputs())
    model.set_global_step(4)
    with torch.no_grad():
        return model, model(**TESTER.get_inputs())


def test_ablation_no_sd_removes_only_the_sd_term():
    _, full = _eval_outputs()
    _, ablated = _eval_outputs(use_sd=False)
    for name in ("logits", "posterior_logits", "kl_loss", "sd_loss", "prior_ce_loss", "posterior_ce_loss"):
        torch.testing.assert_close(getattr(ablated, name), getattr(full, name), atol=0, rtol=0)
    torch.testing.assert_close(ablated.loss, full.loss - full.annealing_weight * 3.0 * full.sd_loss)
    assert full.sd_loss > 0


def test_ablation_no_aep_removes_only_the_prior_ce_term():
    _, full = _eval_outputs()
    _, ablated = _eval_outputs(use_aep=False)
    for name in ("logits", "posterior_logits", "kl_loss", "sd_loss", "prior_ce_loss"):
        torch.testing.assert_close(getattr(ablated, name), getattr(full, name), atol=0, rtol=0)
    torch.testing.assert_close(ablated.loss, full.loss - full.prior_ce_loss)


def test_ablation_no_argd_models_an_absolute_posterior():
    _, full = _eval_outputs()
    _, ablated = _eval_outputs(use_argd=False)
    # same weights: the prior is untouched, the posterior's parameters are g's output without the prior added
    torch.testing.assert_close(ablated.logits, full.logits, atol=0, rtol=0)
    torch.testing.assert_close(ablated.prior_mu, full.prior_mu, atol=0, rtol=0)
    torch.testing.assert_close(ablated.posterior_mu, full.posterior_mu - full.prior_mu, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(
        ablated.posterior_logvar, full.posterior_logvar - full.prior_logvar, atol=1e-6, rtol=1e-6
    )
    assert not torch.allclose(ablated.kl_loss, full.kl_loss)


def test_ablation_attention_not_shared():
    shared_model, full = _eval_outputs()
    model = TESTER.get_model(share_attention=False)
    extra = set(model.state_dict()) - set(shared_model.state_dict())
    assert extra and all(k.startswith("latent_network.posterior_attention.") for k in extra)
    assert set(shared_model.state_dict()) <= set(model.state_dict())
    # with the shared weights copied into both attentions the model computes what the shared one does
    state = dict(shared_model.state_dict())
    for key, value in shared_model.latent_network.attention.state_dict().items():
        state[f"latent_network.posterior_attention.{key}"] = value
    model.load_state_dict(state)
    model.eval()
    model.set_global_step(4)
    with torch.no_grad():
        same = model(**TESTER.get_inputs())
        torch.testing.assert_close(same.loss, full.loss, atol=1e-6, rtol=1e-6)
        # a different posterior attention changes the posterior only
        model.latent_network.posterior_attention.q_proj.weight.mul_(-1.0)
        changed = model(**TESTER.get_inputs())
    torch.testing.assert_close(changed.logits, full.logits, atol=1e-6, rtol=1e-6)
    assert not torch.allclose(changed.posterior_mu, full.posterior_mu)


def test_symmetric_sd_direction_averages_both_kls():
    _, out = _eval_outputs(sd_direction="symmetric")
    _, forward_kl = _eval_outputs()
    labels = TESTER.get_targets(TESTER.get_inputs()["labels"])
    valid = labels != -100
    q = torch.distributions.Categorical(logits=out.posterior_logits[valid])
    p = torch.distributions.Categorical(logits=out.logits[valid])
    batch = labels.shape[0]  # summed over the valid target tokens, divided by the batch size
    torch.testing.assert_close(
        out.sd_loss, 0.5 * (kl_divergence(q, p) + kl_divergence(p, q)).sum() / batch, atol=1e-5, rtol=1e-5
    )
    torch.testing.assert_close(forward_kl.sd_loss, kl_divergence(q, p).sum() / batch, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("fusion", ["prefix", "postfix"])
def test_latent_fusion_formula(fusion):
    model = TESTER.get_model(latent_fusion=fusion)
    net = model.latent_network
    h, z = torch.randn(2, 3, 16), torch.randn(2, 3, 4)
    ln, proj = net.latent_layer_norm, net.latent_proj
    expected = h + ln(proj(z)) if fusion == "prefix" else ln(h + proj(z))
    torch.testing.assert_close(net.fuse(h, z), expected)


def test_use_latent_false_has_no_latent_network():
    model = TESTER.get_model(use_latent=False)
    assert model.latent_network is None
    assert not any(k.startswith("latent_network") for k in model.state_dict())
    out = model(**TESTER.get_inputs())
    assert out.kl_loss is None and out.posterior_ce_loss is None
    torch.testing.assert_close(out.loss, out.prior_ce_loss)


def test_use_latent_false_equals_mbart_on_inputs_embeds():
    cvslt_cfg = TESTER.get_config()
    mbart_cfg = MBartConfig(
        **{
            k: getattr(cvslt_cfg, k)
            for k in (
                "vocab_size",
                "d_model",
                "encoder_layers",
                "decoder_layers",
                "encoder_attention_heads",
                "decoder_attention_heads",
                "encoder_ffn_dim",
                "decoder_ffn_dim",
                "max_position_embeddings",
                "scale_embedding",
                "init_std",
            )
        },
        decoder_start_token_id=TESTER.lang_code_id,
    )
    torch.manual_seed(0)
    mbart = MBartForConditionalGeneration(mbart_cfg).eval()
    with torch.no_grad():
        mbart.final_logits_bias.normal_()
    model = CVSLTForConditionalGeneration.from_mbart(
        mbart,
        use_latent=False,
        feature_dim=TESTER.feature_dim,
        visual_hidden_size=8,
        visual_ffn_dim=16,
        max_sign_positions=30,
        label_smoothing=0.2,
        mask_tgt_lang_code=False,  # mBART's loss keeps the language code
    ).eval()
    inputs = TESTER.get_inputs()
    embeds = torch.randn(3, 9, 16)
    mask = torch.ones(3, 9, dtype=torch.long)
    mask[1, 6:] = 0
    labels = inputs["labels"]
    with torch.no_grad():
        ref = mbart(inputs_embeds=embeds, attention_mask=mask, labels=labels)
        ours = model(inputs_embeds=embeds, attention_mask=mask, labels=labels)
    ref_loss = torch.nn.CrossEntropyLoss(label_smoothing=0.2)(ref.logits.view(-1, 40), labels.view(-1))
    torch.testing.assert_close(ours.logits, ref.logits, atol=1e-6, rtol=0)
    # the paper's reduction (default): summed over the target tokens, divided by the batch size
    ref_sum = torch.nn.CrossEntropyLoss(label_smoothing=0.2, reduction="sum")(
        ref.logits.view(-1, 40), labels.view(-1)
    )
    torch.testing.assert_close(ours.loss, ref_sum / labels.shape[0], atol=1e-5, rtol=0)
    # the token mean is mBART's own (label-smoothed) loss
    model.config.loss_reduction = "token_mean"
    with torch.no_grad():
        ours = model(inputs_embeds=embeds, attention_mask=mask, labels=labels)
    torch.testing.assert_close(ours.loss, ref_loss, atol=1e-6, rtol=0)
    torch.testing.assert_close(
        ours.encoder_last_hidden_state, ref.encoder_last_hidden_state, atol=1e-6, rtol=0
    )


def test_from_mbart_copies_every_mbart_weight():
    torch.manual_seed(0)
    mbart = MBartForConditionalGeneration(
        MBartConfig(
            vocab_size=40,
            d_model=16,
            encoder_layers=1,
            decoder_layers=1,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=32,
            decoder_ffn_dim=32,
            max_position_embeddings=48,
        )
    )
    model = CVSLTForConditionalGeneration.from_mbart(
        mbart, feature_dim=12, visual_hidden_size=8, visual_ffn_dim=16, max_sign_positions=30, latent_dim=4
    )
    theirs = mbart.state_dict()
    for key, value in model.state_dict().items():
        if key.startswith(("visual_head.", "latent_network.")):
            assert key not in theirs
        elif key == "global_step":  # CV-SLT's annealing step starts at 0
            assert key not in theirs and int(value) == 0
        else:
            assert torch.equal(value, theirs[key]), key
    assert model.lm_head.weight.data_ptr() == model.model.shared.weight.data_ptr()


def test_resize_token_embeddings_resizes_bias_and_keeps_tying():
    model = TESTER.get_model()
    model.resize_token_embeddings(45)
    assert model.config.vocab_size == 45
    assert model.final_logits_bias.shape == (1, 45)
    assert model.lm_head.weight.shape == (45, 16)
    assert model.lm_head.weight.data_ptr() == model.model.shared.weight.data_ptr()
    assert model(**TESTER.get_inputs()).logits.shape[-1] == 45


# ------------------------------------------------------------------------------------------------ generation


def test_generation_ignores_labels_and_is_deterministic():
    model = trained_batch_norm(TESTER.get_model(), TESTER.get_inputs())
    inputs = TESTER.get_inputs()
    kwargs = {
        "input_features": inputs["input_features"],
        "attention_mask": inputs["attention_mask"],
        "num_beams": 3,
        "max_new_tokens": 6,
    }
    first = model.generate(**kwargs)
    assert torch.equal(first, model.generate(**kwargs))
    assert torch.equal(first, model.generate(**kwargs, labels=inputs["labels"]))
    assert first[:, 0].eq(TESTER.lang_code_id).all()  # decoder starts with the target language code
    # the encoder generate() uses is the prior path with z* = mu, whatever else it is passed
    encoded = model.get_encoder()(
        input_features=inputs["input_features"],
        attention_mask=inputs["attention_mask"],
        labels=inputs["labels"],
        return_dict=True,
    )
    with torch.no_grad():
        full = model(**inputs)
    torch.testing.assert_close(encoded.last_hidden_state, full.encoder_last_hidden_state, atol=0, rtol=0)
    # greedy decoding with the cache equals greedy decoding without it
    greedy = model.generate(**{**kwargs, "num_beams": 1})
    assert torch.equal(greedy, model.generate(**{**kwargs, "num_beams": 1}, use_cache=False))


@pytest.mark.parametrize("length_penalty", [1.0, 2.0])
def test_beam_score_is_teacher_forced_log_prob_over_length_power(length_penalty):
    model = trained_batch_norm(TESTER.get_model(), TESTER.get_inputs())
    inputs = TESTER.get_inputs()
    gen = model.generate(
        input_features=inputs["input_features"],
        attention_mask=inputs["attention_mask"],
        num_beams=4,
        max_new_tokens=5,
        length_penalty=length_penalty,
        forced_eos_token_id=None,
        output_scores=True,
        return_dict_in_generate=True,
    )
    sequences = gen.sequences
    with torch.no_grad():
        logits = model(
            input_features=inputs["input_features"],
            attention_mask=inputs["attention_mask"],
            decoder_input_ids=sequences[:, :-1],
        ).logits
    token_logp = logits.log_softmax(-1).gather(-1, sequences[:, 1:, None])[..., 0]
    for i in range(sequences.shape[0]):
        generated = sequences[i, 1:].tolist()
        length = generated.index(2) + 1 if 2 in generated else len(generated)
        expected = token_logp[i, :length].sum() / length**length_penalty
        torch.testing.assert_close(gen.sequences_scores[i], expected, atol=1e-4, rtol=1e-4)


def test_padding_does_not_change_any_item():
    model = trained_batch_norm(TESTER.get_model(), TESTER.get_inputs())
    inputs = TESTER.get_inputs()
    with torch.no_grad():
        batched = model(**inputs)
    gen_batched = model.generate(
        input_features=inputs["input_features"],
        attention_mask=inputs["attention_mask"],
        num_beams=3,
        max_new_tokens=6,
    )
    for i in range(TESTER.batch_size):
        t = int(inputs["attention_mask"][i].sum())
        label_len = int((inputs["labels"][i] != -100).sum())
        single = {
            "input_features": inputs["input_features"][i : i + 1, :t],
            "attention_mask": inputs["attention_mask"][i : i + 1, :t],
            "labels": inputs["labels"][i : i + 1, :label_len],
        }
        with torch.no_grad():
            alone = model(**single)
        torch.testing.assert_close(alone.logits[0], batched.logits[i, :label_len], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(
            alone.posterior_logits[0], batched.posterior_logits[i, :label_len], atol=1e-5, rtol=1e-5
        )
        torch.testing.assert_close(alone.prior_mu[0], batched.prior_mu[i, : t + 2], atol=1e-5, rtol=1e-5)
        gen_alone = model.generate(
            input_features=single["input_features"],
            attention_mask=single["attention_mask"],
            num_beams=3,
            max_new_tokens=6,
        )
        n = gen_alone.shape[1]
        assert torch.equal(gen_alone[0], gen_batched[i, :n])
        assert gen_batched[i, n:].eq(model.config.pad_token_id).all()


# ------------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(input_features=torch.randn(3, 7, 11)), "11 values per step, expected 12"),
        (lambda d: d["input_features"].__setitem__((0, 1, 2), float("nan")), "NaN or Inf"),
        (lambda d: d["input_features"].__setitem__((2, 0, 0), float("inf")), "NaN or Inf"),
        (lambda d: d.update(input_features=torch.randn(3, 0, 12), attention_mask=torch.ones(3, 0)), "empty"),
        (lambda d: d["attention_mask"].__setitem__(1, 0), "all zero"),
        (
            lambda d: d.update(input_features=torch.randn(3, 31, 12), attention_mask=torch.ones(3, 31)),
            "31 steps is longer than the model supports \\(30",
        ),
        (lambda d: d["labels"].__setitem__((0, 0), 40), "outside the vocabulary \\[0, 40\\).*40"),
        (lambda d: d["labels"].__setitem__((1, 0), -5), "outside the vocabulary"),
        (lambda d: d.update(inputs_embeds=torch.randn(3, 7, 16)), "exactly one of .*both"),
        (lambda d: d.pop("input_features"), "exactly one of .*neither"),
        (lambda d: d.update(attention_mask=torch.ones(3, 6)), "shape \\(3, 6\\), expected \\(3, 7\\)"),
        (lambda d: d["attention_mask"].__setitem__((0, 0), 0), "prefix"),
        (lambda d: d["labels"].__setitem__(1, -100), "rows \\[1\\] have no target token"),
        # issue 12 item 8
        (
            lambda d: d.update(input_features=torch.randn(0, 7, 12), attention_mask=torch.ones(0, 7)),
            "empty batch",
        ),
        (lambda d: d.update(labels=d["labels"][:2]), "`labels` has 2 rows, the sign input has batch size 3"),
        (lambda d: d.update(labels=torch.zeros(3, 0, dtype=torch.long)), "`labels` is empty"),
        (lambda d: d.update(labels=d["labels"].float()), "integer tensor"),
        (lambda d: d.update(input_features=d["input_features"].long()), "floating-point tensor.*torch.int64"),
        (
            lambda d: d["input_features"].__setitem__((1, 2, 3), 1e38),
            "values up to 1e\\+38 in magnitude \\(batch items \\[1\\]\\).*max_input_magnitude=10000",
        ),
        (lambda d: d["input_features"].__setitem__((0, 0, 0), -2e4), "max_input_magnitude"),
    ],
)
def test_bad_input_raises_clear_errors(mutate, message):
    model = TESTER.get_model()
    inputs = TESTER.get_inputs()
    mutate(inputs)
    with pytest.raises(ValueError, match=message):
        model(**inputs)


def test_bad_config_raises():
    with pytest.raises(ValueError, match="latent_fusion"):
        TESTER.get_config(latent_fusion="middle")
    with pytest.raises(ValueError, match="sd_direction"):
        TESTER.get_config(sd_direction="both")
    with pytest.raises(ValueError, match="max_sign_positions"):
        TESTER.get_config(max_sign_positions=47)
    with pytest.raises(ValueError, match="visual_kernel_size"):
        TESTER.get_config(visual_kernel_size=2)
    with pytest.raises(
        ValueError, match=r"loss_reduction must be one of \('sentence_sum', 'token_mean'\), got 'mean'"
    ):
        TESTER.get_config(loss_reduction="mean")


# ------------------------------------------------------------------------------------------------ save / load


def test_save_load_identical(tmp_path):
    model = trained_batch_norm(TESTER.get_model(), TESTER.get_inputs())
    inputs = TESTER.get_inputs()
    model.save_pretrained(tmp_path)
    reloaded = CVSLTForConditionalGeneration.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        a, b = model(**inputs), reloaded(**inputs)
    for name in ("loss", "logits", "posterior_logits", "kl_loss", "sd_loss"):
        torch.testing.assert_close(getattr(b, name), getattr(a, name), atol=0, rtol=0)
    assert reloaded.lm_head.weight.data_ptr() == reloaded.model.shared.weight.data_ptr()
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "cvslt"
    assert config["auto_map"]["AutoModelForSeq2SeqLM"] == "modeling_cvslt.CVSLTForConditionalGeneration"
    assert (tmp_path / "modeling_cvslt.py").exists() and (tmp_path / "configuration_cvslt.py").exists()


def test_annealing_step_survives_save_and_load(tmp_path):
    model = TESTER.get_model()
    model.set_global_step(7)
    model.save_pretrained(tmp_path)
    reloaded = CVSLTForConditionalGeneration.from_pretrained(tmp_path)
    assert int(reloaded.global_step) == 7
    assert reloaded.annealing_weight == model.annealing_weight == pytest.approx(0.7)
    inputs = TESTER.get_inputs()
    with torch.no_grad():
        assert (
            reloaded.eval()(**inputs).annealing_weight.item()
            == model.eval()(**inputs).annealing_weight.item()
        )


def test_folder_saved_without_the_annealing_step_still_loads(tmp_path):
    from safetensors.torch import load_file, save_file
    from transformers.testing_utils import CaptureLogger
    from transformers.utils import logging as hf_logging

    model = TESTER.get_model()
    model.set_global_step(7)
    model.save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    state = load_file(weights)
    del state["global_step"]  # as saved before the step was persisted
    save_file(state, weights, metadata={"format": "pt"})
    with CaptureLogger(hf_logging.get_logger("transformers.modeling_utils")) as captured:
        reloaded = CVSLTForConditionalGeneration.from_pretrained(tmp_path)
    assert "global_step" not in captured.out
    assert int(reloaded.global_step) == 0 and reloaded.annealing_weight == 0.0
    torch.testing.assert_close(reloaded.lm_head.weight, model.lm_head.weight)


def test_warns_once_when_the_annealing_step_is_never_driven():
    from transformers.testing_utils import CaptureLogger

    from signbridge.models.cvslt import modeling_cvslt

    inputs = TESTER.get_inputs()
    modeling_cvslt.logger.warning_once.cache_clear()
    with CaptureLogger(modeling_cvslt.logger) as captured:
        model = TESTER.get_model().train()
        model(**inputs)
        model(**inputs)
    assert captured.out.count("KL-annealing step was never set") == 1
    modeling_cvslt.logger.warning_once.cache_clear()
    with CaptureLogger(modeling_cvslt.logger) as captured:
        model.eval()(**inputs)  # evaluation: no warning
        TESTER.get_model(kl_annealing_steps=0).train()(**inputs)  # no annealing to drive
        driven = TESTER.get_model().train()
        driven.set_global_step(0)
        driven(**inputs)
    assert captured.out == ""
    modeling_cvslt.logger.warning_once.cache_clear()


_LOAD_SCRIPT = """
import importlib.abc, sys, torch
from transformers import AutoModelForSeq2SeqLM

folder = sys.argv[1]
inputs = torch.load(folder + "/inputs.pt")


def run(model):
    with torch.no_grad():
        logits = model(**inputs).logits
    generated = model.generate(input_features=inputs["input_features"], attention_mask=inputs["attention_mask"],
                               num_beams=3, max_new_tokens=6)
    return {"logits": logits, "generated": generated, "module": type(model).__module__}


# (b) signbridge NOT importable: the folder's own code, through trust_remote_code
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "signbridge" or name.startswith("signbridge."):
            raise ModuleNotFoundError("signbridge is blocked in this test")
        return None


refuse = Refuse()
sys.meta_path.insert(0, refuse)
try:
    import signbridge  # noqa: F401
    raise SystemExit("signbridge should not be importable here")
except ModuleNotFoundError:
    pass
remote = run(AutoModelForSeq2SeqLM.from_pretrained(folder, trust_remote_code=True).eval())
assert not any(name.startswith("signbridge") for name in sys.modules)

# (a) signbridge installed: its Auto class has the signbridge models registered
sys.meta_path.remove(refuse)
from signbridge import AutoModelForSeq2SeqLM
local = run(AutoModelForSeq2SeqLM.from_pretrained(folder).eval())
torch.save({"remote": remote, "local": local}, folder + "/result.pt")
"""


def test_saved_folder_loads_in_fresh_process_with_and_without_signbridge(tmp_path):
    model = trained_batch_norm(TESTER.get_model(), TESTER.get_inputs())
    inputs = TESTER.get_inputs()
    inputs.pop("labels")
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    torch.save(inputs, folder / "inputs.pt")
    with torch.no_grad():
        expected_logits = model(**inputs).logits
    expected_generated = model.generate(**inputs, num_beams=3, max_new_tokens=6)
    env = {
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "HF_MODULES_CACHE": str(tmp_path / "modules"),
        "HF_HOME": str(tmp_path / "hf"),
        "PATH": "/usr/bin:/bin",
    }
    run = subprocess.run(
        [sys.executable, "-c", _LOAD_SCRIPT, str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = torch.load(folder / "result.pt")
    for kind in ("remote", "local"):
        torch.testing.assert_close(result[kind]["logits"], expected_logits, atol=0, rtol=0)
        assert torch.equal(result[kind]["generated"], expected_generated)
    assert result["local"]["module"] == "signbridge.models.cvslt.modeling_cvslt"
    assert not result["remote"]["module"].startswith("signbridge")


# ------------------------------------------------------------------------------------------------ Trainer


def test_seq2seq_trainer_trains_and_predicts_with_generate(tmp_path):
    from transformers import Seq2SeqTrainer, Seq2SeqTrainingArguments

    model = TESTER.get_model()
    inputs = TESTER.get_inputs()
    rows = [{k: v[i] for k, v in inputs.items()} for i in range(TESTER.batch_size)]

    def collate(batch):
        return {k: torch.stack([row[k] for row in batch]) for k in batch[0]}

    args = Seq2SeqTrainingArguments(
        output_dir=str(tmp_path),
        use_cpu=True,
        report_to=[],
        max_steps=2,
        per_device_train_batch_size=2,
        per_device_eval_batch_size=2,
        predict_with_generate=True,
        generation_max_length=8,
        generation_num_beams=2,
        save_strategy="no",
        logging_steps=1,
        learning_rate=1e-3,
    )
    trainer = Seq2SeqTrainer(
        model=model, args=args, train_dataset=rows, eval_dataset=rows, data_collator=collate
    )
    trainer.train()
    prediction = trainer.predict(rows)
    assert prediction.predictions.shape[0] == TESTER.batch_size
    assert (prediction.predictions[:, 0] == TESTER.lang_code_id).all()
    # the Trainer pads predictions to the generation config's max_length; the model generated at most 8 tokens
    tail = prediction.predictions[:, 8:]
    assert ((tail == model.config.pad_token_id) | (tail == -100)).all()
    assert not (prediction.predictions[:, 1:8] == -100).all()
    assert prediction.metrics["test_loss"] > 0


@pytest.mark.parametrize(
    "field, value, kind",
    [
        ("d_model", "128", "an integer"),
        ("encoder_layers", "2", "an integer"),
        ("feature_dim", 12.0, "an integer"),
        ("visual_kernel_size", "3", "an integer"),
        ("tgt_lang_code_id", "5", "an integer"),
        ("max_sign_positions", True, "an integer"),
        ("visual_dropout", "0.1", "a number"),
        ("sd_weight", "3", "a number"),
        ("label_smoothing", [0.2], "a number"),
        ("latent_dropout", "0", "a number"),
    ],
)
def test_config_refuses_a_non_number_naming_the_field(field, value, kind):
    with pytest.raises(
        ValueError, match=rf"CVSLTConfig\.{field} must be {kind}, got {re.escape(repr(value))}"
    ):
        TESTER.get_config(**{field: value})


def test_config_number_fields_accept_ints_for_floats_and_saved_configs_load(tmp_path):
    config = TESTER.get_config(sd_weight=3, label_smoothing=0)
    config.save_pretrained(tmp_path)
    loaded = CVSLTConfig.from_pretrained(tmp_path)
    assert loaded.to_dict() == config.to_dict()


def test_float64_features_are_cast_to_the_model_dtype():
    """numpy's default float64 gives the float32 model's result, in forward and in generate."""
    model = TESTER.get_model().eval()
    inputs = TESTER.get_inputs()
    expected = model(**inputs)
    got = model(**dict(inputs, input_features=inputs["input_features"].double()))
    assert got.logits.dtype == torch.float32
    torch.testing.assert_close(got.loss, expected.loss)
    torch.testing.assert_close(got.logits, expected.logits)
    generated = model.generate(
        input_features=inputs["input_features"].double(),
        attention_mask=inputs["attention_mask"],
        max_new_tokens=3,
    )
    reference = model.generate(
        input_features=inputs["input_features"], attention_mask=inputs["attention_mask"], max_new_tokens=3
    )
    assert torch.equal(generated, reference)


def test_empty_batch_is_refused_in_generate():
    model = TESTER.get_model().eval()
    with pytest.raises(ValueError, match="empty batch"):
        model.generate(
            input_features=torch.randn(0, 7, 12), attention_mask=torch.ones(0, 7), max_new_tokens=3
        )


def test_huge_features_are_refused_and_the_bound_can_be_raised():
    model = TESTER.get_model().eval()
    inputs = TESTER.get_inputs()
    inputs["input_features"][0, 0, 0] = 1e38
    with pytest.raises(ValueError, match="max_input_magnitude"):
        model(**inputs)
    with pytest.raises(ValueError, match="max_input_magnitude"):
        model.generate(input_features=inputs["input_features"], max_new_tokens=2)
    inputs["input_features"][0, 0, 0] = 5e4
    model.max_input_magnitude = None  # the check off: a large but harmless value computes as before
    assert torch.isfinite(model(**inputs).loss)


def test_labels_longer_than_the_positions_are_refused_before_any_decoder_work(monkeypatch):
    model = TESTER.get_model()
    inputs = TESTER.get_inputs()

    def no_encoder(*args, **kwargs):
        raise AssertionError("the encoder ran before the check")

    monkeypatch.setattr(model.model.encoder, "forward", no_encoder)
    monkeypatch.setattr(model.model.decoder, "forward", no_encoder)
    with pytest.raises(ValueError, match="`labels` of 49 tokens are longer than the decoder's 48 positions"):
        model(**dict(inputs, labels=torch.full((3, 49), 7)))
    # 7 sign steps + 2 appended tokens + 40 labels = 49 > 48: the posterior path [x; y] would not fit
    with pytest.raises(ValueError, match=r"Sign plus target \(49 positions.*posterior path"):
        model(**dict(inputs, labels=torch.full((3, 40), 7)))


@pytest.mark.parametrize("num_beams", [1, 3])
def test_generate_from_inputs_embeds_equals_generate_from_features(num_beams):
    """`generate(inputs_embeds=...)` takes the encoder input embeddings `embed_sign` makes (the visual head skipped),
    with their mask, and gives what `generate(input_features=...)` gives, scores included."""
    model = TESTER.get_model().eval()
    inputs = TESTER.get_inputs()
    with torch.no_grad():
        embeds, mask = model.embed_sign(inputs["input_features"], inputs["attention_mask"].bool())
    kwargs = {
        "max_new_tokens": 5,
        "num_beams": num_beams,
        "do_sample": False,
        "return_dict_in_generate": True,
        "output_scores": True,
    }
    reference = model.generate(
        input_features=inputs["input_features"], attention_mask=inputs["attention_mask"], **kwargs
    )
    got = model.generate(inputs_embeds=embeds, attention_mask=mask.long(), **kwargs)
    assert torch.equal(got.sequences, reference.sequences)
    for got_scores, reference_scores in zip(got.scores, reference.scores, strict=True):
        torch.testing.assert_close(got_scores, reference_scores)


def test_generate_refuses_both_input_features_and_inputs_embeds():
    model = TESTER.get_model().eval()
    inputs = TESTER.get_inputs()
    with torch.no_grad():
        embeds, mask = model.embed_sign(inputs["input_features"], inputs["attention_mask"].bool())
    with pytest.raises(ValueError, match="either `input_features`.*or `inputs_embeds`.*not both"):
        model.generate(input_features=inputs["input_features"], inputs_embeds=embeds, max_new_tokens=2)
    with pytest.raises(ValueError, match="not both"):
        model.generate(inputs["input_features"], inputs_embeds=embeds, max_new_tokens=2)
