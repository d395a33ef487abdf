"""BPF_MAP_TYPE_ARRAY_OF_MAPS and BPF_MAP_TYPE_HASH_OF_MAPS (kernel/bpf/map_in_map.c).

Values are map objects (the kernel takes inner map fds).  The outer map's
``spec.inner_map`` is the template (the kernel's ``inner_map_fd``); an inner
map is accepted when it matches the template as ``bpf_map_meta_equal`` says:
same type, key_size, value_size, map flags and spin lock layout, and - for
array-type inner maps (``array_map_meta_equal``) - the same max_entries
unless the template has ``BPF_F_INNER_MAP``.  ``BPF_F_RDONLY``/``BPF_F_WRONLY``
are per-fd flags the kernel does not keep with the map, so they are ignored
(checked on the running kernel).  A mismatch is EINVAL.

Array-of-maps updates accept only BPF_ANY (as every fd array); hash-of-maps
updates follow the hash rules (EEXIST/ENOENT/E2BIG).  The program side gets
the inner map object from :meth:`get_ref`.
"""

from __future__ import annotations

from typing import Any

from .base import Map
from .errors import MapInvalidError
from .fd_array import RefArrayMap, RefHashMap
from .spec import MapFlags, MapSpec, MapType

__all__ = ["ArrayOfMapsMap", "HashOfMapsMap", "inner_map_compatible"]

_FD_ONLY_FLAGS = int(MapFlags.RDONLY | MapFlags.WRONLY)
_ARRAY_LIKE = {
    MapType.ARRAY,
    MapType.PERCPU_ARRAY,
    MapType.PROG_ARRAY,
    MapType.PERF_EVENT_ARRAY,
    MapType.CGROUP_ARRAY,
    MapType.ARRAY_OF_MAPS,
}


def inner_map_compatible(template: MapSpec, spec: MapSpec) -> str | None:
    """None when ``spec`` may be stored in a map-in-map built on ``template``, else why not."""
    for field in ("type", "key_size", "value_size", "spin_lock_offset"):
        if getattr(template, field) != getattr(spec, field):
            return f"{field} differs ({getattr(spec, field)} vs the template's {getattr(template, field)})"
    if (template.flags & ~_FD_ONLY_FLAGS) != (spec.flags & ~_FD_ONLY_FLAGS):
        return f"map flags differ ({spec.flags:#x} vs the template's {template.flags:#x})"
    if (
        template.type in _ARRAY_LIKE
        and not template.flags & MapFlags.INNER_MAP
        and template.max_entries != spec.max_entries
    ):
        return (
            f"max_entries differs ({spec.max_entries} vs {template.max_entries}) "
            "and the template lacks BPF_F_INNER_MAP"
        )
    return None


def _check_inner(outer: Map, obj: Any) -> Any:
    if not isinstance(obj, Map):
        raise MapInvalidError(f"'{outer.name}' holds maps, not {type(obj).__name__}")
    template = outer.spec.inner_map
    assert template is not None  # guaranteed by creation checks
    why = inner_map_compatible(template, obj.spec)
    if why is not None:
        msg = f"map '{obj.name}' does not match the inner map template of '{outer.name}'"
        raise MapInvalidError(f"{msg}: {why}")
    return obj


class ArrayOfMapsMap(RefArrayMap):
    types = (MapType.ARRAY_OF_MAPS,)

    def __init__(self, spec: MapSpec, **kw: Any) -> None:
        super().__init__(spec, **kw)

    def _check_ref(self, obj: Any) -> Any:
        return _check_inner(self, obj)


class HashOfMapsMap(RefHashMap):
    types = (MapType.HASH_OF_MAPS,)

    def _check_ref(self, obj: Any) -> Any:
        return _check_inner(self, obj)
