"""Map helpers: real value pointers, stale pointers, read-only values, queues, per-CPU."""

from __future__ import annotations

import pytest
from rtbuild import build, hash_map

from pybpf.errors import VmError
from pybpf.maps import MapFlags, MapSpec, MapType

UPDATE_THEN_BUMP = """
r1 = 0xAA000000 ll
r2 = r10
r2 += -4
*(u32 *)(r2 + 0) = 7
r3 = r10
r3 += -16
*(u64 *)(r3 + 0) = 99
r4 = 0
call 2
r1 = 0xAA000000 ll
r2 = r10
r2 += -4
call 1
if r0 == 0 goto miss
r6 = *(u64 *)(r0 + 0)
r6 += 1
*(u64 *)(r0 + 0) = r6
r0 = 2
exit
miss:
r0 = 1
exit
"""


def test_lookup_returns_a_pointer_into_the_value() -> None:
    obj = build(UPDATE_THEN_BUMP, maps={"m": hash_map()})
    res = obj.programs["prog"].test_run(bytes(64))
    assert res.verdict == "XDP_PASS"
    assert obj.maps["m"].lookup((7).to_bytes(4, "little")) == (100).to_bytes(8, "little")


def test_missing_key_gives_null_and_errnos_are_the_kernels() -> None:
    obj = build("""
    r1 = 0xAA000000 ll
    r2 = r10
    r2 += -4
    *(u32 *)(r2 + 0) = 1
    call 3
    exit
    """, maps={"m": hash_map()})
    assert obj.programs["prog"].test_run(bytes(64)).retval == (-2) & 0xFFFF_FFFF  # -ENOENT


def test_pointer_to_a_deleted_element_faults() -> None:
    obj = build("""
    r1 = 0xAA000000 ll
    r2 = r10
    r2 += -4
    *(u32 *)(r2 + 0) = 1
    call 1
    if r0 == 0 goto out
    r6 = r0
    r1 = 0xAA000000 ll
    r2 = r10
    r2 += -4
    call 3
    *(u64 *)(r6 + 0) = 5
    out:
    r0 = 2
    exit
    """, maps={"m": hash_map()})
    obj.maps["m"][(1).to_bytes(4, "little")] = bytes(8)
    with pytest.raises(VmError, match="out of bounds memory store"):
        obj.programs["prog"].test_run(bytes(64))
    assert len(obj.maps["m"]) == 0


def test_direct_value_access_and_rdonly_prog() -> None:
    rodata = MapSpec(".rodata", MapType.ARRAY, 4, 8, 1, flags=int(MapFlags.RDONLY_PROG),
                     contents=((bytes(4), (42).to_bytes(8, "little")),), freeze=True)
    obj = build("""
    r1 = 0xAB000000 ll
    r0 = *(u64 *)(r1 + 0)
    exit
    """, maps={".rodata": rodata})
    assert obj.programs["prog"].test_run(bytes(64)).retval == 42
    writer = build("""
    r1 = 0xAB000000 ll
    *(u64 *)(r1 + 0) = 1
    r0 = 2
    exit
    """, maps={".rodata": rodata})
    with pytest.raises(VmError, match="invalid memory store"):
        writer.programs["prog"].test_run(bytes(64))


def test_queue_push_pop_peek() -> None:
    q = MapSpec("q", MapType.QUEUE, 0, 8, 4)
    obj = build("""
    r2 = r10
    r2 += -8
    *(u64 *)(r2 + 0) = 11
    r1 = 0xAA000000 ll
    r3 = 0
    call 87
    r2 = r10
    r2 += -8
    *(u64 *)(r2 + 0) = 22
    r1 = 0xAA000000 ll
    r3 = 0
    call 87
    r1 = 0xAA000000 ll
    r2 = r10
    r2 += -16
    call 88
    r0 = *(u64 *)(r10 - 16)
    exit
    """, maps={"q": q})
    assert obj.programs["prog"].test_run(bytes(64)).retval == 11
    assert obj.maps["q"].lookup(None) == (22).to_bytes(8, "little")  # peek from user space


def test_percpu_map_uses_the_configured_cpu() -> None:
    spec = MapSpec("pc", MapType.PERCPU_ARRAY, 4, 8, 1)
    obj = build("""
    r1 = 0xAA000000 ll
    r2 = r10
    r2 += -4
    *(u32 *)(r2 + 0) = 0
    call 1
    if r0 == 0 goto out
    r1 = 5
    *(u64 *)(r0 + 0) = r1
    out:
    r0 = 2
    exit
    """, maps={"pc": spec}, num_cpus=4, cpu=2)
    obj.programs["prog"].test_run(bytes(64))
    values = obj.maps["pc"][0]
    assert [int.from_bytes(v, "little") for v in values] == [0, 0, 5, 0]


def test_bloom_filter_push_and_peek() -> None:
    bloom = MapSpec("b", MapType.BLOOM_FILTER, 0, 8, 64, map_extra=3)
    obj = build("""
    r2 = r10
    r2 += -8
    *(u64 *)(r2 + 0) = 1234
    r1 = 0xAA000000 ll
    r3 = 0
    call 87
    r1 = 0xAA000000 ll
    r2 = r10
    r2 += -8
    call 89
    r6 = r0
    *(u64 *)(r10 - 8) = 99
    r1 = 0xAA000000 ll
    r2 = r10
    r2 += -8
    call 89
    r0 <<= 8
    r0 |= r6
    exit
    """, maps={"b": bloom})
    # found (0), then not found (-ENOENT); the retval keeps the low 32 bits
    assert obj.programs["prog"].test_run(bytes(64)).retval == ((-2 << 8) & 0xFFFF_FFFF)
