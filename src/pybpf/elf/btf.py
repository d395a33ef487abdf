"""BTF, the BPF Type Format (``.BTF`` section), as the kernel defines it.

Layout (Documentation/bpf/btf.rst)::

    struct btf_header { u16 magic = 0xeB9F; u8 version; u8 flags; u32 hdr_len;
                        u32 type_off; u32 type_len; u32 str_off; u32 str_len; }

followed by the type section (offsets relative to the end of the header) and
the string section.  Each type is ``struct btf_type { u32 name_off; u32 info;
u32 size_or_type; }`` plus kind-specific trailing data.  Type ids start at 1
(0 is ``void``).  The byte order is the object's: the magic tells which.

The model is deliberately small: one :class:`BtfType` class carrying the raw
fields every kind has plus a ``members`` tuple for the kinds with a list, so
:func:`format_value` and :func:`to_ctypes` can walk any type.
"""

from __future__ import annotations

import ctypes
import enum
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ElfError

__all__ = [
    "BTF_MAGIC",
    "Btf",
    "BtfExt",
    "BtfKind",
    "BtfMember",
    "BtfType",
    "CoreRelo",
    "FuncInfo",
    "LineInfo",
    "format_value",
    "parse_btf",
    "parse_btf_ext",
    "to_ctypes",
]

BTF_MAGIC = 0xEB9F
_MAX_RESOLVE_DEPTH = 32  # the kernel's MAX_RESOLVE_DEPTH; stops modifier loops

# btf_type_int encoding bits
INT_SIGNED = 1 << 0
INT_CHAR = 1 << 1
INT_BOOL = 1 << 2


class BtfKind(enum.IntEnum):
    """``BTF_KIND_*`` of uapi/linux/btf.h."""

    VOID = 0  # not a real kind: type id 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


_MODIFIERS = {BtfKind.TYPEDEF, BtfKind.VOLATILE, BtfKind.CONST, BtfKind.RESTRICT, BtfKind.TYPE_TAG}


@dataclass(frozen=True)
class BtfMember:
    """One entry of a type's list.

    STRUCT/UNION: ``name``, ``type_id``, ``bit_offset``, ``bitfield_size`` (0 if
    not a bitfield).  ENUM/ENUM64: ``name``, ``value``.  FUNC_PROTO: ``name``
    (parameter name, often empty) and ``type_id``.  DATASEC: ``type_id`` of the
    VAR, ``offset`` and ``size`` in bytes (``name`` is the VAR's name).
    """

    name: str
    type_id: int = 0
    bit_offset: int = 0
    bitfield_size: int = 0
    value: int = 0
    offset: int = 0
    size: int = 0


