"""Scalar value tracking: 64- and 32-bit signed/unsigned bounds plus a tnum.

Mirrors kernel/bpf/verifier.c of Linux 6.18: ``__update_reg_bounds``,
``__reg_deduce_bounds``, ``__reg_bound_offset`` (together ``reg_bounds_sync``),
the ``scalar(32)_min_max_*`` transfer functions of
``adjust_scalar_min_max_vals`` and the branch logic ``is_branch_taken`` /
``regs_refine_cond_op``.  Every number is kept in the kernel's C type:
unsigned values as Python ints in [0, 2**N), signed ones in [-2**(N-1), 2**(N-1)).

A :class:`Bounds` is mutable, like ``struct bpf_reg_state``: the kernel's
functions update registers in place and so do these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..isa.opcodes import AluOp, JmpOp
from .tnum import (
    TNUM_UNKNOWN,
    U32,
    U64,
    Tnum,
    tnum_add,
    tnum_and,
    tnum_arshift,
    tnum_clear_subreg,
    tnum_const_subreg,
    tnum_intersect,
    tnum_lshift,
    tnum_mul,
    tnum_neg,
    tnum_or,
    tnum_range,
    tnum_rshift,
    tnum_sub,
    tnum_subreg,
    tnum_with_subreg,
    tnum_xor,
)

__all__ = [
    "S64_MIN", "S64_MAX", "S32_MIN", "S32_MAX", "Bounds", "s64", "s32", "reg_bounds_sync",
    "adjust_scalar_min_max_vals", "is_scalar_branch_taken", "regs_refine_cond_op", "rev_opcode",
    "flip_opcode", "JSET_NOT",
]

S64_MIN, S64_MAX = -(1 << 63), (1 << 63) - 1
S32_MIN, S32_MAX = -(1 << 31), (1 << 31) - 1
# The kernel's rev_opcode(BPF_JSET) is BPF_JSET | BPF_X: "no bit of val set".
JSET_NOT = int(JmpOp.JSET) | 0x08


def s64(v: int) -> int:
    v &= U64
    return v - (1 << 64) if v >> 63 else v


def s32(v: int) -> int:
    v &= U32
    return v - (1 << 32) if v >> 31 else v


@dataclass(slots=True)
class Bounds:
    """The numeric part of ``struct bpf_reg_state`` (unbounded by default)."""

    var_off: Tnum = TNUM_UNKNOWN
    smin: int = S64_MIN
    smax: int = S64_MAX
    umin: int = 0
    umax: int = U64
    s32_min: int = S32_MIN
    s32_max: int = S32_MAX
    u32_min: int = 0
    u32_max: int = U32
    precise: bool = field(default=False)

    # -- whole-register markings -------------------------------------------------------
    def mark_known(self, imm: int) -> None:
        """___mark_reg_known(): exactly ``imm`` (taken modulo 2**64)."""
        imm &= U64
        self.var_off = Tnum(imm, 0)
        self.smin = self.smax = s64(imm)
        self.umin = self.umax = imm
        self.s32_min = self.s32_max = s32(imm)
        self.u32_min = self.u32_max = imm & U32

    def mark_known32(self, imm: int) -> None:
        """__mark_reg32_known()."""
        self.var_off = tnum_const_subreg(self.var_off, imm)
        self.s32_min = self.s32_max = s32(imm)
        self.u32_min = self.u32_max = imm & U32

    def mark_unbounded(self) -> None:
        self.mark64_unbounded()
        self.mark32_unbounded()

    def mark64_unbounded(self) -> None:
        self.smin, self.smax, self.umin, self.umax = S64_MIN, S64_MAX, 0, U64

    def mark32_unbounded(self) -> None:
        self.s32_min, self.s32_max, self.u32_min, self.u32_max = S32_MIN, S32_MAX, 0, U32

    def mark_unknown_scalar(self) -> None:
        """The numeric half of __mark_reg_unknown()."""
        self.var_off = TNUM_UNKNOWN
        self.mark_unbounded()
        self.precise = False

    def copy_bounds_from(self, other: Bounds) -> None:
        self.var_off = other.var_off
        self.smin, self.smax, self.umin, self.umax = other.smin, other.smax, other.umin, other.umax
        self.s32_min, self.s32_max = other.s32_min, other.s32_max
        self.u32_min, self.u32_max = other.u32_min, other.u32_max

    # -- questions ------------------------------------------------------------------------
    def is_const(self, is32: bool = False) -> bool:
        """is_reg_const()."""
        return tnum_subreg(self.var_off).is_const if is32 else self.var_off.is_const

    def const_value(self, is32: bool = False) -> int:
        return self.var_off.value & U32 if is32 else self.var_off.value

    def bounds_equal(self, other: Bounds) -> bool:
        return (self.var_off == other.var_off and self.smin == other.smin and self.smax == other.smax
                and self.umin == other.umin and self.umax == other.umax and self.s32_min == other.s32_min
                and self.s32_max == other.s32_max and self.u32_min == other.u32_min
                and self.u32_max == other.u32_max)

    def range_within(self, cur: Bounds) -> bool:
        """range_within(old=self, cur): every value of ``cur`` is inside self's bounds."""
        return (self.umin <= cur.umin and cur.umax <= self.umax and self.smin <= cur.smin
                and cur.smax <= self.smax and self.u32_min <= cur.u32_min
                and cur.u32_max <= self.u32_max and self.s32_min <= cur.s32_min
                and cur.s32_max <= self.s32_max)

    def contains(self, value: int) -> bool:
        """Is the concrete 64-bit ``value`` allowed by every bound (for soundness tests)?"""
        v = value & U64
        lo = v & U32
        return (self.var_off.contains(v) and self.umin <= v <= self.umax and self.smin <= s64(v) <= self.smax
                and self.u32_min <= lo <= self.u32_max and self.s32_min <= s32(lo) <= self.s32_max)

    def is_sane(self) -> bool:
        """No empty range: what reg_bounds_sanity_check() verifies."""
        return (self.umin <= self.umax and self.smin <= self.smax and self.u32_min <= self.u32_max
                and self.s32_min <= self.s32_max)


