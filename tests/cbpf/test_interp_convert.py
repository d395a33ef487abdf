"""Classic interpreter semantics, the converter's instruction sequences, and the two agreeing."""

from __future__ import annotations

import pytest
from cbpf_strategies import valid_program
from ebpf_run import EbpfRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from pybpf.cbpf import (
    SKF_LL_OFF,
    SKF_NET_OFF,
    Anc,
    PacketMeta,
    SockFilter,
    check,
    convert,
    parse_asm,
    run_filter,
)
from pybpf.cbpf.convert import prune_unreachable
from pybpf.isa import Insn, encode

PKT = bytes(range(64))


def run(src: str, data: bytes = PKT, meta: PacketMeta | None = None) -> int:
    prog = parse_asm(src)
    check(prog)
    got = run_filter(prog, data, meta)
    # Every case also runs converted, on pybpf's eBPF interpreter.
    if not any(f.k >= 0x8000_0000 and f.code in (0x20, 0x28, 0x30) and f.k < 0xFFFF_F000 for f in prog):
        assert EbpfRunner(prog, meta).run(data) == got
    return got


def test_loads() -> None:
    assert run("ld [0]\nret a") == 0x00010203
    assert run("ldh [62]\nret a") == 0x3E3F
    assert run("ldb [63]\nret a") == 63
    assert run("ldx #2\nldh [x + 60]\nret a") == 0x3E3F
    assert run("ldxb 4*([5]&0xf)\ntxa\nret a") == 20
    assert run("ld #len\nret a") == 64
    assert run("ldx #len\ntxa\nret a", meta=PacketMeta(len=1500)) == 1500


def test_out_of_bounds_ends_with_zero() -> None:
    assert run("ld [61]\nret #7") == 0
    assert run("ldh [63]\nret #7") == 0
    assert run("ldb [64]\nret #7") == 0
    assert run("ldx #0xffffffff\nldb [x + 1]\nret #7") == 7  # X + k wraps to 0
    assert run("ldx #0xfffffffe\nldb [x + 1]\nret #7") == 0  # -1: negative offset
    assert run("ldxb 4*([64]&0xf)\nret #7") == 0
    assert run("ld [0x80000000]\nret #7") == 0


def test_division_by_x_zero_ends_with_zero() -> None:
    assert run("ld #10\nldx #0\ndiv x\nret #7") == 0
    assert run("ld #10\nldx #0\nmod x\nret #7") == 0
    assert run("ld #10\nldx #3\nmod x\nret a") == 1
    assert run("ld #0xffffffff\ndiv #2\nret a") == 0x7FFFFFFF


def test_alu_is_32_bit() -> None:
    assert run("ld #0xffffffff\nadd #1\nret a") == 0
    assert run("ld #0\nsub #1\nret a") == 0xFFFFFFFF
    assert run("ld #0x10000\nmul #0x10000\nret a") == 0
    assert run("ld #1\nneg\nret a") == 0xFFFFFFFF
    assert run("ld #1\nlsh #31\nret a") == 0x80000000
    # Shifts by X use its low 5 bits, as eBPF's 32-bit shifts (libpcap instead gives 0 for X >= 32).
    assert run("ld #1\nldx #33\nlsh x\nret a") == 2
    assert run("ld #0x80000000\nldx #63\nrsh x\nret a") == 1


def test_jumps_are_unsigned_32_bit() -> None:
    assert run("ld #0xffffffff\njgt #0x7fffffff, t1, f1\nt1: ret #1\nf1: ret #2") == 1
    assert run("ld #5\njge #0xfffffffe, t1, f1\nt1: ret #1\nf1: ret #2") == 2
    assert run("ld #0x80000000\njeq #0x80000000, t1, f1\nt1: ret #1\nf1: ret #2") == 1
    assert run("ld #6\njset #2, t1, f1\nt1: ret #1\nf1: ret #2") == 1
    assert run("ld #6\nldx #6\njeq x, t1\nret #2\nt1: ret #1") == 1
    assert run("ja over\nret #2\nover: ret #3") == 3


def test_scratch_memory() -> None:
    assert run("ld #5\nst M[15]\nldx #7\nstx M[0]\nld M[0]\nldx M[15]\nadd x\nret a") == 12


