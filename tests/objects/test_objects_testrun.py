"""Test runs per program type: what the program sees (ctx, packet) and what comes back."""

from __future__ import annotations

from pathlib import Path

import pytest
from pktbuild import eth, ipv4, udp
from rtbuild import build

from pybpf.errors import MemoryAccessError, PyBpfError
from pybpf.objects import TestRunError, load_object
from pybpf.platform import ProgType

DATA = Path(__file__).resolve().parents[1] / "data" / "runtime"

PKT = eth(ipv4(udp(1, 2, b"hello"), 17))


def test_xdp_data_pointers_are_full_packet_pointers() -> None:
    obj = build("""
    r2 = *(u32 *)(r1 + 0)
    r3 = *(u32 *)(r1 + 4)
    r0 = r3
    r0 -= r2
    exit
    """)
    assert obj.programs["prog"].test_run(PKT).retval == len(PKT)


def test_reading_past_data_end_faults() -> None:
    obj = build("""
    r2 = *(u32 *)(r1 + 4)
    r0 = *(u8 *)(r2 + 0)
    exit
    """)
    with pytest.raises(MemoryAccessError, match="pc 1"):
        obj.programs["prog"].test_run(PKT)


def test_socket_filter_sees_the_network_header() -> None:
    obj = build("""
    r6 = r1
    r0 = *(u32 *)(r6 + 0)
    r1 = *(u32 *)(r6 + 16)
    r1 <<= 16
    r0 |= r1
    r0 = *(u8 *)skb[9]
    r0 <<= 32
    r1 = *(u32 *)(r6 + 0)
    r0 |= r1
    exit
    """, ProgType.SOCKET_FILTER)
    res = obj.programs["prog"].test_run(PKT)
    # ldabs reads from the IP header (protocol 17); len excludes the L2 header
    assert res.retval == len(PKT) - 14
    assert res.verdict == f"keep {len(PKT) - 14} bytes"
    assert res.data_out == bytes(14) + PKT[14:]  # the kernel pushes a zeroed L2 header back


def test_skb_ctx_in_and_out() -> None:
    obj = build("r0 = *(u32 *)(r1 + 8)\nexit", ProgType.SCHED_CLS)
    res = obj.programs["prog"].test_run(PKT, ctx={"mark": 7, "priority": 3})
    assert res.retval == 7 and res.verdict == "TC_ACT_REDIRECT"
    assert res.ctx_out is not None and res.ctx_out[32:36] == b"\x03\0\0\0"
    with pytest.raises(TestRunError, match="len"):
        obj.programs["prog"].test_run(PKT, ctx=b"\x01" + bytes(191))
    with pytest.raises(TestRunError):
        obj.programs["prog"].test_run(b"short")


def test_xdp_ctx_metadata() -> None:
    obj = build("""
    r2 = *(u32 *)(r1 + 8)
    r3 = *(u32 *)(r1 + 0)
    r0 = r3
    r0 -= r2
    exit
    """)
    res = obj.programs["prog"].test_run(b"\xaa" * 8 + PKT, ctx={"data": 8, "data_end": len(PKT) + 8})
    assert res.retval == 8
    assert res.data_out == b"\xaa" * 8 + PKT
    with pytest.raises(TestRunError):
        obj.programs["prog"].test_run(PKT, ctx={"data": 3, "data_end": len(PKT)})


def test_kprobe_reads_pt_regs() -> None:
    obj = build("r0 = *(u64 *)(r1 + 112)\nexit", ProgType.KPROBE)  # di: the first argument
    res = obj.programs["prog"].test_run(ctx={"di": 1234})
    assert res.retval == 1234 and res.verdict is None


def test_raw_tracepoint_and_syscall_ctx() -> None:
    raw = build("r0 = *(u64 *)(r1 + 8)\nexit", ProgType.RAW_TRACEPOINT)
    args = (1).to_bytes(8, "little") + (9).to_bytes(8, "little")
    assert raw.programs["prog"].test_run(ctx=args).retval == 9
    sysc = build("r2 = 77\n*(u32 *)(r1 + 0) = r2\nr0 = 0\nexit", ProgType.SYSCALL)
    assert sysc.programs["prog"].test_run(ctx=bytes(8)).ctx_out == b"\x4d" + bytes(7)
    with pytest.raises(TestRunError):
        raw.programs["prog"].test_run(b"data")


def test_raw_memory_programs() -> None:
    obj = build("r0 = r2\n*(u8 *)(r1 + 0) = 9\nexit", None)
    res = obj.programs["prog"].test_run(b"abc")
    assert res.retval == 3 and res.data_out == b"\x09bc" and res.verdict is None


def test_repeat_and_trace() -> None:
    obj = build("r0 = 2\nexit")
    res = obj.programs["prog"].test_run(PKT, repeat=5, trace=True)
    assert res.retval == 2 and res.insns == 2 and res.duration_ns >= 0
    assert res.trace is not None and len(res.trace) == 10


def test_compiled_object_end_to_end() -> None:
    obj = load_object(DATA / "sock_filter.o")
    res = obj.programs["sock_filter"].test_run(PKT)
    assert res.retval == 64
    assert int.from_bytes(obj.maps["seen"][0], "little") == len(PKT) - 14


def test_a_failing_run_leaves_nothing_mapped() -> None:
    obj = build("""
    r2 = *(u32 *)(r1 + 4)
    r0 = *(u8 *)(r2 + 0)
    exit
    """)
    before = len(obj.memory.regions)
    with pytest.raises(PyBpfError):
        obj.programs["prog"].test_run(PKT)
    assert len(obj.memory.regions) == before


def test_xdp_headroom_before_data_meta_is_not_mapped() -> None:
    obj = build("""
    r2 = *(u32 *)(r1 + 8)
    r0 = *(u8 *)(r2 - 1)
    exit
    """)
    with pytest.raises(MemoryAccessError, match="pc 1"):
        obj.programs["prog"].test_run(PKT)


def test_xdp_adjust_head_remaps_the_packet() -> None:
    obj = build("""
    r6 = r1
    r2 = -8
    call 44
    r2 = *(u32 *)(r6 + 0)
    r3 = *(u32 *)(r6 + 4)
    r1 = 0x7777777777777777 ll
    *(u64 *)(r2 + 0) = r1
    r0 = r3
    r0 -= r2
    exit
    """)
    res = obj.programs["prog"].test_run(PKT)
    assert res.retval == len(PKT) + 8
    assert res.data_out == b"\x77" * 8 + PKT