# -- reg_bounds_sync ---------------------------------------------------------------------
def _update_reg32_bounds(r: Bounds) -> None:
    t = tnum_subreg(r.var_off)
    r.s32_min = max(r.s32_min, s32(t.value | (t.mask & 0x8000_0000)))
    r.s32_max = min(r.s32_max, s32(t.value | (t.mask & 0x7FFF_FFFF)))
    r.u32_min = max(r.u32_min, t.value & U32)
    r.u32_max = min(r.u32_max, (t.value | t.mask) & U32)


def _update_reg64_bounds(r: Bounds) -> None:
    t = r.var_off
    r.smin = max(r.smin, s64(t.value | (t.mask & (1 << 63))))
    r.smax = min(r.smax, s64(t.value | (t.mask & S64_MAX)))
    r.umin = max(r.umin, t.value)
    r.umax = min(r.umax, t.value | t.mask)


def update_reg_bounds(r: Bounds) -> None:
    """__update_reg_bounds()."""
    _update_reg32_bounds(r)
    _update_reg64_bounds(r)


def _reg32_deduce_bounds(r: Bounds) -> None:
    if (r.umin >> 32) == (r.umax >> 32):
        r.u32_min = max(r.u32_min, r.umin & U32)
        r.u32_max = min(r.u32_max, r.umax & U32)
        if s32(r.umin) <= s32(r.umax):
            r.s32_min = max(r.s32_min, s32(r.umin))
            r.s32_max = min(r.s32_max, s32(r.umax))
    if (r.smin >> 32) == (r.smax >> 32):
        if (r.smin & U32) <= (r.smax & U32):
            r.u32_min = max(r.u32_min, r.smin & U32)
            r.u32_max = min(r.u32_max, r.smax & U32)
        if s32(r.smin) <= s32(r.smax):
            r.s32_min = max(r.s32_min, s32(r.smin))
            r.s32_max = min(r.s32_max, s32(r.smax))
    # Upper halves that are two consecutive numbers with a low half crossing 0.
    if ((r.umin >> 32) + 1) & U32 == (r.umax >> 32) & U32 and s32(r.umin) < 0 <= s32(r.umax):
        r.s32_min = max(r.s32_min, s32(r.umin))
        r.s32_max = min(r.s32_max, s32(r.umax))
    if ((r.smin >> 32) + 1) & U32 == (r.smax >> 32) & U32 and s32(r.smin) < 0 <= s32(r.smax):
        r.s32_min = max(r.s32_min, s32(r.smin))
        r.s32_max = min(r.s32_max, s32(r.smax))
    if s32(r.u32_min) <= s32(r.u32_max):
        r.s32_min = max(r.s32_min, s32(r.u32_min))
        r.s32_max = min(r.s32_max, s32(r.u32_max))
    if (r.s32_min & U32) <= (r.s32_max & U32):
        r.u32_min = max(r.s32_min & U32, r.u32_min)
        r.u32_max = min(r.s32_max & U32, r.u32_max)