@dataclass(eq=True)
class BtfType:
    """One BTF type.  ``ref`` is the size-or-type field's type id meaning.

    * INT: ``size`` bytes, ``encoding`` (INT_SIGNED/CHAR/BOOL), ``bits``,
      ``bit_offset``.
    * PTR/TYPEDEF/VOLATILE/CONST/RESTRICT/TYPE_TAG/FUNC/VAR/DECL_TAG:
      ``type_id`` is the referenced type.
    * ARRAY: ``type_id`` (element), ``index_type_id``, ``nelems``.
    * STRUCT/UNION/ENUM/ENUM64/DATASEC/FLOAT: ``size`` bytes.
    * FUNC_PROTO: ``type_id`` is the return type.
    * FUNC: ``linkage`` (vlen); VAR: ``linkage``; DECL_TAG: ``component_idx``.

    ``btf`` is the owning :class:`Btf`, so a type can resolve what it refers to.
    """

    id: int
    kind: BtfKind
    name: str = ""
    size: int = 0
    type_id: int = 0
    kind_flag: bool = False
    members: tuple[BtfMember, ...] = ()
    encoding: int = 0
    bits: int = 0
    bit_offset: int = 0
    index_type_id: int = 0
    nelems: int = 0
    linkage: int = 0
    component_idx: int = -1
    btf: Btf | None = field(default=None, repr=False, compare=False)

    # Equal when the fields are (same id, kind, layout), whatever Btf holds it;
    # hashed on what never changes after parsing.
    def __hash__(self) -> int:
        return hash((self.id, self.kind, self.name))

    @property
    def target(self) -> BtfType:
        """The type ``type_id`` refers to."""
        if self.btf is None:
            raise ElfError(f"BTF type [{self.id}] is not attached to a BTF", section=".BTF")
        return self.btf.type(self.type_id)

    def strip(self) -> BtfType:
        """This type without typedefs and qualifiers (btf__resolve_type)."""
        t = self
        for _ in range(_MAX_RESOLVE_DEPTH):
            if t.kind not in _MODIFIERS:
                return t
            t = t.target
        raise ElfError(f"BTF type [{self.id}] {self.name!r}: modifier chain too long or a loop",
                       section=".BTF")

    def byte_size(self) -> int:
        """Size in bytes of a value of this type (btf__resolve_size)."""
        t = self
        mult = 1
        for _ in range(_MAX_RESOLVE_DEPTH):
            if t.kind in (BtfKind.INT, BtfKind.STRUCT, BtfKind.UNION, BtfKind.ENUM, BtfKind.ENUM64,
                          BtfKind.DATASEC, BtfKind.FLOAT):
                return mult * t.size
            if t.kind is BtfKind.PTR:
                return mult * 8
            if t.kind is BtfKind.ARRAY:
                mult *= t.nelems
                t = t.target
                continue
            if t.kind in _MODIFIERS or t.kind is BtfKind.VAR:
                t = t.target
                continue
            raise ElfError(f"BTF type [{t.id}] {t.name!r} ({t.kind.name}) has no size", section=".BTF")
        raise ElfError(f"BTF type [{self.id}] {self.name!r}: type chain too long or a loop", section=".BTF")

    def __str__(self) -> str:
        return f"[{self.id}] {self.kind.name} {self.name!r}" if self.name else f"[{self.id}] {self.kind.name}"


@dataclass(eq=False)
class Btf:
    """A parsed ``.BTF`` section: ``types[0]`` is void, then ids 1..n."""

    types: list[BtfType]
    strings: bytes
    byteorder: str
    version: int = 1
    flags: int = 0

    def type(self, type_id: int) -> BtfType:
        if not 0 <= type_id < len(self.types):
            raise ElfError(f"BTF type id {type_id} out of range (there are {len(self.types) - 1})",
                           section=".BTF")
        return self.types[type_id]

    def find(self, name: str, kind: BtfKind | None = None) -> BtfType | None:
        """The first type named ``name`` (of ``kind`` if given)."""
        for t in self.types:
            if t.name == name and (kind is None or t.kind is kind):
                return t
        return None

    def datasec(self, name: str) -> BtfType | None:
        return self.find(name, BtfKind.DATASEC)


def _string(strings: bytes, off: int) -> str:
    if not 0 <= off < len(strings) or (off and not strings):
        if off == 0:
            return ""
        raise ElfError(f"BTF string offset {off} outside the string section ({len(strings)} bytes)",
                       section=".BTF")
    end = strings.find(b"\0", off)
    if end < 0:
        raise ElfError(f"BTF string at offset {off} is not NUL-terminated", section=".BTF")
    return strings[off:end].decode("utf-8", errors="replace")


def parse_btf(data: bytes, *, byteorder: str | None = None) -> Btf:
    """Parse a ``.BTF`` section.  ``byteorder`` defaults to what the magic says.

    Raises :class:`~pybpf.errors.ElfError` (section ``.BTF``) on any
    malformed header, truncated type or out-of-range reference.
    """
    if len(data) < 8:
        raise ElfError(f"BTF header truncated ({len(data)} bytes)", section=".BTF")
    magic_le = int.from_bytes(data[:2], "little")
    if magic_le == BTF_MAGIC:
        found = "little"
    elif int.from_bytes(data[:2], "big") == BTF_MAGIC:
        found = "big"
    else:
        raise ElfError(f"bad BTF magic {data[:2].hex()}", section=".BTF")
    if byteorder is not None and byteorder != found:
        raise ElfError(f"BTF is {found}-endian in a {byteorder}-endian object", section=".BTF")
    e = "<" if found == "little" else ">"
    version, flags = data[2], data[3]
    if version != 1:
        raise ElfError(f"unsupported BTF version {version}", section=".BTF")
    (hdr_len,) = struct.unpack_from(e + "I", data, 4)
    if hdr_len < 24 or hdr_len > len(data):
        raise ElfError(f"BTF header length {hdr_len} invalid for a {len(data)}-byte section",
                       section=".BTF")
    type_off, type_len, str_off, str_len = struct.unpack_from(e + "4I", data, 8)
    base = hdr_len
    for what, off, size in (("type", type_off, type_len), ("string", str_off, str_len)):
        if base + off + size > len(data):
            raise ElfError(f"BTF {what} section [{off}, +{size}) runs past the end ({len(data) - base} "
                           f"bytes after the header)", section=".BTF")
    strings = bytes(data[base + str_off : base + str_off + str_len])
    if strings and strings[0] != 0:
        raise ElfError("BTF string section does not start with an empty string", section=".BTF")
    btf = Btf(types=[], strings=strings, byteorder=found, version=version, flags=flags)
    btf.types.append(BtfType(0, BtfKind.VOID, btf=btf))
    _parse_types(btf, bytes(data[base + type_off : base + type_off + type_len]), e)
    _check_refs(btf)
    return btf


