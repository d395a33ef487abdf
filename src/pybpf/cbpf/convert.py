"""Classic BPF -> eBPF, as the kernel's ``bpf_convert_filter`` does it.

Register mapping (include/linux/filter.h, kernel 6.18): A = r0, X = r7,
ctx = r6 (copied from r1 by the prologue), tmp = r2, scratch cell M[k] at
``r10 - (4k + 4)``.  Older kernels and some documents name r8 as the scratch
register; 6.18 uses r2 (r8/r9 hold the cached skb->data and headlen of the
inlined packet loads there), and the kernel wins.

Differences from the in-kernel conversion, each because the result must load
from user space (BPF_PROG_TYPE_SOCKET_FILTER) and pass pybpf's checks:

* packet loads stay eBPF ``LD_ABS``/``LD_IND`` (the shape before 4.18): the
  kernel now inlines them with calls to its internal ``bpf_skb_load_helper_*``,
  which user programs cannot call; the verifier rewrites LD_ABS the same way;
* ancillary loads read ``struct __sk_buff`` (the user-visible ctx) instead of
  ``struct sk_buff``; cpu and random call the public helpers
  ``get_smp_processor_id`` (8) and ``get_prandom_u32`` (7), which are the
  functions the kernel calls; hatype, pay_offset, nlattr and nlattr_nest have
  no public equivalent and call the private ids in :data:`CBPF_HELPERS`
  (pybpf-only: such programs do not load into a kernel);
* unused fields are zero (``src`` of K forms, ``imm`` of X forms, NEG), where
  the kernel's raw copy leaves ``X``/``k`` in them because it skips the verifier;
* the prologue clears A and X with ``mov32 r, 0`` rather than ``xor32 r, r``
  (the verifier refuses reading an uninitialised register).

Everything else (prologue, jump rewriting into Jxx/JNE/JLE/JLT + JA, the
``(int)k < 0`` compare through tmp, the div/mod-by-X guard, MSH, RET) is the
kernel's sequence instruction for instruction.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from types import MappingProxyType

from ..errors import EncodeError
from ..isa import Insn, Program
from .checker import LDX_W_ABS, FilterError
from .interp import PacketMeta
from .model import (
    BPF_ABS,
    BPF_ALU,
    BPF_DIV,
    BPF_IMM,
    BPF_IND,
    BPF_JA,
    BPF_JEQ,
    BPF_JGE,
    BPF_JGT,
    BPF_JMP,
    BPF_LD,
    BPF_LDX,
    BPF_LEN,
    BPF_MEM,
    BPF_MISC,
    BPF_MOD,
    BPF_MSH,
    BPF_NEG,
    BPF_RET,
    BPF_ST,
    BPF_STX,
    BPF_X,
    CODES,
    SKF_AD_OFF,
    Anc,
    SockFilter,
    ancillary,
)

__all__ = ["REG_A", "REG_X", "REG_TMP", "REG_CTX", "CBPF_HELPERS", "HELPER_GET_PRANDOM_U32",
           "HELPER_GET_SMP_PROCESSOR_ID", "SK_BUFF", "SK_BUFF_SIZE", "convert", "prune_unreachable",
           "sk_buff_ctx"]

REG_A, REG_X, REG_TMP, REG_CTX, REG_FP = 0, 7, 2, 6, 10
HELPER_GET_PRANDOM_U32 = 7
HELPER_GET_SMP_PROCESSOR_ID = 8
# Private helper ids (above every Linux helper) for the kernel-internal functions
# bpf_skb_get_pay_offset, bpf_skb_get_nlattr, bpf_skb_get_nlattr_nest and skb->dev->type.
CBPF_HELPERS: MappingProxyType[Anc, tuple[int, str]] = MappingProxyType({
    Anc.PAY_OFFSET: (0x7FFF_FF00, "cbpf_skb_get_pay_offset"),
    Anc.NLATTR: (0x7FFF_FF01, "cbpf_skb_get_nlattr"),
    Anc.NLATTR_NEST: (0x7FFF_FF02, "cbpf_skb_get_nlattr_nest"),
    Anc.HATYPE: (0x7FFF_FF03, "cbpf_skb_dev_type"),
})

# struct __sk_buff offsets (include/uapi/linux/bpf.h) of the fields conversion reads.
SK_BUFF: MappingProxyType[str, int] = MappingProxyType({
    "len": 0, "pkt_type": 4, "mark": 8, "queue_mapping": 12, "protocol": 16, "vlan_present": 20,
    "vlan_tci": 24, "vlan_proto": 28, "priority": 32, "ingress_ifindex": 36, "ifindex": 40,
    "tc_index": 44, "cb": 48, "hash": 68, "tc_classid": 72, "data": 76, "data_end": 80,
})
SK_BUFF_SIZE = 192

_ANC_FIELD = {Anc.PKTTYPE: "pkt_type", Anc.IFINDEX: "ifindex", Anc.MARK: "mark",
              Anc.QUEUE: "queue_mapping", Anc.RXHASH: "hash", Anc.VLAN_TAG: "vlan_tci",
              Anc.VLAN_TAG_PRESENT: "vlan_present"}
_ANC_BE16 = {Anc.PROTOCOL: "protocol", Anc.VLAN_TPID: "vlan_proto"}

# eBPF opcodes used by the conversion.
_ALU32_K, _ALU32_X, _ALU64_K, _ALU64_X = 0x04, 0x0C, 0x07, 0x0F
_MOV, _XOR, _AND, _LSH, _SUB = 0xB0, 0xA0, 0x50, 0x60, 0x10
_LDXW, _STXW, _EXIT, _CALL, _BE16 = 0x61, 0x63, 0x95, 0x85, 0xDC
_JNE, _JLT, _JLE = 0x50, 0xA0, 0xB0


def _mov32_imm(dst: int, imm: int) -> Insn:
    return Insn(_ALU32_K | _MOV, dst=dst, imm=imm & 0xFFFF_FFFF)


def _mov64_reg(dst: int, src: int) -> Insn:
    return Insn(_ALU64_X | _MOV, dst=dst, src=src)


def _alu32_reg(op: int, dst: int, src: int) -> Insn:
    return Insn(_ALU32_X | op, dst=dst, src=src)


def _ldxw(dst: int, src: int, off: int) -> Insn:
    return Insn(_LDXW, dst=dst, src=src, off=off)


class _Jump:
    """A jump whose offset is known once every classic instruction has its address."""

    __slots__ = ("insn", "target")

    def __init__(self, insn: Insn, target: int) -> None:
        self.insn = insn
        self.target = target


_Item = Insn | _Jump


def _extension(anc: Anc) -> list[_Item]:
    """``convert_bpf_extensions`` over ``struct __sk_buff``."""
    if anc in _ANC_BE16:
        # A = ntohs(field): the kernel's ldxh + be16; a 32-bit read of the
        # __sk_buff field gives the same low 16 bits.
        return [_ldxw(REG_A, REG_CTX, SK_BUFF[_ANC_BE16[anc]]), Insn(_BE16, dst=REG_A, imm=16)]
    if anc in _ANC_FIELD:
        return [_ldxw(REG_A, REG_CTX, SK_BUFF[_ANC_FIELD[anc]])]
    if anc is Anc.ALU_XOR_X:
        return [_alu32_reg(_XOR, REG_A, REG_X)]
    # arg1 = ctx, arg2 = A, arg3 = X, then the call.
    if anc is Anc.CPU:
        helper = HELPER_GET_SMP_PROCESSOR_ID
    elif anc is Anc.RANDOM:
        helper = HELPER_GET_PRANDOM_U32
    else:
        helper = CBPF_HELPERS[anc][0]
    return [_mov64_reg(1, REG_CTX), _mov64_reg(2, REG_A), _mov64_reg(3, REG_X), Insn(_CALL, imm=helper)]


def _one(pc: int, f: SockFilter) -> list[_Item]:
    code, k = f.code, f.k
    cls = code & 0x07
    info = CODES.get(code)
    if code == LDX_W_ABS:  # seccomp_data field (after check_seccomp's rewrite)
        return [_ldxw(REG_A, REG_CTX, k)]
    if info is None:
        raise FilterError(f"unknown opcode {code:#06x}", pc=pc, insn=f)
    if cls == BPF_ALU:
        op = code & 0xF0
        out: list[_Item] = []
        if op == BPF_NEG:
            return [Insn(_ALU32_K | BPF_NEG, dst=REG_A)]
        if code & BPF_X:
            if op in (BPF_DIV, BPF_MOD):
                # Classic BPF returned 0 on division by X = 0; keep that before the eBPF op.
                out += [Insn(_ALU32_X | _MOV, dst=REG_X, src=REG_X),
                        Insn(BPF_JMP | _JNE, dst=REG_X, off=2),
                        _alu32_reg(_XOR, REG_A, REG_A), Insn(_EXIT)]
            out.append(Insn(code, dst=REG_A, src=REG_X))
        else:
            out.append(Insn(code, dst=REG_A, imm=k))
        return out
    if cls == BPF_LD and info.mode in (BPF_ABS, BPF_IND):
        if info.mode == BPF_ABS and k >= (SKF_AD_OFF & 0xFFFF_FFFF):
            anc = ancillary(k)
            if anc is None:
                raise FilterError("unknown ancillary load", pc=pc, insn=f)
            return _extension(anc)
        return [Insn(code, src=REG_X if info.mode == BPF_IND else 0, imm=k)]
    if code == BPF_LDX | BPF_MSH | 0x10:
        # X = 4 * (P[k:1] & 0xf), through A and tmp as the kernel does.
        return [_mov64_reg(REG_X, REG_A), Insn(BPF_LD | BPF_ABS | 0x10, imm=k),
                Insn(_ALU32_K | _AND, dst=REG_A, imm=0xF), Insn(_ALU32_K | _LSH, dst=REG_A, imm=2),
                _mov64_reg(REG_TMP, REG_X), _mov64_reg(REG_X, REG_A), _mov64_reg(REG_A, REG_TMP)]
    if cls in (BPF_LD, BPF_LDX):
        dst = REG_A if cls == BPF_LD else REG_X
        if info.mode == BPF_IMM:
            return [_mov32_imm(dst, k)]
        if info.mode == BPF_MEM:
            return [_ldxw(dst, REG_FP, -(k * 4 + 4))]
        if info.mode == BPF_LEN:
            return [_ldxw(dst, REG_CTX, SK_BUFF["len"])]
    if cls in (BPF_ST, BPF_STX):
        return [Insn(_STXW, dst=REG_FP, src=REG_A if cls == BPF_ST else REG_X, off=-(k * 4 + 4))]
    if cls == BPF_MISC:
        return [_mov64_reg(REG_A, REG_X) if code & 0x80 else _mov64_reg(REG_X, REG_A)]
    if cls == BPF_RET:
        if code & 0x18 == 0x10:  # RET A: A is already r0
            return [Insn(_EXIT)]
        return [_mov32_imm(REG_A, k), Insn(_EXIT)]
    if cls == BPF_JMP:
        return _jump(pc, f)
    raise FilterError(f"opcode {code:#06x} has no conversion", pc=pc, insn=f)  # pragma: no cover


def _jump(pc: int, f: SockFilter) -> list[_Item]:
    code, k = f.code, f.k
    op = code & 0xF0
    if op == BPF_JA:
        return [_Jump(Insn(BPF_JMP | BPF_JA), pc + 1 + k)]
    out: list[_Item] = []
    if not code & BPF_X and k >> 31:
        # eBPF immediates are sign-extended: compare against the zero-extended k in tmp.
        out.append(_mov32_imm(REG_TMP, k))
        src, imm, srcbit = REG_TMP, 0, BPF_X
    elif code & BPF_X:
        src, imm, srcbit = REG_X, 0, BPF_X
    else:
        src, imm, srcbit = 0, k, 0
    if f.jf == 0:  # common case: false falls through
        out.append(_Jump(Insn(BPF_JMP | op | srcbit, dst=REG_A, src=src, imm=imm), pc + 1 + f.jt))
        return out
    inverse = {BPF_JEQ: _JNE, BPF_JGT: _JLE, BPF_JGE: _JLT}.get(op)
    if f.jt == 0 and inverse is not None:  # true falls through: invert the test
        out.append(_Jump(Insn(BPF_JMP | inverse | srcbit, dst=REG_A, src=src, imm=imm), pc + 1 + f.jf))
        return out
    out.append(_Jump(Insn(BPF_JMP | op | srcbit, dst=REG_A, src=src, imm=imm), pc + 1 + f.jt))
    out.append(_Jump(Insn(BPF_JMP | BPF_JA), pc + 1 + f.jf))
    return out


def prune_unreachable(prog: Sequence[SockFilter]) -> list[SockFilter]:
    """``prog`` without the instructions no path reaches, jumps renumbered.

    Classic checkers accept dead code (after a RET); the eBPF verifier refuses
    it ("unreachable insn"), so a program meant for BPF_PROG_LOAD drops it first.
    """
    reach = [False] * len(prog)
    todo = [0] if prog else []
    while todo:
        pc = todo.pop()
        if pc >= len(prog) or reach[pc]:
            continue
        reach[pc] = True
        f = prog[pc]
        cls = f.code & 0x07
        if cls == BPF_RET:
            continue
        if cls == BPF_JMP and f.code & 0xF0 == BPF_JA:
            todo.append(pc + 1 + f.k)
        elif cls == BPF_JMP:
            todo += [pc + 1 + f.jt, pc + 1 + f.jf]
        else:
            todo.append(pc + 1)
    index: list[int] = []
    count = 0
    for alive in reach:
        index.append(count)
        count += alive
    index.append(count)
    out = []
    for pc, f in enumerate(prog):
        if not reach[pc]:
            continue
        cls = f.code & 0x07
        if cls == BPF_JMP and f.code & 0xF0 == BPF_JA:
            f = SockFilter(f.code, f.jt, f.jf, index[min(pc + 1 + f.k, len(prog))] - index[pc] - 1)
        elif cls == BPF_JMP:
            jt = index[pc + 1 + f.jt] - index[pc] - 1
            f = SockFilter(f.code, jt, index[pc + 1 + f.jf] - index[pc] - 1, f.k)
        out.append(f)
    return out


def convert(prog: Sequence[SockFilter], *, name: str = "cbpf", prune: bool = False) -> Program:
    """The eBPF program equivalent to the (checked) classic ``prog``.

    Run it with r1 = a ``struct __sk_buff`` (see :func:`sk_buff_ctx`) and the
    packet for LD_ABS/LD_IND; it returns what the classic program returns.
    ``meta["cbpf_pc"]`` of each instruction names the classic pc it came from
    (of the pruned program with ``prune=True``, which first drops dead code
    with :func:`prune_unreachable` so the kernel's verifier accepts the result).
    """
    if prune:
        prog = prune_unreachable(prog)
    # The kernel clears A and X with ``xor32 r, r``; the verifier refuses that read of
    # an uninitialised register, so a loadable program clears them with ``mov32 r, 0``.
    prologue: list[Insn] = [_mov32_imm(REG_A, 0), _mov32_imm(REG_X, 0), _mov64_reg(REG_CTX, 1)]
    pieces = [_one(pc, f) for pc, f in enumerate(prog)]
    addrs: list[int] = []
    at = len(prologue)
    for piece in pieces:
        addrs.append(at)
        at += len(piece)
    insns: list[Insn] = list(prologue)
    for pc, piece in enumerate(pieces):
        for item in piece:
            here = len(insns)
            if isinstance(item, _Jump):
                if not 0 <= item.target < len(prog):
                    raise FilterError(f"jump to {item.target} is outside the program", pc=pc, insn=prog[pc])
                off = addrs[item.target] - here - 1
                if not -(1 << 15) <= off < (1 << 15):
                    raise EncodeError(f"converted jump offset {off} does not fit 16 bits", pc=pc)
                insn = item.insn.replace(off=off)
            else:
                insn = item
            insns.append(insn.with_meta(cbpf_pc=pc))
    return Program(insns, name=name)


def sk_buff_ctx(data: bytes, meta: PacketMeta | None = None) -> bytes:
    """A ``struct __sk_buff`` for running a converted program over ``data``.

    protocol and vlan_proto hold their be16 wire bytes, as the kernel's skb
    does (the converted code byte-swaps them); everything else is host order.
    """
    meta = meta or PacketMeta()
    buf = bytearray(SK_BUFF_SIZE)
    u32 = struct.Struct("<I")
    u32.pack_into(buf, SK_BUFF["len"], meta.skb_len(data) & 0xFFFF_FFFF)
    u32.pack_into(buf, SK_BUFF["pkt_type"], meta.pkttype & 7)
    u32.pack_into(buf, SK_BUFF["mark"], meta.mark & 0xFFFF_FFFF)
    u32.pack_into(buf, SK_BUFF["queue_mapping"], meta.queue & 0xFFFF)
    buf[SK_BUFF["protocol"]:SK_BUFF["protocol"] + 2] = (meta.protocol & 0xFFFF).to_bytes(2, "big")
    u32.pack_into(buf, SK_BUFF["vlan_present"], 1 if meta.vlan_present else 0)
    u32.pack_into(buf, SK_BUFF["vlan_tci"], meta.vlan_tci & 0xFFFF)
    buf[SK_BUFF["vlan_proto"]:SK_BUFF["vlan_proto"] + 2] = (meta.vlan_tpid & 0xFFFF).to_bytes(2, "big")
    u32.pack_into(buf, SK_BUFF["ifindex"], meta.ifindex & 0xFFFF_FFFF)
    u32.pack_into(buf, SK_BUFF["hash"], meta.rxhash & 0xFFFF_FFFF)
    return bytes(buf)
