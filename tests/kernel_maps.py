"""bpf() map commands via ctypes, for differential tests of pybpf.maps.

Only what the map tests need: create (any type, flags, inner map, map_extra),
lookup/update/delete/get_next_key/lookup_and_delete, freeze.  Failures raise
:class:`KernelMapError` with the errno; every :class:`KernelMap` closes its fd.
Values and keys cross as bytes; ``None`` stands for a NULL pointer.
"""

from __future__ import annotations

import ctypes
import os
import platform
from types import TracebackType

__all__ = ["KernelMap", "KernelMapError", "available"]

_SYS_BPF = {"x86_64": 321, "aarch64": 280}.get(platform.machine())

MAP_CREATE, LOOKUP, UPDATE, DELETE, GET_NEXT_KEY = 0, 1, 2, 3, 4
LOOKUP_AND_DELETE, FREEZE = 21, 22
UPDATE_BATCH, DELETE_BATCH = 26, 27


class KernelMapError(OSError):
    pass


class _CreateAttr(ctypes.Structure):
    _fields_ = [
        ("map_type", ctypes.c_uint32),
        ("key_size", ctypes.c_uint32),
        ("value_size", ctypes.c_uint32),
        ("max_entries", ctypes.c_uint32),
        ("map_flags", ctypes.c_uint32),
        ("inner_map_fd", ctypes.c_uint32),
        ("numa_node", ctypes.c_uint32),
        ("map_name", ctypes.c_char * 16),
        ("map_ifindex", ctypes.c_uint32),
        ("btf_fd", ctypes.c_uint32),
        ("btf_key_type_id", ctypes.c_uint32),
        ("btf_value_type_id", ctypes.c_uint32),
        ("btf_vmlinux_value_type_id", ctypes.c_uint32),
        ("map_extra", ctypes.c_uint64),
    ]


class _ElemAttr(ctypes.Structure):
    _fields_ = [
        ("map_fd", ctypes.c_uint32),
        ("pad", ctypes.c_uint32),
        ("key", ctypes.c_uint64),
        ("value", ctypes.c_uint64),
        ("flags", ctypes.c_uint64),
    ]


class _BatchAttr(ctypes.Structure):
    _fields_ = [
        ("in_batch", ctypes.c_uint64),
        ("out_batch", ctypes.c_uint64),
        ("keys", ctypes.c_uint64),
        ("values", ctypes.c_uint64),
        ("count", ctypes.c_uint32),
        ("map_fd", ctypes.c_uint32),
        ("elem_flags", ctypes.c_uint64),
        ("flags", ctypes.c_uint64),
    ]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _bpf(cmd: int, attr: ctypes.Structure) -> int:
    if _SYS_BPF is None:
        raise KernelMapError(38, "bpf() syscall number unknown on this architecture")
    ret = _libc.syscall(
        ctypes.c_long(_SYS_BPF), ctypes.c_long(cmd), ctypes.byref(attr), ctypes.c_uint(ctypes.sizeof(attr))
    )
    if ret < 0:
        err = ctypes.get_errno()
        raise KernelMapError(err, os.strerror(err))
    return int(ret)


def _buf(data: bytes | None, size: int) -> ctypes.Array[ctypes.c_char] | None:
    if data is None:
        return None
    # Never smaller than the data (per-CPU values are longer than value_size).
    b = ctypes.create_string_buffer(max(size, len(data), 1))
    ctypes.memmove(b, data, len(data))
    return b


def _addr(b: ctypes.Array[ctypes.c_char] | None) -> int:
    return 0 if b is None else ctypes.addressof(b)


