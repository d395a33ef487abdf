"""BPF_MAP_CREATE validation: map_create() and each type's map_alloc_check.

The checks and their order follow kernel/bpf/syscall.c and the per-type
files, so the same errno wins when several things are wrong; limits were
confirmed on the running kernel (6.18, x86_64, 4 KiB pages):

* ``KMALLOC_MAX_SIZE`` is 4 MiB; a hash element header is 48 bytes and an
  LPM trie node header 24 bytes, which fixes the hash and LPM size limits;
* ``PCPU_MIN_UNIT_SIZE`` (32 KiB) bounds per-CPU values;
* ``NR_CPUS`` is 256 (cpumap max_entries);
* only NUMA node 0 exists here: with ``BPF_F_NUMA_NODE`` any other node is
  EINVAL, and per-CPU maps refuse the flag altogether.

Where pybpf itself cannot follow the kernel (an allocation too large for one
Python process, a map type not implemented) it says so with ENOMEM /
EOPNOTSUPP.
"""

from __future__ import annotations

import errno as E

from .base import ACCESS_MASK, check_access_flags, round_up
from .errors import ENOTSUPP, MapError, map_error
from .spec import MapFlags as F
from .spec import MapSpec, MapType

__all__ = ["KMALLOC_MAX_SIZE", "NR_CPUS", "PCPU_MIN_UNIT_SIZE", "validate_spec"]

PAGE_SIZE = 4096
KMALLOC_MAX_SIZE = 1 << 22
PCPU_MIN_UNIT_SIZE = 32768
NR_CPUS = 256
INT_MAX = (1 << 31) - 1
HTAB_ELEM_SIZE = 48
LPM_NODE_SIZE = 24
LPM_DATA_SIZE_MAX = 256

_ARRAY_MASK = int(F.NUMA_NODE | F.MMAPABLE | F.PRESERVE_ELEMS | F.INNER_MAP) | ACCESS_MASK
_HTAB_MASK = int(F.NO_PREALLOC | F.NO_COMMON_LRU | F.NUMA_NODE | F.ZERO_SEED) | ACCESS_MASK
_LPM_MASK = int(F.NO_PREALLOC | F.NUMA_NODE) | ACCESS_MASK
_QUEUE_MASK = int(F.NUMA_NODE) | ACCESS_MASK
_BLOOM_MASK = int(F.NUMA_NODE | F.ZERO_SEED) | ACCESS_MASK
_DEV_MASK = int(F.NUMA_NODE | F.RDONLY | F.WRONLY)

_ARRAYS = {MapType.ARRAY, MapType.PERCPU_ARRAY}
_FD_ARRAYS = {MapType.PROG_ARRAY, MapType.PERF_EVENT_ARRAY, MapType.ARRAY_OF_MAPS}
_HASHES = {MapType.HASH, MapType.PERCPU_HASH, MapType.LRU_HASH, MapType.LRU_PERCPU_HASH, MapType.HASH_OF_MAPS}
_PERCPU = {MapType.PERCPU_ARRAY, MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH}
_LRU = {MapType.LRU_HASH, MapType.LRU_PERCPU_HASH}


def _fail(err: int, why: str, spec: MapSpec) -> MapError:
    return map_error(err, f"cannot create {spec.type.name} map '{spec.name}': {why}")


def validate_spec(spec: MapSpec) -> None:
    """Raise the MapError the kernel's BPF_MAP_CREATE would fail with, if any."""
    t = spec.type
    flags = spec.flags
    if t not in (MapType.BLOOM_FILTER, MapType.ARENA) and spec.map_extra:
        raise _fail(E.EINVAL, "map_extra is only for bloom filters", spec)
    if flags & F.RDONLY and flags & F.WRONLY:
        raise _fail(E.EINVAL, "BPF_F_RDONLY and BPF_F_WRONLY together", spec)
    if flags & F.NUMA_NODE and spec.numa_node != 0:
        raise _fail(E.EINVAL, f"NUMA node {spec.numa_node} is not online (only node 0)", spec)
    if any(n < 0 or n > 0xFFFFFFFF for n in (spec.key_size, spec.value_size, spec.max_entries, flags)):
        raise _fail(E.EINVAL, "sizes and flags are u32", spec)
    if t in _ARRAYS or t in _FD_ARRAYS:
        _array(spec)
    elif t in _HASHES:
        _htab(spec)
    elif t == MapType.LPM_TRIE:
        _lpm(spec)
    elif t in (MapType.QUEUE, MapType.STACK):
        _queue(spec)
    elif t == MapType.RINGBUF:
        _ringbuf(spec)
    elif t == MapType.BLOOM_FILTER:
        _bloom(spec)
    elif t in (MapType.DEVMAP, MapType.DEVMAP_HASH):
        _devmap(spec)
    elif t == MapType.CPUMAP:
        _cpumap(spec)
    elif t == MapType.XSKMAP:
        _xskmap(spec)
    else:
        raise _fail(E.EOPNOTSUPP, "pybpf does not implement this map type", spec)
    if t in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
        _inner(spec)


