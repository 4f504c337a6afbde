"""Per-frame pose VAE of NAR-SLP: the encoder is the Latent Guiding Module (teacher), the decoder the
Pose Generating Module."""

from ..auto_registration import MODEL_SUBPACKAGES, register
from .configuration_pose_vae import PoseVAEConfig
from .modeling_pose_vae import (
    MissingNormalizationError,
    PoseVAEModel,
    PoseVAEOutput,
    PoseVAEPreTrainedModel,
    PoseValidationError,
    gaussian_kl_divergence,
)

register(PoseVAEConfig, PoseVAEModel, MODEL_SUBPACKAGES[__name__])

__all__ = [
    "MissingNormalizationError",
    "PoseVAEConfig",
    "PoseVAEModel",
    "PoseVAEOutput",
    "PoseVAEPreTrainedModel",
    "PoseValidationError",
    "gaussian_kl_divergence",
]