META = PacketMeta(len=100, protocol=0x86DD, pkttype=3, ifindex=7, mark=0xDEAD, queue=5, rxhash=0x1234,
                  cpu=1, vlan_tci=0x2064, vlan_present=1, vlan_tpid=0x88A8, hatype=772,
                  random=lambda: 0xC0FFEE)


@pytest.mark.parametrize(("name", "want"), [
    ("proto", 0x86DD), ("type", 3), ("ifidx", 7), ("mark", 0xDEAD), ("queue", 5), ("rxhash", 0x1234),
    ("cpu", 1), ("vlan_tci", 0x2064), ("vlan_avail", 1), ("vlan_tpid", 0x88A8), ("hatype", 772),
    ("rand", 0xC0FFEE),
])
def test_ancillary(name: str, want: int) -> None:
    for size in ("ld", "ldh", "ldb"):  # the kernel ignores the size of ancillary loads
        assert run(f"{size} #{name}\nret a", meta=META) == want


def test_ancillary_xor_x_and_helpers() -> None:
    assert run("ld #0xf0\nldx #0xff\nld #xor_x\nret a") == 0x0F
    meta = PacketMeta(pay_offset=lambda data: 42, nlattr=lambda data, a, x: a + x)
    assert run("ld #poff\nret a", meta=meta) == 42
    assert run("ld #3\nldx #4\nld #nla\nret a", meta=meta) == 7
    assert run("ld #nlan\nret a") == 0


def test_negative_offsets() -> None:
    meta = PacketMeta(mac_offset=0, net_offset=14)
    prog = [SockFilter(0x30, 0, 0, (SKF_NET_OFF + 9) & 0xFFFF_FFFF), SockFilter(0x16)]
    assert run_filter(prog, PKT, meta) == 23
    prog = [SockFilter(0x28, 0, 0, (SKF_LL_OFF + 12) & 0xFFFF_FFFF), SockFilter(0x16)]
    assert run_filter(prog, PKT, meta) == 0x0C0D
    assert run_filter(prog, PKT, PacketMeta(mac_offset=None)) == 0
    prog = [SockFilter(0x30, 0, 0, (SKF_NET_OFF - 1) & 0xFFFF_FFFF), SockFilter(0x06, 0, 0, 1)]
    # SKF_NET_OFF - 1 falls in the SKF_LL_OFF window: byte 0xFFFFF after the link-layer header.
    assert run_filter(prog, PKT, meta) == 0
    assert run_filter(prog, PKT + bytes(0x100000), meta) == 1
    prog = [SockFilter(0x30, 0, 0, (SKF_LL_OFF - 1) & 0xFFFF_FFFF), SockFilter(0x06, 0, 0, 1)]
    assert run_filter(prog, PKT, meta) == 0


# -- the converter's exact sequences ------------------------------------------------------
def _ops(src: str) -> list[str]:
    return [str(i) for i in convert(parse_asm(src))]


def test_prologue_and_ret() -> None:
    assert _ops("ret #5") == ["w0 = 0", "w7 = 0", "r6 = r1", "w0 = 5", "exit"]
    assert _ops("ret a")[-1:] == ["exit"] and len(_ops("ret a")) == 4


def test_jump_shapes() -> None:
    # jf = 0: one Jxx; jt = 0: the inverted test; otherwise Jxx + JA.
    assert convert(parse_asm("jeq #1, t1\nt1: ret #0"))[3].opcode == 0x15
    assert convert(parse_asm("jeq #1, t1, f1\nt1: ret #0\nf1: ret #1"))[3].opcode == 0x55
    assert list(convert(parse_asm("jeq #1, t1, f1\nret #5\nt1: ret #0\nf1: ret #1"))[3:5]) == [
        Insn(0x15, dst=0, imm=1, off=3), Insn(0x05, off=4)]
    assert convert(parse_asm("jgt #1, t1, f1\nt1: ret #0\nf1: ret #1"))[3].opcode == 0xB5
    assert convert(parse_asm("jgt #1, f1\nret #0\nf1: ret #1"))[3].opcode == 0x25
    assert convert(parse_asm("jle #1, t1\nret #0\nt1: ret #1"))[3].opcode == 0xB5  # jgt 0,L -> JLE
    assert convert(parse_asm("jlt #1, t1\nret #0\nt1: ret #1"))[3].opcode == 0xA5
    assert convert(parse_asm("jneq #1, t1\nret #0\nt1: ret #1"))[3].opcode == 0x55
    # jset has no inverse: Jxx + JA even when jt = 0
    jset = convert(parse_asm("jset #1, t1, f1\nt1: ret #0\nf1: ret #1"))
    assert [i.opcode for i in jset[3:5]] == [0x45, 0x05]
    # (int)k < 0: the constant goes through tmp (r2) zero-extended
    seq = convert(parse_asm("jeq #0x80000000, t1\nt1: ret #0"))
    assert seq[3] == Insn(0xB4, dst=2, imm=0x80000000) and seq[4] == Insn(0x1D, dst=0, src=2, off=0)


