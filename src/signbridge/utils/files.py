"""Atomic file writing: a failed write leaves the old file (or no file) in place, never a partial one.

:func:`atomic_write` opens a temporary file in the target's folder (same file system, so the final
:func:`os.replace` is atomic), yields it, and on success flushes, fsyncs and renames it over the
target. If the body raises (a full disk, a writer bug, Ctrl-C), the temporary file is removed and the
target is untouched. The new file gets the old file's permission bits, or those a plain ``open``
would give (``0o666`` less the umask) when there was no old file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write"]


def _default_mode() -> int:
    """``0o666`` less the process umask (what ``open(path, "w")`` would create)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", **open_kwargs: Any) -> Iterator[IO]:
    """Write ``path`` through a temporary file in the same folder, renamed over ``path`` on success.

    Args:
        path: the file to (re)write; its folder must exist.
        mode: a write mode, ``"wb"`` (default) or ``"w"`` (text; ``open_kwargs`` such as
            ``encoding`` and ``newline`` are passed on).

    Raises whatever the body or the file system raises (e.g. ``PermissionError`` for a read-only
    folder, ``IsADirectoryError`` when ``path`` is a folder); the old file is then unchanged and no
    temporary file remains.
    """
    if mode not in ("w", "wb", "wt"):
        raise ValueError(f"atomic_write: mode must be 'w', 'wt' or 'wb', got {mode!r}")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a file")
    try:
        file_mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        file_mode = _default_mode()
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:  # name the file the caller asked for, not the temporary one
        raise type(exc)(exc.errno, f"{exc.strerror} (creating a file in {path.parent})", str(path)) from exc
    try:
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp_name, file_mode)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
