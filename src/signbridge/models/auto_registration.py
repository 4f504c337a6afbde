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


def register_preprocessors(config_class, processor_class, feature_extractor_classes) -> None:
    """Make ``AutoProcessor`` / ``AutoFeatureExtractor`` find a model's processor and feature extractors by the class
    names their saved configs hold (``processor_class``, ``feature_extractor_type``), without remote code
    (idempotent). ``AutoFeatureExtractor`` finds a class by name only among the values of its mapping, which is keyed
    by config class: the first feature extractor goes under ``config_class``, each further one under a marker
    subclass of it (never registered with ``AutoConfig``)."""
    import transformers
    from transformers.models.auto.feature_extraction_auto import FEATURE_EXTRACTOR_MAPPING

    transformers.AutoProcessor.register(config_class, processor_class, exist_ok=True)
    first, *others = feature_extractor_classes
    transformers.AutoFeatureExtractor.register(config_class, first, exist_ok=True)
    for extractor in others:
        key = _MARKERS.get(extractor)
        if key is None:
            key = _MARKERS[extractor] = type(
                f"_{extractor.__name__}Key", (config_class,), {"__doc__": "registration key only"}
            )
        FEATURE_EXTRACTOR_MAPPING.register(key, extractor, exist_ok=True)


_MARKERS: dict[type, type] = {}

#: pipeline task -> (model subpackage, Auto class of its model); each subpackage registers its pipeline on import
PIPELINE_TASKS: dict[str, tuple[str, str]] = {
    "sign-language-translation": ("signbridge.models.cvslt", "AutoModelForSeq2SeqLM"),
    "sign-language-production": ("signbridge.models.nar_slp", "AutoModel"),
}


def register_pipeline(task: str, pipeline_class) -> None:
    """Register ``pipeline_class`` for ``task`` with transformers' ``PIPELINE_REGISTRY`` (idempotent), with the Auto
    class of :data:`PIPELINE_TASKS`, so ``transformers.pipeline(task, model=model_object, ...)`` finds it."""
    import transformers
    from transformers.pipelines import PIPELINE_REGISTRY

    known = PIPELINE_REGISTRY.supported_tasks.get(task)
    if known is not None and known.get("impl") is pipeline_class:
        return
    PIPELINE_REGISTRY.register_pipeline(
        task,
        pipeline_class=pipeline_class,
        pt_model=getattr(transformers, PIPELINE_TASKS[task][1]),
        type="multimodal",
    )


def custom_pipeline_entry(task: str, pipeline_class) -> dict:
    """The ``custom_pipelines`` entry of a saved ``config.json`` for ``task`` (what ``Pipeline.save_pretrained``
    writes): the class as ``module.Class`` of the folder's own file, and its Auto class."""
    module = pipeline_class.__module__.rsplit(".", 1)[-1]
    return {
        "impl": f"{module}.{pipeline_class.__name__}",
        "pt": [PIPELINE_TASKS[task][1]],
        "type": "multimodal",
    }


def register_auto_classes() -> None:
    """Register every signbridge model with the transformers Auto classes (importing the model subpackages)."""
    for subpackage in MODEL_SUBPACKAGES:
        importlib.import_module(subpackage)


__all__ = [
    "MODEL_SUBPACKAGES",
    "PIPELINE_TASKS",
    "custom_pipeline_entry",
    "register",
    "register_auto_classes",
    "register_pipeline",
    "register_preprocessors",
]
