"""Pose transformer autoencoder (TAE), the feature extractor of the Fréchet Gesture Distance."""

from .configuration_pose_autoencoder import PoseAutoencoderConfig
from .modeling_pose_autoencoder import (
    PoseAutoencoderModel,
    PoseAutoencoderOutput,
    PoseAutoencoderPreTrainedModel,
    PoseLayoutError,
)

__all__ = [
    "PoseAutoencoderConfig",
    "PoseAutoencoderModel",
    "PoseAutoencoderOutput",
    "PoseAutoencoderPreTrainedModel",
    "PoseLayoutError",
]
