"""Read (text) from the real SLRT annotation samples for the metric tests.

Uses ``signbridge.data.slrt.read_slrt_annotations`` when it exists; otherwise a minimal restricted
unpickler local to the tests (only OrderedDict and torch's tensor/storage rebuild helpers).
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

_ALLOWED = {
    ("collections", "OrderedDict"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_tensor"),
    ("torch", "FloatStorage"),
    ("torch", "LongStorage"),
    ("torch", "IntStorage"),
    ("torch.storage", "_load_from_bytes"),
}


class _Restricted(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refused global {module}.{name}")
        return super().find_class(module, name)


def read_texts(path: Path) -> list[str]:
    try:
        from signbridge.data.slrt import read_slrt_annotations
    except ImportError:
        with gzip.open(path, "rb") as handle:
            rows = _Restricted(handle).load()
    else:
        rows = read_slrt_annotations(path)
    return [row["text"] for row in rows]
