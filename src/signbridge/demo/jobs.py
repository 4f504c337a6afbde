"""The demo's training jobs: every model after the pose VAE, one job each.

Every model after the pose VAE trains independently of the others, so the demo runs them as jobs:
one after another in this process (``workers=1``) or side by side in worker processes, one
single-threaded job per CPU core (small models gain little from intra-op threads, and two
processes use two cores fully), with :func:`~signbridge.demo.pool.run_jobs_side_by_side`. Jobs
read the corpus from the seed (it is deterministic), save their model under ``models/`` and return
what they measured; their progress comes back as events.

A job is ``fn(job, settings, models_dir, config, events)`` (``job``: its folder under
``models_dir``), run through :func:`run_timed_job`. Worker processes are spawned, so the job
functions stay top-level functions of this module.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..evaluation.production import NAR_WITH_KD, NAR_WITHOUT_KD
from ..training.callbacks import ProgressEventsCallback
from ..training.model_folder import finish_model_folder
from ..training.nar_slp import NARSignProducerArguments, build_nar_tokenizer, save_producer, train_nar_slp
from ..training.pose_autoencoder import train_pose_autoencoder
from .settings import DemoSettings, target_length_needed

_CORPUS_CACHE: dict[tuple, dict[str, list[dict]]] = {}

#: how the model cards of the demo's folders say they were trained
DEMO_COMMAND = "signbridge demo"


def _demo_config(settings: DemoSettings) -> dict:
    from dataclasses import asdict

    return {"demo_settings": asdict(settings)}


def demo_corpus(settings: DemoSettings) -> dict[str, list[dict]]:
    """The demo's corpus, generated once per process (a worker regenerates it from the seed)."""
    from ..data.synthetic import SyntheticCorpusConfig, generate_corpus

    key = (settings.seed, settings.train_size, settings.dev_size, settings.test_size)
    if settings.annotations_dir:
        key += (settings.annotations_dir, settings.annotation_prefix)
        if key not in _CORPUS_CACHE:
            _CORPUS_CACHE.clear()
            _CORPUS_CACHE[key] = _annotated_corpus(settings)
        return _CORPUS_CACHE[key]
    if key not in _CORPUS_CACHE:
        _CORPUS_CACHE.clear()
        _CORPUS_CACHE[key] = generate_corpus(
            SyntheticCorpusConfig(
                seed=settings.seed,
                train_size=settings.train_size,
                dev_size=settings.dev_size,
                test_size=settings.test_size,
            )
        )
    return _CORPUS_CACHE[key]


#: the demo's translators keep targets of at most 40 tokens: 38 words + </s> + language code
_MAX_WORDS = 38


def _annotated_corpus(settings: DemoSettings) -> dict[str, list[dict]]:
    """Real SLRT annotations with a synthesised signal (see ``DemoSettings.annotations_dir``)."""
    from ..data.slrt import read_slrt_annotations
    from ..data.synthetic import SyntheticCorpusConfig, synthesize_annotated

    config = SyntheticCorpusConfig(seed=settings.seed)
    corpus = {}
    for split, size in (
        ("train", settings.train_size),
        ("dev", settings.dev_size),
        ("test", settings.test_size),
    ):
        records = read_slrt_annotations(
            Path(settings.annotations_dir) / f"{settings.annotation_prefix}.{split}"
        )
        if split == "train":
            records = [r for r in records if len(r["text"].split()) <= _MAX_WORDS]
        corpus[split] = list(synthesize_annotated(records[:size], split, config))
    return corpus