class KernelMap:
    def __init__(
        self,
        map_type: int,
        key_size: int,
        value_size: int,
        max_entries: int,
        flags: int = 0,
        *,
        inner_map_fd: int = 0,
        map_extra: int = 0,
    ) -> None:
        self.fd = -1  # set before the syscall so close()/__del__ work after a failed create
        attr = _CreateAttr(
            map_type=map_type,
            key_size=key_size,
            value_size=value_size,
            max_entries=max_entries,
            map_flags=flags,
            inner_map_fd=inner_map_fd,
            map_extra=map_extra,
        )
        self.fd = _bpf(MAP_CREATE, attr)
        self.key_size = key_size
        self.value_size = value_size

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> KernelMap:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def lookup(self, key: bytes | None, flags: int = 0, value_size: int | None = None) -> bytes:
        size = self.value_size if value_size is None else value_size
        vb = ctypes.create_string_buffer(max(size, 1))
        kb = _buf(key, self.key_size)
        _bpf(LOOKUP, _ElemAttr(map_fd=self.fd, key=_addr(kb), value=ctypes.addressof(vb), flags=flags))
        return vb.raw[:size]

    def lookup_with_value(self, value: bytes, flags: int = 0) -> None:
        """Bloom filter membership: the value goes in, nothing comes back."""
        vb = _buf(value, self.value_size)
        _bpf(LOOKUP, _ElemAttr(map_fd=self.fd, key=0, value=_addr(vb), flags=flags))

    def update(self, key: bytes | None, value: bytes, flags: int = 0) -> None:
        kb = _buf(key, self.key_size)
        vb = _buf(value, len(value))
        _bpf(UPDATE, _ElemAttr(map_fd=self.fd, key=_addr(kb), value=_addr(vb), flags=flags))

    def delete(self, key: bytes | None) -> None:
        kb = _buf(key, self.key_size)
        _bpf(DELETE, _ElemAttr(map_fd=self.fd, key=_addr(kb)))

    def get_next_key(self, key: bytes | None) -> bytes:
        kb = _buf(key, self.key_size)
        nb = ctypes.create_string_buffer(max(self.key_size, 1))
        _bpf(GET_NEXT_KEY, _ElemAttr(map_fd=self.fd, key=_addr(kb), value=ctypes.addressof(nb)))
        return nb.raw[: self.key_size]

    def lookup_and_delete(self, key: bytes | None, flags: int = 0, value_size: int | None = None) -> bytes:
        size = self.value_size if value_size is None else value_size
        vb = ctypes.create_string_buffer(max(size, 1))
        kb = _buf(key, self.key_size)
        attr = _ElemAttr(map_fd=self.fd, key=_addr(kb), value=ctypes.addressof(vb), flags=flags)
        _bpf(LOOKUP_AND_DELETE, attr)
        return vb.raw[:size]

    def _batch(self, cmd: int, keys: list[bytes], values: list[bytes] | None, elem_flags: int) -> int:
        kb = _buf(b"".join(keys), self.key_size * len(keys))
        vb = None if values is None else _buf(b"".join(values), self.value_size * len(values))
        attr = _BatchAttr(
            keys=_addr(kb), values=_addr(vb), count=len(keys), map_fd=self.fd, elem_flags=elem_flags
        )
        try:
            _bpf(cmd, attr)
        except KernelMapError as e:
            e.count = attr.count  # type: ignore[attr-defined]
            raise
        return int(attr.count)

    def update_batch(self, keys: list[bytes], values: list[bytes], elem_flags: int = 0) -> int:
        """BPF_MAP_UPDATE_BATCH; on failure the error's ``count`` says how many were applied."""
        return self._batch(UPDATE_BATCH, keys, values, elem_flags)

    def delete_batch(self, keys: list[bytes], elem_flags: int = 0) -> int:
        return self._batch(DELETE_BATCH, keys, None, elem_flags)

    def freeze(self) -> None:
        _bpf(FREEZE, _ElemAttr(map_fd=self.fd))


def available() -> bool:
    """True when bpf() map creation works here (root or CAP_BPF)."""
    try:
        with KernelMap(2, 4, 4, 1):
            return True
    except OSError:
        return False
