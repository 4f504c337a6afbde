"""Training and evaluation of sign language production (NAR-SLP), shared by the scripts and the demo.

The pieces follow Hwang et al. (2022), "Non-Autoregressive Sign Language Production via Knowledge
Distillation":

* :func:`train_pose_vae` trains the per-frame pose VAE (LGM encoder + PGM decoder) on normalised
  training frames with a plain PyTorch loop and a tqdm bar: the model is a small MLP over single
  frames, so the Trainer's per-step machinery (padding collator, evaluation loop) buys nothing.
* :func:`train_nar_slp` trains a :class:`~signbridge.models.nar_slp.NARSignProducer` (BERT text
  encoder, length regulator, non-autoregressive decoder, frozen VAE) with the transformers
  ``Trainer``; pose targets travel as ``pose_labels``/``pose_mask`` (the Trainer's label names).
* :func:`evaluate_production` computes the paper's Table 1 row (FGD x10, BLEU-1..4, ROUGE-L) plus
  DurACC and DTW for the Ground Truth, Mean, Random and any number of producers, with
  back-translation by a pose-input CV-SLT model and FGD on the features of a pose autoencoder (TAE).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers.utils import logging

from signbridge.training.callbacks import use_callbacks
from signbridge.training.cvslt import json_object_argument

logger = logging.get_logger(__name__)

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

Report = Callable[[str], None]

#: File beside a back-translator's weights recording how its input poses were prepared.
BACKTRANSLATION_FILE = "backtranslation.json"


# ----------------------------------------------------------------------------------------------
# Input checks and small helpers
# ----------------------------------------------------------------------------------------------


def _check_sequences(
    sequences: Sequence[np.ndarray], what: str, num_joints: int | None = None, joint_dim: int | None = None
) -> list[np.ndarray]:
    """Return the sequences as float32 arrays; refuse empty sets, wrong shapes and NaN/Inf."""
    if len(sequences) == 0:
        raise ValueError(f"{what}: expected at least one pose sequence, got none")
    out = []
    for i, seq in enumerate(sequences):
        arr = np.asarray(seq, dtype=np.float32)
        if arr.ndim != 3:
            raise ValueError(f"{what}[{i}]: expected a pose sequence of shape (T, J, K), got shape {arr.shape}")
        if arr.shape[0] == 0:
            raise ValueError(f"{what}[{i}]: expected at least one frame, got an empty sequence")
        if num_joints is not None and arr.shape[1] != num_joints:
            raise ValueError(f"{what}[{i}]: expected {num_joints} joints, got {arr.shape[1]}")
        if joint_dim is not None and arr.shape[2] != joint_dim:
            raise ValueError(f"{what}[{i}]: expected {joint_dim} values per joint, got {arr.shape[2]}")
        if not np.isfinite(arr).all():
            raise ValueError(f"{what}[{i}]: pose sequence contains NaN or Inf")
        out.append(arr)
    return out


def _check_examples(examples: Sequence[Mapping[str, Any]], what: str, keys: Sequence[str]) -> None:
    if len(examples) == 0:
        raise ValueError(f"{what}: expected at least one example, got none")
    for i, example in enumerate(examples):
        missing = [k for k in keys if k not in example]
        if missing:
            raise ValueError(f"{what}[{i}] ({example.get('name', '?')!r}) has no {missing} field(s)")


def _say(report: Report | None) -> Report:
    return report if report is not None else logger.info


def _cpu_seconds() -> float:
    """User + system CPU time of this process so far (children included)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


# ----------------------------------------------------------------------------------------------
# Pose VAE
# ----------------------------------------------------------------------------------------------


