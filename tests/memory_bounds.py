"""A per-case memory bound for the readers' property tests and the bad-input matrix.

Python and numpy allocations are traced with :mod:`tracemalloc` (numpy reports its buffers to it), so the peak
of one case is measured on its own, whatever else the process holds. Timing is left to benchmarks: on a loaded
machine a time bound makes a property test flaky, a memory bound does not.
"""

import contextlib
import tracemalloc

#: the issue's bound per case (a tiny hostile file must not cost more)
MAX_CASE_BYTES = 200 * 2**20


@contextlib.contextmanager
def bounded_memory(limit: int = MAX_CASE_BYTES, what: str = "case"):
    """Fail when the block's peak of traced allocations exceeds ``limit`` bytes (the block's own exceptions pass)."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        yield
    finally:
        peak = tracemalloc.get_traced_memory()[1] - base
        if started:
            tracemalloc.stop()
        assert peak <= limit, f"{what} allocated {peak / 2**20:.1f} MiB, more than {limit / 2**20:.0f} MiB"


def peak_bytes(fn, *args, **kwargs) -> tuple[int, object]:
    """``(peak traced bytes, result or the exception raised)`` of one call."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - reported to the caller
        result = exc
    peak = tracemalloc.get_traced_memory()[1] - base
    if started:
        tracemalloc.stop()
    return peak, result
