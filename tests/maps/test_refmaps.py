"""prog_array, map-in-map and redirect maps (devmap, devmap_hash, cpumap, xskmap)."""

from __future__ import annotations

import pytest

from pybpf.maps import (
    ArrayOfMapsMap,
    CpuMap,
    DevMap,
    DevMapHash,
    HashOfMapsMap,
    MapFlags,
    MapSpec,
    MapType,
    ProgArrayMap,
    XskMap,
    create_map,
)
from pybpf.maps.errors import MapError, MapInvalidError


def errno_of(fn: object) -> int:
    try:
        fn()  # type: ignore[operator]
    except MapError as e:
        return int(e.errno or 0)
    return 0


def test_prog_array_slots() -> None:
    m = create_map(MapSpec("jmp", MapType.PROG_ARRAY, 4, 4, 4))
    assert isinstance(m, ProgArrayMap)
    prog = object()
    m[1] = prog
    assert m.tail_call_target(1) is prog and m.tail_call_target(0) is None and m.tail_call_target(99) is None
    assert m[1] is prog and 1 in m and 0 not in m
    assert errno_of(lambda: m.set(1, prog, 1)) == 22  # only BPF_ANY
    assert errno_of(lambda: m.set(9, prog)) == 7
    assert errno_of(lambda: m.set(2, None)) == 22
    assert errno_of(lambda: m.delete(0)) == 2
    assert errno_of(lambda: m.delete(9)) == 7
    del m[1]
    assert m.tail_call_target(1) is None

    def refuse(p: object) -> None:
        raise MapInvalidError("wrong program type")

    m.check_program = refuse
    assert errno_of(lambda: m.set(0, prog)) == 22


def test_array_of_maps_inner_compatibility() -> None:
    tmpl = MapSpec("inner", MapType.ARRAY, 4, 4, 4)
    outer = create_map(MapSpec("outer", MapType.ARRAY_OF_MAPS, 4, 4, 2, inner_map=tmpl))
    assert isinstance(outer, ArrayOfMapsMap)
    good = create_map(tmpl)
    outer[0] = good
    assert outer.get_ref(0) is good
    # read-only is a per-fd flag the kernel does not keep: still compatible
    outer[1] = create_map(tmpl.replace(flags=int(MapFlags.RDONLY)))
    for bad in (tmpl.replace(max_entries=5), tmpl.replace(value_size=8), tmpl.replace(type=MapType.HASH)):
        assert errno_of(lambda bad=bad: outer.set(1, create_map(bad))) == 22
    assert errno_of(lambda: outer.set(1, "x")) == 22
    assert errno_of(lambda: outer.set(1, good, 1)) == 22
    # BPF_F_INNER_MAP relaxes max_entries for array inner maps
    flex = tmpl.replace(flags=int(MapFlags.INNER_MAP))
    outer2 = create_map(MapSpec("o2", MapType.ARRAY_OF_MAPS, 4, 4, 1, inner_map=flex))
    outer2[0] = create_map(flex.replace(max_entries=100))


def test_map_in_map_creation_errors() -> None:
    assert errno_of(lambda: create_map(MapSpec("o", MapType.ARRAY_OF_MAPS, 4, 4, 1))) == 22
    tmpl = MapSpec("i", MapType.ARRAY, 4, 4, 1)
    nested = MapSpec("o", MapType.ARRAY_OF_MAPS, 4, 4, 1, inner_map=tmpl)
    assert errno_of(lambda: create_map(MapSpec("oo", MapType.HASH_OF_MAPS, 4, 4, 1, inner_map=nested))) == 22
    progs = MapSpec("p", MapType.PROG_ARRAY, 4, 4, 1)
    assert errno_of(lambda: create_map(MapSpec("o", MapType.ARRAY_OF_MAPS, 4, 4, 1, inner_map=progs))) == 524
    assert errno_of(lambda: create_map(MapSpec("o", MapType.ARRAY_OF_MAPS, 4, 8, 1, inner_map=tmpl))) == 22


