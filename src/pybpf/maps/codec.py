"""Turning Python objects into map keys/values and back.

A map stores bytes, exactly ``key_size``/``value_size`` long.  The Python API
accepts ``bytes``-like objects, ``int`` (little-endian, as on every Linux BPF
target pybpf runs) and ctypes instances; a :class:`Codec` set on the map
converts anything else (and decodes what lookups return).  The ELF loader will
build :class:`StructCodec` objects from BTF.
"""

from __future__ import annotations

import ctypes
from typing import Any, Protocol, runtime_checkable

from .errors import MapInvalidError

__all__ = ["BytesCodec", "Codec", "IntCodec", "StructCodec", "to_bytes"]


@runtime_checkable
class Codec(Protocol):
    """Converts between a Python object and the exact bytes a map stores."""

    def encode(self, obj: Any, size: int) -> bytes: ...

    def decode(self, data: bytes) -> Any: ...


class BytesCodec:
    """The default: values come back as ``bytes``."""

    def encode(self, obj: Any, size: int) -> bytes:
        return to_bytes(obj, size, "value")

    def decode(self, data: bytes) -> Any:
        return data


class IntCodec:
    """Little-endian integers (``signed`` selects two's complement decoding)."""

    def __init__(self, *, signed: bool = False) -> None:
        self.signed = signed

    def encode(self, obj: Any, size: int) -> bytes:
        return to_bytes(obj, size, "value")

    def decode(self, data: bytes) -> Any:
        return int.from_bytes(data, "little", signed=self.signed)


class StructCodec:
    """Values as instances of one ctypes type (Structure, Union, array, scalar)."""

    def __init__(self, ctype: type[Any]) -> None:
        self.ctype = ctype
        self.size = ctypes.sizeof(ctype)

    def encode(self, obj: Any, size: int) -> bytes:
        if isinstance(obj, dict):
            obj = self.ctype(**obj)
        return to_bytes(obj, size, "value")

    def decode(self, data: bytes) -> Any:
        if len(data) < self.size:
            name = self.ctype.__name__
            raise MapInvalidError(f"{len(data)} bytes cannot hold a {name} ({self.size} bytes)")
        return self.ctype.from_buffer_copy(data)


def to_bytes(obj: Any, size: int, what: str) -> bytes:
    """``obj`` as exactly ``size`` bytes; anything else is a clear error.

    A short or long buffer is refused rather than padded or cut: the kernel
    copies exactly ``size`` bytes, so a mismatch is always a caller bug.
    """
    if isinstance(obj, bool):
        obj = int(obj)
    if isinstance(obj, int):
        if size == 0:
            raise MapInvalidError(f"this map has no {what} (size 0), got an int")
        if not -(1 << (8 * size - 1)) <= obj < (1 << (8 * size)):
            raise MapInvalidError(f"{what} {obj} does not fit in {size} bytes")
        return (obj & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
    if isinstance(obj, bytes | bytearray | memoryview):
        data = bytes(obj)
    elif isinstance(obj, ctypes._SimpleCData | ctypes.Structure | ctypes.Union | ctypes.Array):
        data = bytes(obj)  # ctypes objects expose their raw bytes via the buffer protocol
    else:
        raise MapInvalidError(f"cannot use {type(obj).__name__} as a map {what} (no codec for it)")
    if len(data) != size:
        raise MapInvalidError(f"{what} is {len(data)} bytes, the map's {what} size is {size}")
    return data
