"""All optional-dependency checks of signbridge in one place."""

from __future__ import annotations

import importlib.util
from functools import cache

__all__ = [
    "is_pose_format_available",
    "require_pose_format",
    "is_pil_available",
    "require_pil",
    "is_psutil_available",
    "is_evaluate_available",
    "require_evaluate",
    "is_video_available",
    "require_video",
    "is_matplotlib_available",
    "require_matplotlib",
]


@cache
def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def is_pose_format_available() -> bool:
    """True when the ``pose-format`` package (``import pose_format``) is installed."""
    return _available("pose_format")


def is_pil_available() -> bool:
    """True when Pillow is installed (needed to render pose GIFs)."""
    return _available("PIL")


def is_psutil_available() -> bool:
    """True when psutil is installed (used by the benchmarks for memory numbers when present)."""
    return _available("psutil")


def require_pose_format(feature: str = "reading and writing .pose files") -> None:
    """Raise an ``ImportError`` with the install command when pose-format is missing."""
    if not is_pose_format_available():
        raise ImportError(
            f"{feature} needs pose-format: pip install 'signbridge[pose]' (or pip install pose-format)"
        )


def require_pil(feature: str = "rendering poses") -> None:
    """Raise an ``ImportError`` with the install command when Pillow is missing."""
    if not is_pil_available():
        raise ImportError(f"{feature} needs Pillow: pip install 'signbridge[pose]' (or pip install pillow)")


def is_evaluate_available() -> bool:
    """True when the ``evaluate`` package is installed (the FGD metric is an ``evaluate.Metric``)."""
    return _available("evaluate")


def require_evaluate(feature: str = "the FGD metric") -> None:
    """Raise an ``ImportError`` with the install command when evaluate is missing."""
    if not is_evaluate_available():
        raise ImportError(
            f"{feature} needs evaluate: pip install 'signbridge[metrics]' (or pip install evaluate)"
        )


def is_video_available() -> bool:
    """True when the ``video`` extra is installed: MediaPipe (its Holistic solution), OpenCV and pose-format."""
    return _available("mediapipe") and _available("cv2") and _available("pose_format")


def require_video(feature: str = "extracting poses from a video") -> None:
    """Raise an ``ImportError`` with the install command when MediaPipe, OpenCV or pose-format is missing."""
    if not is_video_available():
        missing = [
            name
            for name, module in (
                ("mediapipe", "mediapipe"),
                ("opencv", "cv2"),
                ("pose-format", "pose_format"),
            )
            if not _available(module)
        ]
        raise ImportError(
            f"{feature} needs {', '.join(missing)}: pip install 'signbridge[video]' (MediaPipe Holistic, "
            "OpenCV and pose-format)"
        )


def is_matplotlib_available() -> bool:
    """True when matplotlib is installed (the experiment runner's and the modality-gap figures)."""
    return _available("matplotlib")


def require_matplotlib(feature: str = "drawing figures"):
    """Return ``matplotlib.pyplot`` on the non-interactive Agg backend, or raise an ``ImportError`` with the
    install command when matplotlib is missing."""
    if not is_matplotlib_available():
        raise ImportError(
            f"{feature} needs matplotlib: pip install 'signbridge[plots]' (or pip install matplotlib)"
        )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
