"""Pose transformer autoencoder (TAE), the feature extractor of the Fréchet Gesture Distance.

``pose_normalization.py`` in this folder is a copy of ``signbridge.data.normalization`` (checked by
``utils/check_copies.py``) so that a saved model carries it for ``trust_remote_code``; inside signbridge the name
``signbridge.models.pose_autoencoder.pose_normalization`` is bound to ``signbridge.data.normalization`` before
anything of this folder is imported, so there is one ``PoseNormalizer`` class.
"""

from ..copies import bind_copies

bind_copies(__name__, __path__[0])

from ..auto_registration import MODEL_SUBPACKAGES, register  # noqa: E402 (after the binding above)
from .configuration_pose_autoencoder import PoseAutoencoderConfig  # noqa: E402
from .modeling_pose_autoencoder import (  # noqa: E402
    PoseAutoencoderModel,
    PoseAutoencoderOutput,
    PoseAutoencoderPreTrainedModel,
    PoseLayoutError,
)

register(PoseAutoencoderConfig, PoseAutoencoderModel, MODEL_SUBPACKAGES[__name__])

__all__ = [
    "PoseAutoencoderConfig",
    "PoseAutoencoderModel",
    "PoseAutoencoderOutput",
    "PoseAutoencoderPreTrainedModel",
    "PoseLayoutError",
]