def _reg64_deduce_bounds(r: Bounds) -> None:
    if s64(r.umin) <= s64(r.umax):
        r.smin = max(r.smin, s64(r.umin))
        r.smax = min(r.smax, s64(r.umax))
    if (r.smin & U64) <= (r.smax & U64):
        r.umin = max(r.smin & U64, r.umin)
        r.umax = min(r.smax & U64, r.umax)
    else:
        # The signed range wraps through the sign boundary (Linux >= 6.16).
        if r.umax < (r.smin & U64):
            r.smin = s64(r.umin)
            r.umax = min(r.umax, r.smax & U64)
        elif (r.smax & U64) < r.umin:
            r.smax = s64(r.umax)
            r.umin = max(r.umin, r.smin & U64)


def _reg_deduce_mixed_bounds(r: Bounds) -> None:
    hi = U64 ^ U32
    r.umin = max(r.umin, (r.umin & hi) | r.u32_min)
    r.umax = min(r.umax, (r.umax & hi) | r.u32_max)
    r.smin = max(r.smin, s64((r.smin & hi) | r.u32_min))
    r.smax = min(r.smax, s64((r.smax & hi) | r.u32_max))
    if r.s32_min >= 0 and r.smin >= S32_MIN and r.smax <= S32_MAX:
        r.smin, r.smax = r.s32_min, r.s32_max
        r.umin, r.umax = r.s32_min, r.s32_max
        r.var_off = tnum_intersect(r.var_off, tnum_range(r.smin & U64, r.smax & U64))


def reg_deduce_bounds(r: Bounds) -> None:
    """__reg_deduce_bounds()."""
    _reg32_deduce_bounds(r)
    _reg64_deduce_bounds(r)
    _reg_deduce_mixed_bounds(r)


def reg_bound_offset(r: Bounds) -> None:
    """__reg_bound_offset(): learn tnum bits from the ranges."""
    var64 = tnum_intersect(r.var_off, tnum_range(r.umin, r.umax))
    var32 = tnum_intersect(tnum_subreg(var64), tnum_range(r.u32_min, r.u32_max))
    r.var_off = tnum_or(tnum_clear_subreg(var64), var32)


def reg_bounds_sync(r: Bounds) -> None:
    update_reg_bounds(r)
    reg_deduce_bounds(r)
    reg_deduce_bounds(r)
    reg_bound_offset(r)
    update_reg_bounds(r)


def zext_32_to_64(r: Bounds) -> None:
    """zext_32_to_64(): the result of an ALU32 op is zero-extended."""
    r.var_off = tnum_subreg(r.var_off)
    r.umin, r.umax = r.u32_min, r.u32_max
    if r.s32_min >= 0 and r.s32_max >= 0:
        r.smin, r.smax = r.s32_min, r.s32_max
    else:
        r.smin, r.smax = 0, U32


# -- ALU transfer functions ----------------------------------------------------------------
def _add_ovf(a: int, b: int, lo: int, hi: int) -> tuple[int, bool]:
    """check_add_overflow() for a C type with range [lo, hi]: (wrapped result, overflowed)."""
    res = a + b
    span = hi - lo + 1
    return ((res - lo) % span + lo, not lo <= res <= hi)


def _sub_ovf(a: int, b: int, lo: int, hi: int) -> tuple[int, bool]:
    res = a - b
    span = hi - lo + 1
    return ((res - lo) % span + lo, not lo <= res <= hi)


def _mul_ovf(a: int, b: int, lo: int, hi: int) -> tuple[int, bool]:
    res = a * b
    span = hi - lo + 1
    return ((res - lo) % span + lo, not lo <= res <= hi)


