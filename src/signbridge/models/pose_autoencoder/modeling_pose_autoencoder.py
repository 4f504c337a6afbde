"""Pose transformer autoencoder (TAE): the feature extractor of the Fréchet Gesture Distance.

A transformer encoder reads a window of exactly ``config.window_size`` pose frames (34 in the
NAR-SLP paper), its outputs are mean-pooled over the valid frames (and projected to ``config.latent_dim``
when one is set): that pooled encoding is the FGD feature of the window, as in NSLP-G's TAE. A transformer
decoder whose queries are learned frame positions plus the encoding reconstructs the window; the training
loss (BCE by default, as the NAR-SLP paper's evaluation model) is the reconstruction error over the valid
frames (``frame_mask``).

This file imports only torch, transformers and, relatively, its configuration and ``pose_normalization`` (a copy
of ``signbridge.data.normalization``), so a saved folder loads with ``trust_remote_code=True`` where signbridge is
not installed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import ModelOutput
from transformers.modeling_utils import PreTrainedModel

from .configuration_pose_autoencoder import PoseAutoencoderConfig
from .pose_normalization import PoseNormalizer
from .strict_loading import strict_from_pretrained


class PoseLayoutError(ValueError):
    """Poses whose shape, joint layout or values do not fit the autoencoder."""


@dataclass
class PoseAutoencoderOutput(ModelOutput):
    """Output of [`PoseAutoencoderModel.forward`].

    Args:
        loss: reconstruction loss over the valid frames (MSE, or BCE when
            ``config.loss_type == "bce"``), in normalised pose units.
        reconstruction: ``(N, W, J, K)`` reconstructed window, normalised units.
        features: ``(N, config.feature_dim)`` pooled encoding of every window (the FGD feature).
        normalized_poses: ``(N, W, J, K)`` the input after normalisation (the loss target).
    """

    loss: torch.FloatTensor | None = None
    reconstruction: torch.FloatTensor | None = None
    features: torch.FloatTensor | None = None
    normalized_poses: torch.FloatTensor | None = None


class PoseAutoencoderPreTrainedModel(PreTrainedModel):
    """Weight initialisation and loading conventions for the pose autoencoder."""

    config: PoseAutoencoderConfig
    config_class = PoseAutoencoderConfig
    base_model_prefix = "pose_autoencoder"
    main_input_name = "poses"
    # the encoder and decoder layers (PoseAutoencoderLayer) are GradientCheckpointingLayers
    supports_gradient_checkpointing = True
    _no_split_modules = ["PoseAutoencoderLayer"]

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, strict: bool = True, **kwargs):
        """`PreTrainedModel.from_pretrained`, strict by default: a folder (or `config`) of another model type, and
        weights missing from or left over in the checkpoint, raise `ValueError` naming them.

        Args:
            strict: `False` loads as transformers does (missing weights keep their initialisation, unexpected ones
                are dropped, each with a logged warning; another model type's config is read as this one's).
        """
        return strict_from_pretrained(
            cls, super().from_pretrained, pretrained_model_name_or_path, model_args, kwargs, strict
        )


class PoseAutoencoderLayer(GradientCheckpointingLayer, nn.TransformerEncoderLayer):
    """`nn.TransformerEncoderLayer` that transformers' gradient checkpointing can recompute.

    Same parameters and outputs as its torch base (state-dict keys unchanged, so folders saved before load); with
    `model.gradient_checkpointing_enable()` (or `activation_checkpointing_enable()`) and in training mode, the
    layer keeps only its inputs in the forward pass and recomputes its activations in the backward pass.
    """


def _transformer_stack(config: PoseAutoencoderConfig, num_layers: int) -> nn.TransformerEncoder:
    layer = PoseAutoencoderLayer(
        d_model=config.d_model,
        nhead=config.num_attention_heads,
        dim_feedforward=config.ffn_dim,
        dropout=config.dropout,
        activation="gelu",
        batch_first=True,
        norm_first=True,
    )
    return nn.TransformerEncoder(layer, num_layers=num_layers, enable_nested_tensor=False)


class PoseAutoencoderModel(PoseAutoencoderPreTrainedModel):
    """Transformer autoencoder over fixed-length pose windows; ``features`` feed FGD."""

    accepts_loss_kwargs = False

    def __init__(self, config: PoseAutoencoderConfig):
        super().__init__(config)
        # ---- encoder ----
        self.input_projection = nn.Linear(config.frame_dim, config.d_model)
        self.encoder_positions = nn.Embedding(config.window_size, config.d_model)
        self.encoder = _transformer_stack(config, config.encoder_layers)
        self.encoder_norm = nn.LayerNorm(config.d_model)
        # without latent_dim the FGD feature is the pooled encoder output itself (NSLP-G's TAE)
        bottleneck = config.latent_dim is not None
        self.to_latent = nn.Linear(config.d_model, config.latent_dim) if bottleneck else nn.Identity()
        # ---- decoder ----
        self.from_latent = nn.Linear(config.latent_dim, config.d_model) if bottleneck else nn.Identity()
        self.decoder_positions = nn.Embedding(config.window_size, config.d_model)
        self.decoder = _transformer_stack(config, config.decoder_layers)
        self.decoder_norm = nn.LayerNorm(config.d_model)
        self.output_projection = nn.Linear(config.d_model, config.frame_dim)
        self.post_init()

    # ------------------------------------------------------------------ normalisation
    @property
    def normalizer(self) -> PoseNormalizer | None:
        """``config.normalization`` as a :class:`PoseNormalizer`, ``None`` without statistics."""
        stats = self.config.normalization
        return None if stats is None else PoseNormalizer.from_dict(stats)

    def normalize_poses(self, poses: torch.Tensor) -> torch.Tensor:
        """Map corpus-unit poses ``(..., J, K)`` to [0, 1] with ``config.normalization`` (``PoseNormalizer``:
        a coordinate whose range is not above its ``min_range``, default 0, never moves and is divided by 1).
        Without statistics the poses are returned unchanged."""
        normalizer = self.normalizer
        return poses if normalizer is None else normalizer.normalize(poses)

    def denormalize_poses(self, poses: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`normalize_poses`."""
        normalizer = self.normalizer
        return poses if normalizer is None else normalizer.denormalize(poses)

    # ------------------------------------------------------------------ checks
    def check_poses(self, poses: torch.Tensor, name: str = "poses") -> None:
        """Raise :class:`PoseLayoutError` unless ``poses`` is ``(N, window_size, J, K)`` and finite."""
        config = self.config
        expected = (config.window_size, config.num_joints, config.joint_dim)
        if poses.ndim != 4 or tuple(poses.shape[1:]) != expected:
            raise PoseLayoutError(
                f"{name} must have shape (N, {expected[0]}, {expected[1]}, {expected[2]}) "
                f"(window_size, num_joints, joint_dim of this autoencoder), got {tuple(poses.shape)}"
            )
        if not torch.isfinite(poses).all():
            raise PoseLayoutError(f"{name} contains NaN or infinite values")

    # ------------------------------------------------------------------ model
    def _encode(self, x: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        n, w = x.shape[:2]
        positions = torch.arange(w, device=x.device)
        hidden = self.input_projection(x.reshape(n, w, -1)) + self.encoder_positions(positions)
        hidden = self.encoder(hidden, src_key_padding_mask=~frame_mask)
        hidden = self.encoder_norm(hidden)
        weights = frame_mask.to(hidden.dtype).unsqueeze(-1)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return self.to_latent(pooled)

    def _decode(self, features: torch.Tensor) -> torch.Tensor:
        config = self.config
        positions = torch.arange(config.window_size, device=features.device)
        queries = self.decoder_positions(positions).unsqueeze(0) + self.from_latent(features).unsqueeze(1)
        hidden = self.decoder_norm(self.decoder(queries))
        out = self.output_projection(hidden)
        return out.reshape(features.shape[0], config.window_size, config.num_joints, config.joint_dim)

    def forward(
        self,
        poses: torch.Tensor,
        frame_mask: torch.Tensor | None = None,
        normalize: bool = True,
        return_dict: bool | None = None,
        **kwargs,
    ) -> PoseAutoencoderOutput | tuple:
        """Encode and reconstruct windows of poses.

        Args:
            poses: ``(N, window_size, J, K)`` poses in corpus units (normalised here with
                ``config.normalization`` when ``normalize``).
            frame_mask: ``(N, window_size)``, 1 for real frames, 0 for frames to ignore (they are
                hidden from the encoder and left out of pooling and of the loss). Default: all 1.
            normalize: set to ``False`` when ``poses`` are already normalised.

        Returns:
            :class:`PoseAutoencoderOutput` with ``loss`` first.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        self.check_poses(poses)
        if frame_mask is None:
            frame_mask = torch.ones(poses.shape[:2], dtype=torch.bool, device=poses.device)
        else:
            if tuple(frame_mask.shape) != tuple(poses.shape[:2]):
                raise PoseLayoutError(
                    f"frame_mask must have shape {tuple(poses.shape[:2])}, got {tuple(frame_mask.shape)}"
                )
            frame_mask = frame_mask.bool()
            if not frame_mask.any(dim=1).all():
                raise PoseLayoutError("every window needs at least one valid frame in frame_mask")
        target = self.normalize_poses(poses) if normalize else poses
        features = self._encode(target, frame_mask)
        logits = self._decode(features)
        weights = frame_mask.to(logits.dtype)[:, :, None, None].expand_as(logits)
        if self.config.loss_type == "bce":
            reconstruction = torch.sigmoid(logits)
            per_value = F.binary_cross_entropy_with_logits(logits, target.clamp(0.0, 1.0), reduction="none")
        else:
            reconstruction = logits
            per_value = (logits - target) ** 2
        loss = (per_value * weights).sum() / weights.sum()
        if not return_dict:
            return (loss, reconstruction, features, target)
        return PoseAutoencoderOutput(
            loss=loss, reconstruction=reconstruction, features=features, normalized_poses=target
        )

    @torch.no_grad()
    def encode_windows(self, poses, batch_size: int = 256, normalize: bool = True) -> torch.Tensor:
        """FGD features of full windows: ``(N, window_size, J, K)`` -> ``(N, config.feature_dim)``.

        Runs in eval mode (no dropout), in batches, and returns a float32 CPU tensor. ``poses``
        may be a torch tensor or anything ``torch.as_tensor`` accepts (a numpy array).
        """
        poses = torch.as_tensor(poses, dtype=torch.float32)
        self.check_poses(poses)
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        dtype = next(self.parameters()).dtype
        chunks = []
        try:
            for start in range(0, poses.shape[0], batch_size):
                batch = poses[start : start + batch_size].to(device=device, dtype=dtype)
                x = self.normalize_poses(batch) if normalize else batch
                mask = torch.ones(x.shape[:2], dtype=torch.bool, device=device)
                chunks.append(self._encode(x, mask).float().cpu())
        finally:
            self.train(was_training)
        if not chunks:
            return torch.zeros((0, self.config.feature_dim), dtype=torch.float32)
        return torch.cat(chunks, dim=0)


PoseAutoencoderConfig.register_for_auto_class()
PoseAutoencoderModel.register_for_auto_class("AutoModel")

__all__ = [
    "PoseAutoencoderLayer",
    "PoseAutoencoderModel",
    "PoseAutoencoderOutput",
    "PoseAutoencoderPreTrainedModel",
    "PoseLayoutError",
]
