"""Training of the NARSignProducer (Hwang et al., 2022) with the transformers ``Trainer``.

:func:`train_nar_slp` trains a :class:`~signbridge.models.nar_slp.NARSignProducer` (BERT text encoder, length
regulator, non-autoregressive decoder, frozen pose VAE); pose targets travel as ``pose_labels``/``pose_mask`` (the
Trainer's label names). ``scripts/train_nar_slp.py`` and the demo call it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from transformers import TrainingArguments

from signbridge.data.validation import check_examples
from signbridge.training.callbacks import ProcessSeedCallback, use_callbacks
from signbridge.utils.arguments import json_object_argument
from signbridge.utils.distributed import (
    check_distributed_arguments,
    is_main_process,
    main_process_report,
    wait_for_everyone,
)
from signbridge.utils.runtime import Report, say, write_results

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase, TrainerCallback

    from signbridge.data.normalization import PoseNormalizer
    from signbridge.models.nar_slp import NARSignProducer
    from signbridge.models.pose_vae import PoseVAEModel


def vae_normalizer(pose_vae: PoseVAEModel) -> PoseNormalizer:
    """The pose VAE's [0, 1] min-max normalisation, the :class:`~signbridge.data.normalization.PoseNormalizer` of its
    config's statistics (with their ``min_range``): the collator normalises the targets exactly as the model does.

    Raises:
        MissingNormalizationError: the pose VAE has no statistics.
    """
    return pose_vae.normalizer


class _ListDataset(torch.utils.data.Dataset):
    def __init__(self, items: Sequence[Mapping[str, Any]]):
        self.items = list(items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Mapping[str, Any]:
        return self.items[index]


@dataclass
class NARSLPTrainingArguments(TrainingArguments):
    """:class:`~transformers.TrainingArguments` whose defaults fit a :class:`NARSignProducer` with the
    :class:`~signbridge.data.collators.PoseProductionCollator`: the raw ``text``/``poses`` columns reach the collator
    and the pose targets are the label names."""

    remove_unused_columns: bool = field(
        default=False,
        metadata={
            "help": "Drop dataset columns the model's forward does not take (False: the collator needs them)."
        },
    )
    label_names: list[str] | None = field(
        default_factory=lambda: ["pose_labels", "pose_mask"],
        metadata={"help": "The batch keys that are labels (the pose targets)."},
    )


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
        default=None,
        metadata={"help": "Folder of a BertModel checkpoint (and its tokenizer); None: from scratch."},
    )
    tokenizer_name_or_path: str | None = field(
        default=None,
        metadata={"help": "Tokenizer folder; None: the checkpoint's, or one trained on the corpus."},
    )
    tokenizer_vocab_size: int = field(
        default=2000, metadata={"help": "Vocabulary size of a corpus BERT tokenizer."}
    )
    text_encoder_config: dict | str | None = field(
        default=None,
        metadata={
            "help": "BertConfig fields for a text encoder from scratch (JSON object), e.g. hidden_size, "
            "num_hidden_layers, num_attention_heads, intermediate_size, max_position_embeddings."
        },
    )
    producer_config: dict | str | None = field(
        default=None,
        metadata={
            "help": "NARSignProducerConfig fields (JSON object): d_model, decoder_layers, "
            "decoder_attention_heads, decoder_ffn_dim, dropout, max_frames, ..."
        },
    )
    use_distillation: bool = field(
        default=True,
        metadata={"help": "Train with L_distil (knowledge distillation); false: the 'w/o KD' ablation."},
    )
    text_encoder_from_scratch: bool | None = field(
        default=None,
        metadata={
            "help": "true: train the BERT from scratch (the paper's 'w/o pre-trained BERT' ablation); false: a "
            "pretrained BERT (text_encoder_name_or_path) is required and its absence is an error; "
            "unset: from scratch unless text_encoder_name_or_path is given."
        },
    )

    def __post_init__(self):
        if self.text_encoder_from_scratch is False and not self.text_encoder_name_or_path:
            raise ValueError(
                "this configuration trains with a pretrained BERT text encoder (text_encoder_from_scratch: false, the "
                "paper's headline setting): pass --text_encoder_name_or_path DIR (a BERT checkpoint folder, e.g. a "
                "local copy of a German BERT), or --text_encoder_from_scratch true for the 'w/o pre-trained BERT' "
                "ablation"
            )
        if self.text_encoder_from_scratch and self.text_encoder_name_or_path:
            raise ValueError(
                "text_encoder_from_scratch is true but text_encoder_name_or_path names a checkpoint: choose one"
            )
        self.text_encoder_config = json_object_argument(self.text_encoder_config, "text_encoder_config")
        self.producer_config = json_object_argument(self.producer_config, "producer_config")
        for key in ("text_encoder", "pose_vae", "use_distillation"):
            if key in self.producer_config:
                raise ValueError(f"producer_config must not set {key!r}; use the dedicated argument")


def build_nar_tokenizer(texts: Sequence[str], vocab_size: int = 2000) -> PreTrainedTokenizerBase:
    """A BERT WordPiece tokenizer trained on ``texts`` (``[CLS] x [SEP]``), for a text encoder from scratch."""
    from signbridge.tokenization import train_bert_tokenizer

    return train_bert_tokenizer(list(texts), vocab_size=vocab_size)


def build_nar_producer(
    pose_vae: PoseVAEModel,
    tokenizer: PreTrainedTokenizerBase,
    model_args: NARSignProducerArguments | None = None,
) -> NARSignProducer:
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
        bert_kwargs = {"vocab_size": len(tokenizer), "pad_token_id": tokenizer.pad_token_id}
        bert_kwargs.update(model_args.text_encoder_config)
        if bert_kwargs["vocab_size"] < len(tokenizer):
            raise ValueError(
                f"text_encoder_config.vocab_size={bert_kwargs['vocab_size']} is smaller than the tokenizer's "
                f"{len(tokenizer)} tokens"
            )
        text_encoder = BertModel(BertConfig(**bert_kwargs), add_pooling_layer=False)
    # the tokenizer's [CLS]/[SEP]/[PAD] become the special ids a text must have more than; [UNK] is not one of
    # them (a sentence of unseen words is still a sentence)
    return NARSignProducer.from_pretrained_parts(
        text_encoder=text_encoder,
        pose_vae=pose_vae,
        tokenizer=tokenizer,
        use_distillation=model_args.use_distillation,
        **dict(model_args.producer_config),
    )


def train_nar_slp(
    train_examples: Sequence[Mapping[str, Any]],
    pose_vae: PoseVAEModel,
    tokenizer: PreTrainedTokenizerBase,
    training_args: TrainingArguments,
    model_args: NARSignProducerArguments | None = None,
    *,
    model: NARSignProducer | None = None,
    eval_examples: Sequence[Mapping[str, Any]] | None = None,
    report: Report | None = None,
    callbacks: list[TrainerCallback] | None = None,
) -> tuple[NARSignProducer, dict[str, Any]]:
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
    from transformers import Trainer, set_seed

    from signbridge.data.collators import PoseProductionCollator

    log = main_process_report(say(report))
    check_examples(train_examples, "train_examples", ("text", "poses"))
    model_args = model_args or NARSignProducerArguments()
    if model is None:
        set_seed(training_args.seed)  # before the model is built: its initialisation is part of the run
        model = build_nar_producer(pose_vae, tokenizer, model_args)
    max_frames = model.config.max_frames
    longest = max(int(np.asarray(e["poses"]).shape[0]) for e in train_examples)
    if longest > max_frames:
        raise ValueError(
            f"the longest training sequence has {longest} frames, more than the producer's max_frames={max_frames}; "
            "raise producer_config.max_frames"
        )
    check_distributed_arguments(training_args)
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
    use_callbacks(
        trainer, [ProcessSeedCallback(), *(callbacks or [])]
    )  # each process its own dropout under DDP
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log(
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


def save_producer(
    model: NARSignProducer,
    tokenizer: PreTrainedTokenizerBase,
    output_dir: str | os.PathLike,
    *,
    training_config: dict | None = None,
    scores: dict | None = None,
    dataset: str | None = None,
    command: str | None = None,
) -> Path:
    """Save a producer with its tokenizer (what ``signbridge produce --model DIR`` loads), Hub-ready: model card
    (``training_config``, ``scores``), the ``sign-language-production`` pipeline declared for remote code.

    With several processes only the main one writes; the others wait until it has.
    """
    from .model_folder import finish_model_folder

    output_dir = Path(output_dir)
    if is_main_process():
        model.save_pretrained(output_dir)
        tokenizer.save_pretrained(output_dir)
        finish_model_folder(
            output_dir, dataset=dataset, training_config=training_config, scores=scores, command=command
        )
    wait_for_everyone()
    return output_dir


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``scripts/train_nar_slp.py``: train and save a producer, then DurACC and DTW of its dev poses."""
    from transformers import AutoTokenizer

    from signbridge.data.loading import PoseDataArguments, load_text_pose_splits
    from signbridge.evaluation.production import produce_poses
    from signbridge.metrics import dtw_distance, duration_accuracy
    from signbridge.models.pose_vae import PoseVAEModel
    from signbridge.utils.arguments import parse_config_and_flags
    from signbridge.utils.files import check_model_folder, check_output_folder

    data_args, model_args, training_args = parse_config_and_flags(
        (PoseDataArguments, NARSignProducerArguments, NARSLPTrainingArguments), argv
    )
    if not model_args.pose_vae_name_or_path:
        raise ValueError("pose_vae_name_or_path is required: train one with scripts/train_pose_vae.py first")
    check_output_folder(training_args.output_dir, "--output_dir", create=True)  # user errors before any work
    check_model_folder(
        model_args.pose_vae_name_or_path,
        "pose_vae",
        "a pose VAE",
        "--pose_vae_name_or_path",
        allow_hub_id=True,
    )
    with training_args.main_process_first(desc="loading the corpus"):  # one process builds the cache
        pairs = load_text_pose_splits(data_args, ("train", "dev"))
    pose_vae = PoseVAEModel.from_pretrained(model_args.pose_vae_name_or_path)
    source = model_args.tokenizer_name_or_path or model_args.text_encoder_name_or_path
    if source:
        tokenizer = AutoTokenizer.from_pretrained(source)
    else:
        tokenizer = build_nar_tokenizer([p["text"] for p in pairs["train"]], model_args.tokenizer_vocab_size)
    model, metrics = train_nar_slp(
        pairs["train"], pose_vae, tokenizer, training_args, model_args, report=print
    )
    card = {"data_args": asdict(data_args), "model_args": asdict(model_args)}
    save_producer(model, tokenizer, training_args.output_dir, training_config=card, dataset=data_args.dataset)
    produced, lengths = produce_poses(model, tokenizer, [p["text"] for p in pairs["dev"]], progress=True)
    true_lengths = [len(p["poses"]) for p in pairs["dev"]]
    results = {
        "train": {k: v for k, v in metrics.items() if isinstance(v, (int, float))},
        "dev_dur_acc": duration_accuracy(lengths, true_lengths),
        "dev_dtw": float(
            np.mean([dtw_distance(h, p["poses"]) for h, p in zip(produced, pairs["dev"], strict=True)])
        ),
        "use_distillation": model_args.use_distillation,
        "output_dir": training_args.output_dir,
        "world_size": training_args.world_size,
    }
    if is_main_process():
        write_results(results, training_args.output_dir)
        from .model_folder import finish_model_folder

        finish_model_folder(
            training_args.output_dir, dataset=data_args.dataset, training_config=card, scores=results
        )  # the card gets the scores
    wait_for_everyone()
    return results


__all__ = [
    "main",
    "NARSignProducerArguments",
    "NARSLPTrainingArguments",
    "build_nar_producer",
    "build_nar_tokenizer",
    "save_producer",
    "train_nar_slp",
    "vae_normalizer",
]
