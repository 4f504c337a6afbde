"""Run independent jobs side by side in worker processes, with their progress coming back as events.

:func:`run_jobs_side_by_side` is a small general utility (it knows nothing of models): each job
reports progress by putting events on a queue, and the parent hands every event to one callback,
so the parent alone draws progress bars and prints lines while the workers compute. The demo runs
its five trainings after the pose VAE this way, one single-threaded worker per CPU core.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

#: a job: ``(fn, args)``, run as ``fn(*args, events)``
Job = tuple[Callable[..., Any], tuple]


class _CallEvents:
    """The event queue of a job run in this process: ``put`` hands the event straight on."""

    def __init__(self, on_event: Callable[[Any], None]):
        self.put = on_event


def run_jobs_side_by_side(
    jobs: Mapping[str, Job], workers: int, on_event: Callable[[Any], None], *, poll_s: float = 0.5
) -> dict[str, Any]:
    """Run ``jobs`` ``workers`` at a time and return their results by name, in the order of ``jobs``.

    Args:
        jobs: ``{name: (fn, args)}``; each job runs as ``fn(*args, events)`` and reports progress
            with ``events.put(event)``.
        workers: how many jobs run at once. ``1`` (or less): here, in this process, one after
            another in order, with ``events.put`` calling ``on_event`` directly. More: each job in a
            spawned worker process (fork is unsafe once torch has started threads), so ``fn`` must
            be a top-level function of an importable module, and its arguments, result and events
            must pickle. A script that calls this needs multiprocessing's
            ``if __name__ == "__main__":`` guard.
        on_event: receives every event in this process, in the order each job sent them.
        poll_s: how long the parent waits for an event before it checks for finished jobs.

    Raises:
        The first error a job raises, here; the other workers are stopped at once. On success the
        pool is closed and joined, so no process or semaphore is left behind.
    """
    if workers <= 1:
        events = _CallEvents(on_event)
        return {name: fn(*args, events) for name, (fn, args) in jobs.items()}
    import multiprocessing
    import queue as queue_module

    results: dict[str, Any] = {}
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        events = manager.Queue()
        pool = context.Pool(processes=workers)
        finished = False
        try:
            pending = {name: pool.apply_async(fn, (*args, events)) for name, (fn, args) in jobs.items()}
            while pending:
                with contextlib.suppress(queue_module.Empty):
                    on_event(events.get(timeout=poll_s))
                for name in [n for n, r in pending.items() if r.ready()]:
                    results[name] = pending.pop(name).get()  # re-raises a job's error here
            while True:  # the last events
                try:
                    on_event(events.get_nowait())
                except queue_module.Empty:
                    break
            finished = True
        finally:
            if finished:
                pool.close()
            else:
                pool.terminate()  # a failed or interrupted job stops the others at once
            pool.join()
    return {name: results[name] for name in jobs}


__all__ = ["Job", "run_jobs_side_by_side"]
