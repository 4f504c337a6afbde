"""Prelude for subprocess scripts that must run where signbridge is NOT importable.

Prepended to the scripts of the ``trust_remote_code`` tests: it installs a meta-path finder that
refuses ``signbridge`` (installed editable in the venv) and checks that the refusal works.
"""

BLOCK_SIGNBRIDGE = """
import importlib.abc, sys

class RefuseSignbridge(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "signbridge" or name.startswith("signbridge."):
            raise ImportError("signbridge is blocked in this process")
        return None

sys.meta_path.insert(0, RefuseSignbridge())
try:
    import signbridge  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("signbridge was importable")
"""


def run_without_signbridge(script: str, args, tmp_path):
    """Run ``BLOCK_SIGNBRIDGE + script`` in a fresh Python process (offline, one thread, its own remote-code module
    cache under ``tmp_path``) with ``args``; returns the ``CompletedProcess`` after checking it exited 0."""
    import os
    import subprocess
    import sys

    path = tmp_path / "run_without_signbridge.py"
    path.write_text(BLOCK_SIGNBRIDGE + script)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(
        HF_HUB_OFFLINE="1",
        OMP_NUM_THREADS="1",
        HF_MODULES_CACHE=str(tmp_path / "modules"),
        HF_HOME=str(tmp_path / "hf"),
    )
    run = subprocess.run(
        [sys.executable, str(path), *map(str, args)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run
