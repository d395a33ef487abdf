"""Maps as a program sees them: map pointers and map value regions.

A map pointer (what ``LD_IMM64 src=1`` loads) is the base of an empty,
never-accessible region, so it is a unique address the helpers turn back into
the :class:`~pybpf.maps.Map`; dereferencing it faults, as the verifier would
refuse it.

A map value pointer is a real address: each value buffer the map hands out
(:class:`~pybpf.maps.ValueRef`) is mapped once as a region of the object's
:class:`Memory` (read-only when the map is ``BPF_F_RDONLY_PROG``).  Buffers
the map retires (deleted or replaced hash elements) are unmapped through the
map's free listener, so a stale pointer either faults or (if a compiled
instruction still caches it) writes to the dead buffer: it can never corrupt a
live element, which is the guarantee the kernel's RCU gives.
"""

from __future__ import annotations

import contextlib

from ..errors import PyBpfError
from ..maps import Map, ValueRef
from .memory import Memory, Region

__all__ = ["MapRuntime"]


class MapRuntime:
    """The maps of one object inside one address space."""

    def __init__(self, memory: Memory) -> None:
        self.memory = memory
        self._by_addr: dict[int, Map] = {}
        self._addr: dict[int, int] = {}  # id(map) -> pointer
        self._regions: dict[int, Region] = {}  # id(buffer) -> region

    def add(self, name: str, m: Map) -> int:
        """Register ``m``; returns its map pointer."""
        if id(m) in self._addr:
            return self._addr[id(m)]
        region = self.memory.add(f"map:{name}", 0, writable=False, kind="map")
        region.meta["map"] = m
        self._by_addr[region.base] = m
        self._addr[id(m)] = region.base
        m.add_free_listener(self._retired)
        return region.base

    def pointer_of(self, m: Map) -> int:
        ptr = self._addr.get(id(m))
        if ptr is None:
            return self.add(m.name or f"inner{len(self._addr)}", m)
        return ptr

    def map_at(self, addr: int) -> Map | None:
        """The map whose pointer is ``addr`` (None: not a map pointer)."""
        return self._by_addr.get(addr)

    def require(self, addr: int, what: str = "map") -> Map:
        m = self._by_addr.get(addr)
        if m is None:
            raise PyBpfError(f"{addr:#x} is not a {what} pointer")
        return m

    def value_pointer(self, m: Map, ref: ValueRef) -> int:
        """The address of ``ref`` (mapping its buffer on first use)."""
        region = self._regions.get(id(ref.buffer))
        if region is None or region.buffer is not ref.buffer:
            region = self.memory.add(f"{m.name or 'map'}:value", ref.buffer, writable=m.prog_writable,
                                     kind="map_value")
            region.meta["map"] = m
            self._regions[id(ref.buffer)] = region
        return region.base + ref.offset

    def _retired(self, buffer: bytearray) -> None:
        region = self._regions.pop(id(buffer), None)
        if region is not None:
            self.memory.remove(region)

    def close(self) -> None:
        """Stop listening to the maps (the object is gone)."""
        for m in self._by_addr.values():
            with contextlib.suppress(ValueError):
                m.remove_free_listener(self._retired)
