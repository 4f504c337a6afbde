"""The end-to-end demo on the embedded corpus (the README's main job, ``signbridge demo``).

It generates the embedded corpus, trains on the CPU the per-frame pose VAE and then, side by side
in worker processes (one per core, a progress bar each), a small CV-SLT (visual features -> text),
a pose-input CV-SLT back-translator (poses -> text), the pose autoencoder (TAE) of FGD and two
NARSignProducers (without and with knowledge distillation); translates a few dev samples and
shows them beside their references; reports the translation scores and the production table (the
NAR-SLP paper's Table 1 format) on dev and test; produces poses for a few sentences and writes
``.pose`` files and GIFs; every model is saved with ``save_pretrained``, and two are reloaded
through the Auto classes.

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

from .evaluation.back_translation import BACKTRANSLATION_FILE, BackTranslator
from .evaluation.production import (
    MEAN,
    NAR_WITH_KD,
    NAR_WITHOUT_KD,
    RANDOM,
    evaluate_production,
    format_production_table,
    produce_poses,
)
from .training.callbacks import ProgressEventsCallback
from .training.nar_slp import NARSignProducerArguments, build_nar_tokenizer, save_producer, train_nar_slp
from .training.pose_autoencoder import train_pose_autoencoder
from .training.pose_vae import PoseVAETrainingArguments, train_pose_vae
from .utils.runtime import cpu_seconds

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
    test_size: int = 600  # about PHOENIX14T's 642: FGD on ~2400 windows; KD vs no-KD is within noise on 100-300
    # ---- CV-SLT (features -> text) ----
    cvslt_epochs: float = 24.0  # 14 learned one sentence for most inputs (dev BLEU-4 4.6); 24: 22.3 (greedy)
    cvslt_batch_size: int = 32
    cvslt_learning_rate: float = 1e-3
    cvslt_model_config: dict = field(default_factory=lambda: _cvslt_model_config(64))
    # ---- back-translator (poses -> text) ----
    backtranslator_epochs: float = 20.0
    backtranslator_model_config: dict = field(default_factory=lambda: _cvslt_model_config(128))
    # every 4th frame (6.25 fps): 20 epochs reach dev BLEU-4 15.5 (greedy) in about 350 s of one
    # core; 10 epochs at every 2nd frame (270 s) learned one sentence for every input
    backtranslator_frame_stride: int = 4
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
    nar_epochs: float = 20.0
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
            # no dropout on the attention weights: its mask over the (T_max x T_max) self-attention
            # was half of a CPU training step (0.52 s -> 0.24 s per batch of 16)
            "dropout": 0.1, "attention_dropout": 0.0, "max_frames": 256,
        }
    )
    # ---- output ----
    num_translations_shown: int = 5
    sentences: tuple = DEMO_SENTENCES
    write_gifs: bool = True
    torch_threads: int | None = 1
    #: models trained side by side after the pose VAE (one single-threaded process each); None: one
    #: per CPU core, at most 5; 1: all in this process, one after another
    workers: int | None = None

    @classmethod
    def full(cls) -> "DemoSettings":
        """The main job's sizes (about 15 minutes on an idle 2-core CPU with two workers)."""
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
    a quarter of the frame rate: shorter sequences train several times faster, and the smooth
    motion of the poses loses little).
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


# ================================================================================ the training jobs
# Every model after the pose VAE trains independently of the others, so the demo runs them as jobs:
# one after another in this process (``workers=1``) or side by side in worker processes, one
# single-threaded job per CPU core (small models gain little from intra-op threads, and two
# processes use two cores fully). Jobs read the corpus from the seed (it is deterministic), save
# their model under ``models/`` and return what they measured; their progress comes back as events.

_CORPUS_CACHE: dict[tuple, dict[str, list[dict]]] = {}


def _demo_corpus(settings: DemoSettings) -> dict[str, list[dict]]:
    """The demo's corpus, generated once per process (a worker regenerates it from the seed)."""
    from .data.synthetic import SyntheticCorpusConfig, generate_corpus

    key = (settings.seed, settings.train_size, settings.dev_size, settings.test_size)
    if key not in _CORPUS_CACHE:
        _CORPUS_CACHE.clear()
        _CORPUS_CACHE[key] = generate_corpus(SyntheticCorpusConfig(
            seed=settings.seed, train_size=settings.train_size, dev_size=settings.dev_size,
            test_size=settings.test_size,
        ))
    return _CORPUS_CACHE[key]


