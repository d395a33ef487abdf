"""BPF_MAP_TYPE_PROG_ARRAY: tail-call targets (kernel/bpf/arraymap.c, prog_array_map_ops).

Slots hold program objects set from Python (``m[i] = prog``), where the
kernel takes a program fd.  Only BPF_ANY updates; an index beyond
max_entries is E2BIG; deleting an empty slot is ENOENT.  The runtime resolves
``bpf_tail_call(ctx, map, index)`` with :meth:`ProgArrayMap.tail_call_target`.

``check_program`` may be set to a callable that refuses an incompatible
program by raising a MapError (the kernel checks the program type against
the map's owner); by default any object but None is accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import MapInvalidError
from .fd_array import RefArrayMap
from .spec import MapSpec, MapType

__all__ = ["ProgArrayMap"]


class ProgArrayMap(RefArrayMap):
    types = (MapType.PROG_ARRAY,)

    def __init__(self, spec: MapSpec, **kw: Any) -> None:
        super().__init__(spec, **kw)
        self.check_program: Callable[[Any], None] | None = None

    def _check_ref(self, obj: Any) -> Any:
        if obj is None:
            raise MapInvalidError("a prog_array slot needs a program (use del to empty it)")
        if self.check_program is not None:
            self.check_program(obj)
        return obj

    def tail_call_target(self, index: int) -> Any:
        """The program in slot ``index``, None when the tail call must fall through."""
        return self.get_ref(index)
