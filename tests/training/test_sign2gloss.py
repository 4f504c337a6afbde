"""The Sign2Gloss stage (signbridge.training.sign2gloss): gloss CTC on CV-SLT's visual head and encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cvslt_training_helpers import FEATURE_DIM, WORDS, make_tokenizer, tiny_model
from datasets import Dataset, DatasetDict

from signbridge.models.cvslt import SignFeatureExtractor
from signbridge.training.sign2gloss import (
    gloss_vocabulary,
    load_sign_encoder,
    save_sign_encoder,
    sign_encoder_state,
    train_sign2gloss,
)

GLOSSES = [w.upper() for w in WORDS if w != "."]


def gloss_corpus(n: int, seed: int = 0) -> tuple[list[np.ndarray], list[str], list[str]]:
    """Each gloss is 3 feature steps of its own code plus noise: a recogniser can learn it."""
    rng = np.random.default_rng(123)
    codes = {g: rng.normal(size=FEATURE_DIM).astype(np.float32) for g in GLOSSES}
    rng = np.random.default_rng(seed)
    inputs, glosses, texts = [], [], []
    for _ in range(n):
        sentence = list(rng.choice(GLOSSES, size=int(rng.integers(2, 5))))
        steps = [
            codes[g] + 0.1 * rng.normal(size=FEATURE_DIM).astype(np.float32)
            for g in sentence
            for _ in range(3)
        ]
        inputs.append(np.stack(steps))
        glosses.append(" ".join(sentence))
        texts.append(" ".join(g.lower() for g in sentence) + " .")
    return inputs, glosses, texts


def test_gloss_vocabulary_reserves_the_blank():
    vocab = gloss_vocabulary(["B A", "C A"])
    assert vocab == {"A": 1, "B": 2, "C": 3}
    with pytest.raises(ValueError, match="every gloss string is empty"):
        gloss_vocabulary(["", " "])


def test_the_stage_learns_the_glosses_and_leaves_the_text_side_alone():
    model = tiny_model(use_latent=False)
    embeddings = model.model.shared.weight.detach().clone()
    decoder = {k: v.clone() for k, v in model.model.decoder.state_dict().items()}
    inputs, glosses, _ = gloss_corpus(96)
    dev_inputs, dev_glosses, _ = gloss_corpus(24, seed=1)
    out = train_sign2gloss(
        model,
        inputs,
        glosses,
        SignFeatureExtractor(feature_size=FEATURE_DIM),
        epochs=12,
        batch_size=16,
        learning_rate=3e-3,
        warmup_steps=10,
        dev_inputs=dev_inputs,
        dev_glosses=dev_glosses,
        progress=False,
    )
    history = out["history"]
    assert out["steps"] == 72 and out["num_glosses"] == len(GLOSSES) and len(history) == 12
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]
    # greedy CTC gloss WER on unseen sentences: from nonsense (91 %) to mostly right (18 % measured)
    assert history[0]["dev_wer"] > 50 and history[-1]["dev_wer"] < 25
    # the token embeddings (shared with the decoder and the text side) and the decoder are not trained
    assert torch.equal(model.model.shared.weight, embeddings)
    assert all(torch.equal(v, decoder[k]) for k, v in model.model.decoder.state_dict().items())


def test_the_stage_refuses_bad_input():
    model = tiny_model(use_latent=False)
    extractor = SignFeatureExtractor(feature_size=FEATURE_DIM)
    inputs, glosses, _ = gloss_corpus(4)
    with pytest.raises(ValueError, match="4 sign sequences but 3 gloss strings"):
        train_sign2gloss(model, inputs, glosses[:3], extractor, progress=False)
    with pytest.raises(ValueError, match="empty gloss sequence"):
        train_sign2gloss(model, inputs, [*glosses[:3], ""], extractor, progress=False)
    with pytest.raises(ValueError, match="epochs must be > 0"):
        train_sign2gloss(model, inputs, glosses, extractor, epochs=0, progress=False)


def test_save_and_load_round_trip_and_refuse_another_shape(tmp_path):
    trained = tiny_model(use_latent=False)
    with torch.no_grad():
        for p in trained.visual_head.parameters():
            p.add_(1.0)
    path = save_sign_encoder(trained, tmp_path / "s2g.safetensors")
    other = tiny_model(use_latent=True)  # another variant of the same sizes loads it
    load_sign_encoder(other, path)
    state, expected = sign_encoder_state(other), sign_encoder_state(trained)
    assert state.keys() == expected.keys() and all(torch.equal(state[k], expected[k]) for k in state)
    assert not any(k.startswith("model.encoder.embed_tokens") for k in state)
    with pytest.raises(ValueError, match="different shapes"):
        load_sign_encoder(tiny_model(encoder_ffn_dim=48), path)
    with pytest.raises(FileNotFoundError, match="no Sign2Gloss checkpoint"):
        load_sign_encoder(other, tmp_path / "missing.safetensors")


def test_train_cvslt_with_the_stage_and_a_frozen_visual_head(tmp_path):
    from signbridge.training import (
        CVSLTDataArguments,
        CVSLTModelArguments,
        CVSLTTrainingArguments,
        train_cvslt,
    )

    inputs, glosses, texts = gloss_corpus(48)
    rows = {
        "name": [f"s{i}" for i in range(48)],
        "features": inputs,
        "gloss": glosses,
        "text": texts,
    }
    split = Dataset.from_dict(rows)
    dataset = DatasetDict(train=split, dev=split.select(range(8)))
    tokenizer = make_tokenizer()
    tokenizer.save_pretrained(tmp_path / "tok")
    config = {k: v for k, v in tiny_model().config.to_dict().items() if k in ("d_model", "encoder_layers")}

    def run(**model_kwargs):
        return train_cvslt(
            CVSLTModelArguments(
                model_config={**config, "max_sign_positions": 40, "max_position_embeddings": 64},
                tokenizer_name_or_path=str(tmp_path / "tok"),
                **model_kwargs,
            ),
            CVSLTDataArguments(input_key="features", num_beams=1, max_new_tokens=8, eval_splits="dev"),
            CVSLTTrainingArguments(
                output_dir=str(tmp_path / "out"),
                num_train_epochs=2,
                per_device_train_batch_size=16,
                report_to="none",
                use_cpu=True,
                disable_tqdm=True,
                save_strategy="no",
            ),
            dataset=dataset,
        )

    checkpoint = tmp_path / "stage.safetensors"
    first = run(sign2gloss_epochs=2, sign2gloss_checkpoint=str(checkpoint), freeze_visual_head=True)
    assert first["sign2gloss"]["trained"] is True and checkpoint.is_file()
    assert len(first["sign2gloss"]["history"]) == 2
    from signbridge.models.cvslt import CVSLTForConditionalGeneration

    saved = CVSLTForConditionalGeneration.from_pretrained(first["model_dir"])
    stage = load_file_state(checkpoint)
    # the frozen visual head is what the stage left; the encoder layers went on training
    for key, value in saved.visual_head.state_dict().items():
        if "running" in key or "num_batches" in key:
            continue  # batch-norm statistics still follow the data in training mode
        assert torch.equal(value, stage[f"visual_head.{key}"]), key
    assert not torch.equal(
        saved.model.encoder.layers[0].fc1.weight, stage["model.encoder.layers.0.fc1.weight"]
    )
    second = run(sign2gloss_checkpoint=str(checkpoint))  # loads it, trains nothing
    assert second["sign2gloss"] == {"checkpoint": str(checkpoint), "trained": False}
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run(sign2gloss_checkpoint=str(tmp_path / "none.safetensors"))


def load_file_state(path):
    from safetensors.torch import load_file

    return load_file(str(path))
