"""The demo's sizes and budgets (:class:`DemoSettings`) and the model configs built from them.

:func:`sized_model_configs` sizes the position tables of the configs to the generated corpus (the
longest sequence with a margin), so a larger corpus never overflows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Sentences the demo produces poses for (weather-forecast German, like the corpus).
DEMO_SENTENCES = (
    "am dienstag regnet es im norden .",
    "morgen scheint im süden die sonne .",
    "in der nacht gibt es im osten gewitter .",
)


def translator_model_config(max_sign_positions: int, d_model: int = 128, layers: int = 2) -> dict[str, Any]:
    """A small CV-SLT config: the demo's translator (features -> text) and back-translator (poses -> text)."""
    return {
        "d_model": d_model,
        "encoder_layers": layers,
        "decoder_layers": layers,
        "encoder_attention_heads": 4,
        "decoder_attention_heads": 4,
        "encoder_ffn_dim": 2 * d_model,
        "decoder_ffn_dim": 2 * d_model,
        # the posterior path encodes [sign; text]: sign steps + </s> + language code + 40 target tokens
        "max_position_embeddings": max_sign_positions + 2 + 42,
        "max_sign_positions": max_sign_positions,
        "visual_hidden_size": d_model,
        "visual_ffn_dim": 2 * d_model,
        "dropout": 0.1,
        "attention_dropout": 0.0,
        "activation_dropout": 0.0,
        "visual_dropout": 0.1,
        "latent_dim": 64,
        "latent_fusion": "prefix",
        "sd_weight": 3.0,
        "kl_annealing_steps": 300,
        "label_smoothing": 0.1,
        "scale_embedding": True,
    }


@dataclass
class DemoSettings:
    """Sizes and budgets of the demo (``DemoSettings.full()``, ``DemoSettings.quick()``, or your own)."""

    seed: int = 0
    # ---- corpus ----
    train_size: int = 1500
    dev_size: int = 100
    test_size: int = (
        600  # about PHOENIX14T's 642: FGD on ~2400 windows; KD vs no-KD is within noise on 100-300
    )
    #: None: the embedded corpus; a folder of SLRT annotation files (``<annotation_prefix>.<split>``): that
    #: corpus' real text, gloss, signer and frame count with a synthesised signal (phoenix14t_synthetic),
    #: the first train/dev/test_size samples of each split (train sentences over 38 words left out)
    annotations_dir: str | None = None
    annotation_prefix: str = "phoenix-2014t_cleaned"
    # ---- CV-SLT (features -> text) ----
    cvslt_epochs: float = 24.0  # 14 learned one sentence for most inputs (dev BLEU-4 4.6); 24: 22.3 (greedy)
    cvslt_batch_size: int = 32
    cvslt_learning_rate: float = 1e-3
    cvslt_warmup_steps: int = 50  # both translators' linear warm-up (a short training needs a shorter one)
    cvslt_model_config: dict = field(default_factory=lambda: translator_model_config(64))
    # ---- back-translator (poses -> text) ----
    backtranslator_epochs: float = 20.0
    backtranslator_model_config: dict = field(default_factory=lambda: translator_model_config(128))
    # every 4th frame (6.25 fps): 20 epochs reach dev BLEU-4 15.5 (greedy) in about 350 s of one
    # core; 10 epochs at every 2nd frame (270 s) learned one sentence for every input
    backtranslator_frame_stride: int = 4
    num_beams: int = 5
    #: Sign2Gloss (gloss CTC) epochs before the translation training of both the translator and the back-translator
    #: (:mod:`signbridge.training.sign2gloss`, visual head frozen afterwards); 0: none (translation loss only).
    #: On PHOENIX14T's language the back-translator trained without it does not read the poses: ground-truth
    #: poses back-translate no better than the mean pose (``model_cards/nar_slp.md``)
    sign2gloss_epochs: float = 0.0
    sign2gloss_learning_rate: float = 2e-3
    # ---- pose VAE ----
    vae_epochs: int = 2
    vae_batch_size: int = 256
    vae_learning_rate: float = 2e-3
    vae_latent_dim: int = 32
    vae_hidden_sizes: tuple = (256, 128)
    # ---- TAE ----
    tae_epochs: float = 3.0
    tae_config: dict = field(
        default_factory=lambda: {
            "d_model": 64,
            "encoder_layers": 2,
            "decoder_layers": 2,
            "num_attention_heads": 4,
            "ffn_dim": 128,
            "dropout": 0.1,
            "loss_type": "bce",  # FGD features: the pooled encoder output (64-d)
        }
    )
    tae_window_stride: int = 12
    # ---- NARSignProducer ----
    nar_epochs: float = 20.0
    nar_batch_size: int = 16
    nar_learning_rate: float = 1e-3
    nar_tokenizer_vocab_size: int = 1000
    #: a pretrained BERT checkpoint folder (and its tokenizer) for the NAR-SLP text encoder; None: from scratch
    #: with nar_text_encoder_config and a tokenizer trained on the corpus
    nar_text_encoder_name_or_path: str | None = None
    nar_text_encoder_config: dict = field(
        default_factory=lambda: {
            "hidden_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "intermediate_size": 128,
            "max_position_embeddings": 64,
        }
    )
    nar_producer_config: dict = field(
        default_factory=lambda: {
            "d_model": 64,
            "decoder_layers": 2,
            "decoder_attention_heads": 4,
            "decoder_ffn_dim": 128,
            # no dropout on the attention weights: its mask over the (T_max x T_max) self-attention
            # was half of a CPU training step (0.52 s -> 0.24 s per batch of 16)
            "dropout": 0.1,
            "attention_dropout": 0.0,
            "max_frames": 256,
        }
    )
    # ---- comparisons of the production rows: paired bootstrap over the test sentences ----
    num_resamples: int = 1000
    bootstrap_seed: int = 0
    # ---- output ----
    num_translations_shown: int = 5
    sentences: tuple = DEMO_SENTENCES
    write_gifs: bool = True
    torch_threads: int | None = 1
    #: the order the side-by-side jobs start in, by folder (the longest first; None: NAR-SLP first, as in `JOBS`)
    job_order: tuple | None = None
    #: models trained side by side after the pose VAE (one single-threaded process each); None: one
    #: per CPU core, at most 5; 1: all in this process, one after another
    workers: int | None = None

    @classmethod
    def full(cls) -> DemoSettings:
        """The main job's sizes (about 15 minutes on an idle 2-core CPU with two workers)."""
        return cls()

    @classmethod
    def quick(cls) -> DemoSettings:
        """A first look in under 3 minutes on an idle 2-core CPU: a smaller corpus, a narrower CV-SLT trained at a
        higher rate (dev BLEU-4 22.3 on its 100 dev sentences, greedy), short production trainings (low scores)."""
        return cls(
            train_size=1000,
            dev_size=100,
            test_size=30,
            # d_model 64 at 3e-3, batches of 16: 36 epochs (2268 steps, 127 s of one core) reach dev BLEU-4 22.3 on
            # final main; 24 epochs reached 16.2 on the perf branch but 13.0 on main (other float paths), too close
            # to the 15 a first look should show; d_model 128 at 1e-3, batches of 32, 2 epochs: empty translations
            cvslt_epochs=36.0,
            cvslt_batch_size=16,
            cvslt_learning_rate=3e-3,
            cvslt_warmup_steps=30,
            cvslt_model_config={**translator_model_config(64, d_model=64), "latent_dim": 32},
            backtranslator_epochs=2.0,
            num_beams=1,
            vae_epochs=2,
            tae_epochs=1.0,
            tae_window_stride=34,
            nar_epochs=5.0,
            num_translations_shown=3,
            sentences=DEMO_SENTENCES[:2],
            # CV-SLT is the longest job here: it starts first, the other four share the second worker meanwhile
            job_order=("cvslt", "nar_slp", "nar_slp_no_kd", "backtranslator", "pose_autoencoder"),
        )