def _parse_types(btf: Btf, data: bytes, e: str) -> None:
    u32 = struct.Struct(e + "I")
    three = struct.Struct(e + "3I")
    pos = 0
    n = len(data)

    def need(count: int, what: str) -> None:
        if pos + count > n:
            raise ElfError(f"BTF type [{len(btf.types)}] truncated in its {what}", section=".BTF")

    while pos < n:
        need(12, "header")
        name_off, info, size_or_type = three.unpack_from(data, pos)
        pos += 12
        tid = len(btf.types)
        vlen = info & 0xFFFF
        try:
            kind = BtfKind((info >> 24) & 0x1F)
        except ValueError:
            raise ElfError(f"BTF type [{tid}] has unknown kind {(info >> 24) & 0x1F}",
                           section=".BTF") from None
        if kind is BtfKind.VOID:
            raise ElfError(f"BTF type [{tid}] has kind 0 (UNKN)", section=".BTF")
        kflag = bool(info >> 31)
        t = BtfType(tid, kind, name=_string(btf.strings, name_off), kind_flag=kflag, btf=btf)
        if kind in (BtfKind.INT, BtfKind.STRUCT, BtfKind.UNION, BtfKind.ENUM, BtfKind.ENUM64,
                    BtfKind.DATASEC, BtfKind.FLOAT):
            t.size = size_or_type
        else:
            t.type_id = size_or_type
        if kind is BtfKind.INT:
            need(4, "int encoding")
            (enc,) = u32.unpack_from(data, pos)
            pos += 4
            t.encoding, t.bit_offset, t.bits = (enc >> 24) & 0x0F, (enc >> 16) & 0xFF, enc & 0xFF
        elif kind is BtfKind.ARRAY:
            need(12, "array")
            t.type_id, t.index_type_id, t.nelems = three.unpack_from(data, pos)
            pos += 12
        elif kind in (BtfKind.STRUCT, BtfKind.UNION):
            need(12 * vlen, "members")
            members = []
            for _ in range(vlen):
                m_name, m_type, m_off = three.unpack_from(data, pos)
                pos += 12
                bits, off = (m_off >> 24, m_off & 0xFFFFFF) if kflag else (0, m_off)
                members.append(BtfMember(_string(btf.strings, m_name), type_id=m_type, bit_offset=off,
                                         bitfield_size=bits))
            t.members = tuple(members)
        elif kind is BtfKind.ENUM:
            need(8 * vlen, "enumerators")
            vals = []
            for _ in range(vlen):
                v_name, v_val = struct.unpack_from(e + "Ii" if kflag else e + "II", data, pos)
                pos += 8
                vals.append(BtfMember(_string(btf.strings, v_name), value=v_val))
            t.members = tuple(vals)
        elif kind is BtfKind.ENUM64:
            need(12 * vlen, "enumerators")
            vals = []
            for _ in range(vlen):
                v_name, lo, hi = three.unpack_from(data, pos)
                pos += 12
                v = lo | hi << 32
                if kflag and v >> 63:
                    v -= 1 << 64
                vals.append(BtfMember(_string(btf.strings, v_name), value=v))
            t.members = tuple(vals)
        elif kind is BtfKind.FUNC_PROTO:
            need(8 * vlen, "parameters")
            params = []
            for _ in range(vlen):
                p_name, p_type = struct.unpack_from(e + "II", data, pos)
                pos += 8
                params.append(BtfMember(_string(btf.strings, p_name), type_id=p_type))
            t.members = tuple(params)
        elif kind is BtfKind.VAR:
            need(4, "linkage")
            (t.linkage,) = u32.unpack_from(data, pos)
            pos += 4
        elif kind is BtfKind.DATASEC:
            need(12 * vlen, "variables")
            secinfo = []
            for _ in range(vlen):
                v_type, v_off, v_size = three.unpack_from(data, pos)
                pos += 12
                secinfo.append(BtfMember("", type_id=v_type, offset=v_off, size=v_size))
            t.members = tuple(secinfo)
        elif kind is BtfKind.DECL_TAG:
            need(4, "component index")
            (t.component_idx,) = struct.unpack_from(e + "i", data, pos)
            pos += 4
        elif kind is BtfKind.FUNC:
            t.linkage = vlen
        btf.types.append(t)


