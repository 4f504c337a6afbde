"""A restricted unpickler for the gzip-pickled files of the SLRT release (used by :mod:`signbridge.data.slrt`).

Pickles can run arbitrary code, so these files are never given to ``pickle.load`` or
``torch.load``. They are read with a restricted unpickler that resolves only the globals these
files contain:

* ``collections.OrderedDict`` (the empty backward-hooks dict of a tensor),
* ``torch._utils._rebuild_tensor_v2`` (mapped to a numpy re-implementation with bounds checks),
* ``torch.storage._load_from_bytes`` (mapped to a parser of the legacy ``torch.save`` byte format
  that itself uses a restricted unpickler and checks every size before allocating; the real
  ``_load_from_bytes`` would call ``torch.load`` on the nested bytes),
* inside that nested payload, the storage class names ``torch.FloatStorage`` and friends,
* for pickles of protocols 0-2 (which have no bytes opcode), ``_codecs.encode`` restricted to a
  ``latin1`` string (how those protocols spell a ``bytes`` value) and ``builtins.bytes`` called
  without arguments (an empty ``bytes``).

Any other global (``os.system``, ``subprocess.Popen``, ``builtins.exec``, ...) raises
:class:`UnsafePickleError` naming it and the file; nothing in the file runs. Tensors come back as
numpy arrays, so reading needs no torch at all. :func:`iter_slrt_records` streams a pickled list
record by record with bounded memory.

The legacy storage parser and the tensor rebuild live in :mod:`signbridge.data.legacy_storage`; the
limit they check, :data:`MAX_TENSOR_ELEMENTS`, stays here.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import pickle
import pickletools
import struct
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..utils.reprs import short_repr, short_text

__all__ = [
    "MAX_TENSOR_ELEMENTS",
    "SLRTFormatError",
    "UnsafePickleError",
    "iter_slrt_records",
    "safe_load_pickle",
]

#: Largest number of elements a tensor (or tensor storage) in a pickle may have. Checked before
#: anything is allocated, so a tiny file cannot ask for gigabytes. The default, 2**31 elements
#: (8 GiB of float32), is far above any SLRT feature file (a PHOENIX video is a few hundred
#: thousand values). Raise it for bigger tensors: ``signbridge.data.safe_pickle.MAX_TENSOR_ELEMENTS = 2**34``.
MAX_TENSOR_ELEMENTS = 2**31


# Magic number and protocol version of the legacy (non-zip) ``torch.save`` format.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001

# Memoised objects larger than this are released by the streaming reader (see _StreamingUnpickler).
_RELEASE_BYTES = 1 << 16


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle asked for a global outside the allow-list; nothing from it was executed."""


class SLRTFormatError(ValueError):
    """A file is not a well-formed SLRT annotation or feature file."""


def _latin1_bytes(context: str, text=None, encoding=None, *rest) -> bytes:
    """``_codecs.encode(text, "latin1")``: how pickle protocols 0-2 spell a ``bytes`` value.

    Only that call is allowed (a ``str`` and the ``latin1`` codec, no ``errors`` argument), so the
    result is never larger than the text the file itself holds.
    """
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1") or rest:
        raise UnsafePickleError(
            f"{context}: refusing _codecs.encode({short_repr(text, 40)}, {short_repr(encoding, 40)}"
            f"{', ...' if rest else ''}); only the latin1 encoding of a string (bytes in pickle "
            "protocols 0-2) is allowed (this file may be malicious)"
        )
    try:
        return text.encode("latin1")
    except UnicodeEncodeError as exc:
        raise SLRTFormatError(
            f"{context}: a latin1 bytes value holds a non-latin1 character ({exc.reason})"
        ) from None


def _empty_bytes(context: str, *args) -> bytes:
    """``bytes()``: how pickle protocols 0-2 spell ``b""``; any argument (``bytes(10**12)``) is refused."""
    if args:
        raise UnsafePickleError(
            f"{context}: refusing builtins.bytes{short_repr(args, 60)}; only bytes() (an empty bytes value "
            "in pickle protocols 0-2) is allowed (this file may be malicious)"
        )
    return b""


