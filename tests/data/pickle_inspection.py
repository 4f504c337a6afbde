"""What a pickle asks for: its globals and nested legacy payloads (shared by the SLRT and safe-pickle tests)."""

import io
import pickletools


def pickle_globals(raw: bytes) -> set:
    return {arg for op, arg, _ in pickletools.genops(raw) if op.name == "GLOBAL"}


def pickle_payloads(raw: bytes) -> list:
    return [arg for op, arg, _ in pickletools.genops(raw) if op.name in ("SHORT_BINBYTES", "BINBYTES")]


def nested_payload_globals(payload: bytes) -> set:
    f = io.BytesIO(payload)
    found = set()
    for _ in range(5):  # magic, protocol, sys info, storage descriptor, key list
        for op, arg, _ in pickletools.genops(f):
            if op.name == "GLOBAL":
                found.add(arg)
    return found
