"""``run_demo``: the end-to-end demo, one function per numbered step of what it shows.

1. the embedded corpus (and the model configs sized to it), 2. the pose VAE, 3. the other five
models side by side (:mod:`~signbridge.demo.jobs`, :mod:`~signbridge.demo.pool`), 4. CV-SLT
translations and scores, 5. the production table, 6. poses (``.pose`` files and GIFs) for a few
sentences, 7. two models reloaded through the Auto classes. Each stage's wall and CPU time is shown
and returned.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers.utils import logging

from ..evaluation.back_translation import BackTranslator
from ..evaluation.comparison import bootstrap_mean, comparison_key, format_comparison
from ..evaluation.production import (
    MEAN,
    NAR_WITH_KD,
    NAR_WITHOUT_KD,
    RANDOM,
    evaluate_production_with_comparisons,
    format_production_table,
    produce_poses,
)
from ..training.pose_vae import PoseVAETrainingArguments, train_pose_vae
from ..utils.files import atomic_write_many, atomic_write_text
from ..utils.runtime import cpu_seconds
from .jobs import JOBS, demo_corpus, run_timed_job
from .pool import run_jobs_side_by_side
from .progress import JobProgress
from .settings import DemoSettings, sized_model_configs

logger = logging.get_logger("signbridge.demo")

Say = Callable[[str], None]
#: the stages whose times add up to the demo's total
STAGES = ("corpus", "pose_vae", "training", "evaluation", "produce", "reload")


class _Stopwatch:
    """Wall and CPU seconds per stage: :meth:`lap` records and shows the time since the last lap."""

    def __init__(self, say: Say):
        self.say = say
        self.timings: dict[str, dict[str, float]] = {}
        self._wall, self._cpu = time.time(), cpu_seconds()

    def lap(self, stage: str) -> None:
        wall, cpu = time.time(), cpu_seconds()
        self.timings[stage] = {"wall_s": round(wall - self._wall, 1), "cpu_s": round(cpu - self._cpu, 1)}
        self._wall, self._cpu = wall, cpu
        self.say(
            f"[{stage}: {self.timings[stage]['wall_s']:.0f} s wall, {self.timings[stage]['cpu_s']:.0f} s CPU]"
        )


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
            (``poses/``), the tables (``production_table.txt``/``.json``), the comparisons of its rows
            (``production_comparisons.json``) and ``demo_results.json``.
        quick: use :meth:`DemoSettings.quick` (under 3 minutes; CV-SLT translates, production scores are low) instead of
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
        "production" ({split: {row: metrics}}), "production_table" (text), "comparisons" (paired
        bootstrap comparisons of the rows, ``{split: {"A vs B": {"fgd_x10", "dur_acc"}}}``),
        "acceptance" (``{check: passed}``), "acceptance_spread" (each check's interval and P(A<B)),
        "files", "timings" (wall and CPU seconds per stage, and each training job's own under its
        folder name)}``.
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
    watch = _Stopwatch(say)

    from transformers import set_seed

    set_seed(settings.seed)
    workers = settings.workers if settings.workers is not None else min(len(JOBS), os.cpu_count() or 1)
    say(f"signbridge demo ({'quick' if quick else 'full'} settings, {workers} worker(s)) -> {out}")

    corpus = _show_corpus(settings, say)
    configs = sized_model_configs(settings, corpus)
    watch.lap("corpus")
    _train_pose_vae(settings, corpus, models_dir, say, progress)
    watch.lap("pose_vae")
    job_results = _train_side_by_side(settings, configs, models_dir, workers, say, progress)
    watch.lap("training")
    for folder in configs:
        watch.timings[folder] = job_results[folder]["timing"]
    translation, pairs = _show_translations(settings, job_results["cvslt"], models_dir, say)
    table, table_text, comparisons, producers = _evaluate_production(
        settings, corpus, job_results, out, say, progress
    )
    acceptance, acceptance_spread = _acceptance(settings, table, comparisons, say)
    watch.lap("evaluation")
    files, produced_lengths = _produce_poses(settings, *producers[NAR_WITH_KD], out, say)
    watch.lap("produce")
    _reload_with_auto_classes(settings, models_dir, produced_lengths, say)
    watch.lap("reload")

    timings = watch.timings
    total_wall = sum(timings[s]["wall_s"] for s in STAGES)
    total_cpu = sum(timings[s]["cpu_s"] for s in STAGES)  # the workers' CPU time is counted once they exit
    say(f"done in {total_wall:.0f} s wall ({total_cpu:.0f} s CPU over all processes); models in {models_dir}")
    results = {
        "settings": asdict(settings),
        "workers": workers,
        "translation": translation,
        "examples": pairs,
        "production": table,
        "production_table": table_text,
        "comparisons": comparisons,
        "acceptance": acceptance,
        "acceptance_spread": acceptance_spread,
        "files": files,
        "models": sorted(str(p.parent) for p in models_dir.rglob("config.json")),
        "timings": timings,
        "total_wall_s": round(total_wall, 1),
    }
    atomic_write_text(out / "demo_results.json", json.dumps(results, indent=2, default=str))
    return results


# ==================================================================================== the steps


def _show_corpus(settings: DemoSettings, say: Say) -> dict[str, list[dict]]:
    """1. The embedded corpus (generated from the seed) and its statistics."""
    corpus = demo_corpus(settings)
    lengths = [e["num_frames"] for e in corpus["train"]]
    say(
        f"1. embedded corpus: {len(corpus['train'])}/{len(corpus['dev'])}/{len(corpus['test'])} sequences "
        f"(train/dev/test), {np.mean(lengths):.0f} frames on average (min {min(lengths)}, max {max(lengths)}), "
        f"features {corpus['train'][0]['features'].shape[1]}-d, poses {corpus['train'][0]['poses'].shape[1:]}"
    )
    return corpus


def _train_pose_vae(
    settings: DemoSettings, corpus: dict[str, list[dict]], models_dir: Path, say: Say, progress: bool
) -> None:
    """2. The per-frame pose VAE, saved to ``models/pose_vae`` (the NAR-SLP trainings need it)."""
    say("2. training the per-frame pose VAE (LGM + PGM) ...")
    train_pose_vae(
        [e["poses"] for e in corpus["train"]],
        args=PoseVAETrainingArguments(
            num_epochs=settings.vae_epochs,
            batch_size=settings.vae_batch_size,
            learning_rate=settings.vae_learning_rate,
            seed=settings.seed,
        ),
        dev_sequences=[e["poses"] for e in corpus["dev"]],
        output_dir=models_dir / "pose_vae",
        progress=progress,
        report=lambda line: say("   " + line),
        latent_dim=settings.vae_latent_dim,
        hidden_sizes=list(settings.vae_hidden_sizes),
    )


def _train_side_by_side(
    settings: DemoSettings, configs: dict[str, dict], models_dir: Path, workers: int, say: Say, progress: bool
) -> dict[str, dict]:
    """3. The other five models, ``workers`` at a time; their results by folder."""
    say(f"3. training {', '.join(JOBS)} ({workers} at a time) ...")
    order = {folder: i for i, folder in enumerate(settings.job_order or ())}
    jobs = {
        folder: (run_timed_job, (fn, folder, settings, str(models_dir), configs[folder]))
        for fn, folder in sorted(JOBS.values(), key=lambda job: order.get(job[1], len(order)))
    }
    shown = JobProgress({folder: title for title, (_, folder) in JOBS.items()}, say, progress)
    try:
        return run_jobs_side_by_side(jobs, workers, shown.put)
    finally:
        shown.close()


def _show_translations(
    settings: DemoSettings, cvslt_results: dict, models_dir: Path, say: Say
) -> tuple[dict[str, dict[str, float]], list[dict[str, str]]]:
    """4. A few CV-SLT dev translations beside their references, and the scores on dev and test."""
    translation = {
        s: {k: cvslt_results[s][k] for k in ("bleu1", "bleu2", "bleu3", "bleu4", "rouge_l")}
        for s in ("dev", "test")
    }
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
        say(
            f"   CV-SLT {split}: "
            + "  ".join(f"{k.upper().replace('_', '-')} {v:.2f}" for k, v in scores.items())
        )
    return translation, pairs


def _load_producer(folder: str | os.PathLike):
    from transformers import AutoTokenizer

    from ..models.nar_slp import NARSignProducer

    return NARSignProducer.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder)


def _evaluate_production(
    settings: DemoSettings,
    corpus: dict[str, list[dict]],
    job_results: dict[str, dict],
    out: Path,
    say: Say,
    progress: bool,
) -> tuple[dict, str, dict, dict[str, tuple]]:
    """5. The production table (FGD with the TAE, back-translation, DurACC, DTW) on dev and test,
    shown and written to ``production_table.txt``/``.json``, and its rows compared pairwise by a paired
    bootstrap over the sentences (``production_comparisons.json``); also the two producers it loaded."""
    say("5. evaluating production (FGD with the TAE, back-translation BLEU/ROUGE, DurACC, DTW) ...")
    from ..models.pose_autoencoder import PoseAutoencoderModel

    models_dir = out / "models"
    tae = PoseAutoencoderModel.from_pretrained(models_dir / "pose_autoencoder").eval()
    back_translator = BackTranslator.from_pretrained(
        job_results["backtranslator"]["model_dir"], num_beams=settings.num_beams
    )
    producers = {
        NAR_WITHOUT_KD: _load_producer(models_dir / "nar_slp_no_kd"),
        NAR_WITH_KD: _load_producer(models_dir / "nar_slp"),
    }
    table, comparisons = evaluate_production_with_comparisons(
        producers,
        {"dev": corpus["dev"], "test": corpus["test"]},
        corpus["train"],
        tae=tae,
        back_translator=back_translator,
        seed=settings.seed,
        num_resamples=settings.num_resamples,
        bootstrap_seed=settings.bootstrap_seed,
        progress=progress,
        report=lambda text: None,
    )
    table_text = format_production_table(table)
    say(table_text)
    write_production_files(out, table, table_text, comparisons)
    return table, table_text, comparisons, producers


def write_production_files(out: Path, table: dict, table_text: str, comparisons: dict) -> list[Path]:
    """``production_table.txt``/``.json`` and ``production_comparisons.json`` in ``out``, as one unit: a failed
    write (a full disk) keeps the previous three files."""
    paths = [out / "production_table.txt", out / "production_table.json", out / "production_comparisons.json"]
    texts = [table_text, json.dumps(table, indent=2), json.dumps(comparisons, indent=2)]
    with atomic_write_many(paths, "w", encoding="utf-8", newline="") as files:
        for f, text in zip(files, texts, strict=True):
            f.write(text)
    return paths


#: the demo's acceptance checks of NAR-SLP w/ KD on the test split: check -> (A, B) of "FGD x10 of A below B's"
FGD_CHECKS = {
    "kd_fgd_below_mean": (NAR_WITH_KD, MEAN),
    "kd_fgd_below_random": (NAR_WITH_KD, RANDOM),
    "kd_fgd_below_no_kd": (NAR_WITH_KD, NAR_WITHOUT_KD),
}
DURACC_THRESHOLD = 0.76


def _acceptance(
    settings: DemoSettings, table: dict, comparisons: dict, say: Say
) -> tuple[dict[str, bool], dict[str, dict[str, Any]]]:
    """The main job's acceptance checks on the test split (NAR-SLP with KD against the others), each with
    its spread: a paired bootstrap over the test sentences. An FGD check passes when the whole 95%
    interval of FGD(A) - FGD(B) lies below 0, the DurACC check when DurACC's whole 95% interval lies at
    or above 0.76; one run's values alone are no evidence for a small difference."""
    test = comparisons["test"]
    spread: dict[str, dict[str, Any]] = {
        key: test[comparison_key(a, b)]["fgd_x10"] for key, (a, b) in FGD_CHECKS.items()
    }
    # DurACC is the mean of per-sentence 0/1 outcomes: its bootstrap depends only on how many are correct
    kd = table["test"][NAR_WITH_KD]
    count = next(iter(test.values()))["dur_acc"]["num_sentences"]
    correct = round(kd["dur_acc"] * count)
    spread[f"kd_duracc_at_least_{DURACC_THRESHOLD}"] = dict(
        bootstrap_mean(
            np.r_[np.ones(correct), np.zeros(count - correct)],
            threshold=DURACC_THRESHOLD,
            num_resamples=settings.num_resamples,
            seed=settings.bootstrap_seed,
        ),
        metric="dur_acc",
        row=NAR_WITH_KD,
    )
    acceptance = {
        key: bool(record["a_below_b"] if "a_below_b" in record else record["at_least"])
        for key, record in spread.items()
    }
    say(
        f"   acceptance (test; paired bootstrap over the {count} test sentences, {settings.num_resamples} "
        f"resamples, seed {settings.bootstrap_seed}: an FGD check is True when the 95% interval of "
        f"FGD(A)-FGD(B) lies below 0, DurACC's when its 95% interval lies at or above {DURACC_THRESHOLD}): "
        + ", ".join(f"{k}={v}" for k, v in acceptance.items())
    )
    for key, record in spread.items():
        if "a_below_b" in record:
            say(f"     {key}: {format_comparison(record)}")
        else:
            low, high = record["interval"]
            say(
                f"     {key}: dur_acc {record['row']} {record['value']:.3f} [95%: {low:.3f}, {high:.3f}], "
                f"P(DurACC>={DURACC_THRESHOLD}) {record['p_at_least']:.2f} ({record['num_resamples']} resamples "
                f"of {record['num_sentences']} sentences)"
            )
    return acceptance, spread


