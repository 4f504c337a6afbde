"""Tiny CV-SLT models, a word-level mBART-style tokenizer and a learnable toy corpus for the training tests."""

from __future__ import annotations

import numpy as np
import torch
from datasets import Dataset
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast

WORDS = ["regen", "sonne", "wind", "nord", "sued", "heute", "morgen", "kalt", "warm", "."]
FEATURE_DIM = 12


def make_tokenizer() -> PreTrainedTokenizerFast:
    """mBART layout: <s>=0 <pad>=1 </s>=2 <unk>=3 de_DE=4, then the words; encodes "tokens </s> de_DE"."""
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "de_DE": 4}
    for word in WORDS:
        vocab[word] = len(vocab)
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    backend.post_processor = processors.TemplateProcessing(
        single="$A </s> de_DE", special_tokens=[("</s>", 2), ("de_DE", 4)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    tokenizer.add_special_tokens({"additional_special_tokens": ["de_DE"]})
    return tokenizer


def tiny_config(**overrides):
    from signbridge.models.cvslt import CVSLTConfig

    values = {
        "vocab_size": 5 + len(WORDS),
        "d_model": 32,
        "encoder_layers": 1,
        "decoder_layers": 1,
        "encoder_attention_heads": 2,
        "decoder_attention_heads": 2,
        "encoder_ffn_dim": 64,
        "decoder_ffn_dim": 64,
        "max_position_embeddings": 64,
        "max_sign_positions": 40,
        "feature_dim": FEATURE_DIM,
        "visual_hidden_size": 32,
        "visual_ffn_dim": 64,
        "latent_dim": 8,
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "tgt_lang_code_id": 4,
        "kl_annealing_steps": 4,
        "dropout": 0.0,
        "attention_dropout": 0.0,
        "visual_dropout": 0.0,
        "label_smoothing": 0.1,
    }
    values.update(overrides)
    return CVSLTConfig(**values)


def tiny_model(**overrides):
    from signbridge.models.cvslt import CVSLTForConditionalGeneration

    torch.manual_seed(0)
    model = CVSLTForConditionalGeneration(tiny_config(**overrides))
    model.generation_config.max_new_tokens = 8
    model.generation_config.max_length = None
    return model


def toy_corpus(n: int, seed: int = 0) -> Dataset:
    """Sentences of 2-4 words; each word is 2 feature steps of its own random code plus noise (learnable)."""
    rng = np.random.default_rng(seed)
    codes = np.random.default_rng(123).normal(size=(len(WORDS), FEATURE_DIM)).astype(np.float32)
    rows = {"name": [], "text": [], "features": []}
    for i in range(n):
        idx = rng.integers(0, len(WORDS) - 1, size=rng.integers(2, 5))
        words = [WORDS[j] for j in idx] + ["."]
        feats = np.concatenate([np.repeat(codes[[WORDS.index(w)]], 2, axis=0) for w in words])
        feats = feats + 0.1 * rng.normal(size=feats.shape).astype(np.float32)
        rows["name"].append(f"toy/{i:04d}")
        rows["text"].append(" ".join(words))
        rows["features"].append(feats.astype(np.float32))
    return Dataset.from_dict(rows)


class ToyCollator:
    """input_features (B, T, F), attention_mask (B, T), labels (B, L) with -100 padding."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, examples):
        feats = [torch.as_tensor(np.asarray(e["features"], dtype=np.float32)) for e in examples]
        length = max(f.shape[0] for f in feats)
        batch = torch.zeros(len(feats), length, FEATURE_DIM)
        mask = torch.zeros(len(feats), length, dtype=torch.long)
        for i, f in enumerate(feats):
            batch[i, : f.shape[0]] = f
            mask[i, : f.shape[0]] = 1
        enc = self.tokenizer([e["text"] for e in examples], padding=True, return_tensors="pt")
        labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
        return {"input_features": batch, "attention_mask": mask, "labels": labels}
