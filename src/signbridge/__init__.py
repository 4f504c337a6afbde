"""signbridge: sign language translation (CV-SLT) and production (NAR-SLP) for Hugging Face transformers.

The package face is lazy: ``import signbridge`` imports neither torch nor transformers, and each public name below
is imported from its module the first time it is used (``signbridge.CVSLTForConditionalGeneration``,
``from signbridge import load_sign_dataset``), so ``signbridge --help`` answers at once.

Auto classes: the first use of a model through signbridge registers it with transformers' Auto classes
(``CVSLTConfig`` / ``CVSLTForConditionalGeneration`` with ``AutoConfig``, ``AutoModelForSeq2SeqLM`` and
``AutoModel``; the pose VAE, ``NARSignProducer`` and the pose autoencoder with ``AutoConfig`` and ``AutoModel``).
``from signbridge import AutoModel, AutoModelForSeq2SeqLM, AutoConfig, AutoProcessor`` gives transformers' own classes with every
signbridge model registered (and their processors and pipelines); ``signbridge.register_auto_classes()`` does the
same explicitly. ``signbridge.pipeline("sign-language-translation" | "sign-language-production", model=folder)`` runs
a saved folder with signbridge's own pipeline classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .utils.lazy import lazy_exports

__version__ = "0.1.1"

#: public name -> module that defines it (imported on first use)
_LAZY_NAMES: dict[str, str] = {
    "load_sign_dataset": "signbridge.data.builders",
    "generate_corpus": "signbridge.data.synthetic",
    "SyntheticCorpusConfig": "signbridge.data.synthetic",
    "PoseNormalizer": "signbridge.data.normalization",
    "SignTranslationCollator": "signbridge.data.collators",
    "PoseProductionCollator": "signbridge.data.collators",
    "train_corpus_tokenizer": "signbridge.tokenization",
    "train_bert_tokenizer": "signbridge.tokenization",
    "translation_scores": "signbridge.metrics.translation",
    "duration_accuracy": "signbridge.metrics.pose_sequences",
    "dtw_distance": "signbridge.metrics.pose_sequences",
    "frechet_distance": "signbridge.metrics.frechet",
    "CVSLTConfig": "signbridge.models.cvslt",
    "CVSLTPreTrainedModel": "signbridge.models.cvslt",
    "CVSLTForConditionalGeneration": "signbridge.models.cvslt",
    "PoseVAEConfig": "signbridge.models.pose_vae",
    "PoseVAEModel": "signbridge.models.pose_vae",
    "NARSignProducerConfig": "signbridge.models.nar_slp",
    "NARSignProducer": "signbridge.models.nar_slp",
    "PoseAutoencoderConfig": "signbridge.models.pose_autoencoder",
    "PoseAutoencoderModel": "signbridge.models.pose_autoencoder",
    "register_auto_classes": "signbridge.models.auto_registration",
    # transformers' own Auto classes, handed out with every signbridge model registered
    "AutoConfig": "signbridge.models.auto",
    "AutoModel": "signbridge.models.auto",
    "AutoModelForSeq2SeqLM": "signbridge.models.auto",
    "AutoProcessor": "signbridge.models.auto",
    "AutoFeatureExtractor": "signbridge.models.auto",
    "pipeline": "signbridge.models.auto",
    "CVSLTProcessor": "signbridge.models.cvslt",
    "SignFeatureExtractor": "signbridge.models.cvslt",
    "SignPoseFeatureExtractor": "signbridge.models.cvslt",
}
__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY_NAMES)


if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names above load lazily
    from transformers import (  # noqa: F401
        AutoConfig,
        AutoFeatureExtractor,
        AutoModel,
        AutoModelForSeq2SeqLM,
        AutoProcessor,
    )

    from .data.builders import load_sign_dataset  # noqa: F401
    from .data.collators import PoseProductionCollator, SignTranslationCollator  # noqa: F401
    from .data.normalization import PoseNormalizer  # noqa: F401
    from .data.synthetic import SyntheticCorpusConfig, generate_corpus  # noqa: F401
    from .metrics.frechet import frechet_distance  # noqa: F401
    from .metrics.pose_sequences import dtw_distance, duration_accuracy  # noqa: F401
    from .metrics.translation import translation_scores  # noqa: F401
    from .models.auto import pipeline  # noqa: F401
    from .models.auto_registration import register_auto_classes  # noqa: F401
    from .models.cvslt import (  # noqa: F401
        CVSLTConfig,
        CVSLTForConditionalGeneration,
        CVSLTPreTrainedModel,
        CVSLTProcessor,
        SignFeatureExtractor,
        SignPoseFeatureExtractor,
    )
    from .models.nar_slp import NARSignProducer, NARSignProducerConfig  # noqa: F401
    from .models.pose_autoencoder import PoseAutoencoderConfig, PoseAutoencoderModel  # noqa: F401
    from .models.pose_vae import PoseVAEConfig, PoseVAEModel  # noqa: F401
    from .tokenization import train_bert_tokenizer, train_corpus_tokenizer  # noqa: F401

__all__ = ["__version__", *_LAZY_NAMES]
