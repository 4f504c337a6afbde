"""The per-frame pose VAE of NAR-SLP (Hwang et al., 2022, "Non-Autoregressive Sign Language
Production via Knowledge Distillation", Sec. 3.2 and 4.2).

Its encoder is the Latent Guiding Module (LGM): after pre-training it maps a ground-truth frame to
the latent the student must imitate (the distillation target). Its decoder is the Pose Generating
Module (PGM): it turns latents into normalised frames. Both are 3 linear layers with ReLU; the
decoder ends in a sigmoid because frames are min-max normalised to [0, 1] and read as Bernoulli
probabilities, trained with binary cross entropy.

The definition lives in ``signbridge/models/pose_vae/``. ``signbridge/models/nar_slp/modeling_pose_vae.py`` is a
copy of it, kept identical by ``utils/check_copies.py`` (run by the test suite), so that a saved
``NARSignProducer`` carries it along for ``trust_remote_code`` loading; inside signbridge the copy is never
imported (``signbridge.models.nar_slp`` uses the ``pose_vae`` module), so there is one ``PoseVAEModel`` class.
Imports only torch, transformers and, relatively, files of its own folder (the copy has the same files beside it).
"""

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput, logging

from .configuration_pose_vae import PoseVAEConfig
from .pose_normalization import PoseNormalizer
from .strict_loading import strict_from_pretrained

logger = logging.get_logger(__name__)


class PoseValidationError(ValueError):
    """A pose tensor does not fit the model's joint layout or holds non-finite values."""


class MissingNormalizationError(ValueError):
    """The pose VAE has no normalisation statistics (``normalization`` in its config)."""


