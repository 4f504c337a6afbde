# Copied from signbridge.models.pose_vae.configuration_pose_vae (whole file): do not edit here; edit the source,
# then run `python utils/check_copies.py --fix_and_overwrite`.
"""Configuration of the per-frame pose VAE (the LGM teacher and PGM generator of NAR-SLP).

The definition lives in ``signbridge/models/pose_vae/``. ``signbridge/models/nar_slp/configuration_pose_vae.py``
is a copy of it, kept identical by ``utils/check_copies.py`` (run by the test suite), so that a saved
``NARSignProducer`` (which embeds the VAE) is self-contained for ``trust_remote_code``: transformers copies only
the files a model's file imports relatively from its *own* folder. Inside signbridge the copy is never imported
(``signbridge.models.nar_slp`` uses the ``pose_vae`` module), so there is one ``PoseVAEConfig`` class. Imports
only transformers and, relatively, ``pose_normalization`` (a copy of ``signbridge.data.normalization``, beside
this file in both folders).

The normalisation statistics are one value, ``normalization``, in the format of ``PoseNormalizer.to_dict()``.
Configs saved before (with ``pose_min``/``pose_max``/``min_range``) are folded into it when they load.
"""

import math
import numbers
from typing import Any

from transformers import PreTrainedConfig

from .pose_normalization import PoseNormalizer
from .strict_loading import check_number_fields

