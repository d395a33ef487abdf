"""Array and per-CPU array maps: kernel arraymap.c semantics and the memory contract."""

from __future__ import annotations

import pytest

from pybpf.maps import (
    BPF_EXIST,
    BPF_F_LOCK,
    BPF_NOEXIST,
    MapExistsError,
    MapFlags,
    MapFullError,
    MapInvalidError,
    MapKeyNotFoundError,
    MapPermissionError,
    MapSpec,
    MapType,
    create_map,
)
from pybpf.maps.array import ArrayMap, PercpuArrayMap
from pybpf.maps.errors import MapNoMemoryError, MapNotSupportedError


def arr(value_size: int = 4, n: int = 4, **kw: object) -> ArrayMap:
    m = create_map(MapSpec("a", MapType.ARRAY, 4, value_size, n, **kw))  # type: ignore[arg-type]
    assert isinstance(m, ArrayMap)
    return m


def test_elements_exist_zeroed_and_len_is_max_entries() -> None:
    m = arr()
    assert len(m) == 4
    assert m[3] == b"\0\0\0\0"
    assert list(m) == [i.to_bytes(4, "little") for i in range(4)]


def test_update_flags() -> None:
    m = arr()
    m.update(1, b"abcd", BPF_EXIST)
    assert m[1] == b"abcd"
    with pytest.raises(MapExistsError):
        m.update(1, b"zzzz", BPF_NOEXIST)
    with pytest.raises(MapInvalidError):
        m.update(1, b"zzzz", 3)
    with pytest.raises(MapInvalidError):  # no bpf_spin_lock in the value
        m.update(1, b"zzzz", BPF_F_LOCK)
    assert m[1] == b"abcd"


def test_out_of_range_index() -> None:
    m = arr()
    with pytest.raises(MapKeyNotFoundError):
        m.lookup(4)
    with pytest.raises(MapFullError) as ei:
        m.update(4, b"abcd")
    assert ei.value.errno == 7
    # Out-of-range E2BIG wins over BPF_NOEXIST's EEXIST, as in the kernel.
    with pytest.raises(MapFullError):
        m.update(9, b"abcd", BPF_NOEXIST)


def test_delete_is_einval_and_lookup_and_delete_enotsupp() -> None:
    m = arr()
    with pytest.raises(MapInvalidError):
        del m[0]
    with pytest.raises(MapNotSupportedError) as ei:
        m.lookup_and_delete(0)
    assert ei.value.errno == 524


def test_get_next_key_order() -> None:
    m = arr(n=3)
    assert m.get_next_key(None) == b"\0\0\0\0"
    assert m.get_next_key(1) == b"\2\0\0\0"
    assert m.get_next_key(77) == b"\0\0\0\0"  # out of range restarts
    with pytest.raises(MapKeyNotFoundError):
        m.get_next_key(2)


def test_values_are_8_byte_slots_of_one_buffer() -> None:
    m = arr(value_size=5, n=3)
    assert m.elem_size == 8 and len(m.storage) == 24
    m[1] = b"hello"
    assert m.storage[8:16] == b"hello\0\0\0"
    ref = m.prog_lookup((1).to_bytes(4, "little"))
    assert ref is not None and ref.buffer is m.storage and (ref.offset, ref.size) == (8, 5)


def test_program_writes_through_value_ref_are_visible() -> None:
    m = arr()
    ref = m.value_ref(2)
    ref.buffer[ref.offset] = 0x41
    assert m[2] == b"A\0\0\0"
    buf = m.storage
    m[2] = b"wxyz"
    assert m.storage is buf  # stable identity: program pointers stay valid
    assert ref.read() == b"wxyz"
    assert m.prog_lookup(b"\x09\0\0\0") is None


def test_program_update_and_flags() -> None:
    m = arr()
    assert m.prog_update(b"\1\0\0\0", b"1234") == 0
    assert m[1] == b"1234"
    assert m.prog_update(b"\1\0\0\0", b"1234", BPF_NOEXIST) == -17
    assert m.prog_update(b"\7\0\0\0", b"1234") == -7
    assert m.prog_delete(b"\1\0\0\0") == -22


