"""What the demo shows of its training jobs: one tqdm bar per job and the lines the jobs report.

The jobs send ``(kind, job, value)`` events (those of
:class:`~signbridge.training.callbacks.ProgressEventsCallback`, plus ``"start"``, ``"done"`` with the
job's timing and ``"say"`` with a line to show); :class:`JobProgress` receives them in the parent
process, from :func:`~signbridge.demo.pool.run_jobs_side_by_side`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class JobProgress:
    """Receives the jobs' events: one tqdm bar per job (steps, last loss) and their report lines."""

    def __init__(self, titles: dict[str, str], say: Callable[[str], None], progress: bool):
        self.titles = titles
        self.say = say
        self.progress = progress
        self.bars: dict[str, Any] = {}
        self.positions = {job: i for i, job in enumerate(titles)}

    def put(self, event: tuple) -> None:
        from tqdm.auto import tqdm

        kind, job, value = event
        bar = self.bars.get(job)
        if kind == "say":
            (tqdm.write if self.bars and self.say is print else self.say)(value)
        elif kind == "total" and self.progress:
            self.bars[job] = tqdm(
                total=value,
                desc=f"{self.titles[job]:<32}",
                unit="step",
                position=self.positions[job],
                leave=True,
                dynamic_ncols=True,
            )
        elif kind == "step" and bar is not None:
            bar.update(value - bar.n)
        elif kind == "loss" and bar is not None:
            bar.set_postfix_str(f"loss {value:.3f}")
        elif kind == "trained" and bar is not None and job == "cvslt":
            bar.set_postfix_str("translating dev and test")
        elif kind == "done":
            if bar is not None:
                bar.close()
            line = f"   {self.titles[job]}: trained in {value['wall_s']:.0f} s ({value['cpu_s']:.0f} s CPU)"
            (tqdm.write if self.bars and self.say is print else self.say)(line)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


__all__ = ["JobProgress"]
