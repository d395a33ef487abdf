"""BTF-defined maps: the ``.maps`` section, described by its BTF DATASEC.

libbpf's ``parse_btf_map_def``: each variable of ``.maps`` is a struct whose
members encode the attributes (``__uint(type, ...)`` is ``int (*type)[N]``,
``__type(key, T)`` is ``T *key``, ``__array(values, ...)`` a zero-length array
of pointers).  Map-in-map and program-array ``values`` initialisers arrive as
``.rel.maps`` relocations and become ``MapSpec.initial_refs``.
"""

from __future__ import annotations

from typing import Any

from ..errors import ElfError
from ..maps.spec import MapSpec, MapType, Pinning
from . import relocate as rl
from .btf import BtfKind, BtfType
from .context import LoadContext
from .maps_legacy import MAP_OF_MAPS
from .reader import SHF_EXECINSTR, Section

__all__ = ["load_btf_maps", "spin_lock_offset"]

_NO_KEY = {MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER, MapType.RINGBUF, MapType.USER_RINGBUF,
           MapType.ARENA}
_NO_VALUE = {MapType.RINGBUF, MapType.USER_RINGBUF, MapType.ARENA}
_NO_MAX_ENTRIES = {MapType.SK_STORAGE, MapType.INODE_STORAGE, MapType.TASK_STORAGE, MapType.CGRP_STORAGE,
                   MapType.CGROUP_STORAGE, MapType.PERCPU_CGROUP_STORAGE, MapType.PERF_EVENT_ARRAY,
                   MapType.STRUCT_OPS}
_BTF_INT_FIELDS = ("type", "max_entries", "map_flags", "numa_node", "key_size", "value_size", "pinning",
                   "map_extra")
_BTF_VAR_GLOBAL_EXTERN = 2
R_BPF_64_ABS64 = 2


def spin_lock_offset(value_type: BtfType | None) -> int | None:
    """Byte offset of a top-level ``struct bpf_spin_lock`` member of the value, if any.

    As the kernel's btf_find_spin_lock() looks for it: a member of the value
    struct whose type is the struct named ``bpf_spin_lock``.
    """
    if value_type is None:
        return None
    t = value_type.strip()
    if t.kind is not BtfKind.STRUCT or t.btf is None:
        return None
    for m in t.members:
        mt = t.btf.type(m.type_id).strip()
        if mt.kind is BtfKind.STRUCT and mt.name == "bpf_spin_lock":
            return m.bit_offset // 8
    return None


def load_btf_maps(ctx: LoadContext) -> None:
    sec = ctx.elf.by_name.get(".maps")
    if sec is None:
        return
    ctx.where.set(".maps")
    if ctx.btf is None:
        raise ElfError("BTF-defined maps need a .BTF section, and there is none", section=".maps")
    datasec = ctx.btf.datasec(".maps")
    if datasec is None:
        raise ElfError("no BTF DATASEC describes the .maps section", section=".maps")
    values_at: dict[str, tuple[int, int]] = {}  # map -> [first 'values' slot, end of the variable)
    for m in datasec.members:
        ctx.where.set(".maps", symbol=m.name)
        var = ctx.btf.type(m.type_id)
        if var.kind is not BtfKind.VAR:
            raise ElfError(f"DATASEC entry is {var.kind.name}, not a VAR", section=".maps", symbol=m.name)
        if var.linkage == _BTF_VAR_GLOBAL_EXTERN:
            raise ElfError("extern map definitions are not supported", section=".maps", symbol=var.name)
        if not var.name:
            raise ElfError(f"map #{len(ctx.maps)} has an empty name", section=".maps")
        spec, values_off = _btf_map_def(var.name, var.target)
        if var.target.strip().size > m.size:
            raise ElfError(f"map definition ({var.target.strip().size} bytes) is larger than its "
                           f"variable ({m.size} bytes)", section=".maps", symbol=var.name)
        if m.offset + m.size > sec.size:
            raise ElfError(f"map at offset {m.offset} is outside the section", section=".maps",
                           symbol=var.name)
        ctx.add_map(spec, ".maps")
        ctx.map_at[(sec.index, m.offset)] = var.name
        if values_off is not None:
            values_at[var.name] = (m.offset + values_off, m.offset + m.size)
    _map_initial_values(ctx, sec, values_at)