def _resolve(module: str, name: str, context: str):
    if (module, name) == ("_codecs", "encode"):
        return lambda *args: _latin1_bytes(context, *args)
    if module in ("builtins", "__builtin__") and name == "bytes":
        return lambda *args: _empty_bytes(context, *args)
    if (module, name) == ("collections", "OrderedDict"):
        return OrderedDict
    if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
        from .legacy_storage import _rebuild_tensor  # imported here: legacy_storage imports this module

        return lambda *args: _rebuild_tensor(*args, context=context)
    if (module, name) == ("torch.storage", "_load_from_bytes"):
        from .legacy_storage import _parse_legacy_storage

        return lambda data: _parse_legacy_storage(data, context)
    raise UnsafePickleError(
        f"{context}: refusing to load global {short_text(f'{module}.{name}', 120)}; SLRT files may only contain "
        "collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch.storage._load_from_bytes, "
        "_codecs.encode and builtins.bytes (bytes in pickle protocols 0-2) and plain containers (this file may "
        "be malicious)"
    )


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, context: str):
        super().__init__(file)
        self.context = context

    def find_class(self, module, name):
        return _resolve(module, name, self.context)

    def persistent_load(self, pid):
        raise UnsafePickleError(
            f"{self.context}: persistent ids are not allowed at the top level ({short_repr(pid)})"
        )


# --------------------------------------------------------------------------------------------
# opening files
# --------------------------------------------------------------------------------------------


def _context(source) -> str:
    return "<bytes>" if isinstance(source, (bytes, bytearray)) else str(source)


def _open(source, require_gzip: bool):
    """Return a readable binary stream (gzip-decompressed when the data is gzip)."""
    if isinstance(source, (bytes, bytearray)):
        raw = io.BytesIO(bytes(source))
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"SLRT file not found: {path}")
        raw = open(path, "rb")  # noqa: SIM115 - returned open; _opened() closes it
    head = raw.read(4)
    raw.seek(0)
    if head == b"PK\x03\x04":
        raw.close()
        raise SLRTFormatError(
            f"{_context(source)} is a zip archive (torch.save's default format), not a pickle; SLRT files are "
            "gzip-compressed pickles of records, written with pickle.dump"
        )
    head = head[:2]
    if head == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw, mode="rb"), raw
    if require_gzip:
        raw.close()
        raise SLRTFormatError(
            f"{_context(source)} is not a gzip file (starts with {head!r}); "
            "SLRT files are gzip-compressed pickles"
        )
    return raw, raw


def _translate_errors(source, exc: BaseException) -> Exception:
    ctx = _context(source)
    if isinstance(exc, (UnsafePickleError, SLRTFormatError, FileNotFoundError)):
        return exc
    if isinstance(exc, EOFError):
        return SLRTFormatError(f"{ctx} is truncated ({short_text(exc) or 'unexpected end of data'})")
    if isinstance(exc, gzip.BadGzipFile):
        return SLRTFormatError(f"{ctx} is not a valid gzip file ({short_text(exc)})")
    if isinstance(exc, zlib.error):
        return SLRTFormatError(f"{ctx} has corrupt gzip data ({short_text(exc)})")
    return SLRTFormatError(f"{ctx} is not a valid pickle ({type(exc).__name__}: {short_text(exc)})")


@contextlib.contextmanager
def _opened(source, require_gzip: bool):
    """The readable stream of :func:`_open`, closed afterwards; errors inside come out translated, naming the file."""
    stream, raw = _open(source, require_gzip)
    try:
        yield stream
    except Exception as exc:  # noqa: BLE001 - re-raised with the file named
        err = _translate_errors(source, exc)
        if err is exc:
            raise
        raise err from exc
    finally:
        stream.close()
        raw.close()


