"""The value semantics of eBPF instructions as plain functions on Python ints.

The per-instruction stepper calls these directly; the code generator inlines
the common cases and calls these for the rare ones (signed division, byte
swaps), so both paths share one definition of the edge cases.

Registers are unsigned 64-bit ints.  The rules follow Linux and RFC 9669:
32-bit results are zero-extended, division by zero gives 0, modulo by zero
leaves the dividend (low 32 bits for the 32-bit form), shift counts are masked
to the operand width, signed division truncates toward zero.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from ..isa import AluOp, JmpOp

__all__ = [
    "ALU_OPS",
    "JCOND_OPS",
    "M32",
    "M64",
    "SIGN64",
    "alu",
    "atomic_result",
    "bswap",
    "endian",
    "jcond",
    "sdiv",
    "smod",
    "sx",
]

M64 = (1 << 64) - 1
M32 = (1 << 32) - 1
SIGN64 = 1 << 63

_SWAP = {
    16: (struct.Struct("<H"), struct.Struct(">H")),
    32: (struct.Struct("<I"), struct.Struct(">I")),
    64: (struct.Struct("<Q"), struct.Struct(">Q")),
}


def sx(value: int, bits: int) -> int:
    """The low ``bits`` of ``value`` read as a signed integer."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def bswap(value: int, bits: int) -> int:
    """Reverse the byte order of the low ``bits`` of ``value`` (upper bits dropped)."""
    le, be = _SWAP[bits]
    return int(be.unpack(le.pack(value & ((1 << bits) - 1)))[0])


def sdiv(a: int, b: int, bits: int) -> int:
    """Signed division truncating toward zero; x / 0 = 0; INT_MIN / -1 = INT_MIN."""
    x, y = sx(a, bits), sx(b, bits)
    if y == 0:
        return 0
    q = abs(x) // abs(y)
    if (x < 0) != (y < 0):
        q = -q
    return q & ((1 << bits) - 1)


def smod(a: int, b: int, bits: int) -> int:
    """Signed remainder, sign of the dividend; x % 0 = x; INT_MIN % -1 = 0."""
    mask = (1 << bits) - 1
    x, y = sx(a, bits), sx(b, bits)
    if y == 0:
        return a & mask
    r = abs(x) % abs(y)
    return (-r if x < 0 else r) & mask


def _div(d: int, s: int, bits: int, off: int) -> int:
    if off == 1:
        return sdiv(d, s, bits)
    return d // s if s else 0


def _mod(d: int, s: int, bits: int, off: int) -> int:
    if off == 1:
        return smod(d, s, bits)
    return d % s if s else d


def _mov(d: int, s: int, bits: int, off: int) -> int:
    # movsx (off 8/16/32) sign-extends the low ``off`` bits of src; the caller masks
    return sx(s, off) if off else s


# Each op on (dst, src) already masked to the width, the width in bits and ``off``
# (sdiv/smod and movsx); the caller masks the result.  A table, keyed by the
# opcode's op field, so tests can check it covers every ALU op of OPCODES.
ALU_OPS: dict[AluOp, Callable[[int, int, int, int], int]] = {
    AluOp.ADD: lambda d, s, bits, off: d + s,
    AluOp.SUB: lambda d, s, bits, off: d - s,
    AluOp.MUL: lambda d, s, bits, off: d * s,
    AluOp.DIV: _div,
    AluOp.MOD: _mod,
    AluOp.OR: lambda d, s, bits, off: d | s,
    AluOp.AND: lambda d, s, bits, off: d & s,
    AluOp.XOR: lambda d, s, bits, off: d ^ s,
    AluOp.LSH: lambda d, s, bits, off: d << (s & (bits - 1)),
    AluOp.RSH: lambda d, s, bits, off: d >> (s & (bits - 1)),
    AluOp.ARSH: lambda d, s, bits, off: sx(d, bits) >> (s & (bits - 1)),
    AluOp.MOV: _mov,
    AluOp.NEG: lambda d, s, bits, off: -d,
}


def alu(op: int, is64: bool, off: int, dst: int, src: int) -> int:
    """The new dst of ALU/ALU64 ``op`` (an :class:`AluOp`, not END).

    ``src`` is the operand as the instruction sees it: the source register, or
    the immediate sign-extended to 64 bits (masked to unsigned).  movsx reads
    the unmasked ``src`` (its low ``off`` bits).
    """
    bits = 64 if is64 else 32
    mask = M64 if is64 else M32
    fn = ALU_OPS.get(AluOp(op)) if op in _ALU_VALUES else None
    if fn is None:
        raise ValueError(f"not a binary ALU op: {op:#x}")
    operand = src if op == AluOp.MOV and off else src & mask
    return fn(dst & mask, operand, bits, off) & mask


_ALU_VALUES = frozenset(int(op) for op in AluOp)


def endian(opcode: int, imm: int, dst: int) -> int:
    """END: 0xd4 ``le`` truncates (little-endian host), 0xdc ``be`` and 0xd7 ``bswap`` swap."""
    if opcode == 0xD4:
        return dst & ((1 << imm) - 1)
    return bswap(dst, imm)


# Each condition on operands masked to the width (unsigned) and the width.
JCOND_OPS: dict[JmpOp, Callable[[int, int, int], bool]] = {
    JmpOp.JEQ: lambda a, b, bits: a == b,
    JmpOp.JNE: lambda a, b, bits: a != b,
    JmpOp.JGT: lambda a, b, bits: a > b,
    JmpOp.JGE: lambda a, b, bits: a >= b,
    JmpOp.JLT: lambda a, b, bits: a < b,
    JmpOp.JLE: lambda a, b, bits: a <= b,
    JmpOp.JSET: lambda a, b, bits: bool(a & b),
    JmpOp.JSGT: lambda a, b, bits: sx(a, bits) > sx(b, bits),
    JmpOp.JSGE: lambda a, b, bits: sx(a, bits) >= sx(b, bits),
    JmpOp.JSLT: lambda a, b, bits: sx(a, bits) < sx(b, bits),
    JmpOp.JSLE: lambda a, b, bits: sx(a, bits) <= sx(b, bits),
}


def jcond(op: int, is64: bool, a: int, b: int) -> bool:
    """Whether a conditional jump ``op`` is taken for operands ``a`` and ``b``."""
    bits = 64 if is64 else 32
    mask = M64 if is64 else M32
    fn = JCOND_OPS.get(JmpOp(op)) if op in _JMP_VALUES else None
    if fn is None:
        raise ValueError(f"not a conditional jump: {op:#x}")
    return fn(a & mask, b & mask, bits)


_JMP_VALUES = frozenset(int(op) for op in JmpOp)


def atomic_result(imm: int, old: int, src: int, r0: int, mask: int) -> tuple[int | None, int]:
    """(value to store or None, value fetched) of a BPF_ATOMIC op on ``old``.

    The fetched value goes to src (fetch forms, XCHG) or r0 (CMPXCHG); it is
    the old memory value, zero-extended.
    """
    base = imm & ~0x01
    s = src & mask
    if imm == 0xE1:  # XCHG
        return s, old
    if imm == 0xF1:  # CMPXCHG
        return (s if old == (r0 & mask) else None), old
    if base == AluOp.ADD:
        return (old + s) & mask, old
    if base == AluOp.OR:
        return old | s, old
    if base == AluOp.AND:
        return old & s, old
    if base == AluOp.XOR:
        return old ^ s, old
    raise ValueError(f"not an atomic op: {imm:#x}")
