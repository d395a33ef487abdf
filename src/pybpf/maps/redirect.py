"""Redirect targets: DEVMAP, DEVMAP_HASH, CPUMAP, XSKMAP (kernel/bpf/devmap.c, cpumap.c, net/xdp/xskmap.c).

pybpf moves no packets; these maps hold the targets so the runtime's
``bpf_redirect_map()`` can resolve them (:meth:`target`), with the kernel's
syscall-side rules (checked on the running kernel):

* devmap: value ``struct bpf_devmap_val`` (4 bytes ifindex, or 8 with a
  program fd); array rules but BPF_EXIST is not checked, ifindex 0 empties
  the slot, an unknown ifindex is EINVAL, deleting an empty slot succeeds and
  an index beyond max_entries is EINVAL.
* devmap_hash: the same values in a hash (ifindex 0 is EINVAL, full is E2BIG).
* cpumap: value ``struct bpf_cpumap_val`` (4 bytes qsize, or 8 with a program
  fd); qsize 0 empties the slot, qsize > 16384 is EOVERFLOW, a CPU that does
  not exist (``>= num_cpus``) is ENODEV.
* xskmap: slots hold AF_XDP socket objects set from Python; BPF_NOEXIST and
  BPF_EXIST are checked; syscall lookup is EOPNOTSUPP.

Which ifindexes exist is :attr:`DevMap.devices` (default: the host's
interfaces, as the kernel would check its own).
"""

from __future__ import annotations

import errno as E
import socket
from typing import Any

from .base import BPF_EXIST, BPF_NOEXIST, Map, ValueRef
from .errors import (
    MapExistsError,
    MapFullError,
    MapInvalidError,
    MapKeyNotFoundError,
    MapNoDeviceError,
    MapNotSupportedError,
    MapOverflowError,
)
from .fd_array import RefArrayMap
from .hash import OrderedKeys
from .spec import MapSpec, MapType

__all__ = ["CPUMAP_MAX_QSIZE", "CpuMap", "DevMap", "DevMapHash", "XskMap", "host_ifindexes"]

CPUMAP_MAX_QSIZE = 16384


def host_ifindexes() -> set[int]:
    try:
        return {idx for idx, _ in socket.if_nameindex()}
    except OSError:
        return {1}


def _u32(data: bytes, off: int = 0) -> int:
    return int.from_bytes(data[off : off + 4], "little")


class _SlotMap(Map):
    """An array of optional byte values (empty slots read as ENOENT)."""

    def __init__(self, spec: MapSpec, **kw: Any) -> None:
        super().__init__(spec, **kw)
        self._slots: list[bytearray | None] = [None] * spec.max_entries

    def _lookup(self, key: bytes, flags: int) -> bytes:
        i = _u32(key)
        slot = self._slots[i] if i < self.max_entries else None
        if slot is None:
            raise MapKeyNotFoundError(f"slot {i} of '{self.name}' is empty")
        return bytes(slot)

    def _delete(self, key: bytes) -> None:
        i = _u32(key)
        if i >= self.max_entries:
            raise MapInvalidError(f"index {i} is beyond max_entries {self.max_entries}")
        old, self._slots[i] = self._slots[i], None
        if old is not None:
            self._retire(old)

    def _get_next_key(self, key: bytes | None) -> bytes:
        i = -1 if key is None else _u32(key)
        if i >= self.max_entries:
            i = -1
        if i == self.max_entries - 1:
            raise MapKeyNotFoundError("no key after the last index")
        return (i + 1).to_bytes(4, "little")

    def _value_ref(self, key: bytes, cpu: int) -> ValueRef | None:
        i = _u32(key)
        slot = self._slots[i] if i < self.max_entries else None
        return None if slot is None else ValueRef(slot, 0, self.value_size)

    def _put(self, i: int, value: bytes | None) -> None:
        old, self._slots[i] = self._slots[i], None if value is None else bytearray(value)
        if old is not None:
            self._retire(old)

    def _check_slot_update(self, i: int, flags: int) -> None:
        if flags > BPF_EXIST:
            raise MapInvalidError(f"update flags {flags:#x} not valid for {self.type.name}")
        if i >= self.max_entries:
            raise MapFullError(f"index {i} is beyond max_entries {self.max_entries}")
        if flags == BPF_NOEXIST:
            raise MapExistsError(f"{self.type.name} slots always exist (BPF_NOEXIST)")

    def _count(self) -> int:
        return self.max_entries

    def _clear(self) -> None:
        for i in range(self.max_entries):
            self._put(i, None)

    def target(self, key: bytes) -> bytes | None:
        """The raw entry a redirect to ``key`` goes to, None when empty."""
        with self.lock:
            i = _u32(key)
            slot = self._slots[i] if i < self.max_entries else None
            return None if slot is None else bytes(slot)


