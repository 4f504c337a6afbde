"""NARSignProducer: non-autoregressive sign language production via knowledge distillation.

Hwang, Kim, Cho and Park (2022), "Non-Autoregressive Sign Language Production via Knowledge
Distillation" (NAR-SLP). Text -> BERT -> (a) length regulator on [CLS] predicting T / T_max,
(b) a transformer decoder whose queries are positional encodings and whose keys/values are the
text encoder outputs, emitting T_max latents `z_lang` in one pass -> frozen PGM (the pose VAE's
decoder) -> normalised frames. Training adds the distillation loss between `z_lang` and the frozen
LGM's latents of the ground truth (the pose VAE's encoder).

Imports only torch, transformers and, relatively, files of this folder (trust_remote_code); the pose VAE files
of this folder are checked copies of ``signbridge/models/pose_vae/`` (see this package's docstring).
"""

import math
import os
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from transformers import BertModel, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.utils import ModelOutput, logging

from .configuration_nar_slp import NARSignProducerConfig
from .configuration_pose_vae import PoseVAEConfig
from .modeling_pose_vae import MissingNormalizationError, PoseVAEModel, check_pose_tensor
from .strict_loading import strict_from_pretrained

logger = logging.get_logger(__name__)


class TextInputError(ValueError):
    """The token input is empty, too long for the text encoder, or out of its vocabulary."""


@dataclass
class NARSignProducerOutput(ModelOutput):
    r"""
    Output of [`NARSignProducer.forward`].

    Args:
        loss (`torch.FloatTensor` of shape `()`, returned with `pose_labels`):
            Weighted sum of the parts below (`distillation_loss` only when `use_distillation`).
        pose_loss (`torch.FloatTensor` of shape `()`):
            `L_pose`: MSE between produced and target normalised frames over real frames.
        distillation_loss (`torch.FloatTensor` of shape `()`, `None` without KD):
            `L_distil`: MSE between `z_lang` and the LGM latents of the target over real frames.
        length_loss (`torch.FloatTensor` of shape `()`):
            `L_length`: BCE between the predicted and the true ratio T / T_max.
        poses (`torch.FloatTensor` of shape `(batch, max_frames, J, K)`):
            Produced frames in the normalised [0, 1] space. With `config.mask_frames_beyond_length` (the default)
            the frames past each sequence's length (the true one with `pose_mask`, else the predicted one) are not
            computed and are 0; without it, all T_max frames are decoded.
        latents (`torch.FloatTensor` of shape `(batch, max_frames, latent_dim)`):
            `z_lang`, the decoder's latents (0 past each length, as `poses`).
        length_ratio (`torch.FloatTensor` of shape `(batch,)`):
            Predicted T / T_max, in (0, 1).
        predicted_lengths (`torch.LongTensor` of shape `(batch,)`):
            `clamp(round(length_ratio * max_frames), 1, max_frames)`.
        encoder_last_hidden_state (`torch.FloatTensor` of shape `(batch, seq_len, hidden)`):
            The text encoder's outputs.
    """

    loss: torch.FloatTensor | None = None
    pose_loss: torch.FloatTensor | None = None
    distillation_loss: torch.FloatTensor | None = None
    length_loss: torch.FloatTensor | None = None
    poses: torch.FloatTensor | None = None
    latents: torch.FloatTensor | None = None
    length_ratio: torch.FloatTensor | None = None
    predicted_lengths: torch.LongTensor | None = None
    encoder_last_hidden_state: torch.FloatTensor | None = None


@dataclass
class NARSignProductionOutput(ModelOutput):
    r"""
    Output of [`NARSignProducer.generate_poses`].

    Args:
        poses (`torch.FloatTensor` of shape `(batch, max_frames, J, K)`):
            Produced poses in corpus coordinates (denormalised); frames at and after `lengths` are 0.
        lengths (`torch.LongTensor` of shape `(batch,)`):
            Number of produced frames per sequence (the regulator's length, at least 1).
        mask (`torch.BoolTensor` of shape `(batch, max_frames)`):
            True for produced frames.
        length_ratio (`torch.FloatTensor` of shape `(batch,)`):
            The regulator's T / T_max.
        latents (`torch.FloatTensor` of shape `(batch, max_frames, latent_dim)`):
            `z_lang` (0 past `lengths` with `config.mask_frames_beyond_length`).
    """

    poses: torch.FloatTensor | None = None
    lengths: torch.LongTensor | None = None
    mask: torch.BoolTensor | None = None
    length_ratio: torch.FloatTensor | None = None
    latents: torch.FloatTensor | None = None


