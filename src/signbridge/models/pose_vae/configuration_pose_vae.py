"""Configuration of the per-frame pose VAE (the LGM teacher and PGM generator of NAR-SLP).

The definition lives in ``signbridge/models/pose_vae/``. ``signbridge/models/nar_slp/configuration_pose_vae.py``
is a copy of it, kept identical by ``utils/check_copies.py`` (run by the test suite), so that a saved
``NARSignProducer`` (which embeds the VAE) is self-contained for ``trust_remote_code``: transformers copies only
the files a model's file imports relatively from its *own* folder. Inside signbridge the copy is never imported
(``signbridge.models.nar_slp`` uses the ``pose_vae`` module), so there is one ``PoseVAEConfig`` class. Imports
only transformers.
"""

import math
from typing import Any

from transformers import PreTrainedConfig


class PoseVAEConfig(PreTrainedConfig):
    r"""
    Configuration of [`PoseVAEModel`], the single-frame variational autoencoder of NAR-SLP
    (Hwang et al., 2022, Sec. 3.2): its encoder is the Latent Guiding Module (LGM, the teacher of
    the distillation loss) and its decoder the Pose Generating Module (PGM).

    Args:
        num_joints (`int`, *optional*, defaults to 50):
            Number of joints J per frame (50 for the Progressive Transformers skeleton).
        joint_dim (`int`, *optional*, defaults to 3):
            Coordinates K per joint.
        hidden_sizes (`list[int]`, *optional*, defaults to `[512, 256]`):
            Widths of the two hidden layers. The encoder maps `J*K -> h0 -> h1 -> (mu, logvar)` and
            the decoder `latent -> h1 -> h0 -> J*K` (3 linear layers each, ReLU between, sigmoid
            after the decoder's last layer).
        latent_dim (`int`, *optional*, defaults to 64):
            Size of the per-frame latent z.
        kl_weight (`float`, *optional*, defaults to 1e-4):
            Weight lambda of the KL term (paper, Sec. 4.2).
        pose_min (`list[list[float]]`, *optional*):
            Per joint and coordinate minimum (J lists of K floats) of the training poses, in corpus
            coordinates. With `pose_max` it defines the min-max normalisation to [0, 1].
        pose_max (`list[list[float]]`, *optional*):
            Per joint and coordinate maximum, same layout as `pose_min`.
        min_range (`float`, *optional*, defaults to 0.0):
            Ranges `max - min` not above this value (a coordinate that never moves) are replaced by 1
            so that normalisation never divides by zero (as `PoseNormalizer` does).
        initializer_gain (`float`, *optional*, defaults to 1.0):
            Gain of the Xavier-uniform initialisation of the linear layers (paper, Sec. 4.2).

    Example:

    ```python
    >>> from signbridge.models.pose_vae import PoseVAEConfig, PoseVAEModel
    >>> config = PoseVAEConfig(num_joints=50, joint_dim=3, latent_dim=32)
    >>> model = PoseVAEModel(config)
    ```
    """

    model_type = "pose_vae"

    # ---- joint layout ----
    num_joints: int = 50
    joint_dim: int = 3
    # ---- architecture ----
    hidden_sizes: list[int] | tuple[int, ...] | None = None
    latent_dim: int = 64
    initializer_gain: float = 1.0
    # ---- loss ----
    kl_weight: float = 1e-4
    # ---- normalisation statistics (corpus coordinates -> [0, 1]) ----
    pose_min: list[list[float]] | None = None
    pose_max: list[list[float]] | None = None
    min_range: float = 0.0

    def __post_init__(self, **kwargs):
        if self.hidden_sizes is None:
            self.hidden_sizes = [512, 256]
        self.hidden_sizes = [int(h) for h in self.hidden_sizes]
        for name in ("num_joints", "joint_dim", "latent_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"PoseVAEConfig.{name} must be a positive integer, got {value!r}")
        if len(self.hidden_sizes) != 2 or any(h < 1 for h in self.hidden_sizes):
            raise ValueError(
                "PoseVAEConfig.hidden_sizes must hold exactly two positive widths (3 linear layers per "
                f"encoder/decoder), got {self.hidden_sizes!r}"
            )
        if not (self.kl_weight >= 0 and math.isfinite(self.kl_weight)):
            raise ValueError(f"PoseVAEConfig.kl_weight must be finite and >= 0, got {self.kl_weight!r}")
        if (self.pose_min is None) != (self.pose_max is None):
            raise ValueError(
                "PoseVAEConfig needs both pose_min and pose_max, or neither; got only one of them"
            )
        if self.pose_min is not None:
            self.pose_min, self.pose_max = self._check_pair(self.pose_min, self.pose_max)
        super().__post_init__(**kwargs)

    def _check_stats(self, name: str, stats: Any) -> list[list[float]]:
        if hasattr(stats, "tolist"):  # numpy array or torch tensor
            stats = stats.tolist()
        if not isinstance(stats, (list, tuple)) or len(stats) != self.num_joints:
            got = len(stats) if isinstance(stats, (list, tuple)) else type(stats).__name__
            raise ValueError(f"PoseVAEConfig.{name} must hold num_joints={self.num_joints} rows, got {got}")
        rows = []
        for j, row in enumerate(stats):
            if not isinstance(row, (list, tuple)) or len(row) != self.joint_dim:
                got = len(row) if isinstance(row, (list, tuple)) else type(row).__name__
                raise ValueError(
                    f"PoseVAEConfig.{name}[{j}] must hold joint_dim={self.joint_dim} values, got {got}"
                )
            values = [float(v) for v in row]
            if not all(math.isfinite(v) for v in values):
                raise ValueError(f"PoseVAEConfig.{name}[{j}] holds a non-finite value: {values}")
            rows.append(values)
        return rows

    @property
    def input_dim(self) -> int:
        """Flattened frame size J * K."""
        return self.num_joints * self.joint_dim

    @property
    def has_normalization(self) -> bool:
        """Whether the min-max normalisation statistics are set."""
        return self.pose_min is not None and self.pose_max is not None

    def set_normalization(self, stats: Any) -> None:
        """Set the normalisation statistics from a `PoseNormalizer`, its `to_dict()`, or a dict
        with `min`/`max` (or `pose_min`/`pose_max`) entries of shape (J, K)."""
        if hasattr(stats, "to_dict") and not isinstance(stats, dict):
            stats = stats.to_dict()
        if not isinstance(stats, dict):
            raise ValueError(
                f"normalisation statistics must be a dict or a PoseNormalizer, got {type(stats).__name__}"
            )
        lo = next((stats[k] for k in ("pose_min", "min", "data_min", "minimum") if k in stats), None)
        hi = next((stats[k] for k in ("pose_max", "max", "data_max", "maximum") if k in stats), None)
        if lo is None or hi is None:
            raise ValueError(
                f"normalisation statistics need 'min' and 'max' (per joint and coordinate); got keys {sorted(stats)}"
            )
        self.pose_min, self.pose_max = self._check_pair(lo, hi)

    def _check_pair(self, low: Any, high: Any) -> tuple[list[list[float]], list[list[float]]]:
        low = self._check_stats("pose_min", low)
        high = self._check_stats("pose_max", high)
        for j, (low_row, high_row) in enumerate(zip(low, high, strict=True)):
            for k, (a, b) in enumerate(zip(low_row, high_row, strict=True)):
                if b < a:
                    raise ValueError(
                        f"PoseVAEConfig: pose_max < pose_min at joint {j}, coordinate {k} ({b} < {a})"
                    )
        return low, high


PoseVAEConfig.register_for_auto_class()

__all__ = ["PoseVAEConfig"]