def _check_memo_indices(stream, context: str) -> None:
    """Refuse a pickle whose memo indices jump ahead, before the C unpickler sees it.

    Pickle writes memo entries in order (index = entries so far); the C unpickler sizes its memo table to the
    largest index it is given, so one ``LONG_BINPUT 405694563`` in an 849-byte file made it allocate 6.5 GB.
    Reads the pickle up to its STOP with ``pickletools`` (which checks every length against the data left) and
    puts the stream back where it was.
    """
    start = stream.tell()
    entries = 0
    try:
        for op, arg, _ in pickletools.genops(stream):
            if op.name in ("PUT", "BINPUT", "LONG_BINPUT"):
                if not isinstance(arg, int) or arg > entries:
                    raise SLRTFormatError(
                        f"{context}: memo index {short_repr(arg)} where the pickle has {entries} entries"
                    )
                entries = max(entries, arg + 1)
            elif op.name == "MEMOIZE":
                entries += 1
    except ValueError as error:
        if isinstance(error, SLRTFormatError):
            raise
        raise SLRTFormatError(f"{context} is truncated or corrupt ({short_text(str(error))})") from None
    finally:
        stream.seek(start)


def safe_load_pickle(path_or_bytes: str | os.PathLike | bytes, *, require_gzip: bool = False) -> Any:
    """Load a (optionally gzip-compressed) pickle with the SLRT allow-list.

    Torch tensors inside are returned as numpy arrays. Raises :class:`UnsafePickleError` when the
    pickle asks for any other global, :class:`SLRTFormatError` when it is truncated or corrupt,
    ``FileNotFoundError`` when the path does not exist.
    """
    with _opened(path_or_bytes, require_gzip) as stream:
        data = io.BytesIO(stream.read())
        _check_memo_indices(data, _context(path_or_bytes))
        value = _RestrictedUnpickler(data, _context(path_or_bytes)).load()
        if type(value) is int and value == _LEGACY_MAGIC and data.tell() < len(data.getbuffer()):
            # a whole legacy torch.save file starts with this number; returning it would be a silent misread
            raise SLRTFormatError(
                f"{_context(path_or_bytes)} is a legacy torch.save file, not a pickle; SLRT files are "
                "(gzip-compressed) pickles of records, written with pickle.dump"
            )
        return value


# --------------------------------------------------------------------------------------------
# streaming reader (bounded memory for big feature files)
# --------------------------------------------------------------------------------------------


class _Released:
    __slots__ = ()


_RELEASED = _Released()


class _ReleasingMemo(dict):
    """Pickle memo that does not keep big payloads alive (they are never referenced twice)."""

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray):
            size = value.nbytes
        elif isinstance(value, (bytes, bytearray)):
            size = len(value)
        else:
            size = 0
        if size > _RELEASE_BYTES:
            value = _RELEASED
        super().__setitem__(key, value)

    def __getitem__(self, key):
        value = super().__getitem__(key)
        if value is _RELEASED:
            raise SLRTFormatError(
                "pickle references a large payload twice, which the streaming reader does not support"
            )
        return value


_READ_CHUNK = 1 << 20