def sinusoidal_positions(num_positions: int, dim: int) -> torch.Tensor:
    """Sinusoidal positional encodings (Vaswani et al., 2017), shape (num_positions, dim)."""
    position = torch.arange(num_positions, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(num_positions, dim, dtype=torch.float32)
    table[:, 0::2] = torch.sin(position * div)
    table[:, 1::2] = torch.cos(position * div)[:, : dim // 2]
    return table


class PositionalQueries(nn.Module):
    """The decoder's queries: fixed sinusoidal encodings of the T_max frame positions."""

    def __init__(self, max_frames: int, d_model: int):
        super().__init__()
        self.max_frames = max_frames
        self.d_model = d_model
        self.register_buffer("encodings", sinusoidal_positions(max_frames, d_model), persistent=False)

    def forward(self, batch_size: int) -> torch.Tensor:
        return self.encodings.unsqueeze(0).expand(batch_size, -1, -1)


class LengthRegulator(nn.Module):
    """FC layers on the [CLS] state ending in one logit; sigmoid(logit) = predicted T / T_max."""

    def __init__(self, input_size: int, config: NARSignProducerConfig):
        super().__init__()
        layers: list[nn.Module] = []
        size = input_size
        for _ in range(config.length_regulator_layers - 1):
            layers += [
                nn.Linear(size, config.length_regulator_hidden_size),
                nn.ReLU(),
                nn.Dropout(config.dropout),
            ]
            size = config.length_regulator_hidden_size
        layers.append(nn.Linear(size, 1))
        self.layers = nn.Sequential(*layers)

    def forward(self, cls_state: torch.Tensor) -> torch.Tensor:
        return self.layers(cls_state).squeeze(-1)


def _load_bert_encoder(path: "str | os.PathLike") -> BertModel:
    """Load the encoder of any BERT checkpoint (pooler and task heads dropped); raise when weights
    the encoder needs are missing from it, instead of leaving them randomly initialised."""
    verbosity = logging.get_verbosity()
    logging.set_verbosity_error()  # the pooler/heads being unused is expected, not worth a report
    try:
        model, info = BertModel.from_pretrained(path, add_pooling_layer=False, output_loading_info=True)
    finally:
        logging.set_verbosity(verbosity)
    if info.get("missing_keys"):
        raise ValueError(
            f"{path} is not a BERT encoder checkpoint: weights missing for {sorted(info['missing_keys'])[:8]}"
        )
    return model


class NARDecoderLayer(GradientCheckpointingLayer, nn.TransformerDecoderLayer):
    """`nn.TransformerDecoderLayer` that transformers' gradient checkpointing can recompute.

    Same parameters and outputs as its torch base (state-dict keys unchanged, so folders saved before load); with
    `model.gradient_checkpointing_enable()` (or `activation_checkpointing_enable()`) and in training mode, the
    layer keeps only its inputs in the forward pass and recomputes its activations in the backward pass.
    """


class NARSignProducerPreTrainedModel(PreTrainedModel):
    """Base class: config class, Xavier initialisation (paper Sec. 4.2), safetensors weights."""

    config_class = NARSignProducerConfig
    base_model_prefix = "nar_slp"
    main_input_name = "input_ids"
    accepts_loss_kwargs = False
    # the BERT layers and the decoder layers (NARDecoderLayer) are GradientCheckpointingLayers
    supports_gradient_checkpointing = True
    _no_split_modules = ["BertLayer", "NARDecoderLayer"]

    def _init_weights(self, module):
        gain = self.config.initializer_gain
        if isinstance(module, nn.Linear):
            init.xavier_uniform_(module.weight, gain=gain)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.MultiheadAttention):
            if module.in_proj_weight is not None:
                init.xavier_uniform_(module.in_proj_weight, gain=gain)
            if module.in_proj_bias is not None:
                init.zeros_(module.in_proj_bias)
        elif isinstance(module, nn.LayerNorm):
            init.ones_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, PositionalQueries):
            init.copy_(module.encodings, sinusoidal_positions(module.max_frames, module.d_model))