#: the keys of configs saved before the statistics became one ``normalization`` value
LEGACY_NORMALIZATION_KEYS = ("pose_min", "pose_max", "min_range")


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
        normalization (`dict`, *optional*):
            Min-max statistics of the training poses in corpus coordinates, the format of
            `PoseNormalizer.to_dict()`: `{"minimum": J x K, "maximum": J x K}` nested lists, plus `"min_range"`
            when it is not 0 (ranges `max - min` not above it, coordinates that never move, are replaced by 1).
            They define the min-max normalisation to [0, 1]. A `PoseNormalizer` is accepted too.
            Legacy: `pose_min`, `pose_max` (and `min_range`), as configs saved before stored them, are folded
            into `normalization`.
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
    # ---- normalisation statistics (corpus coordinates -> [0, 1]), PoseNormalizer.to_dict() ----
    normalization: dict[str, Any] | None = None

    def __post_init__(self, **kwargs):
        legacy = {key: kwargs.pop(key) for key in LEGACY_NORMALIZATION_KEYS if key in kwargs}
        if self.hidden_sizes is None:
            self.hidden_sizes = [512, 256]
        check_number_fields(
            self, ints=("num_joints", "joint_dim", "latent_dim"), floats=("kl_weight", "initializer_gain")
        )
        if not isinstance(self.hidden_sizes, (list, tuple)) or any(
            not isinstance(h, numbers.Integral) or isinstance(h, bool) for h in self.hidden_sizes
        ):
            raise ValueError(
                f"PoseVAEConfig.hidden_sizes must be a list of integers, got {self.hidden_sizes!r:.80}"
            )
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
        if legacy:
            self._fold_legacy(legacy)
        if self.normalization is not None:
            self.normalization = self._checked_normalizer(self.normalization).to_dict()
        super().__post_init__(**kwargs)

    def _fold_legacy(self, legacy: dict[str, Any]) -> None:
        """``pose_min``/``pose_max``/``min_range`` (configs saved before) -> ``normalization``."""
        low, high = legacy.get("pose_min"), legacy.get("pose_max")
        min_range = legacy.get("min_range")
        if (low is None) != (high is None):
            raise ValueError(
                "PoseVAEConfig needs both pose_min and pose_max, or neither; got only one of them"
            )
        if low is not None:
            if self.normalization is not None:
                raise ValueError(
                    "PoseVAEConfig got both normalization and the legacy pose_min/pose_max; give only normalization"
                )
            self.normalization = {
                "minimum": self._check_stats("pose_min", low),
                "maximum": self._check_stats("pose_max", high),
            }
        if min_range is None or float(min_range) == 0:
            return
        if self.normalization is None:
            raise ValueError(
                f"PoseVAEConfig got min_range={min_range!r} without normalisation statistics; min_range is part of "
                "them: give it with the statistics, e.g. set_normalization(stats, min_range=...)"
            )
        stats = (
            self.normalization.to_dict()
            if isinstance(self.normalization, PoseNormalizer)
            else dict(self.normalization)
        )
        if float(stats.get("min_range", min_range)) != float(min_range):
            raise ValueError(
                f"PoseVAEConfig got min_range={min_range!r} and normalization with min_range={stats['min_range']!r}"
            )
        stats["min_range"] = min_range
        self.normalization = stats

    def _checked_normalizer(self, stats: Any) -> PoseNormalizer:
        """``stats`` (a PoseNormalizer or its ``to_dict()``) as a PoseNormalizer of this config's (J, K)."""
        if isinstance(stats, PoseNormalizer):
            normalizer = stats
        elif isinstance(stats, dict):
            for key in ("minimum", "maximum"):
                if key in stats:
                    self._check_stats(f"normalization[{key!r}]", stats[key])
            try:
                normalizer = PoseNormalizer.from_dict(stats)
            except ValueError as error:
                raise ValueError(f"PoseVAEConfig.normalization: {error}") from None
        else:
            raise ValueError(
                f"PoseVAEConfig.normalization must be a dict or a PoseNormalizer, got {type(stats).__name__}"
            )
        if (normalizer.num_joints, normalizer.num_dims) != (self.num_joints, self.joint_dim):
            raise ValueError(
                f"PoseVAEConfig.normalization has (J, K) = ({normalizer.num_joints}, {normalizer.num_dims}), the "
                f"config has num_joints={self.num_joints}, joint_dim={self.joint_dim}"
            )
        return normalizer

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
        return self.normalization is not None

    @property
    def normalizer(self) -> PoseNormalizer | None:
        """The statistics as a `PoseNormalizer` (a new object on each call), `None` when they are not set."""
        return None if self.normalization is None else PoseNormalizer.from_dict(self.normalization)

    def set_normalization(self, stats: Any, min_range: float | None = None) -> None:
        """Set the normalisation statistics from a `PoseNormalizer`, its `to_dict()`, or a dict with
        `min`/`max` (or `pose_min`/`pose_max`, `data_min`/`data_max`) entries of shape (J, K).

        `min_range` (see `PoseNormalizer`) defaults to the one of `stats`: a `PoseNormalizer`'s, a dict's
        `"min_range"` entry, and for a dict without one the current statistics' (0 when none are set)."""
        if isinstance(stats, PoseNormalizer):
            data = stats.to_dict()
            data.setdefault("min_range", stats.min_range)
        elif hasattr(stats, "to_dict") and not isinstance(stats, dict):
            data = stats.to_dict()
        else:
            data = stats
        if not isinstance(data, dict):
            raise ValueError(
                f"normalisation statistics must be a dict or a PoseNormalizer, got {type(stats).__name__}"
            )
        low = next((data[k] for k in ("minimum", "pose_min", "min", "data_min") if k in data), None)
        high = next((data[k] for k in ("maximum", "pose_max", "max", "data_max") if k in data), None)
        if low is None or high is None:
            raise ValueError(
                f"normalisation statistics need 'min' and 'max' (per joint and coordinate); got keys {sorted(data)}"
            )
        if min_range is None:
            current = self.normalization.get("min_range", 0.0) if self.normalization is not None else 0.0
            min_range = data.get("min_range", current)
        stats = {
            "minimum": self._check_stats("normalization['minimum']", low),
            "maximum": self._check_stats("normalization['maximum']", high),
        }
        if float(min_range) != 0:
            stats["min_range"] = float(min_range)
        self.normalization = self._checked_normalizer(stats).to_dict()


PoseVAEConfig.register_for_auto_class()

__all__ = ["PoseVAEConfig"]
