"""Small shared helpers (optional-dependency checks)."""

from .import_utils import (
    is_pil_available,
    is_pose_format_available,
    is_psutil_available,
    require_pil,
    require_pose_format,
)

__all__ = [
    "is_pil_available",
    "is_pose_format_available",
    "is_psutil_available",
    "require_pil",
    "require_pose_format",
]
