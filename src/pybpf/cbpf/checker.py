"""The kernel's checks on classic programs, with the pc and the reason.

:func:`check` is ``bpf_check_classic`` (net/core/filter.c): a known opcode,
no division or modulo by a constant zero, constant shifts below 32, scratch
cells 0..15, jumps forward and inside the program, known ancillary offsets,
a RET at the end, then ``check_load_and_stores`` (every ``M[k]`` read is
preceded by a write on every path).  :func:`check_seccomp` adds
``seccomp_check_filter`` (kernel/seccomp.c) and returns the program as seccomp
rewrites it.  The kernel answers every violation with a bare EINVAL; here each
one is a :class:`FilterError` naming the pc, the instruction and the rule.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import DecodeError
from .formats import format_insn
from .model import (
    BPF_ABS,
    BPF_ALU,
    BPF_DIV,
    BPF_IMM,
    BPF_JA,
    BPF_JMP,
    BPF_K,
    BPF_LD,
    BPF_LDX,
    BPF_LEN,
    BPF_LSH,
    BPF_MAXINSNS,
    BPF_MEM,
    BPF_MEMWORDS,
    BPF_MOD,
    BPF_RET,
    BPF_RSH,
    BPF_ST,
    BPF_STX,
    BPF_W,
    CODES,
    SKF_AD_OFF,
    SockFilter,
    ancillary,
)

__all__ = ["FilterError", "SECCOMP_DATA_SIZE", "check", "check_seccomp", "LDX_W_ABS"]

SECCOMP_DATA_SIZE = 64  # sizeof(struct seccomp_data)
# What seccomp turns ``ld [k]`` into: a 32-bit load from seccomp_data in host order.
LDX_W_ABS = BPF_LDX | BPF_W | BPF_ABS


class FilterError(DecodeError):
    """A classic program the kernel would refuse (EINVAL), with where and why.

    ``insn`` is the offending instruction's text (bpf_asm syntax), when there is one.
    """

    def __init__(self, reason: str, *, pc: int | None = None, insn: SockFilter | None = None) -> None:
        self.insn = insn
        raw = None
        if insn is not None:
            raw = insn.code.to_bytes(2, "little") + bytes((insn.jt, insn.jf)) + insn.k.to_bytes(4, "little")
        super().__init__(reason, pc=pc, raw=raw)

    def _format(self) -> str:
        text = super()._format()
        if self.insn is not None:
            text += f" (in '{' '.join(format_insn(self.insn).split())}')"
        return text


def _check_basics(prog: Sequence[SockFilter]) -> None:
    # bpf_check_basics_ok: 1..BPF_MAXINSNS instructions.
    if not prog:
        raise FilterError("empty program: at least one instruction (a RET) is required")
    if len(prog) > BPF_MAXINSNS:
        raise FilterError(f"program has {len(prog)} instructions, more than BPF_MAXINSNS ({BPF_MAXINSNS})")


def check(prog: Sequence[SockFilter]) -> None:
    """Raise :class:`FilterError` unless the kernel's classic checker accepts ``prog``."""
    _check_basics(prog)
    n = len(prog)
    for pc, f in enumerate(prog):
        info = CODES.get(f.code)
        if info is None:
            raise FilterError(f"unknown opcode {f.code:#06x}", pc=pc, insn=f)
        cls, op = f.code & 0x07, f.code & 0xF0
        if f.code in (BPF_ALU | BPF_DIV | BPF_K, BPF_ALU | BPF_MOD | BPF_K) and f.k == 0:
            raise FilterError("division by constant zero", pc=pc, insn=f)
        if f.code in (BPF_ALU | BPF_LSH | BPF_K, BPF_ALU | BPF_RSH | BPF_K) and f.k >= 32:
            raise FilterError(f"constant shift by {f.k}: must be below 32", pc=pc, insn=f)
        if f.code in (BPF_LD | BPF_MEM, BPF_LDX | BPF_MEM, BPF_ST, BPF_STX) and f.k >= BPF_MEMWORDS:
            raise FilterError(f"scratch cell M[{f.k}] does not exist (M[0]..M[{BPF_MEMWORDS - 1}])",
                              pc=pc, insn=f)
        if cls == BPF_JMP and op == BPF_JA:
            # Unsigned compare, as the kernel: a huge k cannot wrap into a loop.
            if f.k >= n - pc - 1:
                raise FilterError(f"jump to {pc + 1 + f.k} is outside the program (last pc {n - 1})",
                                  pc=pc, insn=f)
        elif cls == BPF_JMP:
            for label, off in (("true", f.jt), ("false", f.jf)):
                if pc + off + 1 >= n:
                    raise FilterError(f"jump-if-{label} to {pc + 1 + off} is outside the program "
                                      f"(last pc {n - 1})", pc=pc, insn=f)
        elif (cls == BPF_LD and info.mode == BPF_ABS and f.k >= (SKF_AD_OFF & 0xFFFF_FFFF)
              and ancillary(f.k) is None):
            raise FilterError(f"unknown ancillary load SKF_AD_OFF + {f.k - (SKF_AD_OFF & 0xFFFF_FFFF)}",
                                  pc=pc, insn=f)
    last = prog[-1]
    if last.code & 0x07 != BPF_RET:
        raise FilterError("the last instruction must be a RET", pc=n - 1, insn=last)
    _check_load_and_stores(prog)


