"""Per-frame pose VAE of NAR-SLP: the encoder is the Latent Guiding Module (teacher), the decoder the
Pose Generating Module."""

from .configuration_pose_vae import PoseVAEConfig
from .modeling_pose_vae import (
    MissingNormalizationError,
    PoseVAEModel,
    PoseVAEOutput,
    PoseVAEPreTrainedModel,
    PoseValidationError,
    gaussian_kl_divergence,
)

__all__ = [
    "MissingNormalizationError",
    "PoseVAEConfig",
    "PoseVAEModel",
    "PoseVAEOutput",
    "PoseVAEPreTrainedModel",
    "PoseValidationError",
    "gaussian_kl_divergence",
]