def _job_translator(job: str, settings: DemoSettings, models_dir: str, model_config: dict, events) -> dict:
    """CV-SLT on visual features (``job="cvslt"``) or the pose-input back-translator (``"backtranslator"``)."""
    from .training import CVSLTDataArguments, CVSLTModelArguments, CVSLTTrainingArguments, train_cvslt

    corpus = _demo_corpus(settings)
    if job == "cvslt":
        dataset = _dataset_dict(corpus, ("features",))
        input_key, epochs, eval_splits = "features", settings.cvslt_epochs, "dev,test"
    else:
        dataset = _dataset_dict(corpus, ("poses",), frame_stride=settings.backtranslator_frame_stride)
        input_key, epochs, eval_splits = "poses", settings.backtranslator_epochs, ""
    model_args = CVSLTModelArguments(model_config=dict(model_config), tokenizer_level="word", lang_code="de_DE")
    data_args = CVSLTDataArguments(
        input_key=input_key, max_target_length=40, num_beams=settings.num_beams, max_new_tokens=32,
        eval_splits=eval_splits,
    )
    lr = settings.cvslt_learning_rate
    training_args = CVSLTTrainingArguments(
        output_dir=str(Path(models_dir) / job), num_train_epochs=epochs,
        per_device_train_batch_size=settings.cvslt_batch_size, per_device_eval_batch_size=64, learning_rate=lr,
        visual_head_learning_rate=lr, latent_network_learning_rate=lr, adam_beta2=0.998,
        lr_scheduler_type="cosine", warmup_steps=50, max_grad_norm=1.0, eval_strategy="no", save_strategy="no",
        logging_steps=50, predict_with_generate=True, generation_num_beams=settings.num_beams,
        report_to="none", use_cpu=True, seed=settings.seed, disable_tqdm=True, dataloader_pin_memory=False,
    )
    results = train_cvslt(model_args, data_args, training_args, dataset=dataset,
                          callbacks=[ProgressEventsCallback(events, job)])
    if job == "backtranslator":
        (Path(results["model_dir"]) / BACKTRANSLATION_FILE).write_text(
            json.dumps({"frame_stride": settings.backtranslator_frame_stride}), encoding="utf-8"
        )
    return results


def _job_tae(job: str, settings: DemoSettings, models_dir: str, _config: dict, events) -> dict:
    """The pose autoencoder whose window features FGD compares."""
    from transformers import TrainingArguments

    corpus = _demo_corpus(settings)
    folder = Path(models_dir) / job
    tae, metrics = train_pose_autoencoder(
        [e["poses"] for e in corpus["train"]],
        TrainingArguments(
            output_dir=str(folder), num_train_epochs=settings.tae_epochs, per_device_train_batch_size=64,
            learning_rate=1e-3, warmup_steps=10, logging_steps=50, save_strategy="no", report_to="none",
            use_cpu=True, seed=settings.seed, disable_tqdm=True, dataloader_pin_memory=False,
        ),
        window_stride=settings.tae_window_stride,
        report=lambda line: events.put(("say", job, "   " + line)),
        callbacks=[ProgressEventsCallback(events, job)],
        **settings.tae_config,
    )
    tae.save_pretrained(folder)
    return {"model_dir": str(folder), "train": metrics}


def _job_nar(job: str, settings: DemoSettings, models_dir: str, producer_config: dict, events) -> dict:
    """A NARSignProducer on the saved pose VAE, with (``job="nar_slp"``) or without KD (``"nar_slp_no_kd"``)."""
    from transformers import TrainingArguments

    from .models.pose_vae import PoseVAEModel

    corpus = _demo_corpus(settings)
    folder = Path(models_dir) / job
    vae = PoseVAEModel.from_pretrained(Path(models_dir) / "pose_vae")
    tokenizer = build_nar_tokenizer([e["text"] for e in corpus["train"]],
                                                vocab_size=settings.nar_tokenizer_vocab_size)
    model_args = NARSignProducerArguments(
        text_encoder_config=dict(settings.nar_text_encoder_config),
        producer_config=dict(producer_config),
        use_distillation=job == "nar_slp",
    )
    training_args = TrainingArguments(
        output_dir=str(folder), num_train_epochs=settings.nar_epochs,
        per_device_train_batch_size=settings.nar_batch_size, learning_rate=settings.nar_learning_rate,
        weight_decay=0.01, warmup_steps=20, lr_scheduler_type="cosine", logging_steps=50, save_strategy="no",
        report_to="none", use_cpu=True, seed=settings.seed, disable_tqdm=True, dataloader_pin_memory=False,
    )
    model, metrics = train_nar_slp(
        corpus["train"], vae, tokenizer, training_args, model_args,
        report=lambda line: events.put(("say", job, "   " + line)),
        callbacks=[ProgressEventsCallback(events, job)],
    )
    save_producer(model, tokenizer, folder)
    return {"model_dir": str(folder), "train": metrics}


