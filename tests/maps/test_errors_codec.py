"""Error classes carry the kernel's errno; codecs convert keys and values exactly."""

from __future__ import annotations

import ctypes
import errno

import pytest

from pybpf.errors import PyBpfError
from pybpf.maps import IntCodec, MapSpec, MapType, StructCodec, create_map
from pybpf.maps.errors import (
    ENOTSUPP,
    MapError,
    MapExistsError,
    MapFullError,
    MapInvalidError,
    MapKeyNotFoundError,
    MapNotSupportedError,
    MapPermissionError,
    map_error,
)


@pytest.mark.parametrize(
    ("err", "cls"),
    [
        (errno.ENOENT, MapKeyNotFoundError),
        (errno.EEXIST, MapExistsError),
        (errno.E2BIG, MapFullError),
        (errno.EINVAL, MapInvalidError),
        (errno.EPERM, MapPermissionError),
        (ENOTSUPP, MapNotSupportedError),
    ],
)
def test_map_error_by_errno(err: int, cls: type[MapError]) -> None:
    exc = map_error(-err, "why")
    assert type(exc) is cls
    assert exc.errno == err
    assert isinstance(exc, PyBpfError) and isinstance(exc, OSError)
    assert str(exc) == "why"


def test_not_found_is_a_key_error_and_invalid_a_value_error() -> None:
    assert isinstance(MapKeyNotFoundError("x"), KeyError)
    assert isinstance(MapInvalidError("x"), ValueError)
    assert isinstance(MapPermissionError("x"), PermissionError)
    assert MapKeyNotFoundError("x").errno == errno.ENOENT


def test_int_keys_and_values_little_endian() -> None:
    m = create_map(MapSpec("h", MapType.HASH, 2, 4, 4))
    m[0x0102] = 0x0A0B0C0D
    assert m.lookup(b"\x02\x01") == b"\x0d\x0c\x0b\x0a"
    m[-1] = -2
    assert m[b"\xff\xff"] == b"\xfe\xff\xff\xff"


def test_oversize_key_or_value_is_refused_and_nothing_applied() -> None:
    m = create_map(MapSpec("h", MapType.HASH, 4, 4, 4))
    with pytest.raises(MapInvalidError, match="does not fit"):
        m[1 << 32] = 1
    with pytest.raises(MapInvalidError, match="5 bytes"):
        m[1] = b"12345"
    with pytest.raises(MapInvalidError, match="3 bytes"):
        m[b"abc"] = 1
    with pytest.raises(MapInvalidError, match="codec"):
        m[1] = 1.5
    assert len(m) == 0


class Pair(ctypes.Structure):
    _fields_ = [("a", ctypes.c_uint32), ("b", ctypes.c_uint16), ("c", ctypes.c_uint8 * 2)]


def test_ctypes_struct_values_and_struct_codec() -> None:
    m = create_map(MapSpec("s", MapType.ARRAY, 4, 8, 2), value_codec=StructCodec(Pair))
    m[0] = Pair(7, 9)
    got = m[0]
    assert isinstance(got, Pair) and (got.a, got.b) == (7, 9)
    m[1] = {"a": 1, "b": 2}
    assert m[1].a == 1
    assert m.lookup(0) == bytes(Pair(7, 9))


def test_int_codec_and_key_codec() -> None:
    spec = MapSpec("i", MapType.HASH, 4, 8, 4)
    m = create_map(spec, key_codec=IntCodec(), value_codec=IntCodec(signed=True))
    m[5] = -3
    assert m[5] == -3
    assert list(m) == [5]
    assert m.items() == [(5, -3)]
    assert m.get(6, "none") == "none"
    assert 5 in m and 6 not in m
