"""The NAR-SLP paper's Table 1: Ground Truth, Mean, Random and producers scored by FGD x10, back-translation
BLEU-1..4 / ROUGE-L, DurACC and DTW (Hwang et al., 2022, Sec. 4.3).

:func:`evaluate_production` produces the poses of every producer for every split, builds the two constant
baselines and scores each row with :func:`score_production`; the FGD features come from a pose autoencoder (TAE),
the text from a :class:`~signbridge.evaluation.back_translation.BackTranslator`.
:func:`evaluate_production_with_comparisons` also compares rows pairwise with a paired bootstrap over the
sentences (:mod:`signbridge.evaluation.comparison`): one table is one run, and a small difference
between two rows is evidence only when its interval excludes 0.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm.auto import tqdm

from signbridge.data.validation import check_examples, check_pose_sequences
from signbridge.evaluation.back_translation import BackTranslator
from signbridge.utils.runtime import Report, say

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from signbridge.models.nar_slp import NARSignProducer
    from signbridge.models.pose_autoencoder import PoseAutoencoderModel

#: Row names of the production table, in the paper's order.
GROUND_TRUTH = "Ground Truth"
MEAN = "Mean"
RANDOM = "Random"
NAR_WITHOUT_KD = "NAR-SLP w/o KD"
NAR_WITH_KD = "NAR-SLP w/ KD"

#: Metric keys of one row and their printed headers (the paper's Table 1 plus DurACC and DTW).
TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("fgd_x10", "FGD x10"),
    ("bleu1", "BLEU-1"),
    ("bleu2", "BLEU-2"),
    ("bleu3", "BLEU-3"),
    ("bleu4", "BLEU-4"),
    ("rouge_l", "ROUGE-L"),
    ("dur_acc", "DurACC"),
    ("dtw", "DTW"),
)


@torch.no_grad()
def produce_poses(
    model: NARSignProducer,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    batch_size: int = 32,
    progress: bool = False,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Produce pose sequences for ``texts``: a list of ``(T_i, J, K)`` arrays (corpus coordinates) and the lengths."""
    if len(texts) == 0:
        raise ValueError("produce_poses: expected at least one text, got none")
    for i, text in enumerate(texts):
        if not str(text).strip():
            raise ValueError(f"produce_poses: text {i} is empty")
    out: list[np.ndarray] = []
    for begin in tqdm(range(0, len(texts), batch_size), desc="producing", disable=not progress, leave=False):
        chunk = [str(t) for t in texts[begin : begin + batch_size]]
        batch = tokenizer(chunk, padding=True, return_tensors="pt", return_token_type_ids=False)
        device = next(model.parameters()).device
        result = model.generate_poses(batch["input_ids"].to(device), batch["attention_mask"].to(device))
        for poses, length in zip(result.poses, result.lengths, strict=False):
            out.append(poses[: int(length)].float().cpu().numpy())
    return out, np.array([len(p) for p in out])


def fgd_score(
    tae: PoseAutoencoderModel, generated: Sequence[np.ndarray], references: Sequence[np.ndarray]
) -> dict[str, float]:
    """Fréchet Gesture Distance of two sets of pose sequences on the TAE's window features.

    Uses the FGD ``evaluate`` metric of :mod:`signbridge.metrics.fgd` (the ``metrics`` extra):
    non-overlapping windows stacked, never padded, Fréchet distance of the feature statistics.
    """
    from signbridge.utils.import_utils import require_evaluate

    require_evaluate("FGD in the production table")
    from signbridge.metrics.fgd import FGD

    result = FGD().compute(
        predictions=list(generated), references=list(references), model=tae, breakdowns=False
    )
    return {"fgd": float(result["fgd"]), "fgd_x10": float(result["fgd_x10"])}


def mean_pose(train_sequences: Sequence[np.ndarray]) -> np.ndarray:
    """The mean training pose ``(J, K)`` over all training frames (the Mean baseline's frame)."""
    seqs = check_pose_sequences(train_sequences, "train_sequences")
    total = sum(s.sum(axis=0, dtype=np.float64) for s in seqs)
    return (total / sum(len(s) for s in seqs)).astype(np.float32)


