"""The suite's deprecation guard (tests/conftest.py) sees deprecations raised or logged from signbridge's code."""

import logging
import warnings
from pathlib import Path

import signbridge

PACKAGE_DIR = str(Path(signbridge.__file__).resolve().parent)


def _run_as_signbridge_code(source: str) -> None:
    # code compiled under a file name inside the package counts as signbridge's own code on the stack
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(
            compile(source, f"{PACKAGE_DIR}/_guard_probe.py", "exec"),
            {"warnings": warnings, "logging": logging},
        )


def test_guard_records_a_future_warning_from_signbridge_code(fail_on_deprecations_from_signbridge):
    found = fail_on_deprecations_from_signbridge
    _run_as_signbridge_code("warnings.warn('`old_name` is deprecated', FutureWarning)")
    assert len(found) == 1 and "old_name" in found[0] and "_guard_probe.py:1" in found[0]
    found.clear()  # recorded as it should be; do not fail this test


def test_guard_records_a_deprecation_logged_by_transformers(fail_on_deprecations_from_signbridge):
    found = fail_on_deprecations_from_signbridge
    _run_as_signbridge_code(
        "logging.getLogger('transformers.some_module').warning('`x` is deprecated, use `y`')"
    )
    assert len(found) == 1 and "transformers.some_module" in found[0]
    found.clear()


def test_guard_ignores_deprecations_outside_signbridge_code(fail_on_deprecations_from_signbridge):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.warn("`other` is deprecated", DeprecationWarning, stacklevel=1)
    logging.getLogger("transformers.other").warning("`z` is deprecated")
    assert fail_on_deprecations_from_signbridge == []


def test_guard_ignores_warnings_raised_while_another_library_is_imported(
    fail_on_deprecations_from_signbridge,
):
    """A library that warns at import time (its module-level code) is not signbridge using a deprecated name."""
    source = "import warnings\nwarnings.warn('`thing` is deprecated', FutureWarning)\n"
    # signbridge code (the outer exec) runs another library's module-level code (the inner exec), as an import does
    _run_as_signbridge_code(f"exec(compile({source!r}, '/site-packages/lib.py', 'exec'), {{}})")
    assert fail_on_deprecations_from_signbridge == []
