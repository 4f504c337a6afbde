"""Short, bounded-cost ``repr`` for error messages that show values read from files.

A hostile or broken file can put anything where a scalar belongs: a string of megabytes, an
integer of a million digits (whose ``repr`` raises in Python >= 3.11), a list nested a thousand
levels deep or sharing one leaf 10**8 times. ``repr`` of such a value can take seconds and
gigabytes; :func:`short_repr` looks at a bounded part of it (a few items per level, a few levels)
and always returns at most ``limit`` characters.
"""

from __future__ import annotations

import reprlib
from typing import Any

__all__ = ["short_repr", "short_text"]

_SMALL_INT_BITS = 256


class _ShortRepr(reprlib.Repr):
    def __init__(self, limit: int):
        super().__init__()
        self.maxlevel = 3
        self.maxtuple = self.maxlist = self.maxarray = self.maxset = self.maxfrozenset = self.maxdeque = 6
        self.maxdict = 4
        self.maxstring = self.maxlong = self.maxother = limit

    def repr1(self, x, level):
        # reprlib dispatches on the type's name, so subclasses (OrderedDict, ...) would fall back
        # to the full builtin repr: send them to the bounded container reprs instead.
        if type(x) not in (dict, list, tuple, set, frozenset):
            for base in (dict, list, tuple):
                if isinstance(x, base):
                    return getattr(self, f"repr_{base.__name__}")(x, level)
        if isinstance(x, (str, bytes, bytearray)):
            return _short_bytes_or_str(x, self.maxstring)
        if isinstance(x, int) and not isinstance(x, bool) and abs(x).bit_length() > _SMALL_INT_BITS:
            return f"<int of {abs(x).bit_length()} bits>"
        shape = getattr(x, "shape", None)
        dtype = getattr(x, "dtype", None)
        if shape is not None and dtype is not None and type(x).__module__.split(".")[0] in ("numpy", "torch"):
            return f"<{type(x).__name__} shape={tuple(shape)!r} dtype={dtype}>"
        return super().repr1(x, level)


def _short_bytes_or_str(x, limit: int) -> str:
    text = repr(x[: limit + 1])  # slicing first bounds the cost
    if len(x) > limit:
        text = text[: limit - 3] + "..."
    return text


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to at most ``limit`` characters, at a cost bounded whatever ``value`` is.

    Containers show a few items per level and a few levels (``[[[...], ...], ...]``), strings and
    bytes their first characters, huge integers their size, arrays their shape and dtype. Never
    raises: a value whose ``repr`` fails shows as ``<TypeName object>``.
    """
    limit = max(int(limit), 8)
    try:
        text = _ShortRepr(limit).repr(value)
    except Exception:  # noqa: BLE001 - a message helper must not raise
        text = f"<{type(value).__name__} object>"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def short_text(text: Any, limit: int = 200) -> str:
    """``str(text)`` cut to at most ``limit`` characters (for exception texts inside messages).

    An exception whose arguments are not all strings shows them through :func:`short_repr`.
    """
    try:
        if isinstance(text, BaseException) and not all(isinstance(a, str) for a in text.args):
            text = ", ".join(short_repr(a, limit) for a in text.args[:4])  # KeyError(<huge key>) & co.
        text = text if isinstance(text, str) else str(text)
    except Exception:  # noqa: BLE001
        return f"<{type(text).__name__} object>"
    limit = max(int(limit), 8)
    return text if len(text) <= limit else text[: limit - 3] + "..."
