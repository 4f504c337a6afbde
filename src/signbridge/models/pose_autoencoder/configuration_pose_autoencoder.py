"""Configuration of the pose transformer autoencoder (TAE), the feature extractor of FGD."""

from __future__ import annotations

import math
from typing import Any

from huggingface_hub.dataclasses import strict
from transformers.configuration_utils import PreTrainedConfig

from .pose_normalization import PoseNormalizer
from .strict_loading import check_number_fields

#: integer fields that must be >= 1 (latent_dim may also be None)
_POSITIVE_INT_FIELDS = (
    "num_joints",
    "joint_dim",
    "window_size",
    "d_model",
    "encoder_layers",
    "decoder_layers",
    "num_attention_heads",
    "ffn_dim",
    "latent_dim",
)


@strict
class PoseAutoencoderConfig(PreTrainedConfig):
    r"""
    Configuration of [`PoseAutoencoderModel`]: a transformer autoencoder over fixed windows of
    `window_size` pose frames whose pooled latent is the feature used by the Fréchet Gesture
    Distance (FGD) of the NAR-SLP paper (34-frame windows there).

    Args:
        num_joints (`int`, *optional*, defaults to 50):
            Joints J per frame (50 for the Progressive Transformers skeleton).
        joint_dim (`int`, *optional*, defaults to 3):
            Coordinates K per joint.
        joint_names (`list[str]`, *optional*):
            Names of the J joints in order. When both a TAE and a pose set carry names, FGD
            checks that they agree.
        window_size (`int`, *optional*, defaults to 34):
            Frames per window; the model only ever sees windows of exactly this length.
        d_model (`int`, *optional*, defaults to 256):
            Width of the transformer.
        encoder_layers (`int`, *optional*, defaults to 4):
            Transformer encoder layers.
        decoder_layers (`int`, *optional*, defaults to 4):
            Transformer decoder layers.
        num_attention_heads (`int`, *optional*, defaults to 4):
            Attention heads in every layer.
        ffn_dim (`int`, *optional*, defaults to 1024):
            Feed-forward width.
        dropout (`float`, *optional*, defaults to 0.1):
            Dropout in the transformer layers.
        latent_dim (`int`, *optional*):
            `None` (the default): one FGD feature vector per window is the time-pooled encoder output itself
            (`d_model` values), as in NSLP-G's TAE that the NAR-SLP paper scores with. An integer adds a linear
            bottleneck of that size (the earlier default was 32: its features varied by about 1e-6 across windows,
            too little to tell producers apart).
        loss_type (`str`, *optional*, defaults to `"bce"`):
            Reconstruction loss on the normalised poses over the valid frames: `"bce"` (sigmoid output, binary
            cross-entropy on [0, 1]-normalised poses: what the NAR-SLP paper used for its evaluation model, Sec. 4.3),
            or `"mse"`.
        normalization (`dict`, *optional*):
            Min-max statistics of the training poses, `{"minimum": J x K, "maximum": J x K}` nested
            lists in corpus units, plus `"min_range"` when it is not 0 (the format of
            `signbridge.data.PoseNormalizer.to_dict()`, which also does the normalisation). The model maps poses
            to [0, 1] with them before encoding. `None` means the poses are used as they are.
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of the weight initialisation.

    Example:

    ```python
    >>> from signbridge.models.pose_autoencoder import PoseAutoencoderConfig, PoseAutoencoderModel
    >>> config = PoseAutoencoderConfig(d_model=64, encoder_layers=2, decoder_layers=2, latent_dim=16)
    >>> model = PoseAutoencoderModel(config)
    ```
    """

    model_type = "pose_autoencoder"

    # ---- pose layout ----
    num_joints: int = 50
    joint_dim: int = 3
    joint_names: list[str] | None = None
    window_size: int = 34
    # ---- transformer ----
    d_model: int = 256
    encoder_layers: int = 4
    decoder_layers: int = 4
    num_attention_heads: int = 4
    ffn_dim: int = 1024
    dropout: float | int = 0.1
    latent_dim: int | None = None
    # ---- training / normalisation ----
    loss_type: str = "bce"
    normalization: dict[str, Any] | None = None
    initializer_range: float = 0.02

    def __post_init__(self, **kwargs):
        check_number_fields(
            self,
            ints=_POSITIVE_INT_FIELDS,
            floats=("dropout", "initializer_range"),
            optional=("latent_dim",),
        )
        super().__post_init__(**kwargs)
        self._validate()

    def _validate(self) -> None:
        """Check sizes, the loss type and the normalisation statistics (raises ValueError)."""
        for name in _POSITIVE_INT_FIELDS:
            value = getattr(self, name)
            if value is None and name == "latent_dim":
                continue
            if value < 1:
                raise ValueError(f"PoseAutoencoderConfig.{name} must be >= 1, got {value}")
        if self.d_model % self.num_attention_heads != 0:
            raise ValueError(
                f"PoseAutoencoderConfig: d_model ({self.d_model}) must be a multiple of "
                f"num_attention_heads ({self.num_attention_heads})"
            )
        if self.loss_type not in ("mse", "bce"):
            raise ValueError(
                f"PoseAutoencoderConfig.loss_type must be 'mse' or 'bce', got {self.loss_type!r}"
            )
        if self.joint_names is not None and len(self.joint_names) != self.num_joints:
            raise ValueError(
                f"PoseAutoencoderConfig.joint_names has {len(self.joint_names)} names, expected "
                f"num_joints={self.num_joints}"
            )
        if self.normalization is not None:
            self._check_normalization(self.normalization)

    def _check_normalization(self, stats: dict) -> None:
        if not isinstance(stats, dict) or not {"minimum", "maximum"} <= set(stats):
            keys = sorted(stats) if isinstance(stats, dict) else type(stats).__name__
            raise ValueError(f"PoseAutoencoderConfig.normalization needs 'minimum' and 'maximum', got {keys}")
        for key in ("minimum", "maximum"):
            rows = stats[key]
            if len(rows) != self.num_joints or any(len(row) != self.joint_dim for row in rows):
                raise ValueError(
                    f"PoseAutoencoderConfig.normalization[{key!r}] must be {self.num_joints} x "
                    f"{self.joint_dim} values"
                )
            if not all(math.isfinite(float(v)) for row in rows for v in row):
                raise ValueError(f"PoseAutoencoderConfig.normalization[{key!r}] has non-finite values")
        try:
            PoseNormalizer.from_dict(stats)
        except ValueError as error:
            raise ValueError(f"PoseAutoencoderConfig.normalization: {error}") from None

    @property
    def frame_dim(self) -> int:
        """Values per frame, J * K."""
        return self.num_joints * self.joint_dim

    @property
    def feature_dim(self) -> int:
        """Size of one FGD feature vector (a window's pooled encoding): `latent_dim`, or `d_model` without one."""
        return self.latent_dim if self.latent_dim is not None else self.d_model


__all__ = ["PoseAutoencoderConfig"]