def test_hash_of_maps() -> None:
    tmpl = MapSpec("inner", MapType.HASH, 4, 4, 4)
    outer = create_map(MapSpec("outer", MapType.HASH_OF_MAPS, 4, 4, 2, inner_map=tmpl))
    assert isinstance(outer, HashOfMapsMap)
    a, b = create_map(tmpl), create_map(tmpl.replace(max_entries=99))  # hash inner: max_entries free
    outer[10] = a
    assert errno_of(lambda: outer.set(10, b, 1)) == 17
    assert errno_of(lambda: outer.set(11, b, 2)) == 2
    outer[11] = b
    assert errno_of(lambda: outer.set(12, a)) == 7
    assert outer.get_ref((11).to_bytes(4, "little")) is b
    assert list(outer) == [(10).to_bytes(4, "little"), (11).to_bytes(4, "little")]
    del outer[10]
    assert len(outer) == 1


def test_devmap() -> None:
    m = create_map(MapSpec("dev", MapType.DEVMAP, 4, 4, 4))
    assert isinstance(m, DevMap)
    m.devices = {1, 7}
    u = lambda i: i.to_bytes(4, "little")  # noqa: E731
    assert errno_of(lambda: m.lookup(0)) == 2
    assert errno_of(lambda: m.delete(0)) == 0
    assert errno_of(lambda: m.delete(9)) == 22
    assert errno_of(lambda: m.update(0, u(999))) == 22
    m[0] = u(7)
    assert m.target(u(0)) == u(7) and m[0] == u(7)
    assert errno_of(lambda: m.update(0, u(1), 1)) == 17
    assert errno_of(lambda: m.update(9, u(1))) == 7
    assert errno_of(lambda: m.update(1, u(1), 2)) == 0  # BPF_EXIST is not checked
    m[0] = u(0)  # ifindex 0 empties the slot
    assert m.target(u(0)) is None


def test_devmap_hash() -> None:
    m = create_map(MapSpec("dh", MapType.DEVMAP_HASH, 4, 4, 1))
    assert isinstance(m, DevMapHash)
    m.devices = {1}
    u = lambda i: i.to_bytes(4, "little")  # noqa: E731
    assert errno_of(lambda: m.update(0, u(1), 2)) == 0
    assert errno_of(lambda: m.update(5, u(1))) == 7
    assert errno_of(lambda: m.update(0, u(1), 1)) == 17
    assert errno_of(lambda: m.update(0, u(0))) == 22
    assert errno_of(lambda: m.delete(3)) == 2
    assert m.target(u(0)) == u(1)


def test_cpumap() -> None:
    m = create_map(MapSpec("cpu", MapType.CPUMAP, 4, 4, 4), num_cpus=2)
    assert isinstance(m, CpuMap)
    u = lambda i: i.to_bytes(4, "little")  # noqa: E731
    assert errno_of(lambda: m.lookup(0)) == 2
    m[0] = u(16)
    assert m[0] == u(16)
    assert errno_of(lambda: m.update(3, u(16))) == 19
    assert errno_of(lambda: m.update(1, u(16385))) == 75
    assert errno_of(lambda: m.update(1, u(0))) == 0
    assert errno_of(lambda: m.lookup(1)) == 2
    assert errno_of(lambda: m.delete(9)) == 22
    assert errno_of(lambda: m.update(0, u(16), 1)) == 17
    assert errno_of(lambda: m.update(9, u(16))) == 7


def test_xskmap() -> None:
    m = create_map(MapSpec("xsk", MapType.XSKMAP, 4, 4, 2))
    assert isinstance(m, XskMap)
    sock = object()
    assert errno_of(lambda: m.lookup(0)) == 95
    assert errno_of(lambda: m.set(0, sock, 2)) == 2
    m[0] = sock
    assert errno_of(lambda: m.set(0, sock, 1)) == 17
    assert m.target(b"\0\0\0\0") is sock
    assert errno_of(lambda: m.delete(1)) == 0
    assert errno_of(lambda: m.delete(5)) == 22
    with pytest.raises(MapError):
        m[1] = None
