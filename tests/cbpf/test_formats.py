"""The four text formats: round trips, and tcpdump/libpcap as the reference text."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from cbpf_strategies import canonical_program
from hypothesis import given, settings

from pybpf.cbpf import (
    CODES,
    FORMATS,
    Anc,
    SockFilter,
    format_asm,
    format_dd,
    format_ddd,
    format_listing,
    libpcap,
    parse_any,
    parse_asm,
    parse_dd,
    parse_ddd,
    parse_listing,
)
from pybpf.errors import AsmError

TCPDUMP = shutil.which("tcpdump")
EXPRS = ["ip", "tcp port 80 and len > 100", "vlan and ip6", "ip[2:2] * 4 - 3 = 7 or ip[1] ^ 5 = 2",
         "tcp[tcpflags] & tcp-syn != 0", "arp or icmp", "ip[0] % 3 = 1 or -ip[0] = 4 or ip[0]/ip[1] = 4"]


@settings(max_examples=150, deadline=None)
@given(canonical_program())
def test_round_trip_every_format(prog: list[SockFilter]) -> None:
    for name, (write, read) in FORMATS.items():
        text = write(prog)
        assert read(text) == prog, name
        assert parse_any(text) == prog, name


def _tcpdump(flag: str, expr: str) -> str:
    assert TCPDUMP
    out = subprocess.run([TCPDUMP, "-y", "EN10MB", flag, expr], capture_output=True, text=True, check=True)
    return out.stdout


@pytest.mark.skipif(not TCPDUMP or not libpcap.available(), reason="needs tcpdump and libpcap")
@pytest.mark.parametrize("expr", EXPRS)
def test_same_text_as_tcpdump(expr: str) -> None:
    prog = libpcap.compile_filter(expr)
    assert format_dd(prog) == _tcpdump("-dd", expr)
    assert format_ddd(prog) == _tcpdump("-ddd", expr)
    assert format_listing(prog) == _tcpdump("-d", expr)
    assert parse_dd(_tcpdump("-dd", expr)) == prog
    assert parse_ddd(_tcpdump("-ddd", expr)) == prog
    assert parse_listing(_tcpdump("-d", expr)) == [f.canonical() for f in prog]


@pytest.mark.skipif(not libpcap.available(), reason="needs libpcap")
def test_listing_is_bpf_image_for_every_code() -> None:
    samples = [0, 5, 0x7FFF_FFFF, 0x8000_0005, 0xFFFF_FFFF] + [a.k for a in Anc]
    for code in sorted(CODES):
        for k in samples:
            f = SockFilter(code, 1, 2, k)
            want = libpcap.bpf_image(f, 3)
            got = format_listing([SockFilter(0x06)] * 3 + [f]).splitlines()[3]
            if code == 0x81:  # libpcap 1.10 has no name for ldx #len
                assert want == "(003) unimp    0x81" and got == "(003) ldx      #pktlen"
                continue
            assert got == want, (hex(code), k)


def test_bpf_asm_syntax() -> None:
    src = """
    ; a seccomp-style prologue, written as in tools/bpf/bpf_asm
        ld [4]                  /* arch */
        jne #0xc000003e, bad    ; jne swaps the targets
        ld [0]
        jeq #39, good
        jlt #10, good
        jle x, good, bad
    bad: ret #0
    good:
        ret #0x7fff0000
    """
    prog = parse_asm(src)
    assert prog == [SockFilter(0x20, 0, 0, 4), SockFilter(0x15, 0, 4, 0xC000003E), SockFilter(0x20, 0, 0, 0),
                    SockFilter(0x15, 3, 0, 39), SockFilter(0x35, 0, 2, 10), SockFilter(0x2D, 0, 1, 0),
                    SockFilter(0x06, 0, 0, 0), SockFilter(0x06, 0, 0, 0x7FFF0000)]


def test_bpf_asm_loads_and_extensions() -> None:
    src = """
        ldb [x + 4]
        ldh [%x + 4]
        ld #len
        ldx len
        ldxb 4*([14]&0xf)
        ldx 4*([14]&0xf)
        ld #proto
        ldh vlan_tci
        ldb #vlan_pr
        ld rand
        ldi #0b101
        ldxi 010
        ld M[3]
        ldx #-1
        neg
        tax
        txa
        add %x
        ret %a
    """
    prog = parse_asm(src)
    assert [f.code for f in prog] == [0x50, 0x48, 0x80, 0x81, 0xB1, 0xB1, 0x20, 0x28, 0x30, 0x20, 0x00, 0x01,
                                      0x60, 0x01, 0x84, 0x07, 0x87, 0x0C, 0x16]
    assert prog[6].k == Anc.PROTOCOL.k and prog[8].k == Anc.VLAN_TAG_PRESENT.k and prog[9].k == Anc.RANDOM.k
    assert (prog[10].k, prog[11].k, prog[13].k) == (5, 8, 0xFFFF_FFFF)


@pytest.mark.parametrize(("src", "message"), [
    ("jeq #1, nowhere\nret #0", "undefined label"),
    ("back: ld [0]\nja back\nret #0", "behind"),
    ("frob #1", "unknown instruction"),
    ("ld [12\nret #0", "cannot read operand"),
    ("add y", "takes #k or x"),
    ("x1: ret #0\nx1: ret #0", "defined twice"),
    ("st [3]", "M[k]"),
    ("ret #zz", "not a number"),
])
def test_bpf_asm_errors(src: str, message: str) -> None:
    with pytest.raises(AsmError) as exc:
        parse_asm(src)
    assert message in str(exc.value)
    assert exc.value.line >= 1


def test_other_format_errors() -> None:
    with pytest.raises(AsmError):
        parse_dd("{ 0x28, 0, 0 },")
    with pytest.raises(AsmError, match="count says 2"):
        parse_ddd("2\n6 0 0 0\n")
    with pytest.raises(AsmError):
        parse_listing("(001) ret #0")
    with pytest.raises(AsmError):
        parse_listing("(000) jeq      #0x1             jt 0\tjf 1")
    with pytest.raises(AsmError):
        parse_dd("{ 0x28, 0, 999, 0 },")


def test_bpf_asm_comma_output_is_read() -> None:
    assert parse_ddd("2,40 0 0 12,6 0 0 0,") == [SockFilter(0x28, 0, 0, 12), SockFilter(0x06)]


def test_asm_writer_output_shape() -> None:
    prog = parse_asm("ldh [12]\njeq #0x800, yes, no\nyes: ret #65535\nno: ret #0")
    assert format_asm(prog) == "\tldh [12]\n\tjeq #0x800, l2, l3\nl2:\n\tret #0xffff\nl3:\n\tret #0x0\n"
