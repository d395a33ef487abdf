"""Ring buffer and perf event output helpers (kernel/bpf/ringbuf.c, bpf_trace.c).

``bpf_ringbuf_reserve`` returns a pointer into the ring buffer's data region
(the map's buffer, mapped once); submit/discard find the record again from
that pointer.  A record left open at the end of the run is the program's bug
(the verifier refuses such programs): the run fails naming it.
"""

from __future__ import annotations

import errno as E

from ...isa.helper_ids import HelperId as H
from ...maps import PerfEventArrayMap, RingBufMap
from ..helpers import HelperContext
from .env import Env, neg

__all__ = ["HELPERS"]

BPF_F_CTXLEN_MASK = 0xFFFFF << 32


def _ringbuf(env: Env, addr: int) -> RingBufMap | None:
    m = env.maps.map_at(addr)
    return m if isinstance(m, RingBufMap) else None


def ringbuf_output(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    rb = _ringbuf(env, r1)
    if rb is None:
        return neg(E.EINVAL)
    return rb.output(env.memory.read(r2, r3 & 0xFFFF_FFFF), r4) & ((1 << 64) - 1)


def ringbuf_reserve(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    rb = _ringbuf(env, r1)
    if rb is None:
        return 0
    rec = rb.reserve(r2, r3)
    if rec is None:
        return 0
    addr = env.maps.value_pointer(rb, rec.ref)
    env.run.ringbuf_records[addr] = (rb, rec)
    return addr


def _commit(env: Env, addr: int, flags: int, discard: bool) -> int:
    got = env.run.ringbuf_records.pop(addr, None)
    if got is None:
        raise ValueError(f"{addr:#x} is not a reserved ring buffer record")
    rb, rec = got
    rb.commit(rec, flags, discard=discard)
    return 0


def ringbuf_submit(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    return _commit(env, r1, r2, False)


def ringbuf_discard(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    return _commit(env, r1, r2, True)


def ringbuf_query(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    rb = _ringbuf(env, r1)
    return 0 if rb is None else rb.query(r2)


def perf_event_output(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """bpf_perf_event_output(ctx, map, flags, data, size); skb/xdp programs may append packet bytes."""
    m = env.maps.map_at(r2)
    if not isinstance(m, PerfEventArrayMap):
        return neg(E.EINVAL)
    data = env.memory.read(r4, r5 & 0xFFFF_FFFF)
    ctx_len = (r3 & BPF_F_CTXLEN_MASK) >> 32
    if ctx_len:
        pkt = env.run.packet
        if pkt is None:
            return neg(E.EINVAL)  # only skb/xdp programs may pass BPF_F_CTXLEN_MASK
        if ctx_len > pkt.length:
            return neg(E.EFAULT)
        data += pkt.payload()[:ctx_len]
    return m.output(data, r3 & 0xFFFF_FFFF, cpu=env.cpu) & ((1 << 64) - 1)


HELPERS = {
    H.ringbuf_output: ringbuf_output, H.ringbuf_reserve: ringbuf_reserve,
    H.ringbuf_submit: ringbuf_submit, H.ringbuf_discard: ringbuf_discard,
    H.ringbuf_query: ringbuf_query, H.perf_event_output: perf_event_output,
}
