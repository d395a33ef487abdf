"""BPF_MAP_TYPE_RINGBUF (kernel/bpf/ringbuf.c): a multi-producer, single-consumer ring.

Layout as the kernel's: ``max_entries`` data bytes (a power-of-2 multiple of
the page size); a record is an 8-byte header (``u32 len`` with
``BPF_RINGBUF_BUSY_BIT`` while reserved and ``BPF_RINGBUF_DISCARD_BIT`` once
discarded, ``u32 pg_off``) followed by the sample, the whole rounded up to 8
bytes.  ``producer_pos``/``consumer_pos`` only grow; a position's offset in
the ring is ``pos & (size - 1)``.

Memory: the kernel maps the data pages twice in a row so a record that wraps
past the end is still contiguous for the program.  pybpf does the same with
one ``bytearray`` of twice the size: :attr:`RingBufMap.data` holds the ring in
its first half, and a reserved sample is ``ValueRef(data, off + 8, size)``
which may run into the second half; submitting or discarding copies that
overflow back to the start of the ring.  Readers only ever read the first
half, wrapping around.  The buffer lives as long as the map.

Reservation fails (the helper returns NULL) when the record would make the
producer run more than ``size - 1`` bytes ahead of the consumer, exactly the
kernel's check.  Wake-ups are not real (nobody sleeps); :attr:`wakeups` counts
the notifications the kernel would send, honouring BPF_RB_NO_WAKEUP and
BPF_RB_FORCE_WAKEUP.
"""

from __future__ import annotations

import errno as E
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .array import alloc_storage
from .base import Map, ValueRef, round_up
from .errors import ENOTSUPP, MapInvalidError, MapNotSupportedError
from .spec import MapSpec, MapType

__all__ = [
    "BPF_RB_AVAIL_DATA",
    "BPF_RB_CONS_POS",
    "BPF_RB_FORCE_WAKEUP",
    "BPF_RB_NO_WAKEUP",
    "BPF_RB_PROD_POS",
    "BPF_RB_RING_SIZE",
    "BPF_RINGBUF_BUSY_BIT",
    "BPF_RINGBUF_DISCARD_BIT",
    "BPF_RINGBUF_HDR_SZ",
    "RingBufMap",
    "RingRecord",
]

BPF_RINGBUF_BUSY_BIT = 1 << 31
BPF_RINGBUF_DISCARD_BIT = 1 << 30
BPF_RINGBUF_HDR_SZ = 8
BPF_RB_NO_WAKEUP = 1 << 0
BPF_RB_FORCE_WAKEUP = 1 << 1
BPF_RB_AVAIL_DATA = 0
BPF_RB_RING_SIZE = 1
BPF_RB_CONS_POS = 2
BPF_RB_PROD_POS = 3

PAGE_SIZE = 4096
RINGBUF_MAX_RECORD_SZ = 0xFFFFFFFF // 4
# struct bpf_ringbuf's first page plus the consumer and producer pages come
# before the data, so a header's pg_off counts from there (informational only).
_META_PAGES = 3


@dataclass(frozen=True, slots=True)
class RingRecord:
    """A reserved sample: ``ref`` is where the program writes, ``pos`` its header position."""

    pos: int
    size: int
    ref: ValueRef


