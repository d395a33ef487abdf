"""BPF_MAP_TYPE_PERF_EVENT_ARRAY: per-CPU perf buffers fed by bpf_perf_event_output().

Where the kernel stores a perf event fd per slot, pybpf stores a
:class:`PerfBuffer` created by :meth:`PerfEventArrayMap.open` (or
:meth:`PerfEventArrayMap.open_all`).  Each buffer belongs to one CPU and
collects raw samples that Python reads with :meth:`PerfBuffer.read`.

``output(data, flags, cpu)`` follows ``__bpf_perf_event_output``: the index is
``flags & BPF_F_INDEX_MASK`` (``BPF_F_CURRENT_CPU`` means the running CPU),
other flag bits are EINVAL, an index beyond max_entries is E2BIG, an empty
slot ENOENT, and a buffer bound to another CPU EOPNOTSUPP.  A buffer with a
``capacity`` counts samples that do not fit as lost, as a full perf ring does.
"""

from __future__ import annotations

import errno as E
from collections import deque
from typing import Any

from .errors import MapInvalidError
from .fd_array import RefArrayMap
from .spec import MapType

__all__ = ["BPF_F_CURRENT_CPU", "BPF_F_INDEX_MASK", "PerfBuffer", "PerfEventArrayMap"]

BPF_F_INDEX_MASK = 0xFFFFFFFF
BPF_F_CURRENT_CPU = BPF_F_INDEX_MASK


class PerfBuffer:
    """The samples one perf event received, oldest first."""

    def __init__(self, cpu: int, capacity: int | None = None) -> None:
        self.cpu = cpu
        self.capacity = capacity
        self.lost = 0
        self._samples: deque[bytes] = deque()
        self._used = 0

    def _push(self, data: bytes) -> bool:
        # A perf sample record is header (8) + u32 size + data, padded to 8 bytes.
        cost = (8 + 4 + len(data) + 7) // 8 * 8
        if self.capacity is not None and self._used + cost > self.capacity:
            self.lost += 1
            return False
        self._samples.append(data)
        self._used += cost
        return True

    def read(self) -> list[bytes]:
        """Take every pending sample."""
        out = list(self._samples)
        self._samples.clear()
        self._used = 0
        return out

    def __len__(self) -> int:
        return len(self._samples)


class PerfEventArrayMap(RefArrayMap):
    types = (MapType.PERF_EVENT_ARRAY,)

    def _check_ref(self, obj: Any) -> Any:
        if not isinstance(obj, PerfBuffer):
            raise MapInvalidError("perf_event_array slots hold PerfBuffer objects (open())", errno=E.EBADF)
        return obj

    def open(self, index: int, cpu: int | None = None, capacity: int | None = None) -> PerfBuffer:
        """Attach a new buffer for ``cpu`` (default: ``index``) to slot ``index``."""
        buf = PerfBuffer(index if cpu is None else cpu, capacity)
        self.set(index, buf)
        return buf

    def open_all(self, capacity: int | None = None) -> list[PerfBuffer]:
        """One buffer per CPU, slot i for CPU i, as libbpf's perf_buffer__new does."""
        return [self.open(i, capacity=capacity) for i in range(min(self.num_cpus, self.max_entries))]

    def output(self, data: bytes, flags: int = BPF_F_CURRENT_CPU, cpu: int = 0) -> int:
        """bpf_perf_event_output(): 0 or a negative errno."""
        with self.lock:
            if flags & ~BPF_F_INDEX_MASK:
                return -E.EINVAL
            index = cpu if flags & BPF_F_INDEX_MASK == BPF_F_CURRENT_CPU else flags & BPF_F_INDEX_MASK
            if index >= self.max_entries:
                return -E.E2BIG
            buf = self._refs[index]
            if buf is None:
                return -E.ENOENT
            if buf.cpu != cpu:
                return -E.EOPNOTSUPP
            if not buf._push(bytes(data)):
                return -E.ENOSPC
            return 0

    def read(self, index: int) -> list[bytes]:
        """Take the samples of slot ``index`` (empty list for an empty slot)."""
        with self.lock:
            buf = self.get_ref(index)
            return [] if buf is None else buf.read()

    def read_all(self) -> dict[int, list[bytes]]:
        """Take every slot's samples: {index: samples} for non-empty slots."""
        with self.lock:
            out = {}
            for i, buf in enumerate(self._refs):
                if buf is not None and len(buf):
                    out[i] = buf.read()
            return out