def _min_max_add(d: Bounds, s: Bounds, is32: bool) -> None:
    if is32:
        smin, o1 = _add_ovf(d.s32_min, s.s32_min, S32_MIN, S32_MAX)
        smax, o2 = _add_ovf(d.s32_max, s.s32_max, S32_MIN, S32_MAX)
        d.s32_min, d.s32_max = (S32_MIN, S32_MAX) if o1 or o2 else (smin, smax)
        umin, uo1 = _add_ovf(d.u32_min, s.u32_min, 0, U32)
        umax, uo2 = _add_ovf(d.u32_max, s.u32_max, 0, U32)
        d.u32_min, d.u32_max = (0, U32) if (not uo1 and uo2) else (umin, umax)
    else:
        smin, o1 = _add_ovf(d.smin, s.smin, S64_MIN, S64_MAX)
        smax, o2 = _add_ovf(d.smax, s.smax, S64_MIN, S64_MAX)
        d.smin, d.smax = (S64_MIN, S64_MAX) if o1 or o2 else (smin, smax)
        umin, uo1 = _add_ovf(d.umin, s.umin, 0, U64)
        umax, uo2 = _add_ovf(d.umax, s.umax, 0, U64)
        d.umin, d.umax = (0, U64) if (not uo1 and uo2) else (umin, umax)


def _min_max_sub(d: Bounds, s: Bounds, is32: bool) -> None:
    if is32:
        smin, o1 = _sub_ovf(d.s32_min, s.s32_max, S32_MIN, S32_MAX)
        smax, o2 = _sub_ovf(d.s32_max, s.s32_min, S32_MIN, S32_MAX)
        d.s32_min, d.s32_max = (S32_MIN, S32_MAX) if o1 or o2 else (smin, smax)
        umin, uo1 = _sub_ovf(d.u32_min, s.u32_max, 0, U32)
        umax, uo2 = _sub_ovf(d.u32_max, s.u32_min, 0, U32)
        d.u32_min, d.u32_max = (0, U32) if (uo1 and not uo2) else (umin, umax)
    else:
        smin, o1 = _sub_ovf(d.smin, s.smax, S64_MIN, S64_MAX)
        smax, o2 = _sub_ovf(d.smax, s.smin, S64_MIN, S64_MAX)
        d.smin, d.smax = (S64_MIN, S64_MAX) if o1 or o2 else (smin, smax)
        umin, uo1 = _sub_ovf(d.umin, s.umax, 0, U64)
        umax, uo2 = _sub_ovf(d.umax, s.umin, 0, U64)
        d.umin, d.umax = (0, U64) if (uo1 and not uo2) else (umin, umax)


def _min_max_mul(d: Bounds, s: Bounds, is32: bool) -> None:
    if is32:
        ulo, uhi, slo, shi = 0, U32, S32_MIN, S32_MAX
        umin, umax, smin, smax = d.u32_min, d.u32_max, d.s32_min, d.s32_max
        sumin, sumax, ssmin, ssmax = s.u32_min, s.u32_max, s.s32_min, s.s32_max
    else:
        ulo, uhi, slo, shi = 0, U64, S64_MIN, S64_MAX
        umin, umax, smin, smax = d.umin, d.umax, d.smin, d.smax
        sumin, sumax, ssmin, ssmax = s.umin, s.umax, s.smin, s.smax
    nmax, o1 = _mul_ovf(umax, sumax, ulo, uhi)
    nmin, o2 = _mul_ovf(umin, sumin, ulo, uhi)
    if o1 or o2:
        nmin, nmax = 0, uhi
    prods = [smin * ssmin, smin * ssmax, smax * ssmin, smax * ssmax]
    if any(not slo <= p <= shi for p in prods):
        nsmin, nsmax = slo, shi
    else:
        nsmin, nsmax = min(prods), max(prods)
    if is32:
        d.u32_min, d.u32_max, d.s32_min, d.s32_max = nmin, nmax, nsmin, nsmax
    else:
        d.umin, d.umax, d.smin, d.smax = nmin, nmax, nsmin, nsmax


