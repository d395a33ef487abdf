"""The region table: placement, checked accessors and the errors they raise."""

from __future__ import annotations

import itertools

import pytest

from pybpf.errors import MemoryAccessError, PyBpfError
from pybpf.runtime.memory import GUARD, HIGH_LIMIT, LOW_LIMIT, Memory


def test_regions_are_placed_apart_and_never_at_null() -> None:
    mem = Memory()
    regions = [mem.add(f"r{i}", 100 + i) for i in range(5)]
    bases = [r.base for r in regions]
    assert all(LOW_LIMIT <= b < HIGH_LIMIT for b in bases)
    ordered = sorted(regions, key=lambda r: r.base)
    for a, b in itertools.pairwise(ordered):
        assert b.base - a.end >= GUARD  # an unmapped gap between neighbours
    assert mem.find(0) is None


def test_add_uses_bytearray_in_place_and_copies_bytes() -> None:
    mem = Memory()
    buf = bytearray(4)
    r = mem.add("mine", buf)
    mem.store(r.base, 4, 0x11223344)
    assert buf == bytes.fromhex("44332211")  # little-endian, caller sees the write
    data = b"\x01\x02"
    r2 = mem.add("copy", data)
    mem.store(r2.base, 1, 9)
    assert data == b"\x01\x02"


def test_load_store_read_write() -> None:
    mem = Memory()
    r = mem.add("m", bytes(range(16)))
    assert mem.load(r.base + 1, 2) == 0x0201
    assert mem.load(r.base + 8, 8) == int.from_bytes(bytes(range(8, 16)), "little")
    mem.store(r.base, 8, -1)  # masked to the size
    assert mem.read(r.base, 8) == b"\xff" * 8
    mem.write(r.base + 14, b"ab")
    assert mem.read(r.base + 12, 4) == bytes([12, 13]) + b"ab"
    assert mem.read(0, 0) == b""


def test_out_of_bounds_store_writes_nothing_and_says_how_far() -> None:
    mem = Memory()
    r = mem.add("mem", 8)
    with pytest.raises(MemoryAccessError) as info:
        mem.store(r.base + 4, 8, 0xFFFF_FFFF_FFFF_FFFF, pc=3)
    err = info.value
    assert isinstance(err, PyBpfError)
    assert (err.addr, err.size, err.write, err.pc) == (r.base + 4, 8, True, 3)
    assert str(err).startswith(f"out of bounds memory store at pc 3: addr {r.base + 4:#x}, size 8, "
                               f"4 bytes past the end of region 'mem' [{r.base:#x}, {r.end:#x})")
    assert err.nearest == f"region 'mem' [{r.base:#x}, {r.end:#x})"
    assert r.buffer == bytes(8)


def test_before_start_and_null_and_far() -> None:
    mem = Memory()
    r = mem.add("stack", 512, kind="stack")
    with pytest.raises(MemoryAccessError, match="16 bytes before the start of region 'stack'"):
        mem.load(r.base - 16, 4)
    with pytest.raises(MemoryAccessError, match="NULL pointer"):
        mem.load(0, 1)
    with pytest.raises(MemoryAccessError, match="not near any mapped region"):
        mem.load(0xFFFF_FFFF_FFFF_FFF0, 8)
    with pytest.raises(MemoryAccessError, match="no memory is mapped"):
        Memory().load(0x1234_5678, 1)


def test_addresses_wrap_to_64_bits() -> None:
    mem = Memory()
    r = mem.add("m", b"\x2a")
    assert mem.load(r.base + (1 << 64), 1) == 0x2A  # what the program computes is masked
    with pytest.raises(MemoryAccessError) as info:
        mem.load(-1, 1)
    assert info.value.addr == 0xFFFF_FFFF_FFFF_FFFF


def test_read_only_region() -> None:
    mem = Memory()
    r = mem.add("ro", b"abcd", writable=False)
    assert mem.load(r.base, 1) == ord("a")
    with pytest.raises(MemoryAccessError, match="read-only") as info:
        mem.write(r.base, b"z")
    assert info.value.write
    assert r.buffer == bytearray(b"abcd")


def test_access_spanning_two_regions_faults() -> None:
    mem = Memory()
    a = mem.add("a", 16)
    mem.add("b", 16)
    with pytest.raises(MemoryAccessError):
        mem.load(a.end - 4, 8)


def test_remove_unmaps_and_space_is_reused() -> None:
    mem = Memory()
    a = mem.add("a", 64)
    base = a.base
    mem.remove(a)
    with pytest.raises(MemoryAccessError):
        mem.load(base, 1)
    with pytest.raises(ValueError):
        mem.remove(a)
    b = mem.add("b", 64)
    assert b.base == base  # first fit: addresses stay small and stable across runs
    assert mem.regions == (b,)


def test_first_fit_between_regions() -> None:
    mem = Memory()
    a = mem.add("a", 10)
    b = mem.add("b", 10)
    c = mem.add("c", 10)
    mem.remove(b)
    d = mem.add("d", 10)
    assert a.end < d.base < c.base
    assert [r.name for r in mem.regions] == ["a", "d", "c"]
    assert mem.find(d.base + 9) is d and mem.find(d.base + 10) is None
    assert mem.region_named("c") is c and mem.region_named("zz") is None


def test_zero_sized_region_is_never_accessible() -> None:
    mem = Memory()
    r = mem.add("empty", b"")
    with pytest.raises(MemoryAccessError):
        mem.load(r.base, 1)


def test_read_cstr() -> None:
    mem = Memory()
    r = mem.add("s", b"hello\0world")
    assert mem.read_cstr(r.base) == b"hello"
    assert mem.read_cstr(r.base + 6, max=3) == b"wor"
    with pytest.raises(MemoryAccessError, match="string read"):
        mem.read_cstr(r.base + 6)  # runs off the region before a NUL
