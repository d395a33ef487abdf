"""BPF_MAP_TYPE_HASH and BPF_MAP_TYPE_PERCPU_HASH (kernel/bpf/hashtab.c).

Each element owns a ``bytearray`` (per-CPU: ``num_cpus`` slots of
``round_up(value_size, 8)`` bytes).  Replacing a value from the syscall side
retires the old buffer and installs a new one, as the kernel swaps in a new
element under RCU; per-CPU maps and BPF_F_LOCK updates copy in place, as the
kernel does.

Iteration order: the kernel walks its buckets, an order that depends on a
random hash seed and cannot be reproduced.  pybpf gives **insertion order**
(a replaced value keeps its key's place).  As in the kernel, get_next_key of a
key that is not in the map restarts from the first key, and the last key
gives ENOENT.
"""

from __future__ import annotations

from typing import Any

from .base import BPF_ANY, BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST, Map, ValueRef, round_up
from .errors import MapExistsError, MapFullError, MapInvalidError, MapKeyNotFoundError
from .spec import MapSpec, MapType

__all__ = ["HashMap", "OrderedKeys", "PercpuHashMap"]


class OrderedKeys:
    """Insertion-ordered key set with O(1) successor, for get_next_key."""

    def __init__(self) -> None:
        self._next: dict[bytes, bytes | None] = {}
        self._prev: dict[bytes, bytes | None] = {}
        self.head: bytes | None = None
        self.tail: bytes | None = None

    def __contains__(self, key: bytes) -> bool:
        return key in self._next

    def __len__(self) -> int:
        return len(self._next)

    def add(self, key: bytes) -> None:
        self._next[key] = None
        self._prev[key] = self.tail
        if self.tail is None:
            self.head = key
        else:
            self._next[self.tail] = key
        self.tail = key

    def remove(self, key: bytes) -> None:
        nxt = self._next.pop(key)
        prv = self._prev.pop(key)
        if prv is None:
            self.head = nxt
        else:
            self._next[prv] = nxt
        if nxt is None:
            self.tail = prv
        else:
            self._prev[nxt] = prv

    def after(self, key: bytes) -> bytes | None:
        return self._next[key]