class DevMap(_SlotMap):
    types = (MapType.DEVMAP,)

    def __init__(self, spec: MapSpec, **kw: Any) -> None:
        super().__init__(spec, **kw)
        self.devices: set[int] = host_ifindexes()

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        i = _u32(key)
        self._check_slot_update(i, flags)
        ifindex = _u32(value)
        prog_fd = int.from_bytes(value[4:8], "little", signed=True) if self.value_size == 8 else 0
        if ifindex == 0:
            if prog_fd > 0:
                raise MapInvalidError("a devmap entry without a device cannot have a program")
            self._put(i, None)
            return
        if ifindex not in self.devices:
            raise MapInvalidError(f"no network device with ifindex {ifindex}")
        self._put(i, value)


class DevMapHash(Map):
    types = (MapType.DEVMAP_HASH,)

    def __init__(self, spec: MapSpec, **kw: Any) -> None:
        super().__init__(spec, **kw)
        self.devices: set[int] = host_ifindexes()
        self._elems: dict[bytes, bytearray] = {}
        self._order = OrderedKeys()

    def _lookup(self, key: bytes, flags: int) -> bytes:
        if key not in self._elems:
            raise MapKeyNotFoundError(f"key {key.hex()} not in '{self.name}'")
        return bytes(self._elems[key])

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        if flags > BPF_EXIST:
            raise MapInvalidError(f"update flags {flags:#x} not valid for DEVMAP_HASH")
        old = self._elems.get(key)
        if old is not None and flags == BPF_NOEXIST:
            raise MapExistsError(f"key {key.hex()} already in '{self.name}' (BPF_NOEXIST)")
        ifindex = _u32(value)
        if ifindex == 0 or ifindex not in self.devices:
            raise MapInvalidError(f"no network device with ifindex {ifindex}")
        if old is None and len(self._elems) >= self.max_entries:
            raise MapFullError(f"map '{self.name}' is full ({self.max_entries} entries)")
        self._elems[key] = bytearray(value)
        if old is None:
            self._order.add(key)
        else:
            self._retire(old)

    def _delete(self, key: bytes) -> None:
        old = self._elems.pop(key, None)
        if old is None:
            raise MapKeyNotFoundError(f"key {key.hex()} not in '{self.name}'")
        self._order.remove(key)
        self._retire(old)

    def _get_next_key(self, key: bytes | None) -> bytes:
        nxt = self._order.head if key is None or key not in self._order else self._order.after(key)
        if nxt is None:
            raise MapKeyNotFoundError("no more keys")
        return nxt

    def _value_ref(self, key: bytes, cpu: int) -> ValueRef | None:
        buf = self._elems.get(key)
        return None if buf is None else ValueRef(buf, 0, self.value_size)

    def _count(self) -> int:
        return len(self._elems)

    def target(self, key: bytes) -> bytes | None:
        with self.lock:
            buf = self._elems.get(bytes(key))
            return None if buf is None else bytes(buf)


class CpuMap(_SlotMap):
    types = (MapType.CPUMAP,)

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        i = _u32(key)
        self._check_slot_update(i, flags)
        qsize = _u32(value)
        if qsize > CPUMAP_MAX_QSIZE:
            raise MapOverflowError(f"cpumap qsize {qsize} exceeds {CPUMAP_MAX_QSIZE}", errno=E.EOVERFLOW)
        if i >= self.num_cpus:
            raise MapNoDeviceError(f"CPU {i} does not exist ({self.num_cpus} CPUs)", errno=E.ENODEV)
        self._put(i, None if qsize == 0 else value)


class XskMap(RefArrayMap):
    types = (MapType.XSKMAP,)

    def _set(self, i: int, obj: Any, flags: int) -> None:
        if flags > BPF_EXIST:
            raise MapInvalidError(f"update flags {flags:#x} not valid for XSKMAP")
        if i >= self.max_entries:
            raise MapFullError(f"index {i} is beyond max_entries {self.max_entries}")
        if obj is None:
            raise MapInvalidError("an xskmap slot needs a socket object", errno=E.ENOTSOCK)
        if self._refs[i] is not None and flags == BPF_NOEXIST:
            raise MapExistsError(f"slot {i} of '{self.name}' is taken (BPF_NOEXIST)")
        if self._refs[i] is None and flags == BPF_EXIST:
            raise MapKeyNotFoundError(f"slot {i} of '{self.name}' is empty (BPF_EXIST)")
        self._refs[i] = obj

    def _delete(self, key: bytes) -> None:
        i = _u32(key)
        if i >= self.max_entries:
            raise MapInvalidError(f"index {i} is beyond max_entries {self.max_entries}")
        self._refs[i] = None

    def _lookup(self, key: bytes, flags: int) -> bytes:
        raise MapNotSupportedError("xskmap entries cannot be read from user space", errno=E.EOPNOTSUPP)

    def target(self, key: bytes) -> Any:
        return self.get_ref(_u32(key))
