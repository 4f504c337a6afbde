"""Parity with the public CV-SLT release (rzhao-zhsq/CV-SLT) where signbridge follows it, checked against hand
computations: dropout on the Gaussian network's attention output, the SLRT visual-head layout (inner pre-LayerNorm,
LayerNorm eps 1e-6) and its weights loaded 1:1, the language code left out of the targets and the posterior text;
and folders saved before these switches existed keep computing what they computed."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F
from test_modeling_cvslt import TESTER, _hand_loss_parts, trained_batch_norm
from transformers import MBartConfig, MBartForConditionalGeneration
from transformers.models.mbart.modeling_mbart import shift_tokens_right

from signbridge.models.cvslt import CVSLTConfig, CVSLTForConditionalGeneration
from signbridge.models.cvslt.convert_slrt import (
    convert_slrt_visual_head_state_dict,
    mmtlb_mbart_state_dict,
    vocab_id_map_from_prune_ids,
)

LEGACY = {
    "visual_pre_layer_norm": False,
    "visual_layer_norm_eps": 1e-5,
    "latent_dropout": 0.0,
    "mask_tgt_lang_code": False,
}


# ------------------------------------------------------------------------------------------------ defaults


def test_new_configs_follow_the_release():
    config = CVSLTConfig(dropout=0.3)
    assert config.visual_pre_layer_norm is True
    assert config.visual_layer_norm_eps == 1e-6
    assert config.latent_dropout is None  # follows `dropout`
    assert config.mask_tgt_lang_code is True
    # a config built from an mBART config dict (as from_mbart does) gets the new defaults too
    mbart_dict = MBartConfig(vocab_size=40, d_model=16, encoder_attention_heads=2).to_dict()
    assert mbart_dict["model_type"] == "mbart"
    from_mbart_dict = CVSLTConfig.from_dict(mbart_dict)
    assert from_mbart_dict.visual_pre_layer_norm and from_mbart_dict.mask_tgt_lang_code
    with pytest.raises(ValueError, match="latent_dropout"):
        TESTER.get_config(latent_dropout=1.0)
    with pytest.raises(ValueError, match="visual_layer_norm_eps"):
        TESTER.get_config(visual_layer_norm_eps=0.0)


def test_folder_saved_before_the_parity_fields_loads_with_its_old_behaviour(tmp_path):
    """A config.json without the new fields (as written before they existed) loads with the values that reproduce
    the old computation, and the model computes exactly what it computed; a new folder keeps the new values."""
    inputs = TESTER.get_inputs()
    old = trained_batch_norm(TESTER.get_model(dropout=0.3, **LEGACY), inputs)
    old.save_pretrained(tmp_path / "old")
    path = tmp_path / "old" / "config.json"
    saved = json.loads(path.read_text())
    for name in LEGACY:
        del saved[name]
    path.write_text(json.dumps(saved))
    reloaded = CVSLTForConditionalGeneration.from_pretrained(tmp_path / "old").eval()
    for name, value in LEGACY.items():
        assert getattr(reloaded.config, name) == value, name
    assert reloaded.visual_head.ffn_pre_layer_norm is None
    assert reloaded.latent_network.dropout.p == 0.0
    with torch.no_grad():
        a, b = old(**inputs), reloaded(**inputs)
    for name in ("loss", "logits", "posterior_logits", "prior_ce_loss", "kl_loss"):
        torch.testing.assert_close(getattr(b, name), getattr(a, name), atol=0, rtol=0)

    new = TESTER.get_model(dropout=0.3)
    new.save_pretrained(tmp_path / "new")
    again = CVSLTForConditionalGeneration.from_pretrained(tmp_path / "new")
    assert again.config.visual_pre_layer_norm and again.config.visual_layer_norm_eps == 1e-6
    assert again.config.mask_tgt_lang_code and again.latent_network.dropout.p == 0.3


# ------------------------------------------------------------------------------------------------ Gaussian network


def _identity_projections(model):
    """f and g as the identity (latent_dim * 2 == d_model), so mu || logvar is the (dropped-out) attention output."""
    net = model.latent_network
    with torch.no_grad():
        for proj in (net.prior_proj, net.posterior_proj):
            proj.weight.copy_(torch.eye(16))
            proj.bias.zero_()
    return net


def _check_dropped_out(out, reference, rate):
    kept = out != 0
    assert 0.25 < 1 - kept.float().mean().item() < 0.75  # about `rate` of the elements dropped
    torch.testing.assert_close(out[kept], reference[kept] / (1 - rate), atol=1e-6, rtol=1e-6)


def test_latent_dropout_acts_on_the_attention_output_in_training_only():
    rate = 0.5
    model = TESTER.get_model(latent_dim=8, latent_dropout=rate, use_argd=False, attention_dropout=0.0)
    net = _identity_projections(model)
    gen = torch.Generator().manual_seed(0)
    hidden, text = torch.randn(2, 6, 16, generator=gen), torch.randn(2, 4, 16, generator=gen)
    mask = torch.tensor([[1] * 6, [1] * 4 + [0] * 2], dtype=torch.bool)
    text_mask = torch.tensor([[1] * 4, [1] * 3 + [0]], dtype=torch.bool)
    with torch.no_grad():
        prior_attended = net.attention(hidden, hidden, mask)
        posterior_attended = net.attention(hidden, text, text_mask)
        net.train()
        prior = torch.cat(net.prior(hidden, mask), -1)
        posterior = torch.cat(net.posterior(hidden, text, text_mask, None, None), -1)
        _check_dropped_out(prior, prior_attended, rate)
        _check_dropped_out(posterior, posterior_attended, rate)
        net.eval()
        torch.testing.assert_close(torch.cat(net.prior(hidden, mask), -1), prior_attended, atol=0, rtol=0)
        torch.testing.assert_close(
            torch.cat(net.posterior(hidden, text, text_mask, None, None), -1),
            posterior_attended,
            atol=0,
            rtol=0,
        )
    # None follows `dropout` (the release's default); 0 leaves the attention output as it is
    assert TESTER.get_model(dropout=0.3).latent_network.dropout.p == 0.3
    legacy = _identity_projections(TESTER.get_model(latent_dim=8, latent_dropout=0.0, dropout=0.3).train())
    with torch.no_grad():
        torch.testing.assert_close(
            torch.cat(legacy.prior(hidden, mask), -1), legacy.attention(hidden, hidden, mask)
        )


# ------------------------------------------------------------------------------------------------ visual head


def _slrt_visual_head_state(config, seed=0):
    """A state dict in the key layout of SLRT's VisualHead inside a Sign2Text checkpoint's model_state (written from
    the release's module names: fc1, bn1.norm (SyncBatchNorm), feedforward.layer_norm, feedforward.pwff_layer.0/.3,
    layer_norm, gloss_output_layer) plus its VL mapper and unrelated parts."""
    gen = torch.Generator().manual_seed(seed)
    f, h, ff, k, d = (
        config.feature_dim,
        config.visual_hidden_size,
        config.visual_ffn_dim,
        config.visual_kernel_size,
        config.d_model,
    )

    def r(*shape, scale=0.3):
        return torch.randn(*shape, generator=gen) * scale

    head = {
        "fc1.weight": r(h, f),
        "fc1.bias": r(h),
        "bn1.norm.weight": 1 + r(h),
        "bn1.norm.bias": r(h),
        "bn1.norm.running_mean": r(h),
        "bn1.norm.running_var": 0.5 + r(h).abs(),
        "bn1.norm.num_batches_tracked": torch.tensor(123),
        "feedforward.layer_norm.weight": 1 + r(h),
        "feedforward.layer_norm.bias": r(h),
        "feedforward.pwff_layer.0.weight": r(ff, h, k),
        "feedforward.pwff_layer.0.bias": r(ff),
        "feedforward.pwff_layer.3.weight": r(h, ff, k),
        "feedforward.pwff_layer.3.bias": r(h),
        "layer_norm.weight": 1 + r(h),
        "layer_norm.bias": r(h),
        "gloss_output_layer.weight": r(11, h),
        "gloss_output_layer.bias": r(11),
    }
    state = {f"recognition_network.visual_head.{key}": value for key, value in head.items()}
    state.update(
        {
            "vl_mapper.mapping.0.weight": r(d, h),
            "vl_mapper.mapping.0.bias": r(d),
            "vl_mapper.mapping.2.weight": r(d, d),
            "vl_mapper.mapping.2.bias": r(d),
            "recognition_network.visual_backbone.some.weight": r(3),
            "translation_network.model.final_logits_bias": r(1, 40),
        }
    )
    return state


def _slrt_reference_forward(state, features):
    """SLRT's visual head in eval mode (no padding) followed by the VL mapper, from the SLRT-keyed tensors:
    fc1 -> BatchNorm (eps 1e-5) -> ReLU -> + sinusoidal PE -> x + conv2(ReLU(conv1(LN_1e-6(x)))) -> LN_1e-6 -> mapper."""
    s = {k.split("visual_head.")[-1] if "visual_head." in k else k: v.double() for k, v in state.items()}
    x = F.linear(features.double(), s["fc1.weight"], s["fc1.bias"])
    x = (x - s["bn1.norm.running_mean"]) / torch.sqrt(s["bn1.norm.running_var"] + 1e-5)
    x = torch.relu(x * s["bn1.norm.weight"] + s["bn1.norm.bias"])
    length, width = x.shape[1], x.shape[2]
    pe = torch.zeros(length, width, dtype=torch.float64)
    for pos in range(length):
        for i in range(0, width, 2):
            angle = pos / 10000 ** (i / width)
            pe[pos, i], pe[pos, i + 1] = math.sin(angle), math.cos(angle)
    x = x + pe
    inner = F.layer_norm(
        x, (width,), s["feedforward.layer_norm.weight"], s["feedforward.layer_norm.bias"], 1e-6
    )
    pad = s["feedforward.pwff_layer.0.weight"].shape[-1] // 2
    inner = torch.relu(
        F.conv1d(
            inner.transpose(1, 2),
            s["feedforward.pwff_layer.0.weight"],
            s["feedforward.pwff_layer.0.bias"],
            padding=pad,
        )
    )
    inner = F.conv1d(
        inner, s["feedforward.pwff_layer.3.weight"], s["feedforward.pwff_layer.3.bias"], padding=pad
    )
    x = F.layer_norm(x + inner.transpose(1, 2), (width,), s["layer_norm.weight"], s["layer_norm.bias"], 1e-6)
    x = torch.relu(F.linear(x, s["vl_mapper.mapping.0.weight"], s["vl_mapper.mapping.0.bias"]))
    return F.linear(x, s["vl_mapper.mapping.2.weight"], s["vl_mapper.mapping.2.bias"])


def test_visual_head_has_the_release_layer_norms():
    head = TESTER.get_model().visual_head
    assert head.ffn_pre_layer_norm.eps == 1e-6 and head.ffn_layer_norm.eps == 1e-6
    legacy = TESTER.get_model(visual_pre_layer_norm=False, visual_layer_norm_eps=1e-5).visual_head
    assert legacy.ffn_pre_layer_norm is None and legacy.ffn_layer_norm.eps == 1e-5


def test_slrt_visual_head_weights_load_one_to_one_and_compute_what_slrt_computes():
    model = TESTER.get_model()
    state = _slrt_visual_head_state(model.config)
    converted = convert_slrt_visual_head_state_dict(state)
    ours = {k for k in model.state_dict() if k.startswith("visual_head.")}
    assert set(converted) == ours  # every visual-head tensor (mapper included) comes from the checkpoint
    missing, unexpected = model.load_state_dict(converted, strict=False)
    assert not unexpected and not any(k.startswith("visual_head.") for k in missing)
    assert int(model.visual_head.batch_norm.num_batches_tracked) == 123
    features = torch.randn(2, 5, TESTER.feature_dim, generator=torch.Generator().manual_seed(4))
    model.eval()
    with torch.no_grad():
        out = model.visual_head(features, torch.ones(2, 5, dtype=torch.bool))
    torch.testing.assert_close(out.double(), _slrt_reference_forward(state, features), atol=1e-5, rtol=1e-5)

    # a Sign2Gloss checkpoint has no mapper: the mapper keeps its initialisation
    s2g = {k: v for k, v in state.items() if not k.startswith("vl_mapper.")}
    assert not any(".mapper." in k for k in convert_slrt_visual_head_state_dict(s2g))
    with pytest.raises(ValueError, match="no VL mapper"):
        convert_slrt_visual_head_state_dict(s2g, with_mapper=True)
    # the visual head's own state dict (no prefix) converts the same way
    bare = {
        k.removeprefix("recognition_network.visual_head."): v for k, v in s2g.items() if "visual_head." in k
    }
    assert convert_slrt_visual_head_state_dict(bare, prefix="").keys() == {
        k.removeprefix("visual_head.") for k in convert_slrt_visual_head_state_dict(s2g)
    }
    # layouts this head cannot hold are refused, naming the keys
    longer = dict(
        state, **{"recognition_network.visual_head.feedforward.pwff_layer.6.weight": torch.zeros(1)}
    )
    with pytest.raises(ValueError, match="pwff_layer.6.weight"):
        convert_slrt_visual_head_state_dict(longer)
    partial = {k: v for k, v in state.items() if "feedforward.layer_norm" not in k}
    with pytest.raises(ValueError, match="feedforward.layer_norm.bias"):
        convert_slrt_visual_head_state_dict(partial)


def test_mmtlb_gloss2text_mbart_loads_through_from_mbart():
    torch.manual_seed(0)
    mbart_config = MBartConfig(
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
    g2t = MBartForConditionalGeneration(mbart_config)
    checkpoint = {f"translation_network.model.{k}": v for k, v in g2t.state_dict().items()}
    checkpoint["translation_network.gloss_embedding.weight"] = torch.zeros(7, 16)
    fresh = MBartForConditionalGeneration(mbart_config)
    fresh.load_state_dict(mmtlb_mbart_state_dict(checkpoint))
    prune_ids = {100 + 3 * i: i for i in range(40)}  # MMTLB's map_ids.pkl: original id -> pruned id
    model = CVSLTForConditionalGeneration.from_mbart(
        fresh,
        feature_dim=12,
        visual_hidden_size=8,
        visual_ffn_dim=16,
        max_sign_positions=30,
        latent_dim=4,
        vocab_id_map=vocab_id_map_from_prune_ids(prune_ids),
    )
    torch.testing.assert_close(model.model.shared.weight, g2t.model.shared.weight, atol=0, rtol=0)
    assert model.map_generated_ids_to_original(torch.tensor([0, 5])).tolist() == [100, 115]
    with pytest.raises(ValueError, match="one-to-one"):
        vocab_id_map_from_prune_ids({1: 0, 2: 0})
    with pytest.raises(ValueError, match="no mBART weights"):
        mmtlb_mbart_state_dict({"recognition_network.visual_head.fc1.weight": torch.zeros(1)})


# ------------------------------------------------------------------------------------------------ language code


def _capture_text_masks(model):
    captured = []
    pack = model._pack

    def recording_pack(sign, sign_mask, text, text_mask):
        captured.append(text_mask.clone())
        return pack(sign, sign_mask, text, text_mask)

    model._pack = recording_pack
    return captured


def test_language_code_is_neither_a_target_nor_posterior_text():
    inputs = TESTER.get_inputs()
    labels = inputs["labels"]
    targets = TESTER.get_targets(labels)  # hand-built: the language-code positions removed
    model = trained_batch_norm(TESTER.get_model(), inputs)
    model.set_global_step(4)
    captured = _capture_text_masks(model)
    with torch.no_grad():
        out = model(**inputs)
    assert torch.equal(captured[-1], targets != -100)
    expected = _hand_loss_parts(
        out, targets, inputs["attention_mask"], model.config.label_smoothing, model.config.sd_weight, 0.4
    )
    for name, value in expected.items():
        torch.testing.assert_close(getattr(out, name).double(), value, atol=1e-5, rtol=1e-5, msg=name)

    # the same weights with the switch off, given the hand-masked labels and mBART's decoder input of the full
    # labels (which starts with the language code), compute exactly the same
    legacy = trained_batch_norm(TESTER.get_model(mask_tgt_lang_code=False), inputs)
    legacy.load_state_dict(model.state_dict())
    legacy.set_global_step(4)
    legacy_captured = _capture_text_masks(legacy)
    with torch.no_grad():
        same = legacy(
            input_features=inputs["input_features"],
            attention_mask=inputs["attention_mask"],
            labels=targets,
            decoder_input_ids=shift_tokens_right(labels, legacy.config.pad_token_id),
        )
        unmasked = legacy(**inputs)
    for name in (
        "loss",
        "logits",
        "posterior_logits",
        "posterior_mu",
        "posterior_logvar",
        "prior_ce_loss",
        "posterior_ce_loss",
        "kl_loss",
        "sd_loss",
    ):
        torch.testing.assert_close(getattr(same, name), getattr(out, name), atol=0, rtol=0, msg=name)
    # switched off, the language code is a target and part of the posterior text
    assert torch.equal(legacy_captured[-1], labels != -100)
    expected = _hand_loss_parts(
        unmasked,
        labels,
        inputs["attention_mask"],
        legacy.config.label_smoothing,
        legacy.config.sd_weight,
        0.4,
    )
    torch.testing.assert_close(
        unmasked.prior_ce_loss.double(), expected["prior_ce_loss"], atol=1e-5, rtol=1e-5
    )
    assert not torch.allclose(unmasked.prior_ce_loss, out.prior_ce_loss)
    # labels with nothing but the language code are refused
    only_lang = labels.clone()
    only_lang[1] = torch.tensor([TESTER.lang_code_id, -100, -100, -100, -100, -100])
    with pytest.raises(ValueError, match=r"rows \[1\] have no target token besides the language code"):
        model(**{**inputs, "labels": only_lang})
