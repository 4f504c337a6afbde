"""Training utilities: the CV-SLT ``Seq2SeqTrainer`` subclass, annealing callback, and the shared training entry."""

from .callbacks import KLAnnealingCallback, set_model_global_step
from .cvslt import CVSLTDataArguments, CVSLTModelArguments, parse_cvslt_args, train_cvslt
from .sign2gloss import load_sign_encoder, save_sign_encoder, train_sign2gloss
from .trainer import (
    LOSS_PART_FIELDS,
    CVSLTTrainer,
    CVSLTTrainingArguments,
    decode_sequences,
    make_translation_compute_metrics,
)

__all__ = [
    "LOSS_PART_FIELDS",
    "CVSLTDataArguments",
    "CVSLTModelArguments",
    "CVSLTTrainer",
    "CVSLTTrainingArguments",
    "KLAnnealingCallback",
    "decode_sequences",
    "load_sign_encoder",
    "make_translation_compute_metrics",
    "parse_cvslt_args",
    "save_sign_encoder",
    "set_model_global_step",
    "train_cvslt",
    "train_sign2gloss",
]
