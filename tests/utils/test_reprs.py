"""short_repr / short_text: bounded length and bounded cost whatever the value."""

import time
from collections import OrderedDict

import numpy as np
import pytest

from signbridge.utils.reprs import short_repr, short_text


def _shared_nest(levels, width=10):
    value = [0]
    for _ in range(levels):
        value = [value] * width
    return value


@pytest.mark.parametrize(
    "value",
    [
        "x" * 1_000_000,
        b"\xff" * 1_000_000,
        10**100_000,  # repr() raises in Python >= 3.11 (int digit limit)
        _shared_nest(8),  # 10**8 shared leaves: repr() takes many seconds and gigabytes
        OrderedDict((i, [i] * 1000) for i in range(10_000)),  # a dict subclass, not reprlib's dict
        np.zeros((1000, 1000)),
        {("k" * 10_000,): "v" * 10_000},
    ],
    ids=["str", "bytes", "huge_int", "shared_nest", "ordered_dict", "array", "dict"],
)
def test_bounded(value):
    start = time.perf_counter()
    text = short_repr(value)
    assert len(text) <= 80
    assert time.perf_counter() - start < 0.5


def test_small_values_are_their_repr():
    for value in (3, -2.5, None, "abc", b"ab", [1, 2], {"a": 1}, (1,)):
        assert short_repr(value) == repr(value)
    assert short_repr(np.zeros((2, 3), np.float32)) == "<ndarray shape=(2, 3) dtype=float32>"
    assert short_repr("x" * 200, limit=20) == repr("x" * 200)[:17] + "..."


def test_recursive_and_failing_repr():
    r = []
    r.append(r)
    assert short_repr(r).startswith("[[")

    class Bad:
        def __repr__(self):
            raise RuntimeError("no")

    assert short_repr(Bad()).startswith("<Bad ")


def test_short_text():
    assert short_text("abc") == "abc"
    assert len(short_text("y" * 10_000, 50)) == 50
    assert len(short_text(KeyError(_shared_nest(8)))) <= 200
