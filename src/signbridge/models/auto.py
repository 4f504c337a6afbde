"""transformers' Auto classes with every signbridge model registered (what ``from signbridge import AutoModel``
gives): importing this module registers the four models, their processors and pipelines, then re-exports the classes
themselves; and :func:`pipeline`, transformers' ``pipeline`` with signbridge's own pipeline classes."""

from transformers import (
    AutoConfig,
    AutoFeatureExtractor,
    AutoModel,
    AutoModelForSeq2SeqLM,
    AutoProcessor,
    AutoTokenizer,
)

from .auto_registration import PIPELINE_TASKS, register_auto_classes

register_auto_classes()


def pipeline(task: str, model=None, **kwargs):
    """``transformers.pipeline(task, model, **kwargs)``; for signbridge's tasks (``"sign-language-translation"``,
    ``"sign-language-production"``) with signbridge's own pipeline class, so a saved folder (which declares its
    pipeline as remote code in ``custom_pipelines``) needs no ``trust_remote_code``.

    Example::

        translator = signbridge.pipeline("sign-language-translation", model="runs/cvslt/model")
        translator("sign.pose")          # {"translation_text": "..."}
    """
    from transformers import pipeline as transformers_pipeline
    from transformers.pipelines import PIPELINE_REGISTRY

    if task in PIPELINE_TASKS and kwargs.get("pipeline_class") is None:
        kwargs["pipeline_class"] = PIPELINE_REGISTRY.supported_tasks[task]["impl"]
    return transformers_pipeline(task, model=model, **kwargs)


__all__ = [
    "AutoConfig",
    "AutoFeatureExtractor",
    "AutoModel",
    "AutoModelForSeq2SeqLM",
    "AutoProcessor",
    "AutoTokenizer",
    "pipeline",
]
