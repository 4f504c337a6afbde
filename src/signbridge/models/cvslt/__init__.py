"""CV-SLT (Zhao et al., AAAI 2024): conditional variational autoencoder for sign language translation.

Besides the model: its feature extractors (``SignFeatureExtractor`` for visual features, ``SignPoseFeatureExtractor``
for poses with their normalisation statistics), ``CVSLTProcessor`` (feature extractor + tokenizer) and the
``sign-language-translation`` pipeline. Importing this package registers them with ``AutoFeatureExtractor``,
``AutoProcessor`` and transformers' pipeline registry; saved folders carry their files for remote code.
"""

from ..copies import bind_copies

# strict_loading.py and pose_normalization.py are checked copies (signbridge.models.strict_loading,
# signbridge.data.normalization): bound to their sources here
bind_copies(__name__, __path__[0])

from ..auto_registration import MODEL_SUBPACKAGES, register, register_pipeline, register_preprocessors  # noqa: E402 (after the binding above)
from .configuration_cvslt import CVSLTConfig  # noqa: E402
from .feature_extraction_cvslt import SignFeatureExtractor, SignInputError, SignPoseFeatureExtractor  # noqa: E402
from .modeling_cvslt import (  # noqa: E402
    CVSLTForConditionalGeneration,
    CVSLTPreTrainedModel,
    CVSLTSeq2SeqLMOutput,
    prune_mbart_vocabulary,
)
from .pipeline_cvslt import SignLanguageTranslationPipeline  # noqa: E402
from .processing_cvslt import CVSLTProcessor  # noqa: E402

# `save_pretrained` then writes an `auto_map` and copies configuration_cvslt.py / modeling_cvslt.py next to the
# weights, so a saved folder loads with `trust_remote_code=True` where signbridge is not installed.
CVSLTConfig.register_for_auto_class()
CVSLTForConditionalGeneration.register_for_auto_class("AutoModelForSeq2SeqLM")
SignFeatureExtractor.register_for_auto_class("AutoFeatureExtractor")
SignPoseFeatureExtractor.register_for_auto_class("AutoFeatureExtractor")
CVSLTProcessor.register_for_auto_class("AutoProcessor")

# the first import of this model through signbridge registers it with the Auto classes
register(CVSLTConfig, CVSLTForConditionalGeneration, MODEL_SUBPACKAGES[__name__])
register_preprocessors(CVSLTConfig, CVSLTProcessor, (SignFeatureExtractor, SignPoseFeatureExtractor))
register_pipeline("sign-language-translation", SignLanguageTranslationPipeline)

__all__ = [
    "CVSLTConfig",
    "CVSLTForConditionalGeneration",
    "CVSLTPreTrainedModel",
    "CVSLTProcessor",
    "CVSLTSeq2SeqLMOutput",
    "SignFeatureExtractor",
    "SignInputError",
    "SignLanguageTranslationPipeline",
    "SignPoseFeatureExtractor",
    "prune_mbart_vocabulary",
]