def _dataset_dict(
    corpus: dict[str, list[dict]],
    columns: tuple[str, ...],
    frame_stride: int = 1,
    text_columns: tuple[str, ...] = (),
):
    """The corpus splits as a ``datasets.DatasetDict`` with the given array columns (and name, text, and the
    string columns ``text_columns``, e.g. ``("gloss",)``).

    ``frame_stride`` keeps every n-th step of the array columns (the back-translator reads poses at
    a quarter of the frame rate: shorter sequences train several times faster, and the smooth
    motion of the poses loses little).
    """
    from datasets import Array2D, Array3D, Dataset, DatasetDict, Features, Value

    out = {}
    for split, examples in corpus.items():
        feats = {"name": Value("string"), "text": Value("string")}
        data: dict[str, list] = {"name": [e["name"] for e in examples], "text": [e["text"] for e in examples]}
        for col in text_columns:
            feats[col] = Value("string")
            data[col] = [str(e[col]) for e in examples]
        for col in columns:
            first = np.asarray(examples[0][col])
            if first.ndim == 2:
                feats[col] = Array2D(shape=(None, first.shape[1]), dtype="float32")
            else:
                feats[col] = Array3D(shape=(None,) + tuple(first.shape[1:]), dtype="float32")
            data[col] = [np.asarray(e[col], dtype=np.float32)[::frame_stride] for e in examples]
        out[split] = Dataset.from_dict(data, features=Features(feats))
    return DatasetDict(out).with_format("numpy")


def translator_job(job: str, settings: DemoSettings, models_dir: str, model_config: dict, events) -> dict:
    """CV-SLT on visual features (``job="cvslt"``) or the pose-input back-translator (``"backtranslator"``)."""
    from ..training import CVSLTDataArguments, CVSLTModelArguments, train_cvslt
    from ..training.trainer import recipe_training_args

    corpus = demo_corpus(settings)
    with_glosses = settings.sign2gloss_epochs > 0
    if with_glosses and not all(e.get("gloss") for split in corpus.values() for e in split):
        raise ValueError("sign2gloss_epochs > 0 needs a gloss sequence for every sample of the corpus")
    text_columns = ("gloss",) if with_glosses else ()
    if job == "cvslt":
        dataset = _dataset_dict(corpus, ("features",), text_columns=text_columns)
        input_key, epochs, eval_splits = "features", settings.cvslt_epochs, "dev,test"
    else:
        dataset = _dataset_dict(
            corpus, ("poses",), frame_stride=settings.backtranslator_frame_stride, text_columns=text_columns
        )
        input_key, epochs, eval_splits = "poses", settings.backtranslator_epochs, ""
    model_args = CVSLTModelArguments(
        model_config=dict(model_config),
        tokenizer_level="word",
        lang_code="de_DE",
        sign2gloss_epochs=settings.sign2gloss_epochs,
        sign2gloss_learning_rate=settings.sign2gloss_learning_rate,
        freeze_visual_head=with_glosses,
    )
    data_args = CVSLTDataArguments(
        input_key=input_key,
        # the embedded corpus' sentences fit 40/32; a corpus with longer ones (PHOENIX14T: 53 words) gets room
        max_target_length=max(40, target_length_needed(corpus)),
        num_beams=settings.num_beams,
        max_new_tokens=max(32, target_length_needed(corpus)),
        eval_splits=eval_splits,
    )
    training_args = recipe_training_args(
        str(Path(models_dir) / job),
        epochs=epochs,
        batch_size=settings.cvslt_batch_size,
        learning_rate=settings.cvslt_learning_rate,
        warmup_steps=settings.cvslt_warmup_steps,
        seed=settings.seed,
        predict_with_generate=True,
        generation_num_beams=settings.num_beams,
    )
    results = train_cvslt(
        model_args, data_args, training_args, dataset=dataset, callbacks=[ProgressEventsCallback(events, job)]
    )
    if job == "backtranslator":
        # it trained on every n-th frame: its feature extractor keeps every n-th frame of new poses too
        from transformers import AutoProcessor

        processor = AutoProcessor.from_pretrained(results["model_dir"])
        processor.feature_extractor.frame_stride = settings.backtranslator_frame_stride
        processor.save_pretrained(results["model_dir"])
        processor.feature_extractor.save_pretrained(results["model_dir"])
    return results


