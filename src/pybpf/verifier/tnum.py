"""Tristate numbers, exactly as kernel/bpf/tnum.c.

A tnum ``(value; mask)`` stands for every 64-bit number that agrees with
``value`` on the bits where ``mask`` is 0; ``mask`` bits are unknown.  The
invariant ``value & mask == 0`` always holds.  All values are unsigned
64-bit Python ints.

>>> tnum_add(Tnum.const(1), Tnum(0, 0xff))
Tnum(value=0, mask=511)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "U64", "U32", "Tnum", "TNUM_UNKNOWN", "tnum_add", "tnum_sub", "tnum_mul", "tnum_and", "tnum_or",
    "tnum_xor", "tnum_lshift", "tnum_rshift", "tnum_arshift", "tnum_intersect", "tnum_union",
    "tnum_cast", "tnum_range", "tnum_in", "tnum_subreg", "tnum_clear_subreg", "tnum_with_subreg",
    "tnum_const_subreg", "tnum_neg",
]

U64 = (1 << 64) - 1
U32 = (1 << 32) - 1


@dataclass(frozen=True, slots=True)
class Tnum:
    value: int
    mask: int

    @staticmethod
    def const(v: int) -> Tnum:
        return Tnum(v & U64, 0)

    @property
    def is_const(self) -> bool:
        return self.mask == 0

    @property
    def is_unknown(self) -> bool:
        return self.mask == U64

    def is_aligned(self, size: int) -> bool:
        """tnum_is_aligned(): every value is a multiple of ``size``."""
        if not size:
            return True
        return not ((self.value | self.mask) & (size - 1))

    @property
    def umin(self) -> int:
        return self.value

    @property
    def umax(self) -> int:
        return self.value | self.mask

    def __str__(self) -> str:
        # tnum_strn(): "(%#llx; %#llx)"; C's %#llx prints 0 as "0".
        return f"({_hx(self.value)}; {_hx(self.mask)})"

    def contains(self, x: int) -> bool:
        """Is the concrete ``x`` one of this tnum's values?"""
        return (x & ~self.mask & U64) == self.value


def _hx(v: int) -> str:
    return "0x0" if v == 0 else f"{v:#x}"


TNUM_UNKNOWN = Tnum(0, U64)


def tnum_range(lo: int, hi: int) -> Tnum:
    """tnum_range(): the smallest tnum holding every value in [lo, hi] (unsigned)."""
    chi = lo ^ hi
    bits = chi.bit_length()  # fls64
    if bits > 63:
        return TNUM_UNKNOWN
    delta = (1 << bits) - 1
    return Tnum(lo & ~delta & U64, delta)


def tnum_lshift(a: Tnum, shift: int) -> Tnum:
    return Tnum((a.value << shift) & U64, (a.mask << shift) & U64)


def tnum_rshift(a: Tnum, shift: int) -> Tnum:
    return Tnum(a.value >> shift, a.mask >> shift)


def _s(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def tnum_arshift(a: Tnum, min_shift: int, insn_bitness: int) -> Tnum:
    """tnum_arshift(): sign-extending shift of the low ``insn_bitness`` bits."""
    m = (1 << insn_bitness) - 1
    if insn_bitness == 32:
        return Tnum((_s(a.value, 32) >> min_shift) & U32, (_s(a.mask, 32) >> min_shift) & U32)
    return Tnum((_s(a.value, 64) >> min_shift) & m, (_s(a.mask, 64) >> min_shift) & m)


def tnum_add(a: Tnum, b: Tnum) -> Tnum:
    sm = (a.mask + b.mask) & U64
    sv = (a.value + b.value) & U64
    sigma = (sm + sv) & U64
    chi = sigma ^ sv
    mu = chi | a.mask | b.mask
    return Tnum(sv & ~mu & U64, mu)


def tnum_sub(a: Tnum, b: Tnum) -> Tnum:
    dv = (a.value - b.value) & U64
    alpha = (dv + a.mask) & U64
    beta = (dv - b.mask) & U64
    chi = alpha ^ beta
    mu = chi | a.mask | b.mask
    return Tnum(dv & ~mu & U64, mu)


def tnum_neg(a: Tnum) -> Tnum:
    return tnum_sub(Tnum(0, 0), a)


def tnum_and(a: Tnum, b: Tnum) -> Tnum:
    alpha = a.value | a.mask
    beta = b.value | b.mask
    v = a.value & b.value
    return Tnum(v, alpha & beta & ~v & U64)


def tnum_or(a: Tnum, b: Tnum) -> Tnum:
    v = a.value | b.value
    mu = a.mask | b.mask
    return Tnum(v, mu & ~v & U64)


def tnum_xor(a: Tnum, b: Tnum) -> Tnum:
    v = a.value ^ b.value
    mu = a.mask | b.mask
    return Tnum(v & ~mu & U64, mu)


def tnum_mul(a: Tnum, b: Tnum) -> Tnum:
    """tnum_mul() of Linux >= 6.x (the "HMA" algorithm of Harishankar et al.)."""
    acc_v = (a.value * b.value) & U64
    acc_m = Tnum(0, 0)
    while a.value or a.mask:
        if a.value & 1:
            acc_m = tnum_add(acc_m, Tnum(0, b.mask))
        elif a.mask & 1:
            acc_m = tnum_add(acc_m, Tnum(0, b.value | b.mask))
        a = tnum_rshift(a, 1)
        b = tnum_lshift(b, 1)
    return tnum_add(Tnum(acc_v, 0), acc_m)


def tnum_intersect(a: Tnum, b: Tnum) -> Tnum:
    """Values known to be in both (the caller knows they overlap)."""
    v = a.value | b.value
    mu = a.mask & b.mask
    return Tnum(v & ~mu & U64, mu)


def tnum_union(a: Tnum, b: Tnum) -> Tnum:
    """Values in either: tnum_union() of Linux >= 6.13."""
    v = a.value & b.value
    mu = a.mask | b.mask | (a.value ^ b.value)
    return Tnum(v & ~mu & U64, mu)


def tnum_cast(a: Tnum, size: int) -> Tnum:
    """Keep the low ``size`` bytes (zero extension)."""
    m = (1 << (size * 8)) - 1
    return Tnum(a.value & m, a.mask & m)


def tnum_in(a: Tnum, b: Tnum) -> bool:
    """Is every value of ``b`` also a value of ``a``?"""
    if b.mask & ~a.mask & U64:
        return False
    return a.value == (b.value & ~a.mask & U64)


def tnum_subreg(a: Tnum) -> Tnum:
    return tnum_cast(a, 4)


def tnum_clear_subreg(a: Tnum) -> Tnum:
    return tnum_lshift(tnum_rshift(a, 32), 32)


def tnum_with_subreg(reg: Tnum, subreg: Tnum) -> Tnum:
    return tnum_or(tnum_clear_subreg(reg), tnum_subreg(subreg))


def tnum_const_subreg(a: Tnum, value: int) -> Tnum:
    return tnum_with_subreg(a, Tnum.const(value & U32))