@dataclass
class PoseVAETrainingArguments:
    """Optimisation settings of :func:`train_pose_vae` (also part of ``scripts/train_pose_vae.py``'s JSON)."""

    num_epochs: int = field(default=5, metadata={"help": "Passes over the (sub-sampled) training frames."})
    batch_size: int = field(default=512, metadata={"help": "Frames per optimisation step."})
    learning_rate: float = field(default=1e-3, metadata={"help": "AdamW learning rate."})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay."})
    max_frames: int | None = field(
        default=None, metadata={"help": "Use at most this many training frames (random subset); None: all."}
    )
    seed: int = field(default=0, metadata={"help": "Random seed (initialisation, shuffling, sampling)."})

    def __post_init__(self):
        for name in ("num_epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"PoseVAETrainingArguments.{name} must be >= 1, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ValueError(f"PoseVAETrainingArguments.learning_rate must be > 0, got {self.learning_rate}")
        if self.max_frames is not None and self.max_frames < 1:
            raise ValueError(f"PoseVAETrainingArguments.max_frames must be >= 1 or None, got {self.max_frames}")


def _stack_frames(sequences: Sequence[np.ndarray], max_frames: int | None, seed: int) -> np.ndarray:
    frames = np.concatenate(sequences, axis=0)
    if max_frames is not None and max_frames < len(frames):
        rng = np.random.default_rng(seed)
        frames = frames[np.sort(rng.choice(len(frames), size=max_frames, replace=False))]
    return frames


def train_pose_vae(
    train_sequences: Sequence[np.ndarray],
    config: Any | None = None,
    args: PoseVAETrainingArguments | None = None,
    *,
    dev_sequences: Sequence[np.ndarray] | None = None,
    output_dir: str | os.PathLike | None = None,
    progress: bool = True,
    report: Report | None = None,
    **config_overrides: Any,
):
    """Train the per-frame pose VAE (LGM encoder + PGM decoder) of NAR-SLP on normalised frames.

    The joints are min-max normalised to [0, 1] with statistics fitted on *all* training frames
    and stored in the model's config (``pose_min``/``pose_max``), so the PGM output can be
    denormalised later. A plain loop over shuffled frames (AdamW, BCE + ``kl_weight`` * KL).

    Args:
        train_sequences: training pose sequences, each ``(T, J, K)`` in corpus coordinates.
        config: a :class:`~signbridge.models.pose_vae.PoseVAEConfig`; its statistics are replaced
            by the fitted ones. ``None`` builds one from the data layout and ``config_overrides``.
        args: optimisation settings (:class:`PoseVAETrainingArguments`).
        dev_sequences: optional held-out sequences; their mean absolute reconstruction error (corpus
            units) is reported and stored as ``model.dev_reconstruction_error``.
        output_dir: when given, the model is saved there with ``save_pretrained``.
        progress: show a tqdm bar over the optimisation steps.
        report: callable receiving one-line summaries (default: the module logger).
        **config_overrides: ``PoseVAEConfig`` fields (``latent_dim``, ``hidden_sizes``, ``kl_weight``).

    Returns:
        The trained :class:`~signbridge.models.pose_vae.PoseVAEModel`, in eval mode.
    """
    from signbridge.data.normalization import PoseNormalizer
    from signbridge.models.pose_vae import PoseVAEConfig, PoseVAEModel

    args = args or PoseVAETrainingArguments()
    say = _say(report)
    seqs = _check_sequences(train_sequences, "train_sequences")
    num_joints, joint_dim = (int(v) for v in seqs[0].shape[1:])
    seqs = _check_sequences(seqs, "train_sequences", num_joints, joint_dim)
    from transformers import set_seed

    set_seed(args.seed)
    all_frames = np.concatenate(seqs, axis=0)
    stats = PoseNormalizer.fit([all_frames])
    if config is None:
        config = PoseVAEConfig(num_joints=num_joints, joint_dim=joint_dim, **config_overrides)
    else:
        for key, value in config_overrides.items():
            setattr(config, key, value)
        if (config.num_joints, config.joint_dim) != (num_joints, joint_dim):
            raise ValueError(
                f"the PoseVAEConfig expects (J, K) = ({config.num_joints}, {config.joint_dim}), the training "
                f"poses have ({num_joints}, {joint_dim})"
            )
    config.set_normalization(stats)
    model = PoseVAEModel(config)

    frames = _stack_frames([all_frames], args.max_frames, args.seed)
    normalised = model.normalize(torch.from_numpy(frames))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)
    generator = torch.Generator().manual_seed(args.seed)
    steps_per_epoch = math.ceil(len(normalised) / args.batch_size)
    model.train()
    start = time.time()
    with tqdm(total=steps_per_epoch * args.num_epochs, desc="pose VAE", disable=not progress, unit="step") as bar:
        for epoch in range(args.num_epochs):
            order = torch.randperm(len(normalised), generator=generator)
            running = 0.0
            for begin in range(0, len(order), args.batch_size):
                batch = normalised[order[begin : begin + args.batch_size]]
                out = model(poses=batch, return_dict=True)
                optimizer.zero_grad(set_to_none=True)
                out.loss.backward()
                optimizer.step()
                running += float(out.loss.detach()) * len(batch)
                bar.update(1)
                bar.set_postfix(loss=f"{float(out.loss.detach()):.4f}", bce=f"{float(out.reconstruction_loss.detach()):.4f}")
            say(
                f"pose VAE epoch {epoch + 1}/{args.num_epochs}: loss {running / len(order):.5f} "
                f"({len(order)} frames, {time.time() - start:.0f} s)"
            )
    model.eval()
    model.train_loss = running / len(normalised)
    if dev_sequences is not None:
        dev = torch.from_numpy(np.concatenate(_check_sequences(dev_sequences, "dev_sequences", num_joints, joint_dim)))
        recon = model.reconstruct(dev)
        model.dev_reconstruction_error = float((recon - dev).abs().mean())
        mean_error = float((dev - torch.from_numpy(all_frames.mean(axis=0))).abs().mean())
        say(
            f"pose VAE dev reconstruction mean |error|: {model.dev_reconstruction_error:.5f} "
            f"(mean training pose: {mean_error:.5f})"
        )
    if output_dir is not None:
        model.save_pretrained(output_dir)
    return model