class RingBufMap(Map):
    """A BPF ring buffer with producer (program) and consumer (Python) sides."""

    types = (MapType.RINGBUF,)

    def __init__(self, spec: MapSpec, **kw: Any) -> None:
        super().__init__(spec, **kw)
        self.size = spec.max_entries
        self.mask = self.size - 1
        self.data = alloc_storage(2 * self.size, spec)
        self.consumer_pos = 0
        self.producer_pos = 0
        self.wakeups = 0
        self._on_wakeup: list[Callable[[], None]] = []

    # -- producer (program) side ------------------------------------------------------

    def reserve(self, size: int, flags: int = 0) -> RingRecord | None:
        """bpf_ringbuf_reserve(): a record to fill, or None (NULL) when it cannot fit."""
        with self.lock:
            if flags or size > RINGBUF_MAX_RECORD_SZ or size < 0:
                return None
            length = round_up(size + BPF_RINGBUF_HDR_SZ, 8)
            if length > self.size:
                return None
            new_prod = self.producer_pos + length
            if new_prod - self.consumer_pos > self.mask:
                return None
            pos = self.producer_pos
            off = pos & self.mask
            self._put_u32(off, size | BPF_RINGBUF_BUSY_BIT)
            self._put_u32(off + 4, _META_PAGES + (off >> 12))
            self.producer_pos = new_prod
            return RingRecord(pos, size, ValueRef(self.data, off + BPF_RINGBUF_HDR_SZ, size))

    def _record_at(self, sample_offset: int) -> tuple[int, int]:
        """(header offset, header len word) of the busy record whose sample starts here."""
        off = sample_offset - BPF_RINGBUF_HDR_SZ
        if not 0 <= off < self.size:
            raise MapInvalidError(f"offset {sample_offset} is not a ring buffer sample")
        hdr = self._get_u32(off)
        if not hdr & BPF_RINGBUF_BUSY_BIT:
            raise MapInvalidError(f"the record at offset {off} is not reserved (already committed?)")
        return off, hdr

    def commit(self, record: RingRecord | int, flags: int = 0, *, discard: bool = False) -> None:
        """bpf_ringbuf_submit()/bpf_ringbuf_discard() of a record (or its sample offset)."""
        with self.lock:
            sample = record.ref.offset if isinstance(record, RingRecord) else record
            off, hdr = self._record_at(sample)
            size = hdr & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)
            end = off + BPF_RINGBUF_HDR_SZ + size
            if end > self.size:
                # The sample ran into the mirror half: fold it back to the ring's start.
                self.data[0 : end - self.size] = self.data[self.size : end]
            new_len = (hdr ^ BPF_RINGBUF_BUSY_BIT) | (BPF_RINGBUF_DISCARD_BIT if discard else 0)
            self._put_u32(off, new_len)
            # The kernel wakes the consumer when it is waiting right at this record.
            rec_pos = self._pos_of(off)
            if flags & BPF_RB_FORCE_WAKEUP or (not flags & BPF_RB_NO_WAKEUP and rec_pos == self.consumer_pos):
                self.wakeups += 1
                for cb in list(self._on_wakeup):
                    cb()

    def submit(self, record: RingRecord | int, flags: int = 0) -> None:
        self.commit(record, flags)

    def discard(self, record: RingRecord | int, flags: int = 0) -> None:
        self.commit(record, flags, discard=True)

    def output(self, data: bytes, flags: int = 0) -> int:
        """bpf_ringbuf_output(): 0, -EINVAL for bad flags, -EAGAIN when full."""
        with self.lock:
            if flags & ~(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP):
                return -E.EINVAL
            rec = self.reserve(len(data))
            if rec is None:
                return -E.EAGAIN
            rec.ref.buffer[rec.ref.offset : rec.ref.offset + len(data)] = data
            self.commit(rec, flags)
            return 0

    def query(self, flags: int) -> int:
        """bpf_ringbuf_query(); an unknown flag gives 0, as in the kernel."""
        with self.lock:
            if flags == BPF_RB_AVAIL_DATA:
                return self.producer_pos - self.consumer_pos
            if flags == BPF_RB_RING_SIZE:
                return self.size
            if flags == BPF_RB_CONS_POS:
                return self.consumer_pos
            if flags == BPF_RB_PROD_POS:
                return self.producer_pos
            return 0

    def on_wakeup(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` whenever the kernel would wake the consumer."""
        with self.lock:
            self._on_wakeup.append(callback)

    # -- consumer (Python) side ---------------------------------------------------------

    def consume(self, limit: int | None = None) -> list[bytes]:
        """Take submitted records in order, skipping discarded ones (libbpf's ring_buffer__consume).

        Stops at the first record still reserved (busy), as a consumer must.
        """
        out: list[bytes] = []
        with self.lock:
            while self.consumer_pos < self.producer_pos and (limit is None or len(out) < limit):
                off = self.consumer_pos & self.mask
                hdr = self._get_u32(off)
                if hdr & BPF_RINGBUF_BUSY_BIT:
                    break
                size = hdr & ~BPF_RINGBUF_DISCARD_BIT
                if not hdr & BPF_RINGBUF_DISCARD_BIT:
                    out.append(self._read(off + BPF_RINGBUF_HDR_SZ, size))
                self.consumer_pos += round_up(size + BPF_RINGBUF_HDR_SZ, 8)
        return out

    def __iter__(self) -> Iterator[Any]:
        """Iterating a ring buffer consumes it: records, decoded with value_codec if set."""
        return iter([self._decode_one(r) for r in self.consume()])

    def _count(self) -> int:
        """Records waiting for the consumer (submitted, discarded or busy)."""
        n, pos = 0, self.consumer_pos
        while pos < self.producer_pos:
            size = self._get_u32(pos & self.mask) & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)
            pos += round_up(size + BPF_RINGBUF_HDR_SZ, 8)
            n += 1
        return n

    def _no_elements(self) -> MapNotSupportedError:
        why = "ring buffers have no elements; use reserve/output/consume"
        return MapNotSupportedError(why, errno=ENOTSUPP)

    def _lookup(self, key: bytes, flags: int) -> bytes:
        raise self._no_elements()

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        raise self._no_elements()

    def _delete(self, key: bytes) -> None:
        raise self._no_elements()

    def _get_next_key(self, key: bytes | None) -> bytes:
        raise self._no_elements()

    def _clear(self) -> None:
        raise MapInvalidError("a ring buffer is emptied by consume(), not clear()")

    # -- byte helpers ----------------------------------------------------------------------

    def _pos_of(self, off: int) -> int:
        """The position of the record at ring offset ``off`` (it lies in [consumer, producer))."""
        base = self.consumer_pos & ~self.mask
        pos = base + off
        return pos if pos >= self.consumer_pos else pos + self.size

    def _put_u32(self, off: int, value: int) -> None:
        self.data[off : off + 4] = value.to_bytes(4, "little")

    def _get_u32(self, off: int) -> int:
        return int.from_bytes(self.data[off : off + 4], "little")

    def _read(self, off: int, size: int) -> bytes:
        off &= self.mask
        if off + size <= self.size:
            return bytes(self.data[off : off + size])
        first = self.size - off
        return bytes(self.data[off : self.size]) + bytes(self.data[0 : size - first])