def _btf_map_def(name: str, def_type: BtfType, *,
                 inner: bool = False) -> tuple[MapSpec, int | None]:
    """libbpf's parse_btf_map_def: (spec, byte offset of ``values`` or None)."""
    t = def_type.strip()
    if t.kind is not BtfKind.STRUCT:
        raise ElfError(f"map definition is a {t.kind.name}, not a struct", section=".maps", symbol=name)
    ints: dict[str, int] = {}
    key_type = value_type = None
    inner_spec: MapSpec | None = None
    values_off: int | None = None
    for m in t.members:
        assert t.btf is not None
        mt = t.btf.type(m.type_id)
        if m.name in _BTF_INT_FIELDS:
            ints[m.name] = _btf_int_field(name, m.name, mt)
        elif m.name in ("key", "value"):
            ptr = mt.strip()
            if ptr.kind is not BtfKind.PTR:
                raise ElfError(f"map field {m.name!r} is a {ptr.kind.name}, not a pointer (use __type)",
                               section=".maps", symbol=name)
            size = ptr.target.byte_size()
            if m.name == "key":
                key_type = ptr.target
                ints.setdefault("_key", size)
            else:
                value_type = ptr.target
                ints.setdefault("_value", size)
        elif m.name == "values":
            if m is not t.members[-1]:
                raise ElfError("map field 'values' must be the last one", section=".maps", symbol=name)
            arr = mt.strip()
            if arr.kind is not BtfKind.ARRAY or arr.nelems or arr.target.strip().kind is not BtfKind.PTR:
                raise ElfError("map field 'values' is not a zero-sized array of pointers (use __array)",
                               section=".maps", symbol=name)
            pointee = arr.target.strip().target.strip()
            values_off = m.bit_offset // 8
            if pointee.kind is BtfKind.STRUCT:
                if inner:
                    raise ElfError("an inner map cannot itself hold maps", section=".maps", symbol=name)
                inner_spec, _ = _btf_map_def(f"{name}.inner", pointee, inner=True)
            elif pointee.kind is not BtfKind.FUNC_PROTO:
                raise ElfError(f"map 'values' point to a {pointee.kind.name}, not a map or a function",
                               section=".maps", symbol=name)
            ints["_values"] = 1
        else:
            raise ElfError(f"unknown map field {m.name!r}", section=".maps", symbol=name)
    if "type" not in ints:
        raise ElfError("map definition has no type", section=".maps", symbol=name)
    try:
        mtype = MapType(ints["type"])
    except ValueError:
        raise ElfError(f"unknown map type {ints['type']}", section=".maps", symbol=name) from None
    key_size = _size(name, "key", ints.get("key_size"), ints.get("_key"))
    value_size = _size(name, "value", ints.get("value_size"), ints.get("_value"))
    if "_values" in ints:
        if mtype not in MAP_OF_MAPS and mtype is not MapType.PROG_ARRAY:
            raise ElfError(f"'values' given for a {mtype.name} map", section=".maps", symbol=name)
        if mtype in MAP_OF_MAPS and inner_spec is None:
            raise ElfError("map-in-map 'values' must describe the inner map", section=".maps",
                           symbol=name)
        if value_size not in (None, 4):
            raise ElfError(f"value size {value_size} conflicts with 'values' (4: a map or program fd)",
                           section=".maps", symbol=name)
        value_size = 4
        if mtype is MapType.PROG_ARRAY and key_size is None:
            key_size = 4
    elif mtype in MAP_OF_MAPS:
        raise ElfError("map-in-map definition lacks __array(values, ...)", section=".maps", symbol=name)
    if mtype is MapType.PERF_EVENT_ARRAY:  # libbpf's defaults
        key_size = 4 if key_size is None else key_size
        value_size = 4 if value_size is None else value_size
    if key_size is None and mtype not in _NO_KEY:
        raise ElfError(f"{mtype.name} map definition has no key or key_size", section=".maps",
                       symbol=name)
    if value_size is None and mtype not in _NO_VALUE:
        raise ElfError(f"{mtype.name} map definition has no value or value_size", section=".maps",
                       symbol=name)
    if "max_entries" not in ints and mtype not in _NO_MAX_ENTRIES:
        raise ElfError(f"{mtype.name} map definition has no max_entries", section=".maps", symbol=name)
    pin = ints.get("pinning", 0)
    if pin not in (0, 1):
        raise ElfError(f"invalid pinning value {pin}", section=".maps", symbol=name)
    if inner and "pinning" in ints:
        raise ElfError("an inner map definition cannot be pinned", section=".maps", symbol=name)
    spec = MapSpec(name=name, type=mtype, key_size=key_size or 0, value_size=value_size or 0,
                   max_entries=ints.get("max_entries", 0), flags=ints.get("map_flags", 0),
                   inner_map=inner_spec, pinning=Pinning(pin), numa_node=ints.get("numa_node", 0),
                   key_type=key_type, value_type=value_type, map_extra=ints.get("map_extra", 0),
                   spin_lock_offset=spin_lock_offset(value_type))
    return spec, values_off