class NARSignProducer(NARSignProducerPreTrainedModel):
    """Text -> sign poses in one forward pass (NAR-SLP).

    Submodules: `text_encoder` (a `BertModel` without pooler), `length_regulator`, `queries`
    (positional encodings), `decoder` (an `nn.TransformerDecoder`), `latent_projection`
    (d_model -> VAE latent) and `pose_vae` (the frozen LGM `pose_vae.encoder` and PGM
    `pose_vae.decoder`, with the normalisation statistics in `config.pose_vae`).

    Build it from pretrained parts with [`~NARSignProducer.from_pretrained_parts`], train it with
    `pose_labels` (normalised) and `pose_mask`, produce with [`~NARSignProducer.generate_poses`].
    """

    def __init__(self, config: NARSignProducerConfig):
        super().__init__(config)
        self.text_encoder = BertModel(config.text_encoder, add_pooling_layer=False)
        text_hidden = config.text_encoder.hidden_size
        self.length_regulator = LengthRegulator(text_hidden, config)
        if text_hidden != config.d_model:
            self.encoder_projection = nn.Linear(text_hidden, config.d_model)
        else:
            self.encoder_projection = nn.Identity()
        self.queries = PositionalQueries(config.max_frames, config.d_model)
        layer = NARDecoderLayer(
            d_model=config.d_model,
            nhead=config.decoder_attention_heads,
            dim_feedforward=config.decoder_ffn_dim,
            dropout=config.dropout,
            activation=config.activation_function,
            batch_first=True,
            norm_first=True,
        )
        if config.attention_dropout is not None:
            # nn.TransformerDecoderLayer has one dropout; the attention modules read their own
            layer.self_attn.dropout = config.attention_dropout
            layer.multihead_attn.dropout = config.attention_dropout
        self.decoder = nn.TransformerDecoder(
            layer, num_layers=config.decoder_layers, norm=nn.LayerNorm(config.d_model)
        )
        self.latent_projection = nn.Linear(config.d_model, config.pose_vae.latent_dim)
        self.pose_vae = PoseVAEModel(config.pose_vae)
        if config.freeze_pose_vae:
            self.freeze_pose_vae()
        self.post_init()

    # ---- construction from parts ----
    def freeze_pose_vae(self) -> None:
        """Freeze the LGM and PGM (no gradients), as in the paper."""
        for parameter in self.pose_vae.parameters():
            parameter.requires_grad_(False)

    def get_encoder(self):
        return self.text_encoder

    def get_input_embeddings(self):
        return self.text_encoder.get_input_embeddings()

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, strict: bool = True, **kwargs):
        """`PreTrainedModel.from_pretrained`, then re-freezes the pose VAE (loading replaces parameters).

        Strict by default: a folder (or `config`) of another model type (a CV-SLT or pose VAE folder), and weights
        missing from or left over in the checkpoint (a missing pose decoder weight would stay random, and frozen),
        raise `ValueError` naming them. To build a producer from a BERT encoder and a pose VAE, use
        [`~NARSignProducer.from_pretrained_parts`].

        Args:
            strict: `False` loads as transformers does (missing weights keep their initialisation, unexpected ones
                are dropped, each with a logged warning; another model type's config is read as this one's).
        """
        loaded = strict_from_pretrained(
            cls, super().from_pretrained, pretrained_model_name_or_path, model_args, kwargs, strict
        )
        model = loaded[0] if isinstance(loaded, tuple) else loaded
        if model.config.freeze_pose_vae:
            model.freeze_pose_vae()
        return loaded

    @classmethod
    def from_pretrained_parts(
        cls,
        text_encoder: "str | os.PathLike | BertModel",
        pose_vae: "str | os.PathLike | PoseVAEModel",
        tokenizer=None,
        **config_overrides,
    ) -> "NARSignProducer":
        """Build a producer from a pretrained BERT encoder and a pretrained pose VAE.

        Args:
            text_encoder: a folder of any `BertModel` checkpoint (a pooler, if present, is dropped)
                or a `BertModel` instance.
            pose_vae: a folder saved by `PoseVAEModel.save_pretrained` or a `PoseVAEModel`; it
                must carry its normalisation statistics.
            tokenizer: optional, the text encoder's tokenizer; its [CLS]/[SEP]/[PAD] (or BOS/EOS) ids
                become `special_token_ids`, so that a text made only of them is refused as empty.
            **config_overrides: other [`NARSignProducerConfig`] fields (`d_model`, `max_frames`, ...).

        Example:

        ```python
        >>> producer = NARSignProducer.from_pretrained_parts(
        ...     text_encoder="path/to/bert", pose_vae="path/to/pose_vae", tokenizer=tokenizer, max_frames=300
        ... )
        ```

        The weights of both parts are copied into the new model; the decoder, projections and
        length regulator are freshly initialised.
        """
        if isinstance(text_encoder, (str, os.PathLike)):
            text_encoder = _load_bert_encoder(text_encoder)
        if not isinstance(text_encoder, BertModel):
            raise ValueError(
                f"text_encoder must be a path to a BERT checkpoint or a BertModel, got {type(text_encoder).__name__}"
            )
        if isinstance(pose_vae, (str, os.PathLike)):
            pose_vae = PoseVAEModel.from_pretrained(pose_vae)
        if not isinstance(pose_vae, PoseVAEModel):
            raise ValueError(
                f"pose_vae must be a path to a pose VAE checkpoint or a PoseVAEModel, got {type(pose_vae).__name__}"
            )
        if not pose_vae.config.has_normalization:
            raise MissingNormalizationError(
                "the pose VAE has no normalisation statistics (config.normalization); the producer could "
                "not return poses in corpus coordinates. Train it with the statistics set."
            )
        if tokenizer is not None and "special_token_ids" not in config_overrides:
            names = ("cls_token_id", "sep_token_id", "pad_token_id", "bos_token_id", "eos_token_id")
            ids = {getattr(tokenizer, name, None) for name in names} - {None}
            config_overrides["special_token_ids"] = sorted(int(i) for i in ids)
        config = cls.config_class(
            text_encoder=text_encoder.config.to_dict(),
            pose_vae=PoseVAEConfig(**pose_vae.config.to_dict()),
            **config_overrides,
        )
        model = cls(config)
        encoder_state = {k: v for k, v in text_encoder.state_dict().items() if not k.startswith("pooler.")}
        missing, unexpected = model.text_encoder.load_state_dict(encoder_state, strict=False)
        if missing or unexpected:
            raise ValueError(
                f"the text encoder's weights do not fit a BertModel of its config: missing {missing}, "
                f"unexpected {unexpected}"
            )
        model.pose_vae.load_state_dict(pose_vae.state_dict(), strict=True)
        if config.freeze_pose_vae:
            model.freeze_pose_vae()
        return model

    # Largest magnitude accepted in the real frames of `pose_labels` (normalised labels lie in about [0, 1]; a finite
    # 1e38 gives a NaN loss silently). Set a larger value, or None to disable the check, on the class or one model.
    max_label_magnitude: float | None = 1e4

    # ---- input checks ----
    def _check_text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        if input_ids is None:
            raise TextInputError("input_ids is required")
        if input_ids.dim() != 2:
            raise TextInputError(f"input_ids must have shape (batch, seq_len), got {tuple(input_ids.shape)}")
        batch, length = input_ids.shape
        if batch == 0 or length == 0:
            raise TextInputError(f"empty text: input_ids has shape {tuple(input_ids.shape)}")
        max_positions = self.config.text_encoder.max_position_embeddings
        if length > max_positions:
            raise TextInputError(
                f"text of {length} tokens is longer than the text encoder's {max_positions} positions"
            )
        vocab = self.config.text_encoder.vocab_size
        if int(input_ids.min()) < 0 or int(input_ids.max()) >= vocab:
            raise TextInputError(
                f"input_ids must lie in [0, {vocab}) (the text encoder's vocabulary), got range "
                f"[{int(input_ids.min())}, {int(input_ids.max())}]"
            )
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        elif tuple(attention_mask.shape) != tuple(input_ids.shape):
            raise TextInputError(
                f"attention_mask has shape {tuple(attention_mask.shape)}, expected {tuple(input_ids.shape)}"
            )
        real = attention_mask.bool()
        if self.config.special_token_ids:
            special = torch.tensor(self.config.special_token_ids, device=input_ids.device)
            real = real & ~torch.isin(input_ids, special)
        empty = (~real.any(dim=1)).nonzero().flatten().tolist()
        if empty:
            raise TextInputError(f"empty text in batch rows {empty}: no attended, non-special token")
        return attention_mask

    def _check_labels(
        self, pose_labels: torch.Tensor, pose_mask: torch.Tensor | None, batch: int
    ) -> torch.Tensor:
        vae = self.config.pose_vae
        check_pose_tensor(pose_labels, vae.num_joints, vae.joint_dim, name="pose_labels")
        if pose_labels.dim() != 4 or pose_labels.shape[0] != batch:
            raise ValueError(
                f"pose_labels must have shape (batch={batch}, T, J, K), got {tuple(pose_labels.shape)}"
            )
        frames = pose_labels.shape[1]
        if frames > self.config.max_frames:
            raise ValueError(
                f"pose_labels has {frames} frames, more than max_frames={self.config.max_frames}: raise "
                "max_frames or filter long sequences (nothing is truncated silently)"
            )
        if pose_mask is None:
            pose_mask = torch.ones(pose_labels.shape[:2], dtype=torch.long, device=pose_labels.device)
        elif tuple(pose_mask.shape) != tuple(pose_labels.shape[:2]):
            raise ValueError(
                f"pose_mask has shape {tuple(pose_mask.shape)}, expected {tuple(pose_labels.shape[:2])}"
            )
        else:
            binary = (pose_mask == 0) | (pose_mask == 1)
            if not bool(binary.all()):
                values = sorted({float(v) for v in pose_mask[~binary].flatten()[:1000].tolist()})[:10]
                raise ValueError(
                    f"pose_mask must hold only 0 and 1 (or False/True), got other values {values}: its row sums are "
                    "the true lengths, so any other value would distort the length loss"
                )
            pose_mask = pose_mask.long()
        lengths = pose_mask.sum(dim=1)
        if int(lengths.min()) == 0:
            raise ValueError("pose_mask has a sequence with no real frame")
        real_frames = pose_labels[pose_mask.bool()]  # padded frames hold anything: they are not checked
        low, high = float(real_frames.min()), float(real_frames.max())
        bound = self.max_label_magnitude
        if bound is not None and max(abs(low), abs(high)) > bound:
            raise ValueError(
                f"pose_labels range over [{low:.3g}, {high:.3g}], more than max_label_magnitude={bound:g} in "
                "magnitude: the labels should be normalised to about [0, 1] (values this large overflow the losses: "
                "1e38 gives a NaN loss). Normalise them with model.pose_vae.normalize or a PoseNormalizer, or raise "
                "`model.max_label_magnitude` (None disables the check)"
            )
        if low < -0.5 or high > 1.5:
            logger.warning_once(
                f"pose_labels range over [{low:.3g}, {high:.3g}]; they should be normalised to about [0, 1] "
                "with the pose VAE's statistics (model.pose_vae.normalize or a PoseNormalizer)"
            )
        if int(lengths.max()) > self.config.max_frames:
            raise ValueError(f"pose_mask marks more than max_frames={self.config.max_frames} frames")
        return pose_mask

    # ---- the forward pass ----
    def ratio_to_lengths(self, length_ratio: torch.Tensor) -> torch.LongTensor:
        """T / T_max ratios -> frame counts `clamp(round(ratio * T_max), 1, T_max)`."""
        lengths = torch.round(length_ratio * self.config.max_frames).long()
        return lengths.clamp(min=1, max=self.config.max_frames)

    def frame_mask(self, lengths: torch.Tensor, frames: int | None = None) -> torch.BoolTensor:
        """(batch, frames) mask, True for the frames before each sequence's length (`frames`: `max_frames`)."""
        frames = self.config.max_frames if frames is None else frames
        return torch.arange(frames, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)

    def _decode_within_lengths(
        self, memory: torch.Tensor, attention_mask: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The decoder and the PGM over the frames before each length only (`mask_frames_beyond_length`).

        The decoder runs on the first `max(lengths)` queries with the frames past each sequence's length masked out
        of its self-attention, so a kept frame's value is the same as in a pass over all `max_frames` queries with the
        same mask; the PGM decodes only the kept frames. Returns `(latents, poses)` padded with zeros to `max_frames`
        frames (the frames past each length are zero in both).
        """
        batch = memory.shape[0]
        frames = int(lengths.max())
        keep = self.frame_mask(lengths, frames)
        hidden = self.decoder(
            tgt=self.queries(batch)[:, :frames].to(memory.dtype),
            memory=memory,
            # no mask when every sequence reaches the cut (one sentence, equal lengths): attention without a mask
            # takes the fused kernel
            tgt_key_padding_mask=None if bool(keep.all()) else ~keep,
            memory_key_padding_mask=~attention_mask.bool(),
        )
        latents = self.latent_projection(hidden) * keep.unsqueeze(-1).to(hidden.dtype)
        vae = self.config.pose_vae
        kept_poses = self.pose_vae.decode(latents[keep])
        poses = kept_poses.new_zeros(batch, frames, vae.num_joints, vae.joint_dim).index_put(
            (keep,), kept_poses
        )
        padding = self.config.max_frames - frames
        if padding:
            latents = F.pad(latents, (0, 0, 0, padding))
            poses = F.pad(poses, (0, 0, 0, 0, 0, padding))
        return latents, poses

    def forward(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.LongTensor | None = None,
        pose_labels: torch.FloatTensor | None = None,
        pose_mask: torch.Tensor | None = None,
        return_dict: bool | None = None,
    ) -> NARSignProducerOutput | tuple:
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(batch, seq_len)`):
                Tokenised text for the BERT encoder ([CLS] first).
            attention_mask (`torch.Tensor` of shape `(batch, seq_len)`, *optional*):
                1 for real tokens.
            pose_labels (`torch.FloatTensor` of shape `(batch, T, J, K)`, *optional*):
                Target poses, normalised to [0, 1] with the pose VAE's statistics, T <= max_frames.
            pose_mask (`torch.Tensor` of shape `(batch, T)`, *optional*):
                1 for real frames, 0 for padding (bool, integer or float 0/1; any other value is refused); its row
                sums are the true lengths (real frames come first: with `config.mask_frames_beyond_length` the
                decoder's self-attention sees the first `length` frames of each sequence).
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        attention_mask = self._check_text(input_ids, attention_mask)
        if self.config.freeze_pose_vae and any(p.requires_grad for p in self.pose_vae.parameters()):
            self.freeze_pose_vae()
        batch = input_ids.shape[0]
        if pose_labels is not None:
            pose_mask = self._check_labels(pose_labels, pose_mask, batch)
            # padded frames hold anything (they are not checked): zero them, so a huge padded value cannot turn the
            # masked losses into NaN (inf * 0)
            pose_labels = pose_labels.masked_fill(~pose_mask.bool()[:, :, None, None], 0)

        # positions count from each text's first attended token, so left and right padding give the same states,
        # and the length regulator reads the [CLS] state wherever padding put it (the first attended position)
        attended = attention_mask.long()
        position_ids = (attended.cumsum(dim=1) - 1).clamp(min=0)
        encoder_states = self.text_encoder(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
        ).last_hidden_state
        cls_index = attended.argmax(dim=1)
        length_logits = self.length_regulator(
            encoder_states[torch.arange(batch, device=cls_index.device), cls_index]
        )
        length_ratio = torch.sigmoid(length_logits)

        memory = self.encoder_projection(encoder_states)
        if self.config.mask_frames_beyond_length:
            lengths = pose_mask.sum(dim=1) if pose_labels is not None else self.ratio_to_lengths(length_ratio)
            latents, poses = self._decode_within_lengths(memory, attention_mask, lengths)
        else:  # folders saved before mask_frames_beyond_length: every frame attends to all max_frames
            hidden = self.decoder(
                tgt=self.queries(batch).to(memory.dtype),
                memory=memory,
                memory_key_padding_mask=~attention_mask.bool(),
            )
            latents = self.latent_projection(hidden)
            poses = self.pose_vae.decode(latents)

        loss = pose_loss = distillation_loss = length_loss = None
        if pose_labels is not None:
            frames = pose_labels.shape[1]
            frame_mask = pose_mask.to(poses.dtype)
            num_real = frame_mask.sum()
            per_frame = F.mse_loss(poses[:, :frames], pose_labels.to(poses.dtype), reduction="none").mean(
                dim=(-2, -1)
            )
            pose_loss = (per_frame * frame_mask).sum() / num_real
            true_ratio = pose_mask.sum(dim=1).to(length_logits.dtype) / self.config.max_frames
            length_loss = F.binary_cross_entropy_with_logits(length_logits, true_ratio)
            loss = self.config.pose_loss_weight * pose_loss + self.config.length_loss_weight * length_loss
            if self.config.use_distillation:
                with torch.no_grad():
                    teacher = self.pose_vae.encode(pose_labels.to(poses.dtype))
                per_frame = F.mse_loss(latents[:, :frames], teacher, reduction="none").mean(dim=-1)
                distillation_loss = (per_frame * frame_mask).sum() / num_real
                loss = loss + self.config.distillation_loss_weight * distillation_loss

        output = NARSignProducerOutput(
            loss=loss,
            pose_loss=pose_loss,
            distillation_loss=distillation_loss,
            length_loss=length_loss,
            poses=poses,
            latents=latents,
            length_ratio=length_ratio,
            predicted_lengths=self.ratio_to_lengths(length_ratio),
            encoder_last_hidden_state=encoder_states,
        )
        return output if return_dict else output.to_tuple()

    @torch.no_grad()
    def generate_poses(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.LongTensor | None = None,
    ) -> NARSignProductionOutput:
        """Produce pose sequences for tokenised text: one forward pass, all frames in parallel.

        Switches the model to eval mode. Each sequence is cut at the regulator's length
        (`round(ratio * max_frames)`, at least 1); `poses` are denormalised to corpus coordinates
        with the pose VAE's statistics, frames beyond the length are 0 and `mask` marks the
        produced ones. With `config.mask_frames_beyond_length` (the default; folders saved before it existed load
        without it) the decoder runs only up to the longest length of the batch, each frame attending to the frames
        within its sequence's length, and the PGM decodes only the produced frames.

        Raises:
            MissingNormalizationError: the pose VAE has no normalisation statistics.
            TextInputError: empty text, text longer than the encoder's positions.
        """
        self.eval()
        if not self.config.pose_vae.has_normalization:
            raise MissingNormalizationError(
                "the producer's pose VAE has no normalisation statistics (config.pose_vae.normalization): "
                "cannot return poses in corpus coordinates"
            )
        output = self.forward(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
        lengths = output.predicted_lengths
        mask = self.frame_mask(lengths)
        poses = self.pose_vae.denormalize(output.poses) * mask[:, :, None, None].to(output.poses.dtype)
        return NARSignProductionOutput(
            poses=poses, lengths=lengths, mask=mask, length_ratio=output.length_ratio, latents=output.latents
        )


NARSignProducer.register_for_auto_class("AutoModel")

__all__ = [
    "LengthRegulator",
    "NARDecoderLayer",
    "NARSignProducer",
    "NARSignProducerOutput",
    "NARSignProducerPreTrainedModel",
    "NARSignProductionOutput",
    "PositionalQueries",
    "TextInputError",
    "sinusoidal_positions",
]