def gaussian_kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per row, summed over the latent dimension.

    Closed form of Kingma & Welling, "Auto-Encoding Variational Bayes" (ICLR 2014), Appendix B:
        -KL = 1/2 * sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2)
    This is the only place the formula is written.
    """
    return -0.5 * torch.sum(1.0 + logvar - mu.pow(2) - logvar.exp(), dim=-1)


def check_pose_tensor(
    poses: torch.Tensor, num_joints: int, joint_dim: int, name: str = "poses"
) -> torch.Tensor:
    """Check that ``poses`` is a float tensor of shape (..., J, K) with finite values.

    Raises:
        PoseValidationError: wrong rank, joint count, joint dimension, or NaN/inf values.
    """
    if not isinstance(poses, torch.Tensor):
        raise PoseValidationError(f"{name} must be a torch.Tensor, got {type(poses).__name__}")
    if poses.dim() < 2:
        raise PoseValidationError(
            f"{name} must have shape (..., J={num_joints}, K={joint_dim}), got {tuple(poses.shape)}"
        )
    if poses.shape[-2] != num_joints:
        raise PoseValidationError(
            f"{name} has {poses.shape[-2]} joints per frame, the model expects {num_joints} "
            f"(shape {tuple(poses.shape)})"
        )
    if poses.shape[-1] != joint_dim:
        raise PoseValidationError(
            f"{name} has joint dimension {poses.shape[-1]}, the model expects {joint_dim} (shape {tuple(poses.shape)})"
        )
    if not torch.is_floating_point(poses):
        raise PoseValidationError(f"{name} must be a floating point tensor, got {poses.dtype}")
    if torch.isnan(poses).any():
        raise PoseValidationError(
            f"{name} contains NaN values ({int(torch.isnan(poses).sum())} of {poses.numel()})"
        )
    if torch.isinf(poses).any():
        raise PoseValidationError(f"{name} contains infinite values")
    return poses


@dataclass
class PoseVAEOutput(ModelOutput):
    r"""
    Output of [`PoseVAEModel`].

    Args:
        loss (`torch.FloatTensor` of shape `()`, returned with the input poses):
            `reconstruction_loss + kl_weight * kl_loss`.
        reconstruction_loss (`torch.FloatTensor` of shape `()`):
            Binary cross entropy between the reconstruction and the normalised input, mean over the
            real frames' coordinates (paper Eq. 7).
        kl_loss (`torch.FloatTensor` of shape `()`):
            KL divergence to the standard normal prior, summed over latent dimensions and averaged
            over real frames.
        reconstruction (`torch.FloatTensor` of shape `(..., J, K)`):
            Decoded frames in the normalised [0, 1] space.
        mu (`torch.FloatTensor` of shape `(..., latent_dim)`):
            Posterior means, the deterministic LGM output.
        logvar (`torch.FloatTensor` of shape `(..., latent_dim)`):
            Posterior log-variances.
        latents (`torch.FloatTensor` of shape `(..., latent_dim)`):
            The latents that were decoded (sampled in training mode, `mu` in eval mode).
    """

    loss: torch.FloatTensor | None = None
    reconstruction_loss: torch.FloatTensor | None = None
    kl_loss: torch.FloatTensor | None = None
    reconstruction: torch.FloatTensor | None = None
    mu: torch.FloatTensor | None = None
    logvar: torch.FloatTensor | None = None
    latents: torch.FloatTensor | None = None


class PoseVAEEncoder(nn.Module):
    """The LGM: flattened frame -> (mu, logvar); 3 linear layers (the last split into two heads)."""

    def __init__(self, config: PoseVAEConfig):
        super().__init__()
        h0, h1 = config.hidden_sizes
        self.fc1 = nn.Linear(config.input_dim, h0)
        self.fc2 = nn.Linear(h0, h1)
        self.fc_mu = nn.Linear(h1, config.latent_dim)
        self.fc_logvar = nn.Linear(h1, config.latent_dim)

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = F.relu(self.fc2(F.relu(self.fc1(frames))))
        return self.fc_mu(hidden), self.fc_logvar(hidden)


class PoseVAEDecoder(nn.Module):
    """The PGM: latent -> flattened frame logits; 3 linear layers, ReLU between (sigmoid applied by the caller)."""

    def __init__(self, config: PoseVAEConfig):
        super().__init__()
        h0, h1 = config.hidden_sizes
        self.fc1 = nn.Linear(config.latent_dim, h1)
        self.fc2 = nn.Linear(h1, h0)
        self.fc3 = nn.Linear(h0, config.input_dim)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(latents)))))


class PoseVAEPreTrainedModel(PreTrainedModel):
    """Base class: config class, Xavier initialisation (paper Sec. 4.2), safetensors weights."""

    config_class = PoseVAEConfig
    base_model_prefix = "pose_vae"
    main_input_name = "poses"
    accepts_loss_kwargs = False

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

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            init.xavier_uniform_(module.weight, gain=self.config.initializer_gain)
            if module.bias is not None:
                init.zeros_(module.bias)


class PoseVAEModel(PoseVAEPreTrainedModel):
    """Per-frame pose VAE: `encoder` (LGM, teacher) and `decoder` (PGM, generator).

    Frames enter and leave the network normalised to [0, 1] with the min-max statistics of the
    config (`normalize` / `denormalize`, kept outside the network). `encode` returns the
    deterministic posterior mean (the distillation target), `decode` normalised frames.
    """

    def __init__(self, config: PoseVAEConfig):
        super().__init__(config)
        self.encoder = PoseVAEEncoder(config)
        self.decoder = PoseVAEDecoder(config)
        self.post_init()

    # ---- normalisation (outside the network) ----
    @property
    def normalizer(self) -> PoseNormalizer:
        """The config's statistics as a `PoseNormalizer` (the one implementation of the min-max normalisation).

        Raises:
            MissingNormalizationError: the config has no statistics.
        """
        normalizer = self.config.normalizer
        if normalizer is None:
            raise MissingNormalizationError(
                "this pose VAE has no normalisation statistics: set config.normalization, e.g. "
                "model.config.set_normalization(PoseNormalizer.fit(train_poses)) before training"
            )
        return normalizer

    def check_poses(self, poses: torch.Tensor, name: str = "poses") -> torch.Tensor:
        """Validate the joint layout (J, K) and finiteness of `poses` (..., J, K)."""
        return check_pose_tensor(poses, self.config.num_joints, self.config.joint_dim, name)

    def normalize(self, poses: torch.Tensor) -> torch.Tensor:
        """Corpus coordinates (..., J, K) -> [0, 1] per joint coordinate: `(x - min) / (max - min)` (with
        `PoseNormalizer`; a range not above the statistics' `min_range` counts as 1).

        Values outside the training range map outside [0, 1]; nothing is clipped, so
        `denormalize(normalize(x))` gives back `x` (up to float rounding).
        """
        self.check_poses(poses)
        return self.normalizer.normalize(poses)

    def denormalize(self, poses: torch.Tensor) -> torch.Tensor:
        """Normalised frames (..., J, K) -> corpus coordinates: `x * (max - min) + min`."""
        self.check_poses(poses)
        return self.normalizer.denormalize(poses)

    # ---- LGM / PGM ----
    def encode_distribution(self, poses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised frames (..., J, K) -> posterior `(mu, logvar)`, each (..., latent_dim)."""
        self.check_poses(poses)
        flat = poses.reshape(*poses.shape[:-2], self.config.input_dim)
        return self.encoder(flat)

    def encode(self, poses: torch.Tensor) -> torch.Tensor:
        """LGM: normalised frames (..., J, K) -> posterior mean (..., latent_dim), deterministic."""
        return self.encode_distribution(poses)[0]

    def decode_logits(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents (..., latent_dim) -> pre-sigmoid frame logits (..., J, K)."""
        if latents.shape[-1] != self.config.latent_dim:
            raise ValueError(
                f"latents have size {latents.shape[-1]}, the pose VAE expects latent_dim={self.config.latent_dim}"
            )
        logits = self.decoder(latents)
        return logits.reshape(*latents.shape[:-1], self.config.num_joints, self.config.joint_dim)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """PGM: latents (..., latent_dim) -> normalised frames (..., J, K) in (0, 1)."""
        return torch.sigmoid(self.decode_logits(latents))

    @torch.no_grad()
    def reconstruct(self, poses: torch.Tensor, normalized: bool = False) -> torch.Tensor:
        """Deterministic reconstruction `decode(encode(x))`; corpus coordinates in and out unless `normalized`."""
        self.eval()
        inputs = poses if normalized else self.normalize(poses)
        out = self.decode(self.encode(inputs))
        return out if normalized else self.denormalize(out)

    def forward(
        self,
        poses: torch.Tensor,
        pose_mask: torch.Tensor | None = None,
        return_loss: bool = True,
        return_dict: bool | None = None,
    ) -> PoseVAEOutput | tuple:
        r"""
        Args:
            poses (`torch.FloatTensor` of shape `(..., J, K)`):
                Normalised frames (see [`~PoseVAEModel.normalize`]); any leading shape, e.g. (N, J, K)
                single frames or (B, T, J, K) padded sequences.
            pose_mask (`torch.Tensor` of shape `poses.shape[:-2]`, *optional*):
                1 for real frames, 0 for padding; the losses average over real frames only.
            return_loss (`bool`, *optional*, defaults to `True`):
                Compute the losses (the input frames are the targets; this flag also tells the
                `Trainer` that evaluation returns a loss).

        The latent is sampled with the reparameterisation trick in training mode and is the
        posterior mean in eval mode. The BCE target is clamped to [0, 1] (frames of held-out data
        can fall slightly outside the training range).
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        mu, logvar = self.encode_distribution(poses)
        latents = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        logits = self.decode_logits(latents)
        reconstruction = torch.sigmoid(logits)
        loss = reconstruction_loss = kl_loss = None
        if return_loss:
            loss, reconstruction_loss, kl_loss = self._losses(poses, pose_mask, logits, mu, logvar)
        output = PoseVAEOutput(
            loss=loss,
            reconstruction_loss=reconstruction_loss,
            kl_loss=kl_loss,
            reconstruction=reconstruction,
            mu=mu,
            logvar=logvar,
            latents=latents,
        )
        return output if return_dict else output.to_tuple()

    def _losses(self, poses, pose_mask, logits, mu, logvar):
        if pose_mask is None:
            frame_mask = torch.ones(poses.shape[:-2], dtype=torch.bool, device=poses.device)
        else:
            if tuple(pose_mask.shape) != tuple(poses.shape[:-2]):
                raise ValueError(
                    f"pose_mask has shape {tuple(pose_mask.shape)}, expected the frame shape {tuple(poses.shape[:-2])}"
                )
            frame_mask = pose_mask.to(device=poses.device).bool()
        num_frames = frame_mask.sum()
        if int(num_frames) == 0:
            raise ValueError("pose_mask selects no frame: the loss would be undefined")
        target = poses.clamp(0.0, 1.0)
        bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none").mean(dim=(-2, -1))
        reconstruction_loss = (bce * frame_mask).sum() / num_frames
        kl_loss = (gaussian_kl_divergence(mu, logvar) * frame_mask).sum() / num_frames
        loss = reconstruction_loss + self.config.kl_weight * kl_loss
        return loss, reconstruction_loss, kl_loss


PoseVAEModel.register_for_auto_class("AutoModel")

__all__ = [
    "MissingNormalizationError",
    "PoseValidationError",
    "PoseVAEModel",
    "PoseVAEOutput",
    "PoseVAEPreTrainedModel",
    "check_pose_tensor",
    "gaussian_kl_divergence",
]