# ----------------------------------------------------------------------------------------------
# NARSignProducer
# ----------------------------------------------------------------------------------------------


def vae_normalizer(pose_vae):
    """The pose VAE's [0, 1] min-max statistics as a :class:`~signbridge.data.normalization.PoseNormalizer`."""
    from signbridge.data.normalization import PoseNormalizer

    config = pose_vae.config
    if not config.has_normalization:
        from signbridge.models.pose_vae import MissingNormalizationError

        raise MissingNormalizationError("the pose VAE has no normalisation statistics (config.pose_min/pose_max)")
    return PoseNormalizer(config.pose_min, config.pose_max)


class _ListDataset(torch.utils.data.Dataset):
    def __init__(self, items: Sequence[Mapping[str, Any]]):
        self.items = list(items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Mapping[str, Any]:
        return self.items[index]


@dataclass
class NARSignProducerArguments:
    """Model settings of :func:`train_nar_slp` (part of ``scripts/train_nar_slp.py``'s JSON).

    The text encoder is a BERT built from scratch with ``text_encoder_config`` (and a BERT tokenizer
    trained on the corpus) unless ``text_encoder_name_or_path`` names a BERT checkpoint folder.
    """

    pose_vae_name_or_path: str | None = field(
        default=None, metadata={"help": "Folder of a trained PoseVAEModel (with normalisation statistics)."}
    )
    text_encoder_name_or_path: str | None = field(
        default=None, metadata={"help": "Folder of a BertModel checkpoint (and its tokenizer); None: from scratch."}
    )
    tokenizer_name_or_path: str | None = field(
        default=None, metadata={"help": "Tokenizer folder; None: the checkpoint's, or one trained on the corpus."}
    )
    tokenizer_vocab_size: int = field(default=2000, metadata={"help": "Vocabulary size of a corpus BERT tokenizer."})
    text_encoder_config: dict | str | None = field(
        default=None,
        metadata={"help": "BertConfig fields for a text encoder from scratch (JSON object), e.g. hidden_size, "
                          "num_hidden_layers, num_attention_heads, intermediate_size, max_position_embeddings."},
    )
    producer_config: dict | str | None = field(
        default=None,
        metadata={"help": "NARSignProducerConfig fields (JSON object): d_model, decoder_layers, "
                          "decoder_attention_heads, decoder_ffn_dim, dropout, max_frames, ..."},
    )
    use_distillation: bool = field(
        default=True, metadata={"help": "Train with L_distil (knowledge distillation); false: the 'w/o KD' ablation."}
    )

    def __post_init__(self):
        self.text_encoder_config = json_object_argument(self.text_encoder_config, "text_encoder_config")
        self.producer_config = json_object_argument(self.producer_config, "producer_config")
        for key in ("text_encoder", "pose_vae", "use_distillation"):
            if key in self.producer_config:
                raise ValueError(f"producer_config must not set {key!r}; use the dedicated argument")


def build_nar_tokenizer(texts: Sequence[str], vocab_size: int = 2000):
    """A BERT WordPiece tokenizer trained on ``texts`` (``[CLS] x [SEP]``), for a text encoder from scratch."""
    from signbridge.tokenization import train_bert_tokenizer

    return train_bert_tokenizer(list(texts), vocab_size=vocab_size)


def build_nar_producer(
    pose_vae,
    tokenizer,
    model_args: NARSignProducerArguments | None = None,
):
    """A fresh :class:`NARSignProducer` from a trained pose VAE and a BERT encoder (pretrained or new).

    With ``model_args.text_encoder_name_or_path`` the BERT weights come from that checkpoint
    (``from_pretrained_parts``); otherwise a ``BertModel`` of ``text_encoder_config`` sized to the
    tokenizer's vocabulary is initialised from scratch.
    """
    from transformers import BertConfig, BertModel

    from signbridge.models.nar_slp import NARSignProducer

    model_args = model_args or NARSignProducerArguments()
    if model_args.text_encoder_name_or_path:
        text_encoder: Any = model_args.text_encoder_name_or_path
    else:
        bert_kwargs = dict(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id)
        bert_kwargs.update(model_args.text_encoder_config)
        if bert_kwargs["vocab_size"] < len(tokenizer):
            raise ValueError(
                f"text_encoder_config.vocab_size={bert_kwargs['vocab_size']} is smaller than the tokenizer's "
                f"{len(tokenizer)} tokens"
            )
        text_encoder = BertModel(BertConfig(**bert_kwargs), add_pooling_layer=False)
    special = sorted({int(i) for i in tokenizer.all_special_ids})
    overrides = dict(model_args.producer_config)
    overrides.setdefault("special_token_ids", special)
    return NARSignProducer.from_pretrained_parts(
        text_encoder=text_encoder,
        pose_vae=pose_vae,
        use_distillation=model_args.use_distillation,
        **overrides,
    )


def train_nar_slp(
    train_examples: Sequence[Mapping[str, Any]],
    pose_vae,
    tokenizer,
    training_args,
    model_args: NARSignProducerArguments | None = None,
    *,
    model=None,
    eval_examples: Sequence[Mapping[str, Any]] | None = None,
    report: Report | None = None,
    callbacks: list | None = None,
):
    """Train a :class:`NARSignProducer` (text -> poses) with the transformers ``Trainer``.

    Args:
        train_examples: dicts with ``text`` and ``poses`` ``(T, J, K)`` in corpus coordinates.
        pose_vae: the trained :class:`~signbridge.models.pose_vae.PoseVAEModel` (frozen inside the
            producer: its encoder is the LGM teacher, its decoder the PGM).
        tokenizer: the text encoder's tokenizer (``[CLS] ... [SEP]``).
        training_args: a :class:`transformers.TrainingArguments` (``output_dir``, epochs, batch size,
            ``learning_rate`` 2e-4 in the paper, ...). ``remove_unused_columns`` is set to ``False``
            and ``label_names`` to ``["pose_labels", "pose_mask"]``.
        model_args: :class:`NARSignProducerArguments` (sizes, KD switch, pretrained BERT).
        model: an already built producer to train instead of a new one.
        eval_examples: optional dev examples (evaluation loss during training when the strategy asks).
        report: callable receiving one-line summaries (default: the module logger).
        callbacks: extra ``TrainerCallback`` objects for the ``Trainer``.

    Returns:
        ``(model, metrics)``: the trained producer in eval mode and the Trainer's train metrics
        (save it with :func:`save_producer`, which writes the tokenizer beside it).
    """
    from transformers import Trainer

    from signbridge.data.collators import PoseProductionCollator

    say = _say(report)
    _check_examples(train_examples, "train_examples", ("text", "poses"))
    model_args = model_args or NARSignProducerArguments()
    if model is None:
        model = build_nar_producer(pose_vae, tokenizer, model_args)
    max_frames = model.config.max_frames
    longest = max(int(np.asarray(e["poses"]).shape[0]) for e in train_examples)
    if longest > max_frames:
        raise ValueError(
            f"the longest training sequence has {longest} frames, more than the producer's max_frames={max_frames}; "
            "raise producer_config.max_frames"
        )
    if not torch.cuda.is_available():
        training_args.use_cpu = True
    training_args.remove_unused_columns = False
    training_args.label_names = ["pose_labels", "pose_mask"]
    collator = PoseProductionCollator(tokenizer, normalizer=vae_normalizer(model.pose_vae))
    trainer = Trainer(
        model=model,
        args=training_args,
        data_collator=collator,
        train_dataset=_ListDataset(train_examples),
        eval_dataset=_ListDataset(eval_examples) if eval_examples is not None else None,
        processing_class=tokenizer,
    )
    use_callbacks(trainer, callbacks)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    say(
        f"NARSignProducer ({'w/' if model.config.use_distillation else 'w/o'} KD): {n_params / 1e6:.2f}M trainable "
        f"parameters, {len(train_examples)} training sequences"
    )
    result = trainer.train()
    model.eval()
    metrics = dict(result.metrics)
    history = [h for h in trainer.state.log_history if "loss" in h]
    if history:
        metrics["last_logged"] = history[-1]
    return model, metrics


def save_producer(model, tokenizer, output_dir: str | os.PathLike) -> Path:
    """Save a producer with its tokenizer (what ``signbridge produce --model DIR`` loads)."""
    output_dir = Path(output_dir)
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    return output_dir


@torch.no_grad()
def produce_poses(
    model, tokenizer, texts: Sequence[str], batch_size: int = 32, progress: bool = False
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


# ----------------------------------------------------------------------------------------------
# Pose autoencoder (TAE), FGD's feature extractor
# ----------------------------------------------------------------------------------------------


class WindowDataset(torch.utils.data.Dataset):
    """Pose windows as ``{"poses": (window, J, K)}`` examples for the Trainer."""

    def __init__(self, windows: np.ndarray):
        self.windows = torch.from_numpy(windows)

    def __len__(self) -> int:
        return self.windows.shape[0]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"poses": self.windows[index]}


def cut_windows(sequences: Sequence[np.ndarray], window: int, stride: int) -> np.ndarray:
    """All ``window``-frame windows starting every ``stride`` frames: ``(N, window, J, K)``.

    Sequences shorter than a window give none; at least one window overall is required.
    """
    if window < 1 or stride < 1:
        raise ValueError(f"window and stride must be >= 1, got window={window}, stride={stride}")
    chunks = [s[i : i + window] for s in sequences for i in range(0, len(s) - window + 1, stride)]
    if not chunks:
        longest = max((len(s) for s in sequences), default=0)
        raise ValueError(f"no sequence has {window} frames (the longest has {longest}): no window to use")
    return np.stack(chunks).astype(np.float32)


def train_pose_autoencoder(
    train_sequences: Sequence[np.ndarray],
    training_args,
    *,
    window_stride: int = 8,
    eval_sequences: Sequence[np.ndarray] | None = None,
    report: Report | None = None,
    callbacks: list | None = None,
    **config_kwargs: Any,
):
    """Train the TAE (:class:`~signbridge.models.pose_autoencoder.PoseAutoencoderModel`) with the ``Trainer``.

    Windows of ``window_size`` (34) frames are cut every ``window_stride`` frames from the training
    sequences; the poses are min-max normalised with statistics stored in the config
    (``normalization``, the ``PoseNormalizer.to_dict()`` format).
    ``scripts/train_pose_autoencoder.py`` and the demo both call this. With ``eval_sequences``
    (e.g. the dev split, cut into non-overlapping windows) the reconstruction loss is measured
    before and after training. ``callbacks`` go to the ``Trainer``.

    Returns:
        ``(model, metrics)`` with the model in eval mode; ``metrics`` holds the Trainer's train
        metrics, ``train_windows`` and, with ``eval_sequences``, ``dev_windows``,
        ``dev_loss_before`` and ``dev_loss_after``.
    """
    from transformers import Trainer

    from signbridge.data.normalization import PoseNormalizer
    from signbridge.models.pose_autoencoder import PoseAutoencoderConfig, PoseAutoencoderModel

    seqs = _check_sequences(train_sequences, "train_sequences")
    num_joints, joint_dim = (int(v) for v in seqs[0].shape[1:])
    config = PoseAutoencoderConfig(
        num_joints=num_joints,
        joint_dim=joint_dim,
        normalization=PoseNormalizer.fit(seqs).to_dict(),
        **config_kwargs,
    )
    torch.manual_seed(training_args.seed)
    model = PoseAutoencoderModel(config)
    windows = cut_windows(seqs, config.window_size, window_stride)
    eval_windows = None
    if eval_sequences is not None:
        eval_seqs = _check_sequences(eval_sequences, "eval_sequences", num_joints, joint_dim)
        eval_windows = cut_windows(eval_seqs, config.window_size, config.window_size)
    if not torch.cuda.is_available():
        training_args.use_cpu = True
    training_args.label_names = ["poses"]  # the autoencoder's target is its input
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=WindowDataset(windows),
        eval_dataset=WindowDataset(eval_windows) if eval_windows is not None else None,
    )
    use_callbacks(trainer, callbacks)
    _say(report)(
        f"pose autoencoder (TAE): {len(windows)} training windows of {config.window_size} frames"
        + (f", {len(eval_windows)} dev windows" if eval_windows is not None else "")
    )
    metrics: dict[str, Any] = {"train_windows": len(windows)}
    if eval_windows is not None:
        metrics["dev_windows"] = len(eval_windows)
        metrics["dev_loss_before"] = trainer.evaluate()["eval_loss"]
    result = trainer.train()
    metrics.update(result.metrics)
    if eval_windows is not None:
        metrics["dev_loss_after"] = trainer.evaluate()["eval_loss"]
    model.eval()
    return model, metrics


