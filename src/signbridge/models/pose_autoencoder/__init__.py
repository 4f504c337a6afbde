"""Pose transformer autoencoder (TAE), the feature extractor of the Fréchet Gesture Distance."""

from ..auto_registration import MODEL_SUBPACKAGES, register
from .configuration_pose_autoencoder import PoseAutoencoderConfig
from .modeling_pose_autoencoder import (
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