def _size(name: str, what: str, explicit: int | None, from_type: int | None) -> int | None:
    if explicit is not None and from_type is not None and explicit != from_type:
        raise ElfError(f"{what}_size {explicit} conflicts with the {what} type's size {from_type}",
                       section=".maps", symbol=name)
    return explicit if explicit is not None else from_type


def _btf_int_field(map_name: str, field: str, mt: BtfType) -> int:
    """``__uint(field, N)`` is ``int (*field)[N]``: a pointer to an array of N.

    ``map_extra`` may also be ``__ulong(map_extra, N)``: an enum whose one
    enumerator is N (libbpf's get_map_field_long).
    """
    ptr = mt.strip()
    if field == "map_extra" and ptr.kind in (BtfKind.ENUM, BtfKind.ENUM64):
        if len(ptr.members) != 1:
            raise ElfError("map field 'map_extra' is an enum without exactly one value (use __ulong)",
                           section=".maps", symbol=map_name)
        return ptr.members[0].value & 0xFFFF_FFFF_FFFF_FFFF
    arr = ptr.target.strip() if ptr.kind is BtfKind.PTR else None
    if arr is None or arr.kind is not BtfKind.ARRAY:
        raise ElfError(f"map field {field!r} is not an integer attribute (use __uint)", section=".maps",
                       symbol=map_name)
    return arr.nelems


def _map_initial_values(ctx: LoadContext, sec: Section, values_at: dict[str, tuple[int, int]]) -> None:
    """``.rel.maps`` entries fill the ``values`` slots of map-in-map and prog arrays.

    Each is an ``R_BPF_64_ABS64`` at slot ``i`` of a map's ``values`` array
    naming the inner map or program (libbpf's init_map_in_map_slots).
    """
    rel = next((s for s in ctx.elf.relocations_for(sec) if s.type == "SHT_REL"), None)
    if rel is None:
        return
    initial: dict[str, dict[int, str]] = {}
    for entry in ctx.elf.relocations(rel):
        idx, off, rtype = entry.index, entry.offset, entry.type
        ctx.where.set(rel.name, relocation=idx)
        sym = ctx.elf.symbol(entry.symbol, section=rel.name, relocation=idx)
        where: dict[str, Any] = {"section": rel.name, "relocation": idx, "symbol": sym.name,
                                 "offset": off}
        if rtype != R_BPF_64_ABS64:
            raise ElfError(f"unsupported relocation type {rl.R_BPF.get(rtype, rtype)} in .maps", **where)
        owner = next((n for n, (start, end) in values_at.items() if start <= off < end), None)
        if owner is None:
            raise ElfError("relocation in .maps outside any map's 'values'", **where)
        start = values_at[owner][0]
        if (off - start) % 8:
            raise ElfError("relocation in 'values' is not on a slot boundary", **where)
        slot = (off - start) // 8
        if slot >= ctx.maps[owner].max_entries:
            raise ElfError(f"'values' slot {slot} is beyond max_entries {ctx.maps[owner].max_entries}",
                           **where)
        is_map = sym.shndx == sec.index and (sec.index, sym.value) in ctx.map_at
        is_prog = (0 < sym.shndx < len(ctx.elf.sections) and sym.type == "STT_FUNC"
                   and ctx.elf.sections[sym.shndx].flags & SHF_EXECINSTR)
        if ctx.maps[owner].type is MapType.PROG_ARRAY and not is_prog:
            raise ElfError("a program array's 'values' entry is not a program", **where)
        if ctx.maps[owner].type in MAP_OF_MAPS and not is_map:
            raise ElfError("a map-in-map 'values' entry is not a map", **where)
        initial.setdefault(owner, {})[slot] = (ctx.map_at[(sec.index, sym.value)] if is_map
                                               else sym.name)
    for name, slots in initial.items():
        spec = ctx.maps[name]
        ctx.maps[name] = spec.replace(initial_refs=tuple(sorted(slots.items())))