def _check_refs(btf: Btf) -> None:
    """Every referenced type id exists; DATASEC entries learn their VAR's name."""
    n = len(btf.types)

    def check(t: BtfType, ref: int, what: str) -> None:
        if not 0 <= ref < n:
            raise ElfError(f"BTF type {t} refers to missing type id {ref} ({what})", section=".BTF")

    for t in btf.types[1:]:
        if t.kind in _MODIFIERS or t.kind in (BtfKind.PTR, BtfKind.FUNC, BtfKind.VAR, BtfKind.DECL_TAG,
                                              BtfKind.FUNC_PROTO):
            check(t, t.type_id, "referenced type")
        if t.kind is BtfKind.ARRAY:
            check(t, t.type_id, "element type")
            check(t, t.index_type_id, "index type")
        if t.kind in (BtfKind.STRUCT, BtfKind.UNION, BtfKind.FUNC_PROTO):
            for m in t.members:
                check(t, m.type_id, f"member {m.name!r}")
        if t.kind is BtfKind.DATASEC:
            named = []
            for m in t.members:
                check(t, m.type_id, "variable")
                named.append(BtfMember(btf.types[m.type_id].name, type_id=m.type_id, offset=m.offset,
                                       size=m.size))
            t.members = tuple(named)


# -- printing values -------------------------------------------------------------------------------


def format_value(btf_type: BtfType, data: bytes, *, byteorder: str | None = None) -> str:
    """``data`` printed by field, like bpftool's map dump: ``{"src": 10, "dst": 20}``.

    Integers print in decimal (chars as numbers, bools as true/false), enums by
    enumerator name when one matches, pointers in hex, char arrays as strings.
    ``byteorder`` defaults to the BTF's.
    """
    order = byteorder or (btf_type.btf.byteorder if btf_type.btf else "little")
    size = btf_type.byte_size()
    if len(data) < size:
        raise ElfError(f"value of {len(data)} bytes is shorter than {btf_type} ({size} bytes)")
    return _fmt(btf_type, bytes(data), 0, order, 0)


def _uint(data: bytes, off: int, size: int, order: str) -> int:
    return int.from_bytes(data[off : off + size], order)  # type: ignore[arg-type]


