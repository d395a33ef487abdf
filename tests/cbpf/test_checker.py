"""The classic checker: each rule with its message, and the kernel's verdicts agree."""

from __future__ import annotations

import platform

import pytest
from cbpf_strategies import valid_program
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_classic import attach_verdict, seccomp_verdict, so_attach_available

from pybpf.cbpf import (
    BPF_MAXINSNS,
    CODES,
    SKF_AD_OFF,
    SKF_NET_OFF,
    Anc,
    FilterError,
    SockFilter,
    check,
    check_seccomp,
    parse_asm,
)
from pybpf.errors import PyBpfError

RET0 = SockFilter(0x06)


def _reject(prog: list[SockFilter], message: str, pc: int | None) -> FilterError:
    with pytest.raises(FilterError) as exc:
        check(prog)
    assert message in exc.value.reason
    assert exc.value.pc == pc
    assert isinstance(exc.value, PyBpfError) and isinstance(exc.value, ValueError)
    return exc.value


INVALID: list[tuple[list[SockFilter], str, int | None]] = [
    ([], "empty program", None),
    ([RET0] * (BPF_MAXINSNS + 1), "BPF_MAXINSNS", None),
    ([SockFilter(0x0E), RET0], "unknown opcode", 0),                      # ret x
    ([SockFilter(0x08), RET0], "unknown opcode", 0),                      # ld with size but IMM
    ([SockFilter(0x34, 0, 0, 0), RET0], "division by constant zero", 0),
    ([SockFilter(0x94, 0, 0, 0), RET0], "division by constant zero", 0),
    ([SockFilter(0x64, 0, 0, 32), RET0], "shift by 32", 0),
    ([SockFilter(0x74, 0, 0, 0xFFFF_FFFF), RET0], "shift", 0),
    ([SockFilter(0x02, 0, 0, 16), RET0], "M[16]", 0),
    ([SockFilter(0x60, 0, 0, 16), RET0], "M[16]", 0),
    ([SockFilter(0x05, 0, 0, 1), RET0], "outside the program", 0),
    ([SockFilter(0x05, 0, 0, 0xFFFF_FFFF), RET0], "outside the program", 0),
    ([SockFilter(0x15, 1, 0, 0), RET0], "jump-if-true", 0),
    ([SockFilter(0x15, 0, 1, 0), RET0], "jump-if-false", 0),
    ([SockFilter(0x20, 0, 0, (SKF_AD_OFF + 64) & 0xFFFF_FFFF), RET0], "unknown ancillary", 0),
    ([SockFilter(0x20, 0, 0, 0xFFFF_FFFF), RET0], "unknown ancillary", 0),
    ([SockFilter(0x00)], "must be a RET", 0),
    ([RET0, SockFilter(0x87)], "must be a RET", 1),
    ([SockFilter(0x60, 0, 0, 3), RET0], "M[3] is read before", 0),
    # written on one path only
    (parse_asm("jeq #1, a1, b1\na1: st M[2]\nb1: ld M[2]\nret a"), "M[2] is read before", 2),
]


@pytest.mark.parametrize(("prog", "message", "pc"), INVALID, ids=lambda v: v if isinstance(v, str) else None)
def test_rules(prog: list[SockFilter], message: str, pc: int | None) -> None:
    err = _reject(prog, message, pc)
    if pc is not None and prog:
        assert "(in '" in str(err)


VALID = [
    [RET0],
    [SockFilter(0x20, 0, 0, Anc.VLAN_TPID.k), SockFilter(0x16)],
    # below SKF_AD_OFF: a plain (negative) packet load
    [SockFilter(0x30, 0, 0, (SKF_NET_OFF + 9) & 0xFFFF_FFFF), SockFilter(0x16)],
    [SockFilter(0x05, 0, 0, 0), RET0],
    [SockFilter(0x64, 0, 0, 31), SockFilter(0x6C), RET0],
    parse_asm("st M[1]\njeq #1, a1, b1\na1: ld M[1]\nb1: ldx M[1]\nret a"),
    # The kernel's linear pass: after a RET, validity carries over to unreached code.
    parse_asm("st M[4]\nret #1\nld M[4]\nret a"),
    [RET0] * BPF_MAXINSNS,
]


@pytest.mark.parametrize("prog", VALID)
def test_valid(prog: list[SockFilter]) -> None:
    check(prog)


@settings(max_examples=100, deadline=None)
@given(valid_program())
def test_generated_programs_pass(prog: list[SockFilter]) -> None:
    check(prog)


