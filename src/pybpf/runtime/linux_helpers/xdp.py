"""XDP helpers (net/core/filter.c): adjust_head, adjust_meta, adjust_tail.

The XDP packet's region starts at ``data_hard_start``; ``head``/``meta`` are
the offsets of ``data``/``data_meta`` and the region ends at ``data_end``.
The frame is ``XDP_FRAME_SIZE`` bytes up to its hard end (the page minus the
skb_shared_info tailroom, as BPF_PROG_TEST_RUN builds it).
"""

from __future__ import annotations

import errno as E

from ...isa.helper_ids import HelperId as H
from ..helpers import HelperContext
from .env import Env, neg

__all__ = ["HELPERS", "XDP_FRAME_SIZE", "XDP_PACKET_HEADROOM"]

XDP_PACKET_HEADROOM = 256
SKB_SHARED_INFO = 320  # SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) on x86_64
XDP_FRAME_SIZE = 4096 - SKB_SHARED_INFO  # data_hard_start .. xdp_data_hard_end
XDP_FRAME_STRUCT = 40  # sizeof(struct xdp_frame), kept at the start of the headroom
ETH_HLEN = 14
ENOTSUPP = 524


def _s32(v: int) -> int:
    v &= 0xFFFF_FFFF
    return v - (1 << 32) if v >> 31 else v


def xdp_adjust_head(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    pkt = env.packet()
    offset = _s32(r2)
    metalen = pkt.head - pkt.meta
    data = pkt.head + offset
    if data < XDP_FRAME_STRUCT + metalen or data > pkt.frame_len - ETH_HLEN:
        return neg(E.EINVAL)
    frame = pkt.frame()
    if metalen:  # the metadata moves with data
        frame[pkt.meta + offset:pkt.meta + offset + metalen] = frame[pkt.meta:pkt.head]
    pkt.replace(frame, data, pkt.meta + offset)
    return 0


def xdp_adjust_meta(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    pkt = env.packet()
    meta = pkt.meta + _s32(r2)
    metalen = pkt.head - meta
    if meta < XDP_FRAME_STRUCT or meta > pkt.head:
        return neg(E.EINVAL)
    if metalen & 3 or metalen > 32:
        return neg(E.EACCES)
    pkt.move(pkt.head, meta)
    return 0


def xdp_adjust_tail(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    pkt = env.packet()
    offset = _s32(r2)
    new_end = pkt.frame_len + offset
    if new_end > XDP_FRAME_SIZE or new_end < pkt.head + ETH_HLEN:
        return neg(E.EINVAL)
    frame = pkt.frame()[:new_end] + bytes(max(0, offset))  # growth is zeroed, as the kernel does
    pkt.replace(frame, pkt.head, pkt.meta)
    return 0


HELPERS = {
    H.xdp_adjust_head: xdp_adjust_head, H.xdp_adjust_meta: xdp_adjust_meta,
    H.xdp_adjust_tail: xdp_adjust_tail,
}
