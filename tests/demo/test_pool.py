"""signbridge.demo.pool.run_jobs_side_by_side: results in the jobs' order, events to the parent, errors re-raised."""

import os
import time

import pytest

from signbridge.demo.pool import run_jobs_side_by_side

# the jobs are top-level functions: the worker processes are spawned and import them from this module


def square_job(x: int, delay_s: float, events) -> dict:
    events.put(("start", x, os.getpid()))
    time.sleep(delay_s)
    events.put(("done", x, x * x))
    return {"x": x, "square": x * x, "pid": os.getpid()}


def failing_job(message: str, events) -> None:
    events.put(("start", message, None))
    raise ValueError(message)


@pytest.mark.parametrize("workers", [1, 2])
def test_results_come_back_in_the_jobs_order_with_every_event(workers):
    # the first job is the slowest: with two workers the others finish before it
    jobs = {f"job{x}": (square_job, (x, 1.0 if x == 0 else 0.0)) for x in range(4)}
    events: list[tuple] = []
    results = run_jobs_side_by_side(jobs, workers, events.append, poll_s=0.05)
    assert list(results) == list(jobs)
    assert [r["square"] for r in results.values()] == [0, 1, 4, 9]
    pids = {r["pid"] for r in results.values()}
    assert (pids == {os.getpid()}) if workers == 1 else (os.getpid() not in pids)
    # every event reached the parent, each job's in the order it sent them
    assert sorted(events, key=str) == sorted(
        [("start", x, r["pid"]) for x, r in enumerate(results.values())]
        + [("done", x, x * x) for x in range(4)],
        key=str,
    )
    for x in range(4):
        assert [kind for kind, job, _ in events if job == x] == ["start", "done"]
    if workers == 1:  # here, one after another in order
        assert [job for kind, job, _ in events if kind == "start"] == [0, 1, 2, 3]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_job_raises_its_error_here(workers):
    jobs = {"fine": (square_job, (3, 0.0)), "broken": (failing_job, ("the job broke",))}
    events: list[tuple] = []
    with pytest.raises(ValueError, match="the job broke"):
        run_jobs_side_by_side(jobs, workers, events.append, poll_s=0.05)
