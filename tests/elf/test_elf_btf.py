"""BTF parsing (every kind), value formatting and ctypes layouts.

clang 14 does not emit every kind (ENUM64, TYPE_TAG ...), so most of these
build BTF by hand with :class:`_Builder`, in both byte orders.
"""

from __future__ import annotations

import ctypes
import struct
from pathlib import Path

import pytest

from pybpf.elf.btf import BtfKind, format_value, parse_btf, to_ctypes
from pybpf.elf.spec import ElfError
from pybpf.errors import PyBpfError

DATA = Path(__file__).resolve().parents[1] / "data" / "elf"


class _Builder:
    """Write a .BTF section: add types in id order, then :meth:`build`."""

    def __init__(self, byteorder: str = "little") -> None:
        self.e = "<" if byteorder == "little" else ">"
        self.strings = bytearray(b"\0")
        self.types = bytearray()

    def s(self, text: str) -> int:
        if not text:
            return 0
        off = len(self.strings)
        self.strings += text.encode() + b"\0"
        return off

    def t(self, name: str, kind: BtfKind, vlen: int, size_or_type: int, extra: bytes = b"",
          kflag: bool = False) -> None:
        info = (int(kflag) << 31) | (int(kind) << 24) | vlen
        self.types += struct.pack(self.e + "3I", self.s(name), info, size_or_type) + extra

    def u32(self, *vals: int) -> bytes:
        return struct.pack(self.e + f"{len(vals)}I", *vals)

    def build(self) -> bytes:
        hdr = struct.pack(self.e + "HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(self.types), len(self.types),
                          len(self.strings))
        return hdr + bytes(self.types) + bytes(self.strings)


def _all_kinds(byteorder: str) -> bytes:
    b = _Builder(byteorder)
    b.t("unsigned int", BtfKind.INT, 0, 4, b.u32(32))                      # 1
    b.t("int", BtfKind.INT, 0, 4, b.u32((1 << 24) | 32))                  # 2 signed
    b.t("char", BtfKind.INT, 0, 1, b.u32((1 << 24) | 8))                  # 3
    b.t("", BtfKind.PTR, 0, 1)                                             # 4 -> uint
    b.t("", BtfKind.ARRAY, 0, 0, b.u32(3, 1, 4))                          # 5 char[4]
    b.t("color", BtfKind.ENUM, 2, 4, b.u32(b.s("RED"), 0, b.s("BLUE"), 2))  # 6
    m = b.u32(b.s("a"), 1, 0) + b.u32(b.s("b"), 2, 32) + b.u32(b.s("name"), 5, 64) + \
        b.u32(b.s("c"), 6, 96) + b.u32(b.s("p"), 4, 128) + b.u32(b.s("f"), 15, 192)
    b.t("pair", BtfKind.STRUCT, 6, 32, m)                                 # 7
    b.t("u", BtfKind.UNION, 2, 8, b.u32(b.s("x"), 1, 0) + b.u32(b.s("y"), 16, 0))  # 8
    b.t("fwd_s", BtfKind.FWD, 0, 0)                                        # 9
    b.t("pair_t", BtfKind.TYPEDEF, 0, 7)                                   # 10
    b.t("", BtfKind.VOLATILE, 0, 10)                                       # 11
    b.t("", BtfKind.CONST, 0, 11)                                          # 12
    b.t("", BtfKind.RESTRICT, 0, 4)                                        # 13
    b.t("", BtfKind.FUNC_PROTO, 1, 2, b.u32(b.s("arg"), 1))              # 14
    b.t("double", BtfKind.FLOAT, 0, 8)                                     # 15
    b.t("big", BtfKind.ENUM64, 1, 8, b.u32(b.s("HUGE"), 1, 2))           # 16
    b.t("main", BtfKind.FUNC, 1, 14)                                       # 17 global linkage
    b.t("gvar", BtfKind.VAR, 0, 12, b.u32(1))                             # 18
    b.t(".data", BtfKind.DATASEC, 1, 32, b.u32(18, 0, 32))               # 19
    b.t("tag", BtfKind.DECL_TAG, 0, 7, struct.pack(b.e + "i", 1))         # 20
    b.t("user", BtfKind.TYPE_TAG, 0, 1)                                    # 21
    b.t("bits", BtfKind.STRUCT, 3, 4,
        b.u32(b.s("lo"), 1, (3 << 24) | 0) + b.u32(b.s("mid"), 2, (5 << 24) | 3)
        + b.u32(b.s("hi"), 1, (8 << 24) | 24), kflag=True)                # 22
    return b.build()


@pytest.mark.parametrize("byteorder", ["little", "big"])
def test_every_kind_parses(byteorder: str) -> None:
    btf = parse_btf(_all_kinds(byteorder))
    assert btf.byteorder == byteorder
    kinds = [t.kind for t in btf.types[1:]]
    assert set(BtfKind) - {BtfKind.VOID} <= set(kinds)
    pair = btf.find("pair", BtfKind.STRUCT)
    assert pair is not None and [m.name for m in pair.members] == ["a", "b", "name", "c", "p", "f"]
    assert btf.type(2).encoding == 1 and btf.type(5).nelems == 4
    assert [(m.name, m.value) for m in btf.type(6).members] == [("RED", 0), ("BLUE", 2)]
    assert btf.type(16).members[0].value == 1 | 2 << 32
    assert btf.type(17).linkage == 1 and btf.type(18).linkage == 1
    assert btf.type(20).component_idx == 1
    assert btf.type(12).strip() is pair
    assert btf.type(12).byte_size() == 32 and btf.type(5).byte_size() == 4
    ds = btf.datasec(".data")
    assert ds is not None and ds.members[0].name == "gvar"
    bits = btf.type(22)
    assert [(m.bit_offset, m.bitfield_size) for m in bits.members] == [(0, 3), (3, 5), (24, 8)]


