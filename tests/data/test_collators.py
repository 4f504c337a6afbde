"""Collators: padding and masks, -100 labels, numpy/list/torch inputs, normalisation, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from signbridge.data.collators import PoseProductionCollator, SignTranslationCollator
from signbridge.data.normalization import PoseNormalizer
from signbridge.data.synthetic import generate_corpus
from signbridge.tokenization import train_bert_tokenizer, train_corpus_tokenizer


@pytest.fixture(scope="module")
def corpus():
    return generate_corpus(train_size=6, dev_size=0, test_size=0, feature_dim=32)


@pytest.fixture(scope="module")
def mbart_tokenizer(corpus):
    return train_corpus_tokenizer([e["text"] for e in corpus["train"]])


@pytest.fixture(scope="module")
def bert_tokenizer(corpus):
    return train_bert_tokenizer([e["text"] for e in corpus["train"]], vocab_size=200)


def test_translation_padding_masks_and_labels(corpus, mbart_tokenizer):
    examples = corpus["train"][:4]
    batch = SignTranslationCollator(mbart_tokenizer)(examples)
    assert set(batch) == {"input_features", "attention_mask", "labels"}
    steps = [e["features"].shape[0] for e in examples]
    assert batch["input_features"].shape == (4, max(steps), 32)
    assert batch["input_features"].dtype == torch.float32
    assert batch["attention_mask"].dtype == torch.long and batch["labels"].dtype == torch.long
    assert batch["attention_mask"].sum(1).tolist() == steps
    for i, e in enumerate(examples):
        np.testing.assert_array_equal(batch["input_features"][i, : steps[i]].numpy(), e["features"])
        assert (batch["input_features"][i, steps[i] :] == 0).all()
        ids = mbart_tokenizer(e["text"])["input_ids"]  # tokens </s> de_DE
        row = batch["labels"][i]
        assert row[: len(ids)].tolist() == ids
        assert (row[len(ids) :] == -100).all()
    assert (batch["labels"] == mbart_tokenizer.pad_token_id).sum() == 0


@pytest.mark.parametrize("kind", ["numpy", "list", "torch"])
def test_translation_input_types_agree(corpus, mbart_tokenizer, kind):
    convert = {"numpy": lambda a: a, "list": lambda a: a.tolist(), "torch": torch.from_numpy}[kind]
    examples = [{"features": convert(e["features"]), "text": e["text"]} for e in corpus["train"][:3]]
    reference = SignTranslationCollator(mbart_tokenizer)(corpus["train"][:3])
    batch = SignTranslationCollator(mbart_tokenizer)(examples)
    for key in reference:
        torch.testing.assert_close(batch[key], reference[key])


def test_translation_feature_key_poses_and_precomputed_labels(corpus, mbart_tokenizer):
    examples = corpus["train"][:2]
    batch = SignTranslationCollator(mbart_tokenizer, feature_key="poses", pad_to_multiple_of=8)(examples)
    frames = [e["num_frames"] for e in examples]
    assert batch["input_features"].shape == (2, -(-max(frames) // 8) * 8, 150)
    np.testing.assert_array_equal(
        batch["input_features"][0, : frames[0]].numpy(), examples[0]["poses"].reshape(frames[0], 150)
    )
    labelled = [{"features": e["features"], "labels": [5, 6, 2][: k + 2]} for k, e in enumerate(examples)]
    batch = SignTranslationCollator(None)(labelled)
    assert batch["labels"].tolist() == [[5, 6, -100], [5, 6, 2]]


def test_translation_errors(corpus, mbart_tokenizer):
    collate = SignTranslationCollator(mbart_tokenizer)
    good = corpus["train"][0]
    with pytest.raises(ValueError, match=r"example 1 \('x'\) 'features': the sequence is empty"):
        collate([good, {"name": "x", "features": np.zeros((0, 32)), "text": "a"}])
    with pytest.raises(ValueError, match="empty"):
        collate([{"features": [], "text": "a"}])
    bad = good["features"].copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        collate([{"features": bad, "text": "a"}])
    with pytest.raises(ValueError, match="example 1 has per-frame shape"):
        collate([good, {"features": np.zeros((3, 16)), "text": "a"}])
    with pytest.raises(ValueError, match="has no 'feats' column"):
        SignTranslationCollator(mbart_tokenizer, feature_key="feats")([good])
    with pytest.raises(ValueError, match="non-empty list"):
        collate([])
    with pytest.raises(ValueError, match="more than max_label_length=3"):
        SignTranslationCollator(mbart_tokenizer, max_label_length=3)([good])
    with pytest.raises(ValueError, match="needs a tokenizer"):
        SignTranslationCollator(None)([good])
    with pytest.raises(ValueError, match="dimensions"):
        collate([{"features": np.zeros(5), "text": "a"}])


def test_production_padding_and_normalisation(corpus, bert_tokenizer):
    examples = corpus["train"][:3]
    normalizer = PoseNormalizer.fit(e["poses"] for e in corpus["train"])
    batch = PoseProductionCollator(bert_tokenizer, normalizer=normalizer)(examples)
    assert set(batch) == {"input_ids", "attention_mask", "pose_labels", "pose_mask"}
    frames = [e["num_frames"] for e in examples]
    assert (
        batch["pose_labels"].shape == (3, max(frames), 50, 3) and batch["pose_labels"].dtype == torch.float32
    )
    assert batch["pose_mask"].sum(1).tolist() == frames and batch["pose_mask"].dtype == torch.long
    for i, e in enumerate(examples):
        real = batch["pose_labels"][i, : frames[i]].numpy()
        np.testing.assert_allclose(real, normalizer.normalize(e["poses"]), atol=1e-7)
        assert real.min() >= 0.0 and real.max() <= 1.0
        assert (batch["pose_labels"][i, frames[i] :] == 0).all()
        ids = bert_tokenizer(e["text"])["input_ids"]
        assert batch["input_ids"][i, : len(ids)].tolist() == ids
        assert batch["attention_mask"][i].sum() == len(ids)
    raw = PoseProductionCollator(bert_tokenizer)(examples)
    np.testing.assert_array_equal(raw["pose_labels"][0, : frames[0]].numpy(), examples[0]["poses"])


def test_production_uses_the_pose_vae_normalisation_with_its_min_range(corpus, bert_tokenizer):
    """The NAR training's collator normaliser (``vae_normalizer``) is the pose VAE's, min_range included: a
    near-constant coordinate is normalised in the collator exactly as in the model."""
    from signbridge.models.pose_vae import PoseVAEConfig, PoseVAEModel
    from signbridge.training.nar_slp import vae_normalizer

    stats = PoseNormalizer.fit(e["poses"] for e in corpus["train"]).to_dict()
    stats["maximum"][4][2] = stats["minimum"][4][2] + 1e-3  # nearly never moves: range 1 under min_range=0.01
    stats["min_range"] = 0.01
    config = PoseVAEConfig(num_joints=50, joint_dim=3, hidden_sizes=[8, 8], latent_dim=2, normalization=stats)
    model = PoseVAEModel(config)
    normalizer = vae_normalizer(model)
    assert normalizer.min_range == 0.01 and normalizer.scale[4, 2] == 1.0
    examples = corpus["train"][:3]
    batch = PoseProductionCollator(bert_tokenizer, normalizer=normalizer)(examples)
    for i, e in enumerate(examples):
        poses = torch.as_tensor(np.asarray(e["poses"], dtype=np.float32))
        expected = model.normalize(poses)
        torch.testing.assert_close(batch["pose_labels"][i, : e["num_frames"]], expected, rtol=0, atol=0)
        torch.testing.assert_close(expected[..., 4, 2], poses[..., 4, 2] - np.float32(stats["minimum"][4][2]))


def test_production_torch_and_list_inputs(corpus, bert_tokenizer):
    ref = PoseProductionCollator(bert_tokenizer)(corpus["train"][:2])
    for convert in (torch.from_numpy, lambda a: a.tolist()):
        examples = [{"poses": convert(e["poses"]), "text": e["text"]} for e in corpus["train"][:2]]
        batch = PoseProductionCollator(bert_tokenizer)(examples)
        for key in ref:
            torch.testing.assert_close(batch[key], ref[key])


def test_production_errors(corpus, bert_tokenizer):
    collate = PoseProductionCollator(
        bert_tokenizer, normalizer=PoseNormalizer.fit([corpus["train"][0]["poses"]])
    )
    with pytest.raises(ValueError, match="empty"):
        collate([{"poses": np.zeros((0, 50, 3)), "text": "a"}])
    bad = corpus["train"][0]["poses"].copy()
    bad[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        collate([{"poses": bad, "text": "a"}])
    with pytest.raises(ValueError, match=r"\(\.\.\., 50, 3\)"):
        collate([{"poses": np.zeros((4, 49, 3)), "text": "a"}])
    with pytest.raises(ValueError, match="'text' must be a string"):
        collate([{"poses": corpus["train"][0]["poses"], "text": None}])
    with pytest.raises(ValueError, match="needs a tokenizer"):
        PoseProductionCollator(None)
