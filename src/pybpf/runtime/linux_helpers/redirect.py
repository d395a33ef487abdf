"""Redirects and FIB lookups (net/core/filter.c).

A test run transmits nothing: redirects are recorded in the run (and the
result) and the helpers return what the kernel's would.
"""

from __future__ import annotations

import errno as E
import ipaddress

from ...isa.helper_ids import HelperId as H
from ...maps import CpuMap, DevMap, DevMapHash, XskMap
from ...maps.redirect import host_ifindexes
from ...platform import ProgType
from ..helpers import HelperContext
from .env import Env, Redirect, neg

__all__ = ["HELPERS"]

BPF_F_INGRESS = 1
BPF_F_BROADCAST = 1 << 3
BPF_F_EXCLUDE_INGRESS = 1 << 4
XDP_ABORTED, XDP_REDIRECT = 0, 4
TC_ACT_SHOT, TC_ACT_REDIRECT = 2, 7
XDP_ACTION_MASK = 0x3  # XDP_ABORTED | XDP_DROP | XDP_PASS | XDP_TX


def redirect(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    ifindex = r1 & 0xFFFF_FFFF
    if env.run.prog_type == ProgType.XDP:
        if r2:
            return XDP_ABORTED
        env.run.redirects.append(Redirect("redirect", ifindex, r2))
        return XDP_REDIRECT
    if r2 & ~BPF_F_INGRESS:
        return TC_ACT_SHOT
    env.run.redirects.append(Redirect("redirect", ifindex, r2))
    return TC_ACT_REDIRECT


def redirect_map(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    m = env.maps.require(r1)
    key = r2 & 0xFFFF_FFFF
    extra = BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS if isinstance(m, DevMap | DevMapHash) else 0
    if r3 & ~(XDP_ACTION_MASK | extra):
        return XDP_ABORTED
    if not isinstance(m, DevMap | DevMapHash | CpuMap | XskMap):
        return r3 & XDP_ACTION_MASK
    target = m.target(key.to_bytes(4, "little"))
    if target is None and not r3 & BPF_F_BROADCAST:
        return r3 & XDP_ACTION_MASK
    ifindex = int.from_bytes(target[:4], "little") if isinstance(target, bytes | bytearray) else 0
    env.run.redirects.append(Redirect("redirect_map", ifindex, r3, m.name, key))
    return XDP_REDIRECT


def clone_redirect(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    ifindex = r2 & 0xFFFF_FFFF
    if r3 & ~BPF_F_INGRESS:
        return neg(E.EINVAL)
    if ifindex not in host_ifindexes():
        return neg(E.EINVAL)
    env.run.redirects.append(Redirect("clone_redirect", ifindex, r3))
    return 0


# struct bpf_fib_lookup
_FAMILY, _IFINDEX, _SRC, _DST, _SMAC, _DMAC, _MTU = 0, 8, 16, 32, 52, 58, 6
BPF_FIB_LOOKUP_SIZE = 64
BPF_FIB_LKUP_RET_SUCCESS = 0
BPF_FIB_LKUP_RET_NOT_FWDED = 4
BPF_FIB_LKUP_RET_FRAG_NEEDED = 8
AF_INET, AF_INET6 = 2, 10


def fib_lookup(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    size = r3 & 0xFFFF_FFFF
    if size < BPF_FIB_LOOKUP_SIZE:
        return neg(E.EINVAL)
    params = bytearray(env.memory.read(r2, BPF_FIB_LOOKUP_SIZE))
    family = params[_FAMILY]
    if family == AF_INET:
        dst = bytes(params[_DST:_DST + 4])
    elif family == AF_INET6:
        dst = bytes(params[_DST:_DST + 16])
    else:
        return neg(E.EAFNOSUPPORT)
    route = env.fib.lookup(dst)
    if route is None:
        return BPF_FIB_LKUP_RET_NOT_FWDED
    tot_len = int.from_bytes(params[_MTU:_MTU + 2], "little")
    if tot_len and tot_len > route.mtu:
        params[_MTU:_MTU + 2] = route.mtu.to_bytes(2, "little")
        env.memory.write(r2, bytes(params))
        return BPF_FIB_LKUP_RET_FRAG_NEEDED
    params[_IFINDEX:_IFINDEX + 4] = route.ifindex.to_bytes(4, "little")
    params[_SMAC:_SMAC + 6] = route.smac[:6].ljust(6, b"\0")
    params[_DMAC:_DMAC + 6] = route.dmac[:6].ljust(6, b"\0")
    if route.gateway is not None:
        gw = ipaddress.ip_address(route.gateway).packed
        params[_DST:_DST + len(gw)] = gw
    env.memory.write(r2, bytes(params))
    return BPF_FIB_LKUP_RET_SUCCESS


HELPERS = {
    H.redirect: redirect, H.redirect_map: redirect_map, H.clone_redirect: clone_redirect,
    H.fib_lookup: fib_lookup,
}