_JOBS: dict[str, tuple[Callable[..., dict], str]] = {
    # the longest first: with two workers the two NAR-SLP trainings run side by side, then the rest
    NAR_WITH_KD: (_job_nar, "nar_slp"),
    NAR_WITHOUT_KD: (_job_nar, "nar_slp_no_kd"),
    "back-translator (poses -> text)": (_job_translator, "backtranslator"),
    "CV-SLT (features -> text)": (_job_translator, "cvslt"),
    "TAE (FGD features)": (_job_tae, "pose_autoencoder"),
}


def _run_job(fn: Callable[..., dict], job: str, settings: DemoSettings, models_dir: str, config: dict,
             events) -> dict:
    """Run one job (in this process or a worker) and add its own wall and CPU seconds."""
    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)
    from transformers import set_seed
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_warning()
    set_seed(settings.seed)
    wall, cpu = time.time(), time.process_time()
    events.put(("start", job, None))
    result = fn(job, settings, models_dir, config, events)
    result["timing"] = {"wall_s": round(time.time() - wall, 1), "cpu_s": round(time.process_time() - cpu, 1)}
    events.put(("done", job, result["timing"]))
    return result


class _EventSink:
    """Receives the jobs' events: one tqdm bar per job (steps, last loss) and their report lines."""

    def __init__(self, titles: dict[str, str], say: Callable[[str], None], progress: bool):
        self.titles = titles
        self.say = say
        self.progress = progress
        self.bars: dict[str, Any] = {}
        self.positions = {job: i for i, job in enumerate(titles)}

    def put(self, event: tuple) -> None:
        from tqdm.auto import tqdm

        kind, job, value = event
        bar = self.bars.get(job)
        if kind == "say":
            (tqdm.write if self.bars and self.say is print else self.say)(value)
        elif kind == "total" and self.progress:
            self.bars[job] = tqdm(total=value, desc=f"{self.titles[job]:<32}", unit="step",
                                  position=self.positions[job], leave=True, dynamic_ncols=True)
        elif kind == "step" and bar is not None:
            bar.update(value - bar.n)
        elif kind == "loss" and bar is not None:
            bar.set_postfix_str(f"loss {value:.3f}")
        elif kind == "trained" and bar is not None and job == "cvslt":
            bar.set_postfix_str("translating dev and test")
        elif kind == "done":
            if bar is not None:
                bar.close()
            line = f"   {self.titles[job]}: trained in {value['wall_s']:.0f} s ({value['cpu_s']:.0f} s CPU)"
            (tqdm.write if self.bars and self.say is print else self.say)(line)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _run_jobs(jobs: dict[str, tuple[Callable[..., dict], str, dict]], settings: DemoSettings, models_dir: Path,
              workers: int, say: Callable[[str], None], progress: bool) -> dict[str, dict]:
    """Run the training jobs, ``workers`` at a time (1: here, in order), and return their results by folder."""
    titles = {folder: title for title, (_, folder, _) in jobs.items()}
    sink = _EventSink(titles, say, progress)
    results: dict[str, dict] = {}
    try:
        if workers <= 1:
            for fn, folder, config in jobs.values():
                results[folder] = _run_job(fn, folder, settings, str(models_dir), config, sink)
            return results
        import multiprocessing
        import queue as queue_module

        context = multiprocessing.get_context("spawn")  # fork is unsafe once torch has started threads
        with context.Manager() as manager:
            events = manager.Queue()
            pool = context.Pool(processes=workers)
            finished = False
            try:
                pending = {
                    folder: pool.apply_async(_run_job, (fn, folder, settings, str(models_dir), config, events))
                    for fn, folder, config in jobs.values()
                }
                while pending:
                    try:
                        sink.put(events.get(timeout=0.5))
                    except queue_module.Empty:
                        pass
                    for folder in [f for f, r in pending.items() if r.ready()]:
                        results[folder] = pending.pop(folder).get()  # re-raises a job's error here
                while True:  # the last events
                    try:
                        sink.put(events.get_nowait())
                    except queue_module.Empty:
                        break
                finished = True
            finally:
                if finished:
                    pool.close()
                else:
                    pool.terminate()  # a failed or interrupted job stops the others at once
                pool.join()
        return results
    finally:
        sink.close()


