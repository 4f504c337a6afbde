"""Prelude for subprocess scripts that must run where signbridge is NOT importable.

Prepended to the scripts of the ``trust_remote_code`` tests: it installs a meta-path finder that
refuses ``signbridge`` (installed editable in the venv) and checks that the refusal works.
"""

BLOCK_SIGNBRIDGE = '''
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
'''
