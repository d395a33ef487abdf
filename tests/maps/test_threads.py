"""Maps stay consistent when Python threads update them while others read and iterate."""

from __future__ import annotations

import threading

from pybpf.maps import MapSpec, MapType, QueueMap, create_map
from pybpf.maps.errors import MapError


def _run(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()


def test_hash_writers_and_iterating_readers() -> None:
    m = create_map(MapSpec("h", MapType.HASH, 4, 8, 64))
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(base: int) -> None:
        try:
            for i in range(2000):
                k = base + i % 16
                m[k] = (k << 32) | i
                if i % 3 == 0:
                    m.prog_delete(k.to_bytes(4, "little"))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    def reader() -> None:
        try:
            while not stop.is_set():
                for k, v in m.items():
                    # every value read belongs to its key: no torn element
                    assert int.from_bytes(v, "little") >> 32 == int.from_bytes(k, "little")
                assert len(m) <= 64
                list(m)
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for r in readers:
        r.start()
    _run([threading.Thread(target=writer, args=(b * 100,)) for b in range(3)])
    stop.set()
    for r in readers:
        r.join(timeout=60)
    assert not errors
    assert all(int.from_bytes(v, "little") >> 32 == int.from_bytes(k, "little") for k, v in m.items())


def test_lru_and_percpu_under_contention() -> None:
    lru = create_map(MapSpec("l", MapType.LRU_HASH, 4, 4, 8))
    pc = create_map(MapSpec("p", MapType.PERCPU_ARRAY, 4, 8, 4), num_cpus=4)
    errors: list[BaseException] = []

    def work(cpu: int) -> None:
        try:
            for i in range(1500):
                lru[i % 20] = i
                lru.prog_lookup((i % 7).to_bytes(4, "little"))
                ref = pc.prog_lookup((i % 4).to_bytes(4, "little"), cpu=cpu)
                assert ref is not None
                # each "CPU" only touches its own slot, as per-CPU data is used
                n = int.from_bytes(ref.read(), "little")
                ref.write((n + 1).to_bytes(8, "little"))
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    _run([threading.Thread(target=work, args=(c,)) for c in range(4)])
    assert not errors
    assert len(lru) == 8
    totals = [sum(int.from_bytes(v, "little") for v in pc[i]) for i in range(4)]
    assert sum(totals) == 4 * 1500


def test_queue_producers_consumers_lose_nothing() -> None:
    q = create_map(MapSpec("q", MapType.QUEUE, 0, 4, 10_000))
    assert isinstance(q, QueueMap)
    got: list[int] = []
    lock = threading.Lock()

    def producer(base: int) -> None:
        for i in range(1000):
            q.push(base + i)

    def consumer() -> None:
        for _ in range(3000):
            try:
                v = q.pop()
            except MapError:
                continue
            with lock:
                got.append(int.from_bytes(v, "little"))

    producers = [threading.Thread(target=producer, args=(b * 10_000,)) for b in range(2)]
    _run([*producers, threading.Thread(target=consumer)])
    while True:
        try:
            got.append(int.from_bytes(q.pop(), "little"))
        except MapError:
            break
    assert sorted(got) == sorted([i for i in range(1000)] + [10_000 + i for i in range(1000)])
