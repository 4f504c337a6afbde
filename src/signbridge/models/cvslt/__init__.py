"""CV-SLT (Zhao et al., AAAI 2024): conditional variational autoencoder for sign language translation."""

from .configuration_cvslt import CVSLTConfig
from .modeling_cvslt import CVSLTForConditionalGeneration, CVSLTPreTrainedModel, CVSLTSeq2SeqLMOutput


def register() -> None:
    """Register CV-SLT with `AutoConfig` and `AutoModelForSeq2SeqLM` (idempotent)."""
    from transformers import AutoConfig, AutoModelForSeq2SeqLM

    try:
        AutoConfig.register("cvslt", CVSLTConfig)
    except ValueError:  # already registered
        pass
    try:
        AutoModelForSeq2SeqLM.register(CVSLTConfig, CVSLTForConditionalGeneration)
    except ValueError:
        pass


__all__ = [
    "CVSLTConfig",
    "CVSLTForConditionalGeneration",
    "CVSLTPreTrainedModel",
    "CVSLTSeq2SeqLMOutput",
    "register",
]