def _produce_poses(
    settings: DemoSettings, model, tokenizer, out: Path, say: Say
) -> tuple[dict[str, list[str]], Any]:
    """6. Poses for ``settings.sentences`` from the NAR-SLP with KD: ``poses/sentence_<i>.pose`` (and
    ``.gif``); returns the files and the produced lengths."""
    say("6. producing poses for new sentences ...")
    poses, produced_lengths = produce_poses(model, tokenizer, list(settings.sentences))
    files = {"pose": [], "gif": []}
    poses_dir = out / "poses"
    poses_dir.mkdir(exist_ok=True)
    from ..data.pose_files import render_pose_gif, write_pose_file

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
    return files, produced_lengths


def _reload_with_auto_classes(settings: DemoSettings, models_dir: Path, produced_lengths, say: Say) -> None:
    """7. The NAR-SLP with KD through ``AutoModel`` (it produces the same length again) and CV-SLT
    through ``AutoModelForSeq2SeqLM``."""
    from transformers import AutoModel, AutoModelForSeq2SeqLM, AutoTokenizer

    reloaded = AutoModel.from_pretrained(models_dir / "nar_slp")
    batch = AutoTokenizer.from_pretrained(models_dir / "nar_slp")(
        [settings.sentences[0]], return_tensors="pt", return_token_type_ids=False
    )
    again = reloaded.generate_poses(batch["input_ids"], batch["attention_mask"])
    same = bool(torch.equal(again.lengths.cpu(), torch.as_tensor(produced_lengths[:1])))
    cvslt = AutoModelForSeq2SeqLM.from_pretrained(models_dir / "cvslt" / "model")
    say(
        f"7. reloaded {type(reloaded).__name__} with AutoModel (same length: {same}) and "
        f"{type(cvslt).__name__} with AutoModelForSeq2SeqLM from {models_dir}"
    )


__all__ = ["run_demo"]