def tae_job(job: str, settings: DemoSettings, models_dir: str, _config: dict, events) -> dict:
    """The pose autoencoder whose window features FGD compares."""
    from transformers import TrainingArguments

    corpus = demo_corpus(settings)
    folder = Path(models_dir) / job
    tae, metrics = train_pose_autoencoder(
        [e["poses"] for e in corpus["train"]],
        TrainingArguments(
            output_dir=str(folder),
            num_train_epochs=settings.tae_epochs,
            per_device_train_batch_size=64,
            learning_rate=1e-3,
            warmup_steps=10,
            logging_steps=50,
            save_strategy="no",
            report_to="none",
            use_cpu=True,
            seed=settings.seed,
            disable_tqdm=True,
            dataloader_pin_memory=False,
        ),
        window_stride=settings.tae_window_stride,
        report=lambda line: events.put(("say", job, "   " + line)),
        callbacks=[ProgressEventsCallback(events, job)],
        **settings.tae_config,
    )
    tae.save_pretrained(folder)
    finish_model_folder(folder, command=DEMO_COMMAND, training_config=_demo_config(settings), scores=metrics)
    return {"model_dir": str(folder), "train": metrics}


def nar_job(job: str, settings: DemoSettings, models_dir: str, producer_config: dict, events) -> dict:
    """A NARSignProducer on the saved pose VAE, with (``job="nar_slp"``) or without KD (``"nar_slp_no_kd"``)."""
    from transformers import TrainingArguments

    from ..models.pose_vae import PoseVAEModel

    corpus = demo_corpus(settings)
    folder = Path(models_dir) / job
    vae = PoseVAEModel.from_pretrained(Path(models_dir) / "pose_vae")
    if settings.nar_text_encoder_name_or_path:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(settings.nar_text_encoder_name_or_path)
    else:
        tokenizer = build_nar_tokenizer(
            [e["text"] for e in corpus["train"]], vocab_size=settings.nar_tokenizer_vocab_size
        )
    text_config = dict(settings.nar_text_encoder_config)
    if not settings.nar_text_encoder_name_or_path:  # positions for the corpus' longest tokenized sentence
        longest = max(len(tokenizer(e["text"])["input_ids"]) for split in corpus.values() for e in split)
        text_config["max_position_embeddings"] = max(
            text_config.get("max_position_embeddings", 0), longest + 8
        )
    model_args = NARSignProducerArguments(
        text_encoder_name_or_path=settings.nar_text_encoder_name_or_path,
        text_encoder_config=text_config,
        producer_config=dict(producer_config),
        use_distillation=job == "nar_slp",
    )
    training_args = TrainingArguments(
        output_dir=str(folder),
        num_train_epochs=settings.nar_epochs,
        per_device_train_batch_size=settings.nar_batch_size,
        learning_rate=settings.nar_learning_rate,
        weight_decay=0.01,
        warmup_steps=20,
        lr_scheduler_type="cosine",
        logging_steps=50,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        seed=settings.seed,
        disable_tqdm=True,
        dataloader_pin_memory=False,
    )
    model, metrics = train_nar_slp(
        corpus["train"],
        vae,
        tokenizer,
        training_args,
        model_args,
        report=lambda line: events.put(("say", job, "   " + line)),
        callbacks=[ProgressEventsCallback(events, job)],
    )
    save_producer(
        model, tokenizer, folder, command=DEMO_COMMAND, training_config=_demo_config(settings), scores=metrics
    )
    return {"model_dir": str(folder), "train": metrics}


#: the jobs by title: (job function, folder under ``models/``)
JOBS: dict[str, tuple[Callable[..., dict], str]] = {
    # the longest first: with two workers the two NAR-SLP trainings run side by side, then the rest
    NAR_WITH_KD: (nar_job, "nar_slp"),
    NAR_WITHOUT_KD: (nar_job, "nar_slp_no_kd"),
    "back-translator (poses -> text)": (translator_job, "backtranslator"),
    "CV-SLT (features -> text)": (translator_job, "cvslt"),
    "TAE (FGD features)": (tae_job, "pose_autoencoder"),
}


def run_timed_job(
    fn: Callable[..., dict], job: str, settings: DemoSettings, models_dir: str, config: dict, events
) -> dict:
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


__all__ = ["JOBS", "demo_corpus", "nar_job", "run_timed_job", "tae_job", "translator_job"]
