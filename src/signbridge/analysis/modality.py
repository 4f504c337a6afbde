"""The modality gap of a translation model: how far apart its shared encoder puts a sign video and its text.

Definition (following the CV-SLT paper, Sec. 1 with Fig. 1, and Sec. 4.4 "Is the modality gap
mitigated?" with Fig. 4 and Fig. 5, which use "the L2 distance of sentence-level representation
between sign language and text embedding" and plot "the sentence-level encoder output of two
modalities" layer by layer):

* the **sign representation** of a sentence at encoder layer ``l`` is the mean, over the sentence's
  valid sign steps (the appended ``</s>`` / language-code steps excluded), of the output of layer
  ``l`` of the shared mBART encoder run on the sign input alone (the prior path's encoder, before
  any latent fusion);
* the **text representation** is the mean, over the sentence's text tokens (``</s>``, the language
  code and padding excluded), of the output of layer ``l`` of the same encoder run on the text
  tokens alone (embedded with the shared embedding table, as the posterior path embeds them);
* the **gap** of a sentence is the Euclidean (L2) distance between the two, after scaling each to
  unit length when ``normalize=True`` (the default: models with larger activations are then not
  penalised, and the distance lies in [0, 2]); the model's gap at layer ``l`` is its mean over the
  sentences.

Layers are numbered 1..L (layer L is the encoder's final output, after its last layer norm); 0 is the
embedding input. The function works on any :class:`~signbridge.models.cvslt.CVSLTForConditionalGeneration`,
with or without the latent network (the plain-mBART twin).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import TrainerCallback

from ..utils.files import atomic_write

__all__ = [
    "ModalityGap",
    "ModalityGapCallback",
    "modality_gap",
    "pooled_distances",
    "project_2d",
    "plot_modality_projection",
    "sentence_representations",
]


@dataclass
class ModalityGap:
    """Sentence representations of the two modalities and their distances.

    Attributes:
        layers: the encoder layers measured (1..L).
        sign, text: (num_layers, num_sentences, d_model) sentence representations (as measured, not
            normalised).
        distances: (num_layers, num_sentences) per-sentence gaps.
        normalize: whether the distances were taken between unit-length vectors.
    """

    layers: list[int]
    sign: np.ndarray
    text: np.ndarray
    distances: np.ndarray
    normalize: bool = True

    @property
    def per_layer(self) -> dict[int, float]:
        """Mean gap per layer: ``{layer: mean distance}``."""
        return {layer: float(self.distances[i].mean()) for i, layer in enumerate(self.layers)}

    @property
    def gap(self) -> float:
        """The mean gap at the last layer measured (the encoder output by default)."""
        return float(self.distances[-1].mean())


def pooled_distances(sign: np.ndarray, text: np.ndarray, normalize: bool = True) -> np.ndarray:
    """Row-wise L2 distances between two (..., d) arrays of sentence vectors (unit-scaled first if ``normalize``)."""
    sign = np.asarray(sign, dtype=np.float64)
    text = np.asarray(text, dtype=np.float64)
    if sign.shape != text.shape:
        raise ValueError(f"sign and text representations differ in shape: {sign.shape} vs {text.shape}")
    if normalize:
        sign = sign / np.maximum(np.linalg.norm(sign, axis=-1, keepdims=True), 1e-12)
        text = text / np.maximum(np.linalg.norm(text, axis=-1, keepdims=True), 1e-12)
    return np.linalg.norm(sign - text, axis=-1)


def _masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def _text_mask(model, labels: torch.Tensor) -> torch.Tensor:
    config = model.config
    special = {config.eos_token_id, config.pad_token_id, getattr(config, "tgt_lang_code_id", None)}
    mask = labels >= 0
    for token in special - {None}:
        mask &= labels != token
    return mask


@torch.no_grad()
def sentence_representations(
    model,
    input_features: torch.Tensor,
    attention_mask: torch.Tensor,
    labels: torch.Tensor,
    layers: Sequence[int] | None = None,
) -> tuple[list[int], torch.Tensor, torch.Tensor]:
    """(layers, sign (num_layers, B, d), text (num_layers, B, d)) sentence representations of one batch.

    ``input_features``/``attention_mask`` are the sign input (B, T, F) / (B, T) and ``labels`` the
    target ids (B, L) as :class:`~signbridge.data.collators.SignTranslationCollator` makes them
    (``-100`` padding; ``</s>`` and the language code are left out of the text's mean). ``layers``:
    encoder layers 1..L to measure (default: all).
    """
    if input_features.dim() != 3 or attention_mask.shape != input_features.shape[:2]:
        raise ValueError(
            f"input_features must be (batch, time, features) with an attention_mask (batch, time); got "
            f"{tuple(input_features.shape)} and {tuple(attention_mask.shape)}"
        )
    if labels.dim() != 2 or labels.shape[0] != input_features.shape[0]:
        raise ValueError(
            f"labels must be (batch, length) for {input_features.shape[0]} sentences, got {tuple(labels.shape)}"
        )
    num_layers = model.config.encoder_layers
    layers = list(range(1, num_layers + 1)) if layers is None else [int(x) for x in layers]
    bad = [x for x in layers if not 1 <= x <= num_layers]
    if bad:
        raise ValueError(f"layers must lie in 1..{num_layers} (the encoder's layers), got {bad}")
    text_mask = _text_mask(model, labels)
    if not bool(text_mask.any(1).all()):
        raise ValueError(
            "every sentence needs at least one text token besides </s>, the language code and padding"
        )
    device = next(model.parameters()).device
    input_features, attention_mask = input_features.to(device), attention_mask.to(device).bool()
    labels, text_mask = labels.to(device), text_mask.to(device)
    was_training = model.training
    model.eval()
    try:
        embeds, mask = model.embed_sign(input_features, attention_mask)
        encoder = model.model.encoder
        sign_out = encoder(inputs_embeds=embeds, attention_mask=mask.long(), output_hidden_states=True)
        ids = labels.masked_fill(labels < 0, model.config.pad_token_id)
        text_in = labels >= 0
        text_out = encoder(
            inputs_embeds=model.model.shared(ids), attention_mask=text_in.long(), output_hidden_states=True
        )
    finally:
        model.train(was_training)
    # the sign mask without the appended tokens
    sign_mask = torch.zeros_like(mask)
    sign_mask[:, : attention_mask.shape[1]] = attention_mask
    sign = torch.stack([_masked_mean(sign_out.hidden_states[x], sign_mask) for x in layers])
    text = torch.stack([_masked_mean(text_out.hidden_states[x], text_mask) for x in layers])
    return layers, sign.float().cpu(), text.float().cpu()


def modality_gap(
    model,
    batches: Iterable[Mapping[str, torch.Tensor]],
    layers: Sequence[int] | None = None,
    normalize: bool = True,
) -> ModalityGap:
    """The modality gap of ``model`` over ``batches`` (see the module docstring for the definition).

    Args:
        model: a :class:`~signbridge.models.cvslt.CVSLTForConditionalGeneration` (CV-SLT or plain mBART).
        batches: collated batches with ``input_features``, ``attention_mask`` and ``labels`` (what
            :class:`~signbridge.data.collators.SignTranslationCollator` returns).
        layers: encoder layers 1..L to measure (default: all).
        normalize: unit-scale both representations before the distance.

    Example:
        >>> gap = modality_gap(model, [collator(dev_examples)])   # doctest: +SKIP
        >>> gap.per_layer                                       # doctest: +SKIP
        {1: 0.93, 2: 0.71}
    """
    signs, texts, measured = [], [], None
    for batch in batches:
        for key in ("input_features", "attention_mask", "labels"):
            if key not in batch:
                raise ValueError(f"a batch needs {key!r}; it has {sorted(batch)}")
        measured, sign, text = sentence_representations(
            model, batch["input_features"], batch["attention_mask"], batch["labels"], layers
        )
        signs.append(sign.numpy())
        texts.append(text.numpy())
    if measured is None:
        raise ValueError("modality_gap needs at least one batch")
    sign_all, text_all = np.concatenate(signs, axis=1), np.concatenate(texts, axis=1)
    return ModalityGap(
        measured, sign_all, text_all, pooled_distances(sign_all, text_all, normalize), normalize
    )


@dataclass
class ModalityGapCallback(TrainerCallback):
    """Tracks the modality gap over training: measured on fixed batches at every epoch end (and at the start).

    ``history`` gets ``{"step", "epoch", "gap", "per_layer"}`` per measurement; the gap is also added to
    the Trainer's logs as ``modality_gap``.

    Args:
        batches: collated batches (see :func:`modality_gap`), e.g. ``[collator(dev[:64])]``.
        examples: instead of ``batches``: raw examples (dataset rows) that the Trainer's own training
            collator turns into one batch when training begins (for callers that never see the collator,
            like :func:`signbridge.training.train_cvslt`'s).
        every_n_steps: measure every N optimizer steps as well (0: only at epoch ends).
        layers, normalize: as in :func:`modality_gap`.

    Attributes:
        last: the :class:`ModalityGap` of the latest measurement (its representations feed
            :func:`plot_modality_projection`).
    """

    batches: list = field(default_factory=list)
    examples: list | None = None
    every_n_steps: int = 0
    layers: Sequence[int] | None = None
    normalize: bool = True
    history: list[dict[str, Any]] = field(default_factory=list)
    last: ModalityGap | None = None

    def __post_init__(self):
        if not self.batches and not self.examples:
            raise ValueError("ModalityGapCallback needs at least one batch (or examples) to measure on")
        if self.every_n_steps < 0:
            raise ValueError(f"every_n_steps must be >= 0, got {self.every_n_steps}")

    def _measure(self, state, model) -> None:
        if model is None or (self.history and self.history[-1]["step"] == state.global_step):
            return
        gap = modality_gap(model, self.batches, self.layers, self.normalize)
        self.last = gap
        self.history.append(
            {
                "step": int(state.global_step),
                "epoch": float(state.epoch or 0.0),
                "gap": gap.gap,
                "per_layer": {str(k): v for k, v in gap.per_layer.items()},
            }
        )
        state.log_history.append({"modality_gap": gap.gap, "step": int(state.global_step)})

    def on_train_begin(self, args, state, control, model=None, train_dataloader=None, **kwargs):
        if not self.batches:
            collate = getattr(train_dataloader, "collate_fn", None)
            if collate is None:
                raise ValueError(
                    "ModalityGapCallback got examples but the Trainer passed no training collator"
                )
            self.batches = [collate(list(self.examples))]
        self._measure(state, model)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if self.every_n_steps and state.global_step % self.every_n_steps == 0:
            self._measure(state, model)

    def on_epoch_end(self, args, state, control, model=None, **kwargs):
        self._measure(state, model)


def project_2d(sign: np.ndarray, text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project both modalities' sentence vectors (N, d) onto the first two principal components of their union.

    PCA with numpy (centre the 2N vectors, SVD, keep two components; component signs fixed so that
    each component's largest-magnitude loading is positive, for reproducible plots). Returns the
    (N, 2) coordinates of the sign and of the text vectors.
    """
    sign, text = np.asarray(sign, dtype=np.float64), np.asarray(text, dtype=np.float64)
    if sign.ndim != 2 or sign.shape != text.shape:
        raise ValueError(f"sign and text must both be (N, d) of one shape, got {sign.shape} and {text.shape}")
    both = np.concatenate([sign, text])
    centred = both - both.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:2]
    flips = np.sign(components[np.arange(len(components)), np.abs(components).argmax(1)])
    components = components * flips[:, None]
    coords = centred @ components.T
    if coords.shape[1] < 2:  # fewer than two dimensions of variation
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    return coords[: len(sign)], coords[len(sign) :]


def plot_modality_projection(
    gaps: Mapping[str, ModalityGap], path: str | Path, layer: int | None = None
) -> Path:
    """A PNG of the 2-D projections (:func:`project_2d`) of the two modalities, one panel per model.

    ``gaps``: ``{title: ModalityGap}`` (e.g. CV-SLT and plain mBART); ``layer``: which measured layer
    (default: the last). Needs matplotlib.
    """
    from ..utils.import_utils import require_matplotlib

    plt = require_matplotlib()
    if not gaps:
        raise ValueError("plot_modality_projection needs at least one model's ModalityGap")
    fig, axes = plt.subplots(1, len(gaps), figsize=(4.2 * len(gaps), 4), squeeze=False)
    for ax, (title, gap) in zip(axes[0], gaps.items(), strict=True):
        index = -1 if layer is None else gap.layers.index(layer)
        sign_xy, text_xy = project_2d(gap.sign[index], gap.text[index])
        ax.scatter(sign_xy[:, 0], sign_xy[:, 1], s=8, alpha=0.7, label="sign")
        ax.scatter(text_xy[:, 0], text_xy[:, 1], s=8, alpha=0.7, marker="^", label="text")
        ax.set_title(f"{title}: layer {gap.layers[index]}, gap {gap.distances[index].mean():.3f}")
        ax.set_xlabel("PC 1")
        ax.set_ylabel("PC 2")
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:  # a failed write keeps an earlier figure
        fig.savefig(f, format=path.suffix.lstrip(".") or "png", dpi=110)
    plt.close(fig)
    return path