# ----------------------------------------------------------------------------------------------
# Evaluation: the Table 1 rows
# ----------------------------------------------------------------------------------------------


@dataclass
class BackTranslator:
    """A pose-input CV-SLT model with the tokenizer and pose normaliser it was trained with.

    ``translate(poses)`` keeps every ``frame_stride``-th frame (as the training input did), normalises
    each ``(T, J, K)`` sequence like the training input, flattens it to ``(T, J*K)`` and decodes with
    beam search (prior path, ``z* = mu``). ``from_pretrained`` reads the stride from
    ``backtranslation.json`` beside the model when there is one.
    """

    model: Any
    tokenizer: Any
    normalizer: Any = None
    num_beams: int = 5
    max_new_tokens: int = 40
    batch_size: int = 32
    frame_stride: int = 1

    def __post_init__(self):
        if int(self.frame_stride) < 1:
            raise ValueError(f"BackTranslator.frame_stride must be >= 1, got {self.frame_stride}")

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, **kwargs) -> "BackTranslator":
        """Load ``model``, tokenizer and ``pose_normalizer.json`` from a folder saved by ``train_cvslt``."""
        from transformers import AutoTokenizer

        from signbridge.models.cvslt import CVSLTForConditionalGeneration
        from signbridge.training.cvslt import POSE_NORMALIZER_FILE

        path = Path(path)
        model = CVSLTForConditionalGeneration.from_pretrained(path)
        tokenizer = AutoTokenizer.from_pretrained(path)
        normalizer = None
        settings_file = path / BACKTRANSLATION_FILE
        if settings_file.is_file() and "frame_stride" not in kwargs:
            kwargs["frame_stride"] = int(json.loads(settings_file.read_text(encoding="utf-8"))["frame_stride"])
        if (path / POSE_NORMALIZER_FILE).is_file():
            from signbridge.data.normalization import PoseNormalizer

            with open(path / POSE_NORMALIZER_FILE, encoding="utf-8") as handle:
                normalizer = PoseNormalizer.from_dict(json.load(handle))
        return cls(model=model, tokenizer=tokenizer, normalizer=normalizer, **kwargs)

    @torch.no_grad()
    def translate(self, sequences: Sequence[np.ndarray], progress: bool = False, desc: str = "back-translating") -> list[str]:
        from signbridge.training.cvslt import poses_to_features
        from signbridge.training.trainer import decode_sequences

        self.model.eval()
        expected = getattr(self.model.config, "feature_dim", None)
        hyps: list[str] = []
        device = next(self.model.parameters()).device
        for begin in tqdm(range(0, len(sequences), self.batch_size), desc=desc, disable=not progress, leave=False):
            feats = [
                poses_to_features(np.asarray(s)[:: self.frame_stride], self.normalizer)
                for s in sequences[begin : begin + self.batch_size]
            ]
            if expected is not None and feats[0].shape[-1] != expected:
                raise ValueError(
                    f"the back-translator expects {expected} values per frame, the poses give {feats[0].shape[-1]}"
                )
            longest = max(len(f) for f in feats)
            x = torch.zeros(len(feats), longest, feats[0].shape[-1])
            mask = torch.zeros(len(feats), longest, dtype=torch.long)
            for i, f in enumerate(feats):
                x[i, : len(f)] = torch.from_numpy(f)
                mask[i, : len(f)] = 1
            ids = self.model.generate(
                input_features=x.to(device),
                attention_mask=mask.to(device),
                num_beams=self.num_beams,
                max_new_tokens=self.max_new_tokens,
            )
            hyps.extend(decode_sequences(self.tokenizer, ids.cpu().numpy()))
        return hyps