def _fmt(t: BtfType, data: bytes, off: int, order: str, depth: int) -> str:
    if depth > _MAX_RESOLVE_DEPTH:
        return "..."
    t = t.strip()
    k = t.kind
    if k is BtfKind.INT:
        raw = _uint(data, off, t.size, order)
        if t.bits and t.bits < t.size * 8:
            raw = (raw >> t.bit_offset) & ((1 << t.bits) - 1)
        if t.encoding & INT_BOOL:
            return "true" if raw else "false"
        if t.encoding & INT_SIGNED and raw >> (t.bits or t.size * 8) - 1:
            raw -= 1 << (t.bits or t.size * 8)
        return str(raw)
    if k in (BtfKind.ENUM, BtfKind.ENUM64):
        raw = _uint(data, off, t.size, order)
        if t.kind_flag and raw >> (t.size * 8 - 1):
            raw -= 1 << (t.size * 8)
        for m in t.members:
            if m.value == raw or m.value & ((1 << t.size * 8) - 1) == raw:
                return f'"{m.name}"'
        return str(raw)
    if k is BtfKind.PTR:
        return hex(_uint(data, off, 8, order))
    if k is BtfKind.FLOAT:
        fmt = {4: "f", 8: "d"}.get(t.size)
        if fmt is None:
            return "0x" + data[off : off + t.size].hex()
        return repr(struct.unpack_from(("<" if order == "little" else ">") + fmt, data, off)[0])
    if k is BtfKind.ARRAY:
        elem = t.target
        esize = elem.byte_size()
        es = elem.strip()
        if _is_char(es):
            chars = data[off : off + t.nelems].split(b"\0", 1)[0]
            if all(0x20 <= b < 0x7F for b in chars):  # as bpftool: only printable text as a string
                text = chars.decode("ascii")
                return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        items = [_fmt(elem, data, off + i * esize, order, depth + 1) for i in range(t.nelems)]
        return "[" + ", ".join(items) + "]"
    if k in (BtfKind.STRUCT, BtfKind.UNION):
        fields = []
        for m in t.members:
            assert t.btf is not None
            mt = t.btf.type(m.type_id)
            if m.bitfield_size:
                fields.append(f'"{m.name}": {_bitfield(mt, data, off, m, order)}')
            else:
                fields.append(f'"{m.name}": {_fmt(mt, data, off + m.bit_offset // 8, order, depth + 1)}')
        return "{" + ", ".join(fields) + "}"
    if k is BtfKind.DATASEC:
        assert t.btf is not None
        fields = [f'"{m.name}": {_fmt(t.btf.type(m.type_id), data, off + m.offset, order, depth + 1)}'
                  for m in t.members]
        return "{" + ", ".join(fields) + "}"
    if k is BtfKind.VAR:
        return _fmt(t.target, data, off, order, depth + 1)
    return "0x" + data[off:].hex()  # FWD, FUNC, VOID ...: no layout to walk


def _is_char(t: BtfType) -> bool:
    """A C ``char``: clang marks it signed, not CHAR, so the name says it too."""
    return t.kind is BtfKind.INT and t.size == 1 and (bool(t.encoding & INT_CHAR) or t.name == "char")


def _bitfield(mt: BtfType, data: bytes, base: int, m: BtfMember, order: str) -> str:
    """A bitfield member: the bits at ``m.bit_offset`` of the struct, as the compiler laid them out."""
    first = m.bit_offset // 8
    last = (m.bit_offset + m.bitfield_size + 7) // 8
    raw = _uint(data, base + first, last - first, order)
    span = (last - first) * 8
    shift = m.bit_offset % 8 if order == "little" else span - (m.bit_offset % 8) - m.bitfield_size
    value = (raw >> shift) & ((1 << m.bitfield_size) - 1)
    st = mt.strip()
    if st.kind is BtfKind.INT and st.encoding & INT_SIGNED and value >> (m.bitfield_size - 1):
        value -= 1 << m.bitfield_size
    return str(value)


# -- ctypes -----------------------------------------------------------------------------------------

_CTYPES_INT: dict[tuple[int, bool], Any] = {
    (1, False): ctypes.c_uint8, (1, True): ctypes.c_int8,
    (2, False): ctypes.c_uint16, (2, True): ctypes.c_int16,
    (4, False): ctypes.c_uint32, (4, True): ctypes.c_int32,
    (8, False): ctypes.c_uint64, (8, True): ctypes.c_int64,
}


def to_ctypes(btf_type: BtfType, *, byteorder: str | None = None) -> Any:
    """A ctypes type with the exact layout of ``btf_type`` (size and field offsets).

    Structs and unions become ``(Big|Little)EndianStructure``/``Union``
    subclasses named after the type, packed, with explicit padding so every
    member sits at its BTF offset.  Bitfields are kept as raw bytes
    (``_bitfield_<name>``) because ctypes' bitfield layout is not the BPF
    ABI's.  Pointers are ``c_uint64`` (BPF pointers are 64-bit).
    """
    order = byteorder or (btf_type.btf.byteorder if btf_type.btf else "little")
    return _ctype(btf_type, order, 0)