def _bitop32(d: Bounds, s: Bounds, op: AluOp) -> None:
    src_known = tnum_subreg(s.var_off).is_const
    dst_known = tnum_subreg(d.var_off).is_const
    v = tnum_subreg(d.var_off)
    if src_known and dst_known:
        d.mark_known32(v.value)
        return
    if op is AluOp.AND:
        d.u32_min, d.u32_max = v.value, min(d.u32_max, s.u32_max)
    elif op is AluOp.OR:
        d.u32_min, d.u32_max = max(d.u32_min, s.u32_min), (v.value | v.mask) & U32
    else:
        d.u32_min, d.u32_max = v.value, (v.value | v.mask) & U32
    if s32(d.u32_min) <= s32(d.u32_max):
        d.s32_min, d.s32_max = s32(d.u32_min), s32(d.u32_max)
    else:
        d.s32_min, d.s32_max = S32_MIN, S32_MAX
    if op is not AluOp.AND:
        _update_reg32_bounds(d)


def _bitop64(d: Bounds, s: Bounds, op: AluOp) -> None:
    if s.var_off.is_const and d.var_off.is_const:
        d.mark_known(d.var_off.value)
        return
    v = d.var_off
    if op is AluOp.AND:
        d.umin, d.umax = v.value, min(d.umax, s.umax)
    elif op is AluOp.OR:
        d.umin, d.umax = max(d.umin, s.umin), v.value | v.mask
    else:
        d.umin, d.umax = v.value, v.value | v.mask
    if s64(d.umin) <= s64(d.umax):
        d.smin, d.smax = s64(d.umin), s64(d.umax)
    else:
        d.smin, d.smax = S64_MIN, S64_MAX
    update_reg_bounds(d)


def _lsh32_bounds(d: Bounds, umin_val: int, umax_val: int) -> None:
    d.s32_min, d.s32_max = S32_MIN, S32_MAX
    if umax_val > 31 or d.u32_max > 1 << (31 - umax_val):
        d.u32_min, d.u32_max = 0, U32
    else:
        d.u32_min = (d.u32_min << umin_val) & U32
        d.u32_max = (d.u32_max << umax_val) & U32


def _lsh64_bounds(d: Bounds, umin_val: int, umax_val: int) -> None:
    if umin_val == 32 and umax_val == 32 and d.s32_max >= 0:
        d.smax = d.s32_max << 32
    else:
        d.smax = S64_MAX
    if umin_val == 32 and umax_val == 32 and d.s32_min >= 0:
        d.smin = d.s32_min << 32
    else:
        d.smin = S64_MIN
    if umax_val > 63 or d.umax > 1 << (63 - umax_val):
        d.umin, d.umax = 0, U64
    else:
        d.umin = (d.umin << umin_val) & U64
        d.umax = (d.umax << umax_val) & U64


def _shift(d: Bounds, s: Bounds, op: AluOp, is32: bool) -> None:
    if is32:
        umin_val, umax_val = s.u32_min, s.u32_max
        sub = tnum_subreg(d.var_off)
        if op is AluOp.LSH:
            _lsh32_bounds(d, umin_val, umax_val)
            d.var_off = tnum_subreg(tnum_lshift(sub, umin_val))
        elif op is AluOp.RSH:
            d.s32_min, d.s32_max = S32_MIN, S32_MAX
            d.var_off = tnum_rshift(sub, umin_val)
            d.u32_min >>= umax_val
            d.u32_max >>= umin_val
        else:
            d.s32_min = s32(d.s32_min >> umin_val)
            d.s32_max = s32(d.s32_max >> umin_val)
            d.var_off = tnum_arshift(sub, umin_val, 32)
            d.u32_min, d.u32_max = 0, U32
        d.mark64_unbounded()
        _update_reg32_bounds(d)
        return
    umin_val, umax_val = s.umin, s.umax
    if op is AluOp.LSH:
        _lsh64_bounds(d, umin_val, umax_val)
        _lsh32_bounds(d, umin_val, umax_val)
        d.var_off = tnum_lshift(d.var_off, umin_val)
    elif op is AluOp.RSH:
        d.smin, d.smax = S64_MIN, S64_MAX
        d.var_off = tnum_rshift(d.var_off, umin_val)
        d.umin >>= umax_val
        d.umax >>= umin_val
        d.mark32_unbounded()
    else:
        d.smin >>= umin_val
        d.smax >>= umin_val
        d.var_off = tnum_arshift(d.var_off, umin_val, 64)
        d.umin, d.umax = 0, U64
        d.mark32_unbounded()
    update_reg_bounds(d)