class _ChunkedReads:
    """A stream whose ``read(n)`` reads at most 1 MiB at a time, so memory follows the data actually present.

    A pickle opcode states the length of what follows (``BINUNICODE 1627389952`` after one flipped byte);
    ``GzipFile.read(n)`` allocates ``n`` bytes up front, so the streaming reader would reserve gigabytes for a
    corrupt 850-byte file. Here a claimed length costs nothing beyond the bytes the file really holds.
    """

    def __init__(self, stream):
        self._stream = stream
        self.readline = stream.readline

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0 or n <= _READ_CHUNK:
            return self._stream.read(n)
        chunks = []
        while n > 0:
            chunk = self._stream.read(min(n, _READ_CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)


class _StreamingUnpickler(pickle._Unpickler):  # pure-Python unpickler: its dispatch can be hooked
    """Yields the items of the top-level list one by one instead of building the list."""

    def __init__(self, file, context: str):
        super().__init__(_ChunkedReads(file))  # no readinto: BYTEARRAY8 is read through read() below
        self.context = context
        self.memo = _ReleasingMemo()
        self._root = None
        self._out: list = []

    def find_class(self, module, name):
        return _resolve(module, name, self.context)

    def persistent_load(self, pid):
        raise UnsafePickleError(
            f"{self.context}: persistent ids are not allowed at the top level ({short_repr(pid)})"
        )

    dispatch = dict(pickle._Unpickler.dispatch)

    def _load_empty_list(self):
        if self._root is None and not self.stack and not self.metastack:
            self._root = []
            self.append(self._root)
        else:
            self.append([])

    def _load_list(self):  # protocols 0-1 open a list with MARK LIST instead of EMPTY_LIST
        items = self.pop_mark()
        if self._root is None and not self.stack and not self.metastack:
            self._root = []
            self._out.extend(items)
            self.append(self._root)
        else:
            self.append(items)

    def _load_append(self):
        value = self.stack.pop()
        target = self.stack[-1]
        if target is self._root:
            self._out.append(value)
        else:
            target.append(value)

    def _load_appends(self):
        items = self.pop_mark()
        target = self.stack[-1]
        if target is self._root:
            self._out.extend(items)
        else:
            target.extend(items)

    def _load_empty_dict(self):
        # Inside the root list's MARK, a new dict starting means every dict below it on the stack
        # is complete (picklers finish one element before starting the next), so they can be
        # handed out now instead of after the APPENDS that closes a batch of up to 1000 records.
        if (
            len(self.metastack) == 1
            and self.metastack[0]
            and self.metastack[0][-1] is self._root
            and self.stack
            and all(type(x) is dict for x in self.stack)
        ):
            self._out.extend(self.stack)
            self.stack.clear()
        self.append({})

    def _load_bytearray8(self):  # pickle's own allocates (and zeroes) the claimed length before reading
        (length,) = struct.unpack("<Q", self.read(8))
        data = self.read(length)
        if len(data) < length:
            raise EOFError(f"BYTEARRAY8 claims {length} bytes, {len(data)} follow")
        self.append(bytearray(data))

    dispatch[pickle.EMPTY_LIST[0]] = _load_empty_list
    dispatch[pickle.BYTEARRAY8[0]] = _load_bytearray8
    dispatch[pickle.LIST[0]] = _load_list
    dispatch[pickle.EMPTY_DICT[0]] = _load_empty_dict
    dispatch[pickle.APPEND[0]] = _load_append
    dispatch[pickle.APPENDS[0]] = _load_appends

    def iter_items(self) -> Iterator[Any]:
        # Mirrors pickle._Unpickler.load(), yielding root-list items as soon as they are complete.
        self._unframer = pickle._Unframer(self._file_read, self._file_readline)
        self.read = self._unframer.read
        self.readinto = self._unframer.readinto
        self.readline = self._unframer.readline
        self.metastack = []
        self.stack = []
        self.append = self.stack.append
        self.proto = 0
        read = self.read
        dispatch = self.dispatch
        try:
            while True:
                key = read(1)
                if not key:
                    raise EOFError
                dispatch[key[0]](self)
                if self._out:
                    yield from self._out
                    self._out.clear()
        except pickle._Stop as stop:
            if stop.value is not self._root:
                raise SLRTFormatError(
                    f"{self.context}: expected a list of dicts, found {type(stop.value).__name__}"
                ) from None


def iter_slrt_records(path: str | os.PathLike) -> Iterator[Any]:
    """Stream the records of a gzip-pickled SLRT list, one at a time, with the allow-list.

    Memory stays bounded by one record (plus small memoised strings), which is what lets a
    PHOENIX-size feature file be converted to Arrow under 1 GiB.
    """
    with _opened(path, require_gzip=True) as stream:
        yield from _StreamingUnpickler(stream, _context(path)).iter_items()
