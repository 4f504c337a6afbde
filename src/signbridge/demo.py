"""The end-to-end demo on the embedded corpus (the README's main job, ``signbridge demo``).

It generates the embedded corpus, trains on the CPU (with progress bars) a small CV-SLT
(visual features -> text), a pose-input CV-SLT back-translator (poses -> text), the per-frame pose
VAE, the pose autoencoder (TAE) of FGD and two NARSignProducers (without and with knowledge
distillation); translates a few dev samples and shows them beside their references; produces poses
for a few sentences and writes ``.pose`` files and GIFs; reports the translation scores and the
production table (the NAR-SLP paper's Table 1 format) on dev and test; saves every model with
``save_pretrained`` and reloads two through the Auto classes.

The demo is a command-line program: its lines go to ``report`` (``print`` by default). Everything
it measures is also returned as a dict.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers.utils import logging

from . import production
from .production import MEAN, NAR_WITH_KD, NAR_WITHOUT_KD, RANDOM

logger = logging.get_logger(__name__)

#: Sentences the demo produces poses for (weather-forecast German, like the corpus).
DEMO_SENTENCES = (
    "am dienstag regnet es im norden .",
    "morgen scheint im süden die sonne .",
    "in der nacht gibt es im osten gewitter .",
)


def _cvslt_model_config(max_sign_positions: int, d_model: int = 128, layers: int = 2) -> dict[str, Any]:
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
    test_size: int = 100
    # ---- CV-SLT (features -> text) ----
    cvslt_epochs: float = 14.0
    cvslt_batch_size: int = 32
    cvslt_learning_rate: float = 1e-3
    cvslt_model_config: dict = field(default_factory=lambda: _cvslt_model_config(64))
    # ---- back-translator (poses -> text) ----
    backtranslator_epochs: float = 10.0
    backtranslator_model_config: dict = field(default_factory=lambda: _cvslt_model_config(128))
    backtranslator_frame_stride: int = 2
    num_beams: int = 5
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
            "d_model": 64, "encoder_layers": 2, "decoder_layers": 2, "num_attention_heads": 4,
            "ffn_dim": 128, "latent_dim": 32, "dropout": 0.1,
        }
    )
    tae_window_stride: int = 12
    # ---- NARSignProducer ----
    nar_epochs: float = 6.0
    nar_batch_size: int = 16
    nar_learning_rate: float = 1e-3
    nar_tokenizer_vocab_size: int = 1000
    nar_text_encoder_config: dict = field(
        default_factory=lambda: {
            "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
            "intermediate_size": 128, "max_position_embeddings": 64,
        }
    )
    nar_producer_config: dict = field(
        default_factory=lambda: {
            "d_model": 64, "decoder_layers": 2, "decoder_attention_heads": 4, "decoder_ffn_dim": 128,
            "dropout": 0.1, "max_frames": 256,
        }
    )
    # ---- output ----
    num_translations_shown: int = 5
    sentences: tuple = DEMO_SENTENCES
    write_gifs: bool = True
    torch_threads: int | None = 1

    @classmethod
    def full(cls) -> "DemoSettings":
        """The main job's sizes (about 20 minutes on an idle 2-core CPU)."""
        return cls()

    @classmethod
    def quick(cls) -> "DemoSettings":
        """A first look in under 3 minutes: a small corpus and short trainings (scores are low)."""
        return cls(
            train_size=300, dev_size=30, test_size=30,
            cvslt_epochs=2.0, backtranslator_epochs=2.0, num_beams=1,
            vae_epochs=2, tae_epochs=1.0, tae_window_stride=34, nar_epochs=2.0,
            num_translations_shown=3, sentences=DEMO_SENTENCES[:2],
        )


