"""BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY (kernel/bpf/arraymap.c).

Every element exists from creation (zero-filled) and lives in one contiguous
``bytearray`` of ``max_entries`` slots of ``round_up(value_size, 8)`` bytes,
the kernel's ``elem_size``.  Per-CPU arrays hold ``num_cpus`` such slots per
element, element-major, so an element's slots are exactly the bytes the
syscall side reads and writes (the kernel's per-CPU copy layout).
"""

from __future__ import annotations

import errno as E
from typing import Any

from .base import BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST, Map, ValueRef, round_up
from .errors import MapExistsError, MapFullError, MapInvalidError, MapKeyNotFoundError, MapNoMemoryError
from .spec import MapSpec, MapType

__all__ = ["MAX_STORAGE", "ArrayMap", "PercpuArrayMap", "alloc_storage", "index_of"]

#: The most bytes pybpf allocates for one map.  The kernel would accept far
#: larger arrays (vmalloc, accounted to the memcg); in one Python process that
#: is a MemoryError waiting to happen, so bigger maps fail with ENOMEM.
MAX_STORAGE = 1 << 28


def alloc_storage(nbytes: int, spec: MapSpec) -> bytearray:
    if nbytes > MAX_STORAGE:
        raise MapNoMemoryError(
            f"map '{spec.name}' needs {nbytes} bytes, more than pybpf's limit of {MAX_STORAGE}",
            errno=E.ENOMEM,
        )
    return bytearray(nbytes)


def index_of(key: bytes) -> int:
    """Array keys are a host-endian (little-endian here) u32 index."""
    return int.from_bytes(key[:4], "little")


class ArrayMap(Map):
    """A fixed array of zero-initialised values; elements can be overwritten, never deleted."""

    types = (MapType.ARRAY,)
    batch_ops = frozenset({"lookup", "update"})

    def __init__(self, spec: MapSpec, **kw: Any) -> None:
        super().__init__(spec, **kw)
        self.elem_size = round_up(spec.value_size, 8)
        per_elem = self.elem_size * (self.num_cpus if self.percpu else 1)
        self.storage = alloc_storage(per_elem * spec.max_entries, spec)
        self._stride = per_elem

    # -- element access ---------------------------------------------------------

    def _store(self, off: int, value: bytes) -> None:
        """copy_map_value(): every byte but the bpf_spin_lock word."""
        lock = self.spec.spin_lock_offset
        if lock is None:
            self.storage[off : off + len(value)] = value
        else:
            self.storage[off : off + lock] = value[:lock]
            self.storage[off + lock + 4 : off + len(value)] = value[lock + 4 :]

    def _lookup(self, key: bytes, flags: int) -> bytes:
        i = index_of(key)
        if i >= self.max_entries:
            raise MapKeyNotFoundError(f"index {i} is beyond max_entries {self.max_entries}")
        off = i * self._stride
        if self.percpu:
            return bytes(self.storage[off : off + self._stride])
        return bytes(self.storage[off : off + self.value_size])

    def _check_update(self, i: int, flags: int) -> None:
        # The order of arraymap.c's checks, so the same errno wins.
        if (flags & ~BPF_F_LOCK) > BPF_EXIST or (self.percpu and flags & BPF_F_LOCK):
            raise MapInvalidError(f"update flags {flags:#x} not valid for {self.type.name}")
        if i >= self.max_entries:
            raise MapFullError(f"index {i} is beyond max_entries {self.max_entries}")
        if flags & BPF_NOEXIST:
            raise MapExistsError(f"array element {i} always exists (BPF_NOEXIST)")

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        i = index_of(key)
        self._check_update(i, flags)
        off = i * self._stride
        if self.percpu:
            for cpu in range(self.num_cpus):
                src = cpu * self.elem_size
                self._store(off + src, value[src : src + self.value_size])
        else:
            self._store(off, value)

    def _prog_update(self, key: bytes, value: bytes, flags: int, cpu: int) -> None:
        i = index_of(key)
        self._check_update(i, flags)
        self._store(i * self._stride + (cpu * self.elem_size if self.percpu else 0), value[: self.value_size])

    def _delete(self, key: bytes) -> None:
        raise MapInvalidError("array elements cannot be deleted")

    def _get_next_key(self, key: bytes | None) -> bytes:
        i = -1 if key is None else index_of(key)
        if i >= self.max_entries:
            i = -1  # an out-of-range key restarts from index 0, as the kernel does
        if i == self.max_entries - 1:
            raise MapKeyNotFoundError("no key after the last index")
        return (i + 1).to_bytes(4, "little")

    def _value_ref(self, key: bytes, cpu: int) -> ValueRef | None:
        i = index_of(key)
        if i >= self.max_entries:
            return None
        off = i * self._stride + (cpu * self.elem_size if self.percpu else 0)
        if self.percpu and not 0 <= cpu < self.num_cpus:
            return None
        return ValueRef(self.storage, off, self.value_size)

    def _count(self) -> int:
        return self.max_entries

    def _clear(self) -> None:
        # Arrays cannot delete; clear() zeroes every value (keeping spin locks).
        lock = self.spec.spin_lock_offset
        if lock is None:
            self.storage[:] = bytes(len(self.storage))
            return
        zero = bytes(self.value_size)
        for i in range(self.max_entries * (self.num_cpus if self.percpu else 1)):
            self._store(i * self.elem_size, zero)

    def value_ref(self, key: Any, cpu: int = 0) -> ValueRef:
        """The slot of ``key`` (for ``BPF_PSEUDO_MAP_VALUE`` / direct value access); never None."""
        ref = super().value_ref(key, cpu)
        if ref is None:
            raise MapKeyNotFoundError(f"index {key} is beyond max_entries {self.max_entries}")
        return ref


class PercpuArrayMap(ArrayMap):
    """One value per CPU per index; the syscall side sees all CPUs' slots."""

    types = (MapType.PERCPU_ARRAY,)
    percpu = True
