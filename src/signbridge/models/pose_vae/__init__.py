"""Per-frame pose VAE of NAR-SLP: the encoder is the Latent Guiding Module (teacher), the decoder the
Pose Generating Module.

``pose_normalization.py`` in this folder is a copy of ``signbridge.data.normalization`` (checked by
``utils/check_copies.py``) so that a saved model carries it for ``trust_remote_code``; inside signbridge the name
``signbridge.models.pose_vae.pose_normalization`` is bound to ``signbridge.data.normalization`` before anything of
this folder is imported, so there is one ``PoseNormalizer`` class.
"""

from ..copies import bind_copies

bind_copies(__name__, __path__[0])

from ..auto_registration import MODEL_SUBPACKAGES, register  # noqa: E402 (after the binding above)
from .configuration_pose_vae import PoseVAEConfig  # noqa: E402
from .modeling_pose_vae import (  # noqa: E402
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
