"""The per-frame pose VAE (LGM encoder + PGM decoder of NAR-SLP).

The single definition lives in ``signbridge/models/nar_slp/modeling_pose_vae.py`` (so that a saved
NARSignProducer carries it for ``trust_remote_code``); this module re-exports it.
"""

from ..nar_slp.modeling_pose_vae import (
    MissingNormalizationError,
    PoseVAEModel,
    PoseVAEOutput,
    PoseVAEPreTrainedModel,
    PoseValidationError,
    check_pose_tensor,
    gaussian_kl_divergence,
)

__all__ = [
    "MissingNormalizationError",
    "PoseVAEModel",
    "PoseVAEOutput",
    "PoseVAEPreTrainedModel",
    "PoseValidationError",
    "check_pose_tensor",
    "gaussian_kl_divergence",
]