def _check_load_and_stores(prog: Sequence[SockFilter]) -> None:
    """``check_load_and_stores``: a bit per scratch cell, intersected at jump targets.

    This is the kernel's linear pass, kept exactly: code after a RET that no
    jump reaches keeps the validity bits from before the RET.
    """
    masks = [0xFFFF] * len(prog)
    valid = 0
    for pc, f in enumerate(prog):
        valid &= masks[pc]
        cls = f.code & 0x07
        if f.code in (BPF_ST, BPF_STX):
            valid |= 1 << f.k
        elif f.code in (BPF_LD | BPF_MEM, BPF_LDX | BPF_MEM):
            if not valid & (1 << f.k):
                raise FilterError(f"M[{f.k}] is read before it is written on some path", pc=pc, insn=f)
        elif cls == BPF_JMP and f.code & 0xF0 == BPF_JA:
            masks[pc + 1 + f.k] &= valid
            valid = 0xFFFF
        elif cls == BPF_JMP:
            masks[pc + 1 + f.jt] &= valid
            masks[pc + 1 + f.jf] &= valid
            valid = 0xFFFF


def check_seccomp(prog: Sequence[SockFilter]) -> list[SockFilter]:
    """Check ``prog`` as a seccomp filter and return it as seccomp rewrites it.

    ``bpf_check_classic`` runs first, then ``seccomp_check_filter``: only
    aligned 32-bit ``ld [k]`` inside ``struct seccomp_data`` (rewritten to
    :data:`LDX_W_ABS`, a host-order load of the field), ``ld/ldx #len``
    (rewritten to ``#64``), and no packet loads, MSH or MOD.
    """
    check(prog)
    out: list[SockFilter] = []
    for pc, f in enumerate(prog):
        if f.code == BPF_LD | BPF_W | BPF_ABS:
            if f.k >= SECCOMP_DATA_SIZE or f.k & 3:
                raise FilterError(f"seccomp load at offset {f.k_signed}: only aligned 32-bit loads "
                                  f"inside seccomp_data (0..{SECCOMP_DATA_SIZE - 4})", pc=pc, insn=f)
            out.append(SockFilter(LDX_W_ABS, 0, 0, f.k))
        elif f.code in (BPF_LD | BPF_W | BPF_LEN, BPF_LDX | BPF_W | BPF_LEN):
            out.append(SockFilter((f.code & 0x07) | BPF_IMM, 0, 0, SECCOMP_DATA_SIZE))
        else:
            info = CODES[f.code]
            if not info.seccomp:
                raise FilterError(f"'{info.name}' ({f.code:#06x}) is not allowed in seccomp filters",
                                  pc=pc, insn=f)
            out.append(f)
    return out
