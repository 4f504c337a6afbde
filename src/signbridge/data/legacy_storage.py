"""The legacy ``torch.save`` storage payload and the tensors rebuilt over it, for :mod:`signbridge.data.safe_pickle`.

A tensor in an SLRT pickle is ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`` over a
storage pickled as ``torch.storage._load_from_bytes(data)``, where ``data`` is a whole legacy (non-zip)
``torch.save`` file holding that one storage. The restricted unpickler of :mod:`~signbridge.data.safe_pickle`
maps those two globals to :func:`_rebuild_tensor` and :func:`_parse_legacy_storage` here: the payload is parsed
with its own restricted unpickler (only the ``torch.<Type>Storage`` class names resolve), and every size and
stride is checked against :data:`signbridge.data.safe_pickle.MAX_TENSOR_ELEMENTS` (read at each call, so
raising it there still applies) and against the data actually present before anything is allocated. The
result is numpy; no torch is needed.

This module imports :mod:`~signbridge.data.safe_pickle` (its errors, its memo check and its limit); that module
imports this one only inside its resolver, so either can be imported first.
"""

from __future__ import annotations

import io
import math
import pickle
import struct

import numpy as np

from ..utils.reprs import short_repr, short_text
from . import safe_pickle
from .safe_pickle import (
    _LEGACY_MAGIC,
    _LEGACY_PROTOCOL,
    SLRTFormatError,
    UnsafePickleError,
    _check_memo_indices,
)

# numpy's limit on the number of dimensions.
_MAX_NDIM = 64

# Storage class names allowed inside the nested legacy payload, with their numpy dtypes.
_STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


def _too_many_elements(context: str, what: str, numel: int) -> SLRTFormatError:
    return SLRTFormatError(
        f"{context}: {what} has {numel} elements, more than "
        f"signbridge.data.safe_pickle.MAX_TENSOR_ELEMENTS = {safe_pickle.MAX_TENSOR_ELEMENTS}; if the file is "
        "trusted, raise that limit (e.g. signbridge.data.safe_pickle.MAX_TENSOR_ELEMENTS = 2**34)"
    )


class _StorageType:
    """Stand-in for ``torch.FloatStorage`` & co. inside the nested payload."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]


class _StorageRef:
    """A persistent-id reference ``('storage', type, key, location, numel)``, filled in later."""

    def __init__(self, dtype: np.dtype, key: str, numel: int):
        self.dtype = dtype
        self.key = key
        self.numel = numel
        self.array: np.ndarray | None = None


class _LegacyStorageUnpickler(pickle.Unpickler):
    def __init__(self, file, context: str):
        super().__init__(file)
        self.context = context
        self.refs: dict[str, _StorageRef] = {}

    def find_class(self, module, name):
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise UnsafePickleError(
            f"{self.context}: refusing global {short_text(f'{module}.{name}', 120)} inside a tensor storage payload "
            f"(only torch.<Type>Storage names are allowed)"
        )

    def persistent_load(self, pid):
        if (
            not isinstance(pid, tuple)
            or len(pid) < 5
            or pid[0] != "storage"
            or not isinstance(pid[1], _StorageType)
            or not isinstance(pid[2], str)
            or not isinstance(pid[4], int)
            or pid[4] < 0
        ):
            raise SLRTFormatError(
                f"{self.context}: unexpected persistent id {short_repr(pid)} in a tensor storage"
            )
        if len(pid) > 5 and pid[5] is not None:
            raise SLRTFormatError(f"{self.context}: storage views are not supported ({short_repr(pid)})")
        _, storage_type, key, _location, numel = pid[:5]
        if numel > safe_pickle.MAX_TENSOR_ELEMENTS:
            raise _too_many_elements(self.context, f"storage {short_repr(key)}", numel)
        ref = self.refs.get(key)
        if ref is None:
            ref = self.refs[key] = _StorageRef(storage_type.dtype, key, numel)
        return ref


def _parse_legacy_storage(data: bytes, context: str) -> np.ndarray:
    """Parse the legacy ``torch.save`` bytes of one storage into a 1-D numpy array.

    Layout: pickle(magic) pickle(protocol) pickle(sys_info) pickle(storage, persistent ids)
    pickle([keys]) then, per key, an int64 element count and the raw little-endian data.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise SLRTFormatError(f"{context}: tensor storage payload is {type(data).__name__}, expected bytes")
    view = memoryview(data)
    f = io.BytesIO(data)

    def load():
        _check_memo_indices(f, context)
        unpickler = _LegacyStorageUnpickler(f, context)
        try:
            value = unpickler.load()
        except (EOFError, pickle.UnpicklingError, struct.error) as exc:
            if isinstance(exc, UnsafePickleError):
                raise
            raise SLRTFormatError(f"{context}: corrupt tensor storage payload ({short_text(exc)})") from exc
        return value, unpickler

    magic, _ = load()
    if magic != _LEGACY_MAGIC:
        raise SLRTFormatError(
            f"{context}: tensor storage payload has a wrong magic number {short_repr(magic)}"
        )
    protocol, _ = load()
    if protocol != _LEGACY_PROTOCOL:
        raise SLRTFormatError(
            f"{context}: unsupported storage protocol {short_repr(protocol)}, expected {_LEGACY_PROTOCOL}"
        )
    sys_info, _ = load()
    if not isinstance(sys_info, dict) or sys_info.get("little_endian") is not True:
        raise SLRTFormatError(f"{context}: storage payload is not little-endian ({short_repr(sys_info)})")
    result, unpickler = load()
    if not isinstance(result, _StorageRef):
        raise SLRTFormatError(
            f"{context}: storage payload holds {type(result).__name__}, expected one storage"
        )
    keys, _ = load()
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise SLRTFormatError(f"{context}: storage key list is malformed ({short_repr(keys)})")
    for key in keys:
        ref = unpickler.refs.get(key)
        if ref is None:
            raise SLRTFormatError(f"{context}: storage key {short_repr(key)} was never declared")
        offset = f.tell()
        if offset + 8 > len(data):
            raise SLRTFormatError(
                f"{context}: storage payload truncated before the size of {short_repr(key)}"
            )
        (count,) = struct.unpack_from("<q", view, offset)
        if count != ref.numel:
            raise SLRTFormatError(
                f"{context}: storage {short_repr(key)} declares {ref.numel} elements but its data block "
                f"says {count}"
            )
        nbytes = count * ref.dtype.itemsize
        start = offset + 8
        if start + nbytes > len(data):
            raise SLRTFormatError(
                f"{context}: storage {short_repr(key)} truncated: needs {nbytes} bytes, {len(data) - start} left"
            )
        ref.array = np.frombuffer(view[start : start + nbytes], dtype=ref.dtype).copy()
        f.seek(start + nbytes)
    if f.tell() != len(data):
        raise SLRTFormatError(
            f"{context}: {len(data) - f.tell()} unexpected trailing bytes in a storage payload"
        )
    if result.array is None:
        raise SLRTFormatError(f"{context}: storage {short_repr(result.key)} has no data block")
    return result.array


