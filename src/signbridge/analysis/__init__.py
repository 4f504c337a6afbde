"""Analyses of trained models: the modality gap of a sign translation model (:mod:`.modality`) and decoding from CV-SLT's posterior path (:mod:`.posterior`).

Names load on first use (this package imports torch through its modules, ``import signbridge`` must not).
"""

from __future__ import annotations

from ..utils.lazy import lazy_exports

_LAZY_NAMES: dict[str, str] = {
    "ModalityGap": "modality",
    "ModalityGapCallback": "modality",
    "modality_gap": "modality",
    "plot_modality_projection": "modality",
    "pooled_distances": "modality",
    "project_2d": "modality",
    "sentence_representations": "modality",
    "posterior_encoder_outputs": "posterior",
    "posterior_generate": "posterior",
}

__getattr__, __dir__ = lazy_exports(
    __name__, globals(), {name: f"{__name__}.{module}" for name, module in _LAZY_NAMES.items()}
)

__all__ = list(_LAZY_NAMES)