def sized_model_configs(settings: DemoSettings, corpus: dict[str, list[dict]]) -> dict[str, dict]:
    """The config of each model trained after the pose VAE, by its folder under ``models/``.

    The settings' configs are copied, and their position tables sized to ``corpus``: the longest
    sequence with a margin (the back-translator reads every ``backtranslator_frame_stride``-th pose).
    """
    longest = max(len(e["poses"]) for split in corpus.values() for e in split)
    longest_features = max(len(e["features"]) for split in corpus.values() for e in split)
    cvslt_config = dict(settings.cvslt_model_config)
    bt_config = dict(settings.backtranslator_model_config)
    producer_config = dict(settings.nar_producer_config)
    text_tokens = max(42, target_length_needed(corpus))
    for config, needed in (
        (cvslt_config, longest_features),
        (bt_config, -(-longest // settings.backtranslator_frame_stride)),
    ):
        config["max_sign_positions"] = max(config["max_sign_positions"], needed + 8)
        # the posterior path encodes [sign steps + </s> + language code; target tokens]
        config["max_position_embeddings"] = max(
            config["max_position_embeddings"], config["max_sign_positions"] + 2 + text_tokens
        )
    if producer_config.get("max_frames", 300) < longest:
        producer_config["max_frames"] = int(np.ceil(longest * 1.2 / 8) * 8)
    return {
        "nar_slp": producer_config,
        "nar_slp_no_kd": producer_config,
        "cvslt": cvslt_config,
        "backtranslator": bt_config,
        "pose_autoencoder": {},
    }


def target_length_needed(corpus: dict[str, list[dict]]) -> int:
    """Tokens of the corpus' longest target with the word-level tokenizer (words, ``</s>``, language code)."""
    return (
        max((len(str(e.get("text", "")).split()) for split in corpus.values() for e in split), default=0) + 2
    )


__all__ = [
    "DEMO_SENTENCES",
    "DemoSettings",
    "sized_model_configs",
    "target_length_needed",
    "translator_model_config",
]