def _dataset_dict(corpus: dict[str, list[dict]], columns: tuple[str, ...], frame_stride: int = 1):
    """The corpus splits as a ``datasets.DatasetDict`` with the given array columns (and name, text).

    ``frame_stride`` keeps every n-th step of the array columns (the back-translator reads poses at
    half the frame rate: sequences half as long train about three times faster).
    """
    from datasets import Array2D, Array3D, Dataset, DatasetDict, Features, Value

    out = {}
    for split, examples in corpus.items():
        feats = {"name": Value("string"), "text": Value("string")}
        data: dict[str, list] = {"name": [e["name"] for e in examples], "text": [e["text"] for e in examples]}
        for col in columns:
            first = np.asarray(examples[0][col])
            if first.ndim == 2:
                feats[col] = Array2D(shape=(None, first.shape[1]), dtype="float32")
            else:
                feats[col] = Array3D(shape=(None,) + tuple(first.shape[1:]), dtype="float32")
            data[col] = [np.asarray(e[col], dtype=np.float32)[::frame_stride] for e in examples]
        out[split] = Dataset.from_dict(data, features=Features(feats))
    return DatasetDict(out).with_format("numpy")


def _register_auto_classes() -> None:
    """Register the signbridge models with the Auto classes (idempotent; ``import signbridge`` does it once integrated)."""
    from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM

    from .models.cvslt import CVSLTConfig, CVSLTForConditionalGeneration
    from .models.nar_slp import NARSignProducer, NARSignProducerConfig
    from .models.pose_autoencoder import PoseAutoencoderConfig, PoseAutoencoderModel
    from .models.pose_vae import PoseVAEConfig, PoseVAEModel

    for config_cls, model_cls, auto in (
        (CVSLTConfig, CVSLTForConditionalGeneration, AutoModelForSeq2SeqLM),
        (NARSignProducerConfig, NARSignProducer, AutoModel),
        (PoseVAEConfig, PoseVAEModel, AutoModel),
        (PoseAutoencoderConfig, PoseAutoencoderModel, AutoModel),
    ):
        try:
            AutoConfig.register(config_cls.model_type, config_cls)
        except ValueError:
            pass  # already registered
        try:
            auto.register(config_cls, model_cls)
        except ValueError:
            pass


def _train_translator(dataset, input_key: str, output_dir: Path, epochs: float, batch_size: int,
                      learning_rate: float, model_config: dict, num_beams: int, eval_splits: str,
                      seed: int, progress: bool) -> dict[str, Any]:
    from .training import CVSLTDataArguments, CVSLTModelArguments, CVSLTTrainingArguments, train_cvslt

    model_args = CVSLTModelArguments(model_config=dict(model_config), tokenizer_level="word", lang_code="de_DE")
    data_args = CVSLTDataArguments(
        input_key=input_key, max_target_length=40, num_beams=num_beams, max_new_tokens=32,
        eval_splits=eval_splits,
    )
    training_args = CVSLTTrainingArguments(
        output_dir=str(output_dir), num_train_epochs=epochs, per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=64, learning_rate=learning_rate, visual_head_learning_rate=learning_rate,
        latent_network_learning_rate=learning_rate, adam_beta2=0.998, lr_scheduler_type="cosine",
        warmup_steps=50, max_grad_norm=1.0, eval_strategy="no", save_strategy="no", logging_steps=50,
        predict_with_generate=True, generation_num_beams=num_beams,
        report_to="none", use_cpu=True, seed=seed, disable_tqdm=not progress, dataloader_pin_memory=False,
    )
    return train_cvslt(model_args, data_args, training_args, dataset=dataset)


