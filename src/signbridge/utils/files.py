"""Atomic file writing, and the entry points' checks of the paths they are given.

Atomic writing: a failed write leaves the old file (or no file) in place, never a partial one.

:func:`atomic_write` opens a temporary file in the target's folder (same file system, so the final
:func:`os.replace` is atomic), yields it, and on success flushes, fsyncs and renames it over the
target. If the body raises (a full disk, a writer bug, Ctrl-C), the temporary file is removed and the
target is untouched. The new file gets the old file's permission bits, or those a plain ``open``
would give (``0o666`` less the umask) when there was no old file.

Path checks (:func:`check_output_folder`, :func:`check_output_file`, :func:`check_model_folder`):
the ``signbridge`` command and the scripts call them on their arguments before any work, so that a
file where a folder belongs, an unwritable output or a folder of another model type is a one-line
user error (:mod:`signbridge.utils.errors`) at once, not after training.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

__all__ = [
    "atomic_write",
    "atomic_write_many",
    "atomic_write_text",
    "check_model_folder",
    "check_output_file",
    "check_output_folder",
]


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
    with atomic_write_many([path], mode, **open_kwargs) as (f,):
        yield f


@contextlib.contextmanager
def atomic_write_many(
    paths: Sequence[str | os.PathLike], mode: str = "wb", **open_kwargs: Any
) -> Iterator[list[IO]]:
    """:func:`atomic_write` for files that form one unit (the ``.skels``/``.text``/``.gloss``/``.files`` of a split).

    Yields one open temporary file per path. Only when the body has finished and every file is
    flushed and synced to disk are they renamed over their targets, one ``os.replace`` each, so a
    failure while writing (a full disk, a bad record, Ctrl-C) leaves all the old files as they were
    and no temporary file behind. (The renames themselves are not one atomic step; they only fail
    if the folder changes under the writer.)
    """
    if mode not in ("w", "wb", "wt"):
        raise ValueError(f"atomic_write: mode must be 'w', 'wt' or 'wb', got {mode!r}")
    targets = [Path(p) for p in paths]
    if len(set(targets)) != len(targets):
        raise ValueError(f"atomic_write_many: the same file is named twice in {[str(t) for t in targets]}")
    temporaries: list[tuple[Path, str, int]] = []
    files: list[IO] = []
    try:
        for path in targets:
            if path.is_dir():
                raise IsADirectoryError(f"{path} is a folder, not a file")
            try:
                file_mode = path.stat().st_mode & 0o7777
            except FileNotFoundError:
                file_mode = _default_mode()
            try:
                fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            except OSError as exc:  # name the file the caller asked for, not the temporary one
                raise type(exc)(
                    exc.errno, f"{exc.strerror} (creating a file in {path.parent})", str(path)
                ) from exc
            temporaries.append((path, tmp_name, file_mode))
            files.append(os.fdopen(fd, mode, **open_kwargs))
        yield files
        for f in files:
            f.flush()
            os.fsync(f.fileno())
            f.close()
        for _path, tmp_name, file_mode in temporaries:
            os.chmod(tmp_name, file_mode)
        for path, tmp_name, _ in temporaries:
            os.replace(tmp_name, path)
    except BaseException:
        for f in files:
            with contextlib.suppress(Exception):
                f.close()
        for _, tmp_name, _ in temporaries:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
        raise


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """``Path(path).write_text(text)`` through :func:`atomic_write`: a failed write keeps the old file.

    Newlines are written as given (no translation). Returns the path.
    """
    with atomic_write(path, "w", encoding=encoding, newline="") as f:
        f.write(text)
    return Path(path)


def check_output_folder(path: str | os.PathLike, what: str, create: bool = False) -> Path:
    """``path`` as a folder to write into: refused when it (or a parent) is a file or unwritable.

    ``what`` names the argument in the message (``"--output_dir"``). Raises ``NotADirectoryError`` or
    ``PermissionError``. Without ``create`` nothing is created and writability is judged by the
    permission bits (which do not stop root); with ``create`` the folder is made and a temporary
    file written and removed in it, which also catches read-only file systems and ``/proc``.
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{what} {folder} is a file, not a folder")
    _check_writable_ancestor(folder, what, folder)
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            raise type(exc)(f"{what} {folder}: cannot write there ({exc.strerror or exc})") from None
    return folder


def check_output_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a file to write: refused when it is a folder, or its folder is a file or unwritable."""
    out = Path(path)
    if out.is_dir():
        raise IsADirectoryError(f"{what} {out} is a folder; give a file name inside it")
    _check_writable_ancestor(out.parent, what, out)
    return out


def _check_writable_ancestor(folder: Path, what: str, target: Path) -> None:
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(f"{what} {target}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(f"{what} {target}: no permission to write in {existing}")


# what huggingface_hub accepts as a repo id ("name" or "owner/name")
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def check_model_folder(
    path: str | os.PathLike,
    model_type: str | tuple[str, ...],
    description: str,
    what: str = "--model",
    allow_hub_id: bool = False,
) -> Path:
    """``path`` as a saved model folder whose ``config.json`` has ``model_type`` (one of them, for a tuple).

    Checked before anything is loaded: a missing path, a file, a folder without ``config.json`` or one
    of another model type is refused naming ``what`` and ``description`` (``"a NARSignProducer"``).
    With ``allow_hub_id``, a path that does not exist here but reads as a Hub repo id
    (``owner/name``) is left to ``from_pretrained``.
    """
    from .errors import UserError

    folder = Path(path)
    if not folder.exists():
        if allow_hub_id and _REPO_ID.match(str(path)) and not str(path).startswith("."):
            return folder
        raise FileNotFoundError(
            f"{what} {folder}: no such folder (give the folder {description} was saved to)"
        )
    if not folder.is_dir():
        raise NotADirectoryError(f"{what} {folder} is a file; give the folder {description} was saved to")
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{what} {folder} has no config.json: not a saved model folder")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{what} {folder}: config.json is not valid JSON ({exc})") from None
    found = config.get("model_type") if isinstance(config, dict) else None
    expected = (model_type,) if isinstance(model_type, str) else tuple(model_type)
    if found not in expected:
        raise UserError(
            f"{what} {folder} holds a {found!r} model, not {description} "
            f"(model_type {expected[0]!r}{'' if len(expected) == 1 else f' or {expected[1:]}'})"
        )
    return folder