def baseline_mean(train_sequences: Sequence[np.ndarray], lengths: Sequence[int]) -> list[np.ndarray]:
    """Mean baseline: the mean training pose repeated for each true length."""
    pose = mean_pose(train_sequences)
    return [np.repeat(pose[None], int(n), axis=0) for n in lengths]


def baseline_random(train_sequences: Sequence[np.ndarray], count: int, seed: int = 0) -> list[np.ndarray]:
    """Random baseline: one training sequence drawn at random (by ``seed``), produced for every input.

    The NAR-SLP paper's bottom baselines are two constant "models", "each generating the mean pose
    and a randomly selected pose sequence from the training set" (Sec. 4.3): Mean outputs one pose,
    Random one real sequence, whatever the text. Its reported FGD (0.44 dev, close to Mean's 0.49)
    is what a set of copies of one sequence gives; drawing a new real sequence per sentence would
    instead reproduce the data distribution and score near Ground Truth. The drawn sequence keeps
    its own length.
    """
    seqs = check_pose_sequences(train_sequences, "train_sequences")
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    pick = int(np.random.default_rng(seed).integers(0, len(seqs)))
    return [seqs[pick].copy() for _ in range(count)]


def score_production(
    produced: Sequence[np.ndarray],
    references: Sequence[Mapping[str, Any]],
    *,
    tae: PoseAutoencoderModel,
    back_translator: BackTranslator | None = None,
    fps: float = 25.0,
    progress: bool = False,
    desc: str = "",
) -> dict[str, float]:
    """One Table-1 row: FGD x10, BLEU-1..4 and ROUGE-L of the back-translation, DurACC and mean DTW."""
    from signbridge.metrics import dtw_distance, duration_accuracy, translation_scores

    if len(produced) != len(references):
        raise ValueError(f"got {len(produced)} produced sequences for {len(references)} references")
    ref_poses = [np.asarray(r["poses"], dtype=np.float32) for r in references]
    produced = check_pose_sequences(produced, "produced", *ref_poses[0].shape[1:])
    row: dict[str, float] = {}
    row.update(fgd_score(tae, produced, ref_poses))
    if back_translator is not None:
        hyps = back_translator.translate(produced, progress=progress, desc=f"back-translating {desc}")
        row.update(translation_scores(hyps, [" ".join(str(r["text"]).split()) for r in references]))
    else:
        row.update({k: float("nan") for k in ("bleu1", "bleu2", "bleu3", "bleu4", "rouge_l")})
    row["dur_acc"] = duration_accuracy([len(p) for p in produced], [len(r) for r in ref_poses], fps=fps)
    row["dtw"] = float(np.mean([dtw_distance(p, r) for p, r in zip(produced, ref_poses, strict=False)]))
    return row


def default_comparisons(producer_names: Sequence[str]) -> list[tuple[str, str]]:
    """The pairs the production table is read for: each producer against Mean and Random (A = the producer),
    and NAR-SLP w/ KD against w/o KD when both are scored."""
    pairs = [(name, baseline) for name in producer_names for baseline in (MEAN, RANDOM)]
    if NAR_WITH_KD in producer_names and NAR_WITHOUT_KD in producer_names:
        pairs.append((NAR_WITH_KD, NAR_WITHOUT_KD))
    return pairs


def _split_candidates(
    producers: Mapping[str, tuple[Any, Any]],
    examples: Sequence[Mapping[str, Any]],
    train_poses: list[np.ndarray],
    seed: int,
    progress: bool,
) -> dict[str, list[np.ndarray]]:
    """Every row's pose sequences for one split: Ground Truth, Mean, Random and each producer."""
    lengths = [int(np.asarray(e["poses"]).shape[0]) for e in examples]
    candidates: dict[str, list[np.ndarray]] = {
        GROUND_TRUTH: [np.asarray(e["poses"], dtype=np.float32) for e in examples],
        MEAN: baseline_mean(train_poses, lengths),
        RANDOM: baseline_random(train_poses, len(examples), seed=seed),
    }
    for name, (model, tokenizer) in producers.items():
        candidates[name], _ = produce_poses(
            model, tokenizer, [e["text"] for e in examples], progress=progress
        )
    return candidates


