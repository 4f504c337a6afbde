"""Whole-file copies inside model folders, bound to their sources when signbridge imports a model package.

A model folder must hold every file its modeling code imports relatively, because a saved folder carries only
those files for ``trust_remote_code``. Where a folder needs another part of signbridge (the pose VAE in
``nar_slp/``, the pose normaliser, strict loading), it holds a copy whose first line is
``# Copied from signbridge.<module> (whole file)``; ``utils/check_copies.py`` keeps the copies identical to their
sources. Inside signbridge the copies are never executed: :func:`bind_copies` points each copy's module name at its
source module, read from that header, so there is one class of each kind (one ``PoseVAEConfig``, one
``PoseNormalizer``).
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

_MARKER = re.compile(r"^# Copied from (signbridge(?:\.\w+)+) \(whole file\)")


def bind_copies(package: str, folder: str | Path) -> None:
    """Bind ``<package>.<name>`` to the source module of every marked copy ``<folder>/<name>.py``.

    Call it in the model package's ``__init__`` before importing anything of the folder.
    """
    for path in sorted(Path(folder).glob("*.py")):
        with open(path, encoding="utf-8") as handle:
            match = _MARKER.match(handle.readline())
        if match:
            sys.modules[f"{package}.{path.stem}"] = importlib.import_module(match.group(1))


__all__ = ["bind_copies"]
