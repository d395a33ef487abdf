"""Socket buffer helpers (net/core/filter.c): bytes, checksums, head/tail, VLAN.

The skb is the run's :class:`~pybpf.runtime.context.Packet` (``data`` ..
``data_end``) plus the ``__sk_buff`` ctx buffer, where the metadata
(``vlan_*``, ``len`` ...) lives.  test_run skbs are linear and their
``ip_summed`` is CHECKSUM_NONE, so the checksum helpers only rewrite the
packet's checksum field (no ``skb->csum`` bookkeeping).
"""

from __future__ import annotations

import errno as E

from ...isa.helper_ids import HelperId as H
from ...platform.contexts import SK_BUFF
from ..helpers import HelperContext
from . import csum
from .env import Env, neg

__all__ = ["BPF_SKB_MAX_LEN", "HELPERS"]

BPF_F_RECOMPUTE_CSUM = 1 << 0
BPF_F_INVALIDATE_HASH = 1 << 1
BPF_F_HDR_FIELD_MASK = 0xF
BPF_F_PSEUDO_HDR = 1 << 4
BPF_F_MARK_MANGLED_0 = 1 << 5
BPF_F_MARK_ENFORCE = 1 << 6
BPF_F_IPV6 = 1 << 7
CSUM_MANGLED_0 = 0xFFFF
BPF_SKB_MAX_LEN = 16064  # SKB_MAX_ALLOC on x86_64 with 4 KiB pages
ETH_HLEN = 14
ETH_P_8021Q = 0x8100
ETH_P_8021AD = 0x88A8
VLAN_ETH_HLEN = 18


def _u32(v: int) -> int:
    return v & 0xFFFF_FFFF


