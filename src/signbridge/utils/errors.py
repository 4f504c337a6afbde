"""What counts as a *user error* at the package's entry points (the ``signbridge`` command, scripts).

A user error is a mistake in what was asked for (a missing or wrong folder, a file where a folder
belongs, an unwritable output, a bad value, a malformed input file): the command prints one line
naming the problem (``signbridge: error: ...``) and exits with status 2, like argparse. Any other
exception is a bug and keeps its traceback. This module is the one place that draws the line.

Kept free of heavy imports: the CLI imports it before parsing arguments.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "UserError",
    "USER_ERRORS",
    "is_user_error",
    "report_user_error",
    "run_entry",
    "user_error_message",
    "USER_ERROR_EXIT_CODE",
]

#: exit status of a user error (argparse's status for a usage error)
USER_ERROR_EXIT_CODE = 2


class UserError(Exception):
    """A mistake in the request (arguments, paths) that an entry point found itself."""


#: exception types that mean the input was wrong, not the code:
#:
#: - :class:`UserError`: raised by the entry points themselves;
#: - :class:`ValueError`: bad values, and every reader's own error type (``PoseFileError``,
#:   ``SkelsFormatError``, ``SLRTFormatError``, ``UnsafePickleError``, the models' input errors),
#:   JSON and Unicode decoding errors, and huggingface_hub's ``HFValidationError`` ("Repo id must be
#:   in the form ..." for a model folder that does not exist);
#: - :class:`OSError`: ``FileNotFoundError``, ``NotADirectoryError``, ``IsADirectoryError``,
#:   ``PermissionError``, ``FileExistsError``, a full disk, and transformers' ``OSError`` for a folder
#:   that holds no loadable model;
#: - ``ImportError`` of an optional dependency is *not* here: ``require_*`` raise it with an
#:   install hint, and an unexpected one is a packaging bug.
USER_ERRORS: tuple[type[BaseException], ...] = (UserError, ValueError, OSError)

_MAX_MESSAGE = 600


def is_user_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a user error (see :data:`USER_ERRORS`)."""
    return isinstance(exc, USER_ERRORS)


def user_error_message(exc: BaseException) -> str:
    """``exc`` as one short line: whitespace collapsed, at most 600 characters.

    An ``OSError`` raised by the system (``[Errno 13] Permission denied: 'x'``) reads
    ``Permission denied: x``.
    """
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None and len(exc.args) <= 2:
        text = f"{exc.strerror}: {exc.filename}"
        if exc.filename2 is not None:
            text += f" -> {exc.filename2}"
    else:
        text = str(exc)
    text = " ".join(text.split()) or type(exc).__name__
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 3] + "..."
    return text


def report_user_error(exc: BaseException, prog: str, debug: bool = False) -> int:
    """Print ``exc`` (a user error) as ``<prog>: error: <one line>`` on stderr, with the traceback
    first when ``debug``; returns :data:`USER_ERROR_EXIT_CODE`."""
    if debug:
        traceback.print_exception(exc)
    print(f"{prog}: error: {user_error_message(exc)}", file=sys.stderr)
    return USER_ERROR_EXIT_CODE


def run_entry(
    main: Callable[[list[str]], Any], argv: Sequence[str] | None = None, prog: str | None = None
) -> Any:
    """Run a script's ``main(argv)`` the way the ``signbridge`` command runs a subcommand.

    ``--debug`` is taken out of ``argv`` (default ``sys.argv[1:]``); a user error (see :data:`USER_ERRORS`)
    prints one line, ``<prog>: error: ...`` (``prog`` defaults to the script's file name), and exits
    with status 2 (``SystemExit``), after its traceback when ``--debug`` was given; any other exception
    is a bug and propagates with its traceback. Returns what ``main`` returns.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    try:
        return main(argv)
    except Exception as exc:
        if not is_user_error(exc):
            raise
        raise SystemExit(report_user_error(exc, prog or Path(sys.argv[0]).name, debug)) from None
