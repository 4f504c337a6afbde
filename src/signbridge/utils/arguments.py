"""Command-line and JSON-config arguments shared by every training and evaluation entry."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def json_object_argument(value: Any, name: str) -> dict:
    """A dict-valued command-line/JSON-config argument: a dict, a JSON object string, or None (-> {})."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise ValueError(f"{name} must be a JSON object, got {value!r}: {err}") from err
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a JSON object / dict, got {type(value).__name__}")
    return dict(value)


def _flag_value(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def parse_config_and_flags(dataclass_types: Sequence[type], argv: Sequence[str] | None = None) -> tuple:
    """Parse ``[CONFIG.json] [--key value ...]`` into instances of ``dataclass_types`` (transformers'
    ``HfArgumentParser``): the one way every ``scripts/*.py`` reads its arguments.

    The JSON object's keys are fields of the dataclasses; they become the defaults, and ``--key value`` flags after
    the file override single keys (``train_cvslt.py configs/cvslt_synthetic.json --use_latent false``). Keys that
    start with ``_`` (``"_comment"``) are ignored, unknown keys are refused, ``null`` values keep the field's default,
    objects are passed on as JSON text, lists item by item (list fields), booleans as ``true``/``false``.

    When one of the dataclasses is a ``TrainingArguments`` and the script was launched on several processes
    (``torchrun``, ``accelerate launch``) on a machine without a GPU, CPU DDP is turned on first
    (:func:`signbridge.utils.distributed.enable_cpu_distributed`).
    """
    from transformers import HfArgumentParser, TrainingArguments

    if any(isinstance(t, type) and issubclass(t, TrainingArguments) for t in dataclass_types):
        from signbridge.utils.distributed import enable_cpu_distributed

        enable_cpu_distributed()

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = HfArgumentParser(tuple(dataclass_types))
    if argv and argv[0].endswith(".json"):
        path = Path(argv[0])
        if not path.is_file():
            raise ValueError(f"config file {path} does not exist")
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path} is not valid JSON: {err}") from err
        if not isinstance(config, dict):
            raise ValueError(f"{path}: expected a JSON object, got {type(config).__name__}")
        config = {k: v for k, v in config.items() if not k.startswith("_")}
        known = {
            name for dataclass_type in parser.dataclass_types for name in dataclass_type.__dataclass_fields__
        }
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(f"{path}: unknown keys {unknown}")
        flags = []
        for key, value in config.items():
            if value is None:
                continue
            if isinstance(value, list):  # a list field takes its items after one flag
                flags += [f"--{key}", *(_flag_value(item) for item in value)]
            else:
                flags += [f"--{key}", _flag_value(value)]
        argv = flags + argv[1:]
    return tuple(parser.parse_args_into_dataclasses(args=argv))


__all__ = ["json_object_argument", "parse_config_and_flags"]
