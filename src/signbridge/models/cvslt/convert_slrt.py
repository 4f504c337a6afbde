"""Weights of the SLRT / MMTLB checkpoints the CV-SLT paper initialises from, mapped onto CVSLTForConditionalGeneration.

The paper (and its public release, rzhao-zhsq/CV-SLT) starts PHOENIX14T training from two MMTLB checkpoints
(SLRT's TwoStreamNetwork "SingleStream" recipe):

- the **Sign2Gloss** checkpoint (`phoenix-2014t_s2g/ckpts/best.ckpt`): its `model_state` holds the visual head
  under `recognition_network.visual_head.` (`fc1`, `bn1.norm` (a SyncBatchNorm), `feedforward.layer_norm`,
  `feedforward.pwff_layer.0` / `.3` (the two convolutions), `layer_norm`, and the gloss classifier
  `gloss_output_layer`, which translation does not use);
- the **Gloss2Text** checkpoint (`phoenix-2014t_g2t/ckpts/best.ckpt`): its `model_state` holds an
  `MBartForConditionalGeneration` under `translation_network.model.` (with MMTLB's pruned German vocabulary,
  `pretrained_models/mBart_de`) and a gloss embedding `translation_network.gloss_embedding` (gloss input only).

A Sign2Text checkpoint of MMTLB or of the CV-SLT release also holds the visual-language mapper under
`vl_mapper.mapping.0` / `.2` (Linear -> ReLU -> Linear, the same layout as `visual_head.mapper`).

Reading the files is left to the caller (`torch.load(path, map_location="cpu", weights_only=True)["model_state"]`);
these functions only rename tensors, so nothing in a checkpoint runs here. Example::

    from transformers import MBartForConditionalGeneration
    from signbridge.models.cvslt import CVSLTForConditionalGeneration
    from signbridge.models.cvslt.convert_slrt import (
        convert_slrt_visual_head_state_dict, mmtlb_mbart_state_dict, vocab_id_map_from_prune_ids)

    mbart = MBartForConditionalGeneration.from_pretrained("pretrained_models/mBart_de")
    mbart.load_state_dict(mmtlb_mbart_state_dict(g2t_state))
    model = CVSLTForConditionalGeneration.from_mbart(
        mbart, feature_dim=832, tgt_lang_code_id=prune_ids[de_DE_id_in_cc25],
        vocab_id_map=vocab_id_map_from_prune_ids(prune_ids))   # prune_ids: MMTLB's map_ids.pkl (old id -> new id)
    missing, unexpected = model.load_state_dict(convert_slrt_visual_head_state_dict(s2g_state), strict=False)

The visual head must have `visual_pre_layer_norm=True` and `visual_layer_norm_eps=1e-6` (the defaults) for the
weights to mean what they meant in SLRT.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

SLRT_VISUAL_HEAD_PREFIX = "recognition_network.visual_head."
SLRT_MAPPER_PREFIX = "vl_mapper.mapping."
MMTLB_MBART_PREFIX = "translation_network.model."

# SLRT VisualHead key (after its prefix) -> CVSLTVisualHead key
_VISUAL_HEAD_KEYS = {
    "fc1.weight": "input_proj.weight",
    "fc1.bias": "input_proj.bias",
    "bn1.norm.weight": "batch_norm.weight",
    "bn1.norm.bias": "batch_norm.bias",
    "bn1.norm.running_mean": "batch_norm.running_mean",
    "bn1.norm.running_var": "batch_norm.running_var",
    "bn1.norm.num_batches_tracked": "batch_norm.num_batches_tracked",
    "feedforward.layer_norm.weight": "ffn_pre_layer_norm.weight",
    "feedforward.layer_norm.bias": "ffn_pre_layer_norm.bias",
    "feedforward.pwff_layer.0.weight": "ffn_conv1.weight",
    "feedforward.pwff_layer.0.bias": "ffn_conv1.bias",
    "feedforward.pwff_layer.3.weight": "ffn_conv2.weight",
    "feedforward.pwff_layer.3.bias": "ffn_conv2.bias",
    "layer_norm.weight": "ffn_layer_norm.weight",
    "layer_norm.bias": "ffn_layer_norm.bias",
}
# parts of SLRT's visual head that CV-SLT's translation does not use
_VISUAL_HEAD_UNUSED = ("gloss_output_layer.",)
_MAPPER_KEYS = {f"{i}.{p}": f"mapper.{i}.{p}" for i in (0, 2) for p in ("weight", "bias")}


def convert_slrt_visual_head_state_dict(
    state_dict: Mapping[str, torch.Tensor], prefix: str = "visual_head.", with_mapper: bool | None = None
) -> dict[str, torch.Tensor]:
    """Rename SLRT/MMTLB visual-head weights (and, when present, the VL mapper) to `CVSLTVisualHead` keys.

    Args:
        state_dict: a checkpoint's `model_state` (keys under `recognition_network.visual_head.` and optionally
            `vl_mapper.mapping.`), or the visual head's own state dict (keys such as `fc1.weight`).
        prefix: prepended to every returned key (`"visual_head."` gives keys of `CVSLTForConditionalGeneration`;
            `""` keys of `CVSLTVisualHead`).
        with_mapper: `None` converts the mapper when the checkpoint has one (Sign2Text checkpoints; a Sign2Gloss
            checkpoint has none and the mapper keeps its initialisation); `True` requires it.

    Every visual-head tensor is mapped 1:1; the gloss classifier (`gloss_output_layer`) is dropped. A checkpoint
    with parts this head does not have (extra convolutions of a longer `ff_kernelsize` list, `plus_conv`,
    `ssl_projection`) or without a part it needs raises `ValueError` naming the keys.
    """
    has_prefix = any(key.startswith(SLRT_VISUAL_HEAD_PREFIX) for key in state_dict)
    head = {
        (key[len(SLRT_VISUAL_HEAD_PREFIX) :] if has_prefix else key): value
        for key, value in state_dict.items()
        if (key.startswith(SLRT_VISUAL_HEAD_PREFIX) if has_prefix else not key.startswith(SLRT_MAPPER_PREFIX))
    }
    converted, unknown = {}, []
    for key, value in head.items():
        if key in _VISUAL_HEAD_KEYS:
            converted[prefix + _VISUAL_HEAD_KEYS[key]] = value
        elif not key.startswith(_VISUAL_HEAD_UNUSED):
            unknown.append(key)
    if unknown:
        raise ValueError(
            f"SLRT visual-head weights with no counterpart in CVSLTVisualHead: {sorted(unknown)}"
        )
    absent = sorted(k for k in _VISUAL_HEAD_KEYS if k != "bn1.norm.num_batches_tracked" and k not in head)
    if absent:
        raise ValueError(f"the checkpoint lacks SLRT visual-head weights: {absent}")

    mapper = {
        key[len(SLRT_MAPPER_PREFIX) :]: value
        for key, value in state_dict.items()
        if key.startswith(SLRT_MAPPER_PREFIX)
    }
    if with_mapper is True and not mapper:
        raise ValueError(
            "the checkpoint has no VL mapper (vl_mapper.mapping.*): a Sign2Gloss checkpoint has none"
        )
    if mapper and with_mapper is not False:
        if set(mapper) != set(_MAPPER_KEYS):
            raise ValueError(
                f"VL mapper keys {sorted(mapper)} are not the projection mapper's {sorted(_MAPPER_KEYS)} "
                "(the 'embedding' mapper type has no counterpart here)"
            )
        converted.update({prefix + _MAPPER_KEYS[key]: value for key, value in mapper.items()})
    return converted


def mmtlb_mbart_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The `MBartForConditionalGeneration` state dict inside an MMTLB Gloss2Text (or Sign2Text) checkpoint's
    `model_state`: the keys under `translation_network.model.` with that prefix removed. Load it into an mBART built
    from MMTLB's `mBart_de` folder (its config has the pruned vocabulary size), then call `from_mbart`."""
    out = {
        key[len(MMTLB_MBART_PREFIX) :]: value
        for key, value in state_dict.items()
        if key.startswith(MMTLB_MBART_PREFIX)
    }
    if not out:
        raise ValueError(f"no mBART weights (keys under {MMTLB_MBART_PREFIX!r}) in this checkpoint")
    return out


def vocab_id_map_from_prune_ids(prune_ids: Mapping[int, int]) -> list[int]:
    """`config.vocab_id_map` (entry i: original mbart-large-cc25 id of pruned token i) from MMTLB's `map_ids.pkl`
    (a dict original id -> pruned id), so `map_generated_ids_to_original` / `map_original_ids_to_pruned` work with
    the original cc25 tokenizer."""
    size = len(prune_ids)
    table = [-1] * size
    for old, new in prune_ids.items():
        if not 0 <= int(new) < size or table[int(new)] != -1:
            raise ValueError(f"prune ids are not a one-to-one map onto 0..{size - 1} (pruned id {new})")
        table[int(new)] = int(old)
    return table


__all__ = [
    "convert_slrt_visual_head_state_dict",
    "mmtlb_mbart_state_dict",
    "vocab_id_map_from_prune_ids",
]
