"""Hash and per-CPU hash maps: hashtab.c semantics, RCU-like retirement, a dict model."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pybpf.maps import (
    BPF_ANY,
    BPF_EXIST,
    BPF_F_LOCK,
    BPF_NOEXIST,
    HashMap,
    MapExistsError,
    MapFullError,
    MapInvalidError,
    MapKeyNotFoundError,
    MapSpec,
    MapType,
    create_map,
)
from pybpf.maps.errors import MapError


def hmap(n: int = 3, value_size: int = 4, **kw: object) -> HashMap:
    m = create_map(MapSpec("h", MapType.HASH, 4, value_size, n, **kw))  # type: ignore[arg-type]
    assert isinstance(m, HashMap)
    return m


def test_flags_semantics() -> None:
    m = hmap()
    with pytest.raises(MapKeyNotFoundError):
        m.update(1, 1, BPF_EXIST)
    m.update(1, 1, BPF_NOEXIST)
    with pytest.raises(MapExistsError):
        m.update(1, 2, BPF_NOEXIST)
    m.update(1, 3, BPF_EXIST)
    assert m[1] == b"\3\0\0\0"
    with pytest.raises(MapInvalidError):
        m.update(1, 3, 3)
    with pytest.raises(MapInvalidError):
        m.update(1, 3, BPF_F_LOCK)


def test_full_map_is_e2big_but_existing_keys_update() -> None:
    m = hmap(n=2)
    m[1] = 1
    m[2] = 2
    with pytest.raises(MapFullError) as ei:
        m[3] = 3
    assert ei.value.errno == 7
    m[2] = 22  # replacing is fine when full
    with pytest.raises(MapKeyNotFoundError):  # EXIST on a missing key says ENOENT even when full
        m.update(3, 3, BPF_EXIST)
    assert sorted(m.values()) == [b"\1\0\0\0", b"\x16\0\0\0"]


def test_delete_and_lookup_and_delete() -> None:
    m = hmap()
    m[1] = 7
    with pytest.raises(MapKeyNotFoundError):
        del m[2]
    assert m.lookup_and_delete(1) == b"\7\0\0\0"
    assert 1 not in m and len(m) == 0
    with pytest.raises(MapKeyNotFoundError):
        m.lookup_and_delete(1)


def test_get_next_key_insertion_order_and_restart() -> None:
    m = hmap(n=5)
    for k in (5, 3, 9):
        m[k] = k
    assert m.keys() == [b"\5\0\0\0", b"\3\0\0\0", b"\x09\0\0\0"]
    assert m.get_next_key(3) == b"\x09\0\0\0"
    assert m.get_next_key(42) == b"\5\0\0\0"  # missing key restarts from the first
    with pytest.raises(MapKeyNotFoundError):
        m.get_next_key(9)
    del m[3]
    m[3] = 1
    assert m.keys()[-1] == b"\3\0\0\0"


def test_replaced_and_deleted_elements_are_retired_not_reused() -> None:
    m = hmap()
    freed: list[bytearray] = []
    m.add_free_listener(freed.append)
    m[1] = b"aaaa"
    old = m.prog_lookup(b"\1\0\0\0")
    assert old is not None
    gen = m.generation
    m[1] = b"bbbb"  # syscall update: a new element replaces the old one
    assert freed == [old.buffer] and m.generation == gen + 1
    # A program still holding the old pointer writes to the dead buffer only.
    old.buffer[0:4] = b"XXXX"
    assert m[1] == b"bbbb"
    new = m.prog_lookup(b"\1\0\0\0")
    assert new is not None and new.buffer is not old.buffer
    del m[1]
    assert freed[-1] is new.buffer
    m[2] = b"cccc"
    fresh = m.prog_lookup(b"\2\0\0\0")
    assert fresh is not None and all(fresh.buffer is not f for f in freed)


def test_program_write_through_pointer_is_seen() -> None:
    m = hmap()
    m[1] = 0
    ref = m.prog_lookup(b"\1\0\0\0")
    assert ref is not None
    ref.write(b"\x2a\0\0\0")
    assert m[1] == b"\x2a\0\0\0"


def test_bpf_f_lock_updates_in_place_keeping_the_lock_word() -> None:
    m = hmap(value_size=8, spin_lock_offset=4)
    m[1] = b"abcd\xff\xff\xff\xff"
    ref = m.prog_lookup(b"\1\0\0\0")
    assert ref is not None and ref.read() == b"abcd\0\0\0\0"
    ref.buffer[4] = 1
    m.update(1, b"wxyz\x07\x07\x07\x07", BPF_F_LOCK)
    assert ref.read() == b"wxyz\1\0\0\0"  # same element, lock untouched
    assert m[1] == b"wxyz\0\0\0\0"


def test_program_side_returns_negative_errno() -> None:
    m = hmap(n=1)
    assert m.prog_update(b"\1\0\0\0", b"1111", BPF_EXIST) == -2
    assert m.prog_update(b"\1\0\0\0", b"1111") == 0
    assert m.prog_update(b"\2\0\0\0", b"2222") == -7
    assert m.prog_update(b"\1\0\0\0", b"2222", BPF_NOEXIST) == -17
    assert m.prog_delete(b"\2\0\0\0") == -2
    assert m.prog_delete(b"\1\0\0\0") == 0


def test_frozen_hash() -> None:
    m = hmap()
    m[1] = 1
    m.freeze()
    with pytest.raises(MapError) as ei:
        del m[1]
    assert ei.value.errno == 1
    assert m.prog_delete(b"\1\0\0\0") == 0


def test_batch_lookup_and_delete() -> None:
    m = hmap(n=10)
    for i in range(6):
        m[i] = i
    r = m.lookup_batch(count=4, delete=True)
    assert len(r.keys) == 4 and len(m) == 2
    r2 = m.lookup_batch(r.next, count=4, delete=True)
    assert len(r2.keys) == 2 and r2.next is None and len(m) == 0
    m.update_batch([1, 2], [1, 2])
    assert m.delete_batch([1, 2]) == 2
    with pytest.raises(MapKeyNotFoundError):
        m.delete_batch([3])


def test_percpu_hash() -> None:
    m = create_map(MapSpec("ph", MapType.PERCPU_HASH, 4, 4, 4), num_cpus=2)
    m[1] = [1, 2]
    ref0 = m.prog_lookup(b"\1\0\0\0", cpu=0)
    ref1 = m.prog_lookup(b"\1\0\0\0", cpu=1)
    assert ref0 is not None and ref1 is not None
    assert (ref0.read(), ref1.read()) == (b"\1\0\0\0", b"\2\0\0\0")
    m[1] = [3, 4]  # per-CPU updates copy in place: the program's pointers see it
    assert ref1.read() == b"\4\0\0\0"
    # A program update of a new key fills its CPU's slot, others start zeroed.
    assert m.prog_update(b"\2\0\0\0", b"\x09\0\0\0", cpu=1) == 0
    assert m[2] == [b"\0" * 4, b"\x09\0\0\0"]
    assert m.lookup(2) == b"\0" * 8 + b"\x09" + b"\0" * 7


# -- model-based property test ---------------------------------------------------------

ops = st.lists(
    st.tuples(
        st.sampled_from(["update", "delete", "lookup", "lad", "next"]),
        st.integers(0, 7),
        st.sampled_from([BPF_ANY, BPF_NOEXIST, BPF_EXIST, 3]),
        st.binary(min_size=2, max_size=2),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_hash_matches_dict_model(seq: list[tuple[str, int, int, bytes]]) -> None:
    cap = 4
    m = create_map(MapSpec("h", MapType.HASH, 1, 2, cap))
    model: dict[bytes, bytes] = {}
    for op, k, flags, v in seq:
        key = bytes([k])
        if op == "update":
            if flags > BPF_EXIST:
                expect: int | None = 22
            elif key in model and flags == BPF_NOEXIST:
                expect = 17
            elif key not in model and flags == BPF_EXIST:
                expect = 2
            elif key not in model and len(model) >= cap:
                expect = 7
            else:
                expect = None
                model[key] = v
            try:
                m.update(key, v, flags)
                got = None
            except MapError as e:
                got = e.errno
            assert got == expect
        elif op in ("delete", "lad"):
            try:
                if op == "lad":
                    assert m.lookup_and_delete(key) == model[key]
                else:
                    m.delete(key)
                assert key in model
                del model[key]
            except MapKeyNotFoundError:
                assert key not in model
        elif op == "lookup":
            assert m.get(key) == model.get(key)
        else:
            keys = m.keys_raw()
            assert keys == [kk for kk in model]  # insertion order, as documented
    assert dict(m.items()) == model
    assert len(m) == len(model)


def test_value_ref_does_not_touch_and_is_none_when_absent() -> None:
    m = hmap()
    assert m.value_ref(1) is None
    m[1] = b"abcd"
    ref = m.value_ref(1)
    assert ref is not None and ref.read() == b"abcd"
