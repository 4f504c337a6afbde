"""CV-SLT (Zhao et al., AAAI 2024): conditional variational autoencoder for sign language translation."""

from ..auto_registration import MODEL_SUBPACKAGES, register
from .configuration_cvslt import CVSLTConfig
from .modeling_cvslt import (
    CVSLTForConditionalGeneration,
    CVSLTPreTrainedModel,
    CVSLTSeq2SeqLMOutput,
    prune_mbart_vocabulary,
)

# `save_pretrained` then writes an `auto_map` and copies configuration_cvslt.py / modeling_cvslt.py next to the
# weights, so a saved folder loads with `trust_remote_code=True` where signbridge is not installed.
CVSLTConfig.register_for_auto_class()
CVSLTForConditionalGeneration.register_for_auto_class("AutoModelForSeq2SeqLM")

# the first import of this model through signbridge registers it with the Auto classes
register(CVSLTConfig, CVSLTForConditionalGeneration, MODEL_SUBPACKAGES[__name__])

__all__ = [
    "CVSLTConfig",
    "CVSLTForConditionalGeneration",
    "CVSLTPreTrainedModel",
    "CVSLTSeq2SeqLMOutput",
    "prune_mbart_vocabulary",
]
