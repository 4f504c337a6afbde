"""Small run-time helpers shared by training, evaluation and the demo: progress reports and CPU time."""

from __future__ import annotations

import os
from collections.abc import Callable

from transformers.utils import logging

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


__all__ = ["Report", "cpu_seconds", "say"]
