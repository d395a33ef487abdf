"""The classic BPF model: ``struct sock_filter`` and its opcode tables, as data.

A classic instruction is 8 bytes::

    +----------------+--------+--------+--------------------------------+
    |   code (u16)   | jt (u8)| jf (u8)|            k (u32)             |
    +----------------+--------+--------+--------------------------------+

``code`` keeps the eBPF field layout (class in bits 0-2, size/source in 3-4,
mode/op in 5-7) but the classes 6 and 7 mean RET and MISC.  Every code the
kernel accepts (``chk_code_allowed`` in net/core/filter.c) is one entry of
:data:`CODES`; the checker, interpreter, converter and formats all derive their
tables from it.

>>> SockFilter(0x06, 0, 0, 0xFFFF).name
'ret'
>>> CODES[0x28].operand
'[k]'
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType

__all__ = [
    "BPF_LD", "BPF_LDX", "BPF_ST", "BPF_STX", "BPF_ALU", "BPF_JMP", "BPF_RET", "BPF_MISC",
    "BPF_W", "BPF_H", "BPF_B", "BPF_IMM", "BPF_ABS", "BPF_IND", "BPF_MEM", "BPF_LEN", "BPF_MSH",
    "BPF_K", "BPF_X", "BPF_A", "BPF_TAX", "BPF_TXA",
    "BPF_ADD", "BPF_SUB", "BPF_MUL", "BPF_DIV", "BPF_OR", "BPF_AND", "BPF_LSH", "BPF_RSH",
    "BPF_NEG", "BPF_MOD", "BPF_XOR", "BPF_JA", "BPF_JEQ", "BPF_JGT", "BPF_JGE", "BPF_JSET",
    "BPF_MAXINSNS", "BPF_MEMWORDS", "SKF_AD_OFF", "SKF_NET_OFF", "SKF_LL_OFF", "SKF_AD_MAX",
    "Anc", "ANC_NAMES", "CodeInfo", "CODES", "SockFilter", "ancillary", "stmt", "jump",
]

# Classes (RET and MISC are classic-only names for eBPF's JMP32 and ALU64 slots).
BPF_LD, BPF_LDX, BPF_ST, BPF_STX, BPF_ALU, BPF_JMP, BPF_RET, BPF_MISC = range(8)
# Sizes and modes of loads.
BPF_W, BPF_H, BPF_B = 0x00, 0x08, 0x10
BPF_IMM, BPF_ABS, BPF_IND, BPF_MEM, BPF_LEN, BPF_MSH = 0x00, 0x20, 0x40, 0x60, 0x80, 0xA0
# Source of ALU/JMP operands, RET value source, MISC operations.
BPF_K, BPF_X, BPF_A = 0x00, 0x08, 0x10
BPF_TAX, BPF_TXA = 0x00, 0x80
# ALU operations.
BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND = 0x00, 0x10, 0x20, 0x30, 0x40, 0x50
BPF_LSH, BPF_RSH, BPF_NEG, BPF_MOD, BPF_XOR = 0x60, 0x70, 0x80, 0x90, 0xA0
# Jump operations.
BPF_JA, BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET = 0x00, 0x10, 0x20, 0x30, 0x40

BPF_MAXINSNS = 4096  # include/uapi/linux/bpf_common.h
BPF_MEMWORDS = 16  # M[0..15]

# Negative packet offsets select Linux extensions (include/uapi/linux/filter.h).
SKF_AD_OFF = -0x1000
SKF_AD_MAX = 64
SKF_NET_OFF = -0x100000
SKF_LL_OFF = -0x200000


class Anc(IntEnum):
    """The Linux ancillary loads: ``ld [SKF_AD_OFF + Anc.X]`` reads skb metadata."""

    PROTOCOL = 0
    PKTTYPE = 4
    IFINDEX = 8
    NLATTR = 12
    NLATTR_NEST = 16
    MARK = 20
    QUEUE = 24
    HATYPE = 28
    RXHASH = 32
    CPU = 36
    ALU_XOR_X = 40
    VLAN_TAG = 44
    VLAN_TAG_PRESENT = 48
    PAY_OFFSET = 52
    RANDOM = 56
    VLAN_TPID = 60

    @property
    def k(self) -> int:
        """The ``k`` operand (unsigned 32-bit) that selects this load."""
        return (SKF_AD_OFF + self.value) & 0xFFFF_FFFF


# bpf_asm's extension keywords (tools/bpf/bpf_exp.l); ``vlan_pr`` is an alias of vlan_avail.
ANC_NAMES: MappingProxyType[Anc, str] = MappingProxyType({
    Anc.PROTOCOL: "proto", Anc.PKTTYPE: "type", Anc.IFINDEX: "ifidx", Anc.NLATTR: "nla",
    Anc.NLATTR_NEST: "nlan", Anc.MARK: "mark", Anc.QUEUE: "queue", Anc.HATYPE: "hatype",
    Anc.RXHASH: "rxhash", Anc.CPU: "cpu", Anc.ALU_XOR_X: "xor_x", Anc.VLAN_TAG: "vlan_tci",
    Anc.VLAN_TAG_PRESENT: "vlan_avail", Anc.PAY_OFFSET: "poff", Anc.RANDOM: "rand",
    Anc.VLAN_TPID: "vlan_tpid",
})


def ancillary(k: int) -> Anc | None:
    """The ancillary load ``k`` selects, or None (plain offset or unknown extension)."""
    off = (k & 0xFFFF_FFFF) - ((SKF_AD_OFF) & 0xFFFF_FFFF)
    if 0 <= off < SKF_AD_MAX and off in Anc._value2member_map_:
        return Anc(off)
    return None


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """One valid classic opcode.

    ``name`` is the mnemonic tcpdump/bpf_asm print; ``operand`` is a pattern of
    what it reads: ``[k]`` packet at k, ``[x+k]``, ``M[k]``, ``#k``, ``x``,
    ``4*([k]&0xf)``, ``#len``, ``a``, ``jt/jf`` (conditional jump on k or x),
    ``ja`` or the empty string.  ``seccomp`` says whether seccomp accepts it.
    """

    code: int
    name: str
    operand: str
    size: int = 4  # bytes read by packet loads
    seccomp: bool = True

    @property
    def cls(self) -> int:
        return self.code & 0x07

    @property
    def op(self) -> int:
        return self.code & 0xF0

    @property
    def src(self) -> int:
        return self.code & 0x08

    @property
    def mode(self) -> int:
        return self.code & 0xE0

    @property
    def is_jump(self) -> bool:
        return self.cls == BPF_JMP

    @property
    def is_cond_jump(self) -> bool:
        return self.cls == BPF_JMP and self.op != BPF_JA


def _build_codes() -> dict[int, CodeInfo]:
    codes: dict[int, CodeInfo] = {}

    def add(info: CodeInfo) -> None:
        codes[info.code] = info

    alu = {BPF_ADD: "add", BPF_SUB: "sub", BPF_MUL: "mul", BPF_DIV: "div", BPF_MOD: "mod",
           BPF_AND: "and", BPF_OR: "or", BPF_XOR: "xor", BPF_LSH: "lsh", BPF_RSH: "rsh"}
    for op, name in alu.items():
        # seccomp_check_filter lists every ALU op except MOD (kernel/seccomp.c).
        sec = op != BPF_MOD
        add(CodeInfo(BPF_ALU | op | BPF_K, name, "#k", seccomp=sec))
        add(CodeInfo(BPF_ALU | op | BPF_X, name, "x", seccomp=sec))
    add(CodeInfo(BPF_ALU | BPF_NEG, "neg", ""))
    for size, suffix, nbytes in ((BPF_W, "", 4), (BPF_H, "h", 2), (BPF_B, "b", 1)):
        # Only 32-bit aligned word loads survive seccomp's check (they become ctx loads).
        add(CodeInfo(BPF_LD | size | BPF_ABS, "ld" + suffix, "[k]", nbytes, seccomp=size == BPF_W))
        add(CodeInfo(BPF_LD | size | BPF_IND, "ld" + suffix, "[x+k]", nbytes, seccomp=False))
    add(CodeInfo(BPF_LD | BPF_W | BPF_LEN, "ld", "#len"))
    add(CodeInfo(BPF_LD | BPF_IMM, "ld", "#k"))
    add(CodeInfo(BPF_LD | BPF_MEM, "ld", "M[k]"))
    add(CodeInfo(BPF_LDX | BPF_W | BPF_LEN, "ldx", "#len"))
    add(CodeInfo(BPF_LDX | BPF_B | BPF_MSH, "ldxb", "4*([k]&0xf)", 1, seccomp=False))
    add(CodeInfo(BPF_LDX | BPF_IMM, "ldx", "#k"))
    add(CodeInfo(BPF_LDX | BPF_MEM, "ldx", "M[k]"))
    add(CodeInfo(BPF_ST, "st", "M[k]"))
    add(CodeInfo(BPF_STX, "stx", "M[k]"))
    add(CodeInfo(BPF_MISC | BPF_TAX, "tax", ""))
    add(CodeInfo(BPF_MISC | BPF_TXA, "txa", ""))
    add(CodeInfo(BPF_RET | BPF_K, "ret", "#k"))
    add(CodeInfo(BPF_RET | BPF_A, "ret", "a"))
    add(CodeInfo(BPF_JMP | BPF_JA, "ja", "ja"))
    for op, name in ((BPF_JEQ, "jeq"), (BPF_JGT, "jgt"), (BPF_JGE, "jge"), (BPF_JSET, "jset")):
        add(CodeInfo(BPF_JMP | op | BPF_K, name, "#k,jt,jf"))
        add(CodeInfo(BPF_JMP | op | BPF_X, name, "x,jt,jf"))
    return codes


CODES: MappingProxyType[int, CodeInfo] = MappingProxyType(_build_codes())


@dataclass(frozen=True, slots=True)
class SockFilter:
    """One ``struct sock_filter``: ``code`` u16, ``jt``/``jf`` u8, ``k`` u32.

    Fields out of range are rejected (``ValueError``); a negative ``k`` is
    folded to its unsigned 32-bit value so ``SKF_AD_OFF + n`` can be written
    as is.  Whether ``code`` is a valid opcode is the checker's business.
    """

    code: int
    jt: int = 0
    jf: int = 0
    k: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.code <= 0xFFFF:
            raise ValueError(f"code {self.code:#x} does not fit 16 bits")
        if not (0 <= self.jt <= 0xFF and 0 <= self.jf <= 0xFF):
            raise ValueError(f"jt/jf must fit 8 bits (jt={self.jt}, jf={self.jf})")
        if not -(1 << 31) <= self.k < (1 << 32):
            raise ValueError(f"k {self.k} does not fit 32 bits")
        object.__setattr__(self, "k", self.k & 0xFFFF_FFFF)

    @property
    def info(self) -> CodeInfo | None:
        return CODES.get(self.code)

    @property
    def name(self) -> str:
        info = CODES.get(self.code)
        return info.name if info else "unimp"

    def canonical(self) -> SockFilter:
        """This instruction with the fields its opcode ignores set to zero.

        libpcap leaves stale values there (``tax`` with k = 8); text formats
        that do not print a field cannot carry it.
        """
        info = CODES.get(self.code)
        if info is None:
            return self
        k = 0 if info.operand in ("", "a", "#len", "x", "x,jt,jf") else self.k
        jt, jf = (self.jt, self.jf) if info.is_cond_jump else (0, 0)
        return SockFilter(self.code, jt, jf, k)

    @property
    def k_signed(self) -> int:
        return self.k - (1 << 32) if self.k >> 31 else self.k


def stmt(code: int, k: int = 0) -> SockFilter:
    """``BPF_STMT(code, k)``."""
    return SockFilter(code, 0, 0, k)


def jump(code: int, k: int, jt: int, jf: int) -> SockFilter:
    """``BPF_JUMP(code, k, jt, jf)``."""
    return SockFilter(code, jt, jf, k)
