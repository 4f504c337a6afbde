"""transformers' Auto classes with every signbridge model registered (what ``from signbridge import AutoModel``
gives): importing this module registers the four models, then re-exports the classes themselves."""

from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM

from .auto_registration import register_auto_classes

register_auto_classes()

__all__ = ["AutoConfig", "AutoModel", "AutoModelForSeq2SeqLM"]
