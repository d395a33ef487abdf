"""Perf event arrays (records readable from Python) and bloom filters."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pybpf.maps import BloomFilterMap, MapSpec, MapType, PerfEventArrayMap, create_map
from pybpf.maps.errors import MapError, MapInvalidError, MapKeyNotFoundError
from pybpf.maps.perf import BPF_F_CURRENT_CPU


def perf(n: int = 2, cpus: int = 2) -> PerfEventArrayMap:
    m = create_map(MapSpec("events", MapType.PERF_EVENT_ARRAY, 4, 4, n), num_cpus=cpus)
    assert isinstance(m, PerfEventArrayMap)
    return m


def test_perf_output_per_cpu_and_read() -> None:
    m = perf()
    assert m.output(b"x", BPF_F_CURRENT_CPU, cpu=0) == -2  # no buffer open yet
    bufs = m.open_all()
    assert [b.cpu for b in bufs] == [0, 1]
    assert m.output(b"a0", cpu=0) == 0
    assert m.output(b"a1", cpu=1) == 0
    assert m.output(b"b0", cpu=0) == 0
    assert m.read_all() == {0: [b"a0", b"b0"], 1: [b"a1"]}
    assert m.read(0) == []


def test_perf_output_index_and_errors() -> None:
    m = perf()
    m.open_all()
    assert m.output(b"z", 1, cpu=1) == 0  # explicit index of this CPU's buffer
    assert m.output(b"z", 1, cpu=0) == -95  # that buffer belongs to CPU 1
    assert m.output(b"z", 5, cpu=0) == -7
    assert m.output(b"z", 1 << 32, cpu=0) == -22
    assert m.read(1) == [b"z"]


def test_perf_lost_samples_when_full() -> None:
    m = perf()
    buf = m.open(0, capacity=32)
    assert m.output(b"12345678", cpu=0) == 0
    assert m.output(b"12345678", cpu=0) == -28
    assert buf.lost == 1 and buf.read() == [b"12345678"]


def test_perf_slots_and_delete() -> None:
    m = perf()
    with pytest.raises(MapError) as ei:
        del m[0]
    assert ei.value.errno == 2
    with pytest.raises(MapError) as ei:
        del m[7]
    assert ei.value.errno == 7
    with pytest.raises(MapError):
        m[0] = "not a buffer"
    m.open(1)
    assert list(m) == [b"\1\0\0\0"]
    with pytest.raises(MapError) as ei:
        m.lookup(1)
    assert ei.value.errno == 524


def bloom(n: int = 100, extra: int = 0) -> BloomFilterMap:
    m = create_map(MapSpec("b", MapType.BLOOM_FILTER, 0, 4, n, map_extra=extra))
    assert isinstance(m, BloomFilterMap)
    return m


def test_bloom_push_peek_and_errors() -> None:
    m = bloom()
    assert m.nr_hashes == 5 and bloom(extra=3).nr_hashes == 3
    assert 7 not in m
    with pytest.raises(MapKeyNotFoundError):
        m.peek(7)
    m.push(7)
    m.peek(7)
    assert 7 in m
    with pytest.raises(MapInvalidError):
        m.push(8, 1)
    with pytest.raises(MapError) as ei:
        m.delete(None)
    assert ei.value.errno == 95
    with pytest.raises(MapError) as ei:
        m.lookup_and_delete(None)
    assert ei.value.errno == 524
    assert m.prog_peek(b"\x07\0\0\0") == 0
    assert m.prog_push(b"\x09\0\0\0", 2) == -22


@settings(max_examples=50, deadline=None)
@given(st.sets(st.integers(0, (1 << 32) - 1), max_size=60), st.integers(0, 15))
def test_bloom_has_no_false_negatives(values: set[int], extra: int) -> None:
    m = bloom(n=64, extra=extra)
    for v in values:
        m.push(v)
    assert all(v in m for v in values)


def test_bloom_false_positive_rate_is_reasonable() -> None:
    m = bloom(n=1000)
    for v in range(1000):
        m.push(v)
    fp = sum((v in m) for v in range(10_000, 20_000))
    assert fp < 500  # about 1-3% expected with 5 hashes at this load
