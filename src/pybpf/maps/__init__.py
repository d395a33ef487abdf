"""Maps: the bpf() map model (:mod:`.spec` describes, the map classes hold data).

``create_map(spec)`` validates a :class:`MapSpec` as BPF_MAP_CREATE does and
returns a live :class:`Map`; see :mod:`.base` for the operations and the
memory contract the runtime relies on.
"""

from .array import ArrayMap, PercpuArrayMap
from .base import BPF_ANY, BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST, BatchResult, Map, ValueRef
from .bloom import BloomFilterMap
from .codec import BytesCodec, Codec, IntCodec, StructCodec
from .errors import (
    MapBusyError,
    MapError,
    MapExistsError,
    MapFullError,
    MapInvalidError,
    MapKeyNotFoundError,
    MapNoMemoryError,
    MapNoSpaceError,
    MapNotSupportedError,
    MapPermissionError,
)
from .factory import MAP_CLASSES, create_map
from .hash import HashMap, PercpuHashMap
from .lpm import LpmTrieMap, lpm_key
from .lru import LruHashMap, LruPercpuHashMap
from .of_maps import ArrayOfMapsMap, HashOfMapsMap
from .perf import PerfBuffer, PerfEventArrayMap
from .prog_array import ProgArrayMap
from .queue import QueueMap, StackMap
from .redirect import CpuMap, DevMap, DevMapHash, XskMap
from .ringbuf import RingBufMap, RingRecord
from .spec import MapFlags, MapSpec, MapType, Pinning

__all__ = [
    "BPF_ANY",
    "BPF_EXIST",
    "BPF_F_LOCK",
    "BPF_NOEXIST",
    "MAP_CLASSES",
    "ArrayMap",
    "ArrayOfMapsMap",
    "BatchResult",
    "BloomFilterMap",
    "BytesCodec",
    "Codec",
    "CpuMap",
    "DevMap",
    "DevMapHash",
    "HashMap",
    "HashOfMapsMap",
    "IntCodec",
    "LpmTrieMap",
    "LruHashMap",
    "LruPercpuHashMap",
    "Map",
    "MapBusyError",
    "MapError",
    "MapExistsError",
    "MapFlags",
    "MapFullError",
    "MapInvalidError",
    "MapKeyNotFoundError",
    "MapNoMemoryError",
    "MapNoSpaceError",
    "MapNotSupportedError",
    "MapPermissionError",
    "MapSpec",
    "MapType",
    "PercpuArrayMap",
    "PercpuHashMap",
    "PerfBuffer",
    "PerfEventArrayMap",
    "Pinning",
    "ProgArrayMap",
    "QueueMap",
    "RingBufMap",
    "RingRecord",
    "StackMap",
    "StructCodec",
    "ValueRef",
    "XskMap",
    "create_map",
    "lpm_key",
]
