"""Shared fixtures: the real-data samples in ../shared/data, skipped with a reason when absent."""

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def _shared(sub: str) -> Path:
    path = SHARED_DATA / sub
    if not path.exists():
        pytest.skip(f"real-data sample {path} is absent (it lives in ../shared beside the checkout)")
    return path


@pytest.fixture
def phoenix_dir() -> Path:
    return _shared("phoenix-2014t")


@pytest.fixture
def csl_dir() -> Path:
    return _shared("csl-daily")


@pytest.fixture
def skels_dir() -> Path:
    return _shared("phoenix14t-skels-sample")


@pytest.fixture
def pose_samples_dir() -> Path:
    return _shared("pose-samples")


# ------------------------------------------------------------------------------------------------ deprecations
# The next rename in transformers (or datasets, accelerate, ...) shows first as a deprecation: a FutureWarning or
# DeprecationWarning, or a "deprecated" message on transformers' logger (its `warning_once`). Any of them raised while
# signbridge's own code is on the call stack fails the test that triggered it, naming the signbridge line, so the
# rename is fixed a release early. Warnings from other libraries' own code paths are left alone. (pyproject's
# filterwarnings also turns such warnings attributed to a signbridge module into errors.)

import logging  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

import signbridge  # noqa: E402

PACKAGE_DIR = str(Path(signbridge.__file__).resolve().parent)
_DEPRECATIONS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def signbridge_caller(frame) -> str | None:
    """The innermost frame of signbridge's own code on the stack from `frame` outwards, as "file:line"."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(PACKAGE_DIR):
            return f"{filename[len(PACKAGE_DIR) - len('signbridge') :]}:{frame.f_lineno}"
        if frame.f_code.co_name == "<module>":
            # another library's module-level code: a warning raised while it is imported (e.g. the first
            # `import torch` inside a signbridge function) is not a deprecated name used by signbridge
            return None
        frame = frame.f_back
    return None


class _DeprecationLogHandler(logging.Handler):
    def __init__(self, found: list[str]):
        super().__init__(level=logging.WARNING)
        self.found = found

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "deprecat" in message.lower():
            caller = signbridge_caller(sys._getframe())
            if caller is not None:
                self.found.append(f"{record.name}: {message} (from {caller})")


@pytest.fixture(autouse=True)
def fail_on_deprecations_from_signbridge(monkeypatch):
    found: list[str] = []
    original_warn = warnings.warn

    def warn(message, category=None, stacklevel=1, source=None, **kwargs):
        category = category or (message.__class__ if isinstance(message, Warning) else UserWarning)
        if issubclass(category, _DEPRECATIONS):
            caller = signbridge_caller(sys._getframe(1))
            if caller is not None:
                found.append(f"{category.__name__}: {message} (from {caller})")
        return original_warn(message, category, stacklevel + 1, source, **kwargs)

    monkeypatch.setattr(warnings, "warn", warn)
    handler = _DeprecationLogHandler(found)
    hf_logger = logging.getLogger("transformers")
    hf_logger.addHandler(handler)
    try:
        yield found
    finally:
        hf_logger.removeHandler(handler)
    if found:
        pytest.fail("deprecated names used by signbridge's own code:\n" + "\n".join(dict.fromkeys(found)))