def _safe_to_compute(op: AluOp, s: Bounds, is32: bool) -> bool:
    """is_safe_to_compute_dst_reg_range()."""
    if op in (AluOp.ADD, AluOp.SUB, AluOp.NEG, AluOp.AND, AluOp.XOR, AluOp.OR, AluOp.MUL):
        return True
    if op in (AluOp.LSH, AluOp.RSH, AluOp.ARSH):
        if is32:
            const = (tnum_subreg(s.var_off).is_const and s.s32_min == s.s32_max
                     and s.u32_min == s.u32_max)
            return const and s.umax < 32
        const = s.var_off.is_const and s.smin == s.smax and s.umin == s.umax
        return const and s.umax < 64
    return False  # DIV, MOD (and END, handled by the caller): Linux 6.18 does not track them


def adjust_scalar_min_max_vals(d: Bounds, s: Bounds, op: AluOp, is32: bool) -> bool:
    """Apply ``d = d op s`` to the abstract values; False when the result is simply unknown.

    The caller resets a register to an unknown scalar (__mark_reg_unknown)
    when this returns False, exactly where the kernel does.
    """
    if not _safe_to_compute(op, s, is32):
        return False
    if op is AluOp.ADD:
        _min_max_add(d, s, True)
        _min_max_add(d, s, False)
        d.var_off = tnum_add(d.var_off, s.var_off)
    elif op is AluOp.SUB:
        _min_max_sub(d, s, True)
        _min_max_sub(d, s, False)
        d.var_off = tnum_sub(d.var_off, s.var_off)
    elif op is AluOp.NEG:
        old = Bounds()
        old.copy_bounds_from(d)
        d.mark_known(0)
        _min_max_sub(d, old, True)
        _min_max_sub(d, old, False)
        d.var_off = tnum_neg(old.var_off)
    elif op is AluOp.MUL:
        d.var_off = tnum_mul(d.var_off, s.var_off)
        _min_max_mul(d, s, True)
        _min_max_mul(d, s, False)
    elif op in (AluOp.AND, AluOp.OR, AluOp.XOR):
        fn = {AluOp.AND: tnum_and, AluOp.OR: tnum_or, AluOp.XOR: tnum_xor}[op]
        d.var_off = fn(d.var_off, s.var_off)
        _bitop32(d, s, op)
        _bitop64(d, s, op)
    else:
        _shift(d, s, op, is32)
    if is32:
        zext_32_to_64(d)
    reg_bounds_sync(d)
    return True


# -- branches --------------------------------------------------------------------------------
_FLIP = {JmpOp.JEQ: JmpOp.JEQ, JmpOp.JNE: JmpOp.JNE, JmpOp.JSET: JmpOp.JSET, JmpOp.JGE: JmpOp.JLE,
         JmpOp.JGT: JmpOp.JLT, JmpOp.JLE: JmpOp.JGE, JmpOp.JLT: JmpOp.JGT, JmpOp.JSGE: JmpOp.JSLE,
         JmpOp.JSGT: JmpOp.JSLT, JmpOp.JSLE: JmpOp.JSGE, JmpOp.JSLT: JmpOp.JSGT}
_REV = {JmpOp.JEQ: JmpOp.JNE, JmpOp.JNE: JmpOp.JEQ, JmpOp.JGE: JmpOp.JLT, JmpOp.JLT: JmpOp.JGE,
        JmpOp.JGT: JmpOp.JLE, JmpOp.JLE: JmpOp.JGT, JmpOp.JSGE: JmpOp.JSLT, JmpOp.JSLT: JmpOp.JSGE,
        JmpOp.JSGT: JmpOp.JSLE, JmpOp.JSLE: JmpOp.JSGT}


def flip_opcode(op: int) -> int:
    """flip_opcode(): the condition with its operands swapped."""
    return int(_FLIP[JmpOp(op)])


def rev_opcode(op: int) -> int:
    """rev_opcode(): the negated condition (JSET becomes JSET_NOT)."""
    if op == JmpOp.JSET:
        return JSET_NOT
    if op == JSET_NOT:
        return int(JmpOp.JSET)
    return int(_REV[JmpOp(op)])


def _view(r: Bounds, is32: bool) -> tuple[Tnum, int, int, int, int]:
    if is32:
        return tnum_subreg(r.var_off), r.u32_min, r.u32_max, r.s32_min, r.s32_max
    return r.var_off, r.umin, r.umax, r.smin, r.smax


def _tnum_overlap(a: Tnum, b: Tnum) -> bool:
    mu = a.mask | b.mask
    return (a.value & ~mu) == (b.value & ~mu)