def run_demo(
    output_dir: str | os.PathLike = "demo_output",
    quick: bool = False,
    *,
    settings: DemoSettings | None = None,
    report: Callable[[str], None] | None = print,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the end-to-end demo and return what it measured.

    Args:
        output_dir: folder for the models (``models/<name>``), ``.pose`` files and GIFs
            (``poses/``), the tables (``production_table.txt``/``.json``) and ``demo_results.json``.
        quick: use :meth:`DemoSettings.quick` (under 3 minutes, low scores) instead of
            :meth:`DemoSettings.full`.
        settings: explicit sizes (overrides ``quick``); tests pass tiny ones.
        report: receives every line the demo shows (``print`` for the command line; ``None``
            sends them to the logger).
        progress: show tqdm bars while training and evaluating.

    Returns:
        ``{"settings", "translation" (scores per split), "examples" (hypothesis/reference pairs),
        "production" ({split: {row: metrics}}), "production_table" (text), "acceptance",
        "files", "timings" (wall and CPU seconds per stage)}``.
    """
    settings = settings or (DemoSettings.quick() if quick else DemoSettings.full())
    say = report if report is not None else logger.info
    if settings.torch_threads:
        # Small models gain nothing from intra-op threads, and on a busy CPU the spinning threads
        # slow every step down many times over.
        torch.set_num_threads(settings.torch_threads)
    if progress:
        logging.enable_progress_bar()
    _register_auto_classes()
    out = Path(output_dir)
    models_dir = out / "models"
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, dict[str, float]] = {}
    clock = {"wall": time.time(), "cpu": production._cpu_seconds()}

    def lap(stage: str) -> None:
        wall, cpu = time.time(), production._cpu_seconds()
        timings[stage] = {"wall_s": round(wall - clock["wall"], 1), "cpu_s": round(cpu - clock["cpu"], 1)}
        clock.update(wall=wall, cpu=cpu)
        say(f"[{stage}: {timings[stage]['wall_s']:.0f} s wall, {timings[stage]['cpu_s']:.0f} s CPU]")

    from transformers import set_seed

    set_seed(settings.seed)
    say(f"signbridge demo ({'quick' if quick else 'full'} settings) -> {out}")

    # ---- 1. the embedded corpus ----
    from .data.synthetic import SyntheticCorpusConfig, generate_corpus

    corpus = generate_corpus(SyntheticCorpusConfig(
        seed=settings.seed, train_size=settings.train_size, dev_size=settings.dev_size, test_size=settings.test_size,
    ))
    lengths = [e["num_frames"] for e in corpus["train"]]
    say(
        f"1. embedded corpus: {len(corpus['train'])}/{len(corpus['dev'])}/{len(corpus['test'])} sequences "
        f"(train/dev/test), {np.mean(lengths):.0f} frames on average (min {min(lengths)}, max {max(lengths)}), "
        f"features {corpus['train'][0]['features'].shape[1]}-d, poses {corpus['train'][0]['poses'].shape[1:]}"
    )
    lap("corpus")

    # ---- 2. CV-SLT: features -> text ----
    # size the position tables to the corpus: the longest sequence with a margin
    longest = max(len(e["poses"]) for split in corpus.values() for e in split)
    longest_features = max(len(e["features"]) for split in corpus.values() for e in split)
    cvslt_config = dict(settings.cvslt_model_config)
    bt_config = dict(settings.backtranslator_model_config)
    producer_config = dict(settings.nar_producer_config)
    for config, needed in ((cvslt_config, longest_features),
                           (bt_config, -(-longest // settings.backtranslator_frame_stride))):
        if config["max_sign_positions"] < needed:
            config["max_sign_positions"] = needed + 8
            config["max_position_embeddings"] = max(config["max_position_embeddings"], needed + 8 + 2 + 42)
    if producer_config.get("max_frames", 300) < longest:
        producer_config["max_frames"] = int(np.ceil(longest * 1.2 / 8) * 8)

    say("2. training CV-SLT (visual features -> German text) ...")
    features_ds = _dataset_dict(corpus, ("features",))
    cvslt_results = _train_translator(
        features_ds, "features", models_dir / "cvslt", settings.cvslt_epochs, settings.cvslt_batch_size,
        settings.cvslt_learning_rate, cvslt_config, settings.num_beams, "dev,test",
        settings.seed, progress,
    )
    translation = {s: {k: cvslt_results[s][k] for k in ("bleu1", "bleu2", "bleu3", "bleu4", "rouge_l")}
                   for s in ("dev", "test")}
    pairs = []
    with open(models_dir / "cvslt" / "predictions_dev.tsv", encoding="utf-8") as handle:
        next(handle)
        for line, _ in zip(handle, range(settings.num_translations_shown), strict=False):
            hyp, ref = line.rstrip("\n").split("\t")
            pairs.append({"hypothesis": hyp, "reference": ref})
    say(f"   dev translations (beam {settings.num_beams}):")
    for pair in pairs:
        say(f"     REF: {pair['reference']}\n     HYP: {pair['hypothesis']}")
    for split, scores in translation.items():
        say(f"   CV-SLT {split}: " + "  ".join(f"{k.upper().replace('_', '-')} {v:.2f}" for k, v in scores.items()))
    lap("cvslt")

    # ---- 3. back-translator: poses -> text ----
    say("3. training the back-translator (pose-input CV-SLT, ground-truth poses -> text) ...")
    pose_ds = _dataset_dict(corpus, ("poses",), frame_stride=settings.backtranslator_frame_stride)
    bt_results = _train_translator(
        pose_ds, "poses", models_dir / "backtranslator", settings.backtranslator_epochs, settings.cvslt_batch_size,
        settings.cvslt_learning_rate, bt_config, settings.num_beams, "",
        settings.seed, progress,
    )
    bt_dir = Path(bt_results["model_dir"])
    (bt_dir / production.BACKTRANSLATION_FILE).write_text(
        json.dumps({"frame_stride": settings.backtranslator_frame_stride}), encoding="utf-8"
    )
    back_translator = production.BackTranslator.from_pretrained(bt_dir, num_beams=settings.num_beams)
    lap("backtranslator")

    # ---- 4. pose VAE ----
    say("4. training the per-frame pose VAE (LGM + PGM) ...")
    train_poses = [e["poses"] for e in corpus["train"]]
    vae = production.train_pose_vae(
        train_poses,
        args=production.PoseVAETrainingArguments(
            num_epochs=settings.vae_epochs, batch_size=settings.vae_batch_size,
            learning_rate=settings.vae_learning_rate, seed=settings.seed,
        ),
        dev_sequences=[e["poses"] for e in corpus["dev"]],
        output_dir=models_dir / "pose_vae",
        progress=progress, report=lambda line: say("   " + line),
        latent_dim=settings.vae_latent_dim, hidden_sizes=list(settings.vae_hidden_sizes),
    )
    lap("pose_vae")

    # ---- 5. TAE for FGD ----
    say("5. training the pose autoencoder (TAE) for FGD ...")
    from transformers import TrainingArguments

    tae, _ = production.train_pose_autoencoder(
        train_poses,
        TrainingArguments(
            output_dir=str(models_dir / "pose_autoencoder"), num_train_epochs=settings.tae_epochs,
            per_device_train_batch_size=64, learning_rate=1e-3, warmup_steps=10, logging_steps=50,
            save_strategy="no", report_to="none", use_cpu=True, seed=settings.seed, disable_tqdm=not progress,
            dataloader_pin_memory=False,
        ),
        window_stride=settings.tae_window_stride, report=lambda line: say("   " + line),
        **settings.tae_config,
    )
    tae.save_pretrained(models_dir / "pose_autoencoder")
    lap("tae")

    # ---- 6. NARSignProducers without and with KD ----
    tokenizer = production.build_nar_tokenizer([e["text"] for e in corpus["train"]],
                                                vocab_size=settings.nar_tokenizer_vocab_size)
    producers = {}
    for name, use_kd, folder in ((NAR_WITHOUT_KD, False, "nar_slp_no_kd"), (NAR_WITH_KD, True, "nar_slp")):
        say(f"6. training {name} ...")
        model_args = production.NARSignProducerArguments(
            text_encoder_config=dict(settings.nar_text_encoder_config),
            producer_config=dict(producer_config),
            use_distillation=use_kd,
        )
        training_args = TrainingArguments(
            output_dir=str(models_dir / folder), num_train_epochs=settings.nar_epochs,
            per_device_train_batch_size=settings.nar_batch_size, learning_rate=settings.nar_learning_rate,
            weight_decay=0.01, warmup_steps=20, lr_scheduler_type="cosine", logging_steps=50, save_strategy="no",
            report_to="none", use_cpu=True, seed=settings.seed, disable_tqdm=not progress,
            dataloader_pin_memory=False,
        )
        model, _ = production.train_nar_slp(corpus["train"], vae, tokenizer, training_args, model_args,
                                            report=lambda line: say("   " + line))
        production.save_producer(model, tokenizer, models_dir / folder)
        producers[name] = (model, tokenizer)
        lap(folder)

    # ---- 7. the production table ----
    say("7. evaluating production (FGD with the TAE, back-translation BLEU/ROUGE, DurACC, DTW) ...")
    table = production.evaluate_production(
        producers, {"dev": corpus["dev"], "test": corpus["test"]}, corpus["train"],
        tae=tae, back_translator=back_translator, seed=settings.seed, progress=progress,
        report=lambda text: None,
    )
    table_text = production.format_production_table(table)
    say(table_text)
    (out / "production_table.txt").write_text(table_text, encoding="utf-8")
    (out / "production_table.json").write_text(json.dumps(table, indent=2), encoding="utf-8")
    test = table["test"]
    acceptance = {
        "kd_fgd_below_mean": test[NAR_WITH_KD]["fgd"] < test[MEAN]["fgd"],
        "kd_fgd_below_random": test[NAR_WITH_KD]["fgd"] < test[RANDOM]["fgd"],
        "kd_fgd_below_no_kd": test[NAR_WITH_KD]["fgd"] < test[NAR_WITHOUT_KD]["fgd"],
        "kd_duracc_at_least_0.76": test[NAR_WITH_KD]["dur_acc"] >= 0.76,
    }
    say("   acceptance (test): " + ", ".join(f"{k}={v}" for k, v in acceptance.items()))
    lap("evaluation")

    # ---- 8. produce poses for a few sentences ----
    say("8. producing poses for new sentences ...")
    kd_model, _ = producers[NAR_WITH_KD]
    poses, produced_lengths = production.produce_poses(kd_model, tokenizer, list(settings.sentences))
    files = {"pose": [], "gif": []}
    poses_dir = out / "poses"
    poses_dir.mkdir(exist_ok=True)
    from .data.pose_files import render_pose_gif, write_pose_file

    for i, (sentence, seq) in enumerate(zip(settings.sentences, poses, strict=True)):
        path = poses_dir / f"sentence_{i + 1}.pose"
        write_pose_file(path, seq, fps=25)
        files["pose"].append(str(path))
        line = f"   '{sentence}' -> {len(seq)} frames ({len(seq) / 25:.2f} s): {path}"
        if settings.write_gifs:
            try:
                gif = poses_dir / f"sentence_{i + 1}.gif"
                render_pose_gif(gif, seq, fps=25)
                files["gif"].append(str(gif))
                line += f", {gif.name}"
            except ImportError as err:  # the optional `pose` extra is missing
                line += f" (no GIF: {err})"
        say(line)
    lap("produce")

    # ---- 9. reload through the Auto classes ----
    from transformers import AutoModel, AutoModelForSeq2SeqLM, AutoTokenizer

    reloaded = AutoModel.from_pretrained(models_dir / "nar_slp")
    batch = AutoTokenizer.from_pretrained(models_dir / "nar_slp")([settings.sentences[0]], return_tensors="pt",
                                                                   return_token_type_ids=False)
    again = reloaded.generate_poses(batch["input_ids"], batch["attention_mask"])
    same = bool(torch.equal(again.lengths.cpu(), torch.as_tensor(produced_lengths[:1])))
    cvslt = AutoModelForSeq2SeqLM.from_pretrained(models_dir / "cvslt" / "model")
    say(
        f"9. reloaded {type(reloaded).__name__} with AutoModel (same length: {same}) and "
        f"{type(cvslt).__name__} with AutoModelForSeq2SeqLM from {models_dir}"
    )
    lap("reload")
    total_wall = sum(t["wall_s"] for t in timings.values())
    total_cpu = sum(t["cpu_s"] for t in timings.values())
    say(f"done in {total_wall:.0f} s wall ({total_cpu:.0f} s CPU); models in {models_dir}")
    results = {
        "settings": asdict(settings),
        "translation": translation,
        "examples": pairs,
        "production": table,
        "production_table": table_text,
        "acceptance": acceptance,
        "files": files,
        "models": sorted(str(p.parent) for p in models_dir.rglob("config.json")),
        "timings": timings,
    }
    (out / "demo_results.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    return results


__all__ = ["DEMO_SENTENCES", "DemoSettings", "run_demo"]
