"""Configuration of CV-SLT, the conditional variational autoencoder for sign language translation.

Zhao et al., "Conditional Variational Autoencoder for Sign Language Translation with Cross-Modal
Alignment", AAAI 2024. The configuration extends `MBartConfig`, so every mBART field (layers, sizes,
special token ids, ...) keeps its meaning and an mBART checkpoint's config can be turned into a
CV-SLT config by adding the fields below.

This file imports only `transformers` and the standard library, so saved model folders load with
`trust_remote_code=True` where signbridge is not installed.
"""

from __future__ import annotations

import numbers

from transformers import MBartConfig

_LATENT_FUSIONS = ("prefix", "postfix")
_SD_DIRECTIONS = ("posterior_to_prior", "symmetric")
_LOSS_REDUCTIONS = ("sentence_sum", "token_mean")

# numeric fields checked by type before anything else reads them, so a string (e.g. from a hand-edited config.json
# or a command line) is refused naming the field, not failed inside a comparison or the layer constructors
_INT_FIELDS = (
    "feature_dim",
    "visual_hidden_size",
    "visual_ffn_dim",
    "visual_kernel_size",
    "max_sign_positions",
    "latent_dim",
    "kl_annealing_steps",
    "vocab_size",
    "d_model",
    "max_position_embeddings",
    "encoder_layers",
    "decoder_layers",
    "encoder_attention_heads",
    "decoder_attention_heads",
    "encoder_ffn_dim",
    "decoder_ffn_dim",
)
_OPTIONAL_INT_FIELDS = ("tgt_lang_code_id", "latent_attention_heads", "pad_token_id", "bos_token_id")
_FLOAT_FIELDS = (
    "visual_dropout",
    "visual_layer_norm_eps",
    "sd_weight",
    "label_smoothing",
    "dropout",
    "attention_dropout",
    "activation_dropout",
    "init_std",
    "encoder_layerdrop",
    "decoder_layerdrop",
)
_OPTIONAL_FLOAT_FIELDS = ("sign_embed_scale", "latent_dropout")


def _check_number(owner: str, name: str, value) -> None:
    """Raise `ValueError` naming the field when a number field holds something else (a string, a list, a bool).
    Float fields accept integers (3 for 3.0); integer fields do not accept floats."""
    if value is None and name in _OPTIONAL_INT_FIELDS + _OPTIONAL_FLOAT_FIELDS:
        return
    if name in _INT_FIELDS or name in _OPTIONAL_INT_FIELDS:
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            raise ValueError(f"{owner}.{name} must be an integer, got {value!r:.80}")
    elif (name in _FLOAT_FIELDS or name in _OPTIONAL_FLOAT_FIELDS) and (
        not isinstance(value, numbers.Real) or isinstance(value, bool)
    ):
        raise ValueError(f"{owner}.{name} must be a number, got {value!r:.80}")


# Fields added for parity with the public release (rzhao-zhsq/CV-SLT). A new config takes the release's behaviour
# (the class defaults below); a config read from a saved folder whose config.json predates a field takes the value
# here, which is what that folder computed before the field existed (see `CVSLTConfig.from_dict`).
_LEGACY_VALUES = {
    "visual_pre_layer_norm": False,
    "visual_layer_norm_eps": 1e-5,
    "latent_dropout": 0.0,
    "mask_tgt_lang_code": False,
}