def _load_producer(folder: str | os.PathLike):
    from transformers import AutoTokenizer

    from .models.nar_slp import NARSignProducer

    return NARSignProducer.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder)


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
        settings: explicit sizes (overrides ``quick``); tests pass tiny ones. ``settings.workers``
            sets how many models train side by side (default: one per CPU core, at most 5). The
            workers are spawned processes: from a script, call ``run_demo`` under
            ``if __name__ == "__main__":`` (multiprocessing's rule), or use ``workers=1``.
        report: receives every line the demo shows (``print`` for the command line; ``None``
            sends them to the logger).
        progress: show a tqdm bar per training job.

    Returns:
        ``{"settings", "translation" (scores per split), "examples" (hypothesis/reference pairs),
        "production" ({split: {row: metrics}}), "production_table" (text), "acceptance",
        "files", "timings" (wall and CPU seconds per stage; the jobs' own in ``training_jobs``)}``.
    """
    settings = settings or (DemoSettings.quick() if quick else DemoSettings.full())
    say = report if report is not None else logger.info
    if settings.torch_threads:
        # Small models gain nothing from intra-op threads, and on a busy CPU the spinning threads
        # slow every step down many times over.
        torch.set_num_threads(settings.torch_threads)
    out = Path(output_dir)
    models_dir = out / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, dict[str, float]] = {}
    clock = {"wall": time.time(), "cpu": cpu_seconds()}

    def lap(stage: str) -> None:
        wall, cpu = time.time(), cpu_seconds()
        timings[stage] = {"wall_s": round(wall - clock["wall"], 1), "cpu_s": round(cpu - clock["cpu"], 1)}
        clock.update(wall=wall, cpu=cpu)
        say(f"[{stage}: {timings[stage]['wall_s']:.0f} s wall, {timings[stage]['cpu_s']:.0f} s CPU]")

    from transformers import set_seed

    set_seed(settings.seed)
    workers = settings.workers if settings.workers is not None else min(len(_JOBS), os.cpu_count() or 1)
    say(f"signbridge demo ({'quick' if quick else 'full'} settings, {workers} worker(s)) -> {out}")

    # ---- 1. the embedded corpus ----
    corpus = _demo_corpus(settings)
    lengths = [e["num_frames"] for e in corpus["train"]]
    say(
        f"1. embedded corpus: {len(corpus['train'])}/{len(corpus['dev'])}/{len(corpus['test'])} sequences "
        f"(train/dev/test), {np.mean(lengths):.0f} frames on average (min {min(lengths)}, max {max(lengths)}), "
        f"features {corpus['train'][0]['features'].shape[1]}-d, poses {corpus['train'][0]['poses'].shape[1:]}"
    )
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
    lap("corpus")

    # ---- 2. pose VAE (the NAR-SLP trainings need it) ----
    say("2. training the per-frame pose VAE (LGM + PGM) ...")
    train_pose_vae(
        [e["poses"] for e in corpus["train"]],
        args=PoseVAETrainingArguments(
            num_epochs=settings.vae_epochs, batch_size=settings.vae_batch_size,
            learning_rate=settings.vae_learning_rate, seed=settings.seed,
        ),
        dev_sequences=[e["poses"] for e in corpus["dev"]],
        output_dir=models_dir / "pose_vae",
        progress=progress, report=lambda line: say("   " + line),
        latent_dim=settings.vae_latent_dim, hidden_sizes=list(settings.vae_hidden_sizes),
    )
    lap("pose_vae")

    # ---- 3. the other five models ----
    configs = {"nar_slp": producer_config, "nar_slp_no_kd": producer_config, "cvslt": cvslt_config,
               "backtranslator": bt_config, "pose_autoencoder": {}}
    jobs = {title: (fn, folder, configs[folder]) for title, (fn, folder) in _JOBS.items()}
    say(f"3. training {', '.join(jobs)} ({workers} at a time) ...")
    job_results = _run_jobs(jobs, settings, models_dir, workers, say, progress)
    lap("training")
    for folder in configs:
        timings[folder] = job_results[folder]["timing"]

    # ---- 4. CV-SLT translations ----
    cvslt_results = job_results["cvslt"]
    translation = {s: {k: cvslt_results[s][k] for k in ("bleu1", "bleu2", "bleu3", "bleu4", "rouge_l")}
                   for s in ("dev", "test")}
    pairs = []
    with open(models_dir / "cvslt" / "predictions_dev.tsv", encoding="utf-8") as handle:
        next(handle)
        for line, _ in zip(handle, range(settings.num_translations_shown), strict=False):
            hyp, ref = line.rstrip("\n").split("\t")
            pairs.append({"hypothesis": hyp, "reference": ref})
    say(f"4. CV-SLT dev translations (beam {settings.num_beams}):")
    for pair in pairs:
        say(f"     REF: {pair['reference']}\n     HYP: {pair['hypothesis']}")
    for split, scores in translation.items():
        say(f"   CV-SLT {split}: " + "  ".join(f"{k.upper().replace('_', '-')} {v:.2f}" for k, v in scores.items()))

    # ---- 5. the production table ----
    say("5. evaluating production (FGD with the TAE, back-translation BLEU/ROUGE, DurACC, DTW) ...")
    from .models.pose_autoencoder import PoseAutoencoderModel

    tae = PoseAutoencoderModel.from_pretrained(models_dir / "pose_autoencoder").eval()
    back_translator = BackTranslator.from_pretrained(
        job_results["backtranslator"]["model_dir"], num_beams=settings.num_beams
    )
    producers = {NAR_WITHOUT_KD: _load_producer(models_dir / "nar_slp_no_kd"),
                 NAR_WITH_KD: _load_producer(models_dir / "nar_slp")}
    table = evaluate_production(
        producers, {"dev": corpus["dev"], "test": corpus["test"]}, corpus["train"],
        tae=tae, back_translator=back_translator, seed=settings.seed, progress=progress,
        report=lambda text: None,
    )
    table_text = format_production_table(table)
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

    # ---- 6. produce poses for a few sentences ----
    say("6. producing poses for new sentences ...")
    kd_model, kd_tokenizer = producers[NAR_WITH_KD]
    poses, produced_lengths = produce_poses(kd_model, kd_tokenizer, list(settings.sentences))
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

    # ---- 7. reload through the Auto classes ----
    from transformers import AutoModel, AutoModelForSeq2SeqLM, AutoTokenizer

    reloaded = AutoModel.from_pretrained(models_dir / "nar_slp")
    batch = AutoTokenizer.from_pretrained(models_dir / "nar_slp")([settings.sentences[0]], return_tensors="pt",
                                                                   return_token_type_ids=False)
    again = reloaded.generate_poses(batch["input_ids"], batch["attention_mask"])
    same = bool(torch.equal(again.lengths.cpu(), torch.as_tensor(produced_lengths[:1])))
    cvslt = AutoModelForSeq2SeqLM.from_pretrained(models_dir / "cvslt" / "model")
    say(
        f"7. reloaded {type(reloaded).__name__} with AutoModel (same length: {same}) and "
        f"{type(cvslt).__name__} with AutoModelForSeq2SeqLM from {models_dir}"
    )
    lap("reload")
    stages = ("corpus", "pose_vae", "training", "evaluation", "produce", "reload")
    total_wall = sum(timings[s]["wall_s"] for s in stages)
    total_cpu = sum(timings[s]["cpu_s"] for s in stages)  # the workers' CPU time is counted once they exit
    say(f"done in {total_wall:.0f} s wall ({total_cpu:.0f} s CPU over all processes); models in {models_dir}")
    results = {
        "settings": asdict(settings),
        "workers": workers,
        "translation": translation,
        "examples": pairs,
        "production": table,
        "production_table": table_text,
        "acceptance": acceptance,
        "files": files,
        "models": sorted(str(p.parent) for p in models_dir.rglob("config.json")),
        "timings": timings,
        "total_wall_s": round(total_wall, 1),
    }
    (out / "demo_results.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    return results


__all__ = ["DEMO_SENTENCES", "DemoSettings", "run_demo"]
