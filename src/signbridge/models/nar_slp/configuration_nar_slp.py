"""Configuration of NARSignProducer, the non-autoregressive sign pose producer of NAR-SLP
(Hwang et al., 2022, "Non-Autoregressive Sign Language Production via Knowledge Distillation")."""

import numbers

from transformers import BertConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from .configuration_pose_vae import PoseVAEConfig
from .strict_loading import check_number_fields

#: integer fields that must be >= 1
_POSITIVE_INT_FIELDS = (
    "d_model",
    "decoder_layers",
    "decoder_attention_heads",
    "decoder_ffn_dim",
    "max_frames",
    "fps",
    "length_regulator_hidden_size",
    "length_regulator_layers",
)

# Fields added after folders were saved without them: a new config takes the class default, a config read from a
# saved folder whose config.json predates the field takes the value here, which is what that folder computed before.
_LEGACY_VALUES = {"mask_frames_beyond_length": False}


class NARSignProducerConfig(PreTrainedConfig):
    r"""
    Composite configuration of [`NARSignProducer`]: a BERT text encoder (`text_encoder`, a
    [`~transformers.BertConfig`]), the pose VAE whose decoder (PGM) produces the frames and whose
    encoder (LGM) gives the distillation target (`pose_vae`, a [`PoseVAEConfig`], normalisation
    statistics included), and the non-autoregressive decoder with its length regulator.

    The defaults are the paper's sizes (Sec. 4.2: 768-d, 8 layers, 8 heads, FFN 2048, dropout 0.1);
    tests and CPU runs use tiny ones.

    Args:
        text_encoder (`BertConfig` or `dict`, *optional*):
            Configuration of the BERT language encoder (BERT-base when omitted).
        pose_vae (`PoseVAEConfig` or `dict`, *optional*):
            Configuration of the pre-trained per-frame pose VAE.
        d_model (`int`, *optional*, defaults to 768):
            Width of the non-autoregressive decoder; the text encoder's outputs are projected to it
            when their width differs.
        decoder_layers (`int`, *optional*, defaults to 8):
            Number of decoder layers.
        decoder_attention_heads (`int`, *optional*, defaults to 8):
            Attention heads per decoder layer.
        decoder_ffn_dim (`int`, *optional*, defaults to 2048):
            Width of the decoder's feed-forward layers.
        dropout (`float`, *optional*, defaults to 0.1):
            Dropout in the decoder and the length regulator.
        attention_dropout (`float`, *optional*):
            Dropout on the decoder's attention probabilities; `None` (the default) uses `dropout`, as
            the paper does. On a CPU the mask over the (T_max x T_max) self-attention weights is a
            large share of a small model's step time, so the CPU demo sets it to 0.
        activation_function (`str`, *optional*, defaults to `"relu"`):
            `"relu"` or `"gelu"`, the decoder's feed-forward activation.
        max_frames (`int`, *optional*, defaults to 300):
            T_max: the decoder emits this many frames in parallel; the length regulator predicts
            `T / T_max` and the output is cut there.
        mask_frames_beyond_length (`bool`, *optional*, defaults to `True`):
            The decoder's self-attention sees only the frames within each sequence's length (the true length, the
            row sums of `pose_mask`, in training; the regulator's length otherwise), and the decoder and the PGM run
            only up to the longest length of the batch: frames past a sequence's length neither cost time nor change
            its kept frames. `False` is the behaviour of folders saved before this field existed (they load with
            it): every frame attends to all `max_frames` frames, and all of them are decoded.
        fps (`int`, *optional*, defaults to 25):
            Frame rate of the pose corpus (PHOENIX14T and the embedded corpus: 25), used when
            writing produced poses to files.
        length_regulator_hidden_size (`int`, *optional*):
            Width of the regulator's hidden FC layers (defaults to `d_model`).
        length_regulator_layers (`int`, *optional*, defaults to 2):
            Number of FC layers of the regulator (the last one outputs the ratio logit).
        use_distillation (`bool`, *optional*, defaults to `True`):
            Add `L_distil` (MSE between the decoder's latents and the LGM's latents of the
            ground truth). `False` is the paper's "without KD" ablation.
        pose_loss_weight / distillation_loss_weight / length_loss_weight (`float`, *optional*, defaults to 1.0):
            Weights of the three loss parts (equal in the paper, Eq. 11).
        freeze_pose_vae (`bool`, *optional*, defaults to `True`):
            Keep the LGM and PGM frozen (the paper's setting).
        special_token_ids (`list[int]`, *optional*):
            Token ids that carry no text (e.g. `[CLS]`, `[SEP]`, `[PAD]`); an input row made only
            of them is rejected as empty text.
        initializer_gain (`float`, *optional*, defaults to 1.0):
            Gain of the Xavier initialisation of the decoder, projections and regulator.
    """

    model_type = "nar_slp"
    # explicit specs: transformers 5.20 does not wrap plain config classes itself (5.24 does)
    sub_configs_defaults = {
        "text_encoder": SubConfigSpec(BertConfig),
        "pose_vae": SubConfigSpec(PoseVAEConfig),
    }

    # ---- sub-models ----
    text_encoder: BertConfig | dict | None = None
    pose_vae: PoseVAEConfig | dict | None = None
    # ---- non-autoregressive decoder ----
    d_model: int = 768
    decoder_layers: int = 8
    decoder_attention_heads: int = 8
    decoder_ffn_dim: int = 2048
    dropout: float = 0.1
    attention_dropout: float | None = None
    activation_function: str = "relu"
    max_frames: int = 300
    mask_frames_beyond_length: bool = True
    fps: int = 25
    # ---- length regulator ----
    length_regulator_hidden_size: int | None = None
    length_regulator_layers: int = 2
    # ---- losses ----
    use_distillation: bool = True
    pose_loss_weight: float = 1.0
    distillation_loss_weight: float = 1.0
    length_loss_weight: float = 1.0
    freeze_pose_vae: bool = True
    # ---- inputs and initialisation ----
    special_token_ids: list[int] | None = None
    initializer_gain: float = 1.0

    @classmethod
    def from_dict(cls, config_dict, **kwargs):
        """As `PreTrainedConfig.from_dict`, except that a producer config dict (`model_type` "nar_slp", as every saved
        config.json carries) lacking a field added since gets the value that reproduces what the folder computed
        before the field existed (`_LEGACY_VALUES`), not the new default (`save_pretrained` writes every field, so a
        dict without one comes from an older folder)."""
        if isinstance(config_dict, dict) and config_dict.get("model_type") == cls.model_type:
            missing = {name: value for name, value in _LEGACY_VALUES.items() if name not in config_dict}
            config_dict = {**config_dict, **missing}
        return super().from_dict(config_dict, **kwargs)

    def __post_init__(self, **kwargs):
        if not isinstance(self.mask_frames_beyond_length, bool):
            raise ValueError(
                "NARSignProducerConfig.mask_frames_beyond_length must be True or False, got "
                f"{self.mask_frames_beyond_length!r:.80}"
            )
        check_number_fields(
            self,
            ints=_POSITIVE_INT_FIELDS,
            floats=(
                "dropout",
                "attention_dropout",
                "pose_loss_weight",
                "distillation_loss_weight",
                "length_loss_weight",
                "initializer_gain",
            ),
            optional=("attention_dropout", "length_regulator_hidden_size"),
        )
        if self.special_token_ids is not None and any(
            not isinstance(i, numbers.Integral) or isinstance(i, bool) for i in self.special_token_ids
        ):
            raise ValueError(
                f"NARSignProducerConfig.special_token_ids must be a list of integers, got {self.special_token_ids!r:.80}"
            )
        if self.length_regulator_hidden_size is None:
            self.length_regulator_hidden_size = self.d_model
        for name in _POSITIVE_INT_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"NARSignProducerConfig.{name} must be a positive integer, got {value!r}")
        if self.d_model % self.decoder_attention_heads != 0:
            raise ValueError(
                f"NARSignProducerConfig.d_model ({self.d_model}) must be a multiple of "
                f"decoder_attention_heads ({self.decoder_attention_heads})"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"NARSignProducerConfig.dropout must be in [0, 1), got {self.dropout}")
        if self.attention_dropout is not None and not 0.0 <= self.attention_dropout < 1.0:
            raise ValueError(
                f"NARSignProducerConfig.attention_dropout must be in [0, 1) or None, got {self.attention_dropout}"
            )
        if self.activation_function not in ("relu", "gelu"):
            raise ValueError(
                f"NARSignProducerConfig.activation_function must be 'relu' or 'gelu', got {self.activation_function!r}"
            )
        for name in ("pose_loss_weight", "distillation_loss_weight", "length_loss_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"NARSignProducerConfig.{name} must be >= 0, got {getattr(self, name)}")
        if self.special_token_ids is not None:
            self.special_token_ids = [int(i) for i in self.special_token_ids]
        super().__post_init__(**kwargs)

    @classmethod
    def from_sub_models_config(
        cls, text_encoder_config: BertConfig, pose_vae_config: PoseVAEConfig, **kwargs
    ) -> "NARSignProducerConfig":
        """Build the composite config from a text-encoder config and a pose-VAE config."""
        if not isinstance(text_encoder_config, BertConfig):
            raise ValueError(
                f"text_encoder_config must be a BertConfig, got {type(text_encoder_config).__name__}"
            )
        if not isinstance(pose_vae_config, PoseVAEConfig):
            raise ValueError(f"pose_vae_config must be a PoseVAEConfig, got {type(pose_vae_config).__name__}")
        return cls(text_encoder=text_encoder_config.to_dict(), pose_vae=pose_vae_config.to_dict(), **kwargs)


NARSignProducerConfig.register_for_auto_class()

__all__ = ["NARSignProducerConfig"]
