# Copied from signbridge.models.strict_loading (whole file): do not edit here; edit the source,
# then run `python utils/check_copies.py --fix_and_overwrite`.
"""Checks shared by the signbridge model folders. Strict `from_pretrained`: a folder of another model type, or
weights missing from or left over in the checkpoint, raise `ValueError` instead of loading a partly random model
with only a logged warning. And `check_number_fields`, which the configs use to name a field given a non-number.

Each model folder carries a whole-file copy of this module (``strict_loading.py``), because saved folders load by
remote code without signbridge: it imports only the standard library. A model's `from_pretrained` calls
[`strict_from_pretrained`] with transformers' own `from_pretrained`; the caller opts out with ``strict=False``
(transformers' behaviour: missing weights start from their initialisation, unexpected ones are dropped, both with a
logged warning, and the config of another model type is read as this model's).
"""

from __future__ import annotations

import numbers
import os

#: signbridge model types -> the class that loads them (named in the error for a folder of another type)
SIGNBRIDGE_MODEL_CLASSES = {
    "cvslt": "CVSLTForConditionalGeneration",
    "nar_slp": "NARSignProducer",
    "pose_vae": "PoseVAEModel",
    "pose_autoencoder": "PoseAutoencoderModel",
}

# the keywords of `from_pretrained` that say where the config file is
_DOWNLOAD_KEYWORDS = (
    "cache_dir",
    "force_download",
    "proxies",
    "local_files_only",
    "token",
    "revision",
    "subfolder",
)
_SHOWN_KEYS = 5


def _describe(model_type: str) -> str:
    loader = SIGNBRIDGE_MODEL_CLASSES.get(model_type)
    return f"a {model_type!r} model" + (f" ({loader})" if loader else "")


def check_model_type(cls, pretrained_model_name_or_path, kwargs: dict) -> None:
    """Raise `ValueError` when the config that `cls.from_pretrained(pretrained_model_name_or_path, **kwargs)` would
    read (the `config` keyword, or the folder's config.json) has another `model_type` than `cls.config_class`'s.
    A config without `model_type` is accepted. Called before anything is built."""
    expected = cls.config_class.model_type
    config = kwargs.get("config")
    if config is None or isinstance(config, (str, os.PathLike)):
        source = pretrained_model_name_or_path if config is None else config
        if source is None or kwargs.get("gguf_file") is not None:
            return
        download = {key: kwargs[key] for key in _DOWNLOAD_KEYWORDS if key in kwargs}
        config_dict, _ = cls.config_class.get_config_dict(source, **download)
        found = config_dict.get("model_type")
        where = f"{os.fspath(source)!s}"
    else:
        found = getattr(config, "model_type", None)
        where = f"the config passed ({type(config).__name__})"
    if found and found != expected:
        raise ValueError(
            f"{where} holds {_describe(found)}, not {_describe(expected)}: load it with its own class (or "
            f"AutoModel), or pass strict=False to read it as {cls.__name__} anyway"
        )


def _keys(keys) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:_SHOWN_KEYS])
    return shown + (f", ... ({len(keys)} in all)" if len(keys) > _SHOWN_KEYS else "")


def check_loading_info(cls, pretrained_model_name_or_path, info: dict) -> None:
    """Raise `ValueError` naming (up to a few of) the weights the checkpoint lacks or has in excess. transformers'
    `info` already leaves out the keys the model allows to be missing (`_keys_to_ignore_on_load_missing`, tied
    weights)."""
    problems = []
    if info.get("missing_keys"):
        problems.append(
            f"missing from the checkpoint (they would start random): {_keys(info['missing_keys'])}"
        )
    if info.get("unexpected_keys"):
        problems.append(f"in the checkpoint but not in the model: {_keys(info['unexpected_keys'])}")
    if problems:
        where = (
            "the state_dict given" if pretrained_model_name_or_path is None else pretrained_model_name_or_path
        )
        raise ValueError(
            f"{where} does not fit {cls.__name__}: weights "
            + "; weights ".join(problems)
            + ". Pass strict=False "
            "to load it anyway (missing weights keep their initialisation, unexpected ones are dropped)"
        )


def strict_from_pretrained(
    cls, load, pretrained_model_name_or_path, model_args, kwargs: dict, strict: bool = True
):
    """`load(pretrained_model_name_or_path, *model_args, **kwargs)` (transformers' `from_pretrained` of `cls`), with
    the checks of this module unless `strict` is False. The caller's `output_loading_info=True` is honoured."""
    if not strict:
        return load(pretrained_model_name_or_path, *model_args, **kwargs)
    check_model_type(cls, pretrained_model_name_or_path, kwargs)
    kwargs = dict(kwargs)
    output_loading_info = kwargs.pop("output_loading_info", False)
    model, info = load(pretrained_model_name_or_path, *model_args, output_loading_info=True, **kwargs)
    check_loading_info(cls, pretrained_model_name_or_path, info)
    return (model, info) if output_loading_info else model


def check_number_fields(config, ints=(), floats=(), optional=()) -> None:
    """Raise `ValueError` naming the field when a number field holds something else (a string, a list, a bool),
    before any comparison or layer constructor reads it. Float fields accept integers (3 for 3.0); integer fields do
    not accept floats; fields in `optional` may be None."""
    owner = type(config).__name__
    for name in ints:
        value = getattr(config, name)
        if value is None and name in optional:
            continue
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            raise ValueError(f"{owner}.{name} must be an integer, got {value!r:.80}")
    for name in floats:
        value = getattr(config, name)
        if value is None and name in optional:
            continue
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise ValueError(f"{owner}.{name} must be a number, got {value!r:.80}")


__all__ = [
    "SIGNBRIDGE_MODEL_CLASSES",
    "check_loading_info",
    "check_model_type",
    "check_number_fields",
    "strict_from_pretrained",
]