def _rebuild_tensor(
    storage,
    storage_offset,
    size,
    stride,
    requires_grad=False,
    backward_hooks=None,
    metadata=None,
    *,
    context: str,
):
    """numpy version of ``torch._utils._rebuild_tensor_v2`` with bounds checks.

    Everything is checked before anything is allocated: the geometry is plain non-negative ints,
    every dimension of more than one element has a positive stride (torch never saves zero or
    negative strides for these files; a stride-0 view over one float could claim any size), the
    whole view lies inside the storage (its largest offset, not only some element), it has no
    more elements than its storage (no overlapping views) and at most :data:`~signbridge.data.safe_pickle.MAX_TENSOR_ELEMENTS`.
    """
    if not isinstance(storage, np.ndarray):
        raise SLRTFormatError(f"{context}: tensor rebuilt from {type(storage).__name__}, expected a storage")

    def geometry() -> str:
        return f"offset={short_repr(storage_offset, 40)} size={short_repr(size, 60)} stride={short_repr(stride, 60)}"

    if (
        not isinstance(size, (tuple, list))
        or not isinstance(stride, (tuple, list))
        or len(size) != len(stride)
        or len(size) > _MAX_NDIM
    ):
        raise SLRTFormatError(
            f"{context}: invalid tensor geometry {geometry()} (size and stride must be tuples of the "
            f"same length, at most {_MAX_NDIM})"
        )
    ints = (storage_offset, *size, *stride)
    if not all(type(v) is int and v >= 0 for v in ints):
        raise SLRTFormatError(f"{context}: invalid tensor geometry {geometry()} (expected non-negative ints)")
    if backward_hooks:
        raise SLRTFormatError(f"{context}: tensors with backward hooks are not supported")
    size, stride = tuple(size), tuple(stride)
    numel = math.prod(size)  # Python ints: no overflow
    if numel > safe_pickle.MAX_TENSOR_ELEMENTS:
        raise _too_many_elements(context, f"tensor of size {short_repr(size)}", numel)
    if numel == 0:
        return np.zeros(size, dtype=storage.dtype)
    if any(st == 0 and s > 1 for s, st in zip(size, stride, strict=True)):
        raise SLRTFormatError(
            f"{context}: tensor {geometry()} has a zero stride in a dimension of more than one "
            "element (a broadcast view); these files never hold one"
        )
    last = storage_offset + sum((s - 1) * st for s, st in zip(size, stride, strict=True))
    if last >= storage.size:
        raise SLRTFormatError(
            f"{context}: tensor {geometry()} reaches element {last} of a storage with {storage.size} elements"
        )
    if numel > storage.size - storage_offset:
        raise SLRTFormatError(
            f"{context}: tensor {geometry()} has {numel} elements but only "
            f"{storage.size - storage_offset} storage elements from its offset (an overlapping view)"
        )
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[storage_offset:], shape=size, strides=tuple(st * item for st in stride), writeable=False
    )
    return np.array(view, order="C", copy=True)
