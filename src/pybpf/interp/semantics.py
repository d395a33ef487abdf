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

from ..isa import AluOp, JmpOp

__all__ = [
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


def alu(op: int, is64: bool, off: int, dst: int, src: int) -> int:
    """The new dst of ALU/ALU64 ``op`` (an :class:`AluOp`, not NEG/END).

    ``src`` is the operand as the instruction sees it: the source register, or
    the immediate sign-extended to 64 bits (masked to unsigned).
    """
    bits = 64 if is64 else 32
    mask = M64 if is64 else M32
    d = dst & mask
    s = src & mask
    if op == AluOp.ADD:
        return (d + s) & mask
    if op == AluOp.SUB:
        return (d - s) & mask
    if op == AluOp.MUL:
        return (d * s) & mask
    if op == AluOp.DIV:
        if off == 1:
            return sdiv(d, s, bits)
        return d // s if s else 0
    if op == AluOp.MOD:
        if off == 1:
            return smod(d, s, bits)
        return d % s if s else d
    if op == AluOp.OR:
        return d | s
    if op == AluOp.AND:
        return d & s
    if op == AluOp.XOR:
        return d ^ s
    if op == AluOp.LSH:
        return (d << (s & (bits - 1))) & mask
    if op == AluOp.RSH:
        return d >> (s & (bits - 1))
    if op == AluOp.ARSH:
        return (sx(d, bits) >> (s & (bits - 1))) & mask
    if op == AluOp.MOV:
        if off:  # movsx: sign-extend the low `off` bits of src, then fit the width
            return sx(src, off) & mask
        return s
    if op == AluOp.NEG:
        return -d & mask
    raise ValueError(f"not a binary ALU op: {op:#x}")


def endian(opcode: int, imm: int, dst: int) -> int:
    """END: 0xd4 ``le`` truncates (little-endian host), 0xdc ``be`` and 0xd7 ``bswap`` swap."""
    if opcode == 0xD4:
        return dst & ((1 << imm) - 1)
    return bswap(dst, imm)


def jcond(op: int, is64: bool, a: int, b: int) -> bool:
    """Whether a conditional jump ``op`` is taken for operands ``a`` and ``b``."""
    bits = 64 if is64 else 32
    mask = M64 if is64 else M32
    a &= mask
    b &= mask
    if op == JmpOp.JEQ:
        return a == b
    if op == JmpOp.JNE:
        return a != b
    if op == JmpOp.JGT:
        return a > b
    if op == JmpOp.JGE:
        return a >= b
    if op == JmpOp.JLT:
        return a < b
    if op == JmpOp.JLE:
        return a <= b
    if op == JmpOp.JSET:
        return bool(a & b)
    sa, sb = sx(a, bits), sx(b, bits)
    if op == JmpOp.JSGT:
        return sa > sb
    if op == JmpOp.JSGE:
        return sa >= sb
    if op == JmpOp.JSLT:
        return sa < sb
    if op == JmpOp.JSLE:
        return sa <= sb
    raise ValueError(f"not a conditional jump: {op:#x}")


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
