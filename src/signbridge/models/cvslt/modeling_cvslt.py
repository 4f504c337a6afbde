"""CV-SLT: conditional variational autoencoder for sign language translation, built on transformers' mBART.

Zhao, Zhang, Fu, Hu, Su, Chen, "Conditional Variational Autoencoder for Sign Language Translation with
Cross-Modal Alignment", AAAI 2024 (arXiv:2312.15645).

- `self.model` is a plain `MBartModel`, `lm_head` is tied to `model.shared` and `final_logits_bias` is a buffer,
  so an mBART checkpoint (e.g. mbart-large-cc25) loads with only the new modules missing.
- `visual_head` maps sign features (B, T, F) to mBART's width; `</s>` and the target language code are appended
  after each sequence's last valid step and the whole sequence is scaled like mBART's token embeddings.
- Prior path: `H_p = Encoder(x)`; posterior path: one encoder pass over `[x; y]`, split back.
- `latent_network` is the Gaussian network with ARGD (one attention module shared by both paths; prior `f`,
  posterior residual `g`); z returns to the encoder output through Linear + LayerNorm.
- Loss: `CE_posterior + CE_prior (AEP) + w * KL_gauss + w * lambda * L_SD`, w annealed linearly over
  `kl_annealing_steps` optimizer steps set with `set_global_step` (saved with the weights). As in the paper's ELBO,
  every term is summed over target tokens (the KL over latent dims and sign steps) and divided by the batch size;
  `config.loss_reduction="token_mean"` keeps the earlier token-mean cross-entropies.
- Inference uses the prior path with `z* = mu` through the standard `generate()`.

This file imports only torch, transformers, the standard library and its own configuration file.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import GenerationMixin, MBartModel, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import BaseModelOutput, Seq2SeqLMOutput
from transformers.models.mbart.modeling_mbart import MBartDecoder, shift_tokens_right
from transformers.utils import logging

from .configuration_cvslt import CVSLTConfig
from .strict_loading import strict_from_pretrained

logger = logging.get_logger(__name__)


# ------------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------------


@dataclass
class CVSLTSeq2SeqLMOutput(Seq2SeqLMOutput):
    """
    Output of [`CVSLTForConditionalGeneration`]: transformers' `Seq2SeqLMOutput` (loss, prior-path logits, the
    decoder cache under the installed release's name, hidden states and attentions of the prior path;
    `encoder_last_hidden_state` already carries z) plus CV-SLT's loss parts and Gaussian parameters.

    Extending transformers' class instead of copying its fields keeps the cache field's name whatever the release
    calls it (`past_key_values` up to 5.23, `cache` from 5.24).

    Args:
        posterior_ce_loss: label-smoothed cross-entropy of the posterior path, summed over the valid target tokens and
            divided by the batch size (`config.loss_reduction="sentence_sum"`, the default) or averaged over the
            valid target tokens (`"token_mean"`).
        prior_ce_loss: label-smoothed cross-entropy of the prior path (the AEP term), reduced the same way.
        kl_loss: Gaussian KL(q(z|x,y) || p(z|x)), summed over latent dims and valid steps, divided by the batch size.
        sd_loss: self-distillation KL between the posterior and prior decoders' token distributions, reduced like the
            cross-entropies.
        annealing_weight: current linear annealing factor applied to `kl_loss` and `sd_weight * sd_loss`.
        posterior_logits: posterior-path logits (training with labels only).
        prior_mu, prior_logvar, posterior_mu, posterior_logvar: parameters of the two diagonal Gaussians (B, S, d_z).
    """

    posterior_ce_loss: torch.FloatTensor | None = None
    prior_ce_loss: torch.FloatTensor | None = None
    kl_loss: torch.FloatTensor | None = None
    sd_loss: torch.FloatTensor | None = None
    annealing_weight: torch.FloatTensor | None = None
    posterior_logits: torch.FloatTensor | None = None
    prior_mu: torch.FloatTensor | None = None
    prior_logvar: torch.FloatTensor | None = None
    posterior_mu: torch.FloatTensor | None = None
    posterior_logvar: torch.FloatTensor | None = None


# The name transformers gives the decoder cache, read from the installed release rather than written down: the field
# of its output classes and the keyword of `MBartDecoder.forward` (both `past_key_values` up to 5.23, `cache` from
# 5.24). Callers may pass the cache under either name; it is handed on under the installed one.
CACHE_OUTPUT_FIELD = "cache" if "cache" in Seq2SeqLMOutput.__dataclass_fields__ else "past_key_values"
CACHE_DECODER_KEYWORD = (
    "cache" if "cache" in inspect.signature(MBartDecoder.forward).parameters else "past_key_values"
)
_CACHE_KEYWORDS = ("cache", "past_key_values")


def _pop_cache(kwargs: dict):
    """Remove and return the decoder cache from `kwargs`, under whichever name a caller or `generate()` used."""
    given = [name for name in _CACHE_KEYWORDS if kwargs.get(name) is not None]
    if len(given) > 1:
        raise ValueError(f"Pass the decoder cache once; got both {given[0]!r} and {given[1]!r}")
    cache = kwargs.pop(given[0]) if given else None
    for name in _CACHE_KEYWORDS:
        kwargs.pop(name, None)
    return cache


# ------------------------------------------------------------------------------------------------
# Building blocks
# ------------------------------------------------------------------------------------------------


def _expm1_minus_identity(x: torch.Tensor) -> torch.Tensor:
    """exp(x) - 1 - x without cancellation: a Taylor series for |x| < 0.1 (truncation below 1e-8 relative), and
    `expm1(x) - x` elsewhere. Never below 0."""
    small = x.clamp(-0.1, 0.1)
    series = (
        small * small * (1 / 2 + small * (1 / 6 + small * (1 / 24 + small * (1 / 120 + small * (1 / 720)))))
    )
    return torch.where(x.abs() < 0.1, series, torch.expm1(x) - x)


def gaussian_kl(mu_q, logvar_q, mu_p, logvar_p):
    """Element-wise KL(N(mu_q, exp(logvar_q)) || N(mu_p, exp(logvar_p))) of diagonal Gaussians.

    KL = 1/2 [log var_p - log var_q + (var_q + (mu_q - mu_p)^2) / var_p - 1]  (Kingma & Welling 2014, App. B).
    With the ARGD posterior q = N(mu + dmu, sigma^2 dsigma^2) this is CV-SLT's Eq. 12,
    1/2 (dmu^2 / sigma^2 + dsigma^2 - log dsigma^2 - 1).

    Computed without cancellation, with l = logvar_q - logvar_p (= log dsigma^2):
    KL = 1/2 (dmu^2 / sigma^2 + expm1(l) - l), where expm1(l) - l >= 0, so the result is never below 0 and keeps
    its relative accuracy when the posterior is close to the prior (the textbook form subtracts numbers near 1).
    """
    log_ratio = logvar_q - logvar_p
    return 0.5 * ((mu_q - mu_p).pow(2) * torch.exp(-logvar_p) + _expm1_minus_identity(log_ratio))


def sinusoidal_positions(length: int, dim: int, device=None, dtype=None) -> torch.Tensor:
    """Transformer sinusoidal position encodings (length, dim): sin on even, cos on odd channels."""
    position = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim, device=device, dtype=torch.float32)
    table[:, 0::2] = torch.sin(position * div)
    table[:, 1::2] = torch.cos(position * div)[:, : dim // 2]
    return table.to(dtype) if dtype is not None else table


class _SumOverProcesses(torch.autograd.Function):
    """All-reduce (sum) over the process group, with the gradient summed back the same way (SyncBatchNorm's rule)."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        total = tensor.clone()
        torch.distributed.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        total = grad.clone()
        torch.distributed.all_reduce(total)
        return total


class CVSLTMaskedBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm over the channel axis of (B, T, C) inputs whose batch statistics use valid steps only.

    Padding neither enters the statistics nor the running averages, so a padded batch normalises each sequence as
    an unpadded one would (in eval mode exactly). Padded steps come out as zeros.

    Under data-parallel training (a ``torch.distributed`` process group of several processes) the batch statistics
    are those of the whole batch across the processes, as SLRT's ``SyncBatchNorm``: gradient-carrying all-reduces
    of the valid-step count, sum and squared deviations, so 2 processes with half batches compute what one process
    computes with the whole batch. Every process must then run the layer the same number of times in training mode
    (DDP does); ``sync_across_processes=False`` keeps each process' own statistics.
    """

    def __init__(self, *args, sync_across_processes: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.sync_across_processes = sync_across_processes

    def _synchronised(self) -> bool:
        if not self.sync_across_processes or not torch.distributed.is_available():
            return False
        return torch.distributed.is_initialized() and torch.distributed.get_world_size() > 1

    def forward(self, hidden_states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        valid = mask.unsqueeze(-1).to(hidden_states.dtype)
        if self.training:
            # statistics and the count in float32: a bf16 count rounds (621 valid steps sum to 620)
            valid32 = mask.unsqueeze(-1).float()
            hidden32 = hidden_states.float()
            if self._synchronised():
                sums = _SumOverProcesses.apply(
                    torch.cat([valid32.sum().reshape(1), (hidden32 * valid32).sum(dim=(0, 1))])
                )
                count, mean = sums[0], sums[1:] / sums[0]
                var = _SumOverProcesses.apply(((hidden32 - mean).pow(2) * valid32).sum(dim=(0, 1))) / count
            else:
                count = valid32.sum()
                mean = (hidden32 * valid32).sum(dim=(0, 1)) / count
                var = ((hidden32 - mean).pow(2) * valid32).sum(dim=(0, 1)) / count
            if self.track_running_stats:
                with torch.no_grad():
                    momentum = 0.1 if self.momentum is None else self.momentum
                    unbiased = var * (count / (count - 1).clamp(min=1))
                    self.running_mean.mul_(1 - momentum).add_(
                        momentum * mean.detach().to(self.running_mean.dtype)
                    )
                    self.running_var.mul_(1 - momentum).add_(
                        momentum * unbiased.detach().to(self.running_var.dtype)
                    )
                    self.num_batches_tracked.add_(1)
        else:
            mean, var = self.running_mean.to(hidden_states.dtype), self.running_var.to(hidden_states.dtype)
        normed = ((hidden_states - mean) * torch.rsqrt(var + self.eps)).to(hidden_states.dtype)
        if self.affine:
            normed = normed * self.weight + self.bias
        return normed * valid


class CVSLTVisualHead(nn.Module):
    """Sign features (B, T, F) -> embeddings (B, T, d_model).

    Linear(F->H) -> masked BatchNorm -> ReLU -> sinusoidal positions -> dropout -> position-wise convolutional
    feed-forward (kernel k; with `config.visual_pre_layer_norm` a LayerNorm before its first convolution) with skip
    -> LayerNorm -> mapper Linear(H->d) -> ReLU -> Linear(d->d). Up to the mapper this is SLRT's Sign2Gloss visual
    head (without its gloss classifier); `convert_slrt_visual_head_state_dict` maps its weights onto this module.
    """

    def __init__(self, config: CVSLTConfig):
        super().__init__()
        hidden, kernel = config.visual_hidden_size, config.visual_kernel_size
        eps = config.visual_layer_norm_eps
        self.input_proj = nn.Linear(config.feature_dim, hidden)
        self.batch_norm = CVSLTMaskedBatchNorm1d(hidden)
        self.dropout = nn.Dropout(config.visual_dropout)
        self.ffn_pre_layer_norm = nn.LayerNorm(hidden, eps=eps) if config.visual_pre_layer_norm else None
        self.ffn_conv1 = nn.Conv1d(hidden, config.visual_ffn_dim, kernel, padding=kernel // 2)
        self.ffn_conv2 = nn.Conv1d(config.visual_ffn_dim, hidden, kernel, padding=kernel // 2)
        self.ffn_layer_norm = nn.LayerNorm(hidden, eps=eps)
        self.mapper = nn.Sequential(
            nn.Linear(hidden, config.d_model), nn.ReLU(), nn.Linear(config.d_model, config.d_model)
        )

    def forward(self, input_features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        valid = mask.unsqueeze(-1).to(input_features.dtype)
        hidden = torch.relu(self.batch_norm(self.input_proj(input_features), mask))
        positions = sinusoidal_positions(hidden.shape[1], hidden.shape[2], hidden.device, hidden.dtype)
        hidden = self.dropout(hidden + positions) * valid
        # padded steps are zero before each convolution, so they act like the convolution's own zero padding
        inner = hidden if self.ffn_pre_layer_norm is None else self.ffn_pre_layer_norm(hidden) * valid
        inner = torch.relu(self.ffn_conv1(inner.transpose(1, 2))).transpose(1, 2)
        inner = self.dropout(inner) * valid
        inner = self.ffn_conv2(inner.transpose(1, 2)).transpose(1, 2)
        hidden = self.ffn_layer_norm(hidden + self.dropout(inner))
        return self.mapper(hidden)


class CVSLTLatentAttention(nn.Module):
    """Multi-head dot-product attention without FFN, residual or norm (the Gaussian network's attention)."""

    def __init__(self, config: CVSLTConfig):
        super().__init__()
        self.num_heads = config.latent_attention_heads or config.encoder_attention_heads
        self.head_dim = config.d_model // self.num_heads
        self.dropout = config.attention_dropout
        self.q_proj = nn.Linear(config.d_model, config.d_model)
        self.k_proj = nn.Linear(config.d_model, config.d_model)
        self.v_proj = nn.Linear(config.d_model, config.d_model)
        self.out_proj = nn.Linear(config.d_model, config.d_model)

    def forward(self, query: torch.Tensor, key_value: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        batch, q_len, width = query.shape

        def heads(x):
            return x.view(batch, -1, self.num_heads, self.head_dim).transpose(1, 2)

        attn_mask = key_mask.bool()[:, None, None, :]
        out = F.scaled_dot_product_attention(
            heads(self.q_proj(query)),
            heads(self.k_proj(key_value)),
            heads(self.v_proj(key_value)),
            attn_mask=attn_mask,
            dropout_p=self.dropout if self.training else 0.0,
        )
        return self.out_proj(out.transpose(1, 2).reshape(batch, q_len, width))


class CVSLTGaussianNetwork(nn.Module):
    """Prior p(z|x) and approximate posterior q(z|x,y) with ARGD, plus the return of z to the encoder output.

    Prior: `[mu, log sigma^2] = f(SelfAttn(H_p))`. Posterior (ARGD): `[dmu, log dsigma^2] = g(CrossAttn(H_q^sign,
    H_q^text))` and `q = N(mu + dmu, sigma^2 dsigma^2)`; without ARGD `g` gives the posterior's absolute parameters.
    In training mode the attention output passes a dropout (`config.latent_dropout`, default `config.dropout`, as in
    the release) before `f` and `g`.
    """

    def __init__(self, config: CVSLTConfig):
        super().__init__()
        self.use_argd = config.use_argd
        self.latent_fusion = config.latent_fusion
        self.attention = CVSLTLatentAttention(config)
        self.posterior_attention = None if config.share_attention else CVSLTLatentAttention(config)
        rate = config.latent_dropout if config.latent_dropout is not None else config.dropout
        self.dropout = nn.Dropout(rate)
        self.prior_proj = nn.Linear(config.d_model, 2 * config.latent_dim)  # f
        self.posterior_proj = nn.Linear(config.d_model, 2 * config.latent_dim)  # g
        self.latent_proj = nn.Linear(config.latent_dim, config.d_model)
        self.latent_layer_norm = nn.LayerNorm(config.d_model)

    def prior(self, hidden: torch.Tensor, mask: torch.Tensor):
        """(mu, logvar) of p(z|x) for every step of the prior encoder output."""
        mu, logvar = self.prior_proj(self.dropout(self.attention(hidden, hidden, mask))).chunk(2, dim=-1)
        return mu, logvar

    def posterior(self, sign_hidden, text_hidden, text_mask, prior_mu, prior_logvar):
        """(mu, logvar) of q(z|x,y): query = sign part, key/value = text part of the posterior encoder output."""
        attention = self.posterior_attention if self.posterior_attention is not None else self.attention
        attended = self.dropout(attention(sign_hidden, text_hidden, text_mask))
        out_mu, out_logvar = self.posterior_proj(attended).chunk(2, dim=-1)
        if self.use_argd:
            return prior_mu + out_mu, prior_logvar + out_logvar
        return out_mu, out_logvar

    def fuse(self, hidden: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Return z to the encoder output: `h + LN(Wz)` ("prefix") or `LN(h + Wz)` ("postfix")."""
        projected = self.latent_proj(z)
        if self.latent_fusion == "prefix":
            return hidden + self.latent_layer_norm(projected)
        return self.latent_layer_norm(hidden + projected)


# ------------------------------------------------------------------------------------------------
# Models
# ------------------------------------------------------------------------------------------------


class CVSLTPreTrainedModel(PreTrainedModel):
    """Base class: configuration class, weight initialisation, mBART-compatible parameter prefix."""

    config: CVSLTConfig
    config_class = CVSLTConfig
    base_model_prefix = "model"
    main_input_name = "input_features"
    supports_gradient_checkpointing = True
    _no_split_modules = ["MBartDecoderLayer", "MBartEncoderLayer", "MBartAttention"]
    _supports_sdpa = True
    _supports_flash_attn = False

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, strict: bool = True, **kwargs):
        """`PreTrainedModel.from_pretrained`, strict by default: a folder (or `config`) of another model type, and
        weights missing from or left over in the checkpoint, raise `ValueError` naming them (a folder saved before `global_step` was persisted still loads, with the step at 0).

        Args:
            strict: `False` loads as transformers does (missing weights keep their initialisation, unexpected ones
                are dropped, each with a logged warning; another model type's config is read as this one's).
        """
        return strict_from_pretrained(
            cls, super().from_pretrained, pretrained_model_name_or_path, model_args, kwargs, strict
        )

    def save_pretrained(self, save_directory, *args, **kwargs):
        """`PreTrainedModel.save_pretrained`; a model registered for an Auto class (as signbridge registers
        `CVSLTForConditionalGeneration` for `AutoModelForSeq2SeqLM`) also gets `AutoModel` in the saved `auto_map`, so
        both Auto classes load the folder by remote code."""
        if self._auto_class is not None:
            auto_map = dict(getattr(self.config, "auto_map", None) or {})
            auto_map.setdefault(
                "AutoModel", f"{type(self).__module__.rsplit('.', 1)[-1]}.{type(self).__name__}"
            )
            self.config.auto_map = auto_map
        return super().save_pretrained(save_directory, *args, **kwargs)

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, CVSLTForConditionalGeneration):
            init.zeros_(module.final_logits_bias)
            init.zeros_(module.global_step)


class _CVSLTPriorEncoder(nn.Module):
    """What `get_encoder()` returns: visual head + mBART encoder + prior network with z* = mu.

    It keeps a plain reference to the model (not a registered submodule, so no weights are duplicated) and
    ignores every keyword it does not use (`generate()` passes it all non-decoder kwargs, `labels` included).
    """

    main_input_name = "input_features"

    def __init__(self, model: CVSLTForConditionalGeneration):
        super().__init__()
        object.__setattr__(self, "_cvslt", model)

    def forward(
        self,
        input_features=None,
        attention_mask=None,
        inputs_embeds=None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=True,
        **kwargs,
    ) -> BaseModelOutput:
        return self._cvslt.encode(
            input_features=input_features,
            attention_mask=attention_mask,
            inputs_embeds=inputs_embeds,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
        )


class CVSLTForConditionalGeneration(CVSLTPreTrainedModel, GenerationMixin):
    """CV-SLT sign language translation model (sign features -> text), trainable with the Trainer and usable with
    `generate()`.

    Submodules: `visual_head` (visual head + mapper), `model` (`MBartModel`), `latent_network` (Gaussian network,
    `None` when `config.use_latent` is False), `lm_head` (tied to `model.shared`).
    """

    # `global_step` is missing from folders saved before it was persisted; it then starts at 0
    _keys_to_ignore_on_load_missing = ["final_logits_bias", "global_step"]
    _tied_weights_keys = {"lm_head.weight": "model.shared.weight"}
    accepts_loss_kwargs = False

    def __init__(self, config: CVSLTConfig):
        super().__init__(config)
        self.visual_head = CVSLTVisualHead(config)
        self.model = MBartModel(config)
        self.latent_network = CVSLTGaussianNetwork(config) if config.use_latent else None
        self.register_buffer("final_logits_bias", torch.zeros((1, config.vocab_size)))
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        # the annealing step is saved with the weights, so training continued from a saved folder goes on annealing
        # where it stopped instead of starting again at weight 0
        self.register_buffer("global_step", torch.zeros((), dtype=torch.long), persistent=True)
        self._global_step_driven = False
        self.post_init()

    # ---- training hooks -------------------------------------------------------------------------

    def set_global_step(self, step: int) -> None:
        """Set the optimizer step that drives the linear annealing of the KL weight and lambda. The step is a
        persistent buffer: `save_pretrained` stores it and `from_pretrained` restores it."""
        self.global_step.fill_(int(step))
        self._global_step_driven = True

    def _warn_if_annealing_not_driven(self) -> None:
        if self._global_step_driven or self.latent_network is None or self.config.kl_annealing_steps <= 0:
            return
        logger.warning_once(
            "CVSLTForConditionalGeneration is computing a training loss, but its KL-annealing step was never set: "
            "the weight of the KL and self-distillation terms stays at global_step / kl_annealing_steps (0 for a new "
            "model) and does not rise. Train with signbridge.training.CVSLTTrainer, add "
            "signbridge.training.KLAnnealingCallback to the Trainer, or call model.set_global_step(step) yourself."
        )

    @property
    def annealing_weight(self) -> float:
        """min(1, global_step / kl_annealing_steps); 1 when annealing is disabled."""
        steps = self.config.kl_annealing_steps
        if steps <= 0:
            return 1.0
        return min(1.0, float(self.global_step.item()) / steps)

    # ---- embeddings -----------------------------------------------------------------------------

    def get_input_embeddings(self):
        return self.model.shared

    def set_input_embeddings(self, value):
        self.model.set_input_embeddings(value)

    def get_output_embeddings(self):
        return self.lm_head

    def set_output_embeddings(self, new_embeddings):
        self.lm_head = new_embeddings

    def resize_token_embeddings(self, new_num_tokens=None, pad_to_multiple_of=None, mean_resizing=True):
        """Resize `shared`/`lm_head` and `final_logits_bias` (as mBART does). A pruned model's `vocab_id_map`
        cannot follow a resize, so resizing one raises `ValueError`."""
        if self.config.vocab_id_map is not None and new_num_tokens not in (None, self.config.vocab_size):
            raise ValueError(
                f"this model's vocabulary was pruned (config.vocab_id_map has {len(self.config.vocab_id_map)} ids); "
                f"resizing it to {new_num_tokens} would break the id map"
            )
        embeddings = super().resize_token_embeddings(new_num_tokens, pad_to_multiple_of, mean_resizing)
        size = embeddings.weight.shape[0]
        old = self.final_logits_bias
        if size <= old.shape[-1]:
            bias = old[:, :size]
        else:
            bias = torch.cat([old, old.new_zeros((1, size - old.shape[-1]))], dim=1)
        self.register_buffer("final_logits_bias", bias.contiguous())
        return embeddings

    def get_encoder(self, *args, **kwargs):
        """The prior-path encoder used by `generate()` (visual head + mBART encoder + prior network, z* = mu)."""
        return _CVSLTPriorEncoder(self)

    def get_decoder(self):
        return self.model.decoder

    @property
    def sign_embed_scale(self) -> float:
        if self.config.sign_embed_scale is not None:
            return float(self.config.sign_embed_scale)
        return math.sqrt(self.config.d_model) if self.config.scale_embedding else 1.0

    # ---- input checks ---------------------------------------------------------------------------

    # Largest magnitude accepted in `input_features` / `inputs_embeds`. Sign features are S3D activations or
    # normalised poses (|x| of order 1 to 10, raw pixel coordinates of order 1e3); a finite 1e38 overflows the visual
    # head's batch statistics and gives a NaN loss silently. Set a larger value, or None to disable the check, on the
    # class or on one model (`model.max_input_magnitude = 1e6`).
    max_input_magnitude: float | None = 1e4

    def _check_sign_inputs(self, input_features, inputs_embeds, attention_mask):
        """Check the sign input and its mask before any computation; returns (input cast to the model's dtype,
        boolean mask). A floating-point input of another dtype (float64, numpy's default) is cast to the model's
        dtype; a non-floating one is refused."""
        if (input_features is None) == (inputs_embeds is None):
            given = "both" if input_features is not None else "neither"
            raise ValueError(f"Pass exactly one of `input_features` or `inputs_embeds`; got {given}")
        tensor = input_features if input_features is not None else inputs_embeds
        name = "input_features" if input_features is not None else "inputs_embeds"
        expected_dim = self.config.feature_dim if input_features is not None else self.config.d_model
        if not isinstance(tensor, torch.Tensor):
            raise ValueError(f"`{name}` must be a torch.Tensor, got {type(tensor).__name__}")
        if not tensor.is_floating_point():
            raise ValueError(
                f"`{name}` must be a floating-point tensor (it is cast to the model's dtype {self.dtype}), "
                f"got {tensor.dtype}"
            )
        if tensor.dim() != 3:
            raise ValueError(
                f"`{name}` must have shape (batch, time, {expected_dim}), got {tuple(tensor.shape)}"
            )
        batch, length, dim = tensor.shape
        if batch == 0:
            raise ValueError(f"`{name}` is an empty batch (batch dimension 0), shape {tuple(tensor.shape)}")
        if dim != expected_dim:
            raise ValueError(
                f"`{name}` has {dim} values per step, expected {expected_dim} "
                f"({'config.feature_dim' if input_features is not None else 'config.d_model'})"
            )
        if length == 0:
            raise ValueError(f"`{name}` is an empty sequence (time dimension 0)")
        if not torch.isfinite(tensor).all():
            bad = (~torch.isfinite(tensor)).flatten(1).any(1).nonzero().flatten().tolist()
            raise ValueError(f"`{name}` contains NaN or Inf values (batch items {bad})")
        bound = self.max_input_magnitude
        if bound is not None:
            largest = float(tensor.abs().amax())
            if largest > bound:
                bad = (tensor.abs() > bound).flatten(1).any(1).nonzero().flatten().tolist()
                raise ValueError(
                    f"`{name}` holds values up to {largest:.3g} in magnitude (batch items {bad}), more than "
                    f"max_input_magnitude={bound:g}, far outside the range of normalised sign features (values this "
                    "large overflow inside the model: 1e38 gives a NaN loss). Normalise the features, or raise "
                    "`model.max_input_magnitude` (None disables the check)"
                )
        if tensor.dtype != self.dtype:
            tensor = tensor.to(self.dtype)
        if attention_mask is None:
            attention_mask = torch.ones(batch, length, dtype=torch.long, device=tensor.device)
        if tuple(attention_mask.shape) != (batch, length):
            raise ValueError(
                f"`attention_mask` has shape {tuple(attention_mask.shape)}, expected {(batch, length)} to match `{name}`"
            )
        mask = attention_mask.bool()
        lengths = mask.sum(1)
        if (lengths == 0).any():
            raise ValueError(
                f"`attention_mask` is all zero for batch items {(lengths == 0).nonzero().flatten().tolist()}: "
                "every sequence needs at least one valid step"
            )
        prefix = torch.arange(length, device=mask.device)[None, :] < lengths[:, None]
        if not torch.equal(prefix, mask):
            raise ValueError(
                "`attention_mask` must mark a prefix of each sequence (right padding: 1...1 0...0)"
            )
        limit = (
            self.config.max_sign_positions
            if input_features is not None
            else self.config.max_position_embeddings
        )
        longest = int(lengths.max())
        if longest > limit:
            raise ValueError(
                f"Sign sequence of {longest} steps is longer than the model supports ({limit}, "
                f"config.{'max_sign_positions' if input_features is not None else 'max_position_embeddings'})"
            )
        return tensor, mask

    def _check_labels(self, labels, batch=None):
        if labels.dim() != 2:
            raise ValueError(f"`labels` must have shape (batch, length), got {tuple(labels.shape)}")
        if batch == 0:
            raise ValueError("The sign input is an empty batch (batch dimension 0)")
        if labels.shape[0] == 0 or labels.shape[1] == 0:
            raise ValueError(f"`labels` is empty, shape {tuple(labels.shape)}")
        if batch is not None and labels.shape[0] != batch:
            raise ValueError(f"`labels` has {labels.shape[0]} rows, the sign input has batch size {batch}")
        if labels.shape[1] > self.config.max_position_embeddings:
            raise ValueError(
                f"`labels` of {labels.shape[1]} tokens are longer than the decoder's "
                f"{self.config.max_position_embeddings} positions (config.max_position_embeddings)"
            )
        if labels.dtype in (torch.bool,) or labels.is_floating_point() or labels.is_complex():
            raise ValueError(f"`labels` must be an integer tensor, got {labels.dtype}")
        valid = labels != -100
        bad = valid & ((labels < 0) | (labels >= self.config.vocab_size))
        if bad.any():
            values = sorted(set(labels[bad].tolist()))[:10]
            raise ValueError(
                f"`labels` contain ids outside the vocabulary [0, {self.config.vocab_size}) (and not -100): {values}"
            )
        empty = ~valid.any(1)
        if empty.any():
            raise ValueError(
                f"`labels` rows {empty.nonzero().flatten().tolist()} have no target token (all -100)"
            )

    def _training_targets(self, labels):
        """`labels` without the target language code when `config.mask_tgt_lang_code` says so (the release's
        targets and posterior text: "tokens </s>"); unchanged otherwise."""
        lang = self.config.tgt_lang_code_id
        if not self.config.mask_tgt_lang_code or lang is None:
            return labels
        targets = labels.masked_fill(labels == lang, -100)
        empty = ~(targets != -100).any(1)
        if empty.any():
            raise ValueError(
                f"`labels` rows {empty.nonzero().flatten().tolist()} have no target token besides the language code "
                f"{lang} (config.mask_tgt_lang_code removes it from the targets)"
            )
        return targets

    # ---- encoder side -----------------------------------------------------------------------------

    def embed_sign(self, input_features: torch.Tensor, mask: torch.Tensor):
        """Visual head, then `</s>` (and the language code) appended after each sequence's last valid step, then
        the scaling mBART applies to looked-up embeddings. Returns (embeddings (B, T+n, d), mask (B, T+n))."""
        hidden = self.visual_head(input_features, mask)
        batch, length, width = hidden.shape
        special_ids = [self.config.eos_token_id]
        if self.config.tgt_lang_code_id is not None:
            special_ids.append(self.config.tgt_lang_code_id)
        n_special = len(special_ids)
        special = self.model.shared.weight[torch.tensor(special_ids, device=hidden.device)].to(hidden.dtype)
        lengths = mask.sum(1)
        hidden = torch.cat(
            [hidden * mask.unsqueeze(-1).to(hidden.dtype), hidden.new_zeros(batch, n_special, width)], 1
        )
        index = lengths[:, None] + torch.arange(n_special, device=hidden.device)[None, :]
        hidden = hidden.scatter(
            1, index.unsqueeze(-1).expand(-1, -1, width), special.unsqueeze(0).expand(batch, -1, -1)
        )
        new_mask = (
            torch.arange(length + n_special, device=hidden.device)[None, :] < (lengths + n_special)[:, None]
        )
        return hidden * self.sign_embed_scale, new_mask

    def _encoder_mask(self, attention_mask, encoder_length, batch, device):
        """Mask of the encoder output: ones, the given mask, or the sign mask extended by the appended tokens."""
        if attention_mask is None:
            return torch.ones(batch, encoder_length, dtype=torch.bool, device=device)
        mask = attention_mask.bool()
        if mask.shape[1] == encoder_length:
            return mask
        if mask.shape[1] + self.config.num_appended_tokens == encoder_length:
            lengths = mask.sum(1) + self.config.num_appended_tokens
            return torch.arange(encoder_length, device=device)[None, :] < lengths[:, None]
        raise ValueError(
            f"`attention_mask` of length {mask.shape[1]} fits neither the encoder output ({encoder_length}) nor the "
            f"sign input ({encoder_length - self.config.num_appended_tokens})"
        )

    def _sign_embeddings(self, input_features, inputs_embeds, attention_mask):
        tensor, mask = self._check_sign_inputs(input_features, inputs_embeds, attention_mask)
        if input_features is not None:
            return self.embed_sign(tensor, mask)
        return tensor, mask

    def encode(
        self,
        input_features=None,
        attention_mask=None,
        inputs_embeds=None,
        output_attentions=None,
        output_hidden_states=None,
    ) -> BaseModelOutput:
        """Prior-path encoding for inference: visual head, mBART encoder and, with the latent network, z* = mu
        returned to the encoder output. `last_hidden_state` has the appended `</s>`/language-code steps."""
        embeds, mask = self._sign_embeddings(input_features, inputs_embeds, attention_mask)
        encoder_out = self.model.encoder(
            inputs_embeds=embeds,
            attention_mask=mask.long(),
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
        )
        hidden = encoder_out.last_hidden_state
        if self.latent_network is not None:
            mu, _ = self.latent_network.prior(hidden, mask)
            hidden = self.latent_network.fuse(hidden, mu)
        return BaseModelOutput(
            last_hidden_state=hidden,
            hidden_states=encoder_out.hidden_states,
            attentions=encoder_out.attentions,
        )

    @staticmethod
    def _pack(sign, sign_mask, text, text_mask):
        """Concatenate each item's valid sign steps and valid text tokens without gaps: ([x; y], mask, text_index)."""
        batch, sign_len, width = sign.shape
        text_len = text.shape[1]
        total = sign_len + text_len
        sign_lengths = sign_mask.sum(1)
        dump = torch.full_like(text_mask, total, dtype=torch.long)
        sign_index = torch.where(sign_mask, torch.arange(sign_len, device=sign.device)[None, :], total)
        text_index = torch.where(text_mask, sign_lengths[:, None] + text_mask.long().cumsum(1) - 1, dump)
        packed = sign.new_zeros(batch, total + 1, width)
        packed = packed.scatter(1, sign_index.unsqueeze(-1).expand(-1, -1, width), sign)
        packed = packed.scatter(1, text_index.unsqueeze(-1).expand(-1, -1, width), text.to(sign.dtype))
        lengths = sign_lengths + text_mask.sum(1)
        mask = torch.arange(total, device=sign.device)[None, :] < lengths[:, None]
        return packed[:, :total], mask, text_index

    # ---- losses ---------------------------------------------------------------------------------

    def _reduce_tokens(self, per_token, labels):
        """Reduce a (batch, length) per-token loss over the valid target tokens (labels != -100), as
        `config.loss_reduction` says: the sum divided by the batch size ("sentence_sum", the paper's ELBO) or the
        mean over the valid tokens ("token_mean"). The mask and the count are float32 whatever the model's dtype."""
        valid = (labels != -100).float()
        total = (per_token.float() * valid).sum()
        if self.config.loss_reduction == "token_mean":
            return total / valid.sum()
        return total / labels.shape[0]

    def _cross_entropy(self, logits, labels):
        """Label-smoothed cross-entropy of each target token, reduced by `_reduce_tokens`."""
        per_token = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).float(),
            labels.reshape(-1),
            ignore_index=-100,
            label_smoothing=self.config.label_smoothing,
            reduction="none",
        )
        return self._reduce_tokens(per_token.view(labels.shape), labels)

    def _self_distillation(self, posterior_logits, prior_logits, labels):
        """KL between the decoders' token distributions at the valid target positions, reduced by `_reduce_tokens`."""
        log_q = F.log_softmax(posterior_logits.float(), -1)
        log_p = F.log_softmax(prior_logits.float(), -1)
        kl_qp = (log_q.exp() * (log_q - log_p)).sum(-1)  # KL(posterior || prior)
        if self.config.sd_direction == "symmetric":
            kl_pq = (log_p.exp() * (log_p - log_q)).sum(-1)
            per_token = 0.5 * (kl_qp + kl_pq)
        else:
            per_token = kl_qp
        return self._reduce_tokens(per_token, labels)

    def _logits(self, decoder_hidden):
        return self.lm_head(decoder_hidden) + self.final_logits_bias.to(decoder_hidden.dtype)

    # ---- forward --------------------------------------------------------------------------------

    def forward(
        self,
        input_features: torch.FloatTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.LongTensor | None = None,
        decoder_attention_mask: torch.LongTensor | None = None,
        encoder_outputs: tuple | BaseModelOutput | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        decoder_inputs_embeds: torch.FloatTensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> CVSLTSeq2SeqLMOutput | tuple:
        r"""
        Args:
            input_features (`torch.FloatTensor` of shape `(batch, time, config.feature_dim)`):
                Sign features (S3D features or flattened poses), right-padded. Any floating-point dtype (float64,
                numpy's default) is cast to the model's dtype; values above `max_input_magnitude` (1e4 by default) in
                magnitude are refused as unnormalised.
            attention_mask (`torch.Tensor` of shape `(batch, time)`):
                1 for valid steps, 0 for padding (a prefix of ones per row).
            inputs_embeds (`torch.FloatTensor` of shape `(batch, time, d_model)`):
                Instead of `input_features`: ready encoder input embeddings, used as they are (no visual head, no
                appended tokens, no scaling) like `MBartForConditionalGeneration`'s `inputs_embeds`.
            labels (`torch.LongTensor` of shape `(batch, length)`):
                Target ids ("tokens </s> lang_code" as mBART's tokenizer writes them), -100 for padding. The decoder
                input is `shift_tokens_right(labels)` as in mBART. With labels the posterior path runs too and the
                loss is `CE_post + CE_prior + w * KL + w * lambda * L_SD`. With `config.mask_tgt_lang_code` (the
                default, as the release) the language-code positions are neither targets nor part of the
                posterior's text.
            encoder_outputs: output of `get_encoder()` (prior path with z* = mu); skips the encoder side.
            cache (or `past_key_values`): the decoder's key/value cache, as `generate()` passes it; handed to
                mBART's decoder under the installed transformers' name and returned in the output's cache field.

        In training mode z is sampled with the reparameterisation trick (the same noise for both paths); in eval mode
        z is the mean of its distribution, so evaluation is deterministic.
        """
        cache = _pop_cache(kwargs)
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        config = self.config
        if labels is not None:
            sign = input_features if input_features is not None else inputs_embeds
            if sign is None and encoder_outputs is not None:
                sign = encoder_outputs[0]
            batch = sign.shape[0] if isinstance(sign, torch.Tensor) and sign.dim() == 3 else None
            self._check_labels(labels, batch)
            if self.latent_network is not None and encoder_outputs is None and batch is not None:
                # the posterior path encodes [x; y] padded to (sign steps + appended tokens) + label length: refuse
                # before any encoder or decoder work, not after the prior path ran
                appended = self.config.num_appended_tokens if input_features is not None else 0
                packed = sign.shape[1] + appended + labels.shape[1]
                if packed > config.max_position_embeddings:
                    raise ValueError(
                        f"Sign plus target ({packed} positions: {sign.shape[1]} steps + {appended} appended tokens + "
                        f"{labels.shape[1]} label tokens) is longer than max_position_embeddings "
                        f"({config.max_position_embeddings}) for the posterior path [x; y]"
                    )
            use_cache = False
            if decoder_input_ids is None and decoder_inputs_embeds is None:
                decoder_input_ids = shift_tokens_right(labels, config.pad_token_id)
            # from here on `labels` are the training targets (and the posterior's text): the decoder input above
            # still starts with the language code
            labels = self._training_targets(labels)

        prior_mu = prior_logvar = posterior_mu = posterior_logvar = None
        if decoder_input_ids is None and decoder_inputs_embeds is None:
            # no target given: score the first step from the decoder start token (like Whisper's forward)
            if config.decoder_start_token_id is None:
                raise ValueError(
                    "Pass `labels` or `decoder_input_ids` (config.decoder_start_token_id is not set)"
                )
            reference = input_features if input_features is not None else inputs_embeds
            if reference is None and encoder_outputs is not None:
                reference = encoder_outputs[0]
            if reference is None:
                raise ValueError("Pass exactly one of `input_features` or `inputs_embeds`; got neither")
            decoder_input_ids = torch.full(
                (reference.shape[0], 1),
                config.decoder_start_token_id,
                dtype=torch.long,
                device=reference.device,
            )
        encoder_hidden_states = encoder_attentions = None
        sign_embeds = None
        if encoder_outputs is None:
            sign_embeds, sign_mask = self._sign_embeddings(input_features, inputs_embeds, attention_mask)
            encoder_out = self.model.encoder(
                inputs_embeds=sign_embeds,
                attention_mask=sign_mask.long(),
                output_attentions=output_attentions,
                output_hidden_states=output_hidden_states,
                return_dict=True,
            )
            prior_hidden = encoder_out.last_hidden_state
            encoder_hidden_states, encoder_attentions = encoder_out.hidden_states, encoder_out.attentions
            noise = None
            if self.latent_network is not None:
                prior_mu, prior_logvar = self.latent_network.prior(prior_hidden, sign_mask)
                if self.training:
                    noise = torch.randn_like(prior_mu)
                    z_prior = prior_mu + torch.exp(0.5 * prior_logvar) * noise
                else:
                    z_prior = prior_mu
                prior_hidden = self.latent_network.fuse(prior_hidden, z_prior)
        else:
            if not isinstance(encoder_outputs, BaseModelOutput):
                encoder_outputs = BaseModelOutput(
                    last_hidden_state=encoder_outputs[0],
                    hidden_states=encoder_outputs[1] if len(encoder_outputs) > 1 else None,
                    attentions=encoder_outputs[2] if len(encoder_outputs) > 2 else None,
                )
            prior_hidden = encoder_outputs.last_hidden_state
            encoder_hidden_states, encoder_attentions = (
                encoder_outputs.hidden_states,
                encoder_outputs.attentions,
            )
            sign_mask = self._encoder_mask(
                attention_mask, prior_hidden.shape[1], prior_hidden.shape[0], prior_hidden.device
            )

        decoder_out = self.model.decoder(
            input_ids=decoder_input_ids,
            attention_mask=decoder_attention_mask,
            encoder_hidden_states=prior_hidden,
            encoder_attention_mask=sign_mask.long(),
            inputs_embeds=decoder_inputs_embeds,
            use_cache=use_cache,
            **{CACHE_DECODER_KEYWORD: cache},
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
        )
        logits = self._logits(decoder_out.last_hidden_state)

        loss = posterior_ce = prior_ce = kl_loss = sd_loss = weight = posterior_logits = None
        if labels is not None:
            if self.training:
                self._warn_if_annealing_not_driven()
            prior_ce = self._cross_entropy(logits, labels)
            steps = config.kl_annealing_steps
            # a tensor op (no host sync): min(1, step / steps)
            weight = (self.global_step.float() / steps).clamp(max=1.0) if steps > 0 else logits.new_ones(())
            weight = weight.to(logits.device)
            if self.latent_network is None:
                loss = prior_ce
            else:
                if sign_embeds is None:
                    raise ValueError(
                        "Training with `labels` needs `input_features` or `inputs_embeds`, not `encoder_outputs`"
                    )
                text_mask = labels != -100
                text_embeds = self.model.shared(labels.masked_fill(~text_mask, config.pad_token_id))
                packed, packed_mask, text_index = self._pack(sign_embeds, sign_mask, text_embeds, text_mask)
                if packed.shape[1] > config.max_position_embeddings:
                    raise ValueError(
                        f"Sign plus target ({packed.shape[1]} positions) is longer than max_position_embeddings "
                        f"({config.max_position_embeddings}) for the posterior path [x; y]"
                    )
                joint = self.model.encoder(
                    inputs_embeds=packed, attention_mask=packed_mask.long(), return_dict=True
                ).last_hidden_state
                sign_len = sign_embeds.shape[1]
                sign_part = joint[:, :sign_len]
                joint = torch.cat([joint, joint.new_zeros(joint.shape[0], 1, joint.shape[2])], 1)
                text_part = joint.gather(1, text_index.unsqueeze(-1).expand(-1, -1, joint.shape[2]))
                posterior_mu, posterior_logvar = self.latent_network.posterior(
                    sign_part, text_part, text_mask, prior_mu, prior_logvar
                )
                if self.training:
                    z_post = posterior_mu + torch.exp(0.5 * posterior_logvar) * noise
                else:
                    z_post = posterior_mu
                posterior_hidden = self.latent_network.fuse(sign_part, z_post)
                posterior_dec = self.model.decoder(
                    input_ids=decoder_input_ids,
                    attention_mask=decoder_attention_mask,
                    encoder_hidden_states=posterior_hidden,
                    encoder_attention_mask=sign_mask.long(),
                    inputs_embeds=decoder_inputs_embeds,
                    use_cache=False,
                    return_dict=True,
                )
                posterior_logits = self._logits(posterior_dec.last_hidden_state)
                posterior_ce = self._cross_entropy(posterior_logits, labels)
                kl = gaussian_kl(
                    posterior_mu.float(), posterior_logvar.float(), prior_mu.float(), prior_logvar.float()
                )
                # summed over latent dims and valid sign steps, divided by the batch size (both reductions)
                kl_loss = (kl.sum(-1) * sign_mask.float()).sum() / kl.shape[0]
                sd_loss = self._self_distillation(posterior_logits, logits, labels)
                loss = posterior_ce + weight * kl_loss
                if config.use_aep:
                    loss = loss + prior_ce
                if config.use_sd:
                    loss = loss + weight * config.sd_weight * sd_loss

        output = CVSLTSeq2SeqLMOutput(
            loss=loss,
            logits=logits,
            posterior_ce_loss=posterior_ce,
            prior_ce_loss=prior_ce,
            kl_loss=kl_loss,
            sd_loss=sd_loss,
            annealing_weight=weight,
            posterior_logits=posterior_logits,
            prior_mu=prior_mu,
            prior_logvar=prior_logvar,
            posterior_mu=posterior_mu,
            posterior_logvar=posterior_logvar,
            **{CACHE_OUTPUT_FIELD: decoder_out.get(CACHE_OUTPUT_FIELD)},
            decoder_hidden_states=decoder_out.hidden_states,
            decoder_attentions=decoder_out.attentions,
            cross_attentions=decoder_out.cross_attentions,
            encoder_last_hidden_state=prior_hidden,
            encoder_hidden_states=encoder_hidden_states,
            encoder_attentions=encoder_attentions,
        )
        return output if return_dict else output.to_tuple()

    def prepare_decoder_input_ids_from_labels(self, labels: torch.Tensor):
        return shift_tokens_right(labels, self.config.pad_token_id)

    def _prepare_model_inputs(self, inputs=None, bos_token_id=None, model_kwargs=None):
        """`generate()`'s choice of the encoder input: `input_features` (the main input), or `inputs_embeds` (already
        embedded sign sequences, as `embed_sign` returns them: the visual head is skipped), as mBART's `generate()`
        takes `inputs_embeds` in place of `input_ids`. transformers only looks for `inputs_embeds` when the main input
        is `input_ids`; without this it made up `input_features` from the BOS token beside them ("got both")."""
        model_kwargs = {} if model_kwargs is None else model_kwargs
        embeds = model_kwargs.get("inputs_embeds")
        if embeds is None:
            model_kwargs.pop("inputs_embeds", None)
            return super()._prepare_model_inputs(inputs, bos_token_id, model_kwargs)
        features = model_kwargs.pop(self.main_input_name, None)
        if inputs is not None or features is not None:
            raise ValueError(
                "Pass `generate()` either `input_features` (sign features, run through the visual head) or "
                "`inputs_embeds` (encoder input embeddings, e.g. from `embed_sign`), not both"
            )
        return model_kwargs.pop("inputs_embeds"), "inputs_embeds", model_kwargs

    # ---- mBART weights and pruned vocabularies ---------------------------------------------------

    @classmethod
    def from_mbart(
        cls, path_or_model, keep_token_ids=None, **config_overrides
    ) -> CVSLTForConditionalGeneration:
        """Build CV-SLT from an mBART checkpoint (a folder or Hub id loadable by `MBartForConditionalGeneration`, or a
        model instance). Every mBART weight is copied; only the new modules (`visual_head`, `latent_network`) start
        from their initialisation (anything else missing or left over raises `ValueError`).

        Args:
            path_or_model: mBART checkpoint path or `MBartForConditionalGeneration` (possibly already pruned by
                `scripts/prune_mbart_vocab.py`; its `vocab_id_map` is kept).
            keep_token_ids: optional ids to keep (see [`prune_mbart_vocabulary`]); the id map is recorded in
                `config.vocab_id_map` (see `map_generated_ids_to_original`).
            **config_overrides: CV-SLT fields (feature_dim, latent_dim, tgt_lang_code_id, ...). Token ids given here
                are ids of the checkpoint's vocabulary (before `keep_token_ids` is applied).
        """
        from transformers import MBartForConditionalGeneration

        mbart = path_or_model
        if not isinstance(mbart, PreTrainedModel):
            mbart = MBartForConditionalGeneration.from_pretrained(str(path_or_model))
        config_dict = mbart.config.to_dict()
        for key in ("model_type", "architectures", "auto_map", "transformers_version", "_name_or_path"):
            config_dict.pop(key, None)
        config_dict.update(config_overrides)
        state = dict(mbart.state_dict())
        if keep_token_ids is not None:
            keep, config_dict = _prune_config(config_dict, keep_token_ids)
            state = _prune_state(state, keep)
        config = CVSLTConfig(**config_dict)
        model = cls(config)
        model.to(next(mbart.parameters()).dtype)
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected:
            raise ValueError(f"mBART weights not used by CV-SLT: {unexpected}")
        not_new = [
            k for k in missing if not k.startswith(("visual_head.", "latent_network.")) and k != "global_step"
        ]
        if not_new:
            raise ValueError(f"mBART checkpoint lacks weights CV-SLT needs: {not_new}")
        model.tie_weights()
        return model

    def map_generated_ids_to_original(self, ids: torch.Tensor) -> torch.Tensor:
        """Map ids of a pruned model (`from_mbart(keep_token_ids=...)`) back to the original vocabulary, so that the
        original tokenizer decodes them. Identity when the vocabulary was not pruned."""
        if self.config.vocab_id_map is None:
            return ids
        table = torch.tensor(self.config.vocab_id_map, device=ids.device, dtype=torch.long)
        if ((ids < 0) | (ids >= table.numel())).any():
            raise ValueError(f"ids outside the pruned vocabulary [0, {table.numel()})")
        return table[ids.long()]

    def map_original_ids_to_pruned(self, ids: torch.Tensor) -> torch.Tensor:
        """Map ids of the original tokenizer to the pruned vocabulary (e.g. labels for training). -100 is kept;
        an id that was pruned away raises ValueError."""
        if self.config.vocab_id_map is None:
            return ids
        original = torch.tensor(self.config.vocab_id_map, device=ids.device, dtype=torch.long)
        lookup = torch.full((int(original.max()) + 1,), -1, dtype=torch.long, device=ids.device)
        lookup[original] = torch.arange(original.numel(), device=ids.device)
        keep = ids == -100
        inside = (ids >= 0) & (ids < lookup.numel())
        mapped = torch.where(inside, lookup[ids.clamp(0, lookup.numel() - 1)], torch.full_like(ids, -1))
        missing = (~keep) & (mapped < 0)
        if missing.any():
            raise ValueError(f"ids not in the pruned vocabulary: {sorted(set(ids[missing].tolist()))[:10]}")
        return torch.where(keep, ids, mapped)


# ------------------------------------------------------------------------------------------------
# Vocabulary pruning
# ------------------------------------------------------------------------------------------------

_TOKEN_ID_FIELDS = (
    "pad_token_id",
    "bos_token_id",
    "eos_token_id",
    "decoder_start_token_id",
    "forced_eos_token_id",
    "forced_bos_token_id",
    "tgt_lang_code_id",
)


def _prune_config(config_dict: dict, keep_token_ids) -> tuple[torch.Tensor, dict]:
    keep = [int(i) for i in keep_token_ids]
    vocab_size = config_dict["vocab_size"]
    if not keep or sorted(set(keep)) != keep:
        raise ValueError("keep_token_ids must be a non-empty sorted list of unique ids")
    if keep[0] < 0 or keep[-1] >= vocab_size:
        raise ValueError(
            f"keep_token_ids must lie in [0, {vocab_size}), got ids from {keep[0]} to {keep[-1]}"
        )
    position = {old: new for new, old in enumerate(keep)}
    config_dict = dict(config_dict)
    for name in _TOKEN_ID_FIELDS:
        value = config_dict.get(name)
        if isinstance(value, int):
            if value not in position:
                raise ValueError(f"{name}={value} is not among keep_token_ids: keep every special token")
            config_dict[name] = position[value]
    previous = config_dict.get("vocab_id_map")
    config_dict["vocab_id_map"] = [previous[i] for i in keep] if previous else keep
    config_dict["vocab_size"] = len(keep)
    return torch.tensor(keep, dtype=torch.long), config_dict


def _prune_state(state: dict, keep: torch.Tensor) -> dict:
    state = dict(state)
    for key in list(state):
        if key.endswith(("shared.weight", "embed_tokens.weight")) or key == "lm_head.weight":
            state[key] = state[key][keep].clone()
        elif key == "final_logits_bias":
            state[key] = state[key][:, keep].clone()
    return state


def prune_mbart_vocabulary(mbart, keep_token_ids):
    """Return a new `MBartForConditionalGeneration` whose vocabulary is `keep_token_ids` of `mbart`'s (sorted, unique,
    special tokens included): `shared` / `lm_head` rows and `final_logits_bias` columns are sliced, special token ids
    remapped, and `config.vocab_id_map[i]` is the original id of new token `i` (composed with any earlier map)."""
    from transformers import MBartConfig, MBartForConditionalGeneration

    config_dict = mbart.config.to_dict()
    for key in ("model_type", "architectures", "transformers_version", "_name_or_path"):
        config_dict.pop(key, None)
    keep, config_dict = _prune_config(config_dict, keep_token_ids)
    pruned = MBartForConditionalGeneration(MBartConfig(**config_dict))
    pruned.to(next(mbart.parameters()).dtype)
    pruned.load_state_dict(_prune_state(mbart.state_dict(), keep), strict=True)
    pruned.tie_weights()
    return pruned


__all__ = [
    "CVSLTForConditionalGeneration",
    "CVSLTPreTrainedModel",
    "CVSLTSeq2SeqLMOutput",
    "CVSLTGaussianNetwork",
    "CVSLTVisualHead",
    "gaussian_kl",
    "prune_mbart_vocabulary",
]
