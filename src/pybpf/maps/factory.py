"""create_map(): a live map from a MapSpec, validated as BPF_MAP_CREATE would."""

from __future__ import annotations

from .array import ArrayMap, PercpuArrayMap
from .base import Map
from .bloom import BloomFilterMap
from .codec import Codec
from .hash import HashMap, PercpuHashMap
from .lpm import LpmTrieMap
from .lru import LruHashMap, LruPercpuHashMap
from .of_maps import ArrayOfMapsMap, HashOfMapsMap
from .perf import PerfEventArrayMap
from .prog_array import ProgArrayMap
from .queue import QueueMap, StackMap
from .redirect import CpuMap, DevMap, DevMapHash, XskMap
from .ringbuf import RingBufMap
from .spec import MapSpec, MapType
from .validate import validate_spec

__all__ = ["MAP_CLASSES", "create_map"]

MAP_CLASSES: dict[MapType, type[Map]] = {
    t: cls
    for cls in (
        ArrayMap,
        PercpuArrayMap,
        HashMap,
        PercpuHashMap,
        LruHashMap,
        LruPercpuHashMap,
        LpmTrieMap,
        QueueMap,
        StackMap,
        RingBufMap,
        BloomFilterMap,
        ProgArrayMap,
        PerfEventArrayMap,
        ArrayOfMapsMap,
        HashOfMapsMap,
        DevMap,
        DevMapHash,
        CpuMap,
        XskMap,
    )
    for t in cls.types
}


def create_map(
    spec: MapSpec,
    *,
    num_cpus: int | None = None,
    key_codec: Codec | None = None,
    value_codec: Codec | None = None,
) -> Map:
    """Validate ``spec`` like the kernel, create the map, load ``spec.contents``, freeze if asked.

    ``num_cpus`` (default ``os.cpu_count()``) sizes per-CPU values and bounds
    cpumap keys.  Initial contents go through the syscall-side update, so a
    bad entry fails creation; a ``spec.freeze`` map is frozen afterwards (the
    loader's ``.rodata`` handling).
    """
    validate_spec(spec)  # before the lookup: unimplemented types get EOPNOTSUPP
    cls = MAP_CLASSES[spec.type]
    m = cls(spec, num_cpus=num_cpus, key_codec=key_codec, value_codec=value_codec)
    for key, value in spec.contents:
        m.update(key, value)
    if spec.freeze:
        m.freeze()
    return m
