"""create_map(): validation errors, initial contents, freezing, every implemented type."""

from __future__ import annotations

from typing import Any

import pytest

from pybpf.maps import MAP_CLASSES, MapSpec, MapType, create_map
from pybpf.maps.errors import (
    MapError,
    MapFullError,
    MapInvalidError,
    MapNotSupportedError,
    MapPermissionError,
)


@pytest.mark.parametrize(
    ("spec", "err"),
    [
        (MapSpec("a", MapType.ARRAY, 8, 4, 1), 22),
        (MapSpec("a", MapType.ARRAY, 4, 0, 1), 22),
        (MapSpec("a", MapType.ARRAY, 4, 4, 0), 22),
        (MapSpec("a", MapType.ARRAY, 4, 4, 1, map_extra=1), 22),
        (MapSpec("a", MapType.ARRAY, 4, 4, 1, flags=8 | 16), 22),
        (MapSpec("p", MapType.PERCPU_ARRAY, 4, 40000, 1), 7),
        (MapSpec("h", MapType.HASH, 0, 4, 1), 22),
        (MapSpec("h", MapType.HASH, 4, 1 << 22, 1), 7),
        (MapSpec("l", MapType.LPM_TRIE, 8, 4, 1), 22),
        (MapSpec("l", MapType.LPM_TRIE, 4, 4, 1, flags=1), 22),
        (MapSpec("r", MapType.RINGBUF, 0, 0, 4095), 22),
        (MapSpec("r", MapType.RINGBUF, 0, 0, 3 * 4096), 22),
        (MapSpec("q", MapType.QUEUE, 4, 4, 1), 22),
        (MapSpec("b", MapType.BLOOM_FILTER, 0, 4, 1, map_extra=16), 22),
        (MapSpec("c", MapType.CPUMAP, 4, 4, 300), 7),
        (MapSpec("s", MapType.SOCKMAP, 4, 4, 1), 95),
    ],
)
def test_creation_errors(spec: MapSpec, err: int) -> None:
    with pytest.raises(MapError) as ei:
        create_map(spec)
    assert ei.value.errno == err
    assert spec.name in str(ei.value)


def test_contents_and_freeze_like_rodata() -> None:
    spec = MapSpec(
        ".rodata",
        MapType.ARRAY,
        4,
        4,
        1,
        flags=1 << 7,  # BPF_F_RDONLY_PROG
        contents=[(b"\0\0\0\0", b"\x2a\0\0\0")],
        freeze=True,
    )
    m = create_map(spec)
    assert m[0] == b"\x2a\0\0\0" and m.frozen
    with pytest.raises(MapPermissionError):
        m[0] = 1
    assert m.prog_update(b"\0\0\0\0", b"\0\0\0\0") == -1
    with pytest.raises(MapFullError):
        create_map(MapSpec("h", MapType.HASH, 4, 4, 1, contents=[(b"1111", b"1111"), (b"2222", b"2222")]))


def test_every_type_is_creatable() -> None:
    inner = MapSpec("i", MapType.ARRAY, 4, 4, 1)
    shapes: dict[MapType, dict[str, Any]] = {
        MapType.LPM_TRIE: dict(key_size=8, flags=1),
        MapType.QUEUE: dict(key_size=0),
        MapType.STACK: dict(key_size=0),
        MapType.BLOOM_FILTER: dict(key_size=0),
        MapType.RINGBUF: dict(key_size=0, value_size=0, max_entries=4096),
        MapType.ARRAY_OF_MAPS: dict(inner_map=inner),
        MapType.HASH_OF_MAPS: dict(inner_map=inner),
    }
    for t in MAP_CLASSES:
        kw = {"key_size": 4, "value_size": 4, "max_entries": 2, **shapes.get(t, {})}
        m = create_map(MapSpec("m", t, **kw), num_cpus=2)
        assert m.type == t and repr(m).startswith(type(m).__name__)


def test_bad_num_cpus_and_unknown_key_type() -> None:
    with pytest.raises(MapInvalidError):
        create_map(MapSpec("a", MapType.ARRAY, 4, 4, 1), num_cpus=0)
    with pytest.raises(MapNotSupportedError):
        create_map(MapSpec("x", MapType.STRUCT_OPS, 4, 4, 1))


def test_direct_construction_validates_too() -> None:
    from pybpf.maps import ArrayMap, HashMap

    with pytest.raises(MapInvalidError):
        HashMap(MapSpec("a", MapType.ARRAY, 4, 4, 1))
    with pytest.raises(MapInvalidError):
        ArrayMap(MapSpec("a", MapType.ARRAY, 4, 0, 1))
    assert len(ArrayMap(MapSpec("a", MapType.ARRAY, 4, 4, 3))) == 3
