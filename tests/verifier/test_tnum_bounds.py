"""Soundness of the abstract domains against concrete eBPF arithmetic (hypothesis).

For random x in A and y in B, op(x, y) must be in op(A, B): tnums
(kernel/bpf/tnum.c), the scalar transfer functions (adjust_scalar_min_max_vals)
for every ALU op in 32 and 64 bits, and branch handling (is_branch_taken must
never predict wrongly; regs_refine_cond_op must keep every value that takes
the branch).
"""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pybpf.isa import AluOp, JmpOp
from pybpf.verifier.bounds import (
    JSET_NOT,
    Bounds,
    adjust_scalar_min_max_vals,
    is_scalar_branch_taken,
    reg_bounds_sync,
    regs_refine_cond_op,
    rev_opcode,
    s32,
    s64,
)
from pybpf.verifier.tnum import (
    U32,
    U64,
    Tnum,
    tnum_add,
    tnum_and,
    tnum_arshift,
    tnum_cast,
    tnum_intersect,
    tnum_lshift,
    tnum_mul,
    tnum_or,
    tnum_range,
    tnum_rshift,
    tnum_sub,
    tnum_subreg,
    tnum_union,
    tnum_xor,
)

_EDGE = st.sampled_from([0, 1, 2, 0x7F, 0xFF, 0x7FFF_FFFF, 0x8000_0000, U32, 1 << 63, U64, U64 - 1])
u64s = st.one_of(_EDGE, st.integers(0, 0xFFFF), st.integers(0, U64))


@st.composite
def tnum_and_member(draw: st.DrawFn) -> tuple[Tnum, int]:
    value, mask = draw(u64s), draw(u64s)
    t = Tnum(value & ~mask & U64, mask)
    x = t.value | (draw(u64s) & t.mask)
    return t, x


@settings(max_examples=300, deadline=None)
@given(tnum_and_member(), tnum_and_member(), st.integers(0, 63))
def test_tnum_ops_are_sound(a: tuple[Tnum, int], b: tuple[Tnum, int], shift: int) -> None:
    (ta, x), (tb, y) = a, b
    assert tnum_add(ta, tb).contains((x + y) & U64)
    assert tnum_sub(ta, tb).contains((x - y) & U64)
    assert tnum_mul(ta, tb).contains((x * y) & U64)
    assert tnum_and(ta, tb).contains(x & y)
    assert tnum_or(ta, tb).contains(x | y)
    assert tnum_xor(ta, tb).contains(x ^ y)
    assert tnum_lshift(ta, shift).contains((x << shift) & U64)
    assert tnum_rshift(ta, shift).contains(x >> shift)
    assert tnum_arshift(ta, shift, 64).contains((s64(x) >> shift) & U64)
    assert tnum_arshift(tnum_subreg(ta), shift % 32, 32).contains((s32(x) >> (shift % 32)) & U32)
    assert tnum_union(ta, tb).contains(x) and tnum_union(ta, tb).contains(y)
    assert tnum_cast(ta, 2).contains(x & 0xFFFF)
    if ta.contains(y):
        assert tnum_intersect(ta, tb).contains(y)


@given(u64s, u64s, u64s)
def test_tnum_range_holds_the_range(a: int, b: int, c: int) -> None:
    lo, hi = min(a, b), max(a, b)
    x = lo + c % (hi - lo + 1)
    assert tnum_range(lo, hi).contains(x)


@st.composite
def abstract(draw: st.DrawFn) -> tuple[Bounds, int]:
    """A reachable abstract scalar and one of its concrete values."""
    lo, hi = sorted((draw(u64s), draw(u64s)))
    x = lo + draw(u64s) % (hi - lo + 1)
    b = Bounds()
    b.umin, b.umax = lo, hi
    reg_bounds_sync(b)
    if draw(st.booleans()):
        m = draw(u64s)
        k = Bounds()
        k.mark_known(m)
        adjust_scalar_min_max_vals(b, k, AluOp.AND, False)
        x &= m
    if draw(st.booleans()):
        slo, shi = sorted((s64(draw(u64s)), s64(draw(u64s))))
        sx = s64(x)
        assume(slo <= sx <= shi)
        b.smin, b.smax = max(b.smin, slo), min(b.smax, shi)
        reg_bounds_sync(b)
    assert b.contains(x)
    return b, x


