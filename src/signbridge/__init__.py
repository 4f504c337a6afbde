"""signbridge: sign language translation (CV-SLT) and production (NAR-SLP) for Hugging Face transformers.

Importing the package registers its models with the transformers Auto classes (once, here):

- ``CVSLTConfig`` / ``CVSLTForConditionalGeneration`` with ``AutoConfig``, ``AutoModelForSeq2SeqLM``
  and ``AutoModel``;
- ``PoseVAEConfig`` / ``PoseVAEModel``, ``NARSignProducerConfig`` / ``NARSignProducer`` and
  ``PoseAutoencoderConfig`` / ``PoseAutoencoderModel`` with ``AutoConfig`` and ``AutoModel``.
"""

__version__ = "0.1.1"

from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM

from .data import (
    PoseNormalizer,
    PoseProductionCollator,
    SignTranslationCollator,
    SyntheticCorpusConfig,
    generate_corpus,
    load_sign_dataset,
)
from .metrics import dtw_distance, duration_accuracy, frechet_distance, translation_scores
from .models.cvslt import CVSLTConfig, CVSLTForConditionalGeneration, CVSLTPreTrainedModel
from .models.nar_slp import NARSignProducer, NARSignProducerConfig
from .models.pose_autoencoder import PoseAutoencoderConfig, PoseAutoencoderModel
from .models.pose_vae import PoseVAEConfig, PoseVAEModel
from .tokenization import train_bert_tokenizer, train_corpus_tokenizer


def _register_auto_classes() -> None:
    pairs = [
        (CVSLTConfig, CVSLTForConditionalGeneration, (AutoModelForSeq2SeqLM, AutoModel)),
        (PoseVAEConfig, PoseVAEModel, (AutoModel,)),
        (NARSignProducerConfig, NARSignProducer, (AutoModel,)),
        (PoseAutoencoderConfig, PoseAutoencoderModel, (AutoModel,)),
    ]
    for config_class, model_class, auto_classes in pairs:
        AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
        for auto_class in auto_classes:
            auto_class.register(config_class, model_class, exist_ok=True)


_register_auto_classes()

__all__ = [
    "__version__",
    "load_sign_dataset",
    "generate_corpus",
    "SyntheticCorpusConfig",
    "PoseNormalizer",
    "SignTranslationCollator",
    "PoseProductionCollator",
    "train_corpus_tokenizer",
    "train_bert_tokenizer",
    "translation_scores",
    "duration_accuracy",
    "dtw_distance",
    "frechet_distance",
    "CVSLTConfig",
    "CVSLTPreTrainedModel",
    "CVSLTForConditionalGeneration",
    "PoseVAEConfig",
    "PoseVAEModel",
    "NARSignProducerConfig",
    "NARSignProducer",
    "PoseAutoencoderConfig",
    "PoseAutoencoderModel",
]
