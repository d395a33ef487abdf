"""What a map is, before it exists: :class:`MapSpec` (pure data, copyable).

The ELF loader produces MapSpecs; creating live maps from them is the
runtime's job (as cilium/ebpf's ``MapSpec`` and ``NewMap``).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["MapFlags", "MapSpec", "MapType", "Pinning"]


class MapType(enum.IntEnum):
    """``enum bpf_map_type`` of uapi/linux/bpf.h (values are the kernel's)."""

    UNSPEC = 0
    HASH = 1
    ARRAY = 2
    PROG_ARRAY = 3
    PERF_EVENT_ARRAY = 4
    PERCPU_HASH = 5
    PERCPU_ARRAY = 6
    STACK_TRACE = 7
    CGROUP_ARRAY = 8
    LRU_HASH = 9
    LRU_PERCPU_HASH = 10
    LPM_TRIE = 11
    ARRAY_OF_MAPS = 12
    HASH_OF_MAPS = 13
    DEVMAP = 14
    SOCKMAP = 15
    CPUMAP = 16
    XSKMAP = 17
    SOCKHASH = 18
    CGROUP_STORAGE = 19
    REUSEPORT_SOCKARRAY = 20
    PERCPU_CGROUP_STORAGE = 21
    QUEUE = 22
    STACK = 23
    SK_STORAGE = 24
    DEVMAP_HASH = 25
    STRUCT_OPS = 26
    RINGBUF = 27
    INODE_STORAGE = 28
    TASK_STORAGE = 29
    BLOOM_FILTER = 30
    USER_RINGBUF = 31
    CGRP_STORAGE = 32
    ARENA = 33


class MapFlags(enum.IntFlag):
    """``map_flags`` bits of BPF_MAP_CREATE."""

    NO_PREALLOC = 1 << 0
    NO_COMMON_LRU = 1 << 1
    NUMA_NODE = 1 << 2
    RDONLY = 1 << 3
    WRONLY = 1 << 4
    STACK_BUILD_ID = 1 << 5
    ZERO_SEED = 1 << 6
    RDONLY_PROG = 1 << 7
    WRONLY_PROG = 1 << 8
    CLONE = 1 << 9
    MMAPABLE = 1 << 10
    PRESERVE_ELEMS = 1 << 11
    INNER_MAP = 1 << 12
    LINK = 1 << 13
    PATH_FD = 1 << 14
    VTYPE_BTF_OBJ_FD = 1 << 15
    TOKEN_FD = 1 << 16
    SEGV_ON_FAULT = 1 << 17
    NO_USER_CONV = 1 << 18


class Pinning(enum.IntEnum):
    """libbpf's ``LIBBPF_PIN_*`` values of the BTF ``pinning`` attribute."""

    NONE = 0
    BY_NAME = 1


@dataclass(frozen=True)
class MapSpec:
    """Everything needed to create a map.

    ``key_type``/``value_type`` are BTF type descriptions when the object had
    BTF (used to print keys and values by field), else None.  ``contents``
    holds initial ``(key, value)`` pairs (global data sections have one).
    ``freeze`` marks maps the loader freezes after filling (``.rodata``).
    ``inner_map`` is the template of a map-in-map's inner maps (the kernel's
    ``inner_map_fd``).
    """

    name: str
    type: MapType
    key_size: int
    value_size: int
    max_entries: int
    flags: int = 0
    inner_map: MapSpec | None = None
    pinning: Pinning = Pinning.NONE
    numa_node: int = 0
    key_type: Any = None
    value_type: Any = None
    contents: Sequence[tuple[bytes, bytes]] = field(default=())
    freeze: bool = False
    #: ``map_extra`` of BPF_MAP_CREATE (bloom filter: number of hash functions in bits 0-3).
    map_extra: int = 0
    #: Offset of the value's ``struct bpf_spin_lock`` (from BTF), None when it has none;
    #: it decides whether BPF_F_LOCK is accepted and which 4 bytes user space never sees.
    spin_lock_offset: int | None = None
    #: Initial slots of a map-in-map or program array, as ``(slot, name)`` pairs in slot order:
    #: the map or program (of the same object) to store at that index once everything exists
    #: (``values = { [1] = &m }`` in a BTF ``.maps`` definition; libbpf's init_map_in_map_slots).
    initial_refs: tuple[tuple[int, str], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def replace(self, **changes: Any) -> MapSpec:
        return replace(self, **changes)
