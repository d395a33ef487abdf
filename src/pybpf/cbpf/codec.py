"""Bytes <-> :class:`SockFilter` (8 bytes each, either byte order).

The kernel reads ``struct sock_filter`` in host order; ``order="big"``
serves captures of filters from big-endian machines.

>>> prog = decode(bytes.fromhex("06000000ffff0000"))
>>> prog[0].k, encode(prog).hex()
(65535, '06000000ffff0000')
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Literal

from ..errors import DecodeError, EncodeError
from .model import SockFilter

__all__ = ["SOCK_FILTER_SIZE", "decode", "encode"]

SOCK_FILTER_SIZE = 8
_FORMATS = {"little": struct.Struct("<HBBI"), "big": struct.Struct(">HBBI")}


def decode(data: bytes | bytearray | memoryview, *, order: Literal["little", "big"] = "little"
           ) -> list[SockFilter]:
    """Split ``data`` into instructions; its length must be a multiple of 8."""
    if order not in _FORMATS:
        raise DecodeError(f"byte order must be 'little' or 'big', not {order!r}")
    data = bytes(data)
    if len(data) % SOCK_FILTER_SIZE:
        raise DecodeError(f"classic program is {len(data)} bytes, not a multiple of 8",
                          pc=len(data) // SOCK_FILTER_SIZE, raw=data[len(data) // 8 * 8:])
    fmt = _FORMATS[order]
    return [SockFilter(*fields) for fields in fmt.iter_unpack(data)]


def encode(prog: Iterable[SockFilter], *, order: Literal["little", "big"] = "little") -> bytes:
    """The bytes of ``prog`` (what ``struct sock_fprog.filter`` points to)."""
    if order not in _FORMATS:
        raise EncodeError(f"byte order must be 'little' or 'big', not {order!r}")
    fmt = _FORMATS[order]
    return b"".join(fmt.pack(f.code, f.jt, f.jf, f.k) for f in prog)
