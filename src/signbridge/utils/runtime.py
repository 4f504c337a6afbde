"""Small run-time helpers shared by training, evaluation, the demo and the scripts: progress reports, CPU time, and the
results file and printout of a run."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from transformers.utils import logging

from .files import atomic_write

logger = logging.get_logger("signbridge")

#: A callable that receives one-line progress summaries (``print``, a logger method, ...).
Report = Callable[[str], None]


def say(report: Report | None) -> Report:
    """``report`` itself, or the package logger's ``info`` when it is None."""
    return report if report is not None else logger.info


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (children included)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def write_results(
    results: Mapping[str, Any], output_dir: str | os.PathLike, name: str = "results.json"
) -> Path:
    """Write a script's results as indented JSON into ``output_dir`` (created if needed); returns the path."""
    path = Path(output_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w", encoding="utf-8") as f:  # a failed write keeps the old results
        f.write(json.dumps(results, indent=2))
    return path


def print_results(results: Any) -> None:
    """Print a script's final results as indented JSON, on the main process only.

    Under ``torchrun`` / ``accelerate launch`` every process runs the script to its end; the results are
    the same on each (the main process wrote them), so only rank 0 prints them, once.
    """
    from .distributed import is_main_process

    if is_main_process():
        print(json.dumps(results, indent=2), flush=True)


__all__ = ["Report", "cpu_seconds", "print_results", "say", "write_results"]
