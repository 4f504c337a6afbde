"""Registration of signbridge's models with transformers' Auto classes: written once, here.

Each model subpackage (``signbridge.models.cvslt``, ``.pose_vae``, ``.nar_slp``, ``.pose_autoencoder``) calls
:func:`register` for itself when it is imported, so the first use of a model through signbridge registers it:
``from signbridge import CVSLTForConditionalGeneration``, ``import signbridge.models.cvslt``, or one of the Auto
classes taken from signbridge (``from signbridge import AutoModel``, which registers all four). A bare
``import signbridge`` registers nothing (it imports neither torch nor transformers); call
:func:`register_auto_classes` (also ``signbridge.register_auto_classes``) to register everything explicitly.

Saved folders do not need any of this: they carry their code and an ``auto_map`` for ``trust_remote_code=True``.
"""

from __future__ import annotations

import importlib

#: model subpackage -> the Auto classes its model is registered with
MODEL_SUBPACKAGES: dict[str, tuple[str, ...]] = {
    "signbridge.models.cvslt": ("AutoModelForSeq2SeqLM", "AutoModel"),
    "signbridge.models.pose_vae": ("AutoModel",),
    "signbridge.models.nar_slp": ("AutoModel",),
    "signbridge.models.pose_autoencoder": ("AutoModel",),
}


def register(config_class, model_class, auto_class_names: tuple[str, ...]) -> None:
    """Register ``config_class`` with ``AutoConfig`` and ``model_class`` with each named Auto class (idempotent)."""
    import transformers

    transformers.AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
    for name in auto_class_names:
        getattr(transformers, name).register(config_class, model_class, exist_ok=True)


def register_auto_classes() -> None:
    """Register every signbridge model with the transformers Auto classes (importing the model subpackages)."""
    for subpackage in MODEL_SUBPACKAGES:
        importlib.import_module(subpackage)


__all__ = ["MODEL_SUBPACKAGES", "register", "register_auto_classes"]