class HashMap(Map):
    """A hash table of at most ``max_entries`` elements."""

    types = (MapType.HASH,)
    batch_ops = frozenset({"lookup", "lookup_and_delete", "update", "delete"})

    def __init__(self, spec: MapSpec, **kw: Any) -> None:
        super().__init__(spec, **kw)
        self.elem_size = round_up(spec.value_size, 8)
        self._elems: dict[bytes, bytearray] = {}
        self._order = OrderedKeys()

    # -- storage ------------------------------------------------------------------

    def _new_buffer(self, value: bytes) -> bytearray:
        if self.percpu:
            buf = bytearray(self.elem_size * self.num_cpus)
            for cpu in range(self.num_cpus):
                off = cpu * self.elem_size
                buf[off : off + self.value_size] = value[off : off + self.value_size]
            return buf
        return bytearray(value)

    def _store_locked(self, buf: bytearray, value: bytes) -> None:
        """copy_map_value_locked(): in place, leaving the spin lock word alone."""
        lock = self.spec.spin_lock_offset
        assert lock is not None
        buf[:lock] = value[:lock]
        buf[lock + 4 :] = value[lock + 4 :]

    def _insert(self, key: bytes, buf: bytearray) -> None:
        self._elems[key] = buf
        self._order.add(key)

    def _remove(self, key: bytes) -> bytearray:
        buf = self._elems.pop(key)
        self._order.remove(key)
        self._retire(buf)
        return buf

    def _make_room(self, key: bytes) -> None:
        """Called before inserting a new key; plain hash maps refuse when full."""
        if len(self._elems) >= self.max_entries:
            raise MapFullError(f"map '{self.name}' is full ({self.max_entries} entries)")

    def _touch(self, key: bytes) -> None:
        """LRU bookkeeping hook: ``key`` was just used (no-op for plain hash maps)."""

    # -- hooks -----------------------------------------------------------------------

    def _check_flags(self, flags: int) -> None:
        limit = flags if self.percpu else flags & ~BPF_F_LOCK
        if limit > BPF_EXIST:
            raise MapInvalidError(f"update flags {flags:#x} not valid for {self.type.name}")

    def _lookup(self, key: bytes, flags: int) -> bytes:
        buf = self._elems.get(key)
        if buf is None:
            raise MapKeyNotFoundError(f"key {key.hex()} not in map '{self.name}'")
        return bytes(buf)

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        self._check_flags(flags)
        old = self._elems.get(key)
        if old is not None and flags & 3 == BPF_NOEXIST:
            raise MapExistsError(f"key {key.hex()} already in map '{self.name}' (BPF_NOEXIST)")
        if old is None and flags & 3 == BPF_EXIST:
            raise MapKeyNotFoundError(f"key {key.hex()} not in map '{self.name}' (BPF_EXIST)")
        if old is not None:
            if self.percpu:
                for cpu in range(self.num_cpus):
                    off = cpu * self.elem_size
                    old[off : off + self.value_size] = value[off : off + self.value_size]
            elif flags & BPF_F_LOCK:
                self._store_locked(old, value)
            else:
                # A fresh element replaces the old one; a program's pointer to the
                # old one keeps pointing at the retired buffer (RCU semantics).
                self._elems[key] = self._with_lock_word(bytearray(value), old)
                self._retire(old)
            self._touch(key)
            return
        self._make_room(key)
        buf = self._new_buffer(value) if self.percpu else self._with_lock_word(bytearray(value), None)
        self._insert(key, buf)
        self._touch(key)

    def _with_lock_word(self, buf: bytearray, old: bytearray | None) -> bytearray:
        # User space never writes the bpf_spin_lock word: a new element's lock starts unlocked.
        lock = self.spec.spin_lock_offset
        if lock is not None:
            buf[lock : lock + 4] = bytes(4)
        return buf

    def _prog_update(self, key: bytes, value: bytes, flags: int, cpu: int) -> None:
        if not self.percpu:
            self._update(key, value, flags)
            return
        # A program's per-CPU update writes this CPU's slot; a new element's
        # other CPUs' slots start zeroed (pcpu_init_value with onallcpus=false).
        self._check_flags(flags)
        old = self._elems.get(key)
        if old is not None and flags == BPF_NOEXIST:
            raise MapExistsError(f"key {key.hex()} already in map '{self.name}' (BPF_NOEXIST)")
        if old is None and flags == BPF_EXIST:
            raise MapKeyNotFoundError(f"key {key.hex()} not in map '{self.name}' (BPF_EXIST)")
        if old is None:
            self._make_room(key)
            old = bytearray(self.elem_size * self.num_cpus)
            self._insert(key, old)
        off = cpu * self.elem_size
        old[off : off + self.value_size] = value[: self.value_size]
        self._touch(key)

    def _delete(self, key: bytes) -> None:
        if key not in self._elems:
            raise MapKeyNotFoundError(f"key {key.hex()} not in map '{self.name}'")
        self._remove(key)

    def _lookup_and_delete(self, key: bytes, flags: int) -> bytes:
        if flags & ~BPF_F_LOCK:
            raise MapInvalidError(f"lookup_and_delete flags {flags:#x}: only BPF_F_LOCK is allowed")
        buf = self._elems.get(key)
        if buf is None:
            raise MapKeyNotFoundError(f"key {key.hex()} not in map '{self.name}'")
        data = bytes(buf)
        self._remove(key)
        return data

    def _get_next_key(self, key: bytes | None) -> bytes:
        nxt = self._order.head if key is None or key not in self._order else self._order.after(key)
        if nxt is None:
            raise MapKeyNotFoundError("no more keys")
        return nxt

    def _value_ref(self, key: bytes, cpu: int) -> ValueRef | None:
        buf = self._elems.get(key)
        if buf is None:
            return None
        if self.percpu:
            if not 0 <= cpu < self.num_cpus:
                return None
            return ValueRef(buf, cpu * self.elem_size, self.value_size)
        return ValueRef(buf, 0, self.value_size)

    def _count(self) -> int:
        return len(self._elems)

    def _clear(self) -> None:
        for key in list(self._elems):
            self._remove(key)


class PercpuHashMap(HashMap):
    """A hash map whose values are per CPU; updates of a present key copy in place."""

    types = (MapType.PERCPU_HASH,)
    percpu = True


# BPF_ANY is re-exported for callers that build flags from this module.
_ = BPF_ANY
