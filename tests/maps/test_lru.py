"""LRU hash maps: deterministic true-LRU eviction, program lookups mark use."""

from __future__ import annotations

from collections import OrderedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pybpf.maps import BPF_EXIST, BPF_NOEXIST, MapExistsError, MapSpec, MapType, create_map
from pybpf.maps.errors import MapError, MapInvalidError
from pybpf.maps.lru import LruHashMap


def lru(n: int = 3, t: MapType = MapType.LRU_HASH, cpus: int = 1) -> LruHashMap:
    m = create_map(MapSpec("l", t, 4, 4, n), num_cpus=cpus)
    assert isinstance(m, LruHashMap)
    return m


def k(i: int) -> bytes:
    return i.to_bytes(4, "little")


def test_insert_into_full_map_evicts_least_recently_used() -> None:
    m = lru()
    freed: list[bytearray] = []
    m.add_free_listener(freed.append)
    for i in (1, 2, 3):
        m[i] = i
    m[4] = 4
    assert sorted(m.keys()) == [k(2), k(3), k(4)]
    assert m.evictions == 1 and len(freed) == 1


def test_program_lookup_marks_used_syscall_lookup_does_not() -> None:
    m = lru()
    for i in (1, 2, 3):
        m[i] = i
    assert m[1] == k(1)  # syscall lookup: no effect on recency
    assert m.lru_order() == [k(1), k(2), k(3)]
    assert m.prog_lookup(k(1)) is not None  # program lookup: 1 becomes most recent
    m[4] = 4
    assert 2 not in m and 1 in m
    assert m.lru_order() == [k(3), k(1), k(4)]


def test_update_of_existing_key_makes_it_recent_and_refused_update_changes_nothing() -> None:
    m = lru()
    for i in (1, 2, 3):
        m[i] = i
    m.update(1, 11, BPF_EXIST)
    assert m.lru_order()[-1] == k(1)
    with pytest.raises(MapExistsError):
        m.update(2, 0, BPF_NOEXIST)
    with pytest.raises(MapError) as ei:
        m.update(9, 0, BPF_EXIST)
    assert ei.value.errno == 2
    assert len(m) == 3 and m.evictions == 0


def test_lru_no_prealloc_is_enotsupp_and_common_lru_flag() -> None:
    with pytest.raises(MapError) as ei:
        create_map(MapSpec("l", MapType.LRU_HASH, 4, 4, 4, flags=1))
    assert ei.value.errno == 524
    with pytest.raises(MapInvalidError):
        create_map(MapSpec("h", MapType.HASH, 4, 4, 4, flags=2))
    create_map(MapSpec("l", MapType.LRU_HASH, 4, 4, 4, flags=2))


def test_lru_percpu() -> None:
    m = lru(2, MapType.LRU_PERCPU_HASH, cpus=2)
    m[1] = [1, 2]
    m[2] = [3, 4]
    assert m.prog_update(k(3), k(9), cpu=1) == 0  # evicts key 1
    assert 1 not in m
    assert m[3] == [k(0), k(9)]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["update", "prog_lookup", "lookup", "delete"]), st.integers(0, 6)),
        max_size=80,
    )
)
def test_lru_matches_reference_model(seq: list[tuple[str, int]]) -> None:
    cap = 3
    m = lru(cap)
    model: OrderedDict[bytes, bytes] = OrderedDict()  # oldest first
    for n, (op, i) in enumerate(seq):
        key = k(i)
        val = n.to_bytes(4, "little")
        if op == "update":
            if key in model:
                model[key] = val
                model.move_to_end(key)
            else:
                if len(model) >= cap:
                    model.popitem(last=False)
                model[key] = val
            m[key] = val
        elif op == "prog_lookup":
            ref = m.prog_lookup(key)
            assert (ref is not None) == (key in model)
            if key in model:
                model.move_to_end(key)
                assert ref is not None and ref.read() == model[key]
        elif op == "lookup":
            assert m.get(key) == model.get(key)
        else:
            assert m.prog_delete(key) == (0 if key in model else -2)
            model.pop(key, None)
    assert m.lru_order() == list(model)
    assert dict(m.items()) == dict(model)