def _concrete(op: AluOp, x: int, y: int, is32: bool) -> int | None:
    bits = 32 if is32 else 64
    m = (1 << bits) - 1
    x, y = x & m, y & m
    if op is AluOp.ADD:
        return (x + y) & m
    if op is AluOp.SUB:
        return (x - y) & m
    if op is AluOp.MUL:
        return (x * y) & m
    if op is AluOp.AND:
        return x & y
    if op is AluOp.OR:
        return x | y
    if op is AluOp.XOR:
        return x ^ y
    if op is AluOp.NEG:
        return -x & m
    if y >= bits:
        return None
    if op is AluOp.LSH:
        return (x << y) & m
    if op is AluOp.RSH:
        return x >> y
    if op is AluOp.ARSH:
        sx = x - (1 << bits) if x >> (bits - 1) else x
        return (sx >> y) & m
    return None


_OPS = [AluOp.ADD, AluOp.SUB, AluOp.MUL, AluOp.AND, AluOp.OR, AluOp.XOR, AluOp.NEG, AluOp.LSH, AluOp.RSH,
        AluOp.ARSH]


@settings(max_examples=500, deadline=None)
@given(abstract(), abstract(), st.sampled_from(_OPS), st.booleans(), st.integers(0, 70))
def test_alu_transfer_is_sound(a: tuple[Bounds, int], b: tuple[Bounds, int], op: AluOp, is32: bool,
                               shift: int) -> None:
    (da, x), (sb, y) = a, b
    if op in (AluOp.LSH, AluOp.RSH, AluOp.ARSH):
        sb = Bounds()
        sb.mark_known(shift)
        y = shift
    want = _concrete(op, x, y, is32)
    if want is None:
        return
    if adjust_scalar_min_max_vals(da, sb, op, is32):
        assert da.contains(want), (op, is32, x, y, want, da)


_CONDS = [JmpOp.JEQ, JmpOp.JNE, JmpOp.JGT, JmpOp.JGE, JmpOp.JLT, JmpOp.JLE, JmpOp.JSGT, JmpOp.JSGE,
          JmpOp.JSLT, JmpOp.JSLE, JmpOp.JSET]


def _holds(op: int, x: int, y: int, is32: bool) -> bool:
    if is32:
        x, y = x & U32, y & U32
        sx, sy = s32(x), s32(y)
    else:
        sx, sy = s64(x), s64(y)
    return {JmpOp.JEQ: x == y, JmpOp.JNE: x != y, JmpOp.JGT: x > y, JmpOp.JGE: x >= y, JmpOp.JLT: x < y,
            JmpOp.JLE: x <= y, JmpOp.JSGT: sx > sy, JmpOp.JSGE: sx >= sy, JmpOp.JSLT: sx < sy,
            JmpOp.JSLE: sx <= sy, JmpOp.JSET: bool(x & y), JSET_NOT: not x & y}[op]


@settings(max_examples=500, deadline=None)
@given(abstract(), abstract(), st.sampled_from(_CONDS), st.booleans())
def test_branches_are_sound(a: tuple[Bounds, int], b: tuple[Bounds, int], op: JmpOp, is32: bool) -> None:
    (r1, x), (r2, y) = a, b
    taken = _holds(op, x, y, is32)
    pred = is_scalar_branch_taken(r1, r2, op, is32)
    if pred != -1:
        assert pred == int(taken)
        return
    cond = int(op) if taken else rev_opcode(int(op))
    regs_refine_cond_op(r1, r2, cond, is32)
    reg_bounds_sync(r1)
    reg_bounds_sync(r2)
    assert r1.contains(x) and r2.contains(y), (op, taken, x, y, r1, r2)