def is_scalar_branch_taken(r1: Bounds, r2: Bounds, op: int, is32: bool) -> int:
    """is_scalar_branch_taken(): 1 always taken, 0 never, -1 unknown."""
    t1, umin1, umax1, smin1, smax1 = _view(r1, is32)
    t2, umin2, umax2, smin2, smax2 = _view(r2, is32)
    if op in (JmpOp.JEQ, JmpOp.JNE):
        eq = op == JmpOp.JEQ
        if t1.is_const and t2.is_const:
            return int((t1.value == t2.value) == eq)
        if not _tnum_overlap(t1, t2):
            return int(not eq)
        if umin1 > umax2 or umax1 < umin2 or smin1 > smax2 or smax1 < smin2:
            return int(not eq)
        if not is32 and (r1.u32_min > r2.u32_max or r1.u32_max < r2.u32_min
                         or r1.s32_min > r2.s32_max or r1.s32_max < r2.s32_min):
            return int(not eq)
        return -1
    if op == JmpOp.JSET:
        if not r2.is_const(is32):
            r1, r2, t1, t2 = r2, r1, t2, t1
        if not r2.is_const(is32):
            return -1
        if (~t1.mask & t1.value) & t2.value:
            return 1
        if not ((t1.mask | t1.value) & t2.value):
            return 0
        return -1
    if op == JmpOp.JGT:
        return 1 if umin1 > umax2 else 0 if umax1 <= umin2 else -1
    if op == JmpOp.JSGT:
        return 1 if smin1 > smax2 else 0 if smax1 <= smin2 else -1
    if op == JmpOp.JLT:
        return 1 if umax1 < umin2 else 0 if umin1 >= umax2 else -1
    if op == JmpOp.JSLT:
        return 1 if smax1 < smin2 else 0 if smin1 >= smax2 else -1
    if op == JmpOp.JGE:
        return 1 if umin1 >= umax2 else 0 if umax1 < umin2 else -1
    if op == JmpOp.JSGE:
        return 1 if smin1 >= smax2 else 0 if smax1 < smin2 else -1
    if op == JmpOp.JLE:
        return 1 if umax1 <= umin2 else 0 if umin1 > umax2 else -1
    if op == JmpOp.JSLE:
        return 1 if smax1 <= smin2 else 0 if smin1 > smax2 else -1
    return -1


