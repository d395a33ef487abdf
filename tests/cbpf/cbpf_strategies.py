"""Hypothesis strategies for classic programs: canonical instructions and programs the checker accepts."""

from __future__ import annotations

from hypothesis import strategies as st

from pybpf.cbpf import CODES, SKF_LL_OFF, SKF_NET_OFF, Anc, SockFilter
from pybpf.cbpf.model import BPF_JMP, BPF_RET

u32 = st.integers(0, 0xFFFF_FFFF)
_NO_K = {"", "a", "#len", "x", "x,jt,jf"}


@st.composite
def canonical_insn(draw: st.DrawFn) -> SockFilter:
    """Any valid opcode with its unused fields zero (what every text format can carry)."""
    code = draw(st.sampled_from(sorted(CODES)))
    info = CODES[code]
    k = 0 if info.operand in _NO_K else draw(u32)
    if info.is_cond_jump:
        return SockFilter(code, draw(st.integers(0, 255)), draw(st.integers(0, 255)), k)
    return SockFilter(code, 0, 0, k)


@st.composite
def canonical_program(draw: st.DrawFn) -> list[SockFilter]:
    """Canonical instructions whose jumps land inside the program (for label-based formats)."""
    n = draw(st.integers(1, 30))
    prog = []
    for pc in range(n):
        f = draw(canonical_insn())
        left = n - pc - 1
        if f.code == (BPF_JMP | 0x00):
            f = SockFilter(f.code, 0, 0, draw(st.integers(0, max(left - 1, 0))) if left else 0)
            if not left:
                f = SockFilter(0x06, 0, 0, 0)
        elif f.code & 0x07 == BPF_JMP:
            if left == 0:
                f = SockFilter(0x16)
            else:
                f = SockFilter(f.code, draw(st.integers(0, min(left - 1, 255))),
                               draw(st.integers(0, min(left - 1, 255))), f.k)
        prog.append(f)
    return prog


_SMALL_K = st.one_of(st.integers(0, 80), st.sampled_from([0xFFFF_EFFF, 0x8000_0000, 1 << 20]))


@st.composite
def valid_program(draw: st.DrawFn, *, ancillary: bool = True, negative: bool = True,
                  max_len: int = 40) -> list[SockFilter]:
    """A program ``check`` accepts, exercising every class, M[], ancillary and edge offsets."""
    cells = draw(st.lists(st.integers(0, 15), max_size=4, unique=True))
    prog: list[SockFilter] = []
    for c in cells:
        prog += [SockFilter(0x00, 0, 0, draw(u32)), SockFilter(0x02, 0, 0, c)]
    n = draw(st.integers(1, max_len))
    body: list[SockFilter] = []
    for pc in range(n):
        left = n - pc - 1  # instructions after this one in the body (the final RET is extra)
        kind = draw(st.sampled_from(["ld", "ld", "ldx", "alu", "alu", "jmp", "jmp", "mem", "misc", "ret",
                                     "anc" if ancillary else "ld"]))
        if kind == "ld":
            code = draw(st.sampled_from([0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0x80, 0x00]))
            k = draw(_SMALL_K) if code != 0x00 else draw(u32)
            if negative and code in (0x20, 0x28, 0x30) and draw(st.booleans()):
                k = (draw(st.sampled_from([SKF_NET_OFF, SKF_LL_OFF, -5000])) + draw(st.integers(0, 40))) \
                    & 0xFFFF_FFFF
            body.append(SockFilter(code, 0, 0, k))
        elif kind == "ldx":
            code = draw(st.sampled_from([0x01, 0x81, 0xB1]))
            body.append(SockFilter(code, 0, 0, draw(_SMALL_K) if code != 0x01 else draw(u32)))
        elif kind == "anc":
            anc = draw(st.sampled_from([a for a in Anc if a not in (Anc.NLATTR, Anc.NLATTR_NEST,
                                                                    Anc.PAY_OFFSET)]))
            body.append(SockFilter(draw(st.sampled_from([0x20, 0x28, 0x30])), 0, 0, anc.k))
        elif kind == "alu":
            code = draw(st.sampled_from([c for c, i in CODES.items() if i.cls == 4]))
            k = draw(u32)
            if code & 0xF8 in (0x30, 0x90) and not code & 8:
                k = k or 7
            if code & 0xF8 in (0x60, 0x70) and not code & 8:
                k &= 31
            body.append(SockFilter(code, 0, 0, 0 if code & 8 or code == 0x84 else k))
        elif kind == "jmp" and left > 0:
            code = draw(st.sampled_from([c for c, i in CODES.items() if i.cls == 5]))
            if code == 0x05:
                body.append(SockFilter(code, 0, 0, draw(st.integers(0, left))))
            else:
                # Targets may be the final RET too (it sits at index n of the body).
                body.append(SockFilter(code, draw(st.integers(0, min(left, 255))),
                                       draw(st.integers(0, min(left, 255))), 0 if code & 8 else draw(u32)))
        elif kind == "mem" and cells:
            code = draw(st.sampled_from([0x60, 0x61, 0x02, 0x03]))
            body.append(SockFilter(code, 0, 0, draw(st.sampled_from(cells))))
        elif kind == "misc":
            body.append(SockFilter(draw(st.sampled_from([0x07, 0x87]))))
        elif kind == "ret":
            body.append(SockFilter(draw(st.sampled_from([0x06, 0x16])), 0, 0, draw(u32)))
        else:
            body.append(SockFilter(0x87))
    body.append(SockFilter(BPF_RET | 0x10))
    # Stores to cells outside ``cells`` are fine; reads only touch ``cells``.
    return prog + body