def evaluate_production_with_comparisons(
    producers: Mapping[str, tuple[Any, Any]],
    eval_splits: Mapping[str, Sequence[Mapping[str, Any]]],
    train_examples: Sequence[Mapping[str, Any]],
    *,
    tae: PoseAutoencoderModel,
    back_translator: BackTranslator | None = None,
    fps: float = 25.0,
    seed: int = 0,
    comparisons: Sequence[tuple[str, str]] | None = None,
    num_resamples: int = 1000,
    bootstrap_seed: int = 0,
    confidence: float = 0.95,
    progress: bool = True,
    report: Report | None = None,
) -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, dict[str, dict[str, dict[str, Any]]]]]:
    """:func:`evaluate_production`, and each pair of rows compared with a paired bootstrap over sentences.

    Args:
        comparisons: ``(A, B)`` row names (default :func:`default_comparisons`; ``[]``: none). For
            each split every pair gets FGD x10 and DurACC records of
            :func:`signbridge.evaluation.comparison.compare_rows`: the single-run values, A - B's
            bootstrap mean and ``confidence`` percentile interval, P(A<B) over the resamples.
        num_resamples, bootstrap_seed, confidence: the bootstrap (the same resamples for every pair).
        The other arguments: as :func:`evaluate_production`.

    Returns:
        ``(table, comparisons)``: the table of :func:`evaluate_production` and
        ``{split: {"A vs B": {"fgd_x10": record, "dur_acc": record}}}``; ``report`` receives the
        table, then the comparisons (one line each).
    """
    from signbridge.evaluation.comparison import compare_rows, format_comparisons

    pairs = default_comparisons(list(producers)) if comparisons is None else list(comparisons)
    train_poses = check_pose_sequences([e["poses"] for e in train_examples], "train_examples poses")
    results: dict[str, dict[str, dict[str, float]]] = {}
    compared: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for split_index, (split, examples) in enumerate(eval_splits.items()):
        check_examples(examples, f"{split} examples", ("text", "poses"))
        candidates = _split_candidates(producers, examples, train_poses, seed + split_index, progress)
        rows = {}
        for name, produced in candidates.items():
            rows[name] = score_production(
                produced,
                examples,
                tae=tae,
                back_translator=back_translator,
                fps=fps,
                progress=progress,
                desc=f"{split}/{name}",
            )
        results[split] = rows
        if pairs:
            compared[split] = compare_rows(
                candidates,
                candidates[GROUND_TRUTH],
                pairs,
                tae=tae,
                fps=fps,
                num_resamples=num_resamples,
                seed=bootstrap_seed,
                confidence=confidence,
            )
    text = format_production_table(results)
    if compared:
        text += (
            f"\nPaired bootstrap over each split's sentences ({num_resamples} resamples, seed {bootstrap_seed}): "
            f"single-run A and B, A-B, its {100 * confidence:.0f}% interval, P(A<B)\n"
            + format_comparisons(compared)
        )
    say(report)(text)
    return results, compared


