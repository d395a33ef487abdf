"""BPF_MAP_TYPE_LRU_HASH and BPF_MAP_TYPE_LRU_PERCPU_HASH (kernel/bpf/bpf_lru_list.c).

Inserting a new key into a full LRU map evicts the least recently used
element instead of failing.

Difference from the kernel, on purpose: the kernel's LRU is approximate (a
global active/inactive list pair plus per-CPU free lists, with "reference"
bits and batched rotation; with ``BPF_F_NO_COMMON_LRU`` one list per CPU).  It
may evict before the map is full and does not always pick the oldest element,
so its choices cannot be reproduced.  pybpf keeps one exact recency order:

* an insert or an update makes the element the most recently used;
* a *program* lookup (bpf_map_lookup_elem) marks the element used, as the
  kernel sets its reference bit;
* a *syscall* lookup does not (the kernel's ``map_lookup_elem_sys_only``
  skips the reference bit too);
* eviction happens only when a new key is inserted into a full map, and
  removes exactly the least recently used element.

A second difference: the kernel takes a free node (possibly evicting) before
it checks BPF_NOEXIST/BPF_EXIST, so a refused update can still evict; pybpf
checks first and a refused update changes nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from .hash import HashMap
from .spec import MapSpec, MapType

__all__ = ["LruHashMap", "LruPercpuHashMap"]


class LruHashMap(HashMap):
    """A hash map that evicts its least recently used element when full."""

    types = (MapType.LRU_HASH,)

    def __init__(self, spec: MapSpec, **kw: Any) -> None:
        super().__init__(spec, **kw)
        # Oldest first; the value is unused (an ordered set).
        self._recency: OrderedDict[bytes, None] = OrderedDict()
        self.evictions = 0

    def _insert(self, key: bytes, buf: bytearray) -> None:
        super()._insert(key, buf)
        self._recency[key] = None

    def _remove(self, key: bytes) -> bytearray:
        self._recency.pop(key, None)
        return super()._remove(key)

    def _make_room(self, key: bytes) -> None:
        while len(self._elems) >= self.max_entries:
            victim = next(iter(self._recency))
            self._remove(victim)
            self.evictions += 1

    def _touch(self, key: bytes) -> None:
        if key in self._recency:
            self._recency.move_to_end(key)

    def _prog_lookup_touch(self, key: bytes) -> None:
        self._touch(key)

    def lru_order(self) -> list[bytes]:
        """Keys from least to most recently used (the next victim first)."""
        with self.lock:
            return list(self._recency)


class LruPercpuHashMap(LruHashMap):
    """LRU hash with per-CPU values."""

    types = (MapType.LRU_PERCPU_HASH,)
    percpu = True