def _array(spec: MapSpec) -> None:
    t, flags = spec.type, spec.flags
    if t in _FD_ARRAYS:
        # fd_array_map_alloc_check() runs before the generic array check.
        if spec.value_size != 4:
            raise _fail(E.EINVAL, "value_size must be 4 (an fd)", spec)
        if flags & (F.RDONLY_PROG | F.WRONLY_PROG):
            raise _fail(E.EINVAL, "BPF_F_RDONLY_PROG/WRONLY_PROG on an fd array", spec)
    percpu = t == MapType.PERCPU_ARRAY
    if (
        spec.max_entries == 0
        or spec.key_size != 4
        or spec.value_size == 0
        or flags & ~_ARRAY_MASK
        or not check_access_flags(flags)
        or (percpu and flags & F.NUMA_NODE)
    ):
        raise _fail(E.EINVAL, "needs key_size 4, value_size > 0, max_entries > 0 and array flags", spec)
    if t != MapType.ARRAY and flags & (F.MMAPABLE | F.INNER_MAP):
        raise _fail(E.EINVAL, "BPF_F_MMAPABLE/BPF_F_INNER_MAP only for plain arrays", spec)
    if t != MapType.PERF_EVENT_ARRAY and flags & F.PRESERVE_ELEMS:
        raise _fail(E.EINVAL, "BPF_F_PRESERVE_ELEMS only for perf event arrays", spec)
    if spec.value_size > INT_MAX:
        raise _fail(E.E2BIG, "value_size too big", spec)
    if percpu and round_up(spec.value_size, 8) > PCPU_MIN_UNIT_SIZE:
        raise _fail(E.E2BIG, f"per-CPU values are limited to {PCPU_MIN_UNIT_SIZE} bytes", spec)


def _htab(spec: MapSpec) -> None:
    t, flags = spec.type, spec.flags
    if t == MapType.HASH_OF_MAPS and spec.value_size != 4:
        raise _fail(E.EINVAL, "value_size must be 4 (an fd)", spec)
    lru = t in _LRU
    percpu = t in _PERCPU
    if flags & ~_HTAB_MASK or not check_access_flags(flags):
        raise _fail(E.EINVAL, f"flags {flags:#x} not valid for a hash map", spec)
    if not lru and flags & F.NO_COMMON_LRU:
        raise _fail(E.EINVAL, "BPF_F_NO_COMMON_LRU needs an LRU map", spec)
    if lru and flags & F.NO_PREALLOC:
        raise _fail(ENOTSUPP, "LRU maps are always preallocated", spec)
    if flags & F.NUMA_NODE and (percpu or flags & F.NO_COMMON_LRU):
        raise _fail(E.EINVAL, "per-CPU maps cannot be bound to a NUMA node", spec)
    if spec.max_entries == 0 or spec.key_size == 0 or spec.value_size == 0:
        raise _fail(E.EINVAL, "key_size, value_size and max_entries must be > 0", spec)
    if spec.key_size + spec.value_size >= KMALLOC_MAX_SIZE - HTAB_ELEM_SIZE:
        raise _fail(E.E2BIG, "key_size + value_size too big", spec)
    if percpu and round_up(spec.value_size, 8) > PCPU_MIN_UNIT_SIZE:
        raise _fail(E.E2BIG, f"per-CPU values are limited to {PCPU_MIN_UNIT_SIZE} bytes", spec)