class CVSLTConfig(MBartConfig):
    r"""
    Configuration of [`CVSLTForConditionalGeneration`]: all fields of [`MBartConfig`] plus the sign input,
    the Gaussian network and the training objective of CV-SLT.

    Args:
        feature_dim (`int`, defaults to 832):
            Size F of one sign feature step (832 for S3D block-4 features, 150 for 50-joint 3D poses).
        visual_hidden_size (`int`, defaults to 512):
            Width of the visual head before the mapper to `d_model`.
        visual_ffn_dim (`int`, defaults to 2048):
            Inner width of the visual head's position-wise convolutional feed-forward block.
        visual_kernel_size (`int`, defaults to 3):
            Kernel size of the two convolutions of that block (odd).
        visual_dropout (`float`, defaults to 0.1):
            Dropout inside the visual head.
        visual_pre_layer_norm (`bool`, defaults to `True`):
            A LayerNorm before the first convolution of the visual head's feed-forward block (pre-LN, as SLRT's
            `PositionwiseFeedForward` in the public release), besides the LayerNorm after its skip connection. Needed
            to load SLRT/MMTLB Sign2Gloss visual-head weights 1:1 (`convert_slrt_visual_head_state_dict`).
            A folder saved before this field existed loads with `False` (no inner LayerNorm), as it was trained.
        visual_layer_norm_eps (`float`, defaults to 1e-6):
            eps of the visual head's LayerNorms (1e-6 in the release). Folders saved before this field: 1e-5.
        max_sign_positions (`int`, defaults to 512):
            Longest sign sequence (in feature steps) accepted. Must leave room for the appended `</s>`
            and language code inside `max_position_embeddings`.
        sign_embed_scale (`float`, *optional*):
            Factor applied to the sign embeddings (with the appended `</s>`/language code). `None` means
            `sqrt(d_model)` when `scale_embedding` is set and 1 otherwise, as mBART scales the embeddings it looks
            up itself.
        tgt_lang_code_id (`int`, *optional*):
            Id of the target language code (e.g. `de_DE`). Its embedding is appended to the sign sequence after
            `</s>`; when `decoder_start_token_id` is not given it becomes the decoder start token.
        mask_tgt_lang_code (`bool`, defaults to `True`):
            Labels are written `tokens </s> lang_code` (mBART's target format); the decoder input is still
            `shift_tokens_right(labels)` (`lang_code tokens </s>`). `True` (the release) removes every
            `tgt_lang_code_id` position of the labels from the training targets (both cross-entropies and the
            self-distillation term) and from the posterior path's text `y`. `False` keeps it as a target and in `y`,
            as signbridge did before this field existed (folders saved then load with `False`).
        vocab_id_map (`list[int]`, *optional*):
            Set by vocabulary pruning: entry `i` is the id in the original (unpruned) vocabulary of token `i` of this
            model. Used by `map_generated_ids_to_original` so a pruned model's output reads with the original
            tokenizer.
        use_latent (`bool`, defaults to `True`):
            `False` removes the Gaussian network and the posterior path entirely: the model then computes exactly
            what `MBartForConditionalGeneration` computes (with label-smoothed cross-entropy, reduced as
            `loss_reduction` says; `"token_mean"` is mBART's own reduction; with `mask_tgt_lang_code` the
            language-code target is left out of that loss, mBART's keeps it).
        latent_dim (`int`, defaults to 64):
            Size d_z of the latent variable per sign step.
        latent_attention_heads (`int`, *optional*):
            Heads of the Gaussian network's attention; defaults to `encoder_attention_heads`.
        latent_dropout (`float`, *optional*):
            Dropout on the Gaussian network's attention output, before `f` (prior) and `g` (posterior), in training
            mode only. `None` means `dropout`, as in the release. Folders saved before this field: 0.
        latent_fusion (`str`, defaults to `"prefix"`):
            How z returns to the encoder output: `"prefix"` is `h + LN(W z)` (PHOENIX14T setting), `"postfix"` is
            `LN(h + W z)` (CSL-Daily setting).
        use_argd (`bool`, defaults to `True`):
            Attention Residual Gaussian Distribution: the posterior is `N(mu + dmu, sigma^2 * dsigma^2)`
            relative to the prior. `False` models an absolute posterior independent of the prior (Table 4).
        share_attention (`bool`, defaults to `True`):
            One attention module for the prior (self-attention) and posterior (cross-attention) paths. `False`
            gives the posterior its own attention (Table 4).
        use_aep (`bool`, defaults to `True`):
            Include the alignment-enhanced prior path's cross-entropy in the loss (Table 4: "w/o L_AEP").
        use_sd (`bool`, defaults to `True`):
            Include the self-distillation KL between the two decoders in the loss (Table 4: "w/o L_SD").
        sd_weight (`float`, defaults to 3.0):
            lambda, the weight of the self-distillation term.
        sd_direction (`str`, defaults to `"posterior_to_prior"`):
            `"posterior_to_prior"` is KL(posterior || prior) as the paper writes it; `"symmetric"` averages both
            directions as the reference code does.
        kl_annealing_steps (`int`, defaults to 4000):
            Optimizer steps over which the Gaussian-KL weight and lambda rise linearly from 0 to their full value
            (0 disables annealing). The step is set with `model.set_global_step(step)` and saved with the weights
            (the model's `global_step` buffer), so training continued from a saved folder continues the schedule.
        label_smoothing (`float`, defaults to 0.2):
            Label smoothing of both cross-entropy terms.
        loss_reduction (`str`, defaults to `"sentence_sum"`):
            How the loss terms are reduced over a batch. `"sentence_sum"` is the ELBO of the paper (Eq. 2) and the
            reference code: both cross-entropies and the self-distillation KL are summed over the valid target
            tokens, the Gaussian KL over latent dims and valid sign steps, and every term is divided by the batch
            size. `"token_mean"` is signbridge's earlier variant: the cross-entropies and the self-distillation KL
            are means over the valid target tokens while the Gaussian KL stays a per-sentence sum averaged over the
            batch, which weights the KL about (target tokens per sentence) times more heavily.

    Example:

    ```python
    >>> from signbridge.models.cvslt import CVSLTConfig, CVSLTForConditionalGeneration
    >>> config = CVSLTConfig(feature_dim=832, d_model=256, encoder_layers=2, decoder_layers=2, vocab_size=1000)
    >>> model = CVSLTForConditionalGeneration(config)
    ```
    """

    model_type = "cvslt"

    # ---- sign input and visual head ------------------------------------------------------------
    feature_dim: int = 832
    visual_hidden_size: int = 512
    visual_ffn_dim: int = 2048
    visual_kernel_size: int = 3
    visual_dropout: float = 0.1
    visual_pre_layer_norm: bool = True
    visual_layer_norm_eps: float = 1e-6
    max_sign_positions: int = 512
    sign_embed_scale: float | None = None

    # ---- target language / vocabulary ---------------------------------------------------------
    tgt_lang_code_id: int | None = None
    mask_tgt_lang_code: bool = True
    vocab_id_map: list[int] | None = None

    # ---- Gaussian network (ARGD) ----------------------------------------------------------------
    use_latent: bool = True
    latent_dim: int = 64
    latent_attention_heads: int | None = None
    latent_dropout: float | None = None
    latent_fusion: str = "prefix"
    use_argd: bool = True
    share_attention: bool = True

    # ---- training objective -------------------------------------------------------------------
    use_aep: bool = True
    use_sd: bool = True
    sd_weight: float = 3.0
    sd_direction: str = "posterior_to_prior"
    kl_annealing_steps: int = 4000
    label_smoothing: float = 0.2
    loss_reduction: str = "sentence_sum"

    @classmethod
    def from_dict(cls, config_dict, **kwargs):
        """As `PreTrainedConfig.from_dict`, except that a CV-SLT config dict (`model_type` "cvslt", as every saved
        config.json carries) that lacks one of the release-parity fields gets the value that reproduces what the
        model computed before the field existed, not the new default (`save_pretrained` writes every CV-SLT field,
        so a dict without one comes from an older folder). Dicts of other model types (an mBART config) get the
        new defaults."""
        if isinstance(config_dict, dict) and config_dict.get("model_type") == cls.model_type:
            missing = {name: value for name, value in _LEGACY_VALUES.items() if name not in config_dict}
            config_dict = {**config_dict, **missing}
        return super().from_dict(config_dict, **kwargs)

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.decoder_start_token_id is None and self.tgt_lang_code_id is not None:
            self.decoder_start_token_id = self.tgt_lang_code_id
        self._validate_cvslt()

    def __setattr__(self, name, value):
        # checked on every assignment (construction, `from_dict`, later edits) and before transformers' own field
        # validators, so the error names this class and the field
        _check_number(type(self).__name__, name, value)
        super().__setattr__(name, value)

    def _validate_cvslt(self):
        """Raise `ValueError` naming the field, the expected range and the value given."""

        def positive(name):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"CVSLTConfig.{name} must be a positive integer, got {value!r}")

        for name in (
            "feature_dim",
            "visual_hidden_size",
            "visual_ffn_dim",
            "max_sign_positions",
            "latent_dim",
            "d_model",
            "vocab_size",
            "max_position_embeddings",
        ):
            positive(name)
        if self.visual_kernel_size <= 0 or self.visual_kernel_size % 2 == 0:
            raise ValueError(
                f"CVSLTConfig.visual_kernel_size must be a positive odd integer, got {self.visual_kernel_size!r}"
            )
        for name in ("visual_dropout", "label_smoothing"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"CVSLTConfig.{name} must be in [0, 1), got {value!r}")
        if self.latent_dropout is not None and not 0.0 <= self.latent_dropout < 1.0:
            raise ValueError(
                f"CVSLTConfig.latent_dropout must be None or in [0, 1), got {self.latent_dropout!r}"
            )
        if not self.visual_layer_norm_eps > 0:
            raise ValueError(
                f"CVSLTConfig.visual_layer_norm_eps must be > 0, got {self.visual_layer_norm_eps!r}"
            )
        if self.latent_fusion not in _LATENT_FUSIONS:
            raise ValueError(
                f"CVSLTConfig.latent_fusion must be one of {_LATENT_FUSIONS}, got {self.latent_fusion!r}"
            )
        if self.sd_direction not in _SD_DIRECTIONS:
            raise ValueError(
                f"CVSLTConfig.sd_direction must be one of {_SD_DIRECTIONS}, got {self.sd_direction!r}"
            )
        if self.loss_reduction not in _LOSS_REDUCTIONS:
            raise ValueError(
                f"CVSLTConfig.loss_reduction must be one of {_LOSS_REDUCTIONS}, got {self.loss_reduction!r}"
            )
        if self.sd_weight < 0:
            raise ValueError(f"CVSLTConfig.sd_weight (lambda) must be >= 0, got {self.sd_weight!r}")
        if not isinstance(self.kl_annealing_steps, int) or self.kl_annealing_steps < 0:
            raise ValueError(
                f"CVSLTConfig.kl_annealing_steps must be an integer >= 0, got {self.kl_annealing_steps!r}"
            )
        heads = self.latent_attention_heads or self.encoder_attention_heads
        if self.d_model % heads != 0:
            raise ValueError(
                f"CVSLTConfig: d_model ({self.d_model}) must be divisible by the latent attention heads ({heads})"
            )
        if self.max_sign_positions + self.num_appended_tokens > self.max_position_embeddings:
            raise ValueError(
                f"CVSLTConfig.max_sign_positions ({self.max_sign_positions}) + {self.num_appended_tokens} appended "
                f"tokens exceeds max_position_embeddings ({self.max_position_embeddings})"
            )
        for name in ("tgt_lang_code_id", "eos_token_id", "pad_token_id"):
            value = getattr(self, name)
            if isinstance(value, int) and not 0 <= value < self.vocab_size:
                raise ValueError(
                    f"CVSLTConfig.{name} must be in [0, vocab_size={self.vocab_size}), got {value}"
                )
        if not isinstance(self.eos_token_id, int):
            raise ValueError(
                f"CVSLTConfig.eos_token_id must be one integer (its embedding is appended to the sign sequence), "
                f"got {self.eos_token_id!r}"
            )
        if self.vocab_id_map is not None and len(self.vocab_id_map) != self.vocab_size:
            raise ValueError(
                f"CVSLTConfig.vocab_id_map has {len(self.vocab_id_map)} entries, expected vocab_size={self.vocab_size}"
            )

    @property
    def num_appended_tokens(self) -> int:
        """Tokens appended to every sign sequence: `</s>` and, when set, the target language code."""
        return 1 + (self.tgt_lang_code_id is not None)


__all__ = ["CVSLTConfig"]