def test_div_x_guard_msh_and_memory() -> None:
    assert _ops("div x\nret a")[3:8] == ["w7 = w7", "if r7 != 0 goto +2", "w0 ^= w0", "exit", "w0 /= w7"]
    assert _ops("ldxb 4*([14]&0xf)\nret a")[3:10] == [
        "r7 = r0", "r0 = *(u8 *)skb[14]", "w0 &= 15", "w0 <<= 2", "r2 = r7", "r7 = r0", "r0 = r2"]
    assert _ops("st M[3]\nldx M[3]\nret a")[3:5] == ["*(u32 *)(r10 - 16) = r0", "r7 = *(u32 *)(r10 - 16)"]


def test_converted_programs_encode() -> None:
    for src in ("ld #proto\nld #rand\nld #cpu\nld #len\nldx #len\nneg\nret a",
                "ldh [x + 3]\nldb [2]\nand x\nret a"):
        assert len(encode(convert(parse_asm(src)))) % 8 == 0


# -- classic interpreter == converted eBPF on pybpf's interpreter -------------------------
@settings(max_examples=250, deadline=None)
@given(valid_program(), st.binary(min_size=0, max_size=90), st.integers(0, 2000))
def test_converted_matches_classic(prog: list[SockFilter], data: bytes, wirelen: int) -> None:
    # pybpf's eBPF interpreter does not model negative LD_ABS offsets (SKF_NET_OFF/SKF_LL_OFF):
    # with no mac/network header set, those loads fail in both.
    meta = PacketMeta(len=wirelen, protocol=0x0800, pkttype=1, ifindex=3, mark=77, queue=2, rxhash=9,
                      cpu=0, vlan_tci=5, vlan_present=1, vlan_tpid=0x8100, hatype=1,
                      random=lambda: 0x5EED, mac_offset=None, net_offset=None)
    check(prog)
    assert EbpfRunner(prog, meta).run(data) == run_filter(prog, data, meta)


def test_helper_backed_ancillary_names_the_helper() -> None:
    prog = convert([SockFilter(0x20, 0, 0, Anc.PAY_OFFSET.k), SockFilter(0x16)])
    assert prog[-2].opcode == 0x85 and prog[-2].imm == 0x7FFF_FF00


@settings(max_examples=150, deadline=None)
@given(valid_program(negative=False), st.binary(min_size=0, max_size=90))
def test_pruning_keeps_the_result(prog: list[SockFilter], data: bytes) -> None:
    pruned = prune_unreachable(prog)
    check(pruned)
    assert len(pruned) <= len(prog)
    meta = PacketMeta(random=lambda: 1)
    assert run_filter(pruned, data, meta) == run_filter(prog, data, meta)


def test_unchecked_programs_fail_cleanly() -> None:
    from pybpf.errors import VmError

    with pytest.raises(VmError) as exc:
        run_filter([SockFilter(0x00, 0, 0, 1), SockFilter(0x0E)], b"")
    assert exc.value.pc == 1
    with pytest.raises(VmError, match="no RET"):
        run_filter([SockFilter(0x00, 0, 0, 1)], b"")
    with pytest.raises(VmError, match="no RET"):
        run_filter([SockFilter(0x05, 0, 0, 7), SockFilter(0x06)], b"")