def test_freeze_blocks_syscall_writes_only() -> None:
    m = arr()
    m.freeze()
    with pytest.raises(MapPermissionError):
        m[0] = 1
    with pytest.raises(MapPermissionError):  # frozen: no write permission left, so EPERM
        m.freeze()
    assert m.prog_update(b"\0\0\0\0", b"\5\0\0\0") == 0
    assert m[0] == b"\5\0\0\0"


def test_rdonly_wronly_rdonly_prog() -> None:
    ro = arr(flags=int(MapFlags.RDONLY))
    with pytest.raises(MapPermissionError):
        ro[0] = 1
    assert ro[0] == b"\0" * 4
    wo = arr(flags=int(MapFlags.WRONLY))
    wo[0] = 1
    with pytest.raises(MapPermissionError):
        wo.lookup(0)
    with pytest.raises(MapPermissionError):
        list(wo)
    rp = arr(flags=int(MapFlags.RDONLY_PROG))
    assert not rp.prog_writable
    assert rp.prog_update(b"\0\0\0\0", b"1234") == -1
    rp[0] = b"1234"


def test_spin_lock_word_is_never_copied() -> None:
    m = arr(value_size=8, spin_lock_offset=0)
    m.value_ref(0).buffer[0:4] = b"\1\0\0\0"  # "locked" by a program
    m.update(0, b"\xff\xff\xff\xffabcd", BPF_F_LOCK)
    assert m.storage[0:8] == b"\1\0\0\0abcd"
    assert m[0] == b"\0\0\0\0abcd"  # user space sees the lock as zeros
    with pytest.raises(MapNotSupportedError):
        m.freeze()


def test_clear_zeroes() -> None:
    m = arr()
    m[1] = 5
    m.clear()
    assert m[1] == b"\0" * 4


def test_batch_lookup_and_update() -> None:
    m = arr(n=5)
    assert m.update_batch([0, 1, 2], [b"aaaa", b"bbbb", b"cccc"]) == 3
    r = m.lookup_batch(count=2)
    assert r.values == [b"aaaa", b"bbbb"] and r.next is not None
    r2 = m.lookup_batch(r.next, count=10)
    assert r2.values == [b"cccc", b"\0" * 4, b"\0" * 4] and r2.next is None
    with pytest.raises(MapFullError) as ei:
        m.update_batch([3, 9, 4], [b"dddd", b"eeee", b"ffff"])
    assert ei.value.count == 1  # type: ignore[attr-defined]
    assert m[3] == b"dddd" and m[4] == b"\0" * 4
    with pytest.raises(MapInvalidError):  # malformed input: nothing applied
        m.update_batch([4, 0], [b"gggg", b"toolong"])
    assert m[4] == b"\0" * 4


def test_huge_array_is_enomem_not_memoryerror() -> None:
    with pytest.raises(MapNoMemoryError):
        arr(value_size=1 << 20, n=1 << 14)


def test_percpu_array_layout_and_program_side() -> None:
    m = create_map(MapSpec("p", MapType.PERCPU_ARRAY, 4, 4, 2), num_cpus=3)
    assert isinstance(m, PercpuArrayMap)
    assert m.sys_value_size == 24
    assert m[0] == [b"\0" * 4] * 3
    m[1] = [1, 2, 3]
    assert m.lookup(1) == bytes.fromhex("01000000" + "00" * 4 + "02000000" + "00" * 4 + "03000000" + "00" * 4)
    ref = m.prog_lookup(b"\1\0\0\0", cpu=2)
    assert ref is not None and ref.read() == b"\3\0\0\0"
    assert m.prog_update(b"\1\0\0\0", b"\x09\0\0\0", cpu=1) == 0
    assert m[1] == [b"\1\0\0\0", b"\x09\0\0\0", b"\3\0\0\0"]
    with pytest.raises(MapInvalidError):
        m[0] = [1, 2]
    with pytest.raises(MapInvalidError):
        m[0] = 5
    with pytest.raises(MapInvalidError):
        m.update(0, [1, 2, 3], BPF_F_LOCK)
