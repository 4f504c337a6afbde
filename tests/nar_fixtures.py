"""Tiny NAR-SLP pipeline parts shared by the training and evaluation tests: an embedded corpus, a pose VAE, a BERT
tokenizer and a TAE (session fixtures, imported by tests/training/conftest.py and tests/evaluation/conftest.py)."""

import math
from pathlib import Path

import pytest
import torch
from transformers import TrainingArguments

from signbridge.data.normalization import PoseNormalizer
from signbridge.data.synthetic import generate_corpus
from signbridge.evaluation import back_translation
from signbridge.training import nar_slp, pose_autoencoder, pose_vae

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
CONFIGS = SCRIPTS / "configs"

TINY_BERT = {
    "hidden_size": 16,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 32,
    "max_position_embeddings": 64,
}
TINY_PRODUCER = {
    "d_model": 16,
    "decoder_layers": 1,
    "decoder_attention_heads": 2,
    "decoder_ffn_dim": 32,
    "dropout": 0.0,
    "max_frames": 256,
}
TINY_TAE = {
    "d_model": 16,
    "encoder_layers": 1,
    "decoder_layers": 1,
    "num_attention_heads": 2,
    "ffn_dim": 32,
    "latent_dim": 8,
    "dropout": 0.0,
}


@pytest.fixture(scope="session")
def corpus():
    return generate_corpus(train_size=40, dev_size=8, test_size=8, seed=3)


@pytest.fixture(scope="session")
def vae(corpus):
    return pose_vae.train_pose_vae(
        [e["poses"] for e in corpus["train"]],
        args=pose_vae.PoseVAETrainingArguments(num_epochs=3, batch_size=256, learning_rate=3e-3),
        dev_sequences=[e["poses"] for e in corpus["dev"]],
        progress=False,
        latent_dim=8,
        hidden_sizes=[64, 32],
    )


@pytest.fixture(scope="session")
def tokenizer(corpus):
    return nar_slp.build_nar_tokenizer([e["text"] for e in corpus["train"]], vocab_size=300)


@pytest.fixture(scope="session")
def tae(corpus, tmp_path_factory):
    args = TrainingArguments(
        output_dir=str(tmp_path_factory.mktemp("tae")),
        num_train_epochs=1,
        per_device_train_batch_size=64,
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
        use_cpu=True,
        dataloader_pin_memory=False,
    )
    model, metrics = pose_autoencoder.train_pose_autoencoder(
        [e["poses"] for e in corpus["train"]], args, window_stride=34, **TINY_TAE
    )
    assert math.isfinite(metrics["train_loss"])
    return model


def train_args(tmp_path, epochs=2, lr=3e-3):
    return TrainingArguments(
        output_dir=str(tmp_path),
        num_train_epochs=epochs,
        per_device_train_batch_size=8,
        learning_rate=lr,
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
        logging_steps=1,
        use_cpu=True,
        dataloader_pin_memory=False,
        seed=0,
    )


def tiny_backtranslator(corpus):
    """An untrained, tiny pose-input CV-SLT back-translator with the corpus' tokenizer and pose normaliser."""
    from signbridge.models.cvslt import CVSLTConfig, CVSLTForConditionalGeneration
    from signbridge.tokenization import train_corpus_tokenizer

    tok = train_corpus_tokenizer([e["text"] for e in corpus["train"]])
    config = CVSLTConfig(
        vocab_size=len(tok),
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        tgt_lang_code_id=tok.convert_tokens_to_ids("de_DE"),
        feature_dim=150,
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=300,
        max_sign_positions=250,
        visual_hidden_size=16,
        visual_ffn_dim=32,
        latent_dim=8,
    )
    torch.manual_seed(0)
    model = CVSLTForConditionalGeneration(config).eval()
    normalizer = PoseNormalizer.fit([e["poses"] for e in corpus["train"]])
    return back_translation.BackTranslator(
        model=model, tokenizer=tok, normalizer=normalizer, num_beams=1, max_new_tokens=5, batch_size=3
    )