def regs_refine_cond_op(r1: Bounds, r2: Bounds, op: int, is32: bool) -> None:
    """regs_refine_cond_op(): narrow both registers assuming ``r1 op r2`` holds."""
    if op in (JmpOp.JGE, JmpOp.JGT, JmpOp.JSGE, JmpOp.JSGT):
        op = flip_opcode(op)
        r1, r2 = r2, r1
    if op == JmpOp.JEQ:
        if is32:
            r1.u32_min = max(r1.u32_min, r2.u32_min)
            r1.u32_max = min(r1.u32_max, r2.u32_max)
            r1.s32_min = max(r1.s32_min, r2.s32_min)
            r1.s32_max = min(r1.s32_max, r2.s32_max)
            r2.u32_min, r2.u32_max, r2.s32_min, r2.s32_max = r1.u32_min, r1.u32_max, r1.s32_min, r1.s32_max
            t = tnum_intersect(tnum_subreg(r1.var_off), tnum_subreg(r2.var_off))
            r1.var_off = tnum_with_subreg(r1.var_off, t)
            r2.var_off = tnum_with_subreg(r2.var_off, t)
        else:
            r1.umin = max(r1.umin, r2.umin)
            r1.umax = min(r1.umax, r2.umax)
            r1.smin = max(r1.smin, r2.smin)
            r1.smax = min(r1.smax, r2.smax)
            r2.umin, r2.umax, r2.smin, r2.smax = r1.umin, r1.umax, r1.smin, r1.smax
            r1.var_off = tnum_intersect(r1.var_off, r2.var_off)
            r2.var_off = r1.var_off
    elif op == JmpOp.JNE:
        if not r2.is_const(is32):
            r1, r2 = r2, r1
        if not r2.is_const(is32):
            return
        val = r2.const_value(is32)
        if is32:
            if r1.u32_min == val & U32:
                r1.u32_min = (r1.u32_min + 1) & U32
            if r1.u32_max == val & U32:
                r1.u32_max = (r1.u32_max - 1) & U32
            if r1.s32_min == s32(val):
                r1.s32_min = s32(r1.s32_min + 1)
            if r1.s32_max == s32(val):
                r1.s32_max = s32(r1.s32_max - 1)
        else:
            if r1.umin == val:
                r1.umin = (r1.umin + 1) & U64
            if r1.umax == val:
                r1.umax = (r1.umax - 1) & U64
            if r1.smin == s64(val):
                r1.smin = s64(r1.smin + 1)
            if r1.smax == s64(val):
                r1.smax = s64(r1.smax - 1)
    elif op in (JmpOp.JSET, JSET_NOT):
        if not r2.is_const(is32):
            r1, r2 = r2, r1
        if not r2.is_const(is32):
            return
        val = r2.const_value(is32)
        if op == JmpOp.JSET:
            if val == 0 or val & (val - 1):
                return  # only a single bit teaches something
            if is32:
                r1.var_off = tnum_with_subreg(r1.var_off, tnum_or(tnum_subreg(r1.var_off), Tnum(val, 0)))
            else:
                r1.var_off = tnum_or(r1.var_off, Tnum(val, 0))
        else:
            r1.mark_unbounded()
            if is32:
                t = tnum_and(tnum_subreg(r1.var_off), Tnum(~val & U64, 0))
                r1.var_off = tnum_with_subreg(r1.var_off, t)
            else:
                r1.var_off = tnum_and(r1.var_off, Tnum(~val & U64, 0))
    elif op == JmpOp.JLE:
        if is32:
            r1.u32_max = min(r1.u32_max, r2.u32_max)
            r2.u32_min = max(r1.u32_min, r2.u32_min)
        else:
            r1.umax = min(r1.umax, r2.umax)
            r2.umin = max(r1.umin, r2.umin)
    elif op == JmpOp.JLT:
        if is32:
            r1.u32_max = min(r1.u32_max, (r2.u32_max - 1) & U32)
            r2.u32_min = max((r1.u32_min + 1) & U32, r2.u32_min)
        else:
            r1.umax = min(r1.umax, (r2.umax - 1) & U64)
            r2.umin = max((r1.umin + 1) & U64, r2.umin)
    elif op == JmpOp.JSLE:
        if is32:
            r1.s32_max = min(r1.s32_max, r2.s32_max)
            r2.s32_min = max(r1.s32_min, r2.s32_min)
        else:
            r1.smax = min(r1.smax, r2.smax)
            r2.smin = max(r1.smin, r2.smin)
    elif op == JmpOp.JSLT:
        if is32:
            r1.s32_max = min(r1.s32_max, s32(r2.s32_max - 1))
            r2.s32_min = max(s32(r1.s32_min + 1), r2.s32_min)
        else:
            r1.smax = min(r1.smax, s64(r2.smax - 1))
            r2.smin = max(s64(r1.smin + 1), r2.smin)


def coerce_reg_to_size(r: Bounds, size: int) -> None:
    """coerce_reg_to_size(): a b/h/w load zero-extends."""
    from .tnum import tnum_cast

    r.var_off = tnum_cast(r.var_off, size)
    mask = (1 << (size * 8)) - 1
    if (r.umin & ~mask) == (r.umax & ~mask):
        r.umin &= mask
        r.umax &= mask
    else:
        r.umin, r.umax = 0, mask
    r.smin, r.smax = r.umin, r.umax
    if size < 4:
        r.mark32_unbounded()
    reg_bounds_sync(r)


def coerce_reg_to_size_sx(r: Bounds, size: int) -> None:
    """coerce_reg_to_size_sx(): sign-extending load or movsx; exact for constants, else range of the type."""
    bits = size * 8
    if r.var_off.is_const:
        v = r.var_off.value & ((1 << bits) - 1)
        if v >> (bits - 1):
            v -= 1 << bits
        r.mark_known(v)
        return
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    r.var_off = TNUM_UNKNOWN
    r.smin, r.smax = lo, hi
    r.umin, r.umax = 0, U64
    r.s32_min, r.s32_max = (lo, hi) if bits < 32 else (S32_MIN, S32_MAX)
    r.u32_min, r.u32_max = 0, U32
    reg_bounds_sync(r)


_ = tnum_clear_subreg  # re-exported helpers used by regstate
