"""Ring buffer: record headers, reserve/submit/discard, wrap-around, overflow, query."""

from __future__ import annotations

import pytest

from pybpf.maps import MapSpec, MapType, RingBufMap, create_map
from pybpf.maps.errors import MapError, MapInvalidError
from pybpf.maps.ringbuf import (
    BPF_RB_AVAIL_DATA,
    BPF_RB_CONS_POS,
    BPF_RB_FORCE_WAKEUP,
    BPF_RB_NO_WAKEUP,
    BPF_RB_PROD_POS,
    BPF_RB_RING_SIZE,
    BPF_RINGBUF_BUSY_BIT,
    BPF_RINGBUF_DISCARD_BIT,
)


def rb(size: int = 4096) -> RingBufMap:
    m = create_map(MapSpec("rb", MapType.RINGBUF, 0, 0, size))
    assert isinstance(m, RingBufMap)
    return m


def hdr(m: RingBufMap, pos: int) -> int:
    return int.from_bytes(m.data[pos & m.mask : (pos & m.mask) + 4], "little")


def test_reserve_submit_header_bits_and_consume() -> None:
    m = rb()
    r = m.reserve(5)
    assert r is not None and r.pos == 0 and r.ref.offset == 8 and r.ref.size == 5
    assert hdr(m, 0) == 5 | BPF_RINGBUF_BUSY_BIT
    assert m.query(BPF_RB_PROD_POS) == 16  # 8-byte header + 5 rounded up to 8
    r.ref.buffer[r.ref.offset : r.ref.offset + 5] = b"hello"
    assert m.consume() == []  # busy record blocks the consumer
    m.submit(r)
    assert hdr(m, 0) == 5
    assert m.query(BPF_RB_AVAIL_DATA) == 16
    assert m.consume() == [b"hello"]
    assert m.query(BPF_RB_CONS_POS) == 16 and m.query(BPF_RB_AVAIL_DATA) == 0
    assert m.query(BPF_RB_RING_SIZE) == 4096 and m.query(99) == 0


def test_discarded_records_are_skipped_and_order_kept() -> None:
    m = rb()
    a, b, c = m.reserve(1), m.reserve(2), m.reserve(3)
    assert a and b and c
    m.submit(c)
    m.discard(b)
    assert m.consume() == []  # a is still busy
    m.submit(a)
    assert hdr(m, b.pos) & BPF_RINGBUF_DISCARD_BIT
    assert m.consume() == [b"\0", b"\0\0\0"]
    with pytest.raises(MapInvalidError):
        m.submit(a)  # already committed


def test_overflow_returns_none_and_output_eagain() -> None:
    m = rb()
    assert m.reserve(4096) is None  # bigger than the ring
    assert m.reserve(4096 - 8) is None  # would fill it completely: producer must stay < size ahead
    big = m.reserve(4096 - 16)
    assert big is not None
    assert m.reserve(0) is None
    assert m.output(b"x") == -11
    assert m.output(b"x", flags=4) == -22
    assert m.reserve(8, flags=1) is None  # reserve flags must be 0
    m.submit(big)
    assert len(m.consume()) == 1
    assert m.output(b"x") == 0


def test_wrap_around_record_is_contiguous_for_the_program() -> None:
    m = rb()
    for _ in range(3):
        r = m.reserve(1000 - 8)
        assert r is not None
        m.submit(r)
    m.consume()
    r = m.reserve(2000)  # header at 3000, sample runs past the end of the ring
    assert r is not None and r.ref.offset + r.ref.size > 4096
    payload = bytes(range(256)) * 7 + bytes(208)
    r.ref.buffer[r.ref.offset : r.ref.offset + 2000] = payload[:2000]
    m.submit(r)
    assert m.consume() == [payload[:2000]]
    # the part past the end was folded back to the start of the ring
    tail = 3000 + 8 + 2000 - 4096
    assert bytes(m.data[:tail]) == payload[2000 - tail : 2000]


def test_wakeups() -> None:
    m = rb()
    seen: list[int] = []
    m.on_wakeup(lambda: seen.append(1))
    assert m.output(b"a") == 0  # consumer waits right at this record: wake
    assert m.output(b"b") == 0  # consumer is behind: no wake-up needed
    assert m.output(b"c", BPF_RB_FORCE_WAKEUP) == 0
    m.consume()
    assert m.output(b"d", BPF_RB_NO_WAKEUP) == 0
    assert m.wakeups == 2 and len(seen) == 2


def test_many_records_in_order_and_iteration() -> None:
    m = rb()
    sent: list[bytes] = []
    for i in range(500):
        data = bytes([i % 256]) * (i % 13)
        if m.output(data) != 0:
            assert m.consume() == sent
            sent = []
            assert m.output(data) == 0
        sent.append(data)
    assert list(m) == sent
    assert len(m) == 0


def test_ringbuf_has_no_element_commands() -> None:
    m = rb()
    with pytest.raises(MapError) as ei:
        m.lookup(None)
    assert ei.value.errno in (95, 524)
    for op in (lambda: m.update(None, b""), lambda: m.delete(None), lambda: m.get_next_key(None)):
        with pytest.raises(MapError) as e2:
            op()
        assert e2.value.errno == 524  # as the kernel answers