def _ctype(t: BtfType, order: str, depth: int) -> Any:
    if depth > _MAX_RESOLVE_DEPTH:
        raise ElfError(f"BTF type {t} nests too deeply for ctypes", section=".BTF")
    t = t.strip()
    k = t.kind
    if k in (BtfKind.INT, BtfKind.ENUM, BtfKind.ENUM64):
        signed = bool(t.encoding & INT_SIGNED) if k is BtfKind.INT else t.kind_flag
        base = _CTYPES_INT.get((t.size, signed))
        if base is None:
            return ctypes.c_uint8 * t.size  # __int128 and friends: raw bytes
        return base if order == _native() else _swapped(base)
    if k is BtfKind.PTR:
        return ctypes.c_uint64 if order == _native() else _swapped(ctypes.c_uint64)
    if k is BtfKind.FLOAT:
        base = {4: ctypes.c_float, 8: ctypes.c_double}.get(t.size)
        if base is None:
            return ctypes.c_uint8 * t.size
        return base if order == _native() else _swapped(base)
    if k is BtfKind.ARRAY:
        return _ctype(t.target, order, depth + 1) * t.nelems
    if k in (BtfKind.STRUCT, BtfKind.UNION, BtfKind.DATASEC):
        return _record(t, order, depth)
    raise ElfError(f"BTF type {t} ({k.name}) has no ctypes layout", section=".BTF")


def _native() -> str:
    import sys

    return sys.byteorder


def _swapped(base: Any) -> Any:
    # The opposite-endian variant of a simple type, as ctypes builds it for
    # structure fields (c_uint32.__ctype_be__ and so on).
    return getattr(base, "__ctype_be__" if _native() == "little" else "__ctype_le__")


def _record(t: BtfType, order: str, depth: int) -> Any:
    assert t.btf is not None
    is_union = t.kind is BtfKind.UNION
    if is_union:
        base: Any = ctypes.BigEndianUnion if order == "big" else ctypes.LittleEndianUnion
    else:
        base = ctypes.BigEndianStructure if order == "big" else ctypes.LittleEndianStructure
    fields: list[tuple[str, Any]] = []
    pos = 0
    used: set[str] = set()
    entries: Sequence[tuple[str, int, int, BtfType | None]]
    if t.kind is BtfKind.DATASEC:
        entries = [(m.name, m.offset * 8, 0, t.btf.type(m.type_id).target) for m in t.members]
    else:
        entries = [(m.name, m.bit_offset, m.bitfield_size, t.btf.type(m.type_id)) for m in t.members]
    if not is_union:  # DATASEC entries need not be in offset order
        entries = sorted(entries, key=lambda entry: entry[1])
    bitfield_end = -1
    for i, (name, bit_off, bits, mt) in enumerate(entries):
        fname = name or f"_anon{i}"
        off = bit_off // 8
        if bits:
            # Cover the bytes holding the bitfield once; later bitfields in the
            # same bytes are already covered.
            first, last = off, (bit_off + bits + 7) // 8
            if is_union:
                fields.append((f"_bitfield_{fname}", ctypes.c_uint8 * (last - first)))
                continue
            first = max(first, pos)
            if last > first:
                if first > pos:
                    fields.append((f"_pad{pos}", ctypes.c_uint8 * (first - pos)))
                fields.append((f"_bitfield_{fname}", ctypes.c_uint8 * (last - first)))
                pos = last
                bitfield_end = last
            continue
        assert mt is not None
        ct = _ctype(mt, order, depth + 1)
        if fname in used:
            fname = f"{fname}_{i}"
        used.add(fname)
        if is_union:
            fields.append((fname, ct))
            continue
        if off < pos and off < bitfield_end:
            continue  # overlaps raw bitfield bytes: unreachable by name
        if off > pos:
            fields.append((f"_pad{pos}", ctypes.c_uint8 * (off - pos)))
        fields.append((fname, ct))
        pos = off + ctypes.sizeof(ct)
    if is_union:
        fields.append(("_size", ctypes.c_uint8 * t.size))  # unions are as big as BTF says
    elif t.size > pos:
        fields.append((f"_pad{pos}", ctypes.c_uint8 * (t.size - pos)))
    name = t.name or f"anon_{t.kind.name.lower()}_{t.id}"
    cls = type(name.replace(".", "_"), (base,), {"_pack_": 1, "_fields_": fields})
    if ctypes.sizeof(cls) != t.size:
        raise ElfError(f"BTF type {t}: ctypes layout is {ctypes.sizeof(cls)} bytes, BTF says {t.size}",
                       section=".BTF")
    return cls


