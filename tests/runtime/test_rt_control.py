"""Ring buffer and perf output, tail calls, bpf_loop and spin locks."""

from __future__ import annotations

import pytest
from rtbuild import build

from pybpf.errors import PyBpfError
from pybpf.maps import MapSpec, MapType
from pybpf.platform import ProgType
from pybpf.runtime.linux_helpers import MAX_TAIL_CALL_CNT

RAW_TP = ProgType.RAW_TRACEPOINT


def test_ringbuf_reserve_submit_and_output() -> None:
    rb = MapSpec("rb", MapType.RINGBUF, 0, 0, 4096)
    obj = build("""
    r1 = 0xAA000000 ll
    r2 = 8
    r3 = 0
    call 131
    if r0 == 0 goto out
    r1 = 0x1122334455667788 ll
    *(u64 *)(r0 + 0) = r1
    r1 = r0
    r2 = 0
    call 132
    r1 = 0xAA000000 ll
    r2 = r10
    r2 += -8
    *(u64 *)(r2 + 0) = 7
    r3 = 4
    r4 = 0
    call 130
    out:
    r0 = 2
    exit
    """, maps={"rb": rb})
    obj.programs["prog"].test_run(bytes(64))
    assert obj.maps["rb"].consume() == [(0x1122334455667788).to_bytes(8, "little"), b"\x07\0\0\0"]


def test_unsubmitted_ringbuf_record_is_an_error() -> None:
    rb = MapSpec("rb", MapType.RINGBUF, 0, 0, 4096)
    obj = build("""
    r1 = 0xAA000000 ll
    r2 = 8
    r3 = 0
    call 131
    r0 = 2
    exit
    """, maps={"rb": rb})
    with pytest.raises(PyBpfError, match="neither submitted nor discarded"):
        obj.programs["prog"].test_run(bytes(64))


def test_perf_event_output_appends_packet_bytes() -> None:
    pe = MapSpec("pe", MapType.PERF_EVENT_ARRAY, 4, 4, 2)
    obj = build("""
    r2 = 0xAA000000 ll
    r3 = 0x4ffffffff ll
    r4 = r10
    r4 += -8
    *(u64 *)(r4 + 0) = 1
    r5 = 2
    call 25
    exit
    """, maps={"pe": pe}, num_cpus=2)
    obj.maps["pe"].open_all()
    res = obj.programs["prog"].test_run(bytes(range(64)))
    assert res.retval == 0
    assert obj.maps["pe"].read(0) == [b"\x01\x00" + bytes(range(4))]


def _tail_obj(target_asm: str) -> object:
    jt = MapSpec("jt", MapType.PROG_ARRAY, 4, 4, 4)
    return build("""
    r2 = 0xAA000000 ll
    r3 = 0
    call 12
    r0 = 1
    exit
    """, maps={"jt": jt})


def test_tail_call_replaces_the_program_and_falls_through_when_empty() -> None:
    obj = _tail_obj("")
    prog = obj.programs["prog"]  # type: ignore[attr-defined]
    assert prog.test_run(bytes(64)).verdict == "XDP_DROP"  # empty slot: falls through
    jt = MapSpec("jt", MapType.PROG_ARRAY, 4, 4, 4)
    two = build({"prog": """
    r2 = 0xAA000000 ll
    r3 = 1
    call 12
    r0 = 1
    exit
    """, "other": "r0 = 3\nexit"}, maps={"jt": jt})
    two.maps["jt"][1] = two.programs["other"]
    assert two.programs["prog"].test_run(bytes(64)).verdict == "XDP_TX"


def test_tail_call_chain_stops_at_the_kernel_limit() -> None:
    # The program tail-calls itself and counts calls in an array: 33 succeed, then it falls through.
    jt = MapSpec("jt", MapType.PROG_ARRAY, 4, 4, 1)
    cnt = MapSpec("cnt", MapType.ARRAY, 4, 8, 1)
    obj = build("""
    r6 = r1
    r1 = 0xAA000001 ll
    r2 = r10
    r2 += -4
    *(u32 *)(r2 + 0) = 0
    call 1
    if r0 == 0 goto out
    r1 = 1
    lock *(u64 *)(r0 + 0) += r1
    r1 = r6
    r2 = 0xAA000000 ll
    r3 = 0
    call 12
    out:
    r0 = 2
    exit
    """, maps={"jt": jt, "cnt": cnt})
    obj.maps["jt"][0] = obj.programs["prog"]
    assert obj.programs["prog"].test_run(bytes(64)).verdict == "XDP_PASS"
    assert int.from_bytes(obj.maps["cnt"][0], "little") == MAX_TAIL_CALL_CNT + 1


def test_bpf_loop_calls_the_callback() -> None:
    # callback(i, ctx): *ctx += i; stop (return 1) when i == 5
    obj = build("""
    r1 = 0
    *(u64 *)(r10 - 8) = r1
    r1 = 10
    r2 = 0xBB00000d ll
    r3 = r10
    r3 += -8
    r4 = 0
    call 181
    r6 = *(u64 *)(r10 - 8)
    r6 <<= 8
    r0 |= r6
    exit
    r3 = *(u64 *)(r2 + 0)
    r3 += r1
    *(u64 *)(r2 + 0) = r3
    r0 = 0
    if r1 != 5 goto done
    r0 = 1
    done:
    exit
    """, RAW_TP)
    res = obj.programs["prog"].test_run(ctx=bytes(8))
    assert res.retval == (15 << 8) | 6  # 0+1+..+5, stopped after 6 calls


def test_spin_lock_pairs() -> None:
    val = MapSpec("v", MapType.ARRAY, 4, 8, 1, spin_lock_offset=0)
    obj = build("""
    r1 = 0xAA000000 ll
    r2 = r10
    r2 += -4
    *(u32 *)(r2 + 0) = 0
    call 1
    if r0 == 0 goto out
    r6 = r0
    r1 = r0
    call 93
    r1 = 9
    *(u32 *)(r6 + 4) = r1
    r1 = r6
    call 94
    out:
    r0 = 2
    exit
    """, maps={"v": val})
    obj.programs["prog"].test_run(bytes(64))
    assert obj.maps["v"].lookup(0)[4:] == b"\x09\0\0\0"


def test_prog_array_takes_only_this_objects_programs() -> None:
    from pybpf.maps import MapError

    obj = _tail_obj("")
    with pytest.raises(MapError):
        obj.maps["jt"][0] = "not a program"  # type: ignore[attr-defined]
    stranger = build("r0 = 3\nexit").programs["prog"]
    with pytest.raises(MapError):
        obj.maps["jt"][0] = stranger  # type: ignore[attr-defined]
