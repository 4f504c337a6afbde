"""NAR-SLP: non-autoregressive sign language production via knowledge distillation (Hwang et al., 2022).

The pose VAE (LGM/PGM) is defined in this folder too (``configuration_pose_vae.py``,
``modeling_pose_vae.py``) so that saved producers are self-contained for ``trust_remote_code``;
``signbridge.models.pose_vae`` re-exports it.
"""

from ..auto_registration import MODEL_SUBPACKAGES, register
from ..pose_vae.configuration_pose_vae import PoseVAEConfig
from ..pose_vae.modeling_pose_vae import MissingNormalizationError, PoseVAEModel, PoseValidationError
from .configuration_nar_slp import NARSignProducerConfig
from .modeling_nar_slp import (
    NARSignProducer,
    NARSignProducerOutput,
    NARSignProducerPreTrainedModel,
    NARSignProductionOutput,
    TextInputError,
)

register(NARSignProducerConfig, NARSignProducer, MODEL_SUBPACKAGES[__name__])

__all__ = [
    "MissingNormalizationError",
    "NARSignProducer",
    "NARSignProducerConfig",
    "NARSignProducerOutput",
    "NARSignProducerPreTrainedModel",
    "NARSignProductionOutput",
    "PoseVAEConfig",
    "PoseVAEModel",
    "PoseValidationError",
    "TextInputError",
]
