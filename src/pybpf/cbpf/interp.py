"""A classic BPF interpreter with the kernel's semantics.

Linux no longer interprets classic BPF: it converts it (``bpf_convert_filter``)
and runs the eBPF.  The rules below are those of the converted program, which
are what a socket filter really does:

* a packet load beyond the end (or at a negative offset that no SKF_NET_OFF /
  SKF_LL_OFF window covers) ends the filter with 0;
* ``div x`` / ``mod x`` with X = 0 end the filter with 0;
* shifts by X use the low 5 bits of X (eBPF's 32-bit ALU);
* ancillary loads (``ld [SKF_AD_OFF + n]``, any size) read the
  :class:`PacketMeta` the caller gives; the load size is ignored, as in the kernel;
* ``ld #len`` is ``skb->len`` (:attr:`PacketMeta.len`, default the data length).

Seccomp programs (after :func:`~pybpf.cbpf.checker.check_seccomp`) load
``struct seccomp_data`` fields with :data:`~pybpf.cbpf.checker.LDX_W_ABS` in
host (little-endian) order; run them with ``data`` = the 64-byte structure.

>>> from pybpf.cbpf.model import stmt
>>> run_filter([stmt(0x28, 12), stmt(0x16)], bytes(12) + b"\\x08\\x00")
2048
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import VmError
from .checker import LDX_W_ABS
from .model import (
    BPF_ABS,
    BPF_ALU,
    BPF_IMM,
    BPF_IND,
    BPF_JMP,
    BPF_LD,
    BPF_LDX,
    BPF_LEN,
    BPF_MEM,
    BPF_MISC,
    BPF_MSH,
    BPF_RET,
    BPF_ST,
    BPF_STX,
    BPF_X,
    CODES,
    SKF_AD_OFF,
    SKF_LL_OFF,
    SKF_NET_OFF,
    Anc,
    SockFilter,
    ancillary,
)

__all__ = ["PacketMeta", "run_filter", "packet_load"]

M32 = 0xFFFF_FFFF


@dataclass
class PacketMeta:
    """The skb metadata ancillary loads read, as a socket filter sees it.

    ``len`` defaults to the length of the data.  ``mac_offset`` and
    ``net_offset`` place the link-layer and network headers inside the data
    (for SKF_LL_OFF / SKF_NET_OFF loads); None means the header is not set
    and such loads end the filter with 0.  ``protocol``, ``vlan_tpid`` are
    host-order values (the kernel byte-swaps the be16 fields).  ``random`` and
    ``cpu`` supply SKF_AD_RANDOM / SKF_AD_CPU; ``nlattr``, ``nlattr_nest`` and
    ``pay_offset`` compute the helper-backed loads (A, X) -> value.
    """

    len: int | None = None
    protocol: int = 0
    pkttype: int = 0
    ifindex: int = 0
    mark: int = 0
    queue: int = 0
    hatype: int = 1  # ARPHRD_ETHER
    rxhash: int = 0
    cpu: int = 0
    vlan_tci: int = 0
    vlan_present: int = 0
    vlan_tpid: int = 0
    mac_offset: int | None = 0
    net_offset: int | None = None
    random: Callable[[], int] | None = None
    pay_offset: Callable[[bytes], int] | None = None
    nlattr: Callable[[bytes, int, int], int] | None = None
    nlattr_nest: Callable[[bytes, int, int], int] | None = None

    def skb_len(self, data: bytes) -> int:
        return len(data) if self.len is None else self.len


def packet_load(data: bytes, meta: PacketMeta, off: int, size: int) -> int | None:
    """Big-endian load at signed offset ``off``, or None where the kernel ends the filter.

    Negative offsets follow ``bpf_internal_load_pointer_neg_helper``:
    ``[SKF_NET_OFF, SKF_AD_OFF)`` is relative to the network header,
    ``[SKF_LL_OFF, SKF_NET_OFF)`` to the link-layer header, anything else fails.
    """
    if off < 0:
        if off >= SKF_NET_OFF and meta.net_offset is not None:
            off = meta.net_offset + off - SKF_NET_OFF
        elif SKF_LL_OFF <= off < SKF_NET_OFF and meta.mac_offset is not None:
            off = meta.mac_offset + off - SKF_LL_OFF
        else:
            return None
        if off < 0:
            return None
    if off + size > len(data):
        return None
    return int.from_bytes(data[off:off + size], "big")


def _signed32(v: int) -> int:
    v &= M32
    return v - (1 << 32) if v >> 31 else v


def _ancillary(anc: Anc, data: bytes, meta: PacketMeta, a: int, x: int) -> int:
    if anc is Anc.PROTOCOL:
        return meta.protocol & 0xFFFF
    if anc is Anc.PKTTYPE:
        return meta.pkttype & 7
    if anc is Anc.IFINDEX:
        return meta.ifindex & M32
    if anc is Anc.MARK:
        return meta.mark & M32
    if anc is Anc.QUEUE:
        return meta.queue & 0xFFFF
    if anc is Anc.HATYPE:
        return meta.hatype & 0xFFFF
    if anc is Anc.RXHASH:
        return meta.rxhash & M32
    if anc is Anc.CPU:
        return meta.cpu & M32
    if anc is Anc.ALU_XOR_X:
        return (a ^ x) & M32
    if anc is Anc.VLAN_TAG:
        return meta.vlan_tci & 0xFFFF
    if anc is Anc.VLAN_TAG_PRESENT:
        return 1 if meta.vlan_present else 0
    if anc is Anc.VLAN_TPID:
        return meta.vlan_tpid & 0xFFFF
    if anc is Anc.RANDOM:
        return (meta.random() if meta.random else random.getrandbits(32)) & M32
    if anc is Anc.PAY_OFFSET:
        return (meta.pay_offset(data) if meta.pay_offset else 0) & M32
    if anc is Anc.NLATTR:
        return (meta.nlattr(data, a, x) if meta.nlattr else 0) & M32
    # Anc.NLATTR_NEST
    return (meta.nlattr_nest(data, a, x) if meta.nlattr_nest else 0) & M32


def run_filter(prog: Sequence[SockFilter], data: bytes, meta: PacketMeta | None = None, *,
               max_steps: int = 1 << 20) -> int:
    """Run a checked classic program over ``data``; returns the 32-bit RET value.

    The program should have passed :func:`~pybpf.cbpf.checker.check` (jumps
    are only forward, so it always ends); an unknown opcode, a jump past the
    end or a missing RET raises :class:`~pybpf.errors.VmError` naming the pc.
    """
    meta = meta or PacketMeta()
    a = x = 0
    mem = [0] * 16
    pc = 0
    n = len(prog)
    steps = 0
    while pc < n:
        steps += 1
        if steps > max_steps:
            raise VmError(f"more than {max_steps} steps: program not checked?", pc=pc)
        f = prog[pc]
        code, k = f.code, f.k
        if code not in CODES and code != LDX_W_ABS:
            raise VmError(f"unknown classic opcode {code:#06x}", pc=pc)
        cls = code & 0x07
        pc += 1
        if cls == BPF_RET:
            return a if code & 0x18 == 0x10 else k
        if cls in (BPF_LD, BPF_LDX):
            mode = code & 0xE0
            if code == LDX_W_ABS:  # seccomp's rewritten field load: host order
                if k + 4 > len(data):
                    return 0
                a = int.from_bytes(data[k:k + 4], "little")
                continue
            info = CODES[code]
            if mode == BPF_IMM:
                val = k
            elif mode == BPF_MEM:
                val = mem[k]
            elif mode == BPF_LEN:
                val = meta.skb_len(data) & M32
            elif mode == BPF_ABS:
                anc = ancillary(k) if k >= (SKF_AD_OFF & M32) else None
                if anc is not None:
                    val = _ancillary(anc, data, meta, a, x)
                else:
                    got = packet_load(data, meta, _signed32(k), info.size)
                    if got is None:
                        return 0
                    val = got
            elif mode == BPF_IND:
                got = packet_load(data, meta, _signed32(x + k), info.size)
                if got is None:
                    return 0
                val = got
            elif mode == BPF_MSH:
                got = packet_load(data, meta, _signed32(k), 1)
                if got is None:
                    return 0
                val = (got & 0xF) << 2
            else:  # pragma: no cover - CODES has no other modes
                raise VmError(f"unknown load mode {mode:#x}", pc=pc - 1)
            if cls == BPF_LD:
                a = val
            else:
                x = val
        elif cls == BPF_ST:
            mem[k & 15] = a
        elif cls == BPF_STX:
            mem[k & 15] = x
        elif cls == BPF_ALU:
            op = code & 0xF0
            src = x if code & BPF_X else k
            if op == 0x00:
                a = (a + src) & M32
            elif op == 0x10:
                a = (a - src) & M32
            elif op == 0x20:
                a = (a * src) & M32
            elif op == 0x30:
                if src == 0:
                    return 0
                a //= src
            elif op == 0x90:
                if src == 0:
                    return 0
                a %= src
            elif op == 0x50:
                a &= src
            elif op == 0x40:
                a |= src
            elif op == 0xA0:
                a ^= src
            elif op == 0x60:
                a = (a << (src & 31)) & M32
            elif op == 0x70:
                a >>= src & 31
            elif op == 0x80:
                a = -a & M32
            else:
                raise VmError(f"unknown classic ALU opcode {code:#06x}", pc=pc - 1)
        elif cls == BPF_JMP:
            op = code & 0xF0
            if op == 0x00:
                pc += k
                continue
            src = x if code & BPF_X else k
            if op == 0x10:
                cond = a == src
            elif op == 0x20:
                cond = a > src
            elif op == 0x30:
                cond = a >= src
            elif op == 0x40:
                cond = bool(a & src)
            else:
                raise VmError(f"unknown classic jump opcode {code:#06x}", pc=pc - 1)
            pc += f.jt if cond else f.jf
        elif cls == BPF_MISC:
            if code & 0xF8 == 0x80:
                a = x
            else:
                x = a
    raise VmError("ran off the end of the program (no RET)", pc=n)