@pytest.mark.parametrize("byteorder", ["little", "big"])
def test_format_value_every_printable_kind(byteorder: str) -> None:
    btf = parse_btf(_all_kinds(byteorder))
    e = "<" if byteorder == "little" else ">"
    value = struct.pack(e + "Ii4sIQd", 7, -3, b"ab\0\0", 2, 0x1000, 1.5)
    assert format_value(btf.type(10), value) == (
        '{"a": 7, "b": -3, "name": "ab", "c": "BLUE", "p": 0x1000, "f": 1.5}')
    assert format_value(btf.type(19), value) == (
        '{"gvar": {"a": 7, "b": -3, "name": "ab", "c": "BLUE", "p": 0x1000, "f": 1.5}}')
    assert format_value(btf.type(16), struct.pack(e + "Q", 1 | 2 << 32)) == '"HUGE"'
    assert format_value(btf.type(6), struct.pack(e + "I", 9)) == "9"
    # lo=5 (3 bits), mid=-1 (5 bits signed), hi=0xab (8 bits at 24)
    if byteorder == "little":
        raw = (5 | (0x1F << 3) | (0xAB << 24)).to_bytes(4, "little")
    else:  # big-endian bitfields fill from the most significant bit
        raw = ((5 << 29) | (0x1F << 24) | 0xAB).to_bytes(4, "big")
    assert format_value(btf.type(22), raw) == '{"lo": 5, "mid": -1, "hi": 171}'
    with pytest.raises(ElfError, match="shorter"):
        format_value(btf.type(7), b"\0")


@pytest.mark.parametrize("byteorder", ["little", "big"])
def test_ctypes_layouts(byteorder: str) -> None:
    btf = parse_btf(_all_kinds(byteorder))
    e = "<" if byteorder == "little" else ">"
    cls = to_ctypes(btf.type(12))  # const volatile pair_t -> struct pair
    assert ctypes.sizeof(cls) == 32 and cls.__name__ == "pair"
    assert cls.b.offset == 4 and cls.name.offset == 8 and cls.f.offset == 24
    v = cls.from_buffer_copy(struct.pack(e + "Ii4sIQd", 7, -3, b"ab\0\0", 2, 0x1000, 1.5))
    assert (v.a, v.b, bytes(v.name), v.c, v.p, v.f) == (7, -3, b"ab\0\0", 2, 0x1000, 1.5)
    union = to_ctypes(btf.type(8))
    assert ctypes.sizeof(union) == 8
    bits = to_ctypes(btf.type(22))
    assert ctypes.sizeof(bits) == 4
    with pytest.raises(ElfError):
        to_ctypes(btf.type(9))  # a forward declaration has no layout


def test_fixture_btf_parses_in_both_orders() -> None:
    for order in ("el", "eb"):
        from elftools.elf.elffile import ELFFile

        with (DATA / f"xdp_counter-{order}.o").open("rb") as fh:
            sec = ELFFile(fh).get_section_by_name(".BTF")
            assert sec is not None
            btf = parse_btf(sec.data())
        assert btf.byteorder == ("little" if order == "el" else "big")
        assert btf.find("flow_key", BtfKind.STRUCT) is not None
        assert btf.find("xdp_count", BtfKind.FUNC) is not None


@pytest.mark.parametrize("data, match", [
    (b"", "truncated"),
    (b"\x00\x00" + bytes(22), "magic"),
    (struct.pack("<HBBIIIII", 0xEB9F, 2, 0, 24, 0, 0, 0, 1) + b"\0", "version"),
    (struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 100, 0, 1) + b"\0", "runs past"),
    (struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 12, 12, 1) + struct.pack("<3I", 0, 2 << 24, 99) + b"\0",
     "missing type id 99"),
    (struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 12, 12, 1) + struct.pack("<3I", 0, 31 << 24, 0) + b"\0",
     "unknown kind"),
    (struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 12, 12, 1) + struct.pack("<3I", 50, 1 << 24, 4) + b"\0",
     "truncated|string"),
    (struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 12, 12, 1) + struct.pack("<3I", 0, 4 << 24 | 3, 4) + b"\0",
     "truncated"),
])
def test_bad_btf(data: bytes, match: str) -> None:
    with pytest.raises(ElfError, match=match) as info:
        parse_btf(data)
    assert isinstance(info.value, PyBpfError) and info.value.section == ".BTF"


def test_modifier_loop_is_an_error() -> None:
    b = _Builder()
    b.t("", BtfKind.CONST, 0, 2)
    b.t("", BtfKind.VOLATILE, 0, 1)
    btf = parse_btf(b.build())
    with pytest.raises(ElfError, match="loop"):
        btf.type(1).strip()
    with pytest.raises(ElfError, match="loop"):
        btf.type(1).byte_size()