# -- against the kernel -------------------------------------------------------------------
kernel_attach = pytest.mark.skipif(not so_attach_available(), reason="SO_ATTACH_FILTER unavailable")
_CODES = [*sorted(CODES), 0x0E, 0x08, 0x21, 0x68, 0xFF, 0xB0, 0x8C]
_KS = st.sampled_from([0, 1, 2, 3, 15, 16, 31, 32, 0xFFFF_FFFF, (SKF_AD_OFF + 64) & 0xFFFF_FFFF,
                       (SKF_NET_OFF + 2) & 0xFFFF_FFFF] + [a.k for a in Anc])


@st.composite
def _any_program(draw: st.DrawFn) -> list[SockFilter]:
    """Near-valid programs: each one breaks at most a rule or two, so both verdicts occur."""
    n = draw(st.integers(1, 8))
    prog = []
    for pc in range(n):
        left = n - pc - 1
        pool = _CODES if draw(st.integers(0, 9)) == 0 else sorted(CODES)
        code = draw(st.sampled_from(pool))
        if pc == n - 1 and draw(st.integers(0, 4)):
            code = draw(st.sampled_from([0x06, 0x16]))
        near = st.integers(0, left) if draw(st.integers(0, 9)) else st.integers(0, 8)
        k = draw(_KS) if code & 0x07 != 0x05 or code != 0x05 else draw(near)
        prog.append(SockFilter(code, draw(near), draw(near), k))
    return prog


def _verdict(prog: list[SockFilter]) -> int:
    try:
        check(prog)
    except FilterError:
        return 22  # EINVAL
    return 0


@kernel_attach
@pytest.mark.parametrize("prog", [p for p, _m, _pc in INVALID] + VALID)
def test_kernel_agrees_on_the_rule_table(prog: list[SockFilter]) -> None:
    assert attach_verdict(prog) == _verdict(prog)


@kernel_attach
@settings(max_examples=400, deadline=None)
@given(_any_program())
def test_kernel_agrees_on_random_programs(prog: list[SockFilter]) -> None:
    assert attach_verdict(prog) == _verdict(prog)


@kernel_attach
@settings(max_examples=60, deadline=None)
@given(valid_program())
def test_kernel_accepts_generated_programs(prog: list[SockFilter]) -> None:
    assert attach_verdict(prog) == 0


# -- seccomp --------------------------------------------------------------------------------
SECCOMP_BAD = [
    ("ld [1]\nret a", "aligned 32-bit"),
    ("ld [64]\nret a", "aligned 32-bit"),
    ("ldh [0]\nret a", "not allowed in seccomp"),
    ("ld [x + 0]\nret a", "not allowed in seccomp"),
    ("ldxb 4*([0]&0xf)\nret a", "not allowed in seccomp"),
    ("ld #proto\nret a", "aligned 32-bit"),
    ("ld #5\nmod #3\nret a", "not allowed in seccomp"),
    ("ld #5\nmod x\nret a", "not allowed in seccomp"),
]
SECCOMP_GOOD = ["ld [0]\nret a", "ld [60]\nret a", "ld #len\nldx #len\nret #0x7fff0000",
                "ld [4]\njeq #0xc000003e, ok, no\nok: ret #0x7fff0000\nno: ret #0"]


@pytest.mark.parametrize(("src", "message"), SECCOMP_BAD)
def test_seccomp_rules(src: str, message: str) -> None:
    with pytest.raises(FilterError) as exc:
        check_seccomp(parse_asm(src))
    assert message in exc.value.reason and exc.value.pc is not None


def test_seccomp_rewrites() -> None:
    out = check_seccomp(parse_asm("ld [8]\nld #len\nldx #len\nret a"))
    assert [(f.code, f.k) for f in out] == [(0x21, 8), (0x00, 64), (0x01, 64), (0x16, 0)]


@pytest.mark.skipif(platform.machine() != "x86_64", reason="seccomp syscall number for x86_64")
@pytest.mark.parametrize("src", [*(s for s, _ in SECCOMP_BAD), *SECCOMP_GOOD, "ld M[0]\nret a",
                                 "ret #0\nret a"])
def test_kernel_seccomp_agrees(src: str) -> None:
    try:
        prog = parse_asm(src)
    except PyBpfError:
        pytest.skip("not expressible")
    try:
        check_seccomp(prog)
        want = 0
    except FilterError:
        want = 22
    assert seccomp_verdict(prog) == want
