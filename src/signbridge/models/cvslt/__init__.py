"""CV-SLT (Zhao et al., AAAI 2024): conditional variational autoencoder for sign language translation."""

from ..copies import bind_copies

bind_copies(__name__, __path__[0])  # strict_loading.py is a checked copy of signbridge.models.strict_loading

from ..auto_registration import MODEL_SUBPACKAGES, register  # noqa: E402 (after the binding above)
from .configuration_cvslt import CVSLTConfig  # noqa: E402
from .modeling_cvslt import (  # noqa: E402
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