def skb_load_bytes(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    off, size = _u32(r2), _u32(r4)
    pkt = env.packet()
    if off > 0x7FFF_FFFF or off + size > pkt.length:
        env.memory.write(r3, bytes(size))
        return neg(E.EFAULT)
    env.memory.write(r3, pkt.payload()[off:off + size])
    return 0


def skb_store_bytes(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    off, size = _u32(r2), _u32(r4)
    if r5 & ~(BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH):
        return neg(E.EINVAL)
    pkt = env.packet()
    if off > 0xFFFF or off + size > pkt.length:
        return neg(E.EFAULT)
    data = env.memory.read(r3, size)
    start = pkt.index(off)
    pkt.region.buffer[start:start + size] = data
    return 0


def _sum_field(env: Env, off: int) -> tuple[int, int] | None:
    pkt = env.packet()
    if off > 0xFFFF or off & 1 or off + 2 > pkt.length:
        return None
    at = pkt.index(off)
    return at, int.from_bytes(pkt.region.buffer[at:at + 2], "little")


def _replaced_sum(check: int, kind: int, old: int, new: int) -> int | None:
    """The checksum after replacing a ``kind``-byte field (0: ``new`` is a csum diff); None if invalid."""
    if kind == 0:
        return None if old else csum.csum_replace_by_diff(check, new)
    if kind == 2:
        return csum.csum_replace2(check, old & 0xFFFF, new & 0xFFFF)
    if kind == 4:
        return csum.csum_replace4(check, _u32(old), _u32(new))
    return None


def l3_csum_replace(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    off, flags = _u32(r2), r5
    if flags & ~BPF_F_HDR_FIELD_MASK:
        return neg(E.EINVAL)
    field = _sum_field(env, off)
    if field is None:
        return neg(E.EFAULT)
    at, check = field
    new = _replaced_sum(check, flags & BPF_F_HDR_FIELD_MASK, r3, r4)
    if new is None:
        return neg(E.EINVAL)
    env.packet().region.buffer[at:at + 2] = new.to_bytes(2, "little")
    return 0


def l4_csum_replace(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    off, flags = _u32(r2), r5
    if flags & ~(BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE | BPF_F_PSEUDO_HDR | BPF_F_HDR_FIELD_MASK
                 | BPF_F_IPV6):
        return neg(E.EINVAL)
    field = _sum_field(env, off)
    if field is None:
        return neg(E.EFAULT)
    at, check = field
    mangled0 = bool(flags & BPF_F_MARK_MANGLED_0)
    if mangled0 and not flags & BPF_F_MARK_ENFORCE and check == 0:
        return 0  # UDP without checksum stays without
    # ip_summed is CHECKSUM_NONE in test runs: the pseudo-header flag changes nothing else.
    new = _replaced_sum(check, flags & BPF_F_HDR_FIELD_MASK, r3, r4)
    if new is None:
        return neg(E.EINVAL)
    if mangled0 and new == 0:
        new = CSUM_MANGLED_0
    env.packet().region.buffer[at:at + 2] = new.to_bytes(2, "little")
    return 0


def csum_diff(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """bpf_csum_diff() as 6.18 computes it: csum_partial of both buffers, folded to 16 bits.

    Since 6.13 the helper no longer copies into a 512-byte scratch area: sizes
    need not be multiples of 4 and the sum is folded (csum_from32to16).  The
    uapi documentation still describes the old -EINVAL rules; the kernel wins.
    """
    from_size, to_size = _u32(r2), _u32(r4)
    seed = _u32(r5)
    old = env.memory.read(r1, from_size) if from_size else b""
    new = env.memory.read(r3, to_size) if to_size else b""
    if from_size and to_size:
        ret = csum.csum_sub(csum.csum_partial(new, seed), csum.csum_partial(old, 0))
    elif to_size:
        ret = csum.csum_partial(new, seed)
    elif from_size:
        ret = ~csum.csum_partial(old, ~seed & 0xFFFF_FFFF) & 0xFFFF_FFFF
    else:
        ret = seed
    return csum.from32to16(ret)


def _min_len(env: Env) -> int:
    # __bpf_skb_min_len(): the network header offset (the L2 header for tc, 0 for socket filters).
    return ETH_HLEN if env.run.prog_type in (3, 4) else 0


def skb_change_tail(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    new_len = _u32(r2)
    pkt = env.packet()
    if r3 or new_len > BPF_SKB_MAX_LEN or new_len < _min_len(env):
        return neg(E.EINVAL)
    data = pkt.payload()
    data = data[:new_len] + bytes(max(0, new_len - len(data)))
    pkt.replace(bytearray(data), 0)
    return 0


def skb_change_head(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    room = _u32(r2)
    pkt = env.packet()
    new_len = pkt.length + room
    if r3 or new_len > BPF_SKB_MAX_LEN or new_len > 0xFFFF_FFFF:
        return neg(E.EINVAL)
    pkt.replace(bytearray(bytes(room) + pkt.payload()), 0)
    return 0


def _ctx_u32(env: Env, name: str, value: int | None = None) -> int:
    """Read (or, with ``value``, write) a u32 field of the run's __sk_buff."""
    ctx = env.run.ctx
    assert ctx is not None
    off = SK_BUFF.offsetof(name)
    if value is not None:
        ctx.buffer[off:off + 4] = (value & 0xFFFF_FFFF).to_bytes(4, "little")
    return int.from_bytes(ctx.buffer[off:off + 4], "little")


def _be16(raw: int) -> int:
    """A __be16 as a u32 ctx load sees it -> its numeric value."""
    return int.from_bytes((raw & 0xFFFF).to_bytes(2, "little"), "big")


def _raw16(value: int) -> int:
    return int.from_bytes(value.to_bytes(2, "big"), "little")


def _set_tag(env: Env, present: int, tci: int = 0, proto: int = 0) -> None:
    # __sk_buff.vlan_proto reads the raw __be16; vlan_tci the host-order TCI
    _ctx_u32(env, "vlan_present", present)
    _ctx_u32(env, "vlan_tci", tci)
    _ctx_u32(env, "vlan_proto", _raw16(proto) if present else 0)


def _pop_from_data(env: Env) -> tuple[int, int] | None:
    """__skb_vlan_pop(): remove the tag after the MACs; (tci, inner proto) or None if too short."""
    pkt = env.packet()
    data = pkt.payload()
    if len(data) < VLAN_ETH_HLEN:
        return None
    tci = int.from_bytes(data[14:16], "big")
    inner = int.from_bytes(data[16:18], "big")
    pkt.replace(bytearray(data[:12] + data[16:]), 0)
    # vlan_set_encap_proto(): below 0x600 the encapsulated field is a length
    _ctx_u32(env, "protocol", _raw16(inner if inner >= 0x600 else 0x0004))
    return tci, inner


def skb_vlan_push(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    proto = _be16(r2)
    if proto not in (ETH_P_8021Q, ETH_P_8021AD):
        # bpf_skb_vlan_push() quietly uses 802.1Q for any other protocol (the helper
        # documentation does not say so; the kernel wins)
        proto = ETH_P_8021Q
    pkt = env.packet()
    if _ctx_u32(env, "vlan_present"):
        # The tag already offloaded goes into the packet first (__vlan_insert_inner_tag).
        old_proto = _be16(_ctx_u32(env, "vlan_proto"))
        data = pkt.payload()
        if len(data) < 2 * 6:
            return neg(E.ENOMEM)
        tag = old_proto.to_bytes(2, "big") + (_ctx_u32(env, "vlan_tci") & 0xFFFF).to_bytes(2, "big")
        pkt.replace(bytearray(data[:12] + tag + data[12:]), 0)
        _ctx_u32(env, "protocol", _raw16(old_proto))
    _set_tag(env, 1, r3 & 0xFFFF, proto)
    return 0


def skb_vlan_pop(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    if _ctx_u32(env, "vlan_present"):
        _set_tag(env, 0)
    else:
        if _be16(_ctx_u32(env, "protocol")) not in (ETH_P_8021Q, ETH_P_8021AD):
            return 0
        if _pop_from_data(env) is None:
            return neg(E.ENOMEM)
    # the next tag in the packet, if any, moves to the offloaded one
    vlan_proto = _be16(_ctx_u32(env, "protocol"))
    if vlan_proto not in (ETH_P_8021Q, ETH_P_8021AD):
        return 0
    popped = _pop_from_data(env)
    if popped is None:
        return neg(E.ENOMEM)
    _set_tag(env, 1, popped[0], vlan_proto)
    return 0


HELPERS = {
    H.skb_load_bytes: skb_load_bytes, H.skb_store_bytes: skb_store_bytes,
    H.l3_csum_replace: l3_csum_replace, H.l4_csum_replace: l4_csum_replace, H.csum_diff: csum_diff,
    H.skb_change_tail: skb_change_tail, H.skb_change_head: skb_change_head,
    H.skb_vlan_push: skb_vlan_push, H.skb_vlan_pop: skb_vlan_pop,
}