def fgd_score(tae, generated: Sequence[np.ndarray], references: Sequence[np.ndarray]) -> dict[str, float]:
    """Fréchet Gesture Distance of two sets of pose sequences on the TAE's window features.

    Uses the FGD ``evaluate`` metric of :mod:`signbridge.metrics.fgd` (the ``metrics`` extra):
    non-overlapping windows stacked, never padded, Fréchet distance of the feature statistics.
    """
    from signbridge.utils.import_utils import require_evaluate

    require_evaluate("FGD in the production table")
    from signbridge.metrics.fgd import FGD

    result = FGD().compute(predictions=list(generated), references=list(references), model=tae)
    return {"fgd": float(result["fgd"]), "fgd_x10": float(result["fgd_x10"])}


def mean_pose(train_sequences: Sequence[np.ndarray]) -> np.ndarray:
    """The mean training pose ``(J, K)`` over all training frames (the Mean baseline's frame)."""
    seqs = _check_sequences(train_sequences, "train_sequences")
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
    seqs = _check_sequences(train_sequences, "train_sequences")
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    pick = int(np.random.default_rng(seed).integers(0, len(seqs)))
    return [seqs[pick].copy() for _ in range(count)]


def score_production(
    produced: Sequence[np.ndarray],
    references: Sequence[Mapping[str, Any]],
    *,
    tae,
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
    produced = _check_sequences(produced, "produced", *ref_poses[0].shape[1:])
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


def evaluate_production(
    producers: Mapping[str, tuple[Any, Any]],
    eval_splits: Mapping[str, Sequence[Mapping[str, Any]]],
    train_examples: Sequence[Mapping[str, Any]],
    *,
    tae,
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
        ``{split: {row name: {fgd, fgd_x10, bleu1..bleu4, rouge_l, dur_acc, dtw}}}``.
    """
    train_poses = _check_sequences([e["poses"] for e in train_examples], "train_examples poses")
    results: dict[str, dict[str, dict[str, float]]] = {}
    for split_index, (split, examples) in enumerate(eval_splits.items()):
        _check_examples(examples, f"{split} examples", ("text", "poses"))
        lengths = [int(np.asarray(e["poses"]).shape[0]) for e in examples]
        candidates: dict[str, list[np.ndarray]] = {
            GROUND_TRUTH: [np.asarray(e["poses"], dtype=np.float32) for e in examples],
            MEAN: baseline_mean(train_poses, lengths),
            RANDOM: baseline_random(train_poses, len(examples), seed=seed + split_index),
        }
        for name, (model, tokenizer) in producers.items():
            candidates[name], _ = produce_poses(model, tokenizer, [e["text"] for e in examples], progress=progress)
        rows = {}
        for name, produced in candidates.items():
            rows[name] = score_production(
                produced, examples, tae=tae, back_translator=back_translator, fps=fps, progress=progress,
                desc=f"{split}/{name}",
            )
        results[split] = rows
    _say(report)(format_production_table(results))
    return results


def _cell(key: str, value: float, width: int = 0) -> str:
    # FGD x10 gets 4 decimals (small models on the embedded corpus differ in the third), DurACC 3
    digits = 4 if key == "fgd_x10" else 3 if key == "dur_acc" else 2
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


__all__ = [
    "BACKTRANSLATION_FILE",
    "GROUND_TRUTH",
    "MEAN",
    "NAR_WITHOUT_KD",
    "NAR_WITH_KD",
    "RANDOM",
    "TABLE_COLUMNS",
    "BackTranslator",
    "NARSignProducerArguments",
    "PoseVAETrainingArguments",
    "WindowDataset",
    "baseline_mean",
    "baseline_random",
    "build_nar_producer",
    "build_nar_tokenizer",
    "cut_windows",
    "evaluate_production",
    "fgd_score",
    "format_markdown_table",
    "format_production_table",
    "mean_pose",
    "produce_poses",
    "save_producer",
    "score_production",
    "train_nar_slp",
    "train_pose_autoencoder",
    "train_pose_vae",
    "vae_normalizer",
]
