"""Command-line and JSON-config arguments shared by every training and evaluation entry."""

from __future__ import annotations

import json
from collections.abc import Mapping
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


__all__ = ["json_object_argument"]