# -- .BTF.ext ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FuncInfo:
    """``struct bpf_func_info``: the function starting at ``insn_off``, described by BTF FUNC ``type_id``.

    ``insn_off`` is a byte offset in the ELF section (libbpf turns it into an
    instruction index); :class:`~pybpf.elf.spec.ProgramSpec` holds slot indexes.
    """

    insn_off: int
    type_id: int
    name: str = ""


@dataclass(frozen=True)
class LineInfo:
    """``struct bpf_line_info``: the source line of the instruction at ``insn_off``."""

    insn_off: int
    file: str
    line_text: str
    line: int
    column: int


@dataclass(frozen=True)
class CoreRelo:
    """``struct bpf_core_relo``: a CO-RE relocation (applied against kernel BTF, which pybpf lacks)."""

    insn_off: int
    type_id: int
    access: str
    kind: int


@dataclass(frozen=True)
class BtfExt:
    """A parsed ``.BTF.ext``: per code section name, its records."""

    func_info: dict[str, tuple[FuncInfo, ...]]
    line_info: dict[str, tuple[LineInfo, ...]]
    core_relos: dict[str, tuple[CoreRelo, ...]]


def parse_btf_ext(data: bytes, btf: Btf) -> BtfExt:
    """Parse ``.BTF.ext`` (Documentation/bpf/btf.rst); strings come from ``btf``."""
    where = ".BTF.ext"
    if len(data) < 8:
        raise ElfError(f"header truncated ({len(data)} bytes)", section=where)
    e = "<" if btf.byteorder == "little" else ">"
    magic, version, _flags, hdr_len = struct.unpack_from(e + "HBBI", data, 0)
    if magic != BTF_MAGIC:
        raise ElfError(f"bad magic {data[:2].hex()} (or byte order differs from .BTF)", section=where)
    if version != 1:
        raise ElfError(f"unsupported version {version}", section=where)
    if hdr_len < 24 or hdr_len > len(data):
        raise ElfError(f"header length {hdr_len} invalid for a {len(data)}-byte section", section=where)
    fields = struct.unpack_from(e + "4I", data, 8)
    core = struct.unpack_from(e + "2I", data, 24) if hdr_len >= 32 else (0, 0)
    body = data[hdr_len:]

    def records(off: int, length: int, min_size: int, what: str) -> dict[str, list[tuple[int, ...]]]:
        out: dict[str, list[tuple[int, ...]]] = {}
        if length == 0:
            return out
        if off + length > len(body) or length < 4:
            raise ElfError(f"{what} [{off}, +{length}) runs past the end of the section", section=where)
        blob = body[off : off + length]
        (rec_size,) = struct.unpack_from(e + "I", blob, 0)
        if rec_size < min_size or rec_size % 4:
            raise ElfError(f"{what} record size {rec_size} is invalid (at least {min_size})", section=where)
        pos = 4
        n_fields = min_size // 4
        while pos < len(blob):
            if pos + 8 > len(blob):
                raise ElfError(f"{what} section header truncated", section=where)
            name_off, num = struct.unpack_from(e + "II", blob, pos)
            pos += 8
            if pos + num * rec_size > len(blob):
                raise ElfError(f"{what}: {num} records run past the end", section=where)
            recs = out.setdefault(_string(btf.strings, name_off), [])
            for _ in range(num):
                recs.append(struct.unpack_from(f"{e}{n_fields}I", blob, pos))
                pos += rec_size
        return out

    def func_name(type_id: int) -> str:
        return btf.types[type_id].name if 0 < type_id < len(btf.types) else ""

    funcs = {sec: tuple(FuncInfo(r[0], r[1], func_name(r[1])) for r in recs)
             for sec, recs in records(fields[0], fields[1], 8, "func_info").items()}
    lines = {sec: tuple(LineInfo(r[0], _string(btf.strings, r[1]), _string(btf.strings, r[2]), r[3] >> 10,
                                 r[3] & 0x3FF) for r in recs)
             for sec, recs in records(fields[2], fields[3], 16, "line_info").items()}
    relos = {sec: tuple(CoreRelo(r[0], r[1], _string(btf.strings, r[2]), r[3]) for r in recs)
             for sec, recs in records(core[0], core[1], 16, "core_relo").items()}
    return BtfExt(funcs, lines, relos)