def evaluate_production(
    producers: Mapping[str, tuple[Any, Any]],
    eval_splits: Mapping[str, Sequence[Mapping[str, Any]]],
    train_examples: Sequence[Mapping[str, Any]],
    *,
    tae: PoseAutoencoderModel,
    back_translator: BackTranslator | None = None,
    fps: float = 25.0,
    seed: int = 0,
    progress: bool = True,
    report: Report | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """The paper's Table 1 for every split: Ground Truth, Mean, Random and each producer.

    Args:
        producers: row name -> ``(NARSignProducer, tokenizer)``, e.g.
            ``{NAR_WITHOUT_KD: (plain, tok), NAR_WITH_KD: (kd, tok)}``.
        eval_splits: split name -> examples with ``text`` and ``poses`` (e.g. ``{"dev": ..., "test": ...}``).
        train_examples: training examples (``poses``) for the Mean and Random baselines.
        tae: the :class:`~signbridge.models.pose_autoencoder.PoseAutoencoderModel` whose window
            features FGD compares.
        back_translator: a pose-input CV-SLT :class:`BackTranslator`; without it BLEU/ROUGE are NaN.
        fps: frame rate for DurACC (a prediction within 1 s of the true length counts).
        seed: seed of the Random baseline's draws.
        progress: tqdm bars for producing and back-translating.
        report: callable receiving each printed table (default: the module logger).

    Returns:
        ``{split: {row name: {fgd, fgd_x10, bleu1..bleu4, rouge_l, dur_acc, dtw}}}``. One run on one
        set of sentences: :func:`evaluate_production_with_comparisons` adds the spread of each
        comparison of rows.
    """
    table, _ = evaluate_production_with_comparisons(
        producers,
        eval_splits,
        train_examples,
        tae=tae,
        back_translator=back_translator,
        fps=fps,
        seed=seed,
        comparisons=[],
        progress=progress,
        report=report,
    )
    return table


def _cell(key: str, value: float, width: int = 0) -> str:
    # FGD x10 with 4 significant digits (rows of small models differ in the 4th decimal or beyond), DurACC 3 decimals
    if key == "fgd_x10":  # a set against itself is 0 up to float rounding (~1e-11): print it as 0
        return f"{0.0 if abs(value) < 1e-9 else value:>{width}.4g}"
    digits = 3 if key == "dur_acc" else 2
    return f"{value:>{width}.{digits}f}"


def format_production_table(results: Mapping[str, Mapping[str, Mapping[str, float]]]) -> str:
    """Render ``{split: {row: metrics}}`` as the paper's Table 1 (one block per split)."""
    name_width = max([len("Model")] + [len(r) for rows in results.values() for r in rows])
    header = f"{'Model':<{name_width}}  " + "  ".join(f"{h:>7}" for _, h in TABLE_COLUMNS)
    lines = []
    for split, rows in results.items():
        lines.append(f"[{split.upper()}]")
        lines.append(header)
        lines.append("-" * len(header))
        for name, row in rows.items():
            cells = []
            for key, _head in TABLE_COLUMNS:
                value = row.get(key, float("nan"))
                cells.append(_cell(key, value, 7))
            lines.append(f"{name:<{name_width}}  " + "  ".join(cells))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def format_markdown_table(results: Mapping[str, Mapping[str, Mapping[str, float]]]) -> str:
    """The same table as GitHub markdown (for model cards)."""
    head = "| Split | Model | " + " | ".join(h for _, h in TABLE_COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(TABLE_COLUMNS) + 2)]
    for split, rows in results.items():
        for name, row in rows.items():
            cells = [_cell(k, row.get(k, float("nan"))) for k, _ in TABLE_COLUMNS]
            lines.append(f"| {split} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


@dataclass
class ProductionEvaluationArguments:
    """What ``scripts/evaluate_production.py`` scores: which producers, TAE and back-translator, which splits."""

    producer: str | None = field(default=None, metadata={"help": "NARSignProducer folder trained with KD"})
    producer_no_kd: str | None = field(
        default=None, metadata={"help": "NARSignProducer folder trained without KD"}
    )
    tae: str = field(
        default="runs/pose_autoencoder_synthetic", metadata={"help": "PoseAutoencoderModel folder (FGD)"}
    )
    backtranslator: str | None = field(
        default=None, metadata={"help": "pose-input CV-SLT folder (BLEU/ROUGE)"}
    )
    num_beams: int = field(default=5, metadata={"help": "beam size of the back-translation"})
    seed: int = field(default=0, metadata={"help": "seed of the Random baseline's draw"})
    splits: str = field(default="dev,test", metadata={"help": "comma-separated splits to score"})
    output_json: str | None = field(default=None, metadata={"help": "also write the rows here"})
    comparisons: bool = field(
        default=False,
        metadata={
            "help": "also compare the rows pairwise (each producer vs Mean and Random, w/ KD vs w/o KD) with "
            "a paired bootstrap over the sentences: A-B, its 95% interval, P(A<B)"
        },
    )
    num_resamples: int = field(default=1000, metadata={"help": "bootstrap resamples of the comparisons"})
    bootstrap_seed: int = field(default=0, metadata={"help": "seed of the comparisons' resamples"})
    comparisons_json: str | None = field(default=None, metadata={"help": "also write the comparisons here"})


def _check_paths(args: ProductionEvaluationArguments) -> None:
    """The model folders and output files of ``main``'s arguments, checked before any data is loaded."""
    from signbridge.utils.files import check_model_folder, check_output_file

    for flag, path in (("--producer", args.producer), ("--producer_no_kd", args.producer_no_kd)):
        if path:
            check_model_folder(path, "nar_slp", "a NARSignProducer", flag, allow_hub_id=True)
    check_model_folder(args.tae, "pose_autoencoder", "a pose autoencoder (TAE)", "--tae")
    if args.backtranslator:
        check_model_folder(
            args.backtranslator, "cvslt", "a CV-SLT model", "--backtranslator", allow_hub_id=True
        )
    for flag, path in (("--output_json", args.output_json), ("--comparisons_json", args.comparisons_json)):
        if path:
            check_output_file(path, flag)


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """``scripts/evaluate_production.py``: Table 1 for the producers given, printed and returned; with
    ``--comparisons`` also the paired bootstrap comparisons of the rows (printed, ``--comparisons_json``)."""
    from transformers import AutoTokenizer

    from signbridge.data.loading import PoseDataArguments, load_text_pose_splits
    from signbridge.models.nar_slp import NARSignProducer
    from signbridge.models.pose_autoencoder import PoseAutoencoderModel
    from signbridge.utils.arguments import parse_config_and_flags
    from signbridge.utils.distributed import require_single_process
    from signbridge.utils.files import atomic_write

    require_single_process("evaluate_production.py")
    args, data_args = parse_config_and_flags((ProductionEvaluationArguments, PoseDataArguments), argv)
    if args.comparisons_json and not args.comparisons:
        raise ValueError("--comparisons_json needs --comparisons")
    _check_paths(args)  # user errors before any work
    splits = [s.strip() for s in args.splits.split(",") if s.strip()]
    data = load_text_pose_splits(data_args, ["train", *splits])
    producers = {}
    for name, path in ((NAR_WITHOUT_KD, args.producer_no_kd), (NAR_WITH_KD, args.producer)):
        if path:
            producers[name] = (NARSignProducer.from_pretrained(path), AutoTokenizer.from_pretrained(path))
    tae = PoseAutoencoderModel.from_pretrained(args.tae).eval()
    back_translator = (
        BackTranslator.from_pretrained(args.backtranslator, num_beams=args.num_beams)
        if args.backtranslator
        else None
    )
    results, comparisons = evaluate_production_with_comparisons(
        producers,
        {s: data[s] for s in splits},
        data["train"],
        tae=tae,
        back_translator=back_translator,
        seed=args.seed,
        comparisons=None if args.comparisons else [],
        num_resamples=args.num_resamples,
        bootstrap_seed=args.bootstrap_seed,
        report=print,
    )
    print(format_markdown_table(results))
    for path, value in ((args.output_json, results), (args.comparisons_json, comparisons)):
        if path:
            with atomic_write(path, "w", encoding="utf-8") as f:  # a failed write keeps the old file
                f.write(json.dumps(value, indent=2))
    return results


__all__ = [
    "ProductionEvaluationArguments",
    "main",
    "GROUND_TRUTH",
    "MEAN",
    "NAR_WITHOUT_KD",
    "NAR_WITH_KD",
    "RANDOM",
    "TABLE_COLUMNS",
    "baseline_mean",
    "baseline_random",
    "default_comparisons",
    "evaluate_production",
    "evaluate_production_with_comparisons",
    "fgd_score",
    "format_markdown_table",
    "format_production_table",
    "mean_pose",
    "produce_poses",
    "score_production",
]
