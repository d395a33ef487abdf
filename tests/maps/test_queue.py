"""Queue and stack maps: push/pop/peek, BPF_EXIST overwrite of the oldest, errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pybpf.maps import BPF_EXIST, BPF_NOEXIST, MapSpec, MapType, QueueMap, StackMap, create_map
from pybpf.maps.errors import MapError, MapFullError, MapInvalidError, MapKeyNotFoundError


def q(t: MapType = MapType.QUEUE, n: int = 3) -> QueueMap:
    m = create_map(MapSpec("q", t, 0, 4, n))
    assert isinstance(m, QueueMap)
    return m


def test_queue_fifo_and_stack_lifo() -> None:
    qu, st = q(), q(MapType.STACK)
    assert isinstance(st, StackMap)
    for v in (1, 2, 3):
        qu.push(v)
        st.push(v)
    assert qu.peek() == b"\1\0\0\0" and st.peek() == b"\3\0\0\0"
    assert [qu.pop() for _ in range(3)] == [b"\1\0\0\0", b"\2\0\0\0", b"\3\0\0\0"]
    assert [st.pop() for _ in range(3)] == [b"\3\0\0\0", b"\2\0\0\0", b"\1\0\0\0"]
    with pytest.raises(MapKeyNotFoundError):
        qu.pop()
    with pytest.raises(MapKeyNotFoundError):
        st.peek()


@pytest.mark.parametrize("t", [MapType.QUEUE, MapType.STACK])
def test_full_push_e2big_or_overwrite_oldest(t: MapType) -> None:
    m = q(t)
    for v in (1, 2, 3):
        m.push(v)
    with pytest.raises(MapFullError):
        m.push(4)
    m.push(4, BPF_EXIST)  # drops 1, the oldest, for a stack too
    order = [b"\2\0\0\0", b"\3\0\0\0", b"\4\0\0\0"]
    assert m.snapshot() == (order if t == MapType.QUEUE else order[::-1])
    assert len(m) == 3


def test_invalid_requests() -> None:
    m = q()
    for bad in (BPF_NOEXIST, 3, 4):
        with pytest.raises(MapInvalidError):
            m.push(1, bad)
    with pytest.raises(MapInvalidError):
        m.delete(None)
    with pytest.raises(MapInvalidError):
        m.get_next_key(None)
    with pytest.raises(MapInvalidError):
        m.lookup_and_delete(None, 4)
    with pytest.raises(MapInvalidError):
        m.update(b"k", 1)
    with pytest.raises(MapError):
        iter(m)


def test_program_side() -> None:
    m = q(MapType.STACK, n=1)
    assert m.prog_pop() == -2
    assert m.prog_push(b"abcd") == 0
    assert m.prog_push(b"efgh") == -7
    assert m.prog_push(b"efgh", BPF_EXIST) == 0
    assert m.prog_push(b"efgh", BPF_NOEXIST) == -22
    assert m.prog_peek() == b"efgh"
    assert m.prog_pop() == b"efgh"
    assert m.prog_peek() == -2


def test_frozen_queue_refuses_syscall_push_but_not_program_push() -> None:
    m = q()
    m.freeze()
    with pytest.raises(MapError) as ei:
        m.push(1)
    assert ei.value.errno == 1
    assert m.prog_push(b"abcd") == 0
    with pytest.raises(MapError):  # pop needs write permission too
        m.pop()


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from([MapType.QUEUE, MapType.STACK]),
    st.lists(st.tuples(st.sampled_from(["push", "pop", "peek"]), st.sampled_from([0, 2])), max_size=50),
)
def test_queue_stack_match_list_model(t: MapType, seq: list[tuple[str, int]]) -> None:
    m = q(t, n=4)
    model: list[bytes] = []  # oldest first
    for i, (op, flags) in enumerate(seq):
        v = i.to_bytes(4, "little")
        if op == "push":
            if len(model) == 4 and flags != BPF_EXIST:
                assert m.prog_push(v, flags) == -7
                continue
            if len(model) == 4:
                model.pop(0)
            model.append(v)
            assert m.prog_push(v, flags) == 0
        else:
            want = (model[-1] if t == MapType.STACK else model[0]) if model else -2
            got = m.prog_pop() if op == "pop" else m.prog_peek()
            assert got == want
            if op == "pop" and model:
                model.remove(want)  # type: ignore[arg-type]
    assert m.snapshot() == (model[::-1] if t == MapType.STACK else model)