def _lpm(spec: MapSpec) -> None:
    val_max = KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - LPM_NODE_SIZE
    if (
        spec.max_entries == 0
        or not spec.flags & F.NO_PREALLOC
        or spec.flags & ~_LPM_MASK
        or not check_access_flags(spec.flags)
        or not 4 + 1 <= spec.key_size <= 4 + LPM_DATA_SIZE_MAX
        or not 1 <= spec.value_size <= val_max
    ):
        raise _fail(
            E.EINVAL,
            "needs BPF_F_NO_PREALLOC, key_size 5..260 (4-byte prefixlen + data), "
            "value_size > 0, max_entries > 0",
            spec,
        )


def _queue(spec: MapSpec) -> None:
    if (
        spec.max_entries == 0
        or spec.key_size != 0
        or spec.value_size == 0
        or spec.flags & ~_QUEUE_MASK
        or not check_access_flags(spec.flags)
    ):
        raise _fail(E.EINVAL, "needs key_size 0, value_size > 0, max_entries > 0", spec)
    if spec.value_size > KMALLOC_MAX_SIZE:
        raise _fail(E.E2BIG, "value_size too big", spec)


def _ringbuf(spec: MapSpec) -> None:
    n = spec.max_entries
    if spec.flags & ~int(F.NUMA_NODE):
        raise _fail(E.EINVAL, f"flags {spec.flags:#x} not valid for a ring buffer", spec)
    if spec.key_size or spec.value_size or n <= 0 or n & (n - 1) or n % PAGE_SIZE:
        raise _fail(E.EINVAL, "needs key/value size 0 and max_entries a power-of-2 multiple of 4096", spec)


def _bloom(spec: MapSpec) -> None:
    # bloom_map_alloc_check (E2BIG) runs before bloom_map_alloc's EINVAL checks.
    if spec.value_size > KMALLOC_MAX_SIZE:
        raise _fail(E.E2BIG, "value_size too big", spec)
    if (
        spec.key_size != 0
        or spec.value_size == 0
        or spec.max_entries == 0
        or spec.flags & ~_BLOOM_MASK
        or not check_access_flags(spec.flags)
        or spec.map_extra & ~0xF
    ):
        raise _fail(E.EINVAL, "needs key_size 0, value_size > 0, max_entries > 0, map_extra <= 15", spec)


def _devmap(spec: MapSpec) -> None:
    bad_size = spec.key_size != 4 or spec.value_size not in (4, 8)
    if spec.max_entries == 0 or bad_size or spec.flags & ~_DEV_MASK:
        raise _fail(E.EINVAL, "needs key_size 4 and value_size 4 or 8 (struct bpf_devmap_val)", spec)
    if spec.type == MapType.DEVMAP_HASH and spec.max_entries > 1 << 31:
        raise _fail(E.EINVAL, "too many entries for a devmap hash", spec)


def _cpumap(spec: MapSpec) -> None:
    bad_size = spec.key_size != 4 or spec.value_size not in (4, 8)
    if spec.max_entries == 0 or bad_size or spec.flags & ~int(F.NUMA_NODE):
        raise _fail(E.EINVAL, "needs key_size 4 and value_size 4 or 8 (struct bpf_cpumap_val)", spec)
    if spec.max_entries > NR_CPUS:
        raise _fail(E.E2BIG, f"at most NR_CPUS ({NR_CPUS}) entries", spec)


def _xskmap(spec: MapSpec) -> None:
    allowed = int(F.NUMA_NODE | F.RDONLY | F.WRONLY)
    if spec.max_entries == 0 or spec.key_size != 4 or spec.value_size != 4 or spec.flags & ~allowed:
        raise _fail(E.EINVAL, "needs key_size 4, value_size 4", spec)


def _inner(spec: MapSpec) -> None:
    inner = spec.inner_map
    if inner is None:
        raise _fail(E.EINVAL, "a map-in-map needs an inner map template (spec.inner_map)", spec)
    if inner.type in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
        raise _fail(E.EINVAL, "maps of maps cannot nest more than one level", spec)
    if inner.type == MapType.PROG_ARRAY:
        raise _fail(ENOTSUPP, "prog arrays cannot be inner maps", spec)
    validate_spec(inner)
