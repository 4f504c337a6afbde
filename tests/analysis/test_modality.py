"""The modality gap (signbridge.analysis.modality): hand computations on tiny tensors and a tiny model."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from signbridge.analysis import (
    ModalityGapCallback,
    modality_gap,
    plot_modality_projection,
    pooled_distances,
    project_2d,
    sentence_representations,
)
from signbridge.models.cvslt import CVSLTConfig, CVSLTForConditionalGeneration

LABELS = torch.tensor([[7, 8, 9, 10, 2, 5], [11, 12, 2, 5, -100, -100], [13, 14, 15, 2, 5, -100]])
SIGN_LENGTHS = (7, 5, 3)


def tiny_model(use_latent: bool = True, seed: int = 0) -> CVSLTForConditionalGeneration:
    torch.manual_seed(seed)
    config = CVSLTConfig(
        vocab_size=40,
        d_model=16,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=48,
        feature_dim=12,
        visual_hidden_size=8,
        visual_ffn_dim=16,
        max_sign_positions=30,
        latent_dim=4,
        tgt_lang_code_id=5,
        scale_embedding=True,
        init_std=0.2,
        use_latent=use_latent,
    )
    return CVSLTForConditionalGeneration(config).eval()


def batch() -> dict:
    gen = torch.Generator().manual_seed(1)
    features = torch.randn(3, 7, 12, generator=gen)
    mask = torch.zeros(3, 7, dtype=torch.long)
    for row, length in enumerate(SIGN_LENGTHS):
        mask[row, :length] = 1
    return {"input_features": features * mask.unsqueeze(-1), "attention_mask": mask, "labels": LABELS}


def test_pooled_distance_by_hand():
    sign = np.array([[3.0, 4.0], [1.0, 0.0]])
    text = np.array([[0.0, 1.0], [1.0, 0.0]])
    # unit vectors (0.6, 0.8) and (0, 1): sqrt(0.36 + 0.04); identical directions: 0
    np.testing.assert_allclose(pooled_distances(sign, text), [math.sqrt(0.4), 0.0])
    np.testing.assert_allclose(pooled_distances(sign, text, normalize=False), [math.sqrt(9 + 9), 0.0])
    with pytest.raises(ValueError, match="differ in shape"):
        pooled_distances(sign, text[:1])


def test_sentence_representations_equal_each_sentence_encoded_alone():
    model = tiny_model()
    inputs = batch()
    layers, sign, text = sentence_representations(model, **inputs)
    assert layers == [1, 2] and sign.shape == text.shape == (2, 3, 16)
    encoder = model.model.encoder
    with torch.no_grad():
        for row, length in enumerate(SIGN_LENGTHS):
            # the sign alone, unpadded: mean of the encoder's outputs over its own steps (appended tokens excluded)
            features = inputs["input_features"][row : row + 1, :length]
            embeds, mask = model.embed_sign(features, torch.ones(1, length, dtype=torch.bool))
            hidden = encoder(
                inputs_embeds=embeds, attention_mask=mask.long(), output_hidden_states=True
            ).hidden_states
            words = [t for t in LABELS[row].tolist() if t not in (-100, 2, 5)]
            ids = torch.tensor([[t for t in LABELS[row].tolist() if t != -100]])
            text_hidden = encoder(input_ids=ids, output_hidden_states=True).hidden_states
            for i, layer in enumerate(layers):
                torch.testing.assert_close(
                    sign[i, row], hidden[layer][0, :length].mean(0), atol=1e-5, rtol=1e-4
                )
                torch.testing.assert_close(
                    text[i, row], text_hidden[layer][0, : len(words)].mean(0), atol=1e-5, rtol=1e-4
                )


def test_modality_gap_over_batches_and_plain_twin():
    inputs = batch()
    halves = [{k: v[:2] for k, v in inputs.items()}, {k: v[2:] for k, v in inputs.items()}]
    for use_latent in (True, False):
        model = tiny_model(use_latent)
        whole = modality_gap(model, [inputs])
        split = modality_gap(model, halves)
        np.testing.assert_allclose(whole.distances, split.distances, atol=1e-5)
        expected = pooled_distances(whole.sign, whole.text)
        np.testing.assert_allclose(whole.distances, expected)
        assert set(whole.per_layer) == {1, 2} and 0.0 <= whole.gap <= 2.0
        assert whole.gap == pytest.approx(float(whole.distances[-1].mean()))
    only_last = modality_gap(model, [inputs], layers=[2])
    assert only_last.layers == [2]
    np.testing.assert_allclose(only_last.distances[0], whole.distances[1], atol=1e-6)


def test_bad_input_is_refused():
    model = tiny_model()
    inputs = batch()
    with pytest.raises(ValueError, match="layers must lie in 1..2"):
        modality_gap(model, [inputs], layers=[3])
    with pytest.raises(ValueError, match="at least one batch"):
        modality_gap(model, [])
    with pytest.raises(ValueError, match="needs 'labels'"):
        modality_gap(model, [{k: v for k, v in inputs.items() if k != "labels"}])
    with pytest.raises(ValueError, match="at least one text token"):
        modality_gap(model, [{**inputs, "labels": torch.tensor([[2, 5], [2, 5], [2, 5]])}])


def test_projection_by_hand():
    # points on the line y = 2x: one principal direction, along (1, 2) / sqrt(5); the second coordinate is 0
    sign = np.array([[0.0, 0.0], [1.0, 2.0]])
    text = np.array([[2.0, 4.0], [3.0, 6.0]])
    sign_xy, text_xy = project_2d(sign, text)
    coords = np.concatenate([sign_xy, text_xy])
    np.testing.assert_allclose(coords[:, 0], np.array([-1.5, -0.5, 0.5, 1.5]) * math.sqrt(5), atol=1e-9)
    np.testing.assert_allclose(coords[:, 1], 0.0, atol=1e-9)
    with pytest.raises(ValueError, match="one shape"):
        project_2d(sign, text[:1])


def test_callback_tracks_the_gap_and_plot_is_written(tmp_path):
    pytest.importorskip("matplotlib")
    model = tiny_model()
    callback = ModalityGapCallback(batches=[batch()], every_n_steps=2)
    state = SimpleNamespace(global_step=0, epoch=0.0, log_history=[])
    callback.on_train_begin(None, state, None, model=model)
    state.global_step, state.epoch = 1, 0.5
    callback.on_step_end(None, state, None, model=model)  # not a multiple of 2: nothing
    state.global_step = 2
    callback.on_step_end(None, state, None, model=model)
    callback.on_epoch_end(None, state, None, model=model)  # same step: measured once
    assert [h["step"] for h in callback.history] == [0, 2]
    assert callback.history[0]["gap"] == pytest.approx(modality_gap(model, [batch()]).gap)
    assert [h["modality_gap"] for h in state.log_history] == [h["gap"] for h in callback.history]
    with pytest.raises(ValueError, match="at least one batch"):
        ModalityGapCallback(batches=[])
    # raw examples are collated by the Trainer's training collator when training begins
    from_examples = ModalityGapCallback(examples=["a", "b"])
    loader = SimpleNamespace(collate_fn=lambda rows: batch() if rows == ["a", "b"] else None)
    from_examples.on_train_begin(
        None,
        SimpleNamespace(global_step=0, epoch=0.0, log_history=[]),
        None,
        model=model,
        train_dataloader=loader,
    )
    assert from_examples.history[0]["gap"] == pytest.approx(callback.history[0]["gap"])
    assert from_examples.last is not None and from_examples.last.sign.shape == (2, 3, 16)
    gaps = {"CV-SLT": modality_gap(model, [batch()]), "mBART": modality_gap(tiny_model(False), [batch()])}
    path = plot_modality_projection(gaps, tmp_path / "fig" / "projection.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
